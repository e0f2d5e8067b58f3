"""Time `kdumpext triage DUMP` beside the crash session that answers the same question, on one dump.

    .venv/bin/python bench/bench_triage.py [DUMP] [--vmlinux V] [--debug-dir D]... [--runs N]
                                           [--crash-runs N] [--show] [--kdumpext CMD]

Without DUMP: the newest distro dump bench/distro-dump made (``$KDX_BENCH_DIR``, default
``~/.cache/kdumpext-bench/<stamp>/dump.<stamp>``), triaged as a new user would: only
``KDUMPEXT_DEBUG_PATH=<the dump's directory>`` (where kdxd.ko sits), vmlinux found by
kdumpext itself (Debian's -dbg package: /usr/lib/debug/boot/vmlinux-REL).  If there is no
distro dump: the seed sample dump (sample-dumps/scst-null-dev) with sample-dumps/build.

Two measurements, each a fresh process: wall time, CPU time (user+sys) and peak RSS of that process (wait4):

  kdumpext   kdumpext triage DUMP                  (median of --runs runs)
  crash      crash -s VMLINUX DUMP -i CMDS         (median of --crash-runs runs), CMDS =
             sys; bt; mod -S <module dir>; dis -l <faulting function>; struct -o <verdict's struct>

The faulting function and the struct come from a first, untimed `kdumpext triage --json`;
the vmlinux and the dump are read once before timing, so both tools run with a warm page
cache.  The crash session's output is checked for the `[exception RIP: <function>+...]`
line and the struct's layout, so that a crash session that failed is not timed as fast.
Budget (issue 3, on the distro dump): kdumpext <= 1.5 s wall, <= 400 MB peak RSS, and
>= 10x faster than the crash session.  The verdict is checked against the dump's expected.json
(bench/distro-module/expected.json for a distro dump).  Exit status 1 when over budget or
the verdict differs, 2 when the crash session did not answer.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET_WALL = 1.5  # seconds
BUDGET_RSS = 400  # MB
BUDGET_RATIO = 10.0


@dataclass
class _Run:
    wall: float  # seconds
    rss: float  # MB, peak resident set of the child
    cpu: float  # seconds, user + system time of the child (less sensitive to a busy machine)
    rc: int
    out: str


def _run(cmd: List[str], env: Optional[Dict[str, str]] = None) -> _Run:
    """Run ``cmd`` once; its wall time and its own peak RSS (wait4's rusage of that child)."""
    with tempfile.TemporaryFile(mode="w+") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return _Run(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, p.returncode, out.read())


def _median(runs: List[_Run]) -> Tuple[float, float, float]:
    return statistics.median(r.wall for r in runs), max(r.rss for r in runs), statistics.median(r.cpu for r in runs)


def _distro_dump() -> Optional[str]:
    top = os.environ.get("KDX_BENCH_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "kdumpext-bench")
    dumps = sorted(glob.glob(os.path.join(top, "[0-9]*", "dump.*")))
    return dumps[-1] if dumps else None


#: verdict keys compared with expected.json (sample-dumps/README.md has the schema)
_VERDICT_KEYS = ("class", "function", "module", "instruction", "access", "size", "pointer", "access_path",
                 "struct", "member", "offset", "bucket")


def _check_expected(report: Dict[str, Any], expected: Dict[str, Any]) -> List[str]:
    """The differences between kdumpext's --json report and an expected.json, as lines."""
    verdict = report.get("verdict") or {}
    got: Dict[str, Any] = {k: verdict.get(k) for k in _VERDICT_KEYS}
    got["backtrace"] = [f.get("function") for f in report.get("backtrace") or []]
    got["task.comm"] = (report.get("task") or {}).get("comm")
    src = verdict.get("source") or ""
    want: Dict[str, Any] = {k: expected.get(k) for k in _VERDICT_KEYS if k in expected}
    if "backtrace" in expected:
        want["backtrace"] = expected["backtrace"]
    if "comm" in (expected.get("task") or {}):
        want["task.comm"] = expected["task"]["comm"]
    diffs = [f"{k}: expected {v!r}, kdumpext said {got.get(k)!r}" for k, v in want.items() if got.get(k) != v]
    # a module's source path is wherever it was built: compare the tail only
    if expected.get("source") and not (src == expected["source"] or src.endswith("/" + expected["source"])):
        diffs.append(f"source: expected ...{expected['source']!r}, kdumpext said {src!r}")
    return diffs


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _warm(*paths: str) -> None:
    """Read files once so that neither tool pays for the first read from disk."""
    for path in paths:
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def main() -> int:
    """Print both timings, their ratio and the budget check."""
    from _cache import use_temporary_cache

    use_temporary_cache()  # never the user's ~/.cache
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dump", nargs="?", help="default: the newest distro dump, else the seed sample dump")
    parser.add_argument("--vmlinux", help="pass --vmlinux to kdumpext (default: it finds vmlinux itself)")
    parser.add_argument("--debug-dir", action="append", default=[], help="pass --debug-dir to kdumpext")
    parser.add_argument("--mod-dir", help="directory for crash's `mod -S` (default: where the module .ko files are)")
    parser.add_argument("--runs", type=int, default=5, help="kdumpext runs (median)")
    parser.add_argument("--crash-runs", type=int, default=1, help="crash runs (median)")
    parser.add_argument("--crash", default=shutil.which("crash") or "/usr/bin/crash")
    parser.add_argument("--kdumpext", default=os.path.join(os.path.dirname(sys.executable), "kdumpext"),
                        help="the kdumpext command (words split as by a shell)")
    parser.add_argument("--show", action="store_true", help="print both tools' full output")
    parser.add_argument("--expected", help="expected.json to check the verdict against (default: the one beside "
                                           "the dump, or bench/distro-module/expected.json for a distro dump)")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRGN_", "KDUMPEXT_DEBUG_PATH"))}
    distro = False
    label = "given"
    if args.dump is None:
        args.dump = _distro_dump()
        if args.dump is not None:
            distro, label = True, "distro dump"
            env["KDUMPEXT_DEBUG_PATH"] = os.path.dirname(args.dump)
            args.mod_dir = args.mod_dir or os.path.dirname(args.dump)
        else:
            seed = sorted(glob.glob(os.path.join(ROOT, "sample-dumps", "scst-null-dev", "*", "dump.*")))
            if not seed:
                sys.exit("bench_triage: no DUMP given, no distro dump (bench/distro-dump) "
                         "and no sample dump (sample-dumps/generate)")
            args.dump, label = seed[0], "seed sample dump"
            args.debug_dir = args.debug_dir or [os.path.join(ROOT, "sample-dumps", "build")]
            if args.mod_dir is None:
                sys.path.insert(0, ROOT)
                from tests.corpus import unpacked_debug_dir

                args.mod_dir = unpacked_debug_dir()  # crash wants the .ko files uncompressed
    elif "KDUMPEXT_DEBUG_PATH" in os.environ:
        env["KDUMPEXT_DEBUG_PATH"] = os.environ["KDUMPEXT_DEBUG_PATH"]
    args.mod_dir = args.mod_dir or os.path.dirname(os.path.abspath(args.dump))
    if args.expected is None:
        beside = os.path.join(os.path.dirname(os.path.abspath(args.dump)), "expected.json")
        if os.path.exists(beside):
            args.expected = beside
        elif distro:
            args.expected = os.path.join(ROOT, "bench", "distro-module", "expected.json")

    kdx = shlex.split(args.kdumpext) + ["triage", args.dump]
    if args.vmlinux:
        kdx += ["--vmlinux", args.vmlinux]
    for d in args.debug_dir:
        kdx += ["--debug-dir", d]

    # what to ask crash: the verdict's function and struct, from one untimed --json run
    first = _run(kdx + ["--json"], env)
    try:
        report = json.loads(first.out[first.out.index("{"):])
    except ValueError:
        sys.exit(f"bench_triage: {' '.join(kdx)} --json failed (exit {first.rc}):\n{first.out[-3000:]}")
    verdict = report.get("verdict") or {}
    function = verdict.get("function") or (report.get("backtrace") or [{}])[0].get("function")
    struct = verdict.get("struct")
    vmlinux = report["dump"]["vmlinux"]
    _warm(vmlinux, args.dump)

    cmds = ["sys", "bt", f"mod -S {args.mod_dir}"]
    if function:
        cmds.append(f"dis -l {function}")
    if struct:
        cmds.append(f"struct -o {struct}")
    cmds.append("exit")
    with tempfile.NamedTemporaryFile("w", suffix=".crash", delete=False) as f:
        f.write("\n".join(cmds) + "\n")
        cmdfile = f.name
    crash = [args.crash, "-s", vmlinux, args.dump, "-i", cmdfile]

    print(f"dump      {args.dump} ({os.path.getsize(args.dump) >> 20} MiB, "
          f"{label})")
    print(f"vmlinux   {vmlinux} ({os.path.getsize(vmlinux) >> 20} MiB)")
    print(f"machine   {os.cpu_count()} CPUs, {_cpu_model()}, load average {os.getloadavg()[0]:.2f} "
          f"(other work on the machine makes the figures noisy)")
    print(f"verdict   {verdict.get('summary') or verdict.get('undecided') or '?'}")
    diffs: List[str] = []
    if args.expected:
        with open(args.expected) as f:
            diffs = _check_expected(report, json.load(f))
        print(f"expected  {os.path.relpath(args.expected, ROOT)}: "
              + ("verdict, backtrace and task match" if not diffs else "DIFFERENT"))
        for line in diffs:
            print(f"          {line}")
    print(f"kdumpext  {' '.join(kdx)}" + (f"   (KDUMPEXT_DEBUG_PATH={env['KDUMPEXT_DEBUG_PATH']})"
                                          if "KDUMPEXT_DEBUG_PATH" in env else ""))
    print(f"crash     {' '.join(crash[:-2])} -i <{'; '.join(cmds[:-1])}>")

    try:
        kruns = [_run(kdx, env) for _ in range(args.runs)]
        bad = [r for r in kruns if r.rc != 0 or "Traceback" in r.out or "VERDICT" not in r.out]
        if bad:
            sys.exit(f"bench_triage: kdumpext failed (exit {bad[0].rc}):\n{bad[0].out[-3000:]}")
        cruns = [_run(crash, env) for _ in range(args.crash_runs)]
    finally:
        os.unlink(cmdfile)
    cout = cruns[0].out
    checks = {"bt [exception RIP: function]": f"[exception RIP: {function}+" in cout if function else True,
              "dis -l": f"<{function}>" in cout or f"<{function}+" in cout if function else True,
              f"struct -o {struct}": f"struct {struct} {{" in cout if struct else True}
    if not all(checks.values()):
        print(f"bench_triage: the crash session did not answer ({', '.join(k for k, v in checks.items() if not v)}):",
              file=sys.stderr)
        print(cout[-4000:], file=sys.stderr)
        return 2
    if args.show:
        print("\n---- kdumpext " + "-" * 60)
        print(kruns[0].out.rstrip())
        print("\n---- crash " + "-" * 63)
        print(cout.rstrip())
        print("-" * 74)

    kw, krss, kcpu = _median(kruns)
    cw, crss, ccpu = _median(cruns)
    ratio = cw / kw
    print()
    print(f"{'':10}{'wall (median)':>15}{'CPU user+sys':>15}{'peak RSS':>12}  runs")
    print(f"{'kdumpext':10}{kw:13.2f} s{kcpu:13.2f} s{krss:9.0f} MB  {args.runs}  "
          f"(wall min {min(r.wall for r in kruns):.2f} s, max {max(r.wall for r in kruns):.2f} s)")
    print(f"{'crash':10}{cw:13.2f} s{ccpu:13.2f} s{crss:9.0f} MB  {args.crash_runs}")
    print(f"ratio     crash / kdumpext = {ratio:.1f}x wall, {ccpu / kcpu:.1f}x CPU")
    ok_wall, ok_rss, ok_ratio = kw <= BUDGET_WALL, krss <= BUDGET_RSS, ratio >= BUDGET_RATIO
    scope = "" if distro else "  (the budget is set for the distro dump; this is not it)"
    print(f"budget    wall {kw:.2f} s <= {BUDGET_WALL} s: {'OK' if ok_wall else 'OVER'};  "
          f"RSS {krss:.0f} MB <= {BUDGET_RSS} MB: {'OK' if ok_rss else 'OVER'};  "
          f"{ratio:.1f}x >= {BUDGET_RATIO:.0f}x: {'OK' if ok_ratio else 'SHORT'}{scope}")
    if diffs:
        print(f"verdict   differs from {args.expected} (see above)")
    return 0 if ok_wall and ok_rss and ok_ratio and not diffs else 1


if __name__ == "__main__":
    sys.exit(main())
