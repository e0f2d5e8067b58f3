"""Time `kdump open` + triage + `bt` in stock gdb against plain gdb loading the same vmlinux (budget: at most 2x).

    .venv/bin/python bench/bench_gdb.py [DUMP] [--vmlinux V] [--debug-dir D]... [--runs N]

Without DUMP: the seed sample dump (sample-dumps/scst-null-dev) with sample-dumps/build.
Two timings, each the median of --runs runs of a fresh `gdb -batch -nx`:

  plain      gdb -ex 'file VMLINUX'                                   (what any gdb session pays)
  kdump      gdb -x gdb-init.py -ex 'kdump open DUMP ...' -ex bt      (symbols, the dump through
             kdumpext gdbserver, the triage, a backtrace read over the remote protocol)

and the bytes the kdump session wrote under kdumpext's cache (a fresh one per run: debug files
that are .xz in the repo are unpacked once before timing, as a user's would already be).
The ratio the budget is about is kdump / plain.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Callable, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = 2.0


def _time(args: List[str], before: Optional[Callable[[], None]] = None, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.monotonic()
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           stdin=subprocess.DEVNULL)
        times.append(time.monotonic() - t0)
        opened = "kdump open" not in " ".join(args) or "VERDICT" in p.stdout
        if p.returncode != 0 or "Traceback" in p.stdout or not opened:
            sys.exit(f"bench_gdb: {' '.join(args)} failed:\n{p.stdout[-3000:]}")
    return statistics.median(times)


def main() -> int:
    from _cache import use_temporary_cache

    use_temporary_cache()  # never the user's ~/.cache
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dump", nargs="?")
    parser.add_argument("--vmlinux")
    parser.add_argument("--debug-dir", action="append", default=[])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gdb", default=shutil.which("gdb") or "gdb")
    args = parser.parse_args()
    if args.dump is None:
        dumps = sorted(glob.glob(os.path.join(ROOT, "sample-dumps", "scst-null-dev", "*", "dump.*")))
        if not dumps:
            sys.exit("bench_gdb: no DUMP given and no sample dump (sample-dumps/generate)")
        args.dump = dumps[0]
        args.debug_dir = args.debug_dir or [os.path.join(ROOT, "sample-dumps", "build")]

    sys.path.insert(0, ROOT)
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
    from kdumpext.dump import open_dump

    from kdumpext.errors import KdumpextError

    try:
        opened = open_dump(args.dump, args.vmlinux, args.debug_dir)  # the vmlinux plain gdb must load
    except KdumpextError as e:
        sys.exit(f"bench_gdb: {e}")
    vmlinux = opened.info.vmlinux
    del opened
    open_cmd = f"kdump open {args.dump}" + (f" {args.vmlinux}" if args.vmlinux else "")
    for d in args.debug_dir:
        open_cmd += f" --debug-dir {d}"
    gdb = [args.gdb, "-batch", "-nx"]
    kdump = gdb + ["-x", os.path.join(ROOT, "gdb-init.py"), "-ex", open_cmd, "-ex", "bt"]
    cache = os.environ["KDUMPEXT_CACHE_DIR"]

    def cache_bytes() -> int:
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(cache) for f in fs
                   if os.path.isfile(os.path.join(d, f)))

    print(f"dump     {args.dump} ({os.path.getsize(args.dump) >> 20} MiB)")
    print(f"vmlinux  {vmlinux} ({os.path.getsize(vmlinux) >> 20} MiB)")
    print(f"gdb      {args.gdb}; median of {args.runs} runs each")
    plain = _time(gdb + ["-ex", f"file {vmlinux}"], runs=args.runs)
    print(f"plain gdb, file vmlinux              {plain:7.2f} s")
    before = cache_bytes()
    taken = _time(kdump, runs=args.runs)
    written = cache_bytes() - before
    print(f"kdump open + triage + bt             {taken:7.2f} s   {taken / plain:4.1f}x   "
          f"{written / 1e6:.1f} MB written to the cache")
    ok = taken <= BUDGET * plain
    print(f"ratio {taken / plain:.2f}x; budget {BUDGET:.0f}x: {'OK' if ok else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
