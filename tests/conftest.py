"""pytest set-up: a helper that skips with a reason, or fails under CI=true where nothing may be skipped."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Every cache the tests fill (unpacked .xz dumps and debug files, gdb cores, batch results) goes
# to one temporary directory for the session, never to the user's ~/.cache; removed at exit.
# The drgn/gdb/crash subprocesses inherit it.
_CACHE = tempfile.mkdtemp(prefix="kdumpext-tests-")
os.environ["KDUMPEXT_CACHE_DIR"] = os.path.join(_CACHE, "kdumpext")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)


def need(condition: bool, reason: str) -> None:
    """Skip the test with ``reason`` unless ``condition``; under CI=true fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and this is missing: {reason}")
    pytest.skip(reason)


def need_program(name: str) -> str:
    """The path of program ``name`` (skip, or fail in CI, when it is not installed)."""
    path = shutil.which(name)
    need(path is not None, f"{name} is not installed (README's set-up command installs it)")
    assert path is not None
    return path
