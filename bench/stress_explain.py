"""Trace the base register of every memory access in many functions of a dump's kernel: no exception may escape.

    .venv/bin/python bench/stress_explain.py [DUMP] [--debug-dir D]... [--functions N] [--seconds S] [--seed K]

Without DUMP: the newest distro dump made by bench/distro-dump (~/.cache/kdumpext-bench/<stamp>).
For a random sample of the kernel's functions, every instruction that reads or writes memory
through a register gets :meth:`kdumpext.explain.Tracer.value` and the hops of
:func:`kdumpext.provenance.hops_in_function`, as a verdict would.  Prints how the values were
made (load, param, return, ...) and every exception, with one traceback each.  Not a test: real
kernels hold code shapes no corpus has, and this walks thousands of them in a few minutes.
Exit 1 when an exception escaped.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import random
import sys
import time
import traceback


def main() -> int:
    """Run the sample and print the tallies."""
    from _cache import use_temporary_cache

    use_temporary_cache()  # never the user's ~/.cache
    from kdumpext.dump import open_dump
    from kdumpext.explain import Tracer
    from kdumpext.program import DrgnView
    from kdumpext.provenance import hops_in_function

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dump", nargs="?")
    p.add_argument("--debug-dir", action="append", default=[])
    p.add_argument("--functions", type=int, default=1500)
    p.add_argument("--seconds", type=float, default=240)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    dump = args.dump
    dirs = args.debug_dir
    if dump is None:
        bench = os.path.expanduser(os.environ.get("KDX_BENCH_DIR", "~/.cache/kdumpext-bench"))
        found = sorted(glob.glob(os.path.join(bench, "[0-9]*", "dump.*")))
        if not found:
            print("no dump given and none made by bench/distro-dump", file=sys.stderr)
            return 2
        dump, dirs = found[-1], dirs or [os.path.dirname(found[-1])]
    prog = open_dump(dump, None, dirs).prog
    view = DrgnView(prog)
    funcs = [s for s in prog.symbols() if s.kind.name == "FUNC" and s.size > 16 and s.address >= 1 << 63]
    random.Random(args.seed).shuffle(funcs)
    kinds: collections.Counter = collections.Counter()
    errors: collections.Counter = collections.Counter()
    done = accesses = 0
    start = time.monotonic()
    for sym in funcs[: args.functions]:
        if time.monotonic() - start > args.seconds:
            break
        done += 1
        try:
            code = view.code(sym.address)
            if code is None:
                continue
            tracer = Tracer(view, code)
            for i, insn in enumerate(code.insns):
                if insn.mem is None or insn.mem.base in (None, "rip", "rsp") or not insn.access:
                    continue
                value = tracer.value(insn.mem.base, i)
                hops_in_function(view, tracer, value)
                kinds[value.how] += 1
                accesses += 1
        except Exception as e:  # noqa: BLE001 - the point is to see every one
            key = f"{type(e).__name__}: {str(e)[:100]}"
            if key not in errors:
                print(f"{sym.name}:", file=sys.stderr)
                traceback.print_exc()
            errors[key] += 1
    print(f"{done} functions, {accesses} memory accesses traced in {time.monotonic() - start:.0f} s")
    print("values: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print(f"exceptions: {sum(errors.values())}" + "".join(f"\n  {n}x {k}" for k, n in errors.most_common()))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
