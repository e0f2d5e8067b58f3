"""Follow a bad value across calls: from the faulting function up the stack to where it was made.

Each function's part is dataflow (:class:`~kdumpext.explain.Tracer`); between two
frames the value an argument register held is read at the caller's call instruction,
by dataflow there or from DWARF's call-site parameters (``DW_AT_call_value``).  A
function that tail-jumped to the callee is not on the stack: it is found from the call
before the return address and its own jumps.  The result is a list of
:class:`~kdumpext.model.Hop`, from the fault outwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

from .decode import source_of, stored_register
from .dwarf import CallValue, Const, Deref, EntryValue, RegPlus
from .flow import ENTRY, UNKNOWN, reaching_defs, reaching_stores, sp_offsets, stack_slot
from .explain import Tracer, Value, arrow, named_by_var
from .members import address_member, is_aggregate, member_of, pointee, same_type, type_str, unqualified
from .model import Evidence, Frame, Hop, HopKind, Instruction, MASK64, Registers
from .program import Code, ProgramView, branch_register, clone_suffix, module_plt_target, unrelocated_call, with_target_name

__all__ = ["Caller", "caller_of", "hops_in_function", "chain", "source_name"]

if TYPE_CHECKING:  # pragma: no cover
    import drgn

_MAX_FRAMES = 16


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
    #: functions the call reached first, which tail-jumped on to the callee (not on the stack),
    #: outermost first, each with the index of its jump
    via: List[Tuple[Tracer, int]] = field(default_factory=list)
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
    """The call that entered ``callee`` (frame ``fi``), from the next frame's return address.

    When the call went elsewhere, the functions that tail-jumped on to ``callee`` (not on
    the stack) are found from the call's target and their own jumps; an indirect call's or
    jump's target is read again from the dump where its pointer was loaded through a
    register the unwinder knows (:func:`value_at`).  None when that cannot be decided.
    """
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
    tracer = Tracer(view, code, frames[p + 1].registers, idx - 1)
    caller = Caller(tracer, idx - 1, p + 1)
    call = code.insns[idx - 1]
    regs = frames[p + 1].registers

    def at_call(reg: str) -> Optional[int]:
        return value_at(view, tracer, reg, idx - 1, regs)

    target = _branch_target(view, tracer, idx - 1, at_call)
    if target is None:
        caller.indirect = True
        return caller
    if unrelocated_call(call):
        return caller  # a module's call not relocated (code from the .ko file, for an oops log): trust the stack
    regs_now: Callable[[str], Optional[int]] = at_call  # registers as the next function starts
    for _ in range(_MAX_TAIL_JUMPS):
        if callee.contains(target):
            return caller
        veneer = module_plt_target(view, target)
        if veneer is not None:
            target = veneer  # an arm64 module's call to the kernel goes through its PLT
            continue
        # the call went elsewhere: that function tail-jumped on (it is not on the stack)
        mid = view.code(target)
        if mid is None or mid.start != target:
            return None
        mt = Tracer(view, mid)
        jumps = [i for i, insn in enumerate(mid.insns) if insn.is_jump and _tail_jump(view, mid, insn)]
        direct = [i for i in jumps if callee.contains(mid.insns[i].target)]
        pick = direct if len(direct) == 1 else jumps if len(jumps) == 1 else []
        if not pick:
            return None  # several ways out: which one led here is not decided
        caller.via.append((mt, pick[0]))
        regs_now = _registers_at(view, mt, pick[0], regs_now)
        nxt = _branch_target(view, mt, pick[0], regs_now)
        if nxt is None:
            return None
        target = nxt
    return None


def _registers_at(view: ProgramView, tracer: Tracer, j: int,
                  entry: Callable[[str], Optional[int]]) -> Callable[[str], Optional[int]]:
    """The register values before instruction ``j`` of a function not on the stack, whose entry
    registers ``entry`` gives (a tail-jumped function starts with its jumper's registers)."""
    def regs(reg: str) -> Optional[int]:
        return value_at(view, tracer, reg, j, {}, entry)
    return regs


def _tail_jump(view: ProgramView, code: Code, insn: Instruction) -> bool:
    """A jump that leaves the function: indirect, through a thunk, or to another function
    (not the return thunk)."""
    if insn.target is None:
        return insn.reg_target is not None or insn.mem is not None
    if code.contains(insn.target):
        return False
    if view.thunk_register(insn.target) is not None:
        return True
    if view.return_thunk(insn.target):
        return False  # a return
    sym = view.symbol_at(insn.target)
    return sym is not None and sym.address == insn.target and not sym.name.startswith(code.name + ".cold")


def _branch_target(view: ProgramView, tracer: Tracer, j: int,
                   reg_value: Callable[[str], Optional[int]]) -> Optional[int]:
    """Where the call or jump at instruction ``j`` went: its direct target, or for one through
    a pointer (``call *%rax``, a retpoline thunk, ``call *0x10(%rbx)``) the pointer's value."""
    insn = tracer.insns[j]
    reg = branch_register(view, insn)
    if insn.target is not None and reg is None:
        return insn.target
    if reg is not None:
        return reg_value(reg)
    mem = insn.mem
    if mem is None or mem.base is None or mem.index is not None or mem.base == "rip":
        return None
    base = reg_value(mem.base)
    return None if base is None else view.read_word((base + mem.disp) & MASK64)


_MAX_TAIL_JUMPS = 3


def value_at(view: ProgramView, tracer: Tracer, reg: str, j: int, regs: Registers,
             entry: Optional[Callable[[str], Optional[int]]] = None, depth: int = 0) -> Optional[int]:
    """The value ``reg`` held just before instruction ``j``, computed from what the dump says.

    ``regs`` are the unwinder's registers of this frame at ``j`` (its call instruction): a
    callee-saved one is taken from there where no write can come between the point asked
    and ``j``.  Otherwise the single reaching definition is evaluated: a copy, a constant,
    an address computation or an 8-byte load read again from the dump; ``entry`` gives a
    register's value on entry to the function.  None where that is not decided.
    """
    if depth > 8:
        return None
    if reg in view.arch.callee_saved and reg in regs:
        return regs[reg]
    defs = reaching_defs(tracer.cfg, reg, j)
    if len(defs) != 1:
        return None
    d = defs[0]
    if d < 0:
        return entry(reg) if entry is not None and d == ENTRY else None
    src = source_of(tracer.insns[d], reg)
    if src is None or src.dest != reg or src.width != 8:
        return None

    def at(r: str) -> Optional[int]:
        # a callee-saved register keeps its value from d to j if the same definitions reach both
        keep = regs if r in regs and _same_value(tracer, r, d, j) else {}
        return value_at(view, tracer, r, d, keep, entry, depth + 1)

    if src.kind == "imm":
        return src.value
    if src.kind == "copy" and src.reg is not None:
        return at(src.reg)
    mem = src.mem
    if src.kind in ("load", "lea") and mem is not None and mem.base not in (None, "rip", view.arch.sp) \
            and mem.index is None:
        assert mem.base is not None
        base = at(mem.base)
        if base is None:
            return None
        address = (base + mem.disp) & MASK64
        return address if src.kind == "lea" else view.read_word(address) if mem.size == 8 else None
    return None


def _fact(v: Value) -> str:
    insn = v.insn
    if insn is None:
        return next((e.text for e in v.evidence if e.kind == "dwarf"), "")
    text = insn.text
    if v.base is not None and v.base_reg and v.base.known:
        text += f"; {v.base_reg} = {v.base.text}" + (f", {type_str(v.base.type)}" if v.base.type is not None else "")
    return text


def _holder(view: ProgramView, tracer: Tracer, v: Value) -> Optional[int]:
    """The address of the object load ``v`` read its member from (the pointer in its base
    register as the load ran, less the member's offset), when the dump's registers say it."""
    if v.insn is None or v.mem is None or not v.base_reg or v.mem.index is not None:
        return None
    j = tracer.code.index_of(v.insn.address)
    if j is None:
        return None
    base = tracer.register_at(v.base_reg, j)
    if base is None:
        base = value_at(view, tracer, v.base_reg, j, {})
    if base is None:
        return None
    m = v.member
    touched = (m.accessed if m.accessed is not None else m.offset) if m is not None else v.mem.disp
    # the byte loaded is disp past the base register, and touched past the object's start
    return (base + v.mem.disp - touched) & MASK64


_KIND_OF_HOW: Dict[str, HopKind] = {"load": "load", "return": "return", "constant": "constant", "global": "global"}


def hops_in_function(view: ProgramView, tracer: Tracer, v: Value, value: Optional[int] = None,
                     callee: str = "") -> Tuple[List[Hop], Optional[str], Value]:
    """The hops of value ``v`` inside one function, the register it arrived in when it is a
    parameter, and the value the last hop describes.

    ``value`` is the bad value itself when known (so an ``address-of`` hop can say what
    its base pointer was); ``callee`` the function this value was passed to.
    """
    fn, clone = source_name(view, tracer.code)
    hops: List[Hop] = []

    def hop(kind: HopKind, expr: str, fact: str = "", member: bool = False, via: str = "", arg: int = 0) -> Hop:
        h = Hop(kind, fn, expr, clone=clone, module=tracer.code.module, type=type_str(v.type),
                fact=fact or _fact(v), pc=v.insn.address if v.insn is not None else None,
                member=v.member if member else None, callee=via or callee,
                candidates=[c.text for c in v.candidates], value=value, arg=arg)
        if kind == "load" and v.base is not None:
            h.holder, h.holder_expr, h.holder_type = _holder(view, tracer, v), v.base.text, type_str(v.base.type)
        return h

    for _ in range(8):
        if v.how == "address-of" and v.base is not None:
            hops.append(hop("address-of", v.text, member=True))
            if value is not None and v.member is not None:
                value = (value - v.member.byte) & MASK64
            v = v.base
            callee = ""
            continue
        if v.how == "param":
            args = tracer.view.arch.arg_regs
            n = args.index(v.reg) + 1 if v.reg in args else 0
            hops.append(hop("argument", v.text or f"argument {n}",
                            fact=_fact(v) or (f"argument {n}, in %{v.reg} on entry" if n else ""), arg=n))
            return hops, v.reg or None, v
        kind = _KIND_OF_HOW.get(v.how, "unknown")
        hops.append(hop(kind, v.text if v.known else "", member=kind == "load",
                        via=v.callee if kind == "return" else ""))
        return hops, None, v
    return hops, None, v


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
        mtype = tracer.view.type_named(m.member_type)
        ptr = tracer.view.pointer_to(mtype) if mtype is not None else None
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
        v = tracer.entry(cv.reg)
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


def _stored_earlier(tracer: Tracer, load: Value) -> Optional[Tuple[Value, str]]:
    """A member the same function stored before it loaded it back (``worker->current_func =
    work->func`` ... ``worker->current_func(work)``): the value that was stored.

    Only when exactly one store in the function writes that member through the same pointer
    (the base register has the same reaching definitions at the store and at the load) and
    the store comes first; a callee may still have changed the memory between the two, which
    the hop's fact says.
    """
    insn = load.insn
    if insn is None or insn.mem is None or insn.mem.index is not None or not load.base_reg \
            or load.base_reg in (tracer.view.arch.sp, "rip") or insn.is_call:
        return None
    j = tracer.code.index_of(insn.address)
    if j is None:
        return None
    mem = load.mem or insn.mem
    size = mem.size or 8

    def writes_it(st: Instruction) -> bool:
        """A store through the same base register covering the bytes loaded (one half of an ``stp``)."""
        return st.mem is not None and st.access in ("write", "read-write") and st.mem.base == mem.base \
            and st.mem.index is None and st.mem.disp <= mem.disp and mem.disp + size <= st.mem.disp + (st.mem.size or 8)
    stores = [k for k, st in enumerate(tracer.insns) if writes_it(st)]
    stores = [k for k in stores if _reaches(tracer, k, j)]
    if len(stores) != 1:
        return None
    k = stores[0]
    st = tracer.insns[k]
    assert st.mem is not None
    reg = stored_register(st, mem.disp - st.mem.disp)
    if reg is None or not _same_value(tracer, mem.base or "", k, j):
        return None
    stored = tracer.value(reg, k)
    if not stored.known:
        return None
    calls = any(x.is_call for x in tracer.insns[k + 1:j])
    fact = (f"stored at {tracer.code.where(st.address, module=False)} by {st.text} from {stored.text}"
            + ("; calls between the store and the load could have changed it" if calls else ""))
    return stored, fact


def _same_value(tracer: Tracer, reg: str, a: int, b: int) -> bool:
    """Whether ``reg`` holds the same value before instructions ``a`` and ``b``: the same writes
    reach both.  Paths from code no branch in the function reaches (a static key's out-of-line
    block, patched in at run time) say nothing of the register and are left out."""
    known = [d for d in reaching_defs(tracer.cfg, reg, a) if d != UNKNOWN]
    return bool(known) and known == [d for d in reaching_defs(tracer.cfg, reg, b) if d != UNKNOWN]


def _reaches(tracer: Tracer, k: int, j: int) -> bool:
    """Whether some path in the function goes from instruction ``k`` to instruction ``j``."""
    cfg = tracer.cfg
    a, b = cfg.block_of(k), cfg.block_of(j)
    if a.id == b.id and k < j:
        return True
    seen = set()
    work = list(a.succs)
    while work:
        n = work.pop()
        if n == b.id:
            return True
        if n not in seen:
            seen.add(n)
            work.extend(cfg.blocks[n].succs)
    return False


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
    # the base register holds the parameter as it arrived (the register itself or a copy of it)
    if base is None or base.how != "param" or not base.reg or insn is None or insn.mem is None \
            or insn.mem.index is not None:
        return None
    caller = caller_of(view, frames, fi, tracer.code)
    if caller is None or caller.via or caller.indirect:
        return None
    ct = caller.tracer
    defs = reaching_defs(ct.cfg, base.reg, caller.call_index)
    if len(defs) != 1 or defs[0] < 0:
        return None
    d = ct.insns[defs[0]]
    src = source_of(d, base.reg)
    if src is None:
        return None
    sp = view.arch.sp
    if src.kind == "lea" and src.mem is not None and src.mem.base == sp and src.mem.index is None:
        slot = stack_slot(ct.cfg, defs[0], src.mem)
    elif src.kind == "copy" and src.reg == sp:
        slot = sp_offsets(ct.cfg)[defs[0]]
    else:
        return None
    if slot is None:
        return None
    mem = load.mem or insn.mem
    target = slot + mem.disp
    size = mem.size or 8
    stores = reaching_stores(ct.cfg, target, size, caller.call_index)
    if len(stores) != 1 or stores[0] < 0:
        return None
    st = ct.insns[stores[0]]
    at = stack_slot(ct.cfg, stores[0], st.mem) if st.mem is not None else None
    reg = stored_register(st, target - at if at is not None else 0)
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


def _member_at_zero(view: ProgramView, v: Value, param_type: "drgn.Type") -> Optional[Value]:
    """``&wq_head->lock.rlock`` for ``wq_head`` passed where a ``raw_spinlock_t *`` is taken.

    The address of a member at offset 0 is the object's own address: no instruction computes
    it, but the callee's parameter type says which member the caller meant.
    """
    pp = pointee(param_type)
    if not v.known or pp is None:
        return None
    want = type_str(unqualified(pp))
    if v.how == "address-of" and v.base is not None and v.member is not None:
        # &x->wait where the callee takes the raw_spinlock_t * inside it: &x->wait.lock
        base, offset = v.base, v.member.offset
    else:
        base, offset = v, 0
    bp = pointee(base.type)
    if bp is None or not is_aggregate(bp):
        return None
    if v.how != "address-of":
        vp = pointee(v.type)
        if vp is None or same_type(vp, pp):
            return None
    elif v.member is not None and v.member.member_type == want:
        return None
    m = address_member(bp, offset, want=pp)
    if m is None or m.member_type != want:
        return None
    ev = Evidence("dwarf", f"the callee takes {type_str(param_type)}: {m.path} is the member of that type at "
                           f"{m.type_name} +{offset:#x}")
    return Value(f"&{arrow(named_by_var(base), m.path)}", param_type, "address-of", [ev] + v.evidence, insn=v.insn,
                 base=base,
                 base_reg=v.base_reg, member=m)


def _name_from_call_site(view: ProgramView, caller: Caller, reg: str, hops: List[Hop]) -> None:
    """An argument hop without a name (the callee has no DWARF: memcpy is assembly) takes the
    parameter's name from the callee's declaration the caller's DWARF records at the call."""
    last = hops[-1] if hops else None
    args = view.arch.arg_regs
    if last is None or last.kind != "argument" or not last.expr.startswith("argument ") or reg not in args:
        return
    site = view.call_site(caller.call.address + caller.call.size)
    n = args.index(reg)
    if site is not None and n < len(site.callee_params) and site.callee_params[n]:
        last.expr = site.callee_params[n]
        last.fact += f"; named by {site.callee or 'the callee'}()'s declaration at the call"


def _undecided(view: ProgramView, caller: Caller, fact: str, callee: str) -> Hop:
    """The hop that ends a chain at ``caller``'s call: ``fact`` says what is not decided."""
    fn, clone = source_name(view, caller.tracer.code)
    return Hop("unknown", fn, "", clone=clone, module=caller.tracer.code.module, fact=f"{caller.call.text}: {fact}",
               pc=caller.call.address, callee=callee)


def chain(view: ProgramView, frames: List[Frame], fi: int, tracer: Tracer, v: Value,
          value: Optional[int] = None) -> List[Hop]:
    """The provenance of value ``v`` (in ``tracer``'s function, frame ``fi``) up the stack to its origin.

    :param value: the bad value itself (``0x1c8``), when known.
    """
    out: List[Hop] = []
    callee_name = ""
    for _ in range(_MAX_FRAMES):
        hops, reg, last = hops_in_function(view, tracer, v, value, callee_name)
        out += hops
        if reg is None:
            loaded = bool(hops) and hops[-1].kind == "load"
            stored = _stored_earlier(tracer, last) if loaded else None
            if stored is not None:
                v, fact = stored
                hops[-1].fact += f"; {fact}"
                callee_name = ""
                continue
            through = _through_caller_stack(view, frames, fi, tracer, last) if loaded else None
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
                out.append(_undecided(view, caller, f"an indirect call; whether %{reg} reached {fn}() from it "
                                                    "is not decided", fn))
                break
        stop = False
        for mid, jmp in reversed(caller.via):  # innermost (the one that jumped to the callee) first
            mv = mid.value(reg, jmp)
            mid_hops, reg2, _ = hops_in_function(view, mid, mv, value, fn)
            for h in mid_hops:
                h.fact = (h.fact + "; " if h.fact else "") + \
                    f"tail jump {with_target_name(view, mid.insns[jmp]).text}, not on the stack"
            out += mid_hops
            if reg2 is None:
                stop = True
                break
            reg = reg2
            fn, _clone = source_name(view, mid.code)
        if stop:
            break
        _name_from_call_site(view, caller, reg, out)
        param_type = last.type if last.how == "param" else None
        if value is not None and not caller.via:
            # the dump may still say what the caller passed: it must be the value that arrived
            passed = value_at(view, caller.tracer, reg, caller.call_index, frames[caller.frame_index].registers)
            if passed is not None and passed != value:
                out.append(_undecided(view, caller, f"the dump says %{reg} was {passed:#x} at this call, not "
                                                    f"{value:#x}: which call passed the value is not decided", fn))
                break
        v = _passed(view, caller, reg)
        if param_type is not None:
            v = _member_at_zero(view, v, param_type) or v
        callee_name = fn
        tracer, fi = caller.tracer, caller.frame_index
        if not v.known and not v.candidates:
            out.append(_undecided(view, caller, f"what %{reg} held is not decided", callee_name))
            break
    return out
