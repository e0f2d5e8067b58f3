"""Time ``triage`` inside crash beside ``kdumpext triage`` on the same dump, and what ``extend`` adds to crash's start.

    .venv/bin/python bench/bench_crash_ext.py [DUMP] [--vmlinux V] [--debug-dir D] [--runs N]

Default: the seed sample dump (sample-dumps/scst-null-dev) with the corpus's vmlinux and modules.

- **crash start**: ``crash -s VMLINUX DUMP`` reading ``quit``, beside the same reading
  ``extend kdumpext.so`` then ``quit``; runs alternate (A B A B ...); medians and the median
  of the per-pair differences (issue 16: the extension adds no time to crash's start); and,
  less noisy, ``extend`` itself inside one session, between ``!date`` stamps, loaded and
  unloaded (``extend -u``) in turn, beside an empty interval between two stamps.
- **triage**: one crash session (after ``extend`` and ``mod -S``) that alternates ``triage``
  (the extension) with ``!kdumpext triage DUMP --vmlinux V`` (the CLI, through crash's shell
  escape, so both run from the same parent under the same load), each bracketed by ``!date``
  stamps; medians and the median of the per-pair ratios (issue 16's budget: <= 1.2x).
"""

from __future__ import annotations

import argparse
import glob
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from typing import List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

BUDGET = 1.2


def _crash_session(crash: str, vmlinux: str, dump: str, lines: List[str]) -> float:
    """Wall seconds of one crash session reading ``lines`` (then ``quit``)."""
    with tempfile.NamedTemporaryFile("w", suffix=".crash") as f:
        f.write("\n".join(lines + ["quit"]) + "\n")
        f.flush()
        start = time.perf_counter()
        subprocess.run([crash, "-s", "--no_crashrc", vmlinux, dump, "-i", f.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start


def _start(crash: str, vmlinux: str, dump: str, so: str, runs: int) -> Tuple[List[float], List[float]]:
    """crash's start without and with ``extend``, alternating."""
    plain, extended = [], []
    _crash_session(crash, vmlinux, dump, [])  # warm-up: page cache
    for _ in range(runs):
        plain.append(_crash_session(crash, vmlinux, dump, []))
        extended.append(_crash_session(crash, vmlinux, dump, [f"extend {so}"]))
    return plain, extended


def _extend(crash: str, vmlinux: str, dump: str, so: str, runs: int) -> Tuple[List[float], List[float]]:
    """``extend`` itself inside one session (loaded, timed by ``!date`` stamps, unloaded again),
    beside an empty interval between two stamps (what the stamps themselves cost)."""
    with tempfile.TemporaryDirectory(prefix="kdumpext-bench-crash-") as tmp:
        stamps = os.path.join(tmp, "stamps")
        stamp = f"!date +%s.%N >> {stamps}"
        lines = [f"extend {so} > /dev/null", f"extend -u {so} > /dev/null"]  # warm-up
        for _ in range(runs):
            lines += [stamp, f"extend {so} > /dev/null", stamp, f"extend -u {so} > /dev/null", stamp, stamp]
        _crash_session(crash, vmlinux, dump, lines)
        with open(stamps) as f:
            t = [float(x) for x in f.read().split()]
    loaded = [t[i + 1] - t[i] for i in range(0, len(t), 4)]
    empty = [t[i + 3] - t[i + 2] for i in range(0, len(t), 4)]
    return loaded, empty


def _triage(crash: str, vmlinux: str, dump: str, so: str, debug_dirs: List[str], runs: int
            ) -> Tuple[List[float], List[float]]:
    """``triage`` inside crash and the CLI, alternating in one session, timed by ``!date`` stamps."""
    cli = [sys.executable, "-m", "kdumpext.cli", "triage", dump, "--vmlinux", vmlinux]
    cli += [a for d in debug_dirs for a in ("--debug-dir", d)]
    with tempfile.TemporaryDirectory(prefix="kdumpext-bench-crash-") as tmp:
        stamps = os.path.join(tmp, "stamps")
        stamp = f"!date +%s.%N >> {stamps}"
        lines = [f"extend {so}"] + [f"mod -S {d} > /dev/null" for d in debug_dirs[:1]]
        lines += ["triage > /dev/null", f"!{shlex.join(cli)} > /dev/null"]  # warm-up
        for _ in range(runs):
            lines += [stamp, "triage > /dev/null", stamp, f"!{shlex.join(cli)} > /dev/null", stamp]
        _crash_session(crash, vmlinux, dump, lines)
        with open(stamps) as f:
            t = [float(x) for x in f.read().split()]
    inside = [t[i + 1] - t[i] for i in range(0, len(t), 3)]
    outside = [t[i + 2] - t[i + 1] for i in range(0, len(t), 3)]
    return inside, outside


def main() -> int:
    """Print the two tables; exit 1 when the triage ratio is over budget."""
    from _cache import use_temporary_cache

    use_temporary_cache()  # never the user's ~/.cache
    from tabulate import tabulate

    from corpus import SAMPLES, unpacked_debug_dir
    from kdumpext.crashext import build
    from kdumpext.locate import unpacked

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", nargs="?", help="a dump crash reads (default: the seed sample dump)")
    parser.add_argument("--vmlinux", help="its vmlinux (default: the sample corpus's)")
    parser.add_argument("--debug-dir", action="append", default=[],
                        help="module debug files: crash's mod -S and kdumpext's --debug-dir (default: the corpus's)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each (default 7)")
    args = parser.parse_args()
    crash = "crash"
    if args.dump:
        dump = unpacked(args.dump)
    else:
        dump = unpacked(sorted(glob.glob(os.path.join(SAMPLES, "scst-null-dev", "*", "dump.*")))[0])
    if args.vmlinux:
        vmlinux, dirs = unpacked(args.vmlinux), args.debug_dir
    else:
        debug = unpacked_debug_dir()
        vmlinux, dirs = os.path.join(debug, "vmlinux"), args.debug_dir or [debug]
    for d in ("KDUMPEXT_DEBUG_PATH", "KDUMPEXT_PYTHON"):
        os.environ.pop(d, None)
    so = build()
    print(f"dump {dump}\nvmlinux {vmlinux}\nextension {so}\n")

    plain, extended = _start(crash, vmlinux, dump, so, args.runs)
    diffs = [b - a for a, b in zip(plain, extended)]
    loaded, empty = _extend(crash, vmlinux, dump, so, args.runs)
    print(tabulate([["crash start (quit)", f"{statistics.median(plain):.3f}", f"{min(plain):.3f}"],
                    ["crash start + extend", f"{statistics.median(extended):.3f}", f"{min(extended):.3f}"],
                    ["difference per pair", f"{statistics.median(diffs):+.3f}", f"{min(diffs):+.3f}"],
                    ["'extend' itself, in a session", f"{statistics.median(loaded):.4f}", f"{min(loaded):.4f}"],
                    ["an empty interval (the stamps)", f"{statistics.median(empty):.4f}", f"{min(empty):.4f}"]],
                   headers=["seconds", "median", "min"], tablefmt="github"))
    print()
    inside, outside = _triage(crash, vmlinux, dump, so, dirs, args.runs)
    ratios = [a / b for a, b in zip(inside, outside)]
    ratio = statistics.median(ratios)
    print(tabulate([["triage inside crash", f"{statistics.median(inside):.3f}", f"{min(inside):.3f}"],
                    ["kdumpext triage", f"{statistics.median(outside):.3f}", f"{min(outside):.3f}"],
                    ["ratio per pair", f"{ratio:.2f}x", f"{min(ratios):.2f}x"]],
                   headers=["seconds", "median", "min"], tablefmt="github"))
    print(f"\nbudget: triage inside crash <= {BUDGET}x kdumpext triage: {'met' if ratio <= BUDGET else 'NOT MET'}")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
