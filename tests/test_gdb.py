"""Tests for the gdb front-end: stock gdb with gdb-init.py (kdump open over the gdb server), user errors, the loader."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Set

import pytest

from conftest import need, need_program
from corpus import BUILD, ROOT, SAMPLES, case, unpacked_debug_dir

GDB_INIT = os.path.join(ROOT, "gdb-init.py")
#: Classes whose bad pointer is NULL: `p POINTER` must print 0x0.
NULL_CLASSES = ("null-deref", "null-fn-call")

def _gdb(*commands: str, env: Optional[Dict[str, str]] = None, init: str = GDB_INIT,
         timeout: int = 300) -> subprocess.CompletedProcess:
    """``gdb -batch -nx -x gdb-init.py -ex CMD...``: stdout and stderr together, as a user sees them."""
    gdb = need_program("gdb")
    args = [gdb, "-batch", "-nx", "-x", init]
    for c in commands:
        args += ["-ex", c]
    e = {k: v for k, v in os.environ.items() if k != "KDUMPEXT_DEBUG_PATH"}
    e.update(env or {})
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=e,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _bt_functions(out: str) -> List[str]:
    """Function names of gdb's ``bt`` lines, innermost first (``??`` for none)."""
    names = []
    for line in out.splitlines():
        m = re.match(r"#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S+) \(", line)
        if m:
            names.append(m.group(2))
    return names


def _is_subsequence(want: Sequence[str], have: Sequence[str]) -> bool:
    it = iter(have)
    return all(any(w == h or _same_symbol(w, h) for h in it) for w in want)


_ADDR: Dict[str, Set[int]] = {}


def _same_symbol(a: str, b: str) -> bool:
    """Aliases in vmlinux (memcpy and __memcpy): gdb and drgn may each name another."""
    if not _ADDR:
        from elftools.elf.elffile import ELFFile

        with open(os.path.join(unpacked_debug_dir(), "vmlinux"), "rb") as f:
            for sym in ELFFile(f).get_section_by_name(".symtab").iter_symbols():
                if sym["st_info"]["type"] == "STT_FUNC":
                    _ADDR.setdefault(sym.name, set()).add(sym["st_value"])
    return bool(_ADDR.get(a, set()) & _ADDR.get(b, set()))


def _select_function(name: str) -> List[str]:
    """gdb commands selecting the innermost frame of function ``name``, inlined frames counted
    (gdb's ``frame function`` takes the frame of the pc's containing function, which for a pc
    in inlined code is the innermost inline frame)."""
    step = f'python _kf = _kf if _kf is None or _kf.name() == "{name}" else _kf.older()'
    return ["python _kf = gdb.newest_frame()"] + [step] * 24 + ["python _kf.select() if _kf else None", "frame"]


def _seed_dump() -> str:
    dumps = sorted(glob.glob(os.path.join(SAMPLES, "scst-null-dev", "*", "dump.*")))
    need(len(dumps) == 1, "sample-dumps/scst-null-dev/<stamp>/dump.<stamp> is missing (sample-dumps/generate)")
    need(os.path.exists(os.path.join(BUILD, "vmlinux.xz")), "sample-dumps/build/vmlinux.xz is missing")
    return dumps[0]


# -- every sample dump: tests/test_gdbserver.py runs gdb over the server on each, with these helpers -------


# -- the same verdict as the CLI ------------------------------------------------------------------------


def test_same_verdict_as_cli() -> None:
    """`kdump fault` in gdb prints exactly what the engine's render_verdict() gives outside gdb."""
    dump = _seed_dump()
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
    from kdumpext.report import render_text, render_verdict
    from kdumpext.triage import triage

    report = triage(dump, debug_dirs=[BUILD])
    p = _gdb(f"kdump open {dump} --debug-dir {BUILD}", "echo @@@\\n", "kdump fault", "echo @@@\\n", "kdump triage",
             "echo @@@\\n")
    assert p.returncode == 0, p.stdout
    _head, fault, full, _exit = p.stdout.split("@@@\n")  # (gdb detaching from the server at exit)
    assert fault.rstrip("\n") == render_verdict(report.verdict)
    assert full.rstrip("\n") == render_text(report)


def test_gdb_commands_on_seed() -> None:
    """explain, tasks, $kdump_task, frame N / info locals / p *cmd on the seed dump."""
    dump = _seed_dump()
    sep = "echo @@@\\n"
    p = _gdb(f"kdump open {dump} --debug-dir {BUILD}", sep,
             "kdump explain cmd->dev + 0x240", sep,
             "kdump explain cmd", sep,
             "kdump tasks", sep,
             "p $kdump_task(1)->comm", sep,
             "p *cmd", sep,
             "frame 1", "info locals", sep,
             "p $kdump_task(99999)", sep,
             "kdump explain no_such_symbol")
    # (gdb -batch exits 1 because the last command failed, as intended)
    _open, null, cmd, tasks, comm, star, frame1, nopid, nosym = p.stdout.split("@@@\n")
    assert "NULL + 0x240" in null and "struct scst_device +0x240: vdev_update_lat_stats" in null
    assert "SLAB     kmalloc-" in cmd and "MEMBER   struct scst_cmd +0x0: cmd_list_entry.next" in cmd
    # the same text as drgn's `explain` for the same address: both print the engine's render_address()
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
    from kdumpext.drgn import explain_address
    from kdumpext.dump import open_dump
    from kdumpext.identify import identify, render_address

    prog = open_dump(dump, debug_dirs=[BUILD]).prog
    address = int(prog.crashed_thread().stack_trace()[0]["cmd"].value_())
    assert null.rstrip("\n") == str(explain_address(prog, "0+0x240", type="struct scst_device")) == \
        render_address(identify(prog, 0x240, 0, 0x240, type="struct scst_device"))
    assert cmd.rstrip("\n") == str(explain_address(prog, f"{address:x}+0", type="struct scst_cmd")) == \
        render_address(identify(prog, address, address, 0, type="struct scst_cmd"))
    assert re.search(r"^>\s*\d+\s+scstd30\s", tasks, re.M), tasks
    assert '"init"' in comm or '"swapper' in comm
    assert "dev = 0x0" in star
    assert "scst_finish_cmd" in frame1
    assert nopid.strip() == "no task with pid 99999 in the dump"
    assert nosym.strip().startswith("cannot evaluate 'no_such_symbol'")


# -- user errors: one line, no traceback ------------------------------------------------------------------


USAGE_OPEN = "kdump open DUMP [VMLINUX] [--vmlinux PATH] [--debug-dir DIR]... [-v]"


@pytest.mark.parametrize("command, message", [
    ("kdump triage", f"no dump is open: {USAGE_OPEN}"),
    ("kdump open", f"usage: {USAGE_OPEN}"),
    ("kdump open /nonexistent/dump", "/nonexistent/dump: No such file or directory"),
    ("kdump open a b c", f"unrecognized arguments: c; usage: {USAGE_OPEN}"),
    ("kdump open x --frobnicate", f"unrecognized arguments: --frobnicate; usage: {USAGE_OPEN}"),
    ("kdump open x --debug-dir", f"argument --debug-dir: expected one argument; usage: {USAGE_OPEN}"),
    ("kdump open x v --vmlinux w", f"the vmlinux given twice (v, --vmlinux w); usage: {USAGE_OPEN}"),
    (f"kdump open {GDB_INIT}", f"{GDB_INIT}: not a kernel crash dump"),
    ("kdump open /nonexistent/dump --debug-dir /nonexistent/dir", "/nonexistent/dump: No such file or directory"),
    (f"kdump open {GDB_INIT} --vmlinux /nonexistent/vmlinux", f"{GDB_INIT}: not a kernel crash dump"),
    ("p $kdump_task(1)", f"no dump is open: {USAGE_OPEN}"),
])
def test_user_errors(command: str, message: str) -> None:
    p = _gdb(command, "echo still-running\\n")
    lines = [line for line in p.stdout.splitlines() if not line.startswith("kdumpext loaded")]
    # in -batch mode an error stops nothing after it in -ex order, but is printed as one line
    assert lines[0] == message, p.stdout
    assert "Traceback" not in p.stdout and "Python Exception" not in p.stdout
    assert lines[-1] == "still-running"


def _source_line(path: str, line: int) -> str:
    with open(path) as f:
        return f.read().splitlines()[line - 1].strip()


def test_open_positional_vmlinux_quiet_with_sources() -> None:
    """`kdump open DUMP VMLINUX`: the modules beside that vmlinux are loaded, the open says what it
    loaded in a few lines (no add-symbol-file flood), and gdb shows the module's source lines."""
    dump = _seed_dump()
    scst_c = os.path.join(SAMPLES, "modules", "scst", "scst.c")
    need(os.path.exists(scst_c), "sample-dumps/modules/scst/scst.c is missing")
    want = _source_line(scst_c, 63)  # scst_update_lat_stats' faulting line (expected.json: scst.c:63)
    sep = "echo @@@\\n"
    p = _gdb(f"kdump open {dump} {os.path.join(BUILD, 'vmlinux.xz')}", sep, "frame 0", sep, "list *$pc", sep,
             "bt 3", sep, "show pagination")
    assert p.returncode == 0, p.stdout
    opened, frame0, listing, bt, pagination = p.stdout.split("@@@\n")
    summary = [line for line in opened.splitlines() if line.startswith("kdump: ")]
    assert "add-symbol-file" not in opened and "symbol-file" not in opened, opened
    assert 4 <= len(summary) <= 6, opened
    assert any(line.startswith("kdump: vmlinux ") for line in summary), opened
    assert "kdump: 2 modules with debug info (kdx, scst)" in summary, opened
    assert any(re.match(r"kdump: \d+ threads, the crashed task first", line) for line in summary), opened
    assert f"-> {SAMPLES}" in opened  # the sources, found under the build dir's parent
    assert "VERDICT  cmd->dev is NULL" in opened
    assert want and want in frame0 and want in listing, frame0 + listing
    assert re.search(r"^63\s+" + re.escape(want), listing, re.M), listing
    assert "scst_update_lat_stats" in bt
    assert "pagination is on" in pagination  # turned off only while kdump open ran


def test_open_verbose_and_vmlinux_option() -> None:
    """`kdump open DUMP --vmlinux V -v`: the same as the positional vmlinux, every gdb command shown."""
    dump = _seed_dump()
    p = _gdb(f"kdump open {dump} --vmlinux {os.path.join(BUILD, 'vmlinux.xz')} -v", "echo @@@\\n", "kdump open --help")
    assert p.returncode == 0, p.stdout
    opened, helptext = p.stdout.split("@@@\n")
    assert sum(line.startswith("kdump: add-symbol-file ") for line in opened.splitlines()) == 2, opened
    assert re.search(r"^kdump: symbol-file -o 0x", opened, re.M)
    # the server is started first, on a Unix socket in a private directory, then gdb connects to it
    started = re.search(r"^kdump: started env PYTHONPATH=\S+ \S+python\S* (-P )?-m kdumpext.cli gdbserver .* "
                        r"--socket (\S+/kdumpext-gdb-\w+/gdbserver)$", opened, re.M)
    assert started, opened
    assert re.search(rf"^kdump: target remote {re.escape(started.group(2))}$", opened, re.M), opened
    assert not os.path.exists(os.path.dirname(started.group(2)))  # removed once gdb was connected
    assert "core-file" not in opened
    assert "kdump: set substitute-path " in opened
    assert helptext.startswith(f"usage: {USAGE_OPEN}") and "--verbose" in helptext and "KDUMPEXT_DEBUG_PATH" in helptext


def _disk_bytes(root: str) -> int:
    """Bytes the files under ``root`` occupy on disk (a sparse file counts what it really holds)."""
    total = 0
    for d, _dirs, files in os.walk(root):
        for f in files:
            try:
                total += os.lstat(os.path.join(d, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def test_open_writes_nothing_large(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`kdump open` reads the dump through the server: under 5 MB written to the cache, nothing
    beside the dump (the debug files were unpacked before, by another command)."""
    dump = _seed_dump()
    env = {"KDUMPEXT_CACHE_DIR": str(tmp_path / "cache")}
    warm = subprocess.run([sys.executable, "-m", "kdumpext.cli", "gdbserver", dump, "--debug-dir", BUILD,
                           "--gdb-commands"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})
    assert warm.returncode == 0, warm.stderr
    before, beside = _disk_bytes(str(tmp_path)), sorted(os.listdir(os.path.dirname(dump)))
    p = _gdb(f"kdump open {dump} --debug-dir {BUILD}", "echo @@@\\n", "bt 1", env=env)
    assert p.returncode == 0 and "scst_update_lat_stats" in p.stdout.split("@@@")[1], p.stdout
    written = _disk_bytes(str(tmp_path)) - before
    assert written < 5 << 20, f"kdump open wrote {written} bytes under {tmp_path}"
    assert sorted(os.listdir(os.path.dirname(dump))) == beside


def _servers(mark: str) -> List[int]:
    """Pids of the kdumpext gdb servers started by a gdb whose environment holds ``mark``."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if b"gdbserver" in cmdline and b"KDUMPEXT_TEST_MARK=" + mark.encode() in environ.split(b"\0"):
            pids.append(int(pid))
    return pids


def _gone(mark: str, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while _servers(mark):
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


#: Prints ``servers=N``, the kdumpext gdb servers of this gdb (sourced in gdb, marked by KDUMPEXT_TEST_MARK).
_COUNT_SERVERS = """
import os
def _kdumpext_servers(mark):
    n = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f, open(f"/proc/{pid}/environ", "rb") as e:
                n += b"gdbserver" in f.read() and b"KDUMPEXT_TEST_MARK=" + mark in e.read().split(bytes(1))
        except OSError:
            pass
    return n
print("servers=%d" % _kdumpext_servers(os.environ["KDUMPEXT_TEST_MARK"].encode()))
"""


def test_second_open_replaces_the_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A second `kdump open` of another dump in the same gdb: the first server goes, the new
    dump's threads, backtrace and verdict are there; after gdb no server is left."""
    dump = _seed_dump()
    other = case("lkdtm-warning").dump
    mark = f"second-open-{os.getpid()}-{time.monotonic_ns()}"
    count = tmp_path / "count.py"
    count.write_text(_COUNT_SERVERS)
    sep = "echo @@@\\n"
    p = _gdb(f"kdump open {dump} --debug-dir {BUILD}", sep, f"source {count}", "bt 1", sep,
             f"kdump open {other} --debug-dir {BUILD}", sep, f"source {count}", "bt", "info threads 1", "kdump fault",
             env={"KDUMPEXT_TEST_MARK": mark})
    assert p.returncode == 0, p.stdout
    _first, one, _second, two = p.stdout.split("@@@\n")
    assert "servers=1" in one and "scst_update_lat_stats" in one, one
    assert "servers=1" in two, two  # the first server exited when gdb disconnected
    assert "lkdtm_WARNING" in _bt_functions(two) and "scst_update_lat_stats" not in two, two
    assert re.search(r'^\* 1 +Thread 1 "init" \(pid 1, CPU 0, crashed\)', two, re.M), two
    assert "BUCKET   warning:lkdtm_WARNING" in two
    assert _gone(mark), f"kdumpext gdbserver left running: {_servers(mark)}"


def test_quit_in_a_terminal() -> None:
    """Interactive gdb: `quit` after `kdump open` asks nothing (the dump is read-only: detaching
    loses nothing), gdb and the server exit."""
    import pty
    import select

    dump = _seed_dump()
    gdb = need_program("gdb")
    mark = f"quit-{os.getpid()}-{time.monotonic_ns()}"
    env = {k: v for k, v in os.environ.items() if k != "KDUMPEXT_DEBUG_PATH"}
    env.update(KDUMPEXT_TEST_MARK=mark, TERM="dumb")
    master, slave = pty.openpty()
    proc = subprocess.Popen([gdb, "-q", "-nx", "-x", GDB_INIT, "-ex", f"kdump open {dump} --debug-dir {BUILD}"],
                            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""

    def read_until(what: bytes, seconds: float) -> bool:
        nonlocal out
        end = time.monotonic() + seconds
        while what not in out and time.monotonic() < end:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    return what in out
                if not data:
                    break
                out += data
        return what in out

    try:
        assert read_until(b"BUCKET   null-deref", 120) and read_until(b"(gdb) ", 30), out.decode(errors="replace")
        assert len(_servers(mark)) == 1
        at_quit = len(out)
        os.write(master, b"quit\n")
        assert proc.wait(20) == 0
        read_until(b"\0", 0.2)
        said = out[at_quit:].decode(errors="replace")
        assert "Quit anyway?" not in said and "detached" not in said and "Detaching" not in said, said
        assert _gone(mark), f"kdumpext gdbserver left running: {_servers(mark)}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_wrong_vmlinux_is_one_line() -> None:
    dump = _seed_dump()
    p = _gdb(f"kdump open {dump} {os.path.join(BUILD, 'scst.ko.xz')}")
    lines = [line for line in p.stdout.splitlines() if not line.startswith("kdumpext loaded")]
    assert len(lines) == 1 and "build-id" in lines[0], p.stdout


def test_plain_functions_in_gdb(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The commands' plain functions raise KdumpextError subclasses (checked inside gdb's Python)."""
    script = tmp_path / "check.py"
    script.write_text("""
import kdumpext.gdb as g
from kdumpext.errors import UsageError
a = g.parse_open_args(["d", "v", "--debug-dir", "x", "--debug-dir=y"])
assert (a.dump, a.vmlinux, a.debug_dirs, a.verbose) == ("d", "v", ["x", "y"], False)
a = g.parse_open_args(["--debug-dir", "x", "d", "--vmlinux", "v", "-v"])
assert (a.dump, a.vmlinux, a.debug_dirs, a.verbose) == ("d", "v", ["x"], True)
a = g.parse_open_args(["d", "--debug-dir", "x", "v"])  # the positional vmlinux after an option
assert (a.dump, a.vmlinux, a.debug_dirs) == ("d", "v", ["x"])
assert g.parse_open_args(["--help"]).help
assert g.split_offset("cmd->dev + 0x240") == ("cmd->dev", 0x240)
assert g.split_offset("p-8") == ("p", -8)
assert g.split_offset("$rax") == ("$rax", 0)
for argv in ([], ["a", "b", "c"], ["--debug-dir"], ["d", "--bogus"], ["d", "v", "--vmlinux", "w"]):
    try:
        g.parse_open_args(argv)
    except UsageError:
        pass
    else:
        raise AssertionError(argv)
try:
    g.session()
except UsageError as e:
    assert str(e).startswith("no dump is open")
print("all-ok")
""")
    p = _gdb(f"source {script}")
    assert "all-ok" in p.stdout, p.stdout


# -- gdb-init.py: help, apropos, and a missing dependency ----------------------------------------------------


def test_help_and_apropos() -> None:
    p = _gdb("help kdump", "apropos kdump")
    for sub in ("open", "triage", "fault", "explain", "tasks"):
        assert re.search(rf"^kdump {sub} -- \S", p.stdout, re.M), p.stdout
    assert "function kdump_task -- " in p.stdout


def test_loader_names_what_is_missing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """gdb-init.py away from a checkout and any venv: one line saying what to install."""
    lone = tmp_path / "gdb-init.py"
    shutil.copy(GDB_INIT, lone)
    env = {"HOME": str(tmp_path), "KDUMPEXT_VENV": "", "VIRTUAL_ENV": "", "PYTHONNOUSERSITE": "1"}
    p = _gdb("kdump triage", init=str(lone), env=env)
    first = p.stdout.splitlines()[0]
    assert first.startswith("kdumpext: gdb's Python") and "cannot import kdumpext" in first, p.stdout
    assert "pip install" in first and "--user" not in first  # Debian 12 refuses pip --user (PEP 668)
    assert "KDUMPEXT_VENV=" in first and "-m venv" in first
    assert "Traceback" not in p.stdout
    assert 'Undefined command: "kdump"' in p.stdout  # nothing half-loaded


def test_loader_in_a_checkout_says_ci_setup(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """gdb-init.py in a checkout without its venv: run .ci/setup, which makes the .venv it loads."""
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "setup").write_text("")
    (tmp_path / "kdumpext").mkdir()
    (tmp_path / "kdumpext" / "__init__.py").write_text("")
    lone = tmp_path / "gdb-init.py"
    shutil.copy(GDB_INIT, lone)
    env = {"HOME": str(tmp_path), "KDUMPEXT_VENV": "", "VIRTUAL_ENV": "", "PYTHONNOUSERSITE": "1"}
    p = _gdb("echo done\\n", init=str(lone), env=env)
    first = p.stdout.splitlines()[0]
    assert f"run `bash {tmp_path}/.ci/setup`" in first and f"{tmp_path}/.venv" in first, p.stdout
    assert "cannot import " in first and "kdumpext," not in first


def test_loader_finds_venv_by_env(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A copy of gdb-init.py elsewhere finds kdumpext through KDUMPEXT_VENV (the editable install's .pth)."""
    venv = os.path.join(ROOT, ".venv")
    need(os.path.isdir(venv), f"{venv} (the project's venv) is missing")
    lone = tmp_path / "gdb-init.py"
    shutil.copy(GDB_INIT, lone)
    p = _gdb("help kdump", init=str(lone), env={"KDUMPEXT_VENV": venv})
    assert "kdump open -- " in p.stdout, p.stdout


def test_source_rules_from_compile_units(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The rule that makes a unit's recorded path a file here: the longest tail found under a root
    (the debug dirs and their parents), most specific first; none for sources already in place."""
    import kdumpext.sources as sources

    (tmp_path / "build").mkdir()
    (tmp_path / "modules" / "scst").mkdir(parents=True)
    (tmp_path / "modules" / "scst" / "scst.c").write_text("int x;\n")
    (tmp_path / "linux" / "kernel").mkdir(parents=True)
    (tmp_path / "linux" / "kernel" / "kthread.c").write_text("int y;\n")
    here = str(tmp_path / "modules" / "scst" / "scst.c")
    units = {"vmlinux": ["/b/src/linux/kernel/kthread.c"], "scst.ko": ["/b/x/modules/scst/scst.c", here]}
    monkeypatch.setattr(sources, "compile_unit_sources", lambda path, limit=8: units[path])
    roots = sources.source_roots([str(tmp_path / "build")])
    assert roots == [str(tmp_path / "build"), str(tmp_path)]
    assert sources.source_rules(["vmlinux", "scst.ko"], roots) == [("/b/src", str(tmp_path)), ("/b/x", str(tmp_path))]
    assert sources.source_rules(["vmlinux"], [str(tmp_path / "build")]) == []
