"""Tests for the gdb front-end: stock gdb with gdb-init.py on every sample dump, user errors, the loader."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from typing import Dict, List, Optional, Sequence, Set

import pytest

from conftest import need, need_program
from corpus import BUILD, ROOT, SAMPLES, Case, cases, unpacked_debug_dir

GDB_INIT = os.path.join(ROOT, "gdb-init.py")
#: Classes whose bad pointer is NULL: `p POINTER` must print 0x0.
NULL_CLASSES = ("null-deref", "null-fn-call")

_CASES: List[Optional[Case]] = list(cases()) or [None]


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


# -- every sample dump ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _CASES, ids=[str(c) for c in _CASES])
def test_gdb_on_sample_dump(case: Optional[Case]) -> None:
    """`kdump open` prints the expected verdict, `bt` the expected chain, `p POINTER` 0x0 for NULL."""
    need(case is not None, "no sample dump has an expected.json yet (sample-dumps/README.md)")
    assert case is not None
    exp = case.expected
    sep = "echo \\n@@@\\n"
    # the faulting instruction is at the frame of the expected function: frame #0 for a fault
    # taken directly into kdump, a frame behind the exception entry after a WARN() and panic()
    # (when a routine faulted on its caller's argument, the caller is the verdict's function
    # and the instruction is the routine's, in frame #0)
    select_cmds = ["frame 0"] if exp.get("callee") else _select_function(exp["function"])
    cmds = [f"kdump open {case.dump} --debug-dir {BUILD}", sep, "bt", sep, *select_cmds,
            "x/2i $pc", sep, "kdump fault", sep, "info threads"]
    pointer = exp.get("pointer") or ""
    # kdx_probe() would need a live process; a function that tail-jumped is not on the stack
    printable = pointer and "(" not in pointer and exp["function"] in (exp.get("backtrace") or [])
    if printable:
        cmds += [sep, *_select_function(exp["function"]), f"p {pointer}"]
    p = _gdb(*cmds)
    assert p.returncode == 0, p.stdout
    parts = p.stdout.split("\n@@@\n")
    report, bt, insns, fault, threads = parts[:5]
    assert "Traceback" not in p.stdout and "Python Exception" not in p.stdout, p.stdout

    # the verdict, as the CLI words it
    for key in ("pointer", "access_path", "member"):
        if exp.get(key):
            assert exp[key] in fault, f"{key} {exp[key]!r} not in:\n{fault}"
    if exp.get("struct") and exp.get("offset"):
        assert f"struct {exp['struct']} +{exp['offset']}" in fault, fault
    if exp.get("bucket"):
        assert f"BUCKET   {exp['bucket']}" in fault, fault
    for hop in (exp.get("chain") or [])[1:] if len(exp.get("chain") or []) > 1 else []:
        assert hop["expr"] in fault and hop["function"] in fault, f"hop {hop} not in:\n{fault}"
    assert fault.strip() in report  # `kdump fault` is the verdict block of the report
    task = exp.get("task") or {}
    if task.get("comm"):
        assert f'COMM "{task["comm"]}"' in report

    # the backtrace: gdb unwinds the dump itself, through module code into the kernel
    names = _bt_functions(bt)
    want = [f for f in exp.get("backtrace") or [] if f]
    if exp.get("exception_rip") == "0x0" and exp["function"] in want:
        # after a call to address 0 gdb, like kdumpext, starts the caller at the call: the inline
        # frames drgn reports at the instruction after it (preempt_count) are not there
        want = want[want.index(exp["function"]):]
    if want:
        assert _is_subsequence(want, names), f"expected {want} in order, gdb's bt: {names}\n{bt}"
    if exp["function"] in want:  # not for a function that tail-jumped (tail-call-null-op)
        assert exp["function"] in names, bt

    # the faulting instruction is readable (kernel or module text is in the core)
    if exp.get("class") not in ("null-fn-call",) and exp.get("access") != "exec":
        assert "Cannot access memory" not in insns, insns
        if exp.get("instruction"):
            mnemonic = exp["instruction"].split()[0]
            assert mnemonic in insns, insns

    # threads: the crashed task first, named
    first = next((line for line in threads.splitlines() if line.startswith("*")), "")
    if task.get("comm"):
        assert f'"{task["comm"]}"' in first, threads

    if printable:
        value = parts[5]
        assert "$1 = " in value, value
        if exp.get("class") in NULL_CLASSES:
            # NULL, or NULL + k where the pointer is an address computed from NULL (&x->lock): k is
            # the sum of the expected chain's address-of offsets
            k = sum(int(h["offset"], 16) for h in exp.get("chain") or [] if h["kind"] == "address-of")
            assert re.search(rf"^\$1 = (\(.*\) )?{k:#x}$", value, re.M), value


# -- the same verdict as the CLI ------------------------------------------------------------------------


def test_same_verdict_as_cli() -> None:
    """`kdump fault` in gdb prints exactly what the engine's render_verdict() gives outside gdb."""
    dump = _seed_dump()
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
    from kdumpext.report import render_text, render_verdict
    from kdumpext.triage import triage

    report = triage(dump, debug_dirs=[BUILD])
    p = _gdb(f"kdump open {dump} --debug-dir {BUILD}", "echo @@@\\n", "kdump fault", "echo @@@\\n", "kdump triage")
    assert p.returncode == 0, p.stdout
    _head, fault, full = p.stdout.split("@@@\n")
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
    assert any(line.startswith("kdump: core ") for line in summary), opened
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
    assert re.search(r"^kdump: symbol-file -o 0x", opened, re.M) and "kdump: core-file " in opened
    assert "kdump: set substitute-path " in opened
    assert helptext.startswith(f"usage: {USAGE_OPEN}") and "--verbose" in helptext and "KDUMPEXT_DEBUG_PATH" in helptext


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
