"""The address → compilation unit index read from the units' top DIEs (dwarf.cu_address_ranges)."""

from __future__ import annotations

import os
from typing import List, Tuple

import pytest

from corpus import ARM64_BUILD, BUILD
from kdumpext.dwarf import DebugFile, cu_address_ranges


def _functions(path: str, count: int) -> List[Tuple[str, int]]:
    """``count`` function symbols of the ELF file at ``path``, spread over its text."""
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        funcs = sorted((s["st_value"], s.name) for s in symtab.iter_symbols()
                       if s["st_info"]["type"] == "STT_FUNC" and s["st_size"] > 16 and s["st_shndx"] != "SHN_UNDEF"
                       and ".cold" not in s.name)  # a cold part is no function's start
    step = max(1, len(funcs) // count)
    return [(name, addr) for addr, name in funcs[::step]]


@pytest.mark.parametrize("build", [BUILD, ARM64_BUILD], ids=["x86_64", "arm64"])
def test_index_finds_the_unit_of_every_function(build: str) -> None:
    """Every unit with code is placed (none left for a scan), and for functions spread over the
    whole vmlinux the unit the index gives holds the function's DIE: the same one a scan of every
    unit finds, without reading any other unit."""
    from kdumpext.locate import unpacked

    path = unpacked(os.path.join(build, "vmlinux.xz"))
    d = DebugFile(path)
    data = lambda sec: sec.stream.getbuffer() if sec is not None else b""  # noqa: E731
    ranges, unplaced = cu_address_ranges(data(d.dwarf.debug_info_sec), data(d.dwarf.debug_abbrev_sec),
                                         data(d.dwarf.debug_rnglists_sec), data(d.dwarf.debug_ranges_sec))
    assert unplaced == []
    assert ranges == sorted(ranges) and all(lo < hi for lo, hi, _ in ranges)
    units = {cu.cu_offset for cu in d.dwarf.iter_CUs()}
    assert {cu for _, _, cu in ranges} <= units
    checked = 0
    for name, addr in _functions(path, 60):
        cus = [cu.cu_offset for cu in d._cus_for(addr + 8)]
        if not cus:
            continue  # assembler code without DWARF
        assert len(cus) == 1, (name, cus)
        found = d.function_at(addr + 8)
        if found is None:
            continue
        assert addr <= found.low_pc <= addr + 8, (name, hex(addr), found.name, hex(found.low_pc))
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("build", [BUILD, ARM64_BUILD], ids=["x86_64", "arm64"])
def test_aranges_table_is_pyelftools_reading(build: str) -> None:
    """The struct reading of ``.debug_aranges`` gives every range pyelftools' reader gives."""
    from kdumpext.dwarf import aranges_table
    from kdumpext.locate import unpacked

    d = DebugFile(unpacked(os.path.join(build, "vmlinux.xz")))
    want = sorted((e.begin_addr, e.begin_addr + e.length, e.info_offset) for e in d.dwarf.get_aranges().entries
                  if e.length)
    assert len(want) > 100
    assert aranges_table(d.dwarf.debug_aranges_sec.stream.getbuffer()) == want
    assert d._whole_aranges() is not None  # GCC's aranges place every unit with code


@pytest.mark.parametrize("build", [BUILD, ARM64_BUILD], ids=["x86_64", "arm64"])
def test_skimmed_subprograms_are_pyelftools_ones(build: str) -> None:
    """The top-level subprograms read from the section bytes (children skipped by DW_AT_sibling)
    are, range for range, those pyelftools finds building every top-level DIE, in every 7th unit."""
    from kdumpext.dwarf import _ranges
    from kdumpext.locate import unpacked

    d = DebugFile(unpacked(os.path.join(build, "vmlinux.xz")))
    checked = 0
    for n, cu in enumerate(d.dwarf.iter_CUs()):
        if n % 7:
            continue
        skimmed = d._skim(cu)
        assert skimmed is not None, cu.cu_offset
        top = cu.get_top_DIE()
        base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
        want = [(lo, hi, die.offset) for die in top.iter_children() if die.tag == "DW_TAG_subprogram"
                for lo, hi in _ranges(die, d.dwarf, base)]
        assert skimmed == (base, want), cu.cu_offset
        checked += len(want)
    assert checked > 200


@pytest.mark.parametrize("build", [BUILD, ARM64_BUILD], ids=["x86_64", "arm64"])
def test_unit_sources_are_pyelftools_reading(build: str) -> None:
    """The struct reading of each unit's DW_AT_name and DW_AT_comp_dir (where gdb's source rules
    start) gives, for every unit of both corpus kernels and a module, what pyelftools' top DIEs say."""
    from kdumpext.dwarf import unit_sources
    from kdumpext.locate import unpacked

    for name in ("vmlinux.xz", "kdx.ko.xz"):
        d = DebugFile(unpacked(os.path.join(build, name)))
        data = lambda sec: sec.stream.getbuffer() if sec is not None else b""  # noqa: E731
        ours = list(unit_sources(data(d.dwarf.debug_info_sec), bytes(data(d.dwarf.debug_abbrev_sec)),
                                 data(d.dwarf.debug_str_sec), data(d.dwarf.debug_line_str_sec)))
        theirs = []
        for cu in d.dwarf.iter_CUs():
            top = cu.get_top_DIE()
            if "DW_AT_name" in top.attributes:
                comp_dir = top.attributes.get("DW_AT_comp_dir")
                theirs.append((top.attributes["DW_AT_name"].value.decode(),
                               comp_dir.value.decode() if comp_dir is not None else ""))
        assert ours == theirs and len(ours) >= (1 if name.endswith(".ko.xz") else 100)
