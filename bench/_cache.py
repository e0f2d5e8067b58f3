"""Benches keep kdumpext's cache (unpacked .xz files, gdb cores, batch results) in a temporary directory."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile


def use_temporary_cache() -> str:
    """Point ``KDUMPEXT_CACHE_DIR`` (inherited by every command a bench runs) at a fresh temporary
    directory, removed at exit, unless the caller set one; return the directory."""
    if os.environ.get("KDUMPEXT_CACHE_DIR"):
        return os.environ["KDUMPEXT_CACHE_DIR"]
    path = tempfile.mkdtemp(prefix="kdumpext-bench-")
    os.environ["KDUMPEXT_CACHE_DIR"] = path
    atexit.register(shutil.rmtree, path, True)
    return path
