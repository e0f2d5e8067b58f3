"""``kdumpext cache``: list, prune or clear kdumpext's cache (a thin front-end over kdumpext.cache)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from typing import Any, Dict, List

from . import cache

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``kdumpext cache``."""
    p.description = ("Show what kdumpext keeps in its cache (unpacked .xz/.gz/.bz2 dumps and debug files, "
                     "batch results, gdb cores), or make room. The cache is $KDUMPEXT_CACHE_DIR, else "
                     f"$XDG_CACHE_HOME/kdumpext, else ~/.cache/kdumpext; it is kept under ${cache.MAX_ENV} "
                     f"(e.g. 2G, 500M; default {cache.human_size(cache.DEFAULT_MAX)}), least recently used "
                     "entries going first. Entries in use by a running kdumpext are never removed.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list the entries (the default)")
    what.add_argument("--prune", nargs="?", const="", metavar="SIZE",
                      help=f"remove least recently used entries until the cache is under SIZE "
                           f"(default: ${cache.MAX_ENV}, else {cache.human_size(cache.DEFAULT_MAX)})")
    what.add_argument("--clear", action="store_true", help="remove every entry")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.epilog = "Exit status: 0 done, 2 usage error (a bad SIZE or $KDUMPEXT_CACHE_MAX)."


def _when(t: float) -> str:
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")


def _listing(as_json: bool) -> str:
    entries = cache.list_entries()
    total = sum(e.size for e in entries)
    cap = cache.limit()
    if as_json:
        doc: Dict[str, Any] = {
            "directory": cache.cache_dir(), "limit": cap, "size": total,
            "entries": [{"kind": e.kind, "path": e.path, "size": e.size, "last_used": e.last_used, "what": e.what}
                        for e in entries]}
        return json.dumps(doc, indent=2) + "\n"
    from tabulate import tabulate

    home = os.path.expanduser("~")

    def short(path: str) -> str:
        return "~" + path[len(home):] if home not in ("", "/") and path.startswith(home + os.sep) else path

    rows: List[List[str]] = [[e.kind, cache.human_size(e.size), _when(e.last_used), short(e.what or e.path)]
                             for e in entries]
    head = f"{cache.cache_dir()}: {len(entries)} entries, {cache.human_size(total)} of {cache.human_size(cap)}\n"
    if not rows:
        return head
    return head + tabulate(rows, ["kind", "size", "last used", "what"], tablefmt="simple",
                           disable_numparse=True) + "\n"


def run(args: argparse.Namespace) -> int:
    """``kdumpext cache``: list (default), prune or clear; the exit status.

    :raises UsageError: ``--prune SIZE`` or ``$KDUMPEXT_CACHE_MAX`` is not a size.
    """
    prune_to = getattr(args, "prune", None)
    if getattr(args, "clear", False) or prune_to is not None:
        if getattr(args, "clear", False):
            removed, freed = cache.clear()
            verb = "cleared"
        else:
            cap = cache.parse_size(prune_to, "--prune") if prune_to else cache.limit()
            removed, freed = cache.prune(cap)
            verb = "pruned"
        left = cache.list_entries()
        size = sum(e.size for e in left)
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps({"action": verb, "removed": removed, "freed": freed, "entries": len(left),
                                         "size": size}, indent=2) + "\n")
        else:
            kept = f"; {len(left)} in use or within the limit kept ({cache.human_size(size)})" if left else ""
            print(f"{verb} {cache.cache_dir()}: {removed} entries removed, {cache.human_size(freed)} freed{kept}")
        return 0
    sys.stdout.write(_listing(getattr(args, "json", False)))
    return 0
