"""arm64: decoding (capstone's structured operands), the ESR, oops text, and verdicts from arm64 logs."""

from __future__ import annotations

import os
import struct

import pytest

from kdumpext import arm64
from kdumpext.arch import ARM, ARM64, X86_64, arch_named
from kdumpext.esr import decode_esr
from kdumpext.oops import parse_oops
from kdumpext.oopstriage import report_from_text

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "syzkaller")


def _log(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8", errors="replace") as f:
        return f.read().split("\n\n", 1)[1]


def _insn(word: int, address: int = 0xffff800008010000):
    return arm64.decode(struct.pack("<I", word), address)


# --- decoding ----------------------------------------------------------------------------------
# every word checked with `aarch64-linux-gnu-objdump -D -b binary -m aarch64` (Debian binutils 2.40,
# which prints immediates in decimal: "ldr x0, [x0, #576]"); the (..) word of a Code: line is the
# faulting one: syzkaller report 536 "(38e16841)", report 524 "(08dffe60)"


@pytest.mark.parametrize("word, text, base, index, scale, disp, size, access", [
    (0xf9412000, "ldr x0, [x0, #0x240]", "x0", None, 1, 0x240, 8, "read"),
    (0xb9400000, "ldr w0, [x0]", "x0", None, 1, 0, 4, "read"),
    (0x38e16841, "ldrsb w1, [x2, x1]", "x2", "x1", 1, 0, 1, "read"),
    (0x08dffe60, "ldarb w0, [x19]", "x19", None, 1, 0, 1, "read"),
    (0xf8627820, "ldr x0, [x1, x2, lsl #3]", "x1", "x2", 8, 0, 8, "read"),
    (0xa9400262, "ldp x2, x0, [x19]", "x19", None, 1, 0, 16, "read"),
    (0xa9bf7bfd, "stp x29, x30, [sp, #-0x10]!", "sp", None, 1, -0x10, 16, "write"),
    (0xf8408661, "ldr x1, [x19], #8", "x19", None, 1, 0, 8, "read"),  # post-index: the access is at x19
    (0x38401c20, "ldrb w0, [x1, #1]!", "x1", None, 1, 1, 1, "read"),  # pre-index: at x1 + 1
    (0x79400020, "ldrh w0, [x1]", "x1", None, 1, 0, 2, "read"),
    (0xb9800020, "ldrsw x0, [x1]", "x1", None, 1, 0, 4, "read"),
    (0xf90003e0, "str x0, [sp]", "sp", None, 1, 0, 8, "write"),
    (0xc8027c20, "stxr w2, x0, [x1]", "x1", None, 1, 0, 8, "write"),  # the status register is not data
    (0xc8a07c41, "cas x0, x1, [x2]", "x2", None, 1, 0, 8, "read-write"),
    (0xb8e00020, "ldaddal w0, w0, [x1]", "x1", None, 1, 0, 4, "read-write"),
])
def test_loads_and_stores(word, text, base, index, scale, disp, size, access):
    i = _insn(word)
    assert i.text == text
    assert i.mem is not None
    assert (i.mem.base, i.mem.index, i.mem.scale, i.mem.disp, i.mem.size, i.access) == \
        (base, index, scale, disp, size, access)


def test_branches_and_registers():
    blr = _insn(0xd63f0020)
    assert (blr.text, blr.is_call, blr.reg_target, blr.regs_written) == ("blr x1", True, "x1", ["x30"])
    br = _insn(0xd61f0200)
    assert (br.is_jump, br.is_call, br.reg_target) == (True, False, "x16")
    bl = _insn(0x97ffffff, 0x1000)
    assert (bl.is_call, bl.target) == (True, 0xffc)
    assert _insn(0xd65f03c0).is_ret
    assert _insn(0xd4210000).text == "brk #0x800"  # BUG()/WARN(): BUG_BRK_IMM
    # an LSE atomic writes its result register even where capstone 5 does not say so
    assert _insn(0xb8e00020).regs_written == ["x0"]
    assert arm64.reg64("w3") == "x3" and arm64.reg64("fp") == "x29" and arm64.reg64("lr") == "x30"
    assert arm64.reg64("wzr") is None and arm64.reg64("wsp") == "sp"
    with pytest.raises(arm64.Arm64DecodeError):
        arm64.decode(b"\x00\x00", 0)


def test_arch_records():
    assert arch_named("AARCH64") is ARM64 and arch_named("arm64") is ARM64
    assert arch_named("X86_64") is X86_64 and arch_named("") is X86_64 and arch_named("arm") is ARM
    assert (ARM64.link, ARM64.return_reg, ARM64.arg_regs[:2]) == ("x30", "x0", ("x0", "x1"))
    assert "brk" in ARM64.traps and "ud2" in X86_64.traps


# --- the exception syndrome ----------------------------------------------------------------------


@pytest.mark.parametrize("value, ec, access, fsc_name, level", [
    (0x96000006, "DABT (current EL)", "read", "translation fault", 2),   # NULL read, level 2
    (0x96000046, "DABT (current EL)", "write", "translation fault", 2),  # WnR = 1
    (0x96000004, "DABT (current EL)", "read", "translation fault", 0),   # report 536
    (0x96000010, "DABT (current EL)", "read", "synchronous external abort", None),  # report 524
    (0x96000146, "DABT (current EL)", "read", "translation fault", 2),   # CM = 1: a cache op, a read
    (0x8600000f, "IABT (current EL)", "exec", "permission fault", 3),    # a fetch from NX memory
    (0xf2000800, "BRK (AArch64)", "", "", None),                         # BUG()
])
def test_decode_esr(value, ec, access, fsc_name, level):
    e = decode_esr(value)
    assert (e.ec_name, e.access, e.fsc_name, e.level) == (ec, access, fsc_name, level)
    assert e.abort == bool(access)


# --- arm64 oops text --------------------------------------------------------------------------------


def test_arm64_paging_request_is_parsed():
    """syzkaller report 536 (5.9, arm64): title, ESR, pc, lr, sp, the x-register pairs, the call
    trace (without its first line, the pc's own frame) and the Code: words."""
    oops = parse_oops(_log("report-536"))
    assert oops is not None and oops.arch == "arm64"
    assert oops.title.startswith("Unable to handle kernel paging request at virtual address dfffa00000000003")
    assert (oops.fault_address, oops.esr, oops.pf_access) == (0xdfffa00000000003, 0x96000004, "read")
    assert (oops.rip_function, oops.rip_offset, oops.lr_function, oops.lr_offset) == \
        ("selinux_socket_sendmsg", 0x28, "selinux_socket_sendmsg", 0x18)
    assert oops.registers["x1"] == 0xdfffa00000000000 and oops.registers["x2"] == 3
    assert oops.registers["sp"] == 0xffff000049b6fa10 and oops.registers["x29"] == 0xffff000049b6fa10
    assert oops.code_fault_index == 16 and oops.code[16:20] == bytes.fromhex("4168e138")
    assert oops.oops_line == "Oops: 96000004 [#1] PREEMPT SMP"


def test_arm64_kasan_shadow_check_gives_the_checked_address():
    """536: ``ldrsb w1, [x2, x1]`` with x1 = 0xdfffa00000000000 (arm64's generic KASAN shadow
    offset for 48-bit VAs before 5.11) is KASAN's check of the shadow of (3 << 3) = 0x18: a read
    near NULL in selinux_socket_sendmsg, not an access to 0xdfffa00000000003."""
    r = report_from_text(_log("report-536"), "report-536", find_debug_info=False)
    v = r.verdict
    assert (v.crash_class, v.function, v.address) == ("null-deref", "selinux_socket_sendmsg", 0x18)
    assert v.instruction is not None and v.instruction.text == "ldrsb w1, [x2, x1]"
    assert [f.function for f in r.frames[:2]] == ["selinux_socket_sendmsg", "security_socket_sendmsg"]
    assert r.registers["pc"] == 0  # no vmlinux: the pc's address is unknown
    assert any("KASAN's check of the shadow byte of 0x18" in e.text for e in v.evidence)


def test_arm64_external_abort_blames_the_driver():
    """syzkaller report 524 (arm64): ``Internal error: synchronous external abort: 96000010``
    in __raw_readb (``ldarb w0, [x19]``), reached through logic_inb() from ns558_init: the I/O
    accessors act on the port their caller passes, the driver is blamed."""
    r = report_from_text(_log("report-524"), "report-524", find_debug_info=False)
    v = r.verdict
    assert r.frames[0].function == "__raw_readb"
    assert v.instruction is not None and v.instruction.text == "ldarb w0, [x19]"
    assert (v.crash_class, v.access, v.size) == ("bad-access", "read", 1)
    assert (v.blame, v.bucket) == ("ns558_init", "bad-access:ns558_init:__raw_readb()")


def test_arm32_code_is_not_decoded_as_another_architecture():
    """syzkaller report 676 (32-bit arm): ``PC is at 0x0``, ``LR is at gsmld_receive_buf+0xc0/0x15c``:
    a call through NULL from gsmld_receive_buf; its Code: words are never decoded as x86 or arm64."""
    oops = parse_oops(_log("report-676"))
    assert oops is not None and oops.arch == "arm" and oops.esr is None
    assert (oops.rip_address, oops.lr_function) == (0, "gsmld_receive_buf")
    v = report_from_text(_log("report-676"), "report-676", find_debug_info=False).verdict
    assert (v.crash_class, v.function) == ("null-fn-call", "gsmld_receive_buf")
    assert v.instruction is None


# --- register provenance over arm64 code ------------------------------------------------------------
# scst_update_lat_stats as the arm64 corpus kernel's scst.ko has it (aarch64-linux-gnu-objdump -d,
# GCC 12 -O2, pointer authentication on): the seed bug, ``cmd->dev->vdev_update_lat_stats``

SCST_UPDATE_LAT_STATS = [
    0xd503233f,  # 0x00 paciasp
    0xa9be7bfd,  # 0x04 stp x29, x30, [sp, #-32]!
    0x910003fd,  # 0x08 mov x29, sp
    0xf9000bf3,  # 0x0c str x19, [sp, #16]
    0xaa0003f3,  # 0x10 mov x19, x0
    0x94000000,  # 0x14 bl ktime_get (unrelocated)
    0xf9402261,  # 0x18 ldr x1, [x19, #64]
    0xf9001660,  # 0x1c str x0, [x19, #40]
    0xf9412021,  # 0x20 ldr x1, [x1, #576]      <- faults: cmd->dev is NULL
    0xb4000061,  # 0x24 cbz x1, 0x30
    0xaa1303e0,  # 0x28 mov x0, x19
    0xd63f0020,  # 0x2c blr x1
    0xb9001e7f,  # 0x30 str wzr, [x19, #28]
    0xf9400bf3,  # 0x34 ldr x19, [sp, #16]
    0xa8c27bfd,  # 0x38 ldp x29, x30, [sp], #32
    0xd50323bf,  # 0x3c autiasp
    0xd65f03c0,  # 0x40 ret
]


def _function(words, start=0x1000):
    return arm64.decode_all(b"".join(struct.pack("<I", w) for w in words), start)


def test_arm64_sources():
    from kdumpext.decode import source_of, stored_register

    insns = _function(SCST_UPDATE_LAT_STATS)
    by = {i.address - 0x1000: i for i in insns}
    mov = source_of(by[0x10])
    assert (mov.kind, mov.dest, mov.reg, mov.width) == ("copy", "x19", "x0", 8)
    load = source_of(by[0x18])
    assert (load.kind, load.dest, load.mem.base, load.mem.disp, load.mem.size) == ("load", "x1", "x19", 0x40, 8)
    call = source_of(by[0x14])
    assert (call.kind, call.dest) == ("call", "x0")
    assert source_of(by[0x1c]) is None and stored_register(by[0x1c]) == "x0"
    # stp's base update; ldp's second register and post-index update
    push = source_of(by[0x04], "sp")
    assert (push.kind, push.mem.base, push.mem.disp) == ("lea", "sp", -32)
    pop30 = source_of(by[0x38], "x30")
    assert (pop30.kind, pop30.mem.base, pop30.mem.disp, pop30.mem.size) == ("load", "sp", 8, 8)
    popsp = source_of(by[0x38], "sp")
    assert (popsp.kind, popsp.mem.disp) == ("lea", 32)
    zero = source_of(_function([0x2a1f03e0])[0])  # mov w0, wzr
    assert (zero.kind, zero.value, zero.width) == ("imm", 0, 4)
    add = source_of(_function([0x91010000])[0])  # add x0, x0, #0x40
    assert (add.kind, add.mem.base, add.mem.disp) == ("lea", "x0", 0x40)


def test_arm64_flow_follows_the_stack_and_the_copy():
    from kdumpext.flow import ENTRY, build_cfg, reaching_defs, sp_offsets, stack_slot

    insns = _function(SCST_UPDATE_LAT_STATS)
    cfg = build_cfg(insns)
    # cbz falls through or branches: two successors; blr returns to the next instruction
    cbz = cfg.index_of(0x1024)
    assert len(cfg.block_of(cbz).succs) == 2
    sp = sp_offsets(cfg)
    assert sp[cfg.index_of(0x1008)] == -32 and sp[cfg.index_of(0x1040)] == 0
    assert stack_slot(cfg, cfg.index_of(0x100c)) == -16  # str x19, [sp, #16]: the caller's x19
    # x1 at the fault: loaded at 0x18 from x19, which is x0 as it arrived (the bl clobbers x0 only after)
    fault = cfg.index_of(0x1020)
    assert reaching_defs(cfg, "x1", fault) == [cfg.index_of(0x1018)]
    assert reaching_defs(cfg, "x19", fault) == [cfg.index_of(0x1010)]
    assert reaching_defs(cfg, "x0", cfg.index_of(0x1010)) == [ENTRY]
    # a call clobbers x0-x18 and x30, not x19
    assert reaching_defs(cfg, "x0", cfg.index_of(0x1018)) == [cfg.index_of(0x1014)]


def test_aarch64_module_relocations():
    """The relocations an arm64 module's code needs to name its calls (checked by decoding the result)."""
    from kdumpext.dwarf import R_AARCH64_ADD_ABS_LO12_NC, R_AARCH64_ADR_PREL_PG_HI21, R_AARCH64_CALL26, \
        relocate_aarch64

    buf = bytearray(struct.pack("<III", 0x94000000, 0x90000000, 0x91000000))  # bl 0; adrp x0, 0; add x0, x0, #0
    place = 0xffffffffc0000170
    assert relocate_aarch64(buf, 0, R_AARCH64_CALL26, 0xffffffffc0000020, place)
    assert arm64.decode(bytes(buf[0:4]), place).target == 0xffffffffc0000020
    sym = 0xffffffffc1a1b2c8  # within adrp's +-4 GiB
    assert relocate_aarch64(buf, 4, R_AARCH64_ADR_PREL_PG_HI21, sym, place + 4)
    assert relocate_aarch64(buf, 8, R_AARCH64_ADD_ABS_LO12_NC, sym, place + 8)
    page = struct.unpack_from("<I", buf, 4)[0]
    adrp = list(arm64._handle().disasm(bytes(buf[4:8]), place + 4, 1))[0]
    assert adrp.operands[1].imm & ((1 << 64) - 1) == sym & ~0xFFF, hex(page)
    assert arm64.decode(bytes(buf[8:12]), place + 8).text == "add x0, x0, #0x2c8"
    # out of range for a 26-bit branch: left as it was
    assert not relocate_aarch64(bytearray(4), 0, R_AARCH64_CALL26, place + (1 << 28), place)


def test_strip_pac():
    """A signed return address (tail-call-null-op's frame records: 0x8db7dde0d64464b8 is
    kdxapi_dev_open+0x18 = 0xffffdde0d64464b8 under KERNELPACMASK 0xffff000000000000)."""
    mask = 0xffff000000000000
    assert arm64.strip_pac(0x8db7dde0d64464b8, mask) == 0xffffdde0d64464b8
    assert arm64.strip_pac(0xffffdde0d64464b8, mask) == 0xffffdde0d64464b8
    assert arm64.strip_pac(0xffffdde0d64464b8, 0) == 0xffffdde0d64464b8


class _PltView:
    """A ProgramView with only what module_plt_target reads: memory and symbols."""

    def __init__(self, memory, symbols):
        from kdumpext.arch import ARM64

        self.arch, self.memory, self.symbols = ARM64, memory, symbols

    def read_word(self, address):
        raw = self.memory.get(address)
        return int.from_bytes(raw, "little") if raw is not None else None

    def symbol_at(self, address):
        return self.symbols.get(address)


def test_module_plt_veneer_is_followed():
    """An arm64 module calls a kernel function out of bl's range through its PLT: the 12 bytes at
    the bl target of kdxapi_fw_desc_namelen in an arm64 dump of the corpus kernel
    (``f0d520f0 10c22e91 00021fd6``: adrp x16; add x16, x16, #0xbb0; br x16) lead to strlen."""
    from kdumpext.program import module_plt_target

    plt = 0xffffaef22c7769cc
    raw = bytes.fromhex("f0d520f010c22e9100021fd6") + bytes(4)
    view = _PltView({plt: raw[:8], plt + 8: raw[8:16]}, {})
    assert module_plt_target(view, plt) == 0xffffaef26e235bb0
    # a function's own entry is no veneer
    from kdumpext.program import Symbol

    assert module_plt_target(_PltView({plt: raw[:8], plt + 8: raw[8:16]}, {plt: Symbol("f", plt, 12)}), plt) is None


def test_inlined_shared_routine():
    """The inline chain at a fault in arm64's inlined spin_lock_irqsave (an arm64 dump of the
    corpus' api-spinlock, drgn's backtrace): the access is __raw_spin_lock_irqsave's, its caller
    kdxapi_link_quiesce the one to blame, as where the lock routine is out of line (x86-64)."""
    from kdumpext.model import Frame
    from kdumpext.triage import _inlined_shared_routine

    pc = 0xffffa0e4de12c0a0
    names = ["__ll_sc__cmpxchg_case_acq_32", "__cmpxchg_case_acq_32", "__cmpxchg_acq",
             "arch_atomic_try_cmpxchg_acquire", "atomic_try_cmpxchg_acquire", "queued_spin_lock",
             "do_raw_spin_lock", "__raw_spin_lock_irqsave"]
    frames = [Frame(i, pc, n, 0, "", inlined=True, exception=True) for i, n in enumerate(names)]
    frames.append(Frame(8, pc, "kdxapi_link_quiesce.isra.0", 0x30, "kdxapi", exception=True))
    assert _inlined_shared_routine(frames, 0) == "__raw_spin_lock_irqsave"
    # a driver's own inline function at the fault: no shared routine
    mine = [Frame(0, pc, "kdx_conn_timeout", 0, "kdx", inlined=True, exception=True),
            Frame(1, pc, "kdx_conn_arm_timer", 0x10, "kdx", exception=True)]
    assert _inlined_shared_routine(mine, 0) is None


def test_exception_vector_marks_the_interrupted_frame():
    """An arm64 WARN() with panic_on_warn (an arm64 dump of the corpus' lkdtm-warning, drgn's
    backtrace): drgn unwinds through the el1h_64_sync vector by frame records and marks no frame
    interrupted; the frame after the vector is the code that trapped (lkdtm_WARNING's brk)."""
    from kdumpext.model import Frame
    from kdumpext.triage import _after_exception_vector

    names = ["__crash_kexec", "panic", "check_panic_on_warn", "__warn", "report_bug", "bug_handler",
             "brk_handler", "do_debug_exception", "el1_dbg", "el1h_64_sync_handler", "el1h_64_sync",
             "lkdtm_WARNING", "direct_entry"]
    frames = [Frame(i, 0xffff800008000000 + 0x100 * i, n, 0x24) for i, n in enumerate(names)]
    _after_exception_vector(frames)
    assert [f.function for f in frames if f.exception] == ["lkdtm_WARNING"]
    # a frame drgn already marked is left alone
    again = [Frame(0, 1, "scst_update_lat_stats", 0x20, exception=True), Frame(1, 2, "el1h_64_sync", 0),
             Frame(2, 3, "f", 0)]
    _after_exception_vector(again)
    assert [f.function for f in again if f.exception] == ["scst_update_lat_stats"]


def test_registers_printed_before_a_panic():
    """syzkaller report 542 (arm64 5.10): ``Bad mode in Synchronous Abort handler detected ...
    -- BTI``, the pc/lr/x-register block, then ``Kernel panic - not syncing: bad mode``: the
    exception frame is the pc printed before the panic (update_cpu_capabilities+0x0), and the
    verdict is still the panic, called from bad_mode."""
    log = _log("report-542")
    r = report_from_text(log, "report-542", find_debug_info=False)
    assert r.frames[0].exception and (r.frames[0].function, r.frames[0].offset) == ("update_cpu_capabilities", 0)
    assert r.registers["x0"] == 5 and r.registers["sp"] == 0xffffa00019957eb0
    v = r.verdict
    assert (v.crash_class, v.function, v.message) == ("panic", "bad_mode", "bad mode")


@pytest.mark.parametrize("address, kind", [
    (0xffff07570083be48, "kernel"),         # a linear-map pointer (x20 in the corpus' err-ptr oops)
    (0xffffd9d7215bd020, "kernel"),         # module text (the seed's pc)
    (0xf2ff000012345678, "non-canonical"),  # a tag in the top byte: only a KASAN-tags kernel ignores it
    (0xdfffa00000000003, "non-canonical"),  # report 536: "address between user and kernel address ranges"
    (0x00616161616161a1, "non-canonical"),  # report 680: the same message
    (0x0000ffff9c2a1000, "user"),
    (0x240, "null"),
])
def test_arm64_address_space(address, kind):
    """arm64's 48-bit halves: x86-64's canonical rule would call the kernel's own 0xffff0... linear
    map non-canonical (bit 47 is 0 there)."""
    from kdumpext import addresses

    assert addresses.classify(address, arch="arm64").kind == kind
    assert addresses.classify(0xffff07570083be48).kind == "non-canonical"  # as x86-64 reads it


def test_leaf_routine_caller_comes_back_from_lr() -> None:
    """A real arm64 oops (a NULL string passed to strlen() by a module, QEMU cortex-a57, Linux
    6.1): strlen saves no frame record, so the Call trace goes from it to its caller's caller;
    its caller is the ``lr :`` line and becomes frame 1, the rest of the trace following."""
    from kdumpext.oopstriage import frames_from_oops

    with open(os.path.join(os.path.dirname(__file__), "fixtures", "arm64-leaf-strlen.oops")) as f:
        oops = parse_oops(f.read())
    frames = frames_from_oops(oops)
    assert [(f.function, f.offset, f.module) for f in frames[:3]] == [
        ("__pi_strlen", 0x14, ""), ("kdxapi_fw_desc_namelen", 0x1c, "kdxapi"), ("kdxapi_crash_write", 0x30c, "kdxapi")]
    assert frames[0].exception and not frames[1].exception
