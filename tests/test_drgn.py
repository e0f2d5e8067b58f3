"""Tests for the drgn front-end (kdumpext.drgn): the real drgn CLI with our plugin on every sample dump, the API, plugin switches."""

from __future__ import annotations

import glob
import importlib.metadata
import json
import os
import select
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

from conftest import need
from corpus import BUILD, SAMPLES, Case, cases, chain_as_expected, unpacked_debug_dir

import drgn
from kdumpext.errors import KdumpextError
from kdumpext.model import DumpInfo, Evidence, Frame, Member, Report, TaskInfo, Verdict
from kdumpext.report import render_text, render_verdict, to_json_dict, verdict_dict

BIN = os.path.dirname(sys.executable)
DRGN = os.path.join(BIN, "drgn")
DRGN_CRASH = os.path.join(BIN, "drgn-crash")
KDUMPEXT = os.path.join(BIN, "kdumpext")

#: What the JSON of every sample dump must say, against its expected.json (README's keys).  Not
#: compared: ``source`` (the engine names the file as DWARF's absolute build path), ``size`` (0 for
#: none, expected null) and ``backtrace`` (drgn's frame at pc 0 of a NULL call has no name).
VERDICT_KEYS = ("class", "function", "module", "instruction", "access", "pointer", "access_path", "struct",
                "member", "offset", "bucket")

_CASES: List[Optional[Case]] = list(cases()) or [None]

RUN_TRIAGE = "from drgn.commands import run_command; run_command(prog, 'triage')"


# -- helpers --------------------------------------------------------------------------------


def _need_drgn() -> None:
    need(os.path.exists(DRGN), f"drgn's CLI is not installed next to {sys.executable}")
    names = {ep.name for ep in importlib.metadata.entry_points(group="drgn.plugins")}
    need("kdumpext" in names, "kdumpext is not installed (pip install -e .): no drgn.plugins entry point")


def _debug_files() -> Tuple[str, str, str]:
    """(vmlinux, scst.ko, kdx.ko), uncompressed, real paths (drgn reports real paths)."""
    for name in ("vmlinux.xz", "scst.ko.xz", "kdx.ko.xz"):
        need(os.path.exists(os.path.join(BUILD, name)), f"sample-dumps/build/{name} is missing (sample-dumps/generate)")
    d = unpacked_debug_dir()
    vmlinux, scst, kdx = (os.path.realpath(os.path.join(d, n)) for n in ("vmlinux", "scst.ko", "kdx.ko"))
    return vmlinux, scst, kdx


def _all_debug_files() -> List[str]:
    """vmlinux and every fixture module's .ko (kdxmem.ko too: only null-memcpy loads it)."""
    d = unpacked_debug_dir()
    return list(_debug_files()) + [os.path.realpath(os.path.join(d, n)) for n in sorted(os.listdir(d))
                                   if n.endswith(".ko") and n not in ("scst.ko", "kdx.ko")]


def _dump(case: Optional[Case]) -> str:
    """The case's dump as drgn can open it (an .xz is unpacked into kdumpext's cache)."""
    need(case is not None, "no sample dump has an expected.json yet (sample-dumps/README.md)")
    assert case is not None
    from kdumpext.locate import unpacked

    return unpacked(case.dump)


def _seed_dump() -> str:
    """The seed scenario's kdump-compressed dump (needs no expected.json): scst and kdx loaded, task scstd30."""
    dumps = sorted(glob.glob(os.path.join(SAMPLES, "scst-null-dev", "*", "dump.*")))
    need(len(dumps) == 1, "sample-dumps/scst-null-dev/<stamp>/dump.<stamp> is missing (sample-dumps/generate)")
    return dumps[0]


def _env(**changes: Optional[str]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DRGN_PLUGINS", "DRGN_DISABLE_PLUGINS", "KDUMPEXT_DEBUG_PATH", "PYTHONSTARTUP")}
    for k, v in changes.items():
        if v is not None:
            env[k] = v
    return env


def _drgn(dump: str, code: str, symbols: Sequence[str] = (), args: Sequence[str] = (),
          env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    cmd = [DRGN, "-c", dump]
    for s in symbols:
        cmd += ["-s", s]
    cmd += list(args) + ["-e", code]
    return subprocess.run(cmd, capture_output=True, text=True, env=env if env is not None else _env(),
                          timeout=300, stdin=subprocess.DEVNULL)


def _norm(value: Any) -> Any:
    """"" and None alike; hex strings as ints."""
    if value in ("", None):
        return None
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    return value


def _check_expected(case: Case, report: Dict[str, Any]) -> None:
    exp = case.expected
    got = report["verdict"]
    wrong = [f"{key}: got {got.get(key)!r}, expected {exp[key]!r}" for key in VERDICT_KEYS
             if key in exp and _norm(got.get(key)) != _norm(exp[key])]
    if "panic" in exp and _norm(report["dump"]["panic"]) != _norm(exp["panic"]):
        wrong.append(f"panic: got {report['dump']['panic']!r}, expected {exp['panic']!r}")
    if "chain" in exp and chain_as_expected(got.get("chain"), exp["chain"]) != (exp["chain"] or []):
        wrong.append(f"chain: got {chain_as_expected(got.get('chain'), exp['chain'])!r}, expected {exp['chain']!r}")
    task = exp.get("task")
    if task:
        for key, value in task.items():
            if (report.get("task") or {}).get(key) != value:
                wrong.append(f"task.{key}: got {(report.get('task') or {}).get(key)!r}, expected {value!r}")
    assert not wrong, f"{case.scenario}: " + "; ".join(wrong)


# -- the drgn CLI on every sample dump -------------------------------------------------------


@pytest.mark.parametrize("case", _CASES, ids=[str(c) for c in _CASES])
def test_drgn_cli_triage(case: Optional[Case]) -> None:
    """``drgn -c DUMP -s ... -e "run_command(prog, 'triage')"``: the expected answers, and the CLI's text."""
    _need_drgn()
    dump = _dump(case)
    assert case is not None
    symbols = _all_debug_files()
    code = (RUN_TRIAGE + "; print('\\x00'); run_command(prog, 'triage --json'); print('\\x00');"
            " run_command(prog, 'fault --json')")
    p = _drgn(dump, code, symbols)
    assert p.returncode == 0, p.stderr
    # loaded, no warning, no hint in a script (drgn's own notes about -s files name our cache dir)
    ours = [line for line in p.stderr.splitlines() if "kdumpext" in line and "did not match any loaded modules" not in line]
    assert not ours, p.stderr
    text, js, fault = p.stdout.split("\x00\n")
    report = json.loads(js)
    _check_expected(case, report)
    assert json.loads(fault) == report["verdict"]
    assert report["dump"]["modules_missing_debuginfo"] == []

    # the same report as `kdumpext triage` given the same files
    dirs = [arg for ko in symbols[1:] for arg in ("--debug-dir", os.path.dirname(ko))]
    cli = subprocess.run([KDUMPEXT, "triage", dump, "--vmlinux", symbols[0]] + dirs,
                         capture_output=True, text=True, timeout=300, env=_env())
    assert cli.returncode == 0, cli.stderr
    assert text == cli.stdout


@pytest.mark.parametrize("case", _CASES, ids=[str(c) for c in _CASES])
def test_python_api(case: Optional[Case]) -> None:
    """triage(), explain_fault(), explain_address() on a program opened the way scripts open one."""
    from kdumpext.drgn import FaultVerdict, TriageReport, explain_address, explain_fault, triage

    dump = _dump(case)
    assert case is not None
    prog = drgn.Program()
    prog.set_core_dump(dump)
    try:
        prog.load_debug_info(_all_debug_files(), default=True)
    except drgn.MissingDebugInfoError:
        pass  # modules drgn lists but the sample never loaded debug info for
    report = triage(prog)
    assert isinstance(report, TriageReport) and isinstance(report.verdict, FaultVerdict)
    d = report.to_dict()
    _check_expected(case, d)
    assert str(report) == render_text(report)
    assert str(report.verdict) == render_verdict(report.verdict)
    assert report.verdict.to_dict() == d["verdict"] == verdict_dict(report.verdict)
    assert report.bucket == d["bucket"] and report.backtrace == report.frames
    assert json.loads(report.to_json()) == d

    # explain_fault on the crashed thread's faulting frame is triage's verdict
    trace = prog.crashed_thread().stack_trace()
    fi = next((i for i, f in enumerate(report.frames) if f.exception), 0)
    assert explain_fault(trace[fi], prog) == report.verdict
    if trace[fi].locals():
        assert explain_fault(trace[fi]) == report.verdict  # the program found through the frame's variables
    callers = [f for f in trace if not f.interrupted and f.pc != trace[fi].pc]
    if callers:
        with pytest.raises(ValueError, match="not interrupted"):
            explain_fault(callers[0], prog)

    # explain_address: the faulting address through the bad pointer, with the pointee type
    v = report.verdict
    if v.bad is not None and v.member is not None and v.member.path and v.crash_class != "null-fn-call":
        info = explain_address(prog, f"{v.bad.base:#x}+{v.member.offset:#x}", type=v.member.type_name)
        assert info.bad.kind == v.bad.kind
        assert info.member is not None and info.member.path == v.member.path
        assert info.member.type_name == v.member.type_name
        assert not info.in_dump


# -- the plugin switches, as drgn documents them ------------------------------------------------


def _commands(env: Dict[str, str]) -> Tuple[List[str], List[str], bool]:
    """(default namespace commands, crash commands, whether kdumpext.drgn was imported) for a dump."""
    dump = _seed_dump()
    code = ("import sys, json\n"
            "from drgn.commands import DEFAULT_COMMAND_NAMESPACE as N\n"
            "crash = sys.modules.get('drgn.commands._crash.common') or sys.modules.get('drgn.commands.crash')\n"
            "c = sorted(n for n, _ in crash.CRASH_COMMAND_NAMESPACE.enabled(prog)) if crash else []\n"
            "print(json.dumps([sorted(n for n, _ in N.enabled(prog)), c, 'kdumpext.drgn' in sys.modules]))")
    p = _drgn(dump, code, args=["--no-default-symbols", "-q"], env=env)
    assert p.returncode == 0, p.stderr
    default, crash, imported = json.loads(p.stdout.splitlines()[-1])
    return default, crash, imported


OURS = {"triage", "fault", "explain"}


@pytest.mark.parametrize("env, present", [
    ({}, True),
    ({"DRGN_DISABLE_PLUGINS": "kdumpext"}, False),
    ({"DRGN_DISABLE_PLUGINS": "kdump*"}, False),  # fnmatch patterns
    ({"DRGN_DISABLE_PLUGINS": "*"}, False),
    ({"DRGN_DISABLE_PLUGINS": "*", "DRGN_PLUGINS": "kdumpext"}, True),  # enabled by entry point name
    ({"DRGN_DISABLE_PLUGINS": "*", "DRGN_PLUGINS": "mine=kdumpext.drgn"}, True),  # by module
    ({"DRGN_DISABLE_PLUGINS": "crash_commands"}, True),
], ids=["default", "disabled", "disabled-glob", "all-disabled", "re-enabled", "by-module", "no-crash-mode"])
def test_plugin_switches(env: Dict[str, str], present: bool) -> None:
    _need_drgn()
    default, crash, imported = _commands(_env(**env))
    assert imported == present
    assert OURS <= set(default) if present else not OURS & set(default)
    crash_loaded = "crash" in default
    assert crash_loaded == (env.get("DRGN_DISABLE_PLUGINS") not in ("*", "crash_commands"))
    if present and crash_loaded:
        assert OURS <= set(crash)
    else:
        assert not OURS & set(crash)  # never loads drgn's crash mode by itself


def test_disabled_command_is_not_found() -> None:
    _need_drgn()
    dump = _seed_dump()
    p = _drgn(dump, "from drgn.commands import run_command, CommandNotFoundError\n"
                    "try:\n    run_command(prog, 'triage')\nexcept CommandNotFoundError as e:\n    print('NF', e)",
              args=["--no-default-symbols", "-q"], env=_env(DRGN_DISABLE_PLUGINS="kdumpext"))
    assert p.stdout.strip() == "NF triage: command not found", p.stdout + p.stderr


def test_crash_mode_and_help() -> None:
    _need_drgn()
    dump = _seed_dump()
    p = _drgn(dump, "from drgn.commands import run_command\n"
                    "prog.config['crash_scroll'] = False\n"
                    "run_command(prog, 'crash fault')\nprint('\\x00')\n"
                    "run_command(prog, 'triage --help')\nprint('\\x00')\n"
                    "run_command(prog, 'crash help explain')\nprint('\\x00')\n"
                    "run_command(prog, 'fault')", _debug_files())
    assert p.returncode == 0, p.stderr
    crash_fault, help_text, crash_help, fault = p.stdout.split("\x00\n")
    assert crash_fault == fault and fault.startswith(("FAULT", "BUG", "PANIC"))
    assert help_text.startswith("usage: triage [-h] [--json]")
    assert "--no-evidence" in help_text
    assert "explain - say what an address is" in crash_help and "--type" in crash_help


def test_explain_command() -> None:
    _need_drgn()
    dump = _seed_dump()
    p = _drgn(dump, "from drgn.commands import run_command, CommandArgumentError\n"
                    "run_command(prog, 'explain 0+0x240 --type \"struct scst_device\"')\n"
                    "run_command(prog, 'explain 240 --json')\n"
                    "t = prog.crashed_thread().object.value_()\n"
                    "run_command(prog, 'explain %x' % (t + 0x10))\n"
                    "for bad in ('explain', 'explain nosuchsymbol', 'explain 0+zz'):\n"
                    "    try:\n        run_command(prog, bad)\n"
                    "    except CommandArgumentError as e:\n        print('ERR', e)", _debug_files())
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "KIND     null: NULL + 0x240" in out
    assert "MEMBER   struct scst_device +0x240: vdev_update_lat_stats" in out
    js = json.loads(out[out.index("{"):out.index("\n}") + 2])
    assert js["kind"] == "null" and js["address"] == "0x240" and js["member"] is None
    assert "IS       task: " in out and "(scstd30) +0x10" in out
    assert "[task]" in out  # the member comes from the task_struct drgn identified
    assert out.count("ERR explain: ") == 3


# -- module debug info from $KDUMPEXT_DEBUG_PATH ---------------------------------------------------

_MODULES = "for m in prog.modules(): print(m.name, m.debug_file_path)"
FINDER = "kdumpext"


def _module_files(out: str) -> Dict[str, str]:
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_debug_path_feeds_modules(tmp_path: Any) -> None:
    """Compressed modules (and vmlinux) from $KDUMPEXT_DEBUG_PATH, found by the kdumpext finder."""
    _need_drgn()
    dump = _seed_dump()
    _debug_files()
    p = _drgn(dump, _MODULES + "\n" + RUN_TRIAGE.replace("'triage'", "'fault'"),
              env=_env(KDUMPEXT_DEBUG_PATH=f"{tmp_path}:{BUILD}"))
    assert p.returncode == 0, p.stderr
    files = _module_files(p.stdout)
    assert files["kernel"] != "None" and files["scst"] != "None" and files["kdx"] != "None", p.stdout
    assert "warning: no debug info" not in p.stdout

    # drgn's own -s still wins, and --no-symbols-by kdumpext turns the finder off
    vmlinux, scst, _kdx = _debug_files()
    p = _drgn(dump, _MODULES, [vmlinux, scst], env=_env(KDUMPEXT_DEBUG_PATH=BUILD))
    files = _module_files(p.stdout)
    assert files["scst"] == scst and files["kdx"] != "None"
    p = _drgn(dump, _MODULES, [vmlinux], args=["--no-symbols-by", FINDER], env=_env(KDUMPEXT_DEBUG_PATH=BUILD))
    files = _module_files(p.stdout)
    assert files["scst"] == "None" and files["kdx"] == "None"


def test_no_debug_path_no_modules() -> None:
    _need_drgn()
    dump = _seed_dump()
    vmlinux, _s, _k = _debug_files()
    p = _drgn(dump, _MODULES + "\nfrom drgn.commands import run_command; run_command(prog, 'fault')",
              [vmlinux], args=["-q"])
    assert p.returncode == 0, p.stderr
    files = _module_files(p.stdout)
    assert files["scst"] == "None"
    assert "warning: no debug info for module(s): kdx, scst" in p.stdout


# -- the hint: interactive sessions only -------------------------------------------------------------

HINT = "kdumpext: this kernel crashed;"


def _pty_session(argv: List[str], lines: str, prompt: bytes, timeout: float = 120) -> str:
    """Run ``argv`` on a pseudo-terminal, type ``lines`` at the first ``prompt``, return all it wrote."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=_env(TERM="dumb"), close_fds=True)
    os.close(slave)
    out, sent, end = b"", False, time.time() + timeout
    try:
        while time.time() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
            if not sent and out.rstrip().endswith(prompt):
                os.write(master, lines.encode())
                sent = True
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    return out.decode(errors="replace")


def test_hint_in_interactive_drgn() -> None:
    _need_drgn()
    dump = _seed_dump()
    vmlinux, scst, kdx = _debug_files()
    out = _pty_session([DRGN, "-c", dump, "-s", vmlinux, "-s", scst, "-s", kdx], "%fault\nexit()\n", b">>>")
    assert out.count(HINT) == 1, out
    assert "%triage explains the crash" in out
    assert "VERDICT" in out  # %fault ran at the prompt


def test_hint_in_interactive_drgn_crash() -> None:
    _need_drgn()
    need(os.path.exists(DRGN_CRASH), "drgn-crash is not installed")
    dump = _seed_dump()
    vmlinux, _s, _k = _debug_files()
    out = _pty_session([DRGN_CRASH, vmlinux, dump], "\x04", b"%crash>")  # EOF ends it (q pages)
    assert out.count(HINT) == 1, out
    assert "'triage' explains the crash" in out


def test_no_hint_in_scripts(tmp_path: Any) -> None:
    _need_drgn()
    dump = _seed_dump()
    vmlinux, _s, _k = _debug_files()
    script = tmp_path / "s.py"
    script.write_text("print('ran')\n")
    runs = [
        subprocess.run([DRGN, "-c", dump, "-s", vmlinux, "-e", "print('ran')"],
                       capture_output=True, text=True, env=_env(), stdin=subprocess.DEVNULL),
        subprocess.run([DRGN, "-c", dump, "-s", vmlinux, str(script)],
                       capture_output=True, text=True, env=_env(), stdin=subprocess.DEVNULL),
        subprocess.run([DRGN, "-c", dump, "-s", vmlinux], input="print('ran')\n",
                       capture_output=True, text=True, env=_env()),
        subprocess.run([DRGN_CRASH, vmlinux, dump], input="sys\nq\n", capture_output=True, text=True, env=_env()),
    ]
    for p in runs:
        assert HINT not in p.stdout + p.stderr, p.args
    assert all("ran" in p.stdout for p in runs[:3])


# -- without dumps ------------------------------------------------------------------------------------


def _hand_report() -> Report:
    m = Member("struct scst_device", "vdev_update_lat_stats", 0x240, 8, "void (*)(struct scst_cmd *)")
    v = Verdict("null-deref", function="scst_update_lat_stats", module="scst", site="scst_update_lat_stats+0x11 [scst]",
                access="read", size=8, address=0x240, pointer="cmd->dev", pointer_type="struct scst_device *",
                access_path="cmd->dev->vdev_update_lat_stats", member=m, summary="cmd->dev is NULL", confidence="high",
                evidence=[Evidence("reg", "%rax = 0x0")])
    return Report(DumpInfo("dump", "elf"), TaskInfo(33, "scstd30", 0), [Frame(0, 0xffffffffc03da011, "f", 0x11)], v)


def test_result_types_print_like_the_cli() -> None:
    from kdumpext.drgn import FaultVerdict, TriageReport

    r = _hand_report()
    t = TriageReport.of(r)
    assert str(t) == render_text(r)
    assert t.to_dict() == to_json_dict(r)
    assert str(t.verdict) == render_verdict(r.verdict)
    assert isinstance(t.verdict, FaultVerdict) and t.verdict.struct == "scst_device"
    assert t.verdict == r.verdict and FaultVerdict.of(t.verdict) is t.verdict
    assert t.schema == "kdumpext.triage/1" and t.bucket == r.verdict.bucket


def test_api_refuses_what_is_not_a_crash_dump() -> None:
    from kdumpext.drgn import triage

    with pytest.raises(KdumpextError, match="not a Linux kernel program"):
        triage(drgn.Program())


def test_hook_never_raises() -> None:
    from kdumpext.drgn import drgn_prog_set

    drgn_prog_set(drgn.Program())  # no target: not a kernel, nothing to do
    drgn_prog_set(None)  # type: ignore[arg-type]  # broken input is logged, not raised


@pytest.mark.parametrize("text, want", [
    ("0x240", (0x240, None, 0)),
    ("240", (0x240, None, 0)),
    ("0+0x240", (0x240, 0, 0x240)),
    ("0 + 240", (0x240, 0, 0x240)),
    ("ffff888003a1c000-0x10", (0xffff888003a1bff0, 0xffff888003a1c000, -0x10)),
    ("fffffffffffffff4", (0xfffffffffffffff4, None, 0)),
])
def test_parse_address(text: str, want: Tuple[int, Optional[int], int]) -> None:
    from kdumpext.drgn import parse_address

    assert parse_address(drgn.Program(), text) == want


@pytest.mark.parametrize("text", ["", "0+", "+8", "0+zz", "no_such_symbol"])
def test_parse_address_rejects(text: str) -> None:
    from kdumpext.drgn import parse_address

    with pytest.raises(ValueError):
        parse_address(drgn.Program(), text)


def test_explain_address_classifies_without_debug_info() -> None:
    from kdumpext.drgn import explain_address

    prog = drgn.Program()
    info = explain_address(prog, "0+0x240")
    assert (info.kind, info.text, info.pointer, info.offset) == ("null", "NULL + 0x240", 0, 0x240)
    assert explain_address(prog, "fffffffffffffff4").text == "ERR_PTR(-ENOMEM)"
    assert explain_address(prog, "dead000000000100+8").text == "LIST_POISON1 + 0x8"
    assert explain_address(prog, 0x240).to_dict()["text"] == "NULL + 0x240"


# -- a newcomer's drgn: compressed -s files, no debug info, a cache that cannot be written ---------------


def test_compressed_symbol_files_are_loaded() -> None:
    """``drgn -c DUMP -s vmlinux.xz -s scst.ko.xz -s kdx.ko.xz``: drgn cannot read .xz; the plugin hands
    it unpacked copies, so the modules have debug info and the verdict is the full one."""
    _need_drgn()
    dump = _seed_dump()
    _debug_files()
    packed = [os.path.join(BUILD, n) for n in ("vmlinux.xz", "scst.ko.xz", "kdx.ko.xz")]
    p = _drgn(dump, _MODULES + "\n" + RUN_TRIAGE.replace("'triage'", "'fault'"), packed)
    assert p.returncode == 0, p.stderr
    files = _module_files(p.stdout)
    assert files["kernel"] != "None" and files["scst"] != "None" and files["kdx"] != "None", p.stdout
    assert "did not match any loaded modules" not in p.stderr, p.stderr
    assert "CONF     high" in p.stdout and "warning: no debug info" not in p.stdout, p.stdout


def test_compressed_symbol_file_that_cannot_be_unpacked(tmp_path: Any) -> None:
    """When the copy cannot be made (the cache is not writable): one line naming the file and what
    to do, never a traceback."""
    _need_drgn()
    dump = _seed_dump()
    ko = os.path.join(BUILD, "scst.ko.xz")
    need(os.path.exists(ko), "sample-dumps/build/scst.ko.xz is missing")
    p = _drgn(dump, "print('ran')", [ko], env=_env(KDUMPEXT_CACHE_DIR="/proc/kdumpext-not-writable"))
    assert p.returncode == 0 and "ran" in p.stdout, p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    ours = [line for line in p.stderr.splitlines() if line.startswith("kdumpext:")]
    assert len(ours) == 1, p.stderr
    assert "drgn cannot read scst.ko.xz" in ours[0] and "xz -dk" in ours[0] and f"KDUMPEXT_DEBUG_PATH={BUILD}" in ours[0]


@pytest.mark.parametrize("env", [
    {},
    {"KDUMPEXT_DEBUG_PATH": BUILD, "KDUMPEXT_CACHE_DIR": "/proc/kdumpext-not-writable"},
    {"KDUMPEXT_DEBUG_PATH": "/nonexistent:" + SAMPLES},
], ids=["no-debug-info", "unwritable-cache", "odd-debug-path"])
def test_script_without_debug_info_has_no_traceback(env: Dict[str, str]) -> None:
    """``drgn -c DUMP -e CODE`` with no vmlinux, or a debug path kdumpext cannot use: the plugin's hook
    and finder run while drgn starts and never raise (drgn's own warnings only, at most one line of ours)."""
    _need_drgn()
    dump = _seed_dump()
    p = _drgn(dump, "print('ran')", env=_env(**env))
    assert p.returncode == 0 and p.stdout.strip() == "ran", p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    assert len([line for line in p.stderr.splitlines() if "kdumpext" in line]) <= 1, p.stderr


def test_unpack_given_files(tmp_path: Any) -> None:
    import lzma

    from kdumpext.drgn import unpack_given_files

    plain = tmp_path / "a.ko"
    plain.write_bytes(b"\x7fELF")
    packed = tmp_path / "b.ko.xz"
    packed.write_bytes(lzma.compress(b"\x7fELF-b"))
    broken = tmp_path / "c.ko.xz"
    broken.write_bytes(lzma.compress(b"\x7fELF-c" * 1000)[:24])  # an xz stream cut short
    files = [str(plain), str(packed), str(broken)]
    warnings = unpack_given_files(files)
    assert files[0] == str(plain) and files[2] == str(broken)
    assert files[1] != str(packed) and open(files[1], "rb").read() == b"\x7fELF-b"
    assert len(warnings) == 1 and "drgn cannot read c.ko.xz" in warnings[0] and "xz -dk" in warnings[0]
