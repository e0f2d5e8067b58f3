"""The debug-info options every front-end takes (``--vmlinux``, ``--debug-dir``), defined once."""

from __future__ import annotations

import argparse
from typing import NoReturn

from .errors import UsageError

__all__ = ["add_debug_args", "UsageRaisingParser", "DEBUG_ENVIRONMENT"]

#: What the debug options' help says about the environment (also in every ``--help`` epilog).
DEBUG_ENVIRONMENT = ("environment: KDUMPEXT_DEBUG_PATH (colon-separated directories searched for vmlinux "
                     "and module debug info), KDUMPEXT_CACHE_DIR (kdumpext's cache; default "
                     "$XDG_CACHE_HOME/kdumpext or ~/.cache/kdumpext), KDUMPEXT_DEBUG=1 (tracebacks "
                     "instead of one-line internal errors)")


def add_debug_args(p: argparse.ArgumentParser, vmlinux_help: str = "") -> None:
    """Add ``--vmlinux PATH`` and ``--debug-dir DIR`` (repeatable) to ``p``.

    The vmlinux's own directory is searched for module debug info too (see
    :meth:`kdumpext.locate.SearchPath.build`), so ``--vmlinux build/vmlinux`` finds
    ``build/*.ko``.
    """
    p.add_argument("--vmlinux", metavar="PATH",
                   help=vmlinux_help or "the dump's vmlinux (default: found by build-id); its directory "
                                        "is searched for module debug info too")
    p.add_argument("--debug-dir", metavar="DIR", action="append", default=[],
                   help="also look here (recursively) for vmlinux and module debug info: .ko, .ko.xz, "
                        ".ko.debug (repeatable; $KDUMPEXT_DEBUG_PATH is searched too)")


class UsageRaisingParser(argparse.ArgumentParser):
    """An argument parser for commands inside gdb or drgn: a bad argument raises
    :class:`UsageError` (one line) instead of exiting the host process."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; {self.format_usage().strip()}")

    def exit(self, status: int = 0, message: "str | None" = None) -> NoReturn:
        raise UsageError((message or "").strip() or self.format_usage().strip())
