"""Time the drgn front-end beside plain drgn and the kdumpext CLI, on the sample dumps (or dumps given).

    .venv/bin/python bench/bench_drgn.py [DUMP...] [--runs N]

Columns, best of N wall-clock runs each: ``drgn open`` (``drgn -c DUMP -s ... -e pass``:
open the dump and load vmlinux and module debug info), ``drgn %triage`` (the same plus
``run_command(prog, "triage")``), ``kdumpext triage`` (the CLI on the same files), and the
difference ``%triage - open``: what the plugin adds to a drgn session.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import time
from typing import List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

BIN = os.path.dirname(sys.executable)


def _best(cmd: List[str], runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRGN_", "KDUMPEXT_DEBUG_PATH"))}
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                       env=env, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Print the timing table."""
    from _cache import use_temporary_cache

    use_temporary_cache()  # never the user's ~/.cache
    from tabulate import tabulate

    from corpus import SAMPLES, unpacked_debug_dir
    from kdumpext.locate import unpacked

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dumps", nargs="*", help="dumps (default: every sample dump)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (best is kept)")
    args = parser.parse_args()
    dumps = args.dumps or sorted(glob.glob(os.path.join(SAMPLES, "*", "*", "dump.*")))
    debug = unpacked_debug_dir()
    files = [os.path.realpath(os.path.join(debug, n)) for n in ("vmlinux", "scst.ko", "kdx.ko")]
    symbols = [a for f in files for a in ("-s", f)]
    rows = []
    for dump in dumps:
        real = unpacked(dump)
        drgn = [os.path.join(BIN, "drgn"), "-q", "-c", real] + symbols + ["-e"]
        opened = _best(drgn + ["pass"], args.runs)
        triaged = _best(drgn + ["from drgn.commands import run_command; run_command(prog, 'triage')"], args.runs)
        cli = _best([os.path.join(BIN, "kdumpext"), "triage", real, "--vmlinux", files[0]]
                    + [a for f in files[1:] for a in ("--debug-dir", os.path.dirname(f))], args.runs)
        rows.append([os.path.relpath(dump, SAMPLES), f"{opened:.2f}", f"{triaged:.2f}", f"{cli:.2f}",
                     f"{triaged - opened:.2f}"])
    print(tabulate(rows, headers=["dump", "drgn open", "drgn %triage", "kdumpext triage", "%triage - open"],
                   tablefmt="github"))


if __name__ == "__main__":
    main()
