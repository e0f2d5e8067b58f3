"""DWARF with pyelftools: the scopes (function, inlined calls) at a pc and where each variable lives there."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = ["DWARF_REGS", "VarLoc", "Scope", "DebugFile", "debug_file"]

#: DWARF register number -> drgn register name (System V x86-64 psABI, table 3.36).
DWARF_REGS = {
    0: "rax", 1: "rdx", 2: "rcx", 3: "rbx", 4: "rsi", 5: "rdi", 6: "rbp", 7: "rsp",
    8: "r8", 9: "r9", 10: "r10", 11: "r11", 12: "r12", 13: "r13", 14: "r14", 15: "r15",
}


@dataclass
class VarLoc:
    """A variable or parameter and where its value is at one pc.

    ``reg`` is set when the value is that register plus ``addend`` (``DW_OP_regN``,
    or ``DW_OP_bregN k; DW_OP_stack_value``, as GCC describes ``container_of()``
    results); ``location`` describes it for evidence.
    """

    name: str
    type_name: str  # "struct scst_cmd *"
    is_param: bool
    scope: str  # the function (or inlined function) it belongs to
    reg: Optional[str] = None
    location: str = ""
    addend: int = 0
    const: Optional[int] = None  # the value, for a variable the compiler made a constant
    #: for a variable living in memory at ``%mem_reg + mem_off`` (``DW_OP_bregN k`` alone)
    mem_reg: Optional[str] = None
    mem_off: int = 0
    type_file: str = ""  # where the struct/union it points to is defined (dwarf.decl_file)


@dataclass
class Scope:
    """A function or inlined call containing the pc, outermost first."""

    name: str
    inlined: bool
    die: Any = field(repr=False, default=None)
    call_file: str = ""
    call_line: int = 0


def _attr(die: Any, name: str) -> Any:
    """An attribute's value, following DW_AT_abstract_origin / DW_AT_specification."""
    seen = 0
    while die is not None and seen < 8:
        if name in die.attributes:
            return die.attributes[name].value
        ref = die.attributes.get("DW_AT_abstract_origin") or die.attributes.get("DW_AT_specification")
        if ref is None:
            return None
        die = die.get_DIE_from_attribute(ref.name)
        seen += 1
    return None


def _name(die: Any) -> str:
    v = _attr(die, "DW_AT_name")
    return v.decode(errors="replace") if isinstance(v, bytes) else (v or "")


def _origin(die: Any) -> Any:
    while die is not None and "DW_AT_abstract_origin" in die.attributes:
        die = die.get_DIE_from_attribute("DW_AT_abstract_origin")
    return die


def type_name(die: Any) -> str:
    """C spelling of a type DIE: ``struct scst_cmd *``, ``const char *``, ``u32``."""
    suffix = ""
    depth = 0
    while die is not None and depth < 32:
        depth += 1
        tag = die.tag
        if tag == "DW_TAG_pointer_type":
            suffix = " *" + suffix.lstrip(" ") if suffix.startswith(" *") else " *" + suffix
        elif tag in ("DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type", "DW_TAG_atomic_type"):
            pass  # qualifiers do not change what a pointer points to; drgn matches without them
        elif tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_enumeration_type", "DW_TAG_class_type"):
            kw = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
                  "DW_TAG_enumeration_type": "enum", "DW_TAG_class_type": "class"}[tag]
            n = _name(die)
            return (f"{kw} {n}" if n else f"{kw} <anonymous>") + suffix
        elif tag in ("DW_TAG_base_type", "DW_TAG_typedef"):
            return _name(die) + suffix
        elif tag == "DW_TAG_subroutine_type":
            return "void (*)()" if suffix.startswith(" *") else "void ()"
        elif tag == "DW_TAG_array_type":
            suffix = suffix + "[]"
        else:
            return "void" + suffix
        if "DW_AT_type" not in die.attributes:
            return "void" + suffix
        die = die.get_DIE_from_attribute("DW_AT_type")
    return "void" + suffix


def decl_file(die: Any, dwarf: Any) -> str:
    """The file that defines the named type under ``die`` (through pointers and qualifiers).

    drgn's ``prog.type(name, filename)`` takes it to tell apart two types of one name
    (a module's private ``struct foo`` and another's); "" when DWARF does not say.
    """
    depth = 0
    while die is not None and depth < 32 and die.tag in (
            "DW_TAG_pointer_type", "DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type",
            "DW_TAG_atomic_type", "DW_TAG_array_type"):
        if "DW_AT_type" not in die.attributes:
            return ""
        die = die.get_DIE_from_attribute("DW_AT_type")
        depth += 1
    if die is None or "DW_AT_decl_file" not in die.attributes:
        return ""
    try:
        lp = dwarf.line_program_for_CU(die.cu)
        index = die.attributes["DW_AT_decl_file"].value
        if lp is None:
            return ""
        files = lp["file_entry"]
        entry = files[index] if lp.header["version"] >= 5 else files[index - 1]
        name = entry.name.decode(errors="replace") if isinstance(entry.name, bytes) else str(entry.name)
        dirs = lp["include_directory"]
        d_index = entry.dir_index if lp.header["version"] >= 5 else entry.dir_index - 1
        if name.startswith("/") or not (0 <= d_index < len(dirs)):
            return name
        d = dirs[d_index]
        d = d.decode(errors="replace") if isinstance(d, bytes) else str(d)
        return f"{d}/{name}"
    except (IndexError, KeyError, AttributeError, ValueError):
        return ""


def _ranges(die: Any, dwarf: Any, cu_base: int) -> List[Tuple[int, int]]:
    attrs = die.attributes
    if "DW_AT_low_pc" in attrs:
        low = attrs["DW_AT_low_pc"].value
        if "DW_AT_high_pc" not in attrs:
            return [(low, low + 1)]
        high_attr = attrs["DW_AT_high_pc"]
        high = high_attr.value
        if high_attr.form not in ("DW_FORM_addr", "DW_FORM_addrx", "DW_FORM_addrx1", "DW_FORM_addrx2",
                                  "DW_FORM_addrx4"):
            high = low + high
        return [(low, high)]
    if "DW_AT_ranges" in attrs:
        rl = dwarf.range_lists()
        if rl is None:
            return []
        out = []
        base = cu_base
        try:
            entries = rl.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=die.cu) \
                if attrs["DW_AT_ranges"].form != "DW_FORM_rnglistx" else \
                rl.get_range_list_at_offset_ex(attrs["DW_AT_ranges"].value)  # pragma: no cover
        except Exception:  # noqa: BLE001 - a damaged range list only loses this scope
            return []
        for e in entries:
            if type(e).__name__ == "BaseAddressEntry":
                base = e.base_address
            elif getattr(e, "is_absolute", False):
                out.append((e.begin_offset, e.end_offset))
            else:
                out.append((base + e.begin_offset, base + e.end_offset))
        return out
    return []


# x86-64 relocation types found in a module's .rela.debug_* sections: S + A, 8 or 4 bytes
_R_X86_64 = {1: ("<Q", 8), 10: ("<I", 4), 11: ("<i", 4)}  # R_X86_64_64, _32, _32S


def _elf_class() -> Any:
    """An ELFFile whose DWARF relocations for x86-64 are applied in bulk, not one by one.

    pyelftools applies each relocation through its generic handler (construct parsing of
    the entry and the symbol): 1.3 s for a 270 KB module of the Debian kernel.  Here the
    ``.rela`` table and the symbol table are unpacked with ``struct`` once and patched
    into the section copy; anything but the three types above goes to pyelftools.
    """
    import struct

    from elftools.elf.elffile import ELFFile

    class _FastRelocELFFile(ELFFile):  # type: ignore[misc]
        _symvals: Optional[Dict[int, List[int]]] = None

        def _read_dwarf_section(self, section: Any, relocate_dwarf_sections: bool) -> Any:
            desc = super()._read_dwarf_section(section, False)
            if relocate_dwarf_sections and not self._relocate_fast(section, desc.stream):
                return super()._read_dwarf_section(section, True)
            return desc

        def _symbol_values(self, index: int) -> List[int]:
            if self._symvals is None:
                self._symvals = {}
            if index not in self._symvals:
                data = self.get_section(index).data()
                self._symvals[index] = [v[4] for v in struct.iter_unpack("<IBBHQQ", data)]
            return self._symvals[index]

        def _relocate_fast(self, section: Any, stream: Any) -> bool:
            if self.header["e_machine"] != "EM_X86_64" or self.elfclass != 64:
                return False
            rela = self.get_section_by_name(".rela" + section.name)
            if rela is None:
                return True
            if rela.header["sh_type"] != "SHT_RELA":
                return False
            values = self._symbol_values(rela.header["sh_link"])
            buf = stream.getbuffer()
            try:
                for r_offset, r_info, r_addend in struct.iter_unpack("<QQq", rela.data()):
                    rtype = r_info & 0xFFFFFFFF
                    if rtype == 0:
                        continue
                    fmt = _R_X86_64.get(rtype)
                    if fmt is None:
                        return False
                    value = values[r_info >> 32] + r_addend
                    struct.pack_into(fmt[0], buf, r_offset,
                                     value & (0xFFFF_FFFF_FFFF_FFFF if fmt[1] == 8 else 0xFFFF_FFFF)
                                     if fmt[0] != "<i" else value)
            finally:
                buf.release()
            return True

    return _FastRelocELFFile


class DebugFile:
    """One ELF file's DWARF, opened once; ``relocatable`` for a module's ``.ko``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._f = open(path, "rb")
        self.elf = _elf_class()(self._f)
        self.relocatable = self.elf.header["e_type"] == "ET_REL"
        # A linked vmlinux has its final values in place: applying .rela.debug_* in Python
        # would take minutes (see REAL-DUMPS.md).  A .ko needs its relocations, and they are cheap.
        self.dwarf = self.elf.get_dwarf_info(relocate_dwarf_sections=self.relocatable)
        self._aranges: Any = None
        self._locparser: Any = None

    def _cus_for(self, addr: int) -> Iterator[Any]:
        if not self.relocatable:
            if self._aranges is None:
                self._aranges = self.dwarf.get_aranges()
            if self._aranges is not None:
                off = self._aranges.cu_offset_at_addr(addr)
                if off is not None:
                    yield self.dwarf.get_CU_at(off)
                    return
        yield from self.dwarf.iter_CUs()

    def scopes_at(self, addr: int, function: str = "") -> List[Scope]:
        """The subprogram and inlined calls containing ``addr``, outermost first.

        ``addr`` is a link-time address (vmlinux) or a section offset (a ``.ko``, whose
        sections all start at 0: ``function``, the symbol at the pc, picks among them).
        """
        want = function.split(".")[0] if function else ""
        for cu in self._cus_for(addr):
            top = cu.get_top_DIE()
            cu_base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
            for die in top.iter_children():
                if die.tag != "DW_TAG_subprogram":
                    continue
                if not any(lo <= addr < hi for lo, hi in _ranges(die, self.dwarf, cu_base)):
                    continue
                if want and self.relocatable and _name(die) != want:
                    continue
                chain = [Scope(_name(die), False, die)]
                self._descend(die, addr, cu_base, chain)
                return chain
        return []

    def _descend(self, die: Any, addr: int, cu_base: int, chain: List[Scope]) -> None:
        for child in die.iter_children():
            if child.tag not in ("DW_TAG_inlined_subroutine", "DW_TAG_lexical_block"):
                continue
            if not any(lo <= addr < hi for lo, hi in _ranges(child, self.dwarf, cu_base)):
                continue
            if child.tag == "DW_TAG_inlined_subroutine":
                chain.append(Scope(_name(child), True, child,
                                   call_line=child.attributes["DW_AT_call_line"].value
                                   if "DW_AT_call_line" in child.attributes else 0))
            else:
                chain.append(Scope(chain[-1].name, chain[-1].inlined, child))
            self._descend(child, addr, cu_base, chain)
            return

    def variables_at(self, addr: int, function: str = "") -> List[VarLoc]:
        """Every variable and parameter in scope at ``addr`` with its location there, innermost last."""
        out: List[VarLoc] = []
        for scope in self.scopes_at(addr, function):
            cu = scope.die.cu
            top = cu.get_top_DIE()
            cu_base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
            for child in scope.die.iter_children():
                if child.tag not in ("DW_TAG_formal_parameter", "DW_TAG_variable"):
                    continue
                name = _name(child)
                if not name:
                    continue
                tdie = _origin(child)
                tdie_type = tdie.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in tdie.attributes else None
                tname = type_name(tdie_type) if tdie_type is not None else "void"
                reg, desc, addend = self._location_at(child, addr, cu_base)
                const = _attr(child, "DW_AT_const_value")
                var = VarLoc(name, tname, child.tag == "DW_TAG_formal_parameter", scope.name, reg, desc,
                             addend, const if isinstance(const, int) else None)
                if tdie_type is not None and ("struct" in tname or "union" in tname):
                    var.type_file = decl_file(tdie_type, self.dwarf)
                m = _BREG_ALONE.match(desc)
                if m and reg is None:
                    var.mem_reg, var.mem_off = DWARF_REGS.get(int(m.group(1))), int(m.group(2))
                out.append(var)
        return out

    def _location_at(self, die: Any, addr: int, cu_base: int) -> Tuple[Optional[str], str, int]:
        from elftools.dwarf.dwarf_expr import DWARFExprParser
        from elftools.dwarf.locationlists import LocationParser

        attr = die.attributes.get("DW_AT_location")
        if attr is None:
            return None, "optimized out" if "DW_AT_const_value" not in die.attributes else "constant", 0
        if self._locparser is None:
            self._locparser = LocationParser(self.dwarf.location_lists())
        loc = self._locparser.parse_from_attribute(attr, die.cu["version"], die)
        expr: Optional[List[int]] = None
        if isinstance(loc, list):
            base = cu_base
            for e in loc:
                if type(e).__name__ == "BaseAddressEntry":
                    base = e.base_address
                    continue
                lo, hi = (e.begin_offset, e.end_offset) if e.is_absolute else (base + e.begin_offset, base + e.end_offset)
                if lo <= addr < hi:
                    expr = e.loc_expr
                    break
            if expr is None:
                return None, "not live here", 0
        else:
            expr = loc.loc_expr
        ops = DWARFExprParser(die.cu.structs).parse_expr(expr)
        names = [op.op_name for op in ops]
        if len(ops) == 1 and names[0].startswith("DW_OP_reg") and names[0] != "DW_OP_regx":
            reg = DWARF_REGS.get(int(names[0][len("DW_OP_reg"):]))
            return reg, f"DW_OP_{reg}" if reg else names[0], 0
        if len(ops) == 2 and names[0].startswith("DW_OP_breg") and names[0] != "DW_OP_bregx" \
                and names[1] == "DW_OP_stack_value" and ops[0].args:
            reg = DWARF_REGS.get(int(names[0][len("DW_OP_breg"):]))
            return reg, f"{names[0]} {ops[0].args[0]}; DW_OP_stack_value", int(ops[0].args[0])
        return None, "; ".join(f"{op.op_name} {' '.join(map(str, op.args))}".strip() for op in ops), 0


_BREG_ALONE = re.compile(r"^DW_OP_breg(\d+) (-?\d+)$")  # over our own location text, not a disassembly


@lru_cache(maxsize=16)
def debug_file(path: str) -> DebugFile:
    """The :class:`DebugFile` for ``path``, opened once per process."""
    return DebugFile(path)
