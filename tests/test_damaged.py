"""Damage-aware verdicts: a dump whose memory contradicts its own oops report gets a low-confidence verdict that says so."""

from __future__ import annotations

import json
import lzma
import os
import shutil
import struct
from typing import Tuple

import pytest

from corpus import BUILD, case
from kdumpext.context import CrashContext
from kdumpext.model import Frame, Instruction, TaskInfo, Verdict
from kdumpext.oops import parse_oops
from kdumpext.triage import _panic_verdict, damage_signs, triage


def _unpack(path: str, out: str) -> str:
    if path.endswith(".xz"):
        with lzma.open(path) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    else:
        shutil.copyfile(path, out)
    return out


def _page_data_offset(dump: str, address: int) -> Tuple[int, int]:
    """``(file offset, saved size)`` of the byte at kernel virtual ``address`` in an uncompressed
    kdump-compressed dump: the page's descriptor is found by its rank in the dumpable bitmap."""
    from drgn.helpers.linux.mm import follow_phys

    from kdumpext.dump import kdump_geometry, open_dump

    opened = open_dump(dump, debug_dirs=[BUILD])
    pa = int(follow_phys(opened.prog["init_mm"].address_of_(), address))
    with open(dump, "rb") as f:
        data = f.read()
    geo = kdump_geometry(data[:464])
    assert geo is not None
    block, sub, half = geo
    bitmap = data[block * (1 + sub) + half: block * (1 + sub) + 2 * half]
    pfn = pa // 4096
    rank = sum(bin(b).count("1") for b in bitmap[: pfn // 8]) + bin(bitmap[pfn // 8] & ((1 << pfn % 8) - 1)).count("1")
    offset, size, flags = struct.unpack_from("<qII", data, block * (1 + sub) + 2 * half + 24 * rank)
    assert flags == 0, "the sample's pages are stored uncompressed (kdx_compress=none)"
    return offset + pa % 4096, size


def test_code_that_is_not_what_the_kernel_printed_is_damage(tmp_path: "os.PathLike[str]") -> None:
    """lkdtm-access-null faults on ``mov 0x0,%rbx`` (48 8b 1c 25 00 00 00 00), which its Code: line
    prints; the dump's copy of that page is edited to ``mov 0x8(%rsp),%rbx``.  The dump still opens
    and decodes, but its code contradicts the log: low confidence, said, and the log's verdict."""
    c = case("lkdtm-access-null")
    healthy = triage(c.dump, debug_dirs=[BUILD])
    assert healthy.verdict.confidence == "high" and not healthy.warnings
    pc = healthy.verdict.instruction.address if healthy.verdict.instruction else 0
    path = _unpack(c.dump, os.path.join(tmp_path, "dump"))
    at, size = _page_data_offset(path, pc)
    assert size == 4096
    with open(path, "r+b") as f:
        f.seek(at)
        assert f.read(5) == bytes.fromhex("488b1c2500")
        f.seek(at)
        f.write(bytes.fromhex("488b5c2408"))
    damaged = triage(path, debug_dirs=[BUILD])
    v = damaged.verdict
    assert v.confidence == "low"
    assert v.undecided.startswith("damaged dump: the code at lkdtm_ACCESS_NULL+0x13 (48 8b 5c 24 08) is not what "
                                  "the kernel printed in its Code: line (48 8b 1c 25 00)")
    assert "explained from the kernel log saved in the dump" in v.undecided
    assert damaged.warnings[0] == v.undecided
    assert damaged.damage == [v.undecided[len("damaged dump: "):].split("; explained")[0]]
    # the log's own explanation: the same instruction, class and bucket as the healthy dump's
    assert v.instruction is not None and v.instruction.text == "mov 0x0,%rbx"
    assert (v.crash_class, v.bucket) == (healthy.verdict.crash_class, healthy.verdict.bucket)


def _ctx(scenario: str, pid: int = -1) -> CrashContext:
    with open(case(scenario).dmesg, errors="replace") as f:
        dmesg = f.read()
    oops = parse_oops(dmesg)
    assert oops is not None and oops.pid is not None
    task = TaskInfo(pid=oops.pid if pid < 0 else pid, comm=oops.comm, cpu=oops.cpu or 0, address=0)
    return CrashContext(task, object(), oops, dmesg)  # type: ignore[arg-type]  # any thread object


def _frame(function: str, exception: bool = True, pc: int = 0xffffffff8127dfef) -> Frame:
    return Frame(0, pc, function, 0x13, "", "", 0, False, exception, 0, {})


def test_damage_signs_on_real_logs() -> None:
    ctx = _ctx("lkdtm-access-null")
    ok = Verdict("null-deref")
    ok.instruction = Instruction(0xffffffff8127dfef, 8, bytes.fromhex("488b1c2500000000"), "mov", "0x0,%rbx")
    assert damage_signs(ctx, [_frame("lkdtm_ACCESS_NULL")], ok) == []
    # the dump's exception frame is in another function than the log's RIP
    assert damage_signs(ctx, [_frame("lkdtm_WRITE_RO")], ok) == [
        "the kernel log's RIP is in lkdtm_ACCESS_NULL+0x13, the dump's exception frame in lkdtm_WRITE_RO"]
    # a register the dump saved is not the one the kernel printed (a damaged crash note)
    regs = dict(ctx.oops.registers) if ctx.oops else {}
    regs["rbx"] ^= 0x40
    assert damage_signs(ctx, [Frame(0, 0xffffffff8127dfef, "lkdtm_ACCESS_NULL", 0x13, exception=True,
                                    registers=regs)], ok) == [
        f"at the exception frame %rbx is {regs['rbx']:#x} in the dump, {regs['rbx'] ^ 0x40:#x} in the oops report"]
    # the log reports a page fault, the dump's stack has no exception frame: panic() is not the answer
    signs = damage_signs(ctx, [_frame("panic", exception=False)], Verdict("panic"))
    assert signs == ['the kernel log reports "BUG: kernel NULL pointer dereference, address: 0000000000000000" '
                     "but the crashed task's stack has no exception frame"]
    # another task's oops in the log is not this crash's report: nothing to compare
    assert damage_signs(_ctx("lkdtm-access-null", pid=4242), [_frame("lkdtm_WRITE_RO")], ok) == []
    # nothing readable at all
    empty = CrashContext(None, None, None, "")
    assert damage_signs(empty, [], Verdict("panic")) == ["the crashed task cannot be read",
                                                         "the kernel log cannot be read"]


def test_sysrq_panic_log_is_not_damage() -> None:
    """A plain panic() has no oops report to contradict."""
    with open(case("sysrq-panic").dmesg, errors="replace") as f:
        dmesg = f.read()
    assert parse_oops(dmesg) is None
    ctx = CrashContext(TaskInfo(1, "sh", 0), object(), None, dmesg)  # type: ignore[arg-type]
    assert damage_signs(ctx, [_frame("sysrq_handle_crash", exception=False)], Verdict("panic")) == []


@pytest.mark.parametrize("frames", [[], [_frame("panic", exception=False)]])
def test_panic_without_a_caller_is_not_confident(frames: "list[Frame]") -> None:
    v = _panic_verdict(CrashContext(None, None, None, ""), frames)
    assert v.confidence == "low" and v.undecided


def _elf_file_offset(dump: str, address: int) -> int:
    """File offset of kernel virtual ``address`` in an ELF vmcore (through its PT_LOAD physical addresses)."""
    from drgn.helpers.linux.mm import follow_phys

    from kdumpext.dump import open_dump

    opened = open_dump(dump, debug_dirs=[BUILD])
    pa = int(follow_phys(opened.prog["init_mm"].address_of_(), address))
    with open(dump, "rb") as f:
        head = f.read(1 << 16)
    phoff, = struct.unpack_from("<Q", head, 32)
    phnum, = struct.unpack_from("<H", head, 56)
    for i in range(phnum):
        p_type, _fl, off, _va, paddr, filesz = struct.unpack_from("<IIQQQQ", head, phoff + i * 56)
        if p_type == 1 and paddr <= pa < paddr + filesz:
            return off + pa - paddr
    raise AssertionError(f"{address:#x} is not in {dump}")


def test_unreadable_log_in_a_dump_saved_at_an_oops(tmp_path: "os.PathLike[str]") -> None:
    """scst-null-dev-elf with its printk text ring overwritten: the registers and code still give
    the verdict, but a dump saved at an exception whose log has no oops is damaged (low); batch
    then explains the crash from the dmesg saved beside the dump."""
    from drgn.helpers.linux.mm import follow_phys  # noqa: F401 - needs drgn's helpers

    from kdumpext.batch import Item, Options, analyse
    from kdumpext.dump import open_dump

    c = case("scst-null-dev-elf")
    d = os.path.join(tmp_path, "202612061822")
    os.makedirs(d)
    path = _unpack(c.dump, os.path.join(d, "dump.202612061822"))
    prb = open_dump(path, debug_dirs=[BUILD]).prog["prb"]
    data = prb.text_data_ring.data.value_()
    size = 1 << prb.text_data_ring.size_bits.value_()
    with open(path, "r+b") as f:
        for page in range(data & ~0xfff, data + size, 4096):
            f.seek(_elf_file_offset(path, page))
            f.write(b"\xff" * 4096)
    r = triage(path, debug_dirs=[BUILD])
    assert r.damage == ["the dump was saved at an exception (an oops) but its kernel log has no oops report"]
    assert (r.verdict.bucket, r.verdict.confidence) == (c.expected["bucket"], "low")
    shutil.copyfile(c.dmesg, os.path.join(d, "dmesg.202612061822"))
    row = analyse(Item(dump=path, dmesg=os.path.join(d, "dmesg.202612061822")), Options(None, [BUILD]))
    assert row["source"] != "dump" and row["bucket"] == c.expected["bucket"], row
    assert "damaged dump: the dump was saved at an exception" in json.dumps(row)
