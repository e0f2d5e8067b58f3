"""One report assembler: a dump and a log are both read into a CrashSource and explained by the same engine."""

from __future__ import annotations

import os

import pytest

from conftest import need
from corpus import BUILD, case

from kdumpext import triage
from kdumpext.oopstriage import parse_log, report_from_text
from kdumpext.triage import sanitizer_class

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "syzkaller")


def _fixture_log(name: str) -> str:
    """The log part of a syzkaller fixture (after the header lines and the blank line)."""
    with open(os.path.join(FIXTURES, name), encoding="utf-8", errors="replace") as f:
        return f.read().split("\n\n", 1)[1]


def need_debug() -> None:
    need(os.path.isdir(BUILD) and any(n.startswith("vmlinux") for n in os.listdir(BUILD)),
         "sample-dumps/build has no vmlinux (run sample-dumps/generate)")


# --- the same assembler for both sources --------------------------------------------------------


def test_log_and_dump_are_assembled_by_one_function(monkeypatch):
    """report_from_text and triage_program both end in triage.assemble_report (no second assembly)."""
    need_debug()
    seen = []
    real = triage.assemble_report

    def spy(src, *a, **k):
        seen.append(src.from_dump)
        return real(src, *a, **k)

    monkeypatch.setattr(triage, "assemble_report", spy)
    import kdumpext.oopstriage as ot

    monkeypatch.setattr(ot, "assemble_report", spy)
    c = case("scst-null-dev")
    with open(c.dmesg) as f:
        log = report_from_text(f.read(), c.dmesg, debug_dirs=[BUILD])
    dump = triage.triage(c.dump, debug_dirs=[BUILD])
    assert seen == [False, True]
    # the same crash, read both ways, is one bug
    assert log.verdict.bucket == dump.verdict.bucket == c.expected["bucket"]
    assert (log.verdict.pointer, log.verdict.access_path) == (dump.verdict.pointer, dump.verdict.access_path)


def test_log_bad_call_takes_the_return_address_from_the_trace():
    """No stack memory is made up for a log: the return address of a bad call is the trace's
    frame after the bad pc (what the unwinder read at [%rsp]), said as such."""
    need_debug()
    with open(case("null-fn-call").dmesg) as f:
        text = f.read()
    r = report_from_text(text, "pasted.txt", debug_dirs=[BUILD])
    v = r.verdict
    assert v.pointer == "n->ops->xmit"
    notes = [e.text for e in v.evidence if "return address" in e.text]
    assert len(notes) == 1 and "the call trace's frame after the bad pc" in notes[0], notes
    assert not any("[%rsp]" in e.text and e.kind == "reg" for e in v.evidence)
    assert notes[0].split()[2] == f"{r.frames[1].pc:#x}"


def test_log_without_debug_info_names_the_code_by_symbol():
    """Without a vmlinux the faulting pc is unknown: the instruction is shown at its symbol, and
    the missing file is said once, by the engine, instead of 'no symbol at the faulting pc'."""
    with open(case("null-write").dmesg) as f:
        text = f.read()
    oops = parse_log(text)
    assert oops is not None and oops.code, "the null-write log has a Code: line"
    r = report_from_text(text, "pasted.txt", find_debug_info=False)
    v = r.verdict
    insn = [e.text for e in v.evidence if e.kind == "insn"]
    assert insn and insn[0].startswith(f"{r.frames[0].site}: "), insn
    assert not any(t.startswith("0x0: ") for t in insn)
    assert v.undecided.endswith("no vmlinux: the pointer and member cannot be named from the text alone")
    assert "no symbol at the faulting pc" not in v.undecided
    assert v.crash_class == case("null-write").expected["class"]


# --- memory sanitizers ---------------------------------------------------------------------------


@pytest.mark.parametrize("bug,address,cls", [
    ("use-after-free", None, "use-after-free"),
    ("slab-use-after-free", None, "use-after-free"),
    ("slab-out-of-bounds", None, "out-of-bounds"),
    ("global-out-of-bounds", None, "out-of-bounds"),
    ("stack-out-of-bounds", None, "out-of-bounds"),
    ("double-free or invalid-free", None, "invalid-free"),
    ("invalid free", None, "invalid-free"),
    ("null-ptr-deref", 0x10, "null-deref"),
    ("user-memory-access", 0x20000000, "user-access"),
    ("wild-memory-access", 0xdead4ead00000000, "non-canonical"),
    ("wild-memory-access", None, "bad-access"),
    ("uninit-value", None, "unknown"),
    ("memory corruption", None, "unknown"),
])
def test_sanitizer_class(bug, address, cls):
    assert sanitizer_class(bug, address) == cls


def test_kasan_report_is_the_access_it_caught():
    """syzkaller report 470 (5.4): ``BUG: KASAN: use-after-free in kfree_skb+0x2a/0xb0`` and
    ``Read of size 4 at addr ffff8880a0ee3c54``: a use-after-free read, in kfree_skb, of 4 bytes
    at that address; no faulting instruction, so medium confidence at most."""
    r = report_from_text(_fixture_log("report-470"), "report-470", find_debug_info=False)
    v = r.verdict
    assert (v.crash_class, v.access, v.size, v.address) == ("use-after-free", "read", 4, 0xffff8880a0ee3c54)
    assert (v.function, v.site) == ("kfree_skb", "kfree_skb+0x2a")
    assert v.summary == "use-after-free read of 4 bytes at 0xffff8880a0ee3c54 in kfree_skb"
    assert v.instruction is None and v.confidence in ("medium", "low")
    assert v.bucket.startswith("use-after-free:")


# --- a call through a bad pointer that faulted in a retpoline thunk ------------------------------


def test_thunk_target_is_the_register_it_branches_through():
    from kdumpext.model import Frame

    thunk = Frame(0, 0xffffffff82a0c070, "__x86_indirect_thunk_rax", 0x10, exception=True)
    assert triage.thunk_target(thunk, {"rax": 0xdead4ead00000000}) == ("rax", 0xdead4ead00000000)
    # a canonical target faults at the target itself (the RIP is there), never in the thunk
    assert triage.thunk_target(thunk, {"rax": 0xffff8801dba07798}) is None
    assert triage.thunk_target(thunk, {}) is None
    r8 = Frame(0, 0, "__x86_indirect_thunk_r8", 0x10, exception=True)
    assert triage.thunk_target(r8, {"r8": 0x1ffff10036868ddf}) == ("r8", 0x1ffff10036868ddf)
    assert triage.thunk_target(Frame(0, 0, "kfree", 0x10, exception=True), {"rax": 0xdead4ead00000000}) is None
    # a thunk frame that is no exception (a caller of the faulting frame) is no bad call
    called = Frame(1, 0, "__x86_indirect_thunk_rax", 0x10)
    assert triage.thunk_target(called, {"rax": 0xdead4ead00000000}) is None


def test_gpf_in_a_retpoline_thunk_is_a_bad_call_of_its_caller():
    """syzkaller report 358 (4.14): ``RIP: 0010:__x86_indirect_thunk_rax+0x10/0x20`` (the thunk's
    ``ret``), ``RAX: dead4ead00000000``, two lines of another CPU's kobject messages inside the
    register dump, trace ``run_timer_softirq+0x53d``: run_timer_softirq called a function pointer
    holding the non-canonical 0xdead4ead00000000."""
    r = report_from_text(_fixture_log("report-358"), "report-358", find_debug_info=False)
    v = r.verdict
    assert (v.crash_class, v.access, v.address) == ("non-canonical", "exec", 0xdead4ead00000000)
    assert (v.function, v.site) == ("run_timer_softirq", "run_timer_softirq+0x53d")
    assert r.registers["rax"] == 0xdead4ead00000000  # read past the interleaved lines
    assert v.bucket == "non-canonical:run_timer_softirq"
    assert any("retpoline thunk for %rax" in e.text for e in v.evidence)


def test_fatal_exception_after_a_cut_report_is_the_fault_before_it():
    """syzkaller report 96 (4.x): only the tail of an oops is left, ``Code: ... <0f> 0b ...`` and
    ``RIP: __check_object_size+0x3a2/0x4f0 RSP: ...``, then ``Kernel panic - not syncing: Fatal
    exception`` (oops_end()'s): the crash is the ud2 trap of a BUG() in __check_object_size, not
    a panic() called from it; low confidence, as the report is cut."""
    r = report_from_text(_fixture_log("report-96"), "report-96", find_debug_info=False)
    v = r.verdict
    assert (v.crash_class, v.function, v.site) == ("bug", "__check_object_size", "__check_object_size+0x3a2")
    assert v.instruction is not None and v.instruction.mnemonic == "ud2"
    assert v.confidence == "low" and "the report is cut" in v.undecided
    assert all(e.text for e in v.evidence)
