#!/usr/bin/env python3
"""Time the crash history and the report page (issue 15): what they add beyond the analysis itself.

Usage: bench/bench_history.py [--rows 1000] [--corpus sample-dumps] [--debug-dir sample-dumps/build] [--check]

Synthetic part (``--rows`` crashes in ~10% as many buckets; synthetic rows time the
database and the page, they say nothing of verdicts): recording them in a new history,
recording them again (a re-run: nothing new), ``kdumpext buckets`` (the command, process
start included) and the HTML page of that many crashes.  Corpus part: a cached
``kdumpext batch`` of the sample corpus with ``--format html`` and the history, beside the same
cached run with JSON and ``--no-history``: the difference is what the page and the history
cost on real rows.  ``--check``: exit 1 when anything takes 2 s or more.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
BUDGET = 2.0


def _exe() -> List[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "kdumpext")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "kdumpext.cli"]


def _timed(args: List[str], env: Dict[str, str]) -> float:
    t0 = time.monotonic()
    p = subprocess.run(_exe() + args, capture_output=True, text=True, env=env)
    took = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit(f"kdumpext {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return took


def _synthetic(n: int, tmp: str, env: Dict[str, str]) -> Dict[str, float]:
    from kdumpext.batch import summarise
    from kdumpext.history import Crash, History
    from kdumpext.htmlreport import render_html

    buckets = max(1, n // 10)
    crashes = [Crash(f"sha256:{i:040x}", f"/var/crash/host{i % 37}/{i}/dump.{i}", "ok",
                     bucket=f"null-deref:f{i % buckets}:s.m", size=1 << 30, host=f"host{i % 37}",
                     release=("6.1.60", "6.1.192", "6.1.0-57-amd64")[i % 3], crash_time=1.79e9 + i * 600,
                     time_from="crash time", verdict=f"p{i} is NULL") for i in range(n)]
    db = os.path.join(tmp, "h.sqlite")
    out: Dict[str, float] = {}
    t0 = time.monotonic()
    with History(db) as h:
        h.record(crashes)
    out["record (new history)"] = time.monotonic() - t0
    t0 = time.monotonic()
    with History(db) as h:
        assert h.record(crashes).new == 0
    out["record again (nothing new)"] = time.monotonic() - t0
    out["kdumpext buckets"] = _timed(["buckets", "--db", db], env)
    out["kdumpext buckets --json"] = _timed(["buckets", "--db", db, "--json"], env)
    report = "\n".join(f"line {k} of a triage report " + "x" * 60 for k in range(80))
    rows = [{"dump": c.path, "dmesg": None, "status": "ok", "when": c.crash_time, "when_from": "crash time",
             "release": c.release, "host": c.host, "verdict": c.verdict, "bucket": c.bucket, "origin_site": "",
             "error": None, "text": report} for c in crashes]
    t0 = time.monotonic()
    page = render_html(rows, summarise(rows), {i: r["dump"] for i, r in enumerate(rows)})
    out["HTML page"] = time.monotonic() - t0
    print(f"  page of {n} crashes: {len(page) / 1e6:.1f} MB")
    return out


def _corpus(corpus: str, debug_dir: str, tmp: str, env: Dict[str, str]) -> Dict[str, float]:
    common = [corpus, "--debug-dir", debug_dir, "--cache-dir", os.path.join(tmp, "cache")]
    _timed(["batch", *common, "--format", "json", "--no-history"], env)  # warm: analyse once, fill the cache
    plain = min(_timed(["batch", *common, "--format", "json", "--no-history"], env) for _ in range(3))
    html = os.path.join(tmp, "r.html")
    db = os.path.join(tmp, "corpus.sqlite")
    full = min(_timed(["batch", *common, "--format", "html", "-o", html, "--db", db], env) for _ in range(3))
    print(f"  cached batch, JSON, no history: {plain:.2f} s; with the history and the page: {full:.2f} s; "
          f"page {os.path.getsize(html) / 1e6:.1f} MB")
    return {"history + page beyond a cached batch (corpus)": max(0.0, full - plain)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "sample-dumps"))
    ap.add_argument("--debug-dir", default=os.path.join(ROOT, "sample-dumps", "build"))
    ap.add_argument("--check", action="store_true", help=f"exit 1 when a step takes {BUDGET:g} s or more")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kdumpext-bench-history-") as tmp:
        env = dict(os.environ, KDUMPEXT_CACHE_DIR=os.path.join(tmp, "xdg"))
        env.pop("KDUMPEXT_KNOWN_ISSUES", None)
        print(f"synthetic: {args.rows} crashes")
        times = _synthetic(args.rows, tmp, env)
        if os.path.isdir(args.corpus):
            print(f"corpus: {args.corpus}")
            times.update(_corpus(args.corpus, args.debug_dir, tmp, env))
    width = max(len(k) for k in times)
    slow = False
    for name, t in times.items():
        over = t >= BUDGET
        slow |= over
        print(f"{name:<{width}}  {t:6.3f} s{'  OVER BUDGET' if over else ''}")
    return 1 if args.check and slow else 0


if __name__ == "__main__":
    sys.exit(main())
