"""The crash front-end: kdumpext's extension in the real crash on every sample dump, beside ``kdumpext triage``."""

from __future__ import annotations

import concurrent.futures
import difflib
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import pytest

from conftest import need, need_program
from corpus import ARM64_BUILD, ROOT, Case, arm64_cases, cases, unpacked_debug_dir

from kdumpext import crashext
from kdumpext.errors import KdumpextError

KDUMPEXT = [sys.executable, "-m", "kdumpext.cli"]
def _crash_reads() -> str:
    """The architecture whose dumps the installed crash reads (X86_64 when there is no crash:
    the tests then fail or skip on its absence, not here)."""
    try:
        return crashext.crash_target().name
    except Exception:  # noqa: BLE001 - collection must not fail on a missing crash
        return "X86_64"


# crash reads the dumps of the one architecture it was built for (Debian's: the host's), so only
# those are sessions to run here: the arm64 corpus on an arm64 host
CASES = [(c, arch) for c, arch in [(c, "X86_64") for c in cases()] + [(c, "ARM64") for c in arm64_cases()]
         if arch == _crash_reads()]
IDS = [c.scenario if arch == "X86_64" else f"arm64-{c.scenario}" for c, arch in CASES]
#: crash's own lines on these dumps that are no error of ours (the sample kernels' idle tasks)
_CRASH_NOISE = re.compile(r"^(WARNING: active task \w+ on cpu \d+ not found in PID hash|"
                          r"NOTE: minimal mode commands: .*)$")


def _env(**extra: str) -> Dict[str, str]:
    """The environment for crash and the CLI alike: no debug path of the user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KDUMPEXT_DEBUG_PATH", "KDUMPEXT_PYTHON"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def extension() -> str:
    """The extension, built into the tests' cache by ``kdumpext crash-extension``."""
    need_program("crash")
    need(any(os.path.isfile(h) for h in crashext.HEADERS),
         f"crash's defs.h is missing ({crashext.HEADERS[0]}; Debian: apt install crash)")
    need(shutil.which("cc") is not None or shutil.which("gcc") is not None, "no C compiler (apt install gcc)")
    p = subprocess.run(KDUMPEXT + ["crash-extension"], capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    path = p.stdout.strip()
    assert os.path.isfile(path) and path.endswith("/kdumpext.so") and "\n" not in path
    return path


def _debug_dir(arch: str) -> str:
    """A directory with the corpus's vmlinux and modules unpacked (what crash and ``mod -S`` read)."""
    if arch == "X86_64":
        return unpacked_debug_dir()
    from kdumpext.locate import cache_dir, unpacked

    out = os.path.join(cache_dir(), "sample-debug-arm64")
    os.makedirs(out, exist_ok=True)
    for packed in sorted(glob.glob(os.path.join(ARM64_BUILD, "*.xz"))):
        link = os.path.join(out, os.path.basename(packed)[:-3])
        if not os.path.islink(link):
            os.symlink(unpacked(packed), link)
    return out


def _skip_other_arch(arch: str, extension: str) -> None:
    """crash reads the dumps of the one architecture it was built for (its configure target)."""
    target = crashext.crash_target().name
    if target != arch:
        pytest.skip(f"the crash here is built for {target} and reads {target} dumps only; this is an {arch} "
                    f"dump (Debian's crash package targets the host's architecture)")


@dataclass
class Session:
    """One crash session on a dump: what each command wrote (``> file``), crash's stdout and stderr."""

    outputs: Dict[str, str]
    stdout: str
    stderr: str
    returncode: int
    cli: str = ""  #: ``kdumpext triage`` on the same files, the CLI's text
    errors: List[str] = field(default_factory=list)  #: stderr lines that are not crash's own noise


def _crash(dump: str, vmlinux: str, lines: List[str], extra_args: Sequence[str] = (),
           env: Optional[Dict[str, str]] = None) -> Session:
    """Run crash on ``dump`` with ``lines`` as its input file; ``CMD > {NAME}`` writes output NAME."""
    crash = need_program("crash")
    with tempfile.TemporaryDirectory(prefix="kdumpext-crash-test-") as tmp:
        names = []
        script = []
        for line in lines:
            for name in re.findall(r"\{(\w+)\}", line):
                names.append(name)
                line = line.replace("{" + name + "}", os.path.join(tmp, name))
            script.append(line)
        with open(os.path.join(tmp, "input"), "w") as f:
            f.write("\n".join(script + ["quit"]) + "\n")
        p = subprocess.run([crash, "-s", "--no_crashrc", *extra_args, vmlinux, dump, "-i", os.path.join(tmp, "input")],
                           capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
                           env=env if env is not None else _env(), cwd=tmp)
        outputs = {}
        for name in names:
            path = os.path.join(tmp, name)
            with open(path) as f:
                outputs[name] = f.read()
    errors = [line for line in p.stderr.splitlines() if line.strip() and not _CRASH_NOISE.match(line)]
    return Session(outputs, p.stdout, p.stderr, p.returncode, errors=errors)


def _cli_triage(dump: str, vmlinux: str, *args: str, command: str = "triage") -> str:
    """``kdumpext triage`` on the same files, as crash shows it for ``COMMAND > file``: the
    output, then each line kdumpext wrote on stderr (libkdumpfile's notes) through crash's
    error path, ``COMMAND: line``."""
    p = subprocess.run(KDUMPEXT + ["triage", dump, "--vmlinux", vmlinux, *args], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL, env=_env())
    assert p.returncode == 0, p.stderr
    notes = [line[len("kdumpext: "):] if line.startswith("kdumpext: ") else line for line in p.stderr.splitlines()]
    return p.stdout + "".join(f"{command}: {line}\n" for line in notes if line)


def _probe(c: Case) -> str:
    """What ``explain`` is asked on a dump: where it faulted (``func+off``), else the verdict's function."""
    rip = c.expected["exception_rip"]
    return rip if rip and "+" in rip else c.expected["function"]


def _session(dump: str, debug: str, probe: str, extension: str) -> Session:
    """The session every dump gets: extend, mod -S, sym, triage, fault, explain; then the CLI.
    (Paths unpacked beforehand, in the main thread: kdumpext's cache locks are per process.)"""
    vmlinux = os.path.join(debug, "vmlinux")
    s = _crash(dump, vmlinux, [
        f"extend {extension}",
        f"mod -S {debug} > {{mod}}",
        f"sym {probe.split('+')[0]} > {{sym}}",
        "triage > {triage}",
        "fault > {fault}",
        f"explain {probe} > {{explain}}",
    ])
    s.cli = _cli_triage(dump, vmlinux)
    return s


@pytest.fixture(scope="module")
def sessions(request: pytest.FixtureRequest, extension: str) -> Dict[str, "concurrent.futures.Future[Session]"]:
    """The selected dumps' sessions, started at once, as many at a time as there are CPUs
    (crash's start, ~2.5 s, is most of each)."""
    from kdumpext.locate import unpacked

    wanted: List[Case] = []
    target = crashext.crash_target().name
    for item in request.session.items:
        spec = getattr(item, "callspec", None)
        if item.module is request.module and spec is not None and "case" in spec.params:
            c, arch = spec.params["case"]
            if arch == target and all(w is not c for w in wanted):
                wanted.append(c)
    debug = _debug_dir(target)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)))
    request.addfinalizer(lambda: pool.shutdown(cancel_futures=True))
    return {c.dump: pool.submit(_session, unpacked(c.dump), debug, _probe(c), extension) for c in wanted}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_triage_inside_crash_is_the_clis(case, extension: str, sessions) -> None:
    """On every sample dump: crash's ``triage`` prints exactly what ``kdumpext triage`` prints for
    the dump and vmlinux crash opened (after ``mod -S``), with the expected bucket; ``fault`` is
    its verdict block; ``explain FUNC+OFF`` is the address crash's ``sym`` gives, in that symbol."""
    c, arch = case
    _skip_other_arch(arch, extension)
    s = sessions[c.dump].result()
    assert s.returncode == 0 and s.errors == [], s.stderr
    assert "(not loaded)" not in s.outputs["mod"], s.outputs["mod"]
    # crash's error path prints on stdout too: only what the CLI says on its stderr
    said = {line.split(": ", 1)[1] for line in s.stdout.splitlines() if line.startswith(("triage: ", "fault: ",
                                                                                          "explain: "))}
    assert said == {line.split(": ", 1)[1] for line in s.cli.splitlines() if line.startswith("triage: ")}, s.stdout

    assert s.outputs["triage"] == s.cli, "".join(difflib.unified_diff(
        s.cli.splitlines(True), s.outputs["triage"].splitlines(True), "kdumpext triage", "crash> triage"))
    assert f"\nBUCKET   {c.expected['bucket']}\n" in s.outputs["triage"]

    fault = s.outputs["fault"].splitlines()
    verdict = [line for line in fault if not line.startswith(("warning: ", "fault: "))]
    assert re.match(r"[A-Z]+ +\S", verdict[0]), fault  # FAULT, BUG, WARNING, PANIC ...
    assert "\n".join(verdict) in s.outputs["triage"], fault
    assert verdict[-1] == f"BUCKET   {c.expected['bucket']}"

    # crash's sym: "ffffffffc02a0380 (t) kdx_poll_once [kdx] /path/kdx.c: 238"
    probe = _probe(c)
    name, _, off = probe.partition("+")
    m = re.match(rf"^([0-9a-f]+) \(\w\) {re.escape(name)}( \[\w+\])?", s.outputs["sym"], re.M)
    assert m is not None, s.outputs["sym"]
    base, offset = int(m.group(1), 16), int(off or "0", 16)
    explain = [line for line in s.outputs["explain"].splitlines() if not line.startswith("explain: ")]
    address = f"ADDRESS  {base + offset:#x}" + (f"  (= {base:#x} + {offset:#x})" if offset else "")
    assert explain[0] == address, explain
    assert explain[1].startswith("KIND     kernel: "), explain
    symbol = next(line for line in explain if line.startswith(("SYMBOL ", "MODULE ")))
    module = m.group(2) or ""
    # where two symbols share the address (memcpy, __memcpy) drgn may name the other
    assert symbol.endswith(f"+{offset:#x}{module}" if offset else module), explain
    assert explain[-1] == "MEMORY   in the dump", explain


def _seed() -> Case:
    c = next((c for c in cases() if c.scenario == "scst-null-dev"), None)
    need(c is not None, "sample-dumps/scst-null-dev is missing (sample-dumps/generate)")
    assert c is not None
    return c


def test_one_session_twice_json_pipe_and_errors(extension: str) -> None:
    """One crash session: ``triage`` twice gives the same report; ``-j`` is the CLI's JSON;
    ``| grep`` gets the output; ``explain -t TYPE PTR+OFF`` names the member; a bad expression,
    a bad option and a missing argument are one line each and crash carries on."""
    from kdumpext.locate import unpacked

    _skip_other_arch("X86_64", extension)
    c = _seed()
    debug = unpacked_debug_dir()
    dump, vmlinux = unpacked(c.dump), os.path.join(debug, "vmlinux")
    s = _crash(dump, vmlinux, [
        f"extend {extension}",
        f"mod -S {debug} > {{mod}}",
        "triage > {first}",
        "triage > {second}",
        "triage -j > {json}",
        "fault -j > {fault_json}",
        "triage | grep BUCKET",
        "explain -t struct scst_device (0+240) > {member}",
        "explain nosuchsymbol+8",
        "triage -x",
        "explain",
        "help triage > {help}",
        "sys | grep PANIC",
    ])
    assert s.returncode == 0, s.stderr
    assert s.outputs["first"] == s.outputs["second"] == _cli_triage(dump, vmlinux)
    report = json.loads(s.outputs["json"])
    assert report == json.loads(_cli_triage(dump, vmlinux, "--json"))
    assert report["verdict"]["bucket"] == c.expected["bucket"]
    assert json.loads(s.outputs["fault_json"]) == report["verdict"]
    out = s.stdout.splitlines()
    assert f"BUCKET   {c.expected['bucket']}" in out, s.stdout
    assert not any(line.startswith(("RELEASE", "VERDICT")) for line in out), s.stdout
    member = s.outputs["member"]
    assert member.startswith("ADDRESS  0x240  (= 0x0 + 0x240)\nKIND     null: NULL + 0x240\n"), member
    assert re.search(r"^MEMBER   struct scst_device \+0x240: \S+ .*\[type given\]$", member, re.M), member
    assert s.errors == ["triage: invalid option -- 'x'"], s.stderr  # getopt's own, as for crash's commands
    assert [line for line in out if line.startswith(("triage:", "explain:"))] == [
        "explain: cannot evaluate: nosuchsymbol+8 (not a hex number, a symbol, X+Y or (EXPR) crash reads)"]
    assert "Usage:\n  triage [-j] [-i] [-n]\n" in s.stdout and "Usage:\n  explain [-j] [-t type] " in s.stdout
    assert s.outputs["help"].startswith("\nNAME\n  triage - explain the crash")
    assert "\nSYNOPSIS\n  triage [-j] [-i] [-n]\n" in s.outputs["help"]
    assert re.search(r'PANIC: "', s.stdout), s.stdout  # crash's own commands still run afterwards


def test_minimal_mode_and_crashrc(extension: str) -> None:
    """``crash --minimal`` (no module list, no tasks): the commands are there (a ``~/.crashrc``
    line loads the extension) and ``triage`` still gives the CLI's report; ``explain``
    evaluates a symbol with crash's minimal symbol table."""
    from kdumpext.locate import unpacked

    _skip_other_arch("X86_64", extension)
    c = _seed()
    debug = unpacked_debug_dir()
    dump, vmlinux = unpacked(c.dump), os.path.join(debug, "vmlinux")
    with tempfile.TemporaryDirectory(prefix="kdumpext-crash-home-") as home:
        with open(os.path.join(home, ".crashrc"), "w") as f:
            f.write(f"extend {extension}\n")
        crash = need_program("crash")
        with tempfile.TemporaryDirectory(prefix="kdumpext-crash-test-") as tmp:
            with open(os.path.join(tmp, "input"), "w") as f:
                f.write(f"triage > {tmp}/triage\nexplain (jiffies+8) > {tmp}/explain\nsym jiffies > {tmp}/sym\nquit\n")
            p = subprocess.run([crash, "-s", "--minimal", vmlinux, dump, "-i", os.path.join(tmp, "input")],
                               capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                               env=_env(HOME=home), cwd=tmp)
            out = {n: open(os.path.join(tmp, n)).read() for n in ("triage", "explain", "sym")}
    assert p.returncode == 0, p.stderr
    assert out["triage"] == _cli_triage(dump, vmlinux)
    jiffies = int(out["sym"].split()[0], 16)
    assert out["explain"].startswith(f"ADDRESS  {jiffies + 8:#x}  (= {jiffies:#x} + 0x8)\n"), out["explain"]


def test_missing_module_debug_file(extension: str, tmp_path) -> None:
    """crash loaded kdx's debug file (``mod -s``) and it is gone by the time of ``triage``; the
    vmlinux has no modules beside it: kdumpext goes without, says so, and gives the CLI's report
    for the same files."""
    from kdumpext.locate import unpacked

    _skip_other_arch("X86_64", extension)
    c = next((c for c in cases() if c.scenario == "cpu1-null"), None)
    need(c is not None, "sample-dumps/cpu1-null is missing (sample-dumps/generate)")
    assert c is not None
    debug = unpacked_debug_dir()
    alone = tmp_path / "vmlinux-alone"
    alone.mkdir()
    vmlinux = str(alone / "vmlinux")
    os.symlink(os.path.realpath(os.path.join(debug, "vmlinux")), vmlinux)
    kdx = str(tmp_path / "kdx.ko")
    shutil.copy(os.path.join(debug, "kdx.ko"), kdx)
    dump = unpacked(c.dump)
    s = _crash(dump, vmlinux, [
        f"extend {extension}",
        f"mod -s kdx {kdx} > {{mod}}",
        f"!rm {kdx}",
        "triage > {triage}",
        "fault > {fault}",
    ])
    assert s.returncode == 0 and s.errors == [], s.stderr
    assert kdx in s.outputs["mod"]
    assert s.outputs["triage"] == _cli_triage(dump, vmlinux)
    assert "no debug info for module(s): " in s.outputs["triage"] and "kdx" in s.outputs["triage"]
    assert any(line.startswith("warning: no debug info for module(s): ") for line in s.outputs["fault"].splitlines())


def test_kdumpext_that_cannot_run_is_one_line(extension: str) -> None:
    """With ``$KDUMPEXT_PYTHON`` naming no program, ``triage`` says so in one line through crash's
    error path and the session goes on."""
    from kdumpext.locate import unpacked

    _skip_other_arch("X86_64", extension)
    c = _seed()
    debug = unpacked_debug_dir()
    s = _crash(unpacked(c.dump), os.path.join(debug, "vmlinux"),
               [f"extend {extension}", "triage", "eval 0x10 > {eval}"], ["--minimal"],
               env=_env(KDUMPEXT_PYTHON="/nonexistent/python3"))
    assert s.returncode == 0 and s.errors == [], s.stderr
    assert [line for line in s.stdout.splitlines() if line.startswith("triage")] == [
        "triage: cannot run /nonexistent/python3: No such file or directory (set KDUMPEXT_PYTHON, "
        "or run `kdumpext crash-extension` again)"], s.stdout
    assert "hexadecimal: 10" in s.outputs["eval"]


# --- kdumpext crash-extension ----------------------------------------------------------------


def test_build_is_reused_until_its_inputs_change(extension: str) -> None:
    """A second ``kdumpext crash-extension`` prints the same path and leaves the library alone;
    ``--force`` builds it again in place; the library carries its build stamp."""
    before = os.stat(extension)
    p = subprocess.run(KDUMPEXT + ["crash-extension"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == extension
    assert os.stat(extension).st_ino == before.st_ino
    p = subprocess.run(KDUMPEXT + ["crash-extension", "--force"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == extension
    assert os.stat(extension).st_ino != before.st_ino
    with open(extension, "rb") as f:
        data = f.read()
    assert crashext.BUILD_MARKER in data and not crashext.is_current(data, "0" * 32)


def test_missing_compiler_is_one_line() -> None:
    """No C compiler on ``$PATH``: one line naming the package, exit 1, no traceback."""
    need(any(os.path.isfile(h) for h in crashext.HEADERS), f"crash's defs.h is missing ({crashext.HEADERS[0]})")
    env = _env(PATH="/nonexistent")
    env.pop("CC", None)
    p = subprocess.run(KDUMPEXT + ["crash-extension"], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.splitlines() == [
        "kdumpext: no C compiler (cc, gcc or clang; or $CC) to build the crash extension: install gcc "
        "(Debian, Ubuntu: apt install gcc; Fedora, RHEL: dnf install gcc)"]


def test_missing_header_is_one_line(monkeypatch, capsys) -> None:
    """No ``defs.h``: one line naming the package (crash / crash-devel), exit 1."""
    from kdumpext.cli import main

    monkeypatch.setattr(crashext, "HEADERS", ("/nonexistent/crash/defs.h",))
    monkeypatch.setattr(crashext.find_header, "__defaults__", (crashext.HEADERS,))
    assert main(["crash-extension"]) == 1
    err = capsys.readouterr().err
    assert err == ("kdumpext: crash's extension header is missing (looked for /nonexistent/crash/defs.h): install "
                   "crash (Debian, Ubuntu: apt install crash) or crash-devel (Fedora, RHEL: dnf install crash-devel)\n")
    with pytest.raises(KdumpextError):
        crashext.find_header(["/nonexistent/defs.h"])


def test_compiler_problem_names_the_package(tmp_path) -> None:
    """A compile that fails on a header defs.h needs (zlib.h, not installed by crash): the real
    compiler's message, cut to its error line, with the package to install."""
    cc = shutil.which("cc") or shutil.which("gcc")
    need(cc is not None, "no C compiler (apt install gcc)")
    src = tmp_path / "z.c"
    src.write_text("#include <zlib.h>\n")
    (tmp_path / "include").mkdir()  # an include path without zlib.h, as on a machine without zlib1g-dev
    p = subprocess.run([cc, "-nostdinc", "-I", str(tmp_path / "include"), "-c", str(src), "-o", str(tmp_path / "z.o")],
                       capture_output=True, text=True)
    assert p.returncode != 0
    line = crashext.compiler_problem(p.stderr)
    assert re.fullmatch(r".*z\.c:1:10: fatal error: zlib\.h: No such file or directory; install zlib1g-dev "
                        r"\(Debian, Ubuntu\) or zlib-devel \(Fedora, RHEL\)", line), line


def test_build_inputs() -> None:
    """The pure parts: targets by ELF machine, C string literals, the stamp, the compile line."""
    assert crashext.target_for_machine(62) == crashext.Target("X86_64")
    assert crashext.target_for_machine(0, "aarch64") == crashext.Target("ARM64")
    assert crashext.target_for_machine(3).cflags == ("-D_FILE_OFFSET_BITS=64",)
    assert crashext.target_for_machine(0, "vax") is None
    assert crashext.c_string('/opt/my "venv"/bin/python\\x') == r'"/opt/my \"venv\"/bin/python\\x"'
    assert crashext.c_string("/home/\u00e9") == '"/home/\\303\\251"'
    t = crashext.TARGETS["X86_64"]
    one = crashext.build_stamp(b"src", b"hdr", t, "/py", "/root", ["/usr/bin/cc"])
    assert len(one) == 32 and one != crashext.build_stamp(b"src", b"hdr2", t, "/py", "/root", ["/usr/bin/cc"])
    assert one != crashext.build_stamp(b"src", b"hdr", crashext.TARGETS["ARM64"], "/py", "/root", ["/usr/bin/cc"])
    cmd = crashext.compile_command(["/usr/bin/cc"], "/k/crashext.c", "/usr/include/crash/defs.h", t, "/py", "/k",
                                   one, "/o/kdumpext.so")
    assert cmd[:7] == ["/usr/bin/cc", "-Wall", "-g", "-shared", "-rdynamic", "-fPIC", "-DX86_64"]
    assert "-I/usr/include/crash" in cmd and '-DKDUMPEXT_PYTHON="/py"' in cmd and cmd[-3:] == ["-o", "/o/kdumpext.so",
                                                                                                "/k/crashext.c"]
    assert crashext.is_current(crashext.BUILD_MARKER + one.encode() + b"\0", one)
    assert not crashext.is_current(crashext.BUILD_MARKER + one.encode()[:-1] + b"\0", one)


def test_run_mode_bad_input_is_one_line() -> None:
    """What the extension runs, given a dump that is not there: one line, exit 2; from a library
    built from another C source, one line more that says what to do."""
    run = KDUMPEXT + ["crash-extension", "--run", "triage", "--dump", "/nonexistent/dump"]
    p = subprocess.run(run, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and p.stdout == "" and len(p.stderr.splitlines()) == 1, p.stderr
    assert p.stderr.startswith("kdumpext: /nonexistent/dump")
    with open(crashext.SOURCE, "rb") as f:
        current = crashext.source_stamp(f.read())
    p = subprocess.run(run + ["--source-stamp", current], capture_output=True, text=True, timeout=120)
    assert len(p.stderr.splitlines()) == 1, p.stderr
    p = subprocess.run(run + ["--source-stamp", "0" * 16], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.splitlines()[0] == (
        "kdumpext: this crash extension was built from another kdumpext: run `kdumpext crash-extension` and "
        "extend it again (in a new crash session)"), p.stderr


def test_source_is_package_data() -> None:
    """The C source is installed with the package (setup.cfg's package_data)."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    assert os.path.basename(crashext.SOURCE) in cfg["options.package_data"]["kdumpext"].split()
    assert os.path.isfile(crashext.SOURCE)
