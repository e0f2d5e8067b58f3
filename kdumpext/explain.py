"""Explain a value inside one function: which C expression a register held, by dataflow over its machine code.

Pure analysis over decoded instructions (:mod:`kdumpext.flow`) and what a
:class:`~kdumpext.program.ProgramView` says about variables, types and symbols; it
never reads a dump itself.  The cross-frame chain is :mod:`kdumpext.provenance`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Literal, Optional, Tuple

from .decode import Source, source_of, stored_register
from .dwarf import Deref, FrameBase, VarLoc
from .flow import ENTRY, UNKNOWN, build_cfg, reaching_defs, reaching_stores, sp_offsets, stack_slot
from .members import address_member, is_aggregate, member_of, member_paths, pointee, same_type, sizeof, type_str, unqualified
from .model import Evidence, Instruction, MASK64, Member, MemOperand, Registers
from .program import Code, ProgramView, clone_suffix, module_plt_target, unrelocated_call

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["How", "Value", "Tracer", "ARG_REGS", "arrow", "named_by_var"]

#: Integer argument registers, in order (System V x86-64 psABI).
ARG_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
_MAX_DEPTH = 12
_ALIAS_WINDOW = 48  # instructions from a function's entry searched for a copy of an unnamed argument

#: How a value was made: a parameter on entry, a DWARF-named variable we could not trace
#: further, a load, an address computed from a pointer, a call's result, a constant, a global.
How = Literal["param", "local", "load", "address-of", "return", "constant", "global", "unknown"]


@dataclass
class Value:
    """A C expression for the value a register holds at one point, its type, and how we know it."""

    text: str
    type: Optional["drgn.Type"] = None
    how: How = "unknown"
    evidence: List[Evidence] = field(default_factory=list)
    aliases: List[str] = field(default_factory=list)  #: variables that also hold the value
    insn: Optional[Instruction] = None  #: the instruction that made it (load, lea, call, mov $imm)
    base: Optional["Value"] = None  #: load / address-of: the pointer it went through
    base_reg: str = ""  #: that pointer's register
    member: Optional[Member] = None  #: load / address-of: the member of the base's pointee
    mem: Optional[MemOperand] = None  #: load: the memory read (one register's half of a pair)
    callee: str = ""  #: return: the function called
    reg: str = ""  #: param: the register it arrived in
    const: Optional[int] = None  #: constant: the value
    #: the function's own local variable that holds the value, when DWARF names one (``refill``
    #: for ``rxq->refill``): addresses computed from the value are spelled through it
    var: str = ""
    #: other values reaching the same point on other control-flow paths
    candidates: List["Value"] = field(default_factory=list)

    @property
    def known(self) -> bool:
        """True when the expression names something (not just a register)."""
        return self.how != "unknown"

    def with_evidence(self, *extra: Evidence) -> "Value":
        """The same value with ``extra`` facts appended."""
        self.evidence = self.evidence + list(extra)
        return self


def named_by_var(v: Value) -> Value:
    """``v`` as the local variable holding it spells it (``refill`` for ``rxq->refill``), when there is one."""
    return Value(v.var, v.type, "local") if v.var else v


def arrow(base: Value, path: str) -> str:
    """``cmd`` + ``dev`` → ``cmd->dev``; ``(a + b)->x`` for compound bases; ``*p`` for the pointee itself."""
    b = base.text
    if b.startswith("&") and b[1:].isidentifier():  # through the address of a global: the global itself
        return f"{b[1:]}.{path}" if path else b[1:]
    if any(c in b.replace("->", "") for c in " +-*&?") and not b.endswith(")"):
        b = f"({b})"
    return f"{b}->{path}" if path else f"*{b}"


class Tracer:
    """Dataflow over one function's code: the C expression of a register at an instruction.

    :param view: the program.
    :param code: the function, decoded.
    :param regs: register values at ``fault_index`` (the fault frame's, or a caller's at its
        call), used for the value of a register that nothing changed since (an array index, the
        pointer a member was loaded through).
    """

    def __init__(self, view: ProgramView, code: Code, regs: Optional[Registers] = None,
                 fault_index: Optional[int] = None) -> None:
        self.view = view
        self.code = code
        self.insns = code.insns
        self.cfg = build_cfg(code.insns)
        self.regs = regs or {}
        self.fault_index = fault_index
        self._sp: Optional[List[Optional[int]]] = None
        self._memo: Dict[Tuple[str, int], Value] = {}
        #: the source name of the function (a clone's without its suffix), as DWARF scopes name it
        self.function = clone_suffix(code.name)[0]

    # -- DWARF names ----------------------------------------------------------------

    def _pc(self, index: int) -> int:
        return self.insns[index].address if index < len(self.insns) else self.code.start

    def vars_at(self, index: int) -> List[VarLoc]:
        """The variables in scope at instruction ``index``."""
        return self.view.variables_at(self._pc(index))

    def _type(self, v: VarLoc) -> Optional["drgn.Type"]:
        return self.view.type_named(v.type_name, v.type_file)

    def _named(self, reg: str, index: int) -> List[VarLoc]:
        return [v for v in self.vars_at(index) if v.reg == reg and v.addend == 0]

    def _param_arriving_in(self, reg: str) -> Optional[VarLoc]:
        for v in self.view.variables_at(self.code.start):
            if v.is_param and (v.entry_reg == reg or (v.reg == reg and v.addend == 0)):
                return v
        return None

    # -- the value of a register ------------------------------------------------------

    def value(self, reg: str, index: int, depth: int = 0) -> Value:
        """The C expression for ``reg`` just before instruction ``index`` runs.

        Reaching definitions over the control-flow graph: a load ``disp(%base)`` is a
        member access through the base's pointee type, ``lea`` an address of a member,
        moves and stack spills are followed, a call's ``rax`` is its return value, and a
        register nothing in the function wrote is the parameter that arrived in it.
        Where paths disagree, the first traced value is returned with the others as
        :attr:`Value.candidates`.
        """
        key = (reg, index)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = Value(f"%{reg}")  # a loop back to here: unknown
        v = self._value(reg, index, depth)
        self._memo[key] = v
        return v

    def _value(self, reg: str, index: int, depth: int) -> Value:
        named = self._named(reg, index)
        if depth > _MAX_DEPTH:
            return self._from_name(named, reg, index)
        defs = reaching_defs(self.cfg, reg, index)
        values: List[Value] = []
        for d in defs:
            if d in (ENTRY, UNKNOWN):
                # UNKNOWN: a path from code no branch in the file reaches, e.g. behind an
                # alternative the kernel patched at boot: taken as the entry too
                values.append(self.entry(reg))
            else:
                values.append(self._from_def(reg, d, depth))
        if not values:
            values = [Value(f"%{reg}")]
        known = [v for v in values if v.known]
        best = known[0] if known else values[0]
        others: List[Value] = []
        for v in known[1:]:
            if v.text != best.text and all(v.text != o.text for o in others):
                others.append(v)
        if not best.known:
            if named:
                return self._from_name(named, reg, index)
            return best
        own_vars = [n for n in named if n.scope == self.function]
        if own_vars and (len(known) < len(values) or others):
            # paths that disagree (a loop: the first iteration's `host->pending.next`, then
            # `pos->node.next`) or one that could not be traced, and a variable DWARF places
            # in the register here: the variable, whose name and type hold on every path (a
            # list_for_each_entry's container_of of a member at offset 0 adds no instruction,
            # so the traced value is a list_head where the variable is the entry)
            return self._from_name(own_vars, reg, index)
        best.aliases = best.aliases + [n.name for n in named if n.name != best.text and n.name not in best.aliases]
        own = [n.name for n in named if n.scope == self.function and n.name != best.text]
        if best.how == "load" and own and not best.var:
            best.var = own[-1]
        if best.how == "return" and best.aliases:
            # a call's result is called by the variable DWARF says holds it: `filp`, not `filp_open()`
            call = best.text
            best.text = named[-1].name if named else best.aliases[0]
            best.aliases = [a for a in best.aliases if a != best.text] + [call]
            if best.type is None and named:
                best.type = self._type(named[-1])
        if others:
            best.candidates = others
        return best

    def _from_name(self, named: List[VarLoc], reg: str, index: int) -> Value:
        if not named:
            return Value(f"%{reg}")
        v = named[-1]
        pc = self._pc(index)
        return Value(v.name, self._type(v), "param" if v.is_param else "local",
                     [Evidence("dwarf", f"{v.name} ({v.type_name}) is in %{reg} at {pc:#x} ({v.location})", pc)],
                     [n.name for n in named[:-1] if n.name != v.name], reg=reg)

    def entry(self, reg: str) -> Value:
        """The value ``reg`` had on entry: a parameter (named by DWARF when it can)."""
        p = self._param_arriving_in(reg)
        if p is not None:
            return Value(p.name, self._type(p), "param",
                         [Evidence("dwarf", f"{p.name} ({p.type_name}) arrives in %{reg} ({p.location or 'entry'})",
                                   self.code.start)], reg=reg)
        alias = self._entry_alias(reg)
        if alias is not None:
            # an interprocedural clone (.isra) receives a->link where the source had a: no
            # parameter names the register, but the variable it is copied into does
            v, at = alias
            return Value(v.name, self._type(v), "param",
                         [Evidence("dwarf", f"{v.name} ({v.type_name}) is in %{v.reg} at {at:#x} ({v.location}), "
                                            f"a copy of %{reg} as it arrived", at)], reg=reg)
        args = self.view.arch.arg_regs
        if reg in args:
            n = args.index(reg) + 1
            return Value("", None, "param",
                         [Evidence("note", f"%{reg} is unchanged since {self.code.name} was entered: argument {n}")],
                         reg=reg)
        return Value(f"%{reg}", reg=reg)

    def _entry_alias(self, reg: str) -> Optional[Tuple[VarLoc, int]]:
        """A variable that holds ``reg``'s entry value unchanged, early in the function, and where."""
        for k in range(min(len(self.insns), _ALIAS_WINDOW)):
            for v in self.vars_at(k):
                if v.reg and v.addend == 0 and v.type_name and self._entry_copy(v.reg, k, reg, 0):
                    return v, self.insns[k].address
        return None

    def _entry_copy(self, r: str, k: int, reg: str, depth: int) -> bool:
        """Whether ``r`` before instruction ``k`` is ``reg``'s entry value, through whole-register copies only."""
        defs = reaching_defs(self.cfg, r, k)
        if defs == [ENTRY]:
            return r == reg
        if len(defs) != 1 or defs[0] < 0 or depth > 4:
            return False
        src = source_of(self.insns[defs[0]], r)
        return src is not None and src.kind == "copy" and src.width == 8 and src.reg is not None \
            and self._entry_copy(src.reg, defs[0], reg, depth + 1)

    def _from_def(self, reg: str, j: int, depth: int) -> Value:
        insn = self.insns[j]
        ev = Evidence("insn", f"{insn.address:#x}: {insn.text}", insn.address)
        if insn.is_call:
            if reg != self.view.arch.return_reg:
                return Value(f"%{reg}")  # clobbered by the call
            return self._return_value(insn, j, ev)
        src: Optional[Source] = source_of(insn, reg)
        if src is None or src.dest != reg:
            if insn.mnemonic.startswith("pop"):
                return self._from_stack(reg, j, self._sp_at(j), 8, depth, ev)
            return Value(f"%{reg}")
        if src.kind == "copy" and src.reg:
            return self.value(src.reg, j, depth + 1).with_evidence(ev)
        if src.kind == "imm":
            val = src.value or 0
            return Value("NULL" if val == 0 else f"{val:#x}", None, "constant", [ev], insn=insn, const=val)
        if src.kind in ("load", "lea") and src.mem is not None:
            return self._from_memory(src, j, depth, ev)
        return Value(f"%{reg}")

    def _return_value(self, call: Instruction, j: int, ev: Evidence) -> Value:
        callee, rtype = "", None
        target = call.target
        # a .ko's call left unrelocated (its code read from the file, for an oops log) targets
        # itself (arm64 ``bl``) or the next instruction (x86-64 ``call``): no callee there
        if target is not None and not unrelocated_call(call):
            target = module_plt_target(self.view, target) or target  # an arm64 module's PLT entry
            sym = self.view.symbol_at(target)
            info = self.view.function_info(target) if sym is not None and sym.address == target else None
            if sym is not None and sym.address == target:
                callee = sym.name
            if info is not None:
                callee = info.name or callee
                rtype = self.view.type_named(info.return_type, info.return_type_file) \
                    if info.return_type not in ("", "void") else None
        if not callee and call.target is not None:
            # a direct call the code does not resolve: the caller's DWARF names what it called
            site = self.view.call_site(call.address + call.size)
            if site is not None and site.callee:
                callee = site.callee
        text = f"{callee}()" if callee else "(indirect call)()"
        v = Value(text, rtype, "return", [ev], insn=call, callee=callee)
        # the variable DWARF says holds the result just after the call
        after = j + 1
        if after < len(self.insns):
            for var in self.vars_at(after):
                if var.reg == self.view.arch.return_reg and var.addend == 0:
                    v.aliases = [var.name]
                    if v.type is None:
                        v.type = self._type(var)
        return v

    # -- memory ---------------------------------------------------------------------------

    def _sp_at(self, j: int) -> Optional[int]:
        if self._sp is None:
            self._sp = sp_offsets(self.cfg)
        return self._sp[j] if j < len(self._sp) else None

    def _from_stack(self, reg: str, j: int, slot: Optional[int], size: int, depth: int, ev: Evidence) -> Value:
        """A value reloaded from the stack: the register stored (pushed or spilled) there."""
        if slot is None:
            return Value(f"%{reg}")
        stores = [s for s in reaching_stores(self.cfg, slot, size, j) if s not in (ENTRY, UNKNOWN)]
        if len(stores) != 1:
            return Value(f"%{reg}")
        st = self.insns[stores[0]]
        at = stack_slot(self.cfg, stores[0], st.mem) if st.mem is not None else None
        src = stored_register(st, slot - at if at is not None else 0)
        if src is None:
            return Value(f"%{reg}")
        sev = Evidence("insn", f"{st.address:#x}: {st.text}  (stored to the stack slot {slot:#x})", st.address)
        return self.value(src, stores[0], depth + 1).with_evidence(sev, ev)

    def _stack_var(self, base_reg: str, disp: int, slot: Optional[int], j: int, ev: Evidence) -> Optional[Value]:
        """The variable DWARF places in the stack slot ``disp(%base_reg)`` at instruction ``j``:
        ``DW_OP_bregN disp``, or ``DW_OP_fbreg k`` with the frame base the CFA (entry rsp + 8),
        which is the slot ``k + 8`` of :func:`~kdumpext.flow.stack_slot`."""
        for v in self.vars_at(j):
            at_cfa = v.value is not None and isinstance(v.value, Deref) and isinstance(v.value.base, FrameBase) \
                and slot is not None and v.value.base.offset + 8 == slot
            if (v.mem_reg == base_reg and v.mem_off == disp) or at_cfa:
                dev = Evidence("dwarf", f"{v.name} ({v.type_name}) lives at {disp:#x}(%{base_reg}) ({v.location})",
                               self.insns[j].address)
                return Value(v.name, self._type(v), "param" if v.is_param else "local", [dev, ev],
                             insn=self.insns[j])
        return None

    def _global(self, address: int, insn: Instruction, ev: Evidence) -> Optional[Value]:
        g = self.view.global_at(address)
        if g is None:
            return None
        name, off, t = g
        text = name if off == 0 else f"{name}+{off:#x}"
        return Value(f"&{text}", self.view.pointer_to(t) if t is not None and off == 0 else None, "global", [ev],
                     insn=insn)

    def _percpu(self, offset: int, insn: Instruction, ev: Evidence) -> Optional[Value]:
        """``%gs:offset`` is this CPU's per-cpu variable (``current_task`` is ``current``), or a member of one."""
        p = self.view.percpu_at(offset)
        if p is None:
            return None
        name, off, t = p
        note = Evidence("insn", f"{insn.text}: this CPU's {name}" + (f" +{off:#x}" if off else ""), insn.address)
        if off == 0:
            text = "current" if name == "current_task" else f"this_cpu_read({name})"
            return Value(text, t, "global", [note, ev], insn=insn)
        m = member_of(t, off, insn.mem.size if insn.mem else 0) if t is not None else None
        if m is None or not m.path or m.accessed is not None:
            return None
        mt = self.view.type_named(m.member_type) if m.member_type else None
        text = "current" if m.path.endswith("current_task") else f"this_cpu_read({name}.{m.path})"
        return Value(text, mt, "global", [note, ev], insn=insn, member=m)

    def _from_memory(self, src: Source, j: int, depth: int, ev: Evidence) -> Value:
        mem = src.mem
        assert mem is not None
        insn = self.insns[j]
        disp = mem.disp
        if mem.base == "rip":
            g = self._global((insn.address + insn.size + disp) & MASK64, insn, ev)
            if g is None:
                return Value(f"%{src.dest}")
            if src.kind == "lea":
                return g
            base, raw_base, disp = g, g, 0
        elif mem.base is None:
            if mem.segment == "gs" and mem.index is None and src.kind == "load":
                return self._percpu(mem.disp, insn, ev) or Value(f"%{src.dest}")
            return Value(f"%{src.dest}")
        elif mem.base == self.view.arch.sp or (mem.base == self.view.arch.fp
                                               and stack_slot(self.cfg, j, mem) is not None):
            # the stack (rbp only where the function made it a frame pointer; elsewhere it is
            # an ordinary callee-saved register)
            if src.kind == "lea":
                return Value(f"%{src.dest}")  # the address of a local
            slot = stack_slot(self.cfg, j, mem)
            named = self._stack_var(mem.base, disp, slot, j, ev)
            traced = self._from_stack(src.dest, j, slot, mem.size or 8, depth, ev)
            if named is None:
                return traced
            if traced.known and traced.how != "local":
                # where the spilled value came from, named by the variable that lives in the slot
                traced.aliases = traced.aliases + [named.text]
                return traced
            return named
        else:
            base = self.value(mem.base, j, depth + 1)
            raw_base = base
            base, disp = self.rebase(base, mem.base, disp, j)
        target = pointee(base.type)
        offset = disp
        index_text = ""
        if mem.index is not None:
            index_val = self.register_at(mem.index, j)
            if index_val is not None:
                offset += index_val * mem.scale
            else:
                iv = self.value(mem.index, j, depth + 1)
                index_text = iv.text if iv.known else ""
        if target is None:
            return Value(f"%{src.dest}")
        evidence = base.evidence + [ev]
        m: Optional[Member] = None
        path = ""
        mtype: Optional["drgn.Type"] = None
        if is_aggregate(target):
            m = member_of(target, offset, mem.size)
            if m is None or m.accessed is not None:
                return Value(f"%{src.dest}")  # padding, past the end, or inside a scalar: not a pointer load
            path, mtype = m.path, self.view.type_named(m.member_type) if m.member_type else None
            alts = member_paths(target, offset)
            if alts:
                best = next((a for a in alts if a.path == m.path), alts[0])
                mtype = best.type
            if mem.index is not None and index_text:
                # an array indexed by a variable: name the array, index with the variable
                arr = member_paths(target, disp)
                if arr:
                    path = arr[0].path.rsplit("[", 1)[0] + f"[{index_text}]"
        elif offset != 0 or mem.index is not None:
            return Value(f"%{src.dest}")
        else:
            mtype = target
        if src.kind == "lea":
            am = address_member(target, offset) if is_aggregate(target) and mem.index is None else None
            if am is None:
                return Value(f"%{src.dest}")
            m, path = am, am.path
            mtype = self.view.type_named(am.member_type) if am.member_type else None
            text = f"&{arrow(named_by_var(base), path)}"
            ptype = self.view.pointer_to(mtype) if mtype is not None else None
            return Value(text, ptype, "address-of", evidence, insn=insn, base=base, base_reg=mem.base or "", member=m)
        # base: what the register held (before container_of() re-addressing), as the evidence shows it
        return Value(arrow(base, path), mtype, "load", evidence, insn=insn, base=raw_base, base_reg=mem.base or "",
                     member=m, mem=mem)

    def register_at(self, reg: str, j: int) -> Optional[int]:
        """The value of ``reg`` just before instruction ``j``, from the registers the dump gives at
        :attr:`fault_index` (the fault, or a caller's call) when no write can come between the two."""
        fi = self.fault_index
        if fi is None or reg not in self.regs:
            return None
        if j == fi or reaching_defs(self.cfg, reg, fi) == reaching_defs(self.cfg, reg, j) \
                and reg not in self.insns[j].regs_written:
            return self.regs[reg]
        return None

    # -- container_of() and casts ---------------------------------------------------------

    def rebase(self, base: Value, reg: str, disp: int, index: int) -> Tuple[Value, int]:
        """Re-address ``disp(%reg)`` from a variable whose DWARF value is ``%reg + k``.

        GCC folds ``container_of()`` into displacements: ``p = container_of(item, ...)``
        becomes ``-0x8(%rdi)`` with ``p`` described as ``DW_OP_breg5 -16; DW_OP_stack_value``.
        When ``disp`` falls outside what ``base`` points to and such a variable's pointee
        contains ``disp - k``, the access is ``p->member``.
        """
        target = pointee(base.type)
        if target is not None and 0 <= disp < max(sizeof(target), 1):
            return base, disp
        pc = self.insns[index].address
        for v in self.vars_at(index):
            if v.reg != reg or not v.addend:
                continue
            vt = self._type(v)
            vp = pointee(vt)
            if vp is not None and 0 <= disp - v.addend < sizeof(vp):
                ev = Evidence("dwarf", f"{v.name} = %{reg} {v.addend:+#x} ({v.location}, {v.type_name})", pc)
                return Value(v.name, vt, "local", [ev], [base.text] if base.known else [], reg=reg), disp - v.addend
        return base, disp

    def retype(self, value: Value, reg: str, index: int) -> Value:
        """Give ``value`` the type of the variable that holds it at ``index``, when they differ.

        A value loaded as ``struct list_head *`` and used as ``struct kdx_req *`` went
        through ``container_of()`` or a cast: the variable's DWARF type says what the code
        dereferences.  Spelled ``container_of(x, struct T, member)`` when ``T`` has a member
        of ``x``'s pointee type at offset 0, else as a cast.
        """
        named = self._named(reg, index)
        via = value.insn
        if via is not None and via.mem is not None and via.mem.size == 8:
            # a variable living in memory where the value was loaded from (DW_OP_bregN k)
            named += [v for v in self.vars_at(index) if v.mem_reg is not None and v.mem_reg == via.mem.base
                      and v.mem_off == via.mem.disp]
        if not named or value.type is None or not value.known:
            return value
        v = named[-1]
        vt = self._type(v)
        vp, ep = pointee(vt), pointee(value.type)
        if vp is None or ep is None or same_type(vp, ep):
            return value
        first = member_paths(vp, 0)
        via_member = ""
        if first and first[0].start == 0:
            head = first[0].path.split(".")[0].split("[")[0]
            try:
                if head and same_type(unqualified(vp).member(head).type, ep):
                    via_member = head
            except (LookupError, AttributeError, ValueError):
                pass
        tname = type_str(unqualified(vp))
        text = f"container_of({value.text}, {tname}, {via_member})" if via_member else f"(({type_str(vt)}){value.text})"
        pc = self.insns[index].address
        ev = Evidence("dwarf", f"{v.name} ({v.type_name}) holds {value.text} in %{reg} at {pc:#x} ({v.location})", pc)
        return dataclasses.replace(value, text=text, type=vt, evidence=value.evidence + [ev],
                                   aliases=value.aliases + [v.name])

