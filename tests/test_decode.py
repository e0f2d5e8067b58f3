"""Tests for kdumpext.decode on real x86-64 machine code, checked against objdump.

Every byte string below was read out of a real binary; the comment says which file
and the symbol+offset objdump -d labels it with, and the test uses the address.
"vmlinux 6.1.192" is the kernel sample-dumps/build-kernel.sh builds (build-id
bb23888eefa1b327cf5e7d37ca2da73cb244d730; a rebuild may move addresses, not
symbol+offset); "scst.ko" is sample-dumps/modules/scst built against it (build-id
597deb5812d7a2103b4fa373158bd136f96a950c; relocations not applied, so its calls
read ``e8 00 00 00 00``); libc.so.6 is Debian 12's libc6 2.36-9+deb12u14 and
python3.11 Debian 12's /usr/bin/python3.11 (their labels are the nearest
exported symbol).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import pytest

from kdumpext.decode import (
    DecodeError,
    Source,
    decode,
    decode_all,
    instructions_until,
    reg64,
    source_of,
    written_gpr,
)
from kdumpext.errors import KdumpextError
from kdumpext.model import MemOperand


@dataclass
class Case:
    """One real instruction: where it came from, objdump's spelling, our fields."""

    where: str
    address: int
    raw: str
    text: str  # objdump -d, without its "# ..." comment and " <symbol>"
    mem: Optional[MemOperand] = None
    access: str = ""
    extra: Dict[str, object] = field(default_factory=dict)


def _m(
    base: Optional[str],
    disp: int,
    size: int,
    index: Optional[str] = None,
    scale: int = 1,
    segment: Optional[str] = None,
) -> MemOperand:
    return MemOperand(base=base, index=index, scale=scale, disp=disp, size=size, segment=segment)


CASES: List[Case] = [
    Case("vmlinux 6.1.192 <mp_unregister_ioapic+0xf6>", 0xFFFFFFFF810376E6,
         "48 8b 7b 40", "mov 0x40(%rbx),%rdi", _m("rbx", 0x40, 8), "read",
         {"regs_read": ["rbx"], "regs_written": ["rdi"]}),
    Case("vmlinux 6.1.192 <bts_event_stop+0xcb>", 0xFFFFFFFF8100CCAB,
         "48 89 50 10", "mov %rdx,0x10(%rax)", _m("rax", 0x10, 8), "write",
         {"regs_read": ["rdx", "rax"], "regs_written": []}),
    Case("vmlinux 6.1.192 <shrink_folio_list+0x40b>", 0xFFFFFFFF810DAE9B,
         "41 01 46 08", "add %eax,0x8(%r14)", _m("r14", 0x8, 4), "read-write",
         {"regs_written": ["rflags"]}),
    Case("libc.so.6 0x88051 <pthread_cond_signal+0x231>", 0x88051,
         "41 01 77 18", "add %esi,0x18(%r15)", _m("r15", 0x18, 4), "read-write"),
    Case("vmlinux 6.1.192 <x86_pmu_dead_cpu+0xc>", 0xFFFFFFFF8100226C,
         "ff d0", "call *%rax", None, "",
         {"is_call": True, "reg_target": "rax", "target": None}),
    Case("vmlinux 6.1.192 <x86_pmu_enable+0xfc>", 0xFFFFFFFF8100391C,
         "ff 50 10", "call *0x10(%rax)", _m("rax", 0x10, 8), "read",
         {"is_call": True, "reg_target": None, "target": None}),
    Case("vmlinux 6.1.192 <cacheinfo_amd_init_llc_id+0x5e>", 0xFFFFFFFF810296EE,
         "0f b6 47 01", "movzbl 0x1(%rdi),%eax", _m("rdi", 0x1, 1), "read",
         {"regs_written": ["rax"]}),
    Case("libc.so.6 0x2869f <__gconv_get_alias_db+0x78f>", 0x2869F,
         "48 8b 44 c3 18", "mov 0x18(%rbx,%rax,8),%rax", _m("rbx", 0x18, 8, "rax", 8), "read"),
    Case("vmlinux 6.1.192 <calibrate_delay+0x2dd>", 0xFFFFFFFF810010ED,
         "4a 8b 54 f4 58", "mov 0x58(%rsp,%r14,8),%rdx", _m("rsp", 0x58, 8, "r14", 8), "read"),
    Case("python3.11 0x4227d7 <PySys_ResetWarnOptions+0x239>", 0x4227D7,
         "49 8b 44 c5 00", "mov 0x0(%r13,%rax,8),%rax", _m("r13", 0, 8, "rax", 8), "read"),
    Case("vmlinux 6.1.192 <xxh64+0x1cc>", 0xFFFFFFFF811B38FC,
         "48 8d 47 f8", "lea -0x8(%rdi),%rax", _m("rdi", -8, 0), ""),
    Case("vmlinux 6.1.192 <rewind_stack_and_make_dead+0x2> (current_task)", 0xFFFFFFFF81001332,
         "65 48 8b 04 25 d0 ab 01 00", "mov %gs:0x1abd0,%rax",
         _m(None, 0x1ABD0, 8, segment="gs"), "read"),
    Case("vmlinux 6.1.192 <do_one_initcall+0x94> (__preempt_count)", 0xFFFFFFFF810007E4,
         "65 8b 05 d5 a3 01 7f", "mov %gs:0x7f01a3d5(%rip),%eax",
         _m("rip", 0x7F01A3D5, 4, segment="gs"), "read"),
    Case("vmlinux 6.1.192 <task_contending+0xd>", 0xFFFFFFFF810788CD,
         "48 83 7f 18 00", "cmpq $0x0,0x18(%rdi)", _m("rdi", 0x18, 8), "read"),
    Case("vmlinux 6.1.192 <match_dev_by_uuid+0xc>", 0xFFFFFFFF8100090C,
         "48 63 56 08", "movslq 0x8(%rsi),%rdx", _m("rsi", 0x8, 4), "read"),
    Case("vmlinux 6.1.192 <__execute_only_pkey+0x6>", 0xFFFFFFFF81042E56,
         "0f bf af 2e 03 00 00", "movswl 0x32e(%rdi),%ebp", _m("rdi", 0x32E, 2), "read"),
    Case("vmlinux 6.1.192 <p4_pmu_schedule_events+0x117>", 0xFFFFFFFF81012777,
         "49 0f be 6c 35 14", "movsbq 0x14(%r13,%rsi,1),%rbp",
         _m("r13", 0x14, 1, "rsi", 1), "read"),
    Case("vmlinux 6.1.192 <__copy_xstate_to_uabi_buf+0x3a>", 0xFFFFFFFF81026AEA,
         "48 8b 82 40 02 00 00", "mov 0x240(%rdx),%rax", _m("rdx", 0x240, 8), "read"),
    Case("vmlinux 6.1.192 <name_to_dev_t+0xf0>", 0xFFFFFFFF81000A40,
         "c6 44 24 0b 00", "movb $0x0,0xb(%rsp)", _m("rsp", 0xB, 1), "write"),
    Case("vmlinux 6.1.192 <do_one_initcall+0x146>", 0xFFFFFFFF81000896,
         "0f 0b", "ud2", None, ""),
    Case("vmlinux 6.1.192 <secondary_startup_64_no_verify+0x57>", 0xFFFFFFFF810000BC,
         "ff e0", "jmp *%rax", None, "",
         {"is_jump": True, "is_call": False, "reg_target": "rax"}),
    Case("libc.so.6 0x176dea <__nss_database_lookup+0x24daa>", 0x176DEA,
         "3e ff e0", "notrack jmp *%rax", None, "", {"is_jump": True, "reg_target": "rax"}),
    Case("vmlinux 6.1.192 <vdso_fault+0x63>", 0xFFFFFFFF81001AC3,
         "f0 ff 40 34", "lock incl 0x34(%rax)", _m("rax", 0x34, 4), "read-write"),
    Case("vmlinux 6.1.192 <uncore_box_ref.part.0+0x63>", 0xFFFFFFFF81014D23,
         "f0 0f c1 47 18", "lock xadd %eax,0x18(%rdi)", _m("rdi", 0x18, 4), "read-write",
         {"regs_written": ["rax", "rflags"]}),
    # capstone 5 says "read" and no registers written; we correct both
    Case("vmlinux 6.1.192 <get_mm_exe_file+0x19>", 0xFFFFFFFF81043DE9,
         "f0 48 0f b1 4a 38", "lock cmpxchg %rcx,0x38(%rdx)", _m("rdx", 0x38, 8), "read-write",
         {"regs_written": ["rax", "rflags"]}),
    # rep: how many bytes is unknown, so size 0; the operand is movs's destination
    Case("vmlinux 6.1.192 <copy_mc_enhanced_fast_string+0x6>", 0xFFFFFFFF8127EEB6,
         "f3 a4", "rep movsb %ds:(%rsi),%es:(%rdi)", _m("rdi", 0, 0), "write",
         {"regs_written": ["rdi", "rsi", "rcx"]}),
    # capstone 5's AT&T operands say "read" here (the %rax operand is missing)
    Case("vmlinux 6.1.192 <initcall_blacklisted+0x3c>", 0xFFFFFFFF810006DC,
         "f3 48 ab", "rep stos %rax,%es:(%rdi)", _m("rdi", 0, 0), "write"),
    # capstone 5's AT&T operands leave out %cl and say "read"
    Case("vmlinux 6.1.192 <__do_sys_sysinfo+0xde>", 0xFFFFFFFF81056ADE,
         "48 d3 64 24 28", "shlq %cl,0x28(%rsp)", _m("rsp", 0x28, 8), "read-write"),
    # capstone 5 says "read" for setae/setb/... to memory (but "write" for sete)
    Case("vmlinux 6.1.192 <copy_vma+0xd5>", 0xFFFFFFFF810FA345,
         "0f 93 00", "setae (%rax)", _m("rax", 0, 1), "write"),
    # capstone 5 gives test mem,reg32 no access at all
    Case("vmlinux 6.1.192 <pollwake+0x7>", 0xFFFFFFFF81134B47,
         "85 4f f8", "test %ecx,-0x8(%rdi)", _m("rdi", -8, 4), "read"),
    Case("vmlinux 6.1.192 <startup_64+0x31>", 0xFFFFFFFF81000031,
         "e8 fa 05 00 00", "call 0xffffffff81000630", None, "",
         {"is_call": True, "target": 0xFFFFFFFF81000630, "regs_written": ["rsp"]}),
    Case("vmlinux 6.1.192 <verify_cpu+0x1d>", 0xFFFFFFFF8100016D,
         "75 16", "jne 0xffffffff81000185", None, "",
         {"is_jump": True, "target": 0xFFFFFFFF81000185}),
    Case("vmlinux 6.1.192 <verify_cpu+0xfc>", 0xFFFFFFFF8100024C,
         "0f 1f 40 00", "nopl 0x0(%rax)", None, ""),
    Case("vmlinux 6.1.192 <rapl_pmu_event_stop+0x50>", 0xFFFFFFFF81005FA0,
         "48 b8 00 01 00 00 00 00 ad de", "movabs $0xdead000000000100,%rax", None, ""),
    Case("vmlinux 6.1.192 <do_one_initcall+0xd>", 0xFFFFFFFF8100075D,
         "48 89 fb", "mov %rdi,%rbx", None, ""),
    Case("vmlinux 6.1.192 <verify_cpu+0x4d>", 0xFFFFFFFF8100019D,
         "b8 01 00 00 00", "mov $0x1,%eax", None, ""),
    Case("vmlinux 6.1.192 <perf_clear_dirty_counters+0x91>", 0xFFFFFFFF810053E1,
         "48 c7 c0 ff ff ff ff", "mov $0xffffffffffffffff,%rax", None, ""),
    Case("scst.ko .text+0x0 <scst_update_lat_stats>", 0x0,
         "53", "push %rbx", None, "", {"regs_read": ["rsp", "rbx"], "regs_written": ["rsp"]}),
    Case("scst.ko .text+0x2a <scst_update_lat_stats+0x2a>", 0x2A,
         "c3", "ret", None, "", {"is_ret": True, "is_jump": False}),
]


def _ids(case: Case) -> str:
    return case.text


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_fields(case: Case) -> None:
    insn = decode(bytes.fromhex(case.raw), case.address)
    assert insn.address == case.address
    assert insn.raw == bytes.fromhex(case.raw)
    assert insn.size == len(insn.raw)
    assert insn.text == case.text
    assert insn.mem == case.mem
    assert insn.access == case.access
    for name, want in case.extra.items():
        got = getattr(insn, name)
        if name.startswith("regs_"):  # capstone's order is no promise
            got, want = sorted(got), sorted(want)  # type: ignore[call-overload]
        assert got == want, name


def _objdump_text(raw: bytes, address: int) -> str:
    """What objdump prints for the first instruction of ``raw``, comment stripped."""
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(raw)
        f.flush()
        out = subprocess.run(
            ["objdump", "-D", "-w", "-b", "binary", "-m", "i386:x86-64",
             f"--adjust-vma={address:#x}", f.name],
            check=True, capture_output=True, text=True,
        ).stdout
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0].strip().rstrip(":"):
            return " ".join(parts[2].split("#")[0].split())
    raise AssertionError(f"no instruction in objdump output:\n{out}")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_text_is_objdumps(case: Case) -> None:
    if shutil.which("objdump") is None:
        pytest.skip("objdump (binutils) not installed; the spelling is checked literally in test_fields")
    raw = bytes.fromhex(case.raw)
    assert decode(raw, case.address).text == _objdump_text(raw, case.address)


# --- named differences from objdump ------------------------------------------------


def test_padding_nops_differ_from_objdump() -> None:
    """capstone decodes ``66 90`` as nop (objdump: ``xchg %ax,%ax``) and has no
    ``data16`` for a repeated 0x66; both are only ever padding."""
    # vmlinux 6.1.192 <startup_64+0x5e>
    assert decode(bytes.fromhex("66 90"), 0xFFFFFFFF8100005E).text == "nop"
    # vmlinux 6.1.192 <secondary_startup_64_no_verify+0xdf>: objdump says
    # "data16 cs nopw 0x0(%rax,%rax,1)"
    insn = decode(bytes.fromhex("66 66 2e 0f 1f 84 00 00 00 00 00"), 0xFFFFFFFF81000144)
    assert insn.text == "cs nopw 0x0(%rax,%rax,1)"
    assert insn.mem is None and insn.access == ""


def test_ud1_is_two_bytes_in_capstone() -> None:
    """capstone 5 decodes ud1 without its ModRM byte: 2 bytes where the CPU (and
    objdump: ``ud1 %esp,%ecx``) takes 3. Static-call trampolines end in it.
    If this fails, capstone was fixed: drop the note in the report."""
    # vmlinux 6.1.192 <__SCT__x86_pmu_handle_irq+0x5>
    insn = decode(bytes.fromhex("0f b9 cc"), 0xFFFFFFFF8160000D)
    assert (insn.mnemonic, insn.size) == ("ud1", 2)


# --- intel syntax, errors ------------------------------------------------------------


def test_intel_spelling_same_fields() -> None:
    # vmlinux 6.1.192 <mp_unregister_ioapic+0xf6>
    raw = bytes.fromhex("48 8b 7b 40")
    att, intel = decode(raw, 0xFFFFFFFF810376E6), decode(raw, 0xFFFFFFFF810376E6, intel=True)
    assert intel.text == "mov rdi, qword ptr [rbx + 0x40]"
    assert (intel.mem, intel.access, intel.regs_written) == (att.mem, att.access, att.regs_written)


def test_truncated_instruction_raises() -> None:
    # the first two bytes of vmlinux <mp_unregister_ioapic+0xf6> "48 8b 7b 40"
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex("48 8b"), 0xFFFFFFFF810376E6)
    assert isinstance(info.value, KdumpextError)
    assert "0xffffffff810376e6" in str(info.value)
    with pytest.raises(DecodeError):
        decode(b"", 0x1000)


# --- a whole function: the sample scenario's faulting function ----------------------

# scst.ko .text+0x0..0x30, <scst_update_lat_stats> (sample-dumps/modules/scst/scst.c):
# it oopses at +0x11 reading cmd->dev->vdev_update_lat_stats with cmd->dev NULL.
SCST_UPDATE_LAT_STATS = bytes.fromhex(
    "534889fbe80000000048894328488b4340488b80400200004885c074054889dfffd0"
    "c7431c000000005bc30f1f440000"
)
SCST_OBJDUMP = [  # objdump -d scst.ko, targets as -b binary prints them
    "push %rbx",
    "mov %rdi,%rbx",
    "call 0x9",
    "mov %rax,0x28(%rbx)",
    "mov 0x40(%rbx),%rax",
    "mov 0x240(%rax),%rax",
    "test %rax,%rax",
    "je 0x22",
    "mov %rbx,%rdi",
    "call *%rax",
    "movl $0x0,0x1c(%rbx)",
    "pop %rbx",
    "ret",
    "nopl 0x0(%rax,%rax,1)",
]


def test_decode_all_function() -> None:
    insns = decode_all(SCST_UPDATE_LAT_STATS, 0)
    assert [i.text for i in insns] == SCST_OBJDUMP
    assert sum(i.size for i in insns) == len(SCST_UPDATE_LAT_STATS)
    fault = insns[5]
    assert (fault.address, fault.mem, fault.access) == (0x11, _m("rax", 0x240, 8), "read")


def test_decode_all_stops_at_bad_bytes() -> None:
    # the function up to the middle of "mov 0x40(%rbx),%rax" at +0xd
    insns = decode_all(SCST_UPDATE_LAT_STATS[:0xF], 0)
    assert [i.address for i in insns] == [0x0, 0x1, 0x4, 0x9]
    assert decode_all(b"", 0) == []


def test_instructions_until_pc() -> None:
    before = instructions_until(SCST_UPDATE_LAT_STATS, 0, 0x11)
    assert [i.text for i in before] == SCST_OBJDUMP[:5]
    assert instructions_until(SCST_UPDATE_LAT_STATS, 0, 0) == []
    whole = instructions_until(SCST_UPDATE_LAT_STATS, 0, len(SCST_UPDATE_LAT_STATS))
    assert len(whole) == len(SCST_OBJDUMP)
    # a module loaded at a kernel address: same sweep, moved
    moved = instructions_until(SCST_UPDATE_LAT_STATS, 0xFFFFFFFFC0000000, 0xFFFFFFFFC0000011)
    assert moved[-1].address == 0xFFFFFFFFC000000D


def test_instructions_until_misses_pc() -> None:
    with pytest.raises(DecodeError, match="steps over pc"):
        instructions_until(SCST_UPDATE_LAT_STATS, 0, 0x12)  # inside the faulting mov
    with pytest.raises(DecodeError, match="outside"):
        instructions_until(SCST_UPDATE_LAT_STATS, 0x10, 0x8)
    with pytest.raises(DecodeError, match="stops before pc"):
        instructions_until(SCST_UPDATE_LAT_STATS[:0xF], 0, 0xF)


# --- back-tracking: which register came from where -----------------------------------


def test_back_track_scst_fault() -> None:
    """The base register of the fault, %rax, came from cmd->dev (0x40(%rbx)),
    and %rbx from the argument %rdi."""
    insns = decode_all(SCST_UPDATE_LAT_STATS, 0)
    assert source_of(insns[4]) == Source("load", "rax", 8, mem=_m("rbx", 0x40, 8))
    assert source_of(insns[1]) == Source("copy", "rbx", 8, reg="rdi")
    assert source_of(insns[2]) == Source("call", "rax", 8, value=0x9)
    assert source_of(insns[9]) == Source("call", "rax", 8, reg="rax")
    assert source_of(insns[3]) is None  # a store
    assert source_of(insns[6]) is None  # test writes only flags
    assert written_gpr(insns[5]) == "rax"
    assert written_gpr(insns[3]) is None


@pytest.mark.parametrize(
    "raw, address, dest, source",
    [
        # vmlinux 6.1.192 <cacheinfo_amd_init_llc_id+0x5e>
        ("0f b6 47 01", 0xFFFFFFFF810296EE, "rax",
         Source("load", "rax", 4, mem=_m("rdi", 1, 1), extend="zero")),
        # vmlinux 6.1.192 <match_dev_by_uuid+0xc>
        ("48 63 56 08", 0xFFFFFFFF8100090C, "rdx",
         Source("load", "rdx", 8, mem=_m("rsi", 8, 4), extend="sign")),
        # vmlinux 6.1.192 <p4_pmu_schedule_events+0x117>
        ("49 0f be 6c 35 14", 0xFFFFFFFF81012777, "rbp",
         Source("load", "rbp", 8, mem=_m("r13", 0x14, 1, "rsi", 1), extend="sign")),
        # vmlinux 6.1.192 <rewind_stack_and_make_dead+0x2>
        ("65 48 8b 04 25 d0 ab 01 00", 0xFFFFFFFF81001332, "rax",
         Source("load", "rax", 8, mem=_m(None, 0x1ABD0, 8, segment="gs"))),
        # vmlinux 6.1.192 <xxh64+0x1cc>
        ("48 8d 47 f8", 0xFFFFFFFF811B38FC, "rax", Source("lea", "rax", 8, mem=_m("rdi", -8, 0))),
        # vmlinux 6.1.192 <verify_cpu+0x4d>
        ("b8 01 00 00 00", 0xFFFFFFFF8100019D, "rax", Source("imm", "rax", 4, value=1)),
        # vmlinux 6.1.192 <perf_clear_dirty_counters+0x91>
        ("48 c7 c0 ff ff ff ff", 0xFFFFFFFF810053E1, "rax",
         Source("imm", "rax", 8, value=0xFFFFFFFFFFFFFFFF)),
        # vmlinux 6.1.192 <rapl_pmu_event_stop+0x50>
        ("48 b8 00 01 00 00 00 00 ad de", 0xFFFFFFFF81005FA0, "rax",
         Source("imm", "rax", 8, value=0xDEAD000000000100)),
        # scst.ko <scst_cmd_thread+0x89>: xor %eax,%eax
        ("31 c0", 0xE9, "rax", Source("imm", "rax", 4, value=0)),
        # scst.ko <scst_cmd_thread+0x8b>: pop %rbx
        ("5b", 0xEB, "rbx", Source("other", "rbx", 8)),
        # vmlinux 6.1.192 <shrink_folio_list+0x40b>: add %eax,0x8(%r14) writes memory
        ("41 01 46 08", 0xFFFFFFFF810DAE9B, None, None),
        # libc.so.6 0x2869f: mov 0x18(%rbx,%rax,8),%rax
        ("48 8b 44 c3 18", 0x2869F, "rax",
         Source("load", "rax", 8, mem=_m("rbx", 0x18, 8, "rax", 8))),
        # vmlinux 6.1.192 <initcall_blacklisted+0x3c>: rep stos, implicit registers only
        ("f3 48 ab", 0xFFFFFFFF810006DC, None, None),
    ],
)
def test_source_of(raw: str, address: int, dest: Optional[str], source: Optional[Source]) -> None:
    insn = decode(bytes.fromhex(raw), address)
    assert written_gpr(insn) == dest
    assert source_of(insn) == source


def test_source_of_other_with_memory_input() -> None:
    # scst.ko <scst_dev_lat_stats+0x11>: sub 0x28(%rbx),%rax
    insn = decode(bytes.fromhex("48 2b 43 28"), 0x1A1)
    assert insn.text == "sub 0x28(%rbx),%rax"
    assert source_of(insn) == Source("other", "rax", 8, mem=_m("rbx", 0x28, 8))


# --- registers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, want",
    [
        ("rax", "rax"), ("eax", "rax"), ("ax", "rax"), ("al", "rax"), ("ah", "rax"),
        ("dil", "rdi"), ("di", "rdi"), ("edi", "rdi"), ("sil", "rsi"), ("bpl", "rbp"),
        ("spl", "rsp"), ("r10d", "r10"), ("r10w", "r10"), ("r10b", "r10"), ("r8", "r8"),
        ("R15D", "r15"), ("rip", "rip"), ("eip", "rip"),
        ("gs", None), ("rflags", None), ("xmm0", None), ("cr3", None), ("", None),
    ],
)
def test_reg64(name: str, want: Optional[str]) -> None:
    assert reg64(name) == want


def test_register_names_are_drgns() -> None:
    """Every GPR name decode() reports is one drgn uses for x86-64."""
    drgn_names = {f"r{n}" for n in range(8, 16)} | {
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip",
    }
    for case in CASES:
        insn = decode(bytes.fromhex(case.raw), case.address)
        for name in insn.regs_read + insn.regs_written:
            assert name in drgn_names or reg64(name) is None, (case.text, name)
