"""`kdumpext triage` beside drgn's own open + stack trace + one type lookup on the same dump, alternating runs.

    .venv/bin/python bench/bench_vs_drgn.py [DUMP] [--vmlinux V] [--debug-dir D]... [--runs N]

Without DUMP: the newest distro dump made by bench/distro-dump (~/.cache/kdumpext-bench/<stamp>),
else the seed sample dump.  Both sides are whole processes with the same files: drgn is
given the vmlinux kdumpext found (``--json`` names it) and every ``.ko`` of the debug dirs,
then walks the crashed thread's stack and looks up one type, which is the least a person
does in drgn to get where kdumpext's verdict starts.  Runs alternate (A B A B ...) after one
warm-up of each, so a drifting machine affects both; the ratio is per pair, median quoted.
Budget (issue 9, and issue 12 for arm64 dumps): triage <= 1.3x drgn; when the report counted
the siblings of an object in a dedicated slab cache (issue 14), <= 1.3x drgn + 0.3 s, the
scan's own limit.  Exit 0 when within the budget.  An arm64 dump is measured the same way; crash is not run on one (this host's is x86-64 only).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = 1.3

_DRGN = """
import sys, drgn
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
try:
    prog.load_debug_info(sys.argv[2:], default=True)
except drgn.MissingDebugInfoError:
    pass  # modules without debug info (a distro's virtio): drgn's CLI only warns, so does this
trace = prog.crashed_thread().stack_trace()
for frame in trace:
    frame.name
prog.type("struct task_struct")
"""


def _run(cmd: List[str]) -> Tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _default_dump() -> Tuple[str, List[str]]:
    bench = os.path.expanduser(os.environ.get("KDX_BENCH_DIR", "~/.cache/kdumpext-bench"))
    dumps = sorted(glob.glob(os.path.join(bench, "[0-9]*", "dump.*")))
    if dumps:
        return dumps[-1], [os.path.dirname(dumps[-1])]
    seed = sorted(glob.glob(os.path.join(ROOT, "sample-dumps", "scst-null-dev", "*", "dump.*")))
    return seed[-1], [os.path.join(ROOT, "sample-dumps", "build")]


def main() -> int:
    """Print the table and the budget check."""
    from _cache import use_temporary_cache

    use_temporary_cache()  # never the user's ~/.cache
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dump", nargs="?")
    p.add_argument("--vmlinux")
    p.add_argument("--debug-dir", action="append", default=[])
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    dump, dirs = (args.dump, args.debug_dir) if args.dump else _default_dump()
    dirs = args.debug_dir or dirs
    kdumpext = [os.path.join(os.path.dirname(sys.executable), "kdumpext"), "triage", dump] + \
        [a for d in dirs for a in ("--debug-dir", d)] + (["--vmlinux", args.vmlinux] if args.vmlinux else [])
    out = subprocess.run(kdumpext + ["--json"], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"kdumpext triage failed: {out.stderr.strip()}", file=sys.stderr)
        return 2
    report = json.loads(out.stdout)
    vmlinux = report["dump"]["vmlinux"]
    from kdumpext.locate import unpacked

    # drgn reads no compressed file: give it the modules as kdumpext's cache unpacked them
    kos = sorted({unpacked(os.path.realpath(k)) for d in dirs for pattern in ("*.ko", "*.ko.xz")
                  for k in glob.glob(os.path.join(d, "**", pattern), recursive=True)})

    drgn = [sys.executable, "-c", _DRGN, unpacked(dump), unpacked(vmlinux)] + kos
    for cmd in (kdumpext, drgn):  # warm-up: page cache, kdumpext's unpack cache
        _run(cmd)
    ks: List[Tuple[float, float]] = []
    ds: List[Tuple[float, float]] = []
    for _ in range(args.runs):
        ks.append(_run(kdumpext))
        ds.append(_run(drgn))
    ratios = [k[0] / d[0] for k, d in zip(ks, ds)]
    med = statistics.median
    print(f"dump      {dump}  ({report['dump']['release']}, verdict {report['verdict']['class']}, "
          f"{len(report['verdict']['chain'])} hop(s))")
    print(f"kdumpext triage                      wall {med(k[0] for k in ks):.3f} s  cpu {med(k[1] for k in ks):.3f} s")
    print(f"drgn open + stack trace + type       wall {med(d[0] for d in ds):.3f} s  cpu {med(d[1] for d in ds):.3f} s")
    from kdumpext.locate import elf_machine

    if elf_machine(unpacked(vmlinux)) == 183:  # EM_AARCH64
        print("crash     not run: Debian's crash on this x86-64 host is built for x86-64 only and refuses arm64 dumps")
    r = med(ratios)
    scanned = [o["siblings"] for o in report.get("objects", []) if o.get("siblings") and not o["siblings"]["skipped"]]
    if scanned:
        from kdumpext.objects import SIBLING_SECONDS

        # per pair: kdumpext <= BUDGET x drgn + the sibling scan's limit
        over = [k[0] - (BUDGET * d[0] + SIBLING_SECONDS) for k, d in zip(ks, ds)]
        s = scanned[0]
        print(f"siblings  {s['same']} of {s['scanned']} objects of {s['cache']} counted"
              f"{'; stopped: ' + s['stopped'] if s['stopped'] else ''}")
        ok = med(over) <= 0
        print(f"ratio     triage / drgn = {r:.2f}x wall (min {min(ratios):.2f}, max {max(ratios):.2f}; {args.runs} pairs); "
              f"budget <= {BUDGET}x drgn + {SIBLING_SECONDS} s (a sibling scan): {'OK' if ok else 'OVER'}, "
              f"median margin {-med(over):+.3f} s")
        return 0 if ok else 1
    print(f"ratio     triage / drgn = {r:.2f}x wall (min {min(ratios):.2f}, max {max(ratios):.2f}; {args.runs} pairs); "
          f"budget <= {BUDGET}x: {'OK' if r <= BUDGET else 'OVER'}")
    return 0 if r <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
