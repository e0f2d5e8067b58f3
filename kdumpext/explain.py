"""Explain a fault: which expression held the bad pointer, and which member the access reached."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from .decode import Source, decode_all, source_of
from .dwarf import VarLoc, debug_file
from .model import Evidence, Instruction, Member

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["Expr", "FunctionCode", "members_at", "member_of", "pointee", "sizeof", "type_str", "CALLER_SAVED"]

#: Registers a call may change (System V x86-64 psABI); rax also carries the return value.
CALLER_SAVED = ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11")
_MAX_DEPTH = 8
_MAX_FUNCTION = 1 << 16  # bytes of one function we are willing to decode


@dataclass
class Expr:
    """A C expression for a value, its type, and how we know it.

    ``root`` says where the chain starts: ``param``, ``local``, ``global``, ``call``,
    ``const`` or ``unknown``; ``aliases`` are other names (variables) the value has.
    """

    text: str
    type: Optional["drgn.Type"] = None
    root: str = "unknown"
    evidence: List[Evidence] = field(default_factory=list)
    aliases: List[str] = field(default_factory=list)
    value: Optional[int] = None
    #: the instruction that produced the value, and the expression of its base register
    via: Optional[Instruction] = None
    via_base: Optional[Tuple[str, "Expr"]] = None

    @property
    def known(self) -> bool:
        """True when the expression names something (not just a register)."""
        return self.root != "unknown"


def type_str(t: Optional["drgn.Type"]) -> str:
    """The C spelling of a drgn type ("" for None)."""
    return t.type_name() if t is not None else ""


def _unqualified(t: "drgn.Type") -> "drgn.Type":
    import drgn

    while t.kind == drgn.TypeKind.TYPEDEF:
        t = t.type
    return t.unqualified()


def pointee(t: Optional["drgn.Type"]) -> Optional["drgn.Type"]:
    """``struct foo`` for ``struct foo *`` (typedefs seen through); None if not a pointer."""
    import drgn

    if t is None:
        return None
    t = _unqualified(t)
    if t.kind != drgn.TypeKind.POINTER:
        return None
    return t.type


def _same_type(a: "drgn.Type", b: "drgn.Type") -> bool:
    """Same C type, typedefs and qualifiers seen through (types from two lookups compare by name)."""
    return type_str(_unqualified(a)) == type_str(_unqualified(b))


def sizeof(t: "drgn.Type") -> int:
    """``sizeof(t)``, 0 for an incomplete or function type."""
    try:
        import drgn

        return drgn.sizeof(t)
    except (TypeError, ValueError):
        return 0


def members_at(t: "drgn.Type", offset: int, size: int = 0) -> List[Tuple[str, Optional["drgn.Type"], int]]:
    """Member paths of type ``t`` containing byte ``offset``, innermost member each.

    Returns ``(path, member type, member start offset)`` per alternative: more than one
    only through unions.  Paths are spelled like drgn's ``member_at_offset()``:
    ``lat_stats[3]``, ``node.next``, ``flags+0x2`` (inside a scalar), ``u.a``.
    An offset past the end of the type gives ``+0x...`` with no type.
    """
    import drgn

    t = _unqualified(t)
    if t.kind == drgn.TypeKind.ARRAY:
        elem = t.type
        esize = sizeof(elem)
        if esize <= 0:
            return [(f"+{offset:#x}", None, offset)]
        idx, rest = divmod(offset, esize)
        if t.length is not None and idx >= t.length:
            return [(f"+{offset:#x}", None, offset)]
        elems: List[Tuple[str, Optional["drgn.Type"], int]] = []
        for path, mt, start in members_at(elem, rest, size):
            sep = "" if path.startswith(("+", "[")) else "."
            elems.append((f"[{idx}]" + (sep + path if path else ""), mt, idx * esize + start))
        return elems
    if t.kind not in (drgn.TypeKind.STRUCT, drgn.TypeKind.UNION, drgn.TypeKind.CLASS):
        if offset == 0:
            return [("", t, 0)]
        return [(f"+{offset:#x}", t, 0)] if offset < sizeof(t) else [(f"+{offset:#x}", None, 0)]
    out: List[Tuple[str, Optional["drgn.Type"], int]] = []
    for m in t.members or ():
        if m.bit_offset is None:
            continue
        start = m.bit_offset // 8
        msize = sizeof(m.type)
        if m.bit_field_size:
            msize = max(1, (m.bit_offset % 8 + m.bit_field_size + 7) // 8)
        if not (start <= offset < start + max(msize, 1)):
            continue
        for path, mt, inner in members_at(m.type, offset - start, size):
            name = m.name or ""
            if not name:  # anonymous struct/union: its members are the parent's
                full = path.lstrip(".")
            elif not path:
                full = name
            elif path.startswith(("[", "+")):
                full = name + path
            else:
                full = f"{name}.{path}"
            out.append((full, mt, start + inner))
    if not out:
        return [(f"+{offset:#x}", None, offset)]
    return out


def member_of(t: "drgn.Type", offset: int, size: int = 0) -> Optional[Member]:
    """The :class:`Member` of ``t`` at ``offset`` (union alternatives joined with `` or ``)."""
    alts = members_at(t, offset, size)
    if not alts:
        return None
    path = " or ".join(p for p, _t, _s in alts)
    mt = alts[0][1]
    return Member(
        type_name=type_str(_unqualified(t)),
        path=path,
        offset=offset,
        size=sizeof(mt) if mt is not None else 0,
        member_type=type_str(mt),
    )


def _arrow(base: Expr, path: str) -> str:
    """``cmd`` + ``dev`` -> ``cmd->dev``; keeps ``(x)->`` for compound bases."""
    b = base.text
    if b.startswith("&") and b[1:].isidentifier():
        # through the address of a global: the global itself
        if not path:
            return b[1:]
        return f"*({b}{path})" if path.startswith("+") else f"{b[1:]}.{path}"
    if any(c in b.replace("->", "") for c in " +-*&?") and not b.endswith(")"):
        b = f"({b})"
    if path.startswith("+") or not path:
        return f"*({b}{path})" if path else f"*{b}"
    return f"{b}->{path}"


def _is_struct_like(t: Optional["drgn.Type"]) -> bool:
    import drgn

    if t is None:
        return False
    return _unqualified(t).kind in (drgn.TypeKind.STRUCT, drgn.TypeKind.UNION, drgn.TypeKind.CLASS,
                                    drgn.TypeKind.ARRAY)


class FunctionCode:
    """The machine code and DWARF of the function containing a pc, decoded once.

    :param prog: the dump, with debug info loaded.
    :param pc: any address inside the function.
    :raises LookupError: no symbol at ``pc``.
    """

    def __init__(self, prog: "drgn.Program", pc: int) -> None:
        import drgn

        self.prog = prog
        sym = prog.symbol(pc)
        self.symbol = sym
        self.name: str = sym.name
        self.start: int = sym.address
        size = sym.size or 0
        if size <= 0 or size > _MAX_FUNCTION:
            size = min(max(pc - sym.address + 16, 16), _MAX_FUNCTION)
        try:
            code = prog.read(self.start, size)
        except drgn.FaultError:
            code = b""
        self.insns: List[Instruction] = decode_all(code, self.start) if code else []
        self._index: Dict[int, int] = {insn.address: i for i, insn in enumerate(self.insns)}
        self.module = None
        self.module_name = ""
        try:
            mod = prog.module(pc)
            self.module = mod
            if not isinstance(mod, drgn.MainModule):
                self.module_name = mod.name
        except LookupError:
            pass
        self._vars: Dict[int, List[VarLoc]] = {}
        self._percpu_syms: Optional[List[Tuple[int, int, str]]] = None

    # -- addresses --------------------------------------------------------------

    def index_of(self, pc: int) -> Optional[int]:
        """Index of the instruction at ``pc`` in :attr:`insns` (None if not a boundary)."""
        return self._index.get(pc)

    def _dwarf_address(self, pc: int) -> Optional[int]:
        """``pc`` as the debug file's DWARF sees it: link address or section offset."""
        import drgn

        mod = self.module
        if mod is None or mod.debug_file_path is None:
            return None
        if isinstance(mod, drgn.RelocatableModule):
            best: Optional[Tuple[str, int]] = None
            for name, addr in mod.section_addresses.items():
                if addr <= pc and (best is None or addr > best[1]) and (name.startswith(".text") or
                                                                        name.startswith(".init.text")):
                    best = (name, addr)
            return pc - best[1] if best else None
        return pc - (mod.debug_file_bias or 0)

    def vars_at(self, pc: int) -> List[VarLoc]:
        """Variables and parameters in scope at ``pc`` with their DWARF locations there."""
        if pc in self._vars:
            return self._vars[pc]
        out: List[VarLoc] = []
        addr = self._dwarf_address(pc)
        path = self.module.debug_file_path if self.module is not None else None
        if addr is not None and path:
            try:
                out = debug_file(path).variables_at(addr, self.name)
            except Exception:  # noqa: BLE001 - damaged DWARF only loses the names
                out = []
        self._vars[pc] = out
        return out

    def _type(self, name: str, filename: str = "") -> Optional["drgn.Type"]:
        """drgn's type for a C type name; ``filename`` (where DWARF says it is defined)
        picks the right one when two modules define a type of the same name."""
        if not name or "<anonymous>" in name:
            return None
        if filename:
            try:
                return self.prog.type(name, filename)
            except (LookupError, SyntaxError, ValueError):
                pass
        try:
            return self.prog.type(name)
        except (LookupError, SyntaxError, ValueError):
            return None

    # -- tracking a register back --------------------------------------------------

    def last_writer(self, reg: str, idx: int) -> Optional[int]:
        """Index of the last instruction before ``idx`` (linear order) that changes ``reg``."""
        for j in range(idx - 1, -1, -1):
            insn = self.insns[j]
            if reg in insn.regs_written:
                return j
            if insn.is_call and reg in CALLER_SAVED:
                return j
        return None

    def _named(self, reg: str, pc: int) -> List[VarLoc]:
        return [v for v in self.vars_at(pc) if v.reg == reg and v.addend == 0]

    def expr_of(self, reg: str, idx: int, regs: Optional[Dict[str, int]] = None, depth: int = 0) -> Expr:
        """The C expression for the value of ``reg`` just before instruction ``idx`` runs.

        Follows the register back through the function's machine code, in linear order:
        loads ``disp(%base)`` become member accesses through the base's pointee type,
        moves are followed, a call's ``rax`` is its return value, and a parameter or a
        variable whose DWARF location is the register ends the chain.  ``regs`` (the
        registers at the fault) give index values of array accesses when the index
        register was not changed since.
        """
        pc = self.insns[idx].address if idx < len(self.insns) else self.start
        named = self._named(reg, pc)
        # inner scopes (inlined calls) come last in vars_at(); prefer the outermost
        # parameter as the root, and keep inner names as aliases
        params = [v for v in named if v.is_param and v.scope == self.name]
        if params:
            v = params[0]
            return Expr(v.name, self._type(v.type_name, v.type_file), "param",
                        [Evidence("dwarf", f"{v.name} ({v.type_name}) is in %{reg} at {pc:#x} ({v.location})",
                                  pc)],
                        [n.name for n in named if n.name != v.name])
        if depth < _MAX_DEPTH:
            j = self.last_writer(reg, idx)
            if j is not None:
                traced = self._from_writer(reg, j, idx, regs, depth)
                if traced is not None and traced.known:
                    traced.aliases += [v.name for v in named if v.name not in traced.aliases and v.name != traced.text]
                    return traced
            elif not named:
                # nothing in the function wrote it: a parameter arriving in the register
                entry = [v for v in self._named(reg, self.start) if v.is_param]
                if entry:
                    v = entry[0]
                    return Expr(v.name, self._type(v.type_name, v.type_file), "param",
                                [Evidence("dwarf", f"{v.name} arrives in %{reg} ({v.location})", self.start)])
        if named:
            v = named[-1]
            return Expr(v.name, self._type(v.type_name, v.type_file), "param" if v.is_param else "local",
                        [Evidence("dwarf", f"{v.name} ({v.type_name}) is in %{reg} at {pc:#x} ({v.location})", pc)],
                        [n.name for n in named[:-1] if n.name != v.name])
        return Expr(f"%{reg}", None, "unknown")

    def _from_writer(self, reg: str, j: int, idx: int, regs: Optional[Dict[str, int]],
                     depth: int) -> Optional[Expr]:
        insn = self.insns[j]
        ev = Evidence("insn", f"{insn.address:#x}: {insn.text}", insn.address)
        if insn.is_call:
            if reg != "rax":
                return None
            callee = self._callee_name(insn)
            rtype = None
            if callee:
                try:
                    rtype = self.prog.function(callee).type_.type
                except (LookupError, AttributeError):
                    rtype = None
            text = f"{callee}()" if callee else "(indirect call)()"
            return Expr(text, rtype, "call", [ev], via=insn)
        src: Optional[Source] = source_of(insn)
        if src is None or src.dest != reg:
            return None
        if src.kind == "copy" and src.reg:
            inner = self.expr_of(src.reg, j, regs, depth + 1)
            inner.evidence.append(ev)
            return inner
        if src.kind == "imm":
            val = src.value or 0
            return Expr("NULL" if val == 0 else f"{val:#x}", None, "const", [ev], value=val)
        if src.kind in ("load", "lea") and src.mem is not None:
            return self._from_memory(src, j, idx, regs, depth, ev)
        return None

    def rebase(self, base: Expr, reg: str, disp: int, pc: int) -> Tuple[Expr, int]:
        """Re-address ``disp(%reg)`` from a variable whose DWARF value is ``%reg + k``.

        GCC folds ``container_of()`` into displacements: ``p = container_of(item, ...)``
        becomes ``-0x8(%rdi)`` with ``p`` described as ``DW_OP_breg5 -16; DW_OP_stack_value``.
        When ``disp`` falls outside what ``base`` points to and such a variable's pointee
        contains ``disp - k``, the access is ``p->member``.
        """
        target = pointee(base.type)
        if target is not None and 0 <= disp < max(sizeof(target), 1):
            return base, disp
        for v in self.vars_at(pc):
            if v.reg != reg or not v.addend:
                continue
            vt = self._type(v.type_name, v.type_file)
            vp = pointee(vt)
            if vp is not None and 0 <= disp - v.addend < sizeof(vp):
                ev = Evidence("dwarf", f"{v.name} = %{reg} {v.addend:+#x} ({v.location}, {v.type_name})", pc)
                return Expr(v.name, vt, "local", [ev], [base.text] if base.known else []), disp - v.addend
        return base, disp

    def retype(self, expr: Expr, reg: str, pc: int) -> Expr:
        """Give ``expr`` the type of the variable that holds it at ``pc``, when they differ.

        A value loaded as ``struct list_head *`` and used as ``struct kdx_req *`` went
        through ``container_of()`` or a cast: the variable's DWARF type says what the code
        dereferences.  Spelled ``container_of(x, struct T, member)`` when ``T`` has a member
        of ``x``'s pointee type at offset 0, else as a cast.
        """
        named = [v for v in self.vars_at(pc) if v.reg == reg and v.addend == 0]
        via = expr.via
        if via is not None and via.mem is not None and via.mem.size == 8:
            # a variable living in memory where the value was loaded from (DW_OP_bregN k)
            named += [v for v in self.vars_at(pc) if v.mem_reg is not None and v.mem_reg == via.mem.base
                      and v.mem_off == via.mem.disp]
        if not named or expr.type is None:
            return expr
        v = named[-1]
        vt = self._type(v.type_name, v.type_file)
        vp, ep = pointee(vt), pointee(expr.type)
        if vp is None or ep is None or _same_type(vp, ep) or not expr.known:
            return expr
        inner = expr.text
        via_member = ""
        for path, mt, start in members_at(vp, 0):
            head = path.split(".")[0].split("[")[0]
            if start == 0 and head:
                try:
                    first = vp.member(head)
                    if _same_type(first.type, ep):
                        via_member = head
                except (LookupError, AttributeError, ValueError):
                    pass
            break
        tname = type_str(_unqualified(vp))
        text = f"container_of({inner}, {tname}, {via_member})" if via_member else f"(({type_str(vt)}){inner})"
        ev = Evidence("dwarf", f"{v.name} ({v.type_name}) holds {inner} in %{reg} at {pc:#x} ({v.location})", pc)
        return Expr(text, vt, expr.root, expr.evidence + [ev], expr.aliases + [v.name], expr.value, expr.via,
                    expr.via_base)

    def _callee_name(self, insn: Instruction) -> str:
        if insn.target is None:
            return ""
        try:
            sym = self.prog.symbol(insn.target)
        except LookupError:
            return ""
        return sym.name if sym.address == insn.target else ""

    def _global_at(self, address: int) -> Optional[Expr]:
        try:
            sym = self.prog.symbol(address)
        except LookupError:
            return None
        try:
            obj = self.prog.variable(sym.name)
            t = obj.type_
        except (LookupError, ValueError):
            t = None
        off = address - sym.address
        text = sym.name if off == 0 else f"{sym.name}+{off:#x}"
        return Expr(f"&{text}", self.prog.pointer_type(t) if t is not None else None, "global")

    def _percpu(self, offset: int, insn: Instruction, ev: Evidence) -> Optional[Expr]:
        """``%gs:offset`` on x86-64 is this CPU's copy of a per-cpu variable.

        Per-cpu symbols are offsets into the per-cpu area; drgn finds them by name but not
        by address, so the vmlinux symbols below the first kernel text address are searched
        once.  ``this_cpu_read(current_task)`` is what the kernel calls ``current``.
        """
        if self._percpu_syms is None:
            try:
                text = self.prog.symbol("_text").address
            except LookupError:
                text = 1 << 63
            self._percpu_syms = sorted((s.address, s.size, s.name) for s in self.prog.symbols()
                                       if s.address < min(text, 1 << 32) and s.size)
        found = [(a, n) for a, size, n in self._percpu_syms if a <= offset < a + size]
        if not found:
            return None
        address, name = found[0]
        try:
            t = self.prog.variable(name).type_
        except (LookupError, ValueError):
            t = None
        if offset != address:
            return None  # a member of a per-cpu struct: not named yet
        text = "current" if name == "current_task" else f"this_cpu_read({name})"
        return Expr(text, t, "global", [Evidence("insn", f"{insn.text}: this CPU's {name}", insn.address), ev],
                    via=insn)

    def _stack_slot(self, reg: str, disp: int, insn: Instruction, ev: Evidence) -> Optional[Expr]:
        for v in self.vars_at(insn.address):
            if v.mem_reg == reg and v.mem_off == disp:
                dev = Evidence("dwarf", f"{v.name} ({v.type_name}) lives at {disp:#x}(%{reg}) ({v.location})",
                               insn.address)
                return Expr(v.name, self._type(v.type_name, v.type_file), "param" if v.is_param else "local", [dev, ev], via=insn)
        return None

    def _from_memory(self, src: Source, j: int, idx: int, regs: Optional[Dict[str, int]], depth: int,
                     ev: Evidence) -> Optional[Expr]:
        mem = src.mem
        assert mem is not None
        insn = self.insns[j]
        disp = mem.disp
        if mem.base == "rip":
            base = self._global_at(insn.address + insn.size + disp)
            if base is None:
                return None
            raw_base = base
            disp = 0
        elif mem.base is None:
            if mem.segment == "gs" and mem.index is None and src.kind == "load":
                return self._percpu(mem.disp, insn, ev)
            return None
        else:
            base = self.expr_of(mem.base, j, regs, depth + 1)
            if mem.base == "rsp" or (mem.base == "rbp" and not base.known):
                # a stack slot, not an object: a spilled variable if DWARF says one lives there
                return self._stack_slot(mem.base, disp, insn, ev)
            raw_base = base  # what the register holds, before container_of() re-addressing
            base, disp = self.rebase(base, mem.base, disp, insn.address)
        target = pointee(base.type)
        index_val: Optional[int] = None
        index_text = ""
        if mem.index is not None:
            # the index register's value at the fault is its value here if nothing changed it since
            if regs is not None and mem.index in regs and all(
                    mem.index not in self.insns[k].regs_written and not self.insns[k].is_call
                    for k in range(j, idx)):
                index_val = regs[mem.index]
            else:
                idx_expr = self.expr_of(mem.index, j, regs, depth + 1)
                index_text = idx_expr.text if idx_expr.known else ""
        evidence = base.evidence + [ev]
        if target is None or not _is_struct_like(target) and mem.index is None and disp == 0 and src.kind == "load":
            if target is not None and src.kind == "load" and disp == 0:
                return Expr(_arrow(base, ""), target, base.root, evidence, via=insn,
                            via_base=(mem.base or "", raw_base))
            return None
        offset = disp
        if index_val is not None:
            offset += index_val * mem.scale
        alts = members_at(target, offset)
        path = alts[0][0]
        mtype = alts[0][1]
        if mem.index is not None and index_val is None and index_text:
            # an array indexed by a variable: name the array, index with the variable
            arr = members_at(target, disp)[0]
            path = arr[0].split("[")[0] + f"[{index_text}]"
            mtype = None
            try:
                at = _unqualified(arr[1]) if arr[1] is not None else None
                mtype = at.type if at is not None else None
            except AttributeError:
                mtype = None
        if src.kind == "lea":
            if offset < 0 or path.startswith("+"):
                return None
            return Expr(f"&{_arrow(base, path)}", self.prog.pointer_type(mtype) if mtype is not None else None,
                        base.root, evidence, via=insn, via_base=(mem.base or "", raw_base))
        return Expr(_arrow(base, path), mtype, base.root, evidence, via=insn, via_base=(mem.base or "", raw_base))
