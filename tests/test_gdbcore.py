"""Tests for kdumpext.gdbcore: the ELF core writer on its own, and cores of the sample dumps read back with pyelftools."""

from __future__ import annotations

import glob
import io
import os
import struct
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

from conftest import need
from corpus import BUILD, SAMPLES

from elftools.elf.elffile import ELFFile

from kdumpext import gdbcore
from kdumpext.gdbcore import (
    PAGE,
    PRSTATUS_REGS,
    PRSTATUS_SIZE,
    CoreWriter,
    Region,
    bitmap_runs,
    intersect,
    merge_regions,
    module_sections,
    present_pieces,
    prpsinfo,
    prstatus,
)

KDUMPEXT = os.path.join(os.path.dirname(sys.executable), "kdumpext")


# -- pure parts --------------------------------------------------------------------------------


def _regs_of(desc: bytes) -> Dict[str, int]:
    values = struct.unpack_from("<27Q", desc, 112)
    return dict(zip(PRSTATUS_REGS, values))


def test_prstatus_layout() -> None:
    regs = {"rip": 0xFFFFFFFFC03DA011, "rsp": 0xFFFFA442C00DBEB8, "rax": 0, "rflags": 0x212, "fs.base": 7,
            "r15": 1, "gs": 0x2B}
    desc = prstatus(33, regs)
    assert len(desc) == PRSTATUS_SIZE == 336
    assert struct.unpack_from("<i", desc, 32)[0] == 33
    got = _regs_of(desc)
    assert got["rip"] == regs["rip"] and got["rsp"] == regs["rsp"] and got["rflags"] == 0x212
    assert got["fs.base"] == 7 and got["r15"] == 1 and got["gs"] == 0x2B
    assert got["orig_rax"] == 0xFFFF_FFFF_FFFF_FFFF  # no system call
    assert got["rbx"] == 0  # missing registers are 0
    # the order of struct user_regs_struct: r15 first, rip the 17th, gs last
    assert struct.unpack_from("<Q", desc, 112)[0] == 1
    assert struct.unpack_from("<Q", desc, 112 + 16 * 8)[0] == regs["rip"]
    assert struct.unpack_from("<Q", desc, 112 + 26 * 8)[0] == 0x2B


def test_prpsinfo_layout() -> None:
    desc = prpsinfo(33, "scstd30", "Linux 6.1.192 dump.1")
    assert len(desc) == 136
    assert struct.unpack_from("<i", desc, 24)[0] == 33
    assert desc[40:56].rstrip(b"\0") == b"scstd30"
    assert desc[56:136].rstrip(b"\0") == b"Linux 6.1.192 dump.1"


def _write(pieces: List[Tuple[int, bytes]], notes: Sequence[Tuple[int, bytes]] = ()) -> bytes:
    buf = io.BytesIO()
    w = CoreWriter(buf)
    for addr, data in pieces:
        w.add(addr, data)
    for ntype, desc in notes:
        w.add_note(b"CORE", ntype, desc)
    w.close()
    return buf.getvalue()


def _loads(elf: ELFFile) -> List[Tuple[int, int, bytes]]:
    return [(s["p_vaddr"], s["p_memsz"], s.data()) for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]


def test_writer_merges_contiguous_splits_gaps_and_reads_back() -> None:
    base = 0xFFFF_8880_0000_0000
    a = bytes(range(256)) * 16  # one page
    zero = bytes(PAGE)
    raw = _write([(base, a), (base + PAGE, zero), (base + 2 * PAGE, a),  # contiguous: one segment
                  (base + 5 * PAGE, a[:100])],  # after a gap (pages not in the dump): a new one
                 [(1, prstatus(1, {"rip": 0xFFFFFFFF81000000}))])
    elf = ELFFile(io.BytesIO(raw))
    assert elf["e_type"] == "ET_CORE" and elf["e_machine"] == "EM_X86_64"
    loads = _loads(elf)
    assert [(v, n) for v, n, _d in loads] == [(base, 3 * PAGE), (base + 5 * PAGE, 100)]
    assert loads[0][2] == a + zero + a and loads[1][2] == a[:100]
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD":
            assert seg["p_offset"] % PAGE == seg["p_vaddr"] % PAGE  # p_align = PAGE holds
    notes = [n for s in elf.iter_segments() if s["p_type"] == "PT_NOTE" for n in s.iter_notes()]
    assert [n["n_name"] for n in notes] == ["CORE"]
    assert notes[0]["n_descsz"] == PRSTATUS_SIZE


def test_writer_leaves_zero_pages_as_holes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """All-zero pages are not written: the file is sparse, and reads back as zeros."""
    path = tmp_path / "sparse.core"
    data = b"\x01" * PAGE + bytes(64 * PAGE) + b"\x02" * PAGE
    with open(path, "wb") as f:
        w = CoreWriter(f)
        w.add(0xFFFF_8880_0000_0000, data)
        w.close()
    st = os.stat(path)
    assert st.st_size > len(data)
    assert st.st_blocks * 512 < len(data) // 2, "zero pages took disk space"
    with open(path, "rb") as f:
        (seg,) = [s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]
        assert seg.data() == data


def test_writer_rejects_overlap() -> None:
    w = CoreWriter(io.BytesIO())
    w.add(0x1000, b"x" * 0x2000)
    with pytest.raises(ValueError):
        w.add(0x2000, b"y")


def test_writer_many_segments_use_pn_xnum() -> None:
    """More than 65534 PT_LOADs: e_phnum is PN_XNUM and section header 0 holds the count."""
    n = 70000
    raw = _write([(0x10000 + i * 2 * PAGE, b"\x01") for i in range(n)])
    e_phnum, = struct.unpack_from("<H", raw, 56)
    assert e_phnum == 0xFFFF
    elf = ELFFile(io.BytesIO(raw))
    assert elf.num_segments() == n + 1  # + PT_NOTE


def test_present_pieces_skips_missing_pages() -> None:
    missing = {3, 4, 300, 301, 302}  # page numbers the "dump" lacks

    class Fault(Exception):
        pass

    reads: List[Tuple[int, int]] = []

    def read(addr: int, size: int) -> bytes:
        reads.append((addr, size))
        for p in range(addr // PAGE, (addr + size + PAGE - 1) // PAGE):
            if p in missing:
                raise Fault(hex(p * PAGE))
        return bytes([addr // PAGE % 251]) * size

    start, end = 0x800, 512 * PAGE + 0x10  # unaligned ends: partial first and last pages
    got = list(present_pieces(read, start, end, Fault))
    pages = set()
    for addr, data in got:
        assert data[:1] == bytes([addr // PAGE % 251])  # each piece is the bytes read at its address
        pages.update(range(addr // PAGE, (addr + len(data) - 1) // PAGE + 1))
    assert pages == set(range(0, 513)) - missing
    assert sum(len(d) for _a, d in got) == end - start - len(missing) * PAGE
    assert got == sorted(got)
    assert len(reads) < 60  # megabyte reads, halved only around the holes


def test_bitmap_runs() -> None:
    assert bitmap_runs(b"") == []
    assert bitmap_runs(b"\x00\xff\xff\x00") == [(8 * PAGE, 24 * PAGE)]
    # LSB first: 0b00000110 -> pages 1 and 2; 0x80 then 0x01 join across the byte boundary
    assert bitmap_runs(b"\x06\x00\x80\x01") == [(1 * PAGE, 3 * PAGE), (23 * PAGE, 25 * PAGE)]
    assert bitmap_runs(b"\xff\x0f") == [(0, 12 * PAGE)]


def test_merge_and_intersect() -> None:
    rs = merge_regions([Region(0x3000, 0x5000, "b"), Region(0x1000, 0x4000, "a", phys=0x100),
                        Region(0x1000, 0x2000, "inside a")])
    assert [(r.start, r.end, r.what, r.phys) for r in rs] == [(0x1000, 0x4000, "a", 0x100), (0x4000, 0x5000, "b", None)]
    assert intersect([(0, 10), (20, 30)], [(5, 25)]) == [(5, 10), (20, 25)]
    assert intersect([(0, 10)], []) == []


def test_module_sections() -> None:
    addrs = {".text": 0xC000, ".data": 0xE000, ".init.text": 0x20000, ".symtab": 0xF000, ".bss": 0xE100}
    alloc = {".text", ".data", ".init.text", ".modinfo", ".bss"}
    places, nxt = module_sections(addrs, [(0xC000, 0x10000)], alloc)
    assert places[0] == (".text", 0xC000)
    d = dict(places)
    assert d[".data"] == 0xE000 and d[".bss"] == 0xE100
    assert ".symtab" not in d  # not SHF_ALLOC in the file
    # freed (.init.text after init) and dropped (.modinfo) sections go to non-canonical addresses
    assert d[".init.text"] >= 1 << 63 and d[".modinfo"] >= 1 << 63 and d[".init.text"] != d[".modinfo"]
    assert nxt > max(d[".init.text"], d[".modinfo"])


# -- cores of the sample dumps ----------------------------------------------------------------------


def _dump(scenario: str = "scst-null-dev") -> str:
    dumps = sorted(glob.glob(os.path.join(SAMPLES, scenario, "*", "dump.*")))
    need(len(dumps) == 1, f"sample-dumps/{scenario}/<stamp>/dump.<stamp> is missing (sample-dumps/generate)")
    need(os.path.exists(os.path.join(BUILD, "vmlinux.xz")), "sample-dumps/build/vmlinux.xz is missing")
    return dumps[0]


_OPENED: Dict[str, object] = {}


def _opened(scenario: str = "scst-null-dev"):  # type: ignore[no-untyped-def]
    if scenario not in _OPENED:
        os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
        from kdumpext.dump import open_dump

        _OPENED[scenario] = open_dump(_dump(scenario), debug_dirs=[BUILD])
    return _OPENED[scenario]


def _covering(elf: ELFFile, addr: int) -> Optional[object]:
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= addr < seg["p_vaddr"] + seg["p_memsz"]:
            return seg
    return None


@pytest.mark.parametrize("scenario", ["scst-null-dev", "scst-null-dev-elf", "scst-null-dev-flat", "cpu1-null"])
def test_core_of_sample_dump(scenario: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The crashed thread's NT_PRSTATUS comes first with drgn's registers; rip, rsp and
    the stack, the module, kernel text and slab memory are all in PT_LOADs with the dump's bytes."""
    opened = _opened(scenario)
    prog = opened.prog
    crashed = prog.crashed_thread()
    regs = {k: int(v) for k, v in crashed.stack_trace()[0].registers().items()}
    path = str(tmp_path / "x.core")
    summary = gdbcore.write_core(prog, path, present=gdbcore.present_map(opened.info.path))
    assert summary.threads[0].why == "crashed"
    assert len({t.lwp for t in summary.threads}) == len(summary.threads), "gdb needs distinct LWPs"
    with open(path, "rb") as f:
        elf = ELFFile(f)
        notes = [n for s in elf.iter_segments() if s["p_type"] == "PT_NOTE" for n in s.iter_notes()]
        prs = [n for n in notes if n["n_type"] == "NT_PRSTATUS"]
        assert len(prs) == len(summary.threads)
        first = prs[0]["n_desc"]
        first = first if isinstance(first, bytes) else first.encode("latin-1")
        assert struct.unpack_from("<i", first, 32)[0] == int(crashed.object.pid)
        got = _regs_of(first)
        for name in ("rip", "rsp", "rax", "rbx", "rdi", "rflags"):
            assert got[name] == regs[name], name
        addrs = {"rip": regs["rip"], "rsp": regs["rsp"], "task": int(crashed.object.value_()),
                 "_text": prog.symbol("_text").address}
        for mod in prog.modules():
            if mod.name == "scst":
                addrs["scst .text"] = mod.section_addresses[".text"]
        for what, addr in addrs.items():
            seg = _covering(elf, addr)
            assert seg is not None, f"{what} {addr:#x} is in no PT_LOAD"
            off = addr - seg["p_vaddr"]  # type: ignore[index]
            assert seg.data()[off:off + 16] == prog.read(addr, 16), what  # type: ignore[attr-defined]


def test_thread_limit() -> None:
    """The crashed thread and the CPUs' current tasks always; other tasks up to the limit."""
    prog = _opened().prog
    everyone = gdbcore.core_threads(prog)
    assert len(everyone) > 10 and everyone[0].why == "crashed"
    few = gdbcore.core_threads(prog, max_threads=3)
    running = [t for t in everyone if t.why != "task"]
    assert [t.lwp for t in few[:len(running)]] == [t.lwp for t in running]
    assert len(few) == max(3, len(running))
    only = gdbcore.core_threads(prog, all_tasks=False)
    assert [t.lwp for t in only] == [t.lwp for t in running]


def test_present_map_agrees_across_formats() -> None:
    """One capture saved three ways: the compressed and flattened bitmaps are the same pages,
    and the ELF's PT_LOADs hold them all."""
    a = gdbcore.present_map(_dump("scst-null-dev"))
    b = gdbcore.present_map(_dump("scst-null-dev-flat"))
    elf = gdbcore.present_map(_dump("scst-null-dev-elf"))
    assert a and b and elf
    assert all(s % PAGE == 0 and e % PAGE == 0 and s < e for s, e in a)
    assert a == b
    assert intersect(a, elf) == a


def test_gdb_commands() -> None:
    opened = _opened()
    prog = opened.prog
    cmds = gdbcore.gdb_commands(opened, "/tmp/some dir/x.core")
    offset = prog.symbol("_text").address - 0xFFFFFFFF81000000
    assert cmds[0] == f"symbol-file -o {offset:#x} {opened.info.vmlinux}"
    assert cmds[-1] == "core-file '/tmp/some dir/x.core'"
    # the same symbols without the core (what kdump open runs before connecting to the server)
    assert gdbcore.symbol_commands(opened) == cmds[:-1]
    adds = [c for c in cmds if c.startswith("add-symbol-file")]
    assert len(adds) == len(opened.module_files) == 2
    text = {m.name: m.section_addresses[".text"] for m in prog.modules() if m.name in ("scst", "kdx")}
    for c in adds:
        name = os.path.basename(c.split()[1]).split(".")[0]
        assert f"-s .text {text[name]:#x}" in c


def test_cached_core(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Written once into the cache (never next to the dump), atomically, then reused; the
    cores of the dump's earlier versions go, those of other dumps stay."""
    from kdumpext import cache

    monkeypatch.setenv("KDUMPEXT_CACHE_DIR", str(tmp_path))
    opened = _opened()
    before = set(os.listdir(os.path.dirname(opened.info.path)))
    store = cache.Store("gdb-core", hold=False)
    dump = os.path.abspath(opened.info.path)
    old, _ = store.fill("old", "x.core", lambda f: f.write(b"core of an earlier version"),
                        source=f"{dump}\0True")  # as cached_core() names its source
    other, _ = store.fill("other", "y.core", lambda f: f.write(b"core of another dump"), source="/elsewhere\0True")
    path, summary = gdbcore.cached_core(opened)
    assert summary is not None and path.startswith(str(tmp_path)) and path == gdbcore.core_cache_path(dump)
    assert summary.path == path and os.path.getsize(path) > 0
    assert not os.path.exists(old) and os.path.exists(other)
    assert not [f for _d, _s, fs in os.walk(tmp_path) for f in fs if f.startswith(".tmp")]
    again, summary2 = gdbcore.cached_core(opened)
    assert again == path and summary2 is None
    kinds = {e.kind for e in cache.list_entries()}
    assert kinds == {"gdb-core"} and any(e.what == dump for e in cache.list_entries())
    assert set(os.listdir(os.path.dirname(opened.info.path))) == before


def test_cli_gdb_core(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``kdumpext gdb-core DUMP -o FILE`` writes the core and prints the gdb commands."""
    need(os.path.exists(KDUMPEXT), f"the kdumpext console script is not installed next to {sys.executable}")
    dump = _dump()
    out = tmp_path / "x.core"
    p = subprocess.run([KDUMPEXT, "gdb-core", dump, "-o", str(out), "--debug-dir", BUILD],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("symbol-file -o 0x") and lines[-1] == f"core-file {out}"
    assert sum(line.startswith("add-symbol-file ") for line in lines) == 2
    assert out.exists() and "wrote" in p.stderr
    bad = subprocess.run([KDUMPEXT, "gdb-core", dump, "-o", dump], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr



def test_exception_steps_cross_the_exception_entry() -> None:
    """After WARN() + panic_on_warn the crashed task's stack crosses asm_exc_invalid_op:
    the step hands gdb the pt_regs of lkdtm_WARNING's ud2, which gdb's CFI cannot reach."""
    from corpus import BUILD, case
    from kdumpext.dump import open_dump
    from kdumpext.gdbcore import exception_steps

    prog = open_dump(case("lkdtm-warning").dump, debug_dirs=[BUILD]).prog
    steps = exception_steps(prog)
    assert len(steps) >= 1
    (pc, _sp), regs = next(iter(steps.items()))
    assert prog.symbol(pc).name == "asm_exc_invalid_op"
    warn = prog.symbol("lkdtm_WARNING")
    want = case("lkdtm-warning").expected["exception_rip"]  # the ud2: "lkdtm_WARNING+0x12"
    assert f"lkdtm_WARNING+{regs['rip'] - warn.address:#x}" == want


def test_prstatus_arm64_layout():
    """arm64's ``struct elf_prstatus``: 392 bytes, pr_pid at 32, ``user_pt_regs`` (x0-x30, sp, pc,
    pstate) from 112 (arch/arm64/include/uapi/asm/ptrace.h), as gdb-multiarch reads it."""
    import struct as _struct

    from kdumpext.gdbcore import PRSTATUS_REGS_ARM64, prstatus

    regs = {"x0": 0x18, "x19": 0xffff1352c1162b80, "x30": 0xffffd9d7215bd05c, "sp": 0xffff80000a1bbd60,
            "pc": 0xffffd9d7215bd020, "pstate": 0x60000005}
    buf = prstatus(40, regs, arch="arm64")
    assert len(buf) == 392 and len(PRSTATUS_REGS_ARM64) == 34
    assert _struct.unpack_from("<i", buf, 32)[0] == 40
    values = _struct.unpack_from("<34Q", buf, 112)
    assert values[0] == 0x18 and values[19] == regs["x19"] and values[30] == regs["x30"]
    assert values[31:] == (regs["sp"], regs["pc"], regs["pstate"])


def test_unwind_steps_of_a_sleeping_task() -> None:
    """drgn's unwinding as steps gdb can take: one per real frame (an inline chain shares pc and
    sp: one step), each to the caller's registers and pc; interrupted_only keeps only the steps
    into an exception's pt_regs (none for a task switched out in schedule())."""
    from drgn.helpers.linux.pid import find_task

    prog = _opened().prog
    trace = prog.stack_trace(find_task(prog, 2))  # kthreadd
    frames = [(f.pc, f.sp) for f in trace]
    distinct = [p for i, p in enumerate(frames) if i == 0 or p != frames[i - 1]]
    steps = gdbcore.unwind_steps(trace)
    assert list(steps) == distinct[:-1] and len(steps) >= 3
    for (pc, sp), nxt in zip(distinct, distinct[1:]):
        assert (steps[(pc, sp)]["rip"], steps[(pc, sp)]["rsp"]) == nxt
    assert any(prog.symbol(pc).name == "__schedule" for pc, _sp in steps)
    assert gdbcore.unwind_steps(trace, interrupted_only=True) == {}
