"""pytest set-up: a helper that skips with a reason, or fails under CI=true where nothing may be skipped."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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
