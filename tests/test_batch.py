"""kdumpext batch: discovery, workers that hang or die, the cache, buckets, output formats, untouched inputs."""

from __future__ import annotations

import glob
import hashlib
import json
import lzma
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Tuple

import pytest

from conftest import need
from corpus import ARM64, BUILD, SAMPLES, arm64_cases, cases, unpacked_debug_dir

from kdumpext import batch
from kdumpext.batch import BatchResult, Cache, Item, Options, Skipped, discover, render, run_batch, summarise

os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
EXE = os.path.join(os.path.dirname(sys.executable), "kdumpext")

SEED_BUCKET = "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats"


# --- discovery ----------------------------------------------------------------------------


def _touch(path: str, data: bytes = b"") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def test_discover_layouts(tmp_path):
    t = str(tmp_path)
    for rel in ("var/crash/202601010101/dump.202601010101", "var/crash/202601010101/dmesg.202601010101",
                "var/crash/202601010202/dump.202601010202.xz", "var/crash/202601010202/dmesg.202601010202",
                "rhel/127.0.0.1-2026-01-02-03:04:05/vmcore", "rhel/127.0.0.1-2026-01-02-03:04:05/vmcore-dmesg.txt",
                "bare/vmcore.flat", "bare/vmcore-2", "logonly/202601030303/dmesg.202601030303",
                "other/notes.txt", "other/kexec_cmd", ".hidden/dump.1", "var/crash/kdump_lock"):
        _touch(os.path.join(t, rel))
    items = discover([t, os.path.join(t, "var")])  # the second root overlaps the first: taken once
    got = [(os.path.relpath(i.dump, t) if i.dump else None, os.path.relpath(i.dmesg, t) if i.dmesg else None)
           for i in items]
    assert got == [
        ("bare/vmcore-2", None),
        ("bare/vmcore.flat", None),
        (None, "logonly/202601030303/dmesg.202601030303"),
        ("rhel/127.0.0.1-2026-01-02-03:04:05/vmcore", "rhel/127.0.0.1-2026-01-02-03:04:05/vmcore-dmesg.txt"),
        ("var/crash/202601010101/dump.202601010101", "var/crash/202601010101/dmesg.202601010101"),
        ("var/crash/202601010202/dump.202601010202.xz", "var/crash/202601010202/dmesg.202601010202"),
    ]
    assert items[2].why_text  # a log with no dump is explained from its text
    one = discover([os.path.join(t, "var/crash/202601010101/dump.202601010101")])
    assert one[0].dmesg is not None and one[0].dmesg.endswith("dmesg.202601010101")
    with pytest.raises(batch.UsageError):
        discover([os.path.join(t, "nope")])


def test_crash_time_from_directory_names():
    assert batch._stamp_time("/var/crash/202601020304/dump.202601020304") == 1767323040.0  # 2026-01-02 03:04 UTC
    assert batch._stamp_time("/var/crash/127.0.0.1-2026-01-02-03:04:05/vmcore") == 1767323045.0
    assert batch._stamp_time("/tmp/x/vmcore") is None


# --- workers: timeouts, crashes, exceptions ----------------------------------------------------


def _row(item: Item, bucket: str) -> Dict[str, Any]:
    row = batch._error_row(item, "", "")
    row.update(status="ok", source="dump", error=None, error_kind=None, bucket=bucket, verdict="v", when=1.0)
    return row


def _mixed_worker(item: Item, opts: Options) -> Dict[str, Any]:
    """A worker (pickled by name into the fork server) that hangs, dies or raises on cue."""
    name = os.path.basename(item.path)
    if name == "dump.hang":
        time.sleep(600)
    if name == "dump.segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if name == "dump.raise":
        raise RuntimeError("boom")
    sys.stderr.write("a library's chatter\n")
    return _row(item, "null-deref:f:s.m")


def _quick_worker(item: Item, opts: Options) -> Dict[str, Any]:
    return _row(item, "null-deref:f:s.m")


def _fake_dumps(root: str, names: List[str]) -> List[Item]:
    items = []
    for n in names:
        path = os.path.join(root, "202601010101", n)
        _touch(path, b"KDUMP   " + b"\0" * 56)  # passes sniff(); the workers above never open it
        items.append(Item(path))
    return items


def test_hanging_and_crashing_workers_give_error_rows(tmp_path):
    items = _fake_dumps(str(tmp_path / "in"), ["dump.ok", "dump.hang", "dump.segv", "dump.raise", "dump.ok2"])
    cache = Cache(str(tmp_path / "cache"))
    t0 = time.monotonic()
    res = run_batch(items, Options(), cache, jobs=2, timeout=3, worker=_mixed_worker)
    assert time.monotonic() - t0 < 60
    by = {os.path.basename(r["dump"]): r for r in res.rows}
    assert len(res.rows) == 5 and res.analysed == 5
    assert by["dump.ok"]["status"] == "ok" and by["dump.ok2"]["status"] == "ok"
    assert by["dump.ok"]["stderr"] == "a library's chatter"
    assert by["dump.hang"]["error_kind"] == "Timeout" and "timed out after 3 s" in by["dump.hang"]["error"]
    assert by["dump.segv"]["error_kind"] == "WorkerDied" and "signal 11" in by["dump.segv"]["error"]
    assert by["dump.raise"]["error_kind"] == "InternalError" and "boom" in by["dump.raise"]["error"]
    # timeouts and dead workers are not cached: the next run tries them again
    again = run_batch(items, Options(), cache, jobs=2, timeout=30, worker=_quick_worker)
    assert (again.analysed, again.cached) == (2, 3)
    assert all(r["status"] == "ok" or r["error_kind"] == "InternalError" for r in again.rows)
    assert not [f for _d, _s, fs in os.walk(tmp_path / "cache") for f in fs if f.startswith(".tmp")]


def _group_alive(pgid: int) -> List[int]:
    """Processes of process group ``pgid`` still running (zombies waiting for init are not)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(pid))
    return out


_STUCK_WORKER = '''
"""A batch worker that is writing a cache entry when it gets stuck (tests/test_batch.py)."""
import os, time
from kdumpext import cache

def work(item, opts):
    def write(f):
        f.write(b"x" * 100000)
        f.flush()
        open(os.path.join(os.environ["STUCK_PIDS"], str(os.getpid())), "w").close()
        time.sleep(600)
    cache.Store("unpacked").fill(os.path.basename(item.path), "data", write)
    return {}
'''


def test_sigkilled_batch_leaves_no_worker_and_no_temp_file(tmp_path):
    """``kill -9`` of a batch: its fork server exits, and each worker, killed with it, leaves no temp file."""
    (tmp_path / "stuckworker.py").write_text(_STUCK_WORKER)
    pids = tmp_path / "pids"
    pids.mkdir()
    items = _fake_dumps(str(tmp_path / "in"), ["dump.1", "dump.2", "dump.3"])
    script = (f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
              "from kdumpext.batch import Item, Options, run_batch\nimport stuckworker\n"
              f"run_batch([Item(p) for p in {[i.path for i in items]!r}], Options(), jobs=2, timeout=600, "
              "worker=stuckworker.work)\n")
    env = dict(os.environ, STUCK_PIDS=str(pids), KDUMPEXT_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(os.listdir(pids)) < 2:
            time.sleep(0.05)
        assert len(os.listdir(pids)) == 2, "the workers did not start"
        workers = [int(p) for p in os.listdir(pids)]
        assert all(pid in _group_alive(proc.pid) for pid in workers)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _group_alive(proc.pid):
            time.sleep(0.05)
        assert _group_alive(proc.pid) == [], "processes of the killed batch are still running"
    finally:
        for pid in _group_alive(proc.pid):
            os.kill(pid, signal.SIGKILL)
    left = [os.path.relpath(os.path.join(d, f), tmp_path) for d, _s, fs in os.walk(tmp_path / "cache") for f in fs]
    assert [f for f in left if not f.endswith("/.meta")] == []


def test_stray_modules_in_the_current_directory(tmp_path):
    """A ``dis.py`` or ``inspect.py`` where the batch is run from is not imported in place of the standard library's."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for name in ("dis", "inspect", "selectors"):
        (cwd / f"{name}.py").write_text(f"raise RuntimeError('the stray {name}.py in the current directory')\n")
    items = _fake_dumps(str(cwd / "crash"), ["dump.1"])
    out = subprocess.run([EXE, "batch", "crash", "--no-cache", "--format", "json", "--jobs", "1"], cwd=str(cwd),
                         capture_output=True, text=True, timeout=300, env=_env(str(tmp_path)))
    assert out.returncode == 0, out.stderr
    assert "stray" not in out.stderr and "stray" not in out.stdout
    doc = json.loads(out.stdout)
    assert [r["dump"] for r in doc["rows"]] == [os.path.relpath(items[0].path, cwd)]
    assert doc["rows"][0]["status"] == "error" and doc["rows"][0]["error_kind"] != "WorkerDied"


# --- cache, summary and output on hand-made rows --------------------------------------------------


def test_cache_entry_follows_its_inputs(tmp_path):
    items = _fake_dumps(str(tmp_path / "in"), ["dump.a"])
    item, opts = items[0], Options(debug_dirs=[str(tmp_path / "debug")])
    os.makedirs(str(tmp_path / "debug"))
    cache = Cache(str(tmp_path / "cache"))
    cache.put(item, opts, _row(item, "b"))
    hit = Cache(cache.directory).get(item, opts)
    assert hit is not None and hit["bucket"] == "b"
    assert Cache(cache.directory).get(item, Options()) is None  # other options, other entry
    _touch(item.path, b"KDUMP   " + b"\0" * 100)  # the dump changed
    assert Cache(cache.directory).get(item, opts) is None
    cache.put(item, opts, _row(item, "b"))
    assert Cache(cache.directory).get(item, opts) is not None
    time.sleep(0.01)
    _touch(str(tmp_path / "debug" / "vmlinux"))  # debug info appeared where it is searched
    assert Cache(cache.directory).get(item, opts) is None


def test_summary_and_formats():
    rows = []
    for i, (bucket, when) in enumerate([("a:f:s.m", 30.0), ("b:g", 10.0), ("a:f:s.m", 20.0), ("", None)]):
        r = _row(Item(f"/c/{i}/dump.{i}"), bucket)
        r["when"] = when
        if not bucket:
            r.update(status="error", error="/c/3/dump.3: dump is truncated", error_kind="TruncatedDumpError")
        rows.append(r)
    rows[2]["status"] = "text"
    s = summarise(rows)
    assert [(b["bucket"], b["count"], b["first_seen"], b["last_seen"], b["example"], b["from_text"]) for b in s] == [
        ("a:f:s.m", 2, 20.0, 30.0, "/c/2/dump.2", 1), ("b:g", 1, 10.0, 10.0, "/c/1/dump.1", 0)]
    res = BatchResult(rows, [Skipped("/c/junk/vmcore.bak", "/c/junk/vmcore.bak: not a kernel crash dump")],
                      analysed=4)
    table = render(res, "table")
    assert "BUCKETS" in table and "a:f:s.m" in table and "(oops text)" in table
    assert "dump is truncated" in table and "not a kernel crash dump" in table
    assert "4 crashes, 2 buckets, 1 from oops text, 1 errors" in table
    md = render(res, "markdown")
    assert "## Buckets" in md and "| bucket" in md
    doc = json.loads(render(res, "json"))
    assert doc["schema"] == batch.BATCH_SCHEMA and len(doc["rows"]) == 4 and len(doc["buckets"]) == 2
    assert doc["not_dumps"] == [{"path": "/c/junk/vmcore.bak", "reason": "/c/junk/vmcore.bak: not a kernel crash dump"}]
    lines = [json.loads(x) for x in render(res, "jsonl").splitlines()]
    assert len(lines) == 5 and lines[-1]["status"] == "not-a-dump"


def test_table_fits_the_width():
    rows = []
    for i in range(3):
        r = _row(Item(f"/var/crash/api-spinlock/20261206182{i}/dump.20261206182{i}.xz"),
                 "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats")
        r.update(task="kworker/u16:3 [1234]", panic="BUG: kernel NULL pointer dereference, address: 0000000000000010",
                 site="scst_update_lat_stats+0x4c/0x1a0 [scst] (drivers/scst/scst_lib.c:4321)",
                 verdict="NULL dereference: dev->vdev_update_lat_stats read through dev = NULL, loaded from "
                         "cmd->dev (struct scst_cmd) at scst_lib.c:4318; dev was never set on this path",
                 release="6.12.0-kdx")
        rows.append(r)
    res = BatchResult(rows, [])
    wide = render(res, "table")
    assert max(len(line) for line in wide.splitlines()) > 200
    for width in (160, 120, 80):
        table = render(res, "table", width)
        assert max(len(line) for line in table.splitlines() if not line.startswith("3 crashes")) <= width, table
        assert "\u2026" in table and "dump.202612061820.xz" in table and "verdict" in table
    # what a reader scans for gives way last: columns are left out before the verdict is cut short
    assert rows[0]["verdict"][:38] in render(res, "table", 120)
    assert rows[0]["verdict"][:18] in render(res, "table", 80)
    # a path keeps its first component (the crash directory) and its end
    assert batch._cell("api-spinlock/202612061823/dump.202612061823.xz", 35, path=True) == \
        "api-spinlock/\u2026/dump.202612061823.xz"
    assert batch._cell("api-spinlock/202612061823/dump.202612061823.xz", 20, path=True) == \
        "\u2026ump.202612061823.xz"
    md = render(res, "markdown", 100)
    assert rows[0]["verdict"] in md and rows[0]["site"] in md  # markdown and JSON keep the full text
    assert batch._width(True) == int(os.environ.get("COLUMNS", "160") or 160) or "COLUMNS" in os.environ


def test_progress_names_paths_under_the_directory_given(tmp_path):
    root = tmp_path / "crashes"
    (root / "api-spinlock" / "202612061823").mkdir(parents=True)
    bar = batch._Progress(1, False, [str(root)])
    assert bar.shown(str(root / "api-spinlock/202612061823/dump.202612061823.xz")) == \
        "api-spinlock/202612061823/dump.202612061823.xz"
    assert bar.shown("/elsewhere/vmcore") == "/elsewhere/vmcore"


# --- a real tree: copies of sample dumps, a cut one, one with no vmlinux, a log alone, junk ---------------


def _sample(scenario: str) -> Tuple[str, str]:
    dumps = glob.glob(os.path.join(SAMPLES, scenario, "*", "dump.*"))
    logs = glob.glob(os.path.join(SAMPLES, scenario, "*", "dmesg.*"))
    need(len(dumps) == 1 and len(logs) == 1, f"sample-dumps/{scenario}/ has no dump (run sample-dumps/generate)")
    return dumps[0], logs[0]


def _need_corpus() -> None:
    need(all(os.path.isfile(os.path.join(BUILD, n)) and os.path.getsize(os.path.join(BUILD, n)) > 0
             for n in ("vmlinux.xz", "scst.ko.xz", "kdx.ko.xz")),
         "sample-dumps/build/ has no vmlinux.xz and modules (run sample-dumps/generate)")


def _link_debug(d: str) -> None:
    """vmlinux and the modules beside a dump, as symlinks to their unpacked copies in the cache."""
    for name in os.listdir(unpacked_debug_dir()):
        os.symlink(os.path.realpath(os.path.join(unpacked_debug_dir(), name)), os.path.join(d, name))


def _crash_dir(root: str, rel: str, scenario: str, dump_name: str = "", log_name: str = "", debug: bool = True,
               cut: float = 0.0, dump: bool = True) -> None:
    src_dump, src_log = _sample(scenario)
    d = os.path.join(root, rel)
    os.makedirs(d, exist_ok=True)
    stamp = os.path.basename(rel)
    if dump:
        # a sample dump committed xz-compressed keeps its suffix, as kdump-tools users' .xz copies do;
        # one to be cut is unpacked first (the dump is what is cut, not its compressed copy)
        unpack = bool(cut) and src_dump.endswith(".xz")
        suffix = ".xz" if src_dump.endswith(".xz") and not dump_name and not unpack else ""
        dst = os.path.join(d, dump_name or f"dump.{stamp}{suffix}")
        if unpack:
            with lzma.open(src_dump) as fi, open(dst, "wb") as fo:
                shutil.copyfileobj(fi, fo)
        else:
            shutil.copyfile(src_dump, dst)
        if cut:
            with open(dst, "r+b") as f:
                f.truncate(int(os.path.getsize(dst) * cut))
    shutil.copyfile(src_log, os.path.join(d, log_name or f"dmesg.{stamp}"))
    if debug:
        _link_debug(d)


def _snapshot(root: str) -> Dict[str, str]:
    """Every file under ``root``: sha256 of a regular file, target of a symlink."""
    out = {}
    for d, _dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            if os.path.islink(p):
                out[p] = "-> " + os.readlink(p)
            else:
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                st = os.stat(p)
                out[p] = f"{h.hexdigest()} {st.st_size} {st.st_mtime_ns}"
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    _need_corpus()
    root = str(tmp_path_factory.mktemp("crash-tree"))
    _crash_dir(root, "kdump/202601010101", "scst-null-dev")
    _crash_dir(root, "kdump/202601010202", "null-write")
    _crash_dir(root, "kdump/202601010303", "err-ptr", cut=0.6)  # a cut copy: explained from its dmesg
    _crash_dir(root, "rhel/127.0.0.1-2026-01-02-03:04:05", "scst-null-dev-flat", "vmcore", "vmcore-dmesg.txt")
    seed_elf, _log = _sample("scst-null-dev-elf")
    os.makedirs(os.path.join(root, "bare"))
    shutil.copyfile(seed_elf, os.path.join(root, "bare", "vmcore.xz"))
    _link_debug(os.path.join(root, "bare"))
    _crash_dir(root, "nodebug/202601020101", "null-array-slot", debug=False)  # none beside it: the tree has some
    _crash_dir(root, "logonly/202601030303", "list-poison", dump=False)  # a crash dir with only dmesg
    _touch(os.path.join(root, "junk", "notes.txt"), b"not a dump, not named like one\n")
    _touch(os.path.join(root, "junk", "vmcore.bak"), os.urandom(4096))
    _touch(os.path.join(root, "junk", "dump.txt"), b"this is text\n")
    _touch(os.path.join(root, "junk", "dump.empty"))
    return root


def _env(tmp: str) -> Dict[str, str]:
    env = dict(os.environ, KDUMPEXT_CACHE_DIR=os.path.join(tmp, "xdg"))  # .xz dumps unpack there
    env.pop("KDUMPEXT_DEBUG_PATH", None)
    return env


def _batch(args: List[str], env: Dict[str, str], timeout: int = 600) -> Tuple[Dict[str, Any], float]:
    t0 = time.monotonic()
    out = subprocess.run([EXE, "batch", *args, "--format", "json"], capture_output=True, text=True, env=env,
                         timeout=timeout)
    took = time.monotonic() - t0
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), took


def _rel(doc: Dict[str, Any], root: str) -> Dict[str, Dict[str, Any]]:
    return {os.path.relpath(r["dump"] or r["dmesg"], root): r for r in doc["rows"]}


_TREE_ROWS = {
    "kdump/202601010101/dump.202601010101": ("ok", SEED_BUCKET),
    "kdump/202601010202/dump.202601010202": ("ok", "null-deref:kdx_flow_set_error:kdx_owner.last_error"),
    "kdump/202601010303/dump.202601010303": ("text", "err-ptr:kdx_attach:kdx_device.irq"),
    "rhel/127.0.0.1-2026-01-02-03:04:05/vmcore": ("ok", SEED_BUCKET),
    "bare/vmcore.xz": ("ok", SEED_BUCKET),
    # no debug info beside it, but the tree given to batch is searched too (build-ids decide)
    "nodebug/202601020101/dump.202601020101": ("ok", "null-deref:kdx_ring_slot_len:kdx_buf.len"),
    "logonly/202601030303/dmesg.202601030303": ("text", "list-poison:kdx_req_next_tag:kdx_req.tag"),
}


def test_tree_rows_buckets_cache_and_untouched_inputs(tree, tmp_path):
    env = _env(str(tmp_path))
    cache = str(tmp_path / "cache")
    before = _snapshot(tree)
    doc, first = _batch([tree, "--cache-dir", cache, "--jobs", "2"], env)
    assert doc["schema"] == batch.BATCH_SCHEMA
    rows = _rel(doc, tree)
    assert {k: (r["status"], r["bucket"]) for k, r in rows.items()} == _TREE_ROWS
    for r in doc["rows"]:
        t = r["triage"]
        assert t["schema"] == "kdumpext.triage/1"
        assert t["bucket"] == r["bucket"] == t["verdict"]["bucket"]
        assert (t["dump"]["format"] == "oops text") == (r["status"] == "text")
        if r["status"] == "text":
            assert t["warnings"][0].startswith("explained from the kernel log text")
    # dump.check_complete() says "truncated"; if the cut falls where it cannot tell, the dump
    # opens hollow and the batch says so: either way the row comes from the dmesg
    why = rows["kdump/202601010303/dump.202601010303"]["triage"]["warnings"][0]
    assert "truncated" in why or "no crash context" in why, why
    assert rows["rhel/127.0.0.1-2026-01-02-03:04:05/vmcore"]["when_from"] == "crash time" or \
        rows["rhel/127.0.0.1-2026-01-02-03:04:05/vmcore"]["when"] == 1767323045.0
    buckets = {b["bucket"]: b["count"] for b in doc["buckets"]}
    assert buckets[SEED_BUCKET] == 3 and len(buckets) == 5 and sum(buckets.values()) == 7
    assert sorted(os.path.relpath(n["path"], tree) for n in doc["not_dumps"]) == [
        "junk/dump.empty", "junk/dump.txt", "junk/vmcore.bak"]
    assert (doc["analysed"], doc["cached"]) == (7, 0)
    assert _snapshot(tree) == before  # nothing in the inputs changed, nothing was added

    again, second = _batch([tree, "--cache-dir", cache, "--jobs", "2"], env)
    assert (again["analysed"], again["cached"]) == (0, 7)
    strip = lambda d: [{k: v for k, v in r.items() if k != "cached"} for r in d["rows"]]  # noqa: E731
    assert strip(again) == strip(doc)
    assert all(r["cached"] for r in again["rows"])
    assert second < first / 3, (first, second)
    assert _snapshot(tree) == before


def test_dump_without_vmlinux_anywhere(tmp_path):
    """No vmlinux beside it, in the tree or on the search path: the row comes from the dmesg."""
    _need_corpus()
    root = str(tmp_path / "in")
    _crash_dir(root, "202601020101", "null-array-slot", debug=False)
    doc, _ = _batch([root, "--no-cache"], _env(str(tmp_path)))
    assert [(r["status"], r["bucket"]) for r in doc["rows"]] == [("text", "null-deref:kdx_ring_slot_len")]
    assert doc["rows"][0]["triage"]["verdict"]["undecided"].endswith("cannot be named from the text alone")


def test_cache_reanalyses_only_new_and_changed(tmp_path):
    _need_corpus()
    root = str(tmp_path / "in")
    _crash_dir(root, "202601020101", "null-array-slot", debug=False)
    env, cache = _env(str(tmp_path)), str(tmp_path / "cache")
    doc, _ = _batch([root, "--cache-dir", cache], env)
    assert [(r["status"], r["bucket"]) for r in doc["rows"]] == [("text", "null-deref:kdx_ring_slot_len")]
    assert (doc["analysed"], doc["cached"]) == (1, 0)
    doc, _ = _batch([root, "--cache-dir", cache], env)
    assert (doc["analysed"], doc["cached"]) == (0, 1)
    # a new crash, with debug info beside it: the tree now has a vmlinux, so the first dump,
    # whose search path changed, is redone and now whole
    _crash_dir(root, "202601020202", "null-inlined")
    doc, _ = _batch([root, "--cache-dir", cache], env)
    assert (doc["analysed"], doc["cached"]) == (2, 0)
    assert [(r["status"], r["bucket"]) for r in doc["rows"]] == [
        ("ok", "null-deref:kdx_ring_slot_len:kdx_buf.len"),
        ("ok", "null-deref:kdx_conn_arm_timer:kdx_session.timeout_ms")]
    _link_debug(os.path.join(root, "202601020101"))  # debug info dropped beside one dump: only it is redone
    doc, _ = _batch([root, "--cache-dir", cache], env)
    assert (doc["analysed"], doc["cached"]) == (1, 1)
    doc, _ = _batch([root, "--no-cache"], env)
    assert (doc["analysed"], doc["cached"]) == (2, 0)


def test_ctrl_c_keeps_finished_results(tree, tmp_path):
    env, cache = _env(str(tmp_path)), str(tmp_path / "cache")
    proc = subprocess.Popen([EXE, "batch", tree, "--cache-dir", cache, "--jobs", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not glob.glob(os.path.join(cache, "*", "entry.json")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = proc.communicate(timeout=60)
    done = len(glob.glob(os.path.join(cache, "*", "entry.json")))
    assert proc.returncode == 130, err
    assert "INTERRUPTED" in out and "interrupted" in err
    assert "Traceback" not in err
    assert 1 <= done < 7
    for _ in range(100):  # no worker left behind
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("processes of the interrupted batch are still running")
    doc, _ = _batch([tree, "--cache-dir", cache], env)
    assert (doc["analysed"], doc["cached"]) == (7 - done, done)


# --- the committed corpus ------------------------------------------------------------------------


def test_sample_dumps_one_bucket_per_bug(tmp_path):
    """``kdumpext batch sample-dumps/``: every dump explained, the seed's three formats in one bucket,
    and each arm64 dump in the bucket of its x86-64 twin (the same bug on another architecture)."""
    _need_corpus()
    x86 = sorted(glob.glob(os.path.join(SAMPLES, "*", "*", "dump.*")))
    arm = sorted(glob.glob(os.path.join(ARM64, "*", "*", "dump.*")))
    need(len(x86) >= 3, "sample-dumps/ has no dumps (run sample-dumps/generate)")
    before = _snapshot(SAMPLES)
    doc, _ = _batch([SAMPLES, "--debug-dir", BUILD, "--no-cache"], _env(str(tmp_path)))
    assert _snapshot(SAMPLES) == before
    assert doc["not_dumps"] == []
    assert sorted(r["dump"] for r in doc["rows"]) == sorted(x86 + arm)
    assert all(r["status"] == "ok" for r in doc["rows"]), [r["error"] for r in doc["rows"]]

    def scenario(r):
        return os.path.basename(os.path.dirname(os.path.dirname(r["dump"])))

    by_scenario = {scenario(r): r for r in doc["rows"] if r["dump"] in x86}
    seed = {by_scenario[s]["bucket"] for s in ("scst-null-dev", "scst-null-dev-elf", "scst-null-dev-flat")
            if s in by_scenario}
    assert seed == {SEED_BUCKET}
    # one bucket per distinct bug: its faulting site, and where the bad value came from (three
    # NULL locks taken in _raw_spin_lock_irqsave() are three bugs of three callers)
    others = [(r["bucket"], r["origin_site"]) for s, r in by_scenario.items() if not s.startswith("scst-null-dev")]
    assert len(set(others)) == len(others)
    arm_rows = {scenario(r): r for r in doc["rows"] if r["dump"] in arm}
    for c in arm64_cases():
        twin = by_scenario.get(c.scenario)
        assert arm_rows[c.scenario]["bucket"] == c.expected["bucket"] == (twin or arm_rows[c.scenario])["bucket"]
    # the arm64-only scenarios (kdxobj: no x86-64 twin) add their buckets; obj-one-bad and
    # obj-all-bad fault on the same load and share one: only the sibling count tells one bad
    # object from an initialisation bug
    arm_only = {arm_rows[s]["bucket"] for s in arm_rows if s not in by_scenario}
    assert len(arm_only) == len({s for s in arm_rows if s not in by_scenario}) - ({"obj-one-bad", "obj-all-bad"} <= set(arm_rows))
    assert len(doc["buckets"]) == len(others) + 1 + len(arm_only - {r["bucket"] for r in by_scenario.values()})
    for c in cases():
        row = by_scenario[c.scenario]
        if "bucket" in c.expected:
            assert row["bucket"] == c.expected["bucket"], c.scenario
        task = c.expected.get("task") or {}
        for key in ("comm", "pid", "cpu"):
            if key in task:
                assert row["triage"]["task"][key] == task[key], (c.scenario, key)
