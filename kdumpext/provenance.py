"""Follow a bad value across calls: from the faulting function up the stack to where it was made.

Each function's part is dataflow (:class:`~kdumpext.explain.Tracer`); between two
frames the value an argument register held is read at the caller's call instruction,
by dataflow there or from DWARF's call-site parameters (``DW_AT_call_value``).  A
function that tail-jumped to the callee is not on the stack: it is found from the call
before the return address and its own jumps.  The result is a list of
:class:`~kdumpext.model.Hop`, from the fault outwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from .decode import source_of, stored_register
from .dwarf import CallValue, Const, Deref, EntryValue, RegPlus
from .flow import reaching_defs, reaching_stores, sp_offsets, stack_slot
from .explain import ARG_REGS, Tracer, Value, arrow
from .members import address_member, member_of, pointee, type_str
from .model import Evidence, Frame, Hop, Instruction
from .program import Code, ProgramView, clone_suffix

__all__ = ["Caller", "caller_of", "hops_in_function", "chain", "source_name"]

_MAX_FRAMES = 16
_MASK64 = (1 << 64) - 1


def source_name(view: ProgramView, code: Code) -> Tuple[str, str]:
    """``(source function, clone suffix)`` of a function: ``("foo", ".isra.0")`` for ``foo.isra.0``."""
    name, suffix = clone_suffix(code.name)
    info = view.function_info(code.start)
    if info is not None and info.name:
        name = info.name
    return name, suffix


@dataclass
class Caller:
    """Where a function was called from: the caller's code and tracer, the call, the frame index.

    ``via`` is the function the call went to when it is not the callee on the stack
    (it tail-jumped there), with the index of that jump in its code.
    """

    tracer: Tracer
    call_index: int
    frame_index: int
    via: Optional[Tuple[Tracer, int]] = None
    indirect: bool = False  #: through a function pointer: the callee cannot be checked against the call

    @property
    def call(self) -> Instruction:
        """The call instruction."""
        return self.tracer.insns[self.call_index]


def _physical(frames: List[Frame], i: int) -> int:
    while i < len(frames) and frames[i].inlined:
        i += 1
    return min(i, len(frames) - 1)


def caller_of(view: ProgramView, frames: List[Frame], fi: int, callee: Code) -> Optional[Caller]:
    """The call that entered ``callee`` (frame ``fi``), from the next frame's return address."""
    p = _physical(frames, fi)
    if p + 1 >= len(frames):
        return None
    ret = frames[p + 1].pc
    code = view.code(ret)
    if code is None:
        return None
    idx = code.index_of(ret)
    if not idx or not code.insns[idx - 1].is_call:
        return None
    tracer = Tracer(view, code)
    caller = Caller(tracer, idx - 1, p + 1)
    call = code.insns[idx - 1]
    target = call.target
    if target is None or view.thunk_register(target) is not None:
        caller.indirect = True
    elif target == call.address + call.size:
        pass  # a module's call not relocated (code from the .ko file, for an oops log): trust the stack
    elif not callee.start <= target < max(callee.end, callee.start + 1):
        # the call went elsewhere: that function tail-jumped to the callee
        mid = view.code(target)
        jumps = [i for i, insn in enumerate(mid.insns) if insn.is_jump and insn.target is not None
                 and callee.start <= insn.target < max(callee.end, callee.start + 1)] if mid is not None else []
        if mid is None or len(jumps) != 1:
            return None  # reached through more than one tail jump, or another way: not decided
        caller.via = (Tracer(view, mid), jumps[0])
    return caller


def _fact(v: Value) -> str:
    insn = v.insn
    if insn is None:
        return next((e.text for e in v.evidence if e.kind == "dwarf"), "")
    text = insn.text
    if v.base is not None and v.base_reg and v.base.known:
        text += f"; {v.base_reg} = {v.base.text}" + (f", {type_str(v.base.type)}" if v.base.type is not None else "")
    return text


def hops_in_function(view: ProgramView, tracer: Tracer, v: Value, value: Optional[int] = None,
                     callee: str = "", last: Optional[List[Value]] = None) -> Tuple[List[Hop], Optional[str]]:
    """The hops of value ``v`` inside one function, and the register it arrived in when it is a parameter.

    ``value`` is the bad value itself when known (so an ``address-of`` hop can say what
    its base pointer was); ``callee`` the function this value was passed to; ``last``, when
    given, receives the value the last hop describes.
    """
    fn, clone = source_name(view, tracer.code)
    mod = tracer.code.module
    hops: List[Hop] = []
    for _ in range(8):
        if last is not None:
            last[:] = [v]
        common = dict(function=fn, clone=clone, module=mod, type=type_str(v.type), fact=_fact(v),
                      pc=v.insn.address if v.insn is not None else None, callee=callee,
                      candidates=[c.text for c in v.candidates], value=value)
        if v.how == "address-of" and v.base is not None:
            hops.append(Hop("address-of", expr=v.text, member=v.member, **common))  # type: ignore[arg-type]
            if value is not None and v.member is not None:
                value = (value - v.member.byte) & _MASK64
            v = v.base
            callee = ""
            continue
        if v.how == "param":
            n = ARG_REGS.index(v.reg) + 1 if v.reg in ARG_REGS else 0
            common["fact"] = common["fact"] or (f"argument {n}, in %{v.reg} on entry" if n else "")
            hops.append(Hop("argument", expr=v.text or f"argument {n}", **common))  # type: ignore[arg-type]
            return hops, v.reg or None
        if v.how == "load":
            hops.append(Hop("load", expr=v.text, member=v.member, **common))  # type: ignore[arg-type]
        elif v.how == "return":
            common["callee"] = v.callee
            hops.append(Hop("return", expr=v.text, **common))  # type: ignore[arg-type]
        elif v.how == "constant":
            hops.append(Hop("constant", expr=v.text, **common))  # type: ignore[arg-type]
        elif v.how == "global":
            hops.append(Hop("global", expr=v.text, **common))  # type: ignore[arg-type]
        else:
            hops.append(Hop("unknown", expr=v.text if v.known else "", **common))  # type: ignore[arg-type]
        return hops, None
    return hops, None


def _from_call_value(tracer: Tracer, call_index: int, cv: CallValue) -> Optional[Value]:
    """A call-site parameter's DWARF value (``DW_AT_call_value``) as a :class:`Value` in the caller."""
    ev = Evidence("dwarf", f"DW_AT_call_value: {cv.text}", tracer.insns[call_index].address)
    if isinstance(cv, Const) and not cv.is_address:
        return Value("NULL" if cv.value == 0 else f"{cv.value:#x}", None, "constant", [ev], const=cv.value)
    if isinstance(cv, RegPlus):
        base = tracer.value(cv.reg, call_index)
        if not base.known:
            return None
        if cv.addend == 0:
            return base.with_evidence(ev)
        target = pointee(base.type)
        m = address_member(target, cv.addend) if target is not None else None
        if m is None:
            return None
        ptr = tracer.view.pointer_to(tracer.view.type_named(m.member_type)) \
            if tracer.view.type_named(m.member_type) is not None else None
        return Value(f"&{arrow(base, m.path)}", ptr, "address-of", [ev] + base.evidence, base=base,
                     base_reg=cv.reg, member=m)
    if isinstance(cv, Deref) and isinstance(cv.base, RegPlus):
        base = tracer.value(cv.base.reg, call_index)
        target = pointee(base.type)
        if not base.known or target is None:
            return None
        m = member_of(target, cv.base.addend, cv.size)
        if m is None or m.accessed is not None:
            return None
        return Value(arrow(base, m.path), tracer.view.type_named(m.member_type), "load", [ev] + base.evidence,
                     base=base, base_reg=cv.base.reg, member=m)
    if isinstance(cv, EntryValue):
        v = tracer._entry(cv.reg)
        return v.with_evidence(ev)
    return None


def _passed(view: ProgramView, caller: Caller, reg: str) -> Value:
    """What the caller put into argument register ``reg`` at its call: dataflow, else DWARF's call site."""
    v = caller.tracer.value(reg, caller.call_index)
    if v.known and v.how != "local":
        return v
    ret = caller.call.address + caller.call.size
    site = view.call_site(ret)
    if site is not None and reg in site.params:
        dv = _from_call_value(caller.tracer, caller.call_index, site.params[reg])
        if dv is not None:
            return dv
    return v


def _through_caller_stack(view: ProgramView, frames: List[Frame], fi: int, tracer: Tracer,
                          load: Value) -> Optional[Tuple[Caller, Value, str]]:
    """A value loaded through a parameter that points into the caller's stack (``XA_STATE()``,
    an iterator, an on-stack request): the caller stored it there before the call.

    Returns the caller, the stored value (in the caller's terms) and the fact it rests on;
    None unless the load's base is a parameter, the caller passed the address of one of its
    stack slots, and exactly one store to the slot loaded reaches the call.
    """
    base = load.base
    insn = load.insn
    if base is None or base.how != "param" or not base.reg or insn is None or insn.mem is None \
            or insn.mem.index is not None or load.base_reg != base.reg:
        return None
    caller = caller_of(view, frames, fi, tracer.code)
    if caller is None or caller.via is not None or caller.indirect:
        return None
    ct = caller.tracer
    defs = [d for d in reaching_defs(ct.cfg, base.reg, caller.call_index) if d >= 0]
    if len(defs) != 1 or len(reaching_defs(ct.cfg, base.reg, caller.call_index)) != 1:
        return None
    d = ct.insns[defs[0]]
    src = source_of(d)
    if src is None:
        return None
    if src.kind == "lea" and src.mem is not None and src.mem.base == "rsp" and src.mem.index is None:
        slot = stack_slot(ct.cfg, defs[0], src.mem)
    elif src.kind == "copy" and src.reg == "rsp":
        slot = sp_offsets(ct.cfg)[defs[0]]
    else:
        return None
    if slot is None:
        return None
    target = slot + insn.mem.disp
    size = insn.mem.size or 8
    stores = reaching_stores(ct.cfg, target, size, caller.call_index)
    if len(stores) != 1 or stores[0] < 0:
        return None
    st = ct.insns[stores[0]]
    reg = stored_register(st)
    if reg is None:
        return None
    stored = ct.value(reg, stores[0])
    if not stored.known:
        return None
    fact = (f"{base.text} points into {caller.tracer.code.name}'s stack ({d.text}), where "
            f"{st.text} stored it")
    stored = stored.with_evidence(Evidence("insn", f"{st.address:#x}: {st.text}  (stored where "
                                                   f"{load.text} was read)", st.address))
    return caller, stored, fact


def chain(view: ProgramView, frames: List[Frame], fi: int, tracer: Tracer, v: Value,
          value: Optional[int] = None) -> List[Hop]:
    """The provenance of value ``v`` (in ``tracer``'s function, frame ``fi``) up the stack to its origin.

    :param value: the bad value itself (``0x1c8``), when known.
    """
    out: List[Hop] = []
    callee_name = ""
    for _ in range(_MAX_FRAMES):
        last: List[Value] = []
        hops, reg = hops_in_function(view, tracer, v, value, callee_name, last)
        out += hops
        if reg is None:
            through = _through_caller_stack(view, frames, fi, tracer, last[0]) \
                if last and hops and hops[-1].kind == "load" else None
            if through is None:
                break
            below, v, fact = through
            hops[-1].fact += f"; {fact}"
            callee_name = source_name(view, tracer.code)[0]
            tracer, fi = below.tracer, below.frame_index
            continue
        if hops and hops[-1].value is not None:
            value = hops[-1].value
        caller = caller_of(view, frames, fi, tracer.code)
        if caller is None:
            break
        fn, _clone = source_name(view, tracer.code)
        if caller.indirect:
            # a call through a pointer may have reached a function that tail-jumped here (not on
            # the stack): go on only when the caller's DWARF says the register is an argument of it
            site = view.call_site(caller.call.address + caller.call.size)
            if site is None or reg not in site.params:
                cfn, cclone = source_name(view, caller.tracer.code)
                out.append(Hop("unknown", cfn, "", clone=cclone, module=caller.tracer.code.module,
                               fact=f"{caller.call.text}: an indirect call; whether %{reg} reached {fn}() "
                                    "from it is not decided", pc=caller.call.address, callee=fn))
                break
        if caller.via is not None:
            mid, jmp = caller.via
            mv = mid.value(reg, jmp)
            mid_hops, reg2 = hops_in_function(view, mid, mv, value, fn)
            out += mid_hops
            if reg2 is None:
                break
            reg = reg2
            fn, _clone = source_name(view, mid.code)
        v = _passed(view, caller, reg)
        callee_name = fn
        tracer, fi = caller.tracer, caller.frame_index
        if not v.known and not v.candidates:
            cfn, cclone = source_name(view, tracer.code)
            out.append(Hop("unknown", cfn, "", clone=cclone, module=tracer.code.module,
                           fact=f"{caller.call.text}: what %{reg} held is not decided", pc=caller.call.address,
                           callee=callee_name))
            break
    return out
