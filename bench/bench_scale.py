#!/usr/bin/env python3
"""Scale bench: every tool on the small distro dump and on a big one (bench/distro-dump --big), wall, peak memory, bytes written, big/small ratios.

    .venv/bin/python bench/bench_scale.py [--small DIR] [--big DIR] [--runs N] [--tools T,T...]
                                          [--crash-runs N] [--json FILE] [--show]

DIR is a directory bench/distro-dump made: ``dump.<stamp>`` and the ``kdxd.ko`` it crashed in
(``--big``'s also holds ``kdxbig.ko``).  Defaults: the newest ``$KDX_BENCH_DIR/<stamp>/`` for
--small and the newest ``$KDX_BENCH_DIR/big-<stamp>/`` for --big (``$KDX_BENCH_DIR`` defaults
to ``~/.cache/kdumpext-bench``).  Both dumps hold the same crash (kdxd's NULL ->queue); the
big one also holds gigabytes of filled kernel memory, so what differs is only the size.

Tools, each a fresh process per run, on each dump:

  triage   kdumpext triage DUMP --debug-dir DIR
  batch    kdumpext batch BATCHDIR --debug-dir DIR --jobs 1 --cache-dir FRESH (BATCHDIR holds only
           a hard link to the dump; a fresh result cache per run: the first run a user pays)
  gdb      gdb -batch -nx -x gdb-init.py -ex 'kdump open DUMP --debug-dir DIR' -ex bt
           (gdb, its embedded Python and the `kdumpext gdbserver` it starts)
  drgn     drgn's own open + load debug info (vmlinux + DIR's .ko files) + the crashed thread's stack trace
  crash    crash -s VMLINUX DUMP -i CMDS, CMDS = bt, quit

Per run: wall time; peak memory of the whole process tree (PSS summed over the processes
alive at once, sampled every 50 ms, so a forked child sharing its parent's pages is not
counted twice; never below the largest single process's own peak RSS from wait4);
bytes written to storage by the process tree (``write_bytes`` of /proc/self/io before and
after: a reaped child's I/O is added to its parent's, so the tree's writes all arrive here),
and what stayed behind in kdumpext's cache directory.  Runs alternate small, big, small, big
after one warm-up of each (the page cache holds both dumps and the vmlinux), so a drifting
machine affects both; ratios are big/small per pair, the median quoted.  Each run's output
is checked (the verdict's bucket, kdxd_account_latency in the backtraces), so a run that
failed is not timed as fast.

Acceptance (issue 13): on the big dump (>= 2 GB file) gdb's kdump open + bt <= 1.5x its time
on the small dump, and triage <= 1.5x; kdump open writes under 5 MB.  Exit 0 when all hold.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUDGET_RATIO = 1.5  # big / small, gdb and triage
BUDGET_OPEN_WRITES = 5 << 20  # bytes kdump open may write
BIG_FILE = 2 << 30  # what the issue calls a big dump
FAULT_FUNCTION = "kdxd_account_latency"
TOOLS = ("triage", "batch", "gdb", "drgn", "crash")

_DRGN = """
import sys, drgn
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
try:
    prog.load_debug_info(sys.argv[2:], default=True)
except drgn.MissingDebugInfoError:
    pass  # the distro's virtio modules: drgn's CLI only warns, so does this
for frame in prog.crashed_thread().stack_trace():
    print(frame.name)
"""


@dataclass
class Run:
    """One finished process tree."""

    wall: float  # seconds
    rss: int  # bytes, peak of the tree
    written: int  # bytes written to storage by the tree
    left: int  # bytes the run left in kdumpext's cache
    rc: int
    out: str


@dataclass
class Dump:
    """One side of the comparison."""

    label: str
    dir: str
    path: str
    size: int
    vmlinux: str = ""
    bucket: str = ""
    batch_dir: str = ""
    kos: List[str] = field(default_factory=list)


def _write_bytes() -> int:
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def _tree(pid: int) -> List[int]:
    """``pid`` and its descendants alive now (/proc/PID/task/TID/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return out


def _pss(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes: shared pages split among the processes that
    map them, so that a child forked but not yet exec'd (gdb starting the server through a
    shell) does not count the parent's memory twice."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def du(path: str) -> int:
    """Bytes of the files under ``path`` (allocated blocks, as du counts them)."""
    total = 0
    for top, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(top, name)).st_blocks * 512
            except OSError:
                pass
    return total


def run(cmd: Sequence[str], cache: str, stdin: Optional[str] = None, timeout: float = 1800) -> Run:
    """Run ``cmd`` once and measure its process tree."""
    left0 = du(cache)
    w0 = _write_bytes()
    chunks: List[bytes] = []
    t0 = time.perf_counter()
    p = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
    reader = threading.Thread(target=lambda: chunks.append(p.stdout.read() if p.stdout else b""), daemon=True)
    reader.start()
    if stdin is not None and p.stdin is not None:
        p.stdin.write(stdin.encode())
        p.stdin.close()
    peak = 0
    status = None
    usage = None
    while status is None:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            status, usage = st, ru
            break
        peak = max(peak, sum(_pss(q) for q in _tree(p.pid)))
        if time.perf_counter() - t0 > timeout:
            p.kill()
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    written = _write_bytes() - w0
    assert usage is not None
    peak = max(peak, usage.ru_maxrss * 1024)
    return Run(wall, peak, written, du(cache) - left0, p.returncode,
               b"".join(chunks).decode(errors="replace"))


def _newest(pattern: str) -> Optional[str]:
    found = sorted(d for d in glob.glob(pattern) if glob.glob(os.path.join(d, "dump.*")))
    return found[-1] if found else None


def _dump_in(directory: str, label: str) -> Dump:
    dumps = sorted(glob.glob(os.path.join(directory, "dump.*")))
    if not dumps:
        sys.exit(f"bench_scale: no dump.* in {directory} ({label}); make one with bench/distro-dump"
                 + (" --big" if label == "big" else ""))
    return Dump(label, directory, dumps[-1], os.path.getsize(dumps[-1]))


def _human(n: float) -> str:
    unit = "B"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            break
        n /= 1024
    return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"


def main() -> int:
    """Run the tools, print the table and the acceptance verdicts."""
    bench = os.path.expanduser(os.environ.get("KDX_BENCH_DIR", "~/.cache/kdumpext-bench"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", help="directory of the small distro dump (default: newest $KDX_BENCH_DIR/<stamp>)")
    p.add_argument("--big", help="directory of the big dump (default: newest $KDX_BENCH_DIR/big-<stamp>)")
    p.add_argument("--runs", type=int, default=3, help="timed runs per tool and dump (default 3)")
    p.add_argument("--crash-runs", type=int, default=None, help="timed crash runs (default: --runs)")
    p.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated subset of {','.join(TOOLS)}")
    p.add_argument("--gdb", default=shutil.which("gdb") or "gdb")
    p.add_argument("--json", metavar="FILE", help="also write every run's figures here")
    p.add_argument("--show", action="store_true", help="print each tool's output of the first run")
    args = p.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    bad = [t for t in tools if t not in TOOLS]
    if bad:
        p.error(f"unknown tool(s) {bad}; known: {', '.join(TOOLS)}")
    small_dir = args.small or _newest(os.path.join(bench, "[0-9]*"))
    big_dir = args.big or _newest(os.path.join(bench, "big-*"))
    if not small_dir or not big_dir:
        sys.exit(f"bench_scale: need --small and --big (none found under {bench}: bench/distro-dump, bench/distro-dump --big)")
    dumps = [_dump_in(small_dir, "small"), _dump_in(big_dir, "big")]

    # kdumpext's cache: under the bench directory, never the user's ~/.cache
    cache = os.environ.setdefault("KDUMPEXT_CACHE_DIR", os.path.join(bench, "scale-cache"))
    os.makedirs(cache, exist_ok=True)
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")  # as the engine: drgn's own open loads no plugin either
    scratch = os.path.join(bench, "scale-scratch")
    os.makedirs(scratch, exist_ok=True)
    bindir = os.path.dirname(sys.executable)
    kdumpext = os.path.join(bindir, "kdumpext")
    if not os.path.exists(kdumpext):
        sys.exit(f"bench_scale: no {kdumpext}; run with the venv's python (.venv/bin/python bench/bench_scale.py)")

    sys.path.insert(0, ROOT)
    from kdumpext.dump import sniff

    for d in dumps:
        out = subprocess.run([kdumpext, "triage", d.path, "--debug-dir", d.dir, "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"bench_scale: kdumpext triage {d.path} failed: {out.stderr.strip()[-2000:]}")
        report = json.loads(out.stdout)
        d.vmlinux = report["dump"]["vmlinux"]
        d.bucket = report["verdict"]["bucket"]
        d.kos = sorted(glob.glob(os.path.join(d.dir, "*.ko")))
        d.batch_dir = os.path.join(scratch, f"batch-{d.label}")
        shutil.rmtree(d.batch_dir, ignore_errors=True)
        os.makedirs(d.batch_dir)
        link = os.path.join(d.batch_dir, os.path.basename(d.path))
        try:
            os.link(d.path, link)
        except OSError:
            os.symlink(d.path, link)
        atexit.register(shutil.rmtree, d.batch_dir, True)  # a hard link would keep a deleted dump's gigabytes
        for warm in (d.vmlinux, d.path):  # warm the page cache: vmlinux and the dump, once
            with open(warm, "rb") as fb:
                while fb.read(1 << 24):
                    pass
        print(f"{d.label:<6} {d.path}  {_human(d.size)} ({d.size} bytes, {sniff(d.path)}), bucket {d.bucket}")
    if dumps[0].bucket != dumps[1].bucket:
        print(f"bench_scale: the two dumps' buckets differ ({dumps[0].bucket} / {dumps[1].bucket}): "
              "not the same crash, the ratios compare different work", file=sys.stderr)
    if dumps[1].size < BIG_FILE:
        print(f"bench_scale: the big dump is {_human(dumps[1].size)}, under the issue's 2 GB", file=sys.stderr)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {args.runs} alternating runs per "
          f"tool after a warm-up; KDUMPEXT_CACHE_DIR={cache}")

    crash_cmds = os.path.join(scratch, "crash-cmds")
    with open(crash_cmds, "w") as cf:
        cf.write("bt\nquit\n")

    def command(tool: str, d: Dump) -> Tuple[List[str], Callable[[Run], str], Optional[str]]:
        """The command line, a check of its output (why it failed, "" when fine), and a
        directory to empty after the run."""
        if tool == "triage":
            return ([kdumpext, "triage", d.path, "--debug-dir", d.dir],
                    lambda r: "" if r.rc == 0 and d.bucket in r.out else f"rc {r.rc}, no bucket {d.bucket}", None)
        if tool == "batch":
            results = tempfile.mkdtemp(prefix="batch-cache-", dir=scratch)
            return ([kdumpext, "batch", d.batch_dir, "--debug-dir", d.dir, "--jobs", "1", "--cache-dir", results,
                     "--format", "json"],
                    lambda r: "" if r.rc == 0 and d.bucket in r.out else f"rc {r.rc}, no bucket {d.bucket}", results)
        if tool == "gdb":
            return ([args.gdb, "-batch", "-nx", "-x", os.path.join(ROOT, "gdb-init.py"),
                     "-ex", f"kdump open {d.path} --debug-dir {d.dir}", "-ex", "bt"],
                    lambda r: "" if r.rc == 0 and f"{FAULT_FUNCTION} (" in r.out and "Traceback" not in r.out
                    else f"rc {r.rc}, no '#0 ... {FAULT_FUNCTION} (' frame in bt", None)
        if tool == "drgn":
            return ([sys.executable, "-c", _DRGN, d.path, d.vmlinux] + d.kos,
                    lambda r: "" if r.rc == 0 and FAULT_FUNCTION in r.out else f"rc {r.rc}, no {FAULT_FUNCTION}", None)
        return (["crash", "-s", d.vmlinux, d.path, "-i", crash_cmds],
                lambda r: "" if f"[exception RIP: {FAULT_FUNCTION}+" in r.out
                else f"rc {r.rc}, no [exception RIP: {FAULT_FUNCTION}+", None)

    def once(tool: str, d: Dump) -> Run:
        cmd, check, cleanup = command(tool, d)
        # crash reads commands from -i and then its stdin; give it the same on stdin so it never waits
        r = run(cmd, cache, stdin="quit\n" if tool == "crash" else None)
        if cleanup:
            r.left += du(cleanup)
            shutil.rmtree(cleanup, ignore_errors=True)
        why = check(r)
        if why:
            sys.exit(f"bench_scale: {tool} on the {d.label} dump failed ({why}):\n$ {' '.join(cmd)}\n{r.out[-3000:]}")
        return r

    results: Dict[str, Dict[str, List[Run]]] = {}
    for tool in tools:
        n = args.crash_runs if tool == "crash" and args.crash_runs is not None else args.runs
        first = {d.label: once(tool, d) for d in dumps}  # warm-up
        if args.show:
            for d in dumps:
                print(f"---- {tool} on {d.label}:\n{first[d.label].out.rstrip()}\n")
        results[tool] = {d.label: [] for d in dumps}
        for _ in range(n):
            for d in dumps:
                results[tool][d.label].append(once(tool, d))
        s, b = results[tool]["small"], results[tool]["big"]
        print(f"  {tool:<7} small {statistics.median(r.wall for r in s):7.2f} s   big {statistics.median(r.wall for r in b):7.2f} s",
              flush=True)

    med = statistics.median
    rows = []
    verdicts: List[Tuple[str, bool]] = []
    for tool in tools:
        s, b = results[tool]["small"], results[tool]["big"]
        ratio = med(y.wall / x.wall for x, y in zip(s, b))
        rss_s, rss_b = max(r.rss for r in s), max(r.rss for r in b)
        wr_s, wr_b = med(r.written for r in s), med(r.written for r in b)
        left_s, left_b = med(r.left for r in s), med(r.left for r in b)
        rows.append([tool, f"{med(r.wall for r in s):.2f}", f"{med(r.wall for r in b):.2f}", f"{ratio:.2f}x",
                     f"{rss_s / 2**20:.0f}", f"{rss_b / 2**20:.0f}", f"{rss_b / rss_s:.2f}x",
                     _human(wr_s), _human(wr_b), _human(left_s), _human(left_b)])
        if tool in ("gdb", "triage"):
            verdicts.append((f"{tool} big/small wall {ratio:.2f}x <= {BUDGET_RATIO}x", ratio <= BUDGET_RATIO))
        if tool == "gdb":
            worst = max(r.written for r in s + b)
            verdicts.append((f"kdump open + bt writes {_human(worst)} (most of any run) < 5 MiB", worst < BUDGET_OPEN_WRITES))
    from tabulate import tabulate

    print()
    print(f"small: {dumps[0].path} ({_human(dumps[0].size)})\nbig:   {dumps[1].path} ({_human(dumps[1].size)}, "
          f"{dumps[1].size / dumps[0].size:.0f}x the small file)")
    print(tabulate(rows, headers=["tool", "small s", "big s", "big/small", "small peak MiB", "big peak MiB", "peak ratio",
                                  "small written", "big written", "small left", "big left"],
                   tablefmt="github", disable_numparse=True))
    print("(wall: median; big/small: median of per-pair ratios; peak: memory of the process tree (PSS summed, or the "
          "largest process's peak RSS), most of any run; "
          "written: write_bytes of the tree, median; left: growth of kdumpext's cache / batch's result cache)")
    if dumps[1].size < BIG_FILE:
        verdicts.append((f"big dump is {_human(dumps[1].size)} >= 2 GB", False))
    print()
    for text, ok in verdicts:
        print(f"{'OK  ' if ok else 'OVER'}  {text}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"dumps": {d.label: {"path": d.path, "size": d.size, "bucket": d.bucket} for d in dumps},
                       "runs": {t: {k: [{"wall": r.wall, "rss": r.rss, "written": r.written, "left": r.left}
                                        for r in v] for k, v in per.items()} for t, per in results.items()},
                       "verdicts": [{"what": t, "ok": ok} for t, ok in verdicts]}, f, indent=1)
    return 0 if all(ok for _t, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
