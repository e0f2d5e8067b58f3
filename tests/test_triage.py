"""`kdumpext triage` on every sample dump gives exactly its expected.json; bad input gives one line."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from typing import Any, Dict

import pytest

from kdumpext.program import clone_suffix

from corpus import BUILD, Case, case, cases, chain_as_expected, unpacked_debug_dir

CASES = cases()
IDS = [c.scenario for c in CASES]
KDUMPEXT = [sys.executable, "-m", "kdumpext.cli"]


def run(*args: str, env: Dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run(KDUMPEXT + list(args), capture_output=True, text=True, timeout=300, env=full)


def triage_json(c: Case) -> Dict[str, Any]:
    out = run("triage", "--json", c.dump, "--debug-dir", BUILD)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _sha(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_verdict_equals_expected(c: Case) -> None:
    """class, function, pointer, access path, struct, member, offset, access: exactly."""
    before = _sha(c.dump)
    j = triage_json(c)
    v = j["verdict"]
    e = c.expected
    got = {k: v[k] for k in ("class", "function", "instruction", "access", "pointer", "access_path", "struct",
                             "member", "offset", "callee")}
    want = {k: e[k] for k in got}
    # no access/pointer/path for a BUG() or a panic(): the JSON says "" where expected.json says null
    got = {k: (None if val in ("", 0) and want[k] is None else val) for k, val in got.items()}
    assert got == want
    assert j["bucket"] == e["bucket"]
    assert chain_as_expected(v["chain"], e["chain"]) == (e["chain"] or [])
    assert chain_as_expected([v["origin"]] if v["origin"] else [], [e["origin"]] if e["origin"] else []) == \
        ([e["origin"]] if e["origin"] else [])
    if e["size"] is not None:
        assert v["size"] == e["size"]
    assert v["module"] == e["module"]
    if e["source"] is not None:
        assert v["source"].endswith(e["source"]), v["source"]
    assert j["task"]["comm"] == e["task"]["comm"] and j["task"]["cpu"] == e["task"]["cpu"]
    assert j["dump"]["panic"] == e["panic"]
    # expected.json lists drgn's (DWARF) names; kdumpext's frames name the ELF symbol, as crash does
    # (direct_entry.cold, kdxapi_fw_stage.isra.0): the same function
    names = [clone_suffix(f["function"])[0] for f in j["backtrace"] if f["function"]]
    assert names[: len(e["backtrace"])] == e["backtrace"]
    # header: the crash time is VMCOREINFO's CRASHTIME, within a minute of the capture stamp
    import calendar
    import time

    stamp = os.path.basename(os.path.dirname(c.dump))
    captured = calendar.timegm(time.strptime(stamp, "%Y%m%d%H%M"))
    assert captured - 60 <= j["dump"]["crash_time"] <= captured + 60
    assert 0 < j["dump"]["uptime"] < 60 and j["dump"]["cpus"] == 2
    assert j["dump"]["release"] == "6.1.192" and j["dump"]["taint"] == "G           O"
    assert _sha(c.dump) == before, "the input dump was written to"


def test_text_report_of_the_seed() -> None:
    """The text report: header, crash-style backtrace, the FAULT / NULL / ACCESS verdict."""
    c = case("scst-null-dev")
    out = run("triage", c.dump, "--debug-dir", BUILD)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "RELEASE  6.1.192" in text
    assert "kdump-compressed" in text
    assert 'COMM "scstd30"' in text
    assert "O: out-of-tree module loaded" in text
    assert "[exception RIP: scst_update_lat_stats+0x11] [scst]" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "mov 0x240(%rax),%rax" in text
    assert lines["NULL"] == "NULL     cmd->dev is NULL (loaded by mov 0x40(%rbx),%rax; rbx = cmd, struct scst_cmd *)"
    assert "read  cmd->dev->vdev_update_lat_stats   struct scst_device +0x240, 8 bytes" in lines["ACCESS"]
    assert lines["BUCKET"].split()[1] == "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats"


@pytest.mark.parametrize("scenario,line", [
    ("null-two-levels", "NULL     h->port->rxq is NULL (loaded by mov 0x10(%rax),%rax; rax = h->port, struct kdx_port *)"),
    ("null-fn-call", "NULL     n->ops->xmit is NULL (loaded by mov 0x10(%rax),%rax; rax = n->ops, "
                     "const struct kdx_net_ops *)"),
    ("cpu1-null", "NULL     p->stats is NULL (loaded by mov -0x8(%rdi),%rax; rdi = item, struct list_head *)"),
    ("list-poison", "POISON   req->node.next is LIST_POISON1 (loaded by mov (%rdi),%rax; rdi = req, struct kdx_req *)"),
])
def test_pointer_line(scenario: str, line: str) -> None:
    """The NULL/POISON line names the load that produced the bad pointer and its base."""
    out = run("triage", case(scenario).dump, "--debug-dir", BUILD)
    assert line in out.stdout.splitlines()


def test_read_write_access_line() -> None:
    out = run("triage", case("cpu1-null").dump, "--debug-dir", BUILD)
    assert "ACCESS   read-write  p->stats->polls   struct kdx_stats +0x0, 8 bytes" in out.stdout


def test_intel_syntax() -> None:
    c = case("scst-null-dev")
    out = run("triage", "--json", "--intel", c.dump, "--debug-dir", BUILD)
    assert json.loads(out.stdout)["verdict"]["instruction"] == "mov rax, qword ptr [rax + 0x240]"


def test_finds_vmlinux_through_env(tmp_path: Any) -> None:
    """KDUMPEXT_DEBUG_PATH is searched like --debug-dir."""
    c = case("null-write")
    out = run("triage", "--json", c.dump, env={"KDUMPEXT_DEBUG_PATH": f"/nonexistent:{BUILD}"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["verdict"]["access_path"] == "f->owner->last_error"


# -- bad input: one line, a documented exit status, no traceback ------------------------


def _one_line_error(out: subprocess.CompletedProcess, status: int, *needles: str) -> None:
    assert out.returncode == status, (out.returncode, out.stderr)
    err = out.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("kdumpext: ")
    for n in needles:
        assert n in err, err


def test_not_a_dump(tmp_path: Any) -> None:
    junk = tmp_path / "dump.202601010000"
    junk.write_bytes(b"this is not a crash dump\n" * 100)
    _one_line_error(run("triage", str(junk)), 3, "not a kernel crash dump")


def test_vmlinux_given_as_dump() -> None:
    vmlinux = os.path.join(unpacked_debug_dir(), "vmlinux")
    _one_line_error(run("triage", vmlinux), 3, "not a core file")


def test_missing_file() -> None:
    _one_line_error(run("triage", "/nonexistent/dump.1"), 2, "No such file")


@pytest.mark.parametrize("scenario", ["scst-null-dev", "scst-null-dev-flat"])
def test_truncated_dump(tmp_path: Any, scenario: str) -> None:
    c = case(scenario)
    cut = tmp_path / os.path.basename(c.dump)
    with open(c.dump, "rb") as src:
        data = src.read()
    cut.write_bytes(data[: len(data) // 2])
    _one_line_error(run("triage", str(cut), "--debug-dir", BUILD), 4, "truncated")


def test_truncated_elf_dump(tmp_path: Any) -> None:
    from kdumpext.locate import unpacked

    c = case("scst-null-dev-elf")
    cut = tmp_path / "vmcore"
    with open(unpacked(c.dump), "rb") as src:
        cut.write_bytes(src.read(5 << 20))
    _one_line_error(run("triage", str(cut), "--debug-dir", BUILD), 4, "truncated")


def test_wrong_vmlinux() -> None:
    c = case("null-write")
    other = os.path.join(unpacked_debug_dir(), "scst.ko")  # an ELF with another build-id
    _one_line_error(run("triage", c.dump, "--vmlinux", other), 5, "does not match")


def test_no_vmlinux_found(tmp_path: Any) -> None:
    c = case("null-write")
    alone = tmp_path / os.path.basename(c.dump)
    shutil.copy(c.dump, alone)
    _one_line_error(run("triage", str(alone), env={"KDUMPEXT_DEBUG_PATH": ""}), 6, "no vmlinux for 6.1.192",
                    "--debug-dir")


def test_module_without_debug_info(tmp_path: Any) -> None:
    """Triage still runs and says which module's debug info is missing."""
    c = case("scst-null-dev")
    only = tmp_path / "dbg"
    only.mkdir()
    os.symlink(os.path.join(unpacked_debug_dir(), "vmlinux"), only / "vmlinux")
    out = run("triage", "--json", c.dump, "--debug-dir", str(only), env={"KDUMPEXT_DEBUG_PATH": ""})
    assert out.returncode == 0, out.stderr
    j = json.loads(out.stdout)
    assert sorted(j["dump"]["modules_missing_debuginfo"]) == ["kdx", "scst"]
    assert any("scst" in w for w in j["warnings"])
    v = j["verdict"]
    assert v["class"] == "null-deref" and v["function"] == "scst_update_lat_stats"
    assert v["pointer"] == ""
    # no names without DWARF, but the load that produced the pointer is still said
    assert v["undecided"].endswith("%rax was last set by mov 0x40(%rbx),%rax at scst_update_lat_stats+0xd")
    text = run("triage", c.dump, "--debug-dir", str(only), env={"KDUMPEXT_DEBUG_PATH": ""}).stdout
    assert "MISSING  no debug info for module(s): kdx, scst" in text


def test_excluded_page_is_said_plainly() -> None:
    """An address whose page makedumpfile -d 31 left out (a user page) gives a plain answer."""
    import drgn

    from kdumpext.dump import open_dump
    from kdumpext.errors import MemoryNotInDump
    from kdumpext.dump import read_memory

    d = open_dump(case("cpu1-null").dump, debug_dirs=[BUILD])
    # CPU 0 was spinning in user space: its user RIP's page is user data, excluded by -d 31
    user_pc = None
    for t in d.prog.threads():
        try:
            r = t.stack_trace()[0].registers()
        except (ValueError, LookupError, drgn.FaultError):
            continue
        if r.get("rip", 1 << 63) < 1 << 47:
            user_pc = r["rip"]
            break
    assert user_pc is not None, "no thread stopped in user space"
    with pytest.raises(MemoryNotInDump) as e:
        read_memory(d.prog, user_pc, 16, "code at the user-space pc")
    assert "not in the dump" in str(e.value) and f"{user_pc:#x}" in str(e.value)


def test_internal_error_keeps_the_report(monkeypatch: Any) -> None:
    """An unforeseen failure in the explain stage still gives the header and backtrace."""
    import kdumpext.triage as t

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("decoder fell over")

    monkeypatch.setattr(t, "explain_crash", broken)
    monkeypatch.delenv("KDUMPEXT_DEBUG", raising=False)
    r = t.triage(case("null-write").dump, debug_dirs=[BUILD])
    assert r.task is not None and r.task.comm == "init"
    assert r.frames and r.frames[0].function == "kdx_flow_set_error"
    assert r.verdict.crash_class == "unknown"
    assert r.verdict.undecided == "explaining the fault failed: RuntimeError: decoder fell over"
    assert any("internal error" in w for w in r.warnings)


@pytest.mark.parametrize("scenario,cell", [
    ("scst-null-dev", "cmd->dev NULL \u2192 ->vdev_update_lat_stats +0x240"),
    ("err-ptr", "d ERR_PTR(-ENODEV) \u2192 ->irq +0x34"),
    ("lkdtm-access-null", "ptr NULL \u2192 *ptr"),
    ("null-fn-call", "n->ops->xmit NULL, called"),
    ("sysrq-panic", 'panic("sysrq triggered crash") called from sysrq_handle_crash'),
])
def test_short_verdict(scenario: str, cell: str) -> None:
    """The one-cell verdict of batch tables."""
    from kdumpext.report import short_verdict
    from kdumpext.triage import triage

    assert short_verdict(triage(case(scenario).dump, debug_dirs=[BUILD]).verdict) == cell


def test_vmlinux_found_deeper_in_a_debug_dir() -> None:
    """A debug dir is searched all the way down (sample-dumps/ keeps its vmlinux in build/)."""
    from corpus import SAMPLES

    out = run("triage", "--json", case("null-write").dump, "--debug-dir", SAMPLES, env={"KDUMPEXT_DEBUG_PATH": ""})
    assert out.returncode == 0, out.stderr
    j = json.loads(out.stdout)
    assert j["verdict"]["access_path"] == "f->owner->last_error" and j["dump"]["modules_missing_debuginfo"] == []


# --- KASAN's shadow check ---------------------------------------------------------------------


def _kasan_code(lea_disp: int) -> "tuple":
    """A KASAN-instrumented read of ``lea_disp(%rdi)``, as GCC emits it (hand-assembled):

        lea    0x10(%rdi),%rax            (or mov %rdi,%rax when the offset is 0)
        shr    $0x3,%rax
        movabs $0xdffffc0000000000,%rdx
        cmpb   $0x0,(%rax,%rdx,1)         <- faults: the shadow of a NULL-page address is non-canonical
        jne    <report>
        mov    0x10(%rdi),%rax            <- the program's own access
        ret
    """
    from kdumpext.decode import decode_all
    from kdumpext.program import Code

    first = bytes.fromhex("488d47") + bytes([lea_disp]) if lea_disp else bytes.fromhex("4889f8")
    load = bytes.fromhex("488b47") + bytes([lea_disp]) if lea_disp else bytes.fromhex("488b07")
    raw = first + bytes.fromhex("48c1e803" "48ba0000000000fcffdf" "803c1000" "7503") + load + bytes.fromhex("c3")
    insns = decode_all(raw, 0x1000)
    return Code("f", 0x1000, 0x1000 + len(raw), "", insns), insns


@pytest.mark.parametrize("disp", [0x10, 0])
def test_kasan_shadow_check_is_taken_back_to_the_programs_access(disp: int) -> None:
    from kdumpext.explain import Tracer
    from kdumpext.triage import KASAN_SHADOW_OFFSET, _checked_access, kasan_shadow_check

    code, insns = _kasan_code(disp)
    check = next(i for i, x in enumerate(insns) if x.mnemonic == "cmpb")
    regs = {"rdi": 0, "rax": disp >> 3, "rdx": KASAN_SHADOW_OFFSET}
    mem = insns[check].mem
    assert mem is not None and kasan_shadow_check(mem, regs) == (disp & ~7, "rdx")
    found = _checked_access(Tracer(None, code, regs, check), mem, "rdx")  # the view is not asked
    assert found is not None
    real, real_mem = found
    assert real.text == (f"mov {disp:#x}(%rdi),%rax" if disp else "mov (%rdi),%rax")
    assert (real_mem.base, real_mem.disp, real_mem.size, real.access) == ("rdi", disp, 8, "read")
    # %rdi changed since the shift: the check cannot be tied to the access
    assert _checked_access(Tracer(None, code, dict(regs, rdi=0x40), check), mem, "rdx") is None
    # not a shadow check: no register holds KASAN_SHADOW_OFFSET
    assert kasan_shadow_check(mem, dict(regs, rdx=0)) is None


def test_kasan_general_protection_fault_from_a_real_log() -> None:
    """syzkaller report 510 (even): `cmpb $0x0,(%rax,%rdx,1)` with %rdx = 0xdffffc0000000000 and
    %rax = 2 is KASAN's check of 0x10..0x17, which the kernel's own line calls a null-ptr-deref."""
    from kdumpext.oopstriage import report_from_text

    with open(os.path.join(os.path.dirname(__file__), "fixtures", "syzkaller", "report-510"), errors="replace") as f:
        log = f.read().split("\n\n", 1)[1]
    assert "KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]" in log
    v = report_from_text(log, "report-510", find_debug_info=False).verdict
    assert (v.crash_class, v.address) == ("null-deref", 0x10)
    assert any("KASAN's check of the shadow byte of 0x10..0x17" in e.text for e in v.evidence)
    assert v.confidence != "high"
