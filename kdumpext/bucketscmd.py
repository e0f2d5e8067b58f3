"""``kdumpext buckets``: the crash history's buckets, most recently seen first (a thin front-end over kdumpext.history)."""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .errors import UsageError
from .known import ENV as KNOWN_ENV

__all__ = ["BUCKETS_SCHEMA", "parse_since", "add_arguments", "run"]

#: Identifies the layout of ``kdumpext buckets --json``.
BUCKETS_SCHEMA = "kdumpext.buckets/1"

_AGO = re.compile(r"^(\d+)\s*([hdw])$")
_UNIT = {"h": 3600, "d": 86400, "w": 7 * 86400}
_CELL = 40  # characters of a hosts or releases cell


def parse_since(text: str, now: Optional[float] = None) -> float:
    """``--since``: a date (``2026-12-01``), a time (``2026-12-01 18:00``, ISO 8601, UTC unless it
    says its zone) or an age (``7d``, ``12h``, ``2w`` before ``now``); seconds since the epoch.

    :raises UsageError: none of these.
    """
    text = text.strip()
    m = _AGO.match(text)
    if m:
        return (time.time() if now is None else now) - int(m.group(1)) * _UNIT[m.group(2)]
    try:
        t = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since {text!r}: not a date; write e.g. 2026-12-01, '2026-12-01 18:00' or 7d, 12h, "
                         "2w (ago)") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.timestamp()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``kdumpext buckets``."""
    p.description = ("List the buckets of the crash history that `kdumpext batch` records (every crash it "
                     "explained: host, release, crash time, bucket), the most recently seen first: how many "
                     "crashes, first and last seen, which hosts and releases, and the known issue when a "
                     "known-issues file is given.")
    p.add_argument("--since", metavar="DATE",
                   help="only buckets with a crash since DATE (2026-12-01, '2026-12-01 18:00' UTC, or an age: "
                        "7d, 12h, 2w); count, hosts and releases are then those crashes', first and last seen "
                        "are ever")
    p.add_argument("--host", metavar="NAME",
                   help="only buckets with a crash on this host (the crashed kernel's nodename, the triage's HOST); "
                        "count and releases are then that host's crashes'")
    p.add_argument("--json", action="store_true", help=f"print JSON (schema {BUCKETS_SCHEMA})")
    p.add_argument("--db", metavar="PATH", help="the crash history (default: history.sqlite in the cache directory)")
    p.add_argument("--known", metavar="FILE",
                   help=f"known issues (TOML) to mark the buckets with (default: ${KNOWN_ENV} when set)")
    p.epilog = ("Exit status: 0 listed (nothing when no batch has recorded a crash yet), 2 usage error "
                "(a bad DATE, a --db that is not a crash history, a --known file that cannot be read).")


def _when(t: Optional[float]) -> str:
    if t is None:
        return "?"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _counted(pairs: Sequence[Tuple[str, int]]) -> str:
    """``web1 ×3, web2`` cut to a cell's width, what is left out counted: ``web1 ×3, web2, +4``."""
    parts = [f"{name or '?'}" + (f" \u00d7{n}" if n > 1 else "") for name, n in pairs]
    out = ""
    for i, part in enumerate(parts):
        more = f", +{len(parts) - i}" if i else f"+{len(parts)}"
        nxt = (out + ", " if out else "") + part
        if len(nxt) > _CELL and out:
            return out + more
        out = nxt
    return out


def _known(known: Any, bucket: str, releases: Sequence[Tuple[str, int]]) -> Optional[Dict[str, Any]]:
    """The bucket's known issue, judged on its newest release that should have the fix (if any)."""
    from .known import release_key

    if known is None:
        return None
    matches = [m for m in (known.match(bucket, r) for r, _n in releases) if m is not None]
    if not matches:
        m = known.match(bucket)
        return m.to_dict() if m is not None else None
    best = max(matches, key=lambda m: (m.recurs, release_key(m.release)))
    return dict(best.to_dict())


def run(args: argparse.Namespace) -> int:
    """``kdumpext buckets``: read the history, print; the exit status."""
    from .history import default_path, open_history
    from .known import known_issues

    since = parse_since(args.since) if args.since else None
    known = known_issues(args.known)
    history = open_history(args.db, create=False)
    path = args.db or default_path()
    if history is None:
        buckets: List[Any] = []
        crashes = errors = 0
    else:
        with history:
            buckets = history.buckets(since, args.host)
            crashes = history.count()
            errors = history.errors(since, args.host)
    marks = [_known(known, b.bucket, b.releases) for b in buckets]
    if args.json:
        doc = {"schema": BUCKETS_SCHEMA, "db": path, "since": since, "host": args.host, "crashes": crashes,
               "errors": errors,
               "buckets": [dict(b.to_dict(), **({"known": k} if known is not None else {}))
                           for b, k in zip(buckets, marks)]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    window = f", buckets with a crash since {_when(since)} UTC" if since is not None else ""
    if history is None:
        print(f"{path}: no crash history yet (kdumpext batch DIR records one)")
        return 0
    print(f"{path}: {crashes} crashes ({errors} not explained){window}; most recently seen first")
    if not buckets:
        return 0
    from tabulate import tabulate

    def name(b: Any) -> str:
        return b.bucket + (f" \u2190 {b.origin_site}" if b.origin_site else "")

    heads = ["bucket", "count", "first seen", "last seen", "hosts", "releases"]
    rows = [[name(b), str(b.count) + (f"/{b.total}" if b.total != b.count else ""), _when(b.first_seen),
             _when(b.last_seen), _counted(b.hosts), _counted(b.releases)] for b in buckets]
    if known is not None:
        heads.append("known")
        for r, k in zip(rows, marks):
            r.append("not known" if k is None else k["title"] + (f" (fixed in {', '.join(k['fixed_in'])})"
                                                         if k["fixed_in"] else "")
                     + (f" RECURS on {k['release']}" if k["recurs"] else ""))
    print(tabulate(rows, heads, tablefmt="simple", disable_numparse=True))
    if since is not None:
        print(f"\ncount: crashes since {_when(since)} / ever, when they differ")
    return 0
