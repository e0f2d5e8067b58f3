"""The options and help texts every front-end shares (``--vmlinux``, ``--debug-dir``, environment), defined once."""

from __future__ import annotations

import argparse
from typing import NoReturn, Sequence, Tuple

from .errors import UsageError

__all__ = ["add_debug_args", "UsageRaisingParser", "ENVIRONMENT", "DEBUG_ENVIRONMENT", "EXIT_STATUS", "epilog"]

#: The environment variables kdumpext reads: (name as written in help, what it does).
ENVIRONMENT: Tuple[Tuple[str, str], ...] = (
    ("KDUMPEXT_DEBUG_PATH", "colon-separated directories searched for vmlinux and module debug info"),
    ("KDUMPEXT_CACHE_DIR", "kdumpext's cache; default $XDG_CACHE_HOME/kdumpext or ~/.cache/kdumpext"),
    ("KDUMPEXT_CACHE_MAX", "the cache's size cap, e.g. 2G or 500M (default 2G; kdumpext cache --prune)"),
    ("KDUMPEXT_KNOWN_ISSUES", "the team's known-issues TOML file, when --known is not given (batch, triage, buckets)"),
    ("KDUMPEXT_DEBUG=1", "tracebacks instead of one-line internal errors"),
)

#: The same on one line (what the debug options' help says about the environment).
DEBUG_ENVIRONMENT = "environment: " + ", ".join(f"{name} ({what})" for name, what in ENVIRONMENT)

#: The exit statuses of the ``kdumpext`` command (README.md, "Exit status"; errors.py's classes).
EXIT_STATUS = ("exit status: 0 ok, 1 other errors, 2 usage (bad arguments, missing file), 3 not a dump, "
               "4 truncated or damaged dump, 5 wrong vmlinux, 6 no usable vmlinux found, 7 memory missing from the dump")


def epilog(examples: Sequence[str], extra: str = "") -> str:
    """A ``--help`` epilog (for :class:`argparse.RawDescriptionHelpFormatter`): the examples,
    ``extra`` (a command's own notes), then the environment variables."""
    import textwrap

    width = max(len(name) for name, _ in ENVIRONMENT)
    lines = ["examples:"] + [f"  {e}" for e in examples]
    if extra:
        lines += [""] + textwrap.wrap(extra, 90)
    lines += ["", "environment:"] + [f"  {name:<{width}}  {what}" for name, what in ENVIRONMENT]
    return "\n".join(lines)


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
        raise UsageError(f"{message}; {' '.join(self.format_usage().split())}")

    def exit(self, status: int = 0, message: "str | None" = None) -> NoReturn:
        raise UsageError((message or "").strip() or " ".join(self.format_usage().split()))
