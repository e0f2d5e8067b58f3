"""A long fuzz campaign: tests/test_fuzz.py's mutators, many more mutants, a table of outcomes (not run in CI).

    .venv/bin/python bench/fuzz_campaign.py [COUNT] [SEED] [--jobs N] [--kind kdump,elf,...] [--show]

COUNT scales the random mutants (tests/test_fuzz.py uses 4); every mutant whose outcome is
wrong is listed, with what was wrong, at the end.  The kdumpext cache is a temporary directory.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

import test_fuzz as fz  # noqa: E402


def main() -> int:
    """Run the campaign; 1 when some mutant got a wrong outcome."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("count", nargs="?", type=int, default=16, help="random mutants per mutator (CI: 4)")
    ap.add_argument("seed", nargs="?", type=int, default=fz.SEED)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--kind", default="", help="only these kinds (comma-separated: kdump,elf,flat,debug,oops)")
    ap.add_argument("--match", default="", help="only mutants whose name contains this")
    ap.add_argument("--show", action="store_true", help="print every outcome, not only the wrong ones")
    args = ap.parse_args()
    src = fz.Sources.load()
    mutants = fz.all_mutants(src, args.seed, args.count)
    if args.kind:
        mutants = [m for m in mutants if m.kind in args.kind.split(",")]
    if args.match:
        mutants = [m for m in mutants if args.match in m.name]
    with tempfile.TemporaryDirectory(prefix="kdumpext-fuzz-") as work:
        env = fz.subprocess_env(os.path.join(work, "cache"))
        dump = os.path.join(work, "dump.202612061822")
        with open(dump, "wb") as f:
            f.write(src.kdump)
        base = fz.run_mutant(fz.Mutant("kdump", "undamaged", src.kdump), work, env)
        bucket = str(base.verdict.get("bucket", ""))
        print(f"{len(mutants)} mutants, seed {args.seed}; undamaged: exit {base.returncode}, bucket {bucket}",
              flush=True)
        t0 = time.time()
        outcomes = fz.run_all(mutants, work, env, dump, args.jobs)
        took = time.time() - t0
    table: "collections.Counter[tuple]" = collections.Counter()
    wrong = []
    for o in outcomes:
        conf = str(o.verdict.get("confidence", "")) if o.returncode == 0 else ""
        same = o.verdict.get("bucket") == bucket if o.returncode == 0 and o.mutant.kind != "oops" else None
        table[(o.mutant.kind, o.returncode, conf, same)] += 1
        why = fz.check_outcome(o) or fz.confident_and_wrong(o, bucket)
        if why:
            wrong.append(why)
        if args.show:
            first = o.stderr.strip().splitlines()[:1]
            print(f"{o.mutant.kind:6} {o.returncode!s:>4} {conf:8} {o.mutant.name}: "
                  f"{(first[0] if first else o.verdict.get('bucket', ''))[:150]}")
    print(f"\n{'kind':6} {'exit':>4} {'confidence':10} {'same bucket':11} {'count':>5}")
    for (kind, rc, conf, same), n in sorted(table.items(), key=lambda kv: tuple(map(str, kv[0]))):
        print(f"{kind:6} {rc!s:>4} {conf:10} {'' if same is None else str(same):11} {n:5}")
    print(f"\n{len(outcomes)} mutants in {took:.0f} s ({took / max(1, len(outcomes)):.2f} s each, {args.jobs} jobs); "
          f"{len(wrong)} wrong")
    for w in wrong:
        print("  " + w)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
