"""Offset -> member and DWARF locations, on the real types and code of the sample corpus."""

from __future__ import annotations

import os
from typing import Any

import pytest

from corpus import BUILD, case, unpacked_debug_dir


@pytest.fixture(scope="module")
def prog() -> Any:
    from kdumpext.dump import open_dump

    return open_dump(case("scst-null-dev").dump, debug_dirs=[BUILD]).prog


def _paths(prog: Any, type_name: str, offset: int) -> list:
    from kdumpext.members import member_paths

    return [a.path for a in member_paths(prog.type(type_name), offset)]


def test_member_at_offset(prog: Any) -> None:
    assert _paths(prog, "struct scst_device", 0x240) == ["vdev_update_lat_stats"]
    assert _paths(prog, "struct scst_cmd", 0x40) == ["dev"]
    assert _paths(prog, "struct scst_device", 0x58 + 8 * 3) == ["lat_stats[3]"]
    assert _paths(prog, "struct scst_device", 0x58 + 8 * 3 + 2) == ["lat_stats[3]"]  # a byte inside it
    assert _paths(prog, "struct scst_device", 0x8) == ["dev_list_entry.prev"]
    assert _paths(prog, "struct kdx_ring", 0x10 + 8 * 3) == ["slots[3]"]
    assert _paths(prog, "struct list_head", 0x10) == []  # past the end


def test_sub_word_access(prog: Any) -> None:
    """A 1-byte access inside an 8-byte member names the member, its offset, the byte and the size."""
    from kdumpext.members import member_of

    m = member_of(prog.type("struct scst_device"), 0x58 + 8 * 3 + 2, 1)
    assert m is not None
    assert (m.path, m.offset, m.accessed, m.access_size, m.size) == ("lat_stats[3]", 0x70, 0x72, 1, 8)


def test_union_alternatives(prog: Any) -> None:
    """struct page is mostly unions: every alternative is named, like drgn's member_at_offset."""
    from drgn.helpers.common.type import member_at_offset

    paths = _paths(prog, "struct page", 8)
    assert len(paths) > 1
    assert " or ".join(paths) == member_at_offset(prog.type("struct page"), 8)


def test_union_member_chosen_by_access_size(prog: Any) -> None:
    """A 4-byte atomic on a qspinlock is val.counter, not the 1-byte locked or 2-byte locked_pending."""
    from kdumpext.members import member_of

    t = prog.type("struct qspinlock")
    m4, m1 = member_of(t, 0, 4), member_of(t, 0, 1)
    assert m4 is not None and m4.path == "val.counter" and "locked" in m4.alternatives
    assert m1 is not None and m1.path == "locked" and "val.counter" in m1.alternatives


def test_member_record(prog: Any) -> None:
    from kdumpext.members import member_of

    m = member_of(prog.type("struct kdx_net_ops"), 0x10, 8)
    assert m is not None
    assert (m.type_name, m.path, m.offset, m.size, m.accessed) == ("struct kdx_net_ops", "xmit", 0x10, 8, None)
    assert m.member_type == "int (*)(struct kdx_netdev *, struct kdx_skb *)"


def _sym_offset(ko: str, name: str) -> int:
    from elftools.elf.elffile import ELFFile

    with open(ko, "rb") as f:
        sym = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name(name)[0]
        return int(sym["st_value"])


def _code(ko: str, name: str) -> list:
    """The decoded instructions of function ``name`` in a .ko, at its section offsets (as its DWARF sees them)."""
    from elftools.elf.elffile import ELFFile

    from kdumpext.decode import decode_all

    with open(ko, "rb") as f:
        elf = ELFFile(f)
        sym = elf.get_section_by_name(".symtab").get_symbol_by_name(name)[0]
        data = elf.get_section(sym["st_shndx"]).data()
        start, size = int(sym["st_value"]), int(sym["st_size"])
        return decode_all(data[start:start + size], start)


def test_dwarf_locations_in_a_module() -> None:
    """Read with pyelftools from the .ko, at the instructions objdump shows (expected.json quotes them)."""
    from kdumpext.dwarf import debug_file

    ko = os.path.join(unpacked_debug_dir(), "scst.ko")
    code = _code(ko, "scst_update_lat_stats")
    d = debug_file(ko)
    at = {v.name: v for v in d.variables_at(code[0].address, "scst_update_lat_stats")}
    assert at["cmd"].reg == "rdi" and at["cmd"].is_param and at["cmd"].type_name == "struct scst_cmd *"
    assert at["cmd"].entry_reg == "rdi"
    call = next(i for i, insn in enumerate(code) if insn.is_call)
    at = {v.name: v for v in d.variables_at(code[call + 1].address, "scst_update_lat_stats")}
    assert at["cmd"].reg == "rbx"  # after the call: `mov %rdi,%rbx` kept it across

    kdx = os.path.join(unpacked_debug_dir(), "kdx.ko")
    code = _code(kdx, "kdx_poll_once")
    fault = next(insn for insn in code if insn.mem is not None and insn.access == "read-write")
    at = {v.name: v for v in debug_file(kdx).variables_at(fault.address, "kdx_poll_once")}
    # p = container_of(item, struct kdx_poller, item): %rdi - 16
    assert (at["p"].reg, at["p"].addend, at["p"].type_name) == ("rdi", -16, "struct kdx_poller *")
    code = _code(kdx, "kdx_req_next_tag")
    load = next(i for i, insn in enumerate(code) if insn.text == "mov (%rdi),%rax")
    at = {v.name: v for v in debug_file(kdx).variables_at(code[load + 1].address, "kdx_req_next_tag")}
    # next lives in memory at (%rdi) + 0, where it was loaded from
    assert (at["next"].mem_reg, at["next"].mem_off) == ("rdi", 0)
    # where the pointed-to struct is defined: drgn's prog.type(name, filename) tells two
    # same-named structs of different modules apart with it
    assert at["req"].type_file.endswith("/kdx/kdx.c")


def test_type_defined_in_a_header(prog: Any) -> None:
    from kdumpext.dwarf import debug_file

    vmlinux = os.path.join(unpacked_debug_dir(), "vmlinux")
    sym = prog.symbol("vfs_write")
    link = sym.address - prog.main_module().debug_file_bias
    at = {v.name: v for v in debug_file(vmlinux).variables_at(link)}
    assert at["file"].type_name == "struct file *"
    assert at["file"].type_file.endswith("include/linux/fs.h")


def test_dwarf_constant_pointer_in_vmlinux(prog: Any) -> None:
    """lkdtm_ACCESS_NULL's ptr is a DW_AT_const_value: the NULL folded into `mov 0x0,%rbx`."""
    from kdumpext.dwarf import debug_file

    vmlinux = os.path.join(unpacked_debug_dir(), "vmlinux")
    sym = prog.symbol("lkdtm_ACCESS_NULL")
    bias = prog.main_module().debug_file_bias
    link = sym.address - bias
    at = {v.name: v for v in debug_file(vmlinux).variables_at(link + 0xf)}
    assert at["ptr"].const == 0 and at["ptr"].type_name == "long unsigned int *"


def test_expression_tracking_on_real_code(prog: Any) -> None:
    """Back-tracking the seed's faulting load: its base is cmd->dev, loaded through cmd (a parameter)."""
    from kdumpext.explain import Tracer
    from kdumpext.members import type_str
    from kdumpext.program import DrgnView

    view = DrgnView(prog)
    code = view.code(prog.symbol("scst_update_lat_stats").address)
    assert code is not None
    idx = next(i for i, insn in enumerate(code.insns) if insn.mem is not None and insn.mem.disp == 0x240)
    base = code.insns[idx].mem.base
    assert base is not None
    v = Tracer(view, code).value(base, idx)
    assert (v.text, type_str(v.type), v.how) == ("cmd->dev", "struct scst_device *", "load")
    assert v.insn is not None and v.insn.mem is not None and v.insn.mem.disp == 0x40
    assert v.base is not None and v.base.text == "cmd" and v.base.how == "param"


def test_taint_letters() -> None:
    from kdumpext.context import decode_taint

    assert decode_taint("G           O") == ["O: out-of-tree module loaded"]
    assert decode_taint("P    W  O E") == ["P: proprietary module loaded", "W: kernel issued a warning",
                                            "O: out-of-tree module loaded", "E: unsigned module loaded"]
    assert decode_taint("") == []


@pytest.mark.parametrize("name", ["scst.ko", "kdx.ko"])
def test_bulk_relocation_equals_pyelftools(name: str) -> None:
    """The bulk x86-64 relocation of a module's DWARF gives pyelftools' bytes exactly."""
    from elftools.elf.elffile import ELFFile

    from kdumpext.dwarf import _elf_class

    ko = os.path.join(unpacked_debug_dir(), name)
    with open(ko, "rb") as f1, open(ko, "rb") as f2:
        ours = _elf_class()(f1).get_dwarf_info()
        theirs = ELFFile(f2).get_dwarf_info()
        for sec in ("debug_info_sec", "debug_line_sec", "debug_loclists_sec", "debug_rnglists_sec",
                    "debug_aranges_sec", "debug_frame_sec", "debug_str_offsets_sec", "debug_addr_sec"):
            a, b = getattr(ours, sec), getattr(theirs, sec)
            assert (a is None) == (b is None), sec
            if a is not None:
                assert a.stream.getvalue() == b.stream.getvalue(), sec


def test_percpu_current(prog: Any) -> None:
    """lkdtm_HUNG_TASK's `mov %gs:...,%reg; xchg %eax,0x18(%reg)` (real code in the fixture vmlinux):
    the register holds this CPU's current_task, which the kernel calls `current`."""
    from kdumpext.explain import Tracer
    from kdumpext.members import member_paths, pointee, type_str
    from kdumpext.program import DrgnView

    view = DrgnView(prog)
    code = view.code(prog.symbol("lkdtm_HUNG_TASK").address)
    assert code is not None
    xchg = next(i for i, insn in enumerate(code.insns) if insn.mnemonic.startswith("xchg"))
    mem = code.insns[xchg].mem
    assert mem is not None and mem.base is not None
    v = Tracer(view, code).value(mem.base, xchg)
    assert (v.text, type_str(v.type), v.how) == ("current", "struct task_struct *", "global")
    assert [a.path for a in member_paths(pointee(v.type), mem.disp)] == ["__state"]
