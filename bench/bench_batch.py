#!/usr/bin/env python3
"""Time ``kdumpext batch`` over the sample corpus: --jobs 1 vs --jobs 2, and a cached re-run vs the first run.

Usage: bench/bench_batch.py [--corpus sample-dumps] [--debug-dir sample-dumps/build] [--repeat 3] [--check]

Each timing runs the installed ``kdumpext`` console script as a user would, and is the
median of ``--repeat`` runs.  A warm-up run first unpacks the ``.xz`` dumps and the
vmlinux into kdumpext's cache, so that no timed run pays for it.  Targets (issue 6):
the re-run >= 10x faster than the first run, --jobs 2 >= 1.6x faster than --jobs 1.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RERUN_TARGET = 10.0
JOBS_TARGET = 1.6


def _exe() -> List[str]:
    """The kdumpext command beside this Python (the venv's), else ``python -m kdumpext.cli``."""
    exe = os.path.join(os.path.dirname(sys.executable), "kdumpext")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "kdumpext.cli"]


def _run(args: List[str]) -> Tuple[float, Dict[str, object]]:
    t0 = time.monotonic()
    out = subprocess.run(_exe() + ["batch", *args, "--format", "json"], capture_output=True, text=True)
    took = time.monotonic() - t0
    if out.returncode != 0:
        sys.exit(f"kdumpext batch {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return took, json.loads(out.stdout)


def main() -> int:
    from _cache import use_temporary_cache

    use_temporary_cache()  # never the user's ~/.cache
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=os.path.join(ROOT, "sample-dumps"))
    p.add_argument("--debug-dir", default=os.path.join(ROOT, "sample-dumps", "build"))
    p.add_argument("--repeat", type=int, default=3, help="runs per timing; the median is reported")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    a = p.parse_args()
    dumps = glob.glob(os.path.join(a.corpus, "**", "dump.*"), recursive=True) + \
        glob.glob(os.path.join(a.corpus, "**", "vmcore*"), recursive=True)
    if not dumps:
        sys.exit(f"no dumps under {a.corpus} (run sample-dumps/generate)")
    base = [a.corpus, "--debug-dir", a.debug_dir]
    print(f"corpus: {a.corpus}: {len(dumps)} dumps; {os.cpu_count()} CPUs; median of {a.repeat} run(s) each; "
          f"load average {os.getloadavg()[0]:.2f}")

    warm, doc = _run(base + ["--no-cache", "--jobs", "2"])
    rows = doc["rows"]
    assert isinstance(rows, list)
    bad = [r["dump"] for r in rows if r["status"] != "ok"]
    print(f"warm-up (unpacks .xz into the cache): {warm:.2f} s, {len(rows)} rows"
          + (f", NOT from the dump: {bad}" if bad else ""))

    # jobs 1 and jobs 2 alternate, so that both see the same load from anything else on the machine
    j1s, j2s = [], []
    for _ in range(a.repeat):
        j1s.append(_run(base + ["--no-cache", "--jobs", "1"])[0])
        j2s.append(_run(base + ["--no-cache", "--jobs", "2"])[0])
    j1, j2 = statistics.median(j1s), statistics.median(j2s)

    # first run into an empty cache, then the re-run over the same tree
    firsts, reruns = [], []
    for _ in range(a.repeat):
        cache = tempfile.mkdtemp(prefix="kdumpext-bench-")
        try:
            t_first, d1 = _run(base + ["--cache-dir", cache])
            t_rerun, d2 = _run(base + ["--cache-dir", cache])
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        if d2.get("analysed") != 0:
            sys.exit(f"the re-run analysed {d2.get('analysed')} dumps; want 0")
        firsts.append(t_first)
        reruns.append(t_rerun)
    first, rerun = statistics.median(firsts), statistics.median(reruns)

    jobs_ratio = statistics.median(x / y for x, y in zip(j1s, j2s))
    rerun_ratio = statistics.median(x / y for x, y in zip(firsts, reruns))
    print()
    print(f"{'run':<34}{'seconds':>9}")
    print(f"{'--jobs 1 (no cache)':<34}{j1:>9.2f}")
    print(f"{'--jobs 2 (no cache)':<34}{j2:>9.2f}")
    print(f"{'first run (empty cache)':<34}{first:>9.2f}")
    print(f"{'re-run (all from cache)':<34}{rerun:>9.2f}")
    print()
    ok_jobs = jobs_ratio >= JOBS_TARGET
    ok_rerun = rerun_ratio >= RERUN_TARGET
    print(f"jobs 2 vs jobs 1:  {jobs_ratio:5.2f}x faster  (target >= {JOBS_TARGET}x)  "
          f"{'ok' if ok_jobs else 'MISSED'}")
    print(f"re-run vs first:  {rerun_ratio:6.1f}x faster  (target >= {RERUN_TARGET:g}x)  "
          f"{'ok' if ok_rerun else 'MISSED'}")
    print(f"(ratios: medians of paired runs; load average now {os.getloadavg()[0]:.2f}; other work on the "
          "machine slows --jobs 2 more than --jobs 1)")
    return 0 if (ok_jobs and ok_rerun) or not a.check else 1


if __name__ == "__main__":
    sys.exit(main())
