"""The pipeline, top to bottom: dump -> crash context -> unwind -> decode -> explain -> Verdict."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple

from . import addresses
from .context import CrashContext, crash_context
from .decode import DecodeError, decode
from .dump import open_dump, read_memory
from .errors import MemoryNotInDump
from .explain import Expr, FunctionCode, member_of, pointee, sizeof, type_str
from .model import BadAddress, DumpInfo, Evidence, Frame, Registers, Report, Verdict

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["triage", "triage_program", "frames_of", "explain_crash", "explain_frame", "verdict_class", "PANIC_PATH",
           "ARG_REGS"]

#: Functions on the way from panic()/an oops into kdump: never "where it crashed".
PANIC_PATH = frozenset({
    "panic", "vpanic", "__crash_kexec", "crash_kexec", "machine_crash_shutdown", "crash_setup_regs",
    "oops_end", "die", "__die", "do_trap", "do_error_trap", "handle_invalid_op", "exc_invalid_op",
    "page_fault_oops", "kernelmode_fixup_or_oops", "__bad_area_nosemaphore", "bad_area_nosemaphore",
    "do_user_addr_fault", "exc_page_fault", "asm_exc_page_fault", "asm_exc_invalid_op",
    "die_addr", "exc_general_protection", "asm_exc_general_protection", "handle_bug",
    "nmi_panic", "do_exit", "make_task_dead", "rewind_stack_and_make_dead",
})

_CLASS_OF_KIND = {
    "null": "null-deref",
    "err-ptr": "err-ptr",
    "list-poison": "list-poison",
    "slab-poison": "slab-poison",
    "non-canonical": "non-canonical",
    "user": "user-access",
    "kernel": "bad-access",
}
_PAGE = 4096


def frames_of(prog: "drgn.Program", trace: "drgn.StackTrace") -> List[Frame]:
    """drgn's stack trace as :class:`Frame` records (inlined calls are frames of their own)."""
    import drgn

    out: List[Frame] = []
    for i, f in enumerate(trace):
        pc = f.pc
        name, offset, module = "", 0, ""
        try:
            sym = f.symbol()
            name, offset = sym.name, pc - sym.address
        except LookupError:
            pass
        if f.is_inline and f.name:
            name = f.name
        try:
            mod = prog.module(pc)
            if not isinstance(mod, drgn.MainModule):
                module = mod.name
        except LookupError:
            pass
        file, line = "", 0
        try:
            file, line, _col = f.source()
        except LookupError:
            pass
        try:
            sp = f.sp
        except (LookupError, ValueError):
            sp = 0
        # drgn marks as interrupted both the CPU's exception frames and the registers
        # crash_setup_regs() saved on the way into kdump; only the former are faults
        exception = bool(getattr(f, "interrupted", False)) and name not in PANIC_PATH
        out.append(Frame(i, pc, name, offset, module, file, line, bool(f.is_inline), exception, sp))
    return out


def _source(frame: Optional[Frame]) -> str:
    return f"{frame.file}:{frame.line}" if frame is not None and frame.file else ""


def verdict_class(bad: BadAddress, access: str) -> str:
    """The verdict class of an access through a bad address (``null`` + exec is ``null-fn-call``)."""
    if access == "exec" and bad.kind == "null":
        return "null-fn-call"
    return _CLASS_OF_KIND.get(bad.kind, "bad-access")


def _fault_frame_index(frames: List[Frame]) -> Optional[int]:
    """The innermost frame that took the exception (outermost of its inlined chain)."""
    for i, f in enumerate(frames):
        if f.exception:
            return i
    return 0 if frames else None


def _physical_index(frames: List[Frame], i: int) -> int:
    """Index of the real (non-inlined) function frame sharing frame ``i``'s pc."""
    j = i
    while j < len(frames) and frames[j].inlined:
        j += 1
    return j if j < len(frames) else i


def triage(path: str, vmlinux: Optional[str] = None, debug_dirs: Iterable[str] = (),
           intel: bool = False) -> Report:
    """Open ``path`` and explain its crash.

    :raises KdumpextError: bad input, see :mod:`kdumpext.errors`.
    """
    opened = open_dump(path, vmlinux, debug_dirs)
    return triage_program(opened.prog, opened.info, intel)


def triage_program(prog: "drgn.Program", info: Optional[DumpInfo] = None, intel: bool = False) -> Report:
    """Explain the crash of an already opened dump (the drgn and gdb front-ends call this)."""
    import drgn

    if info is None:
        info = DumpInfo(path=str(prog.core_dump_path or ""), format="")
        try:
            info.release = prog["UTS_RELEASE"].string_().decode()
        except (KeyError, LookupError):
            pass
    ctx = crash_context(prog, info)
    frames: List[Frame] = []
    trace = None
    warnings: List[str] = []
    if ctx.thread is not None:
        try:
            trace = ctx.thread.stack_trace()
            frames = frames_of(prog, trace)
        except (drgn.FaultError, ValueError, LookupError) as e:
            warnings.append(f"backtrace failed: {e}")
    regs: Registers = {}
    if trace is not None and len(trace):
        try:
            regs = {k: int(v) for k, v in trace[0].registers().items()}
        except (LookupError, ValueError):
            pass
    try:
        verdict = explain_crash(prog, ctx, frames, regs, intel)
    except Exception as e:  # noqa: BLE001 - an unforeseen dump must still get its report
        if os.environ.get("KDUMPEXT_DEBUG"):
            raise
        verdict = Verdict("unknown", undecided=f"explaining the fault failed: {type(e).__name__}: {e}")
        warnings.append("the verdict is incomplete because of an internal error "
                        "(KDUMPEXT_DEBUG=1 shows the traceback; please report it)")
    if info.modules_missing_debuginfo:
        warnings.append("no debug info for module(s): " + ", ".join(info.modules_missing_debuginfo))
    return Report(info, ctx.task, frames, verdict, regs, warnings)


def explain_crash(prog: "drgn.Program", ctx: CrashContext, frames: List[Frame], regs: Registers,
                  intel: bool = False) -> Verdict:
    """The verdict for a crash: a faulting access, a bad call, a BUG() or a plain panic()."""
    oops = ctx.oops
    if oops is None or not frames:
        return _panic_verdict(ctx, frames)
    fi = _fault_frame_index(frames)
    if fi is None:
        return _panic_verdict(ctx, frames)
    frame = frames[fi]
    if frame.function in PANIC_PATH and not oops.title:
        return _panic_verdict(ctx, frames)
    if frame.pc < _PAGE or oops.pf_access == "exec":
        return _bad_call_verdict(prog, ctx, frames, fi, regs, intel)
    return explain_frame(prog, ctx, frames, fi, regs, intel)


def _panic_verdict(ctx: CrashContext, frames: List[Frame]) -> Verdict:
    """panic() with no faulting access: name who called it, never invent a field."""
    caller: Optional[Frame] = None
    seen_panic = False
    for f in frames:
        if f.function in ("panic", "vpanic", "nmi_panic"):
            seen_panic = True
            continue
        if seen_panic and f.function not in PANIC_PATH:
            caller = f
            break
    if caller is None:
        caller = next((f for f in frames if f.function not in PANIC_PATH), None)
    msg = ctx.oops.panic if ctx.oops and ctx.oops.panic else ""
    from .oops import panic_line

    msg = msg or panic_line(ctx.dmesg)
    v = Verdict("panic", function=caller.function if caller else "", module=caller.module if caller else "",
                site=caller.site if caller else "", source=_source(caller), confidence="high")
    v.summary = f'panic("{msg}") called from {v.function or "?"}' if msg else \
        f"panic() called from {v.function or '?'}"
    v.evidence.append(Evidence("note", "no faulting access: the kernel called panic() itself"))
    return v


def _read_code(prog: "drgn.Program", pc: int, ctx: CrashContext) -> Tuple[bytes, str]:
    """16 bytes at ``pc``: from the dump, else from the oops' ``Code:`` line.

    Returns ``(b"", why)`` when neither has them.
    """
    try:
        return read_memory(prog, pc, 16, "code at the faulting pc"), "dump"
    except MemoryNotInDump as e:
        missing = str(e)
    o = ctx.oops
    if o is not None and o.code and o.code_fault_index is not None:
        return o.code[o.code_fault_index:], "oops Code: line"
    return b"", missing + ", and the oops has no Code: line"


def explain_frame(prog: "drgn.Program", ctx: CrashContext, frames: List[Frame], fi: int, regs: Registers,
                  intel: bool = False) -> Verdict:
    """Explain the access made by the instruction at frame ``fi``'s pc."""
    frame = frames[fi]
    phys = frames[_physical_index(frames, fi)]
    oops = ctx.oops
    v = Verdict("unknown", function=phys.function, module=phys.module, site=phys.site, source=_source(frame))
    code, where = _read_code(prog, frame.pc, ctx)
    if not code:
        v.undecided = where
        return v
    try:
        insn = decode(code, frame.pc, intel=intel)
    except DecodeError as e:
        v.undecided = str(e)
        return v
    v.instruction = insn
    v.evidence.append(Evidence("insn", f"{insn.address:#x}: {insn.text}  (faulting instruction, from the {where})",
                               insn.address))
    if insn.mnemonic in ("ud2",) or (oops is not None and (oops.bug_file or oops.title.startswith("invalid opcode"))):
        return _bug_verdict(v, ctx, frame)
    mem = insn.mem
    if mem is None or not insn.access:
        v.undecided = f"{insn.text} makes no memory access we can explain"
        return v
    v.access = insn.access
    v.size = mem.size
    ea = mem.effective_address(regs)
    fault = oops.fault_address if oops is not None else None
    if ea is not None and fault is not None and ea != fault:
        v.evidence.append(Evidence(
            "note", f"effective address {ea:#x} from the registers differs from {fault:#x} reported by the "
                    "kernel; the verdict uses the registers (the reported one is the fault address)"))
    elif ea is not None and fault is not None:
        v.evidence.append(Evidence("note", f"effective address {ea:#x} = the fault address the kernel reported"))
    v.address = fault if fault is not None else ea
    base_reg = mem.base if mem.base not in (None, "rip") else mem.index
    if base_reg is None or base_reg not in regs:
        return _absolute_access(prog, v, frame, mem.disp if base_reg is None else (v.address or 0), mem.size)
    base_val = regs[base_reg]
    offset = mem.disp
    if mem.index is not None and mem.base not in (None, "rip") and mem.index in regs:
        offset += regs[mem.index] * mem.scale
    bad = addresses.classify_pointer(base_val, offset)
    v.bad = bad
    v.crash_class = verdict_class(bad, insn.access)
    v.evidence.append(Evidence("reg", f"%{base_reg} = {base_val:#x}"))
    try:
        fc = FunctionCode(prog, frame.pc)
    except LookupError:
        v.undecided = "no symbol at the faulting pc"
        return v
    idx = fc.index_of(frame.pc)
    if idx is None:
        v.undecided = f"the linear sweep of {fc.name} does not reach {frame.pc:#x}"
        return v
    expr = fc.expr_of(base_reg, idx, regs)
    if not expr.known and not fc.vars_at(frame.pc) and fc.last_writer(base_reg, idx) is None:
        # a routine without variables (memcpy and its kin are assembly) that faulted on a
        # register it never changed: an argument, named where the caller made the call
        if _from_caller(prog, v, frames, fi, base_reg):
            return v
    disp = mem.disp if mem.index is None else offset
    expr, disp = fc.rebase(expr, base_reg, disp, frame.pc)
    typed = fc.retype(expr, base_reg, frame.pc)
    _fill_pointer(v, expr, disp, base_reg, mem.size, typed)
    if not expr.known:
        # no names (no debug info for this code?): still say where the value came from
        j = fc.last_writer(base_reg, idx)
        if j is not None:
            w = fc.insns[j]
            v.evidence.append(Evidence("insn", f"{w.address:#x}: {w.text}  (last write of %{base_reg})", w.address))
            v.undecided += f"; %{base_reg} was last set by {w.text} at {fc.name}+{w.address - fc.start:#x}"
    return v


#: Integer argument registers, in order (System V x86-64 psABI).
ARG_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")


def _from_caller(prog: "drgn.Program", v: Verdict, frames: List[Frame], fi: int, reg: str) -> bool:
    """Name a bad pointer argument from the call site in the caller's frame.

    ``v`` keeps the faulting instruction and site; its ``function`` becomes the caller
    (where the bad value came from), ``callee`` the routine that faulted. False when the
    register is not an argument or the caller's code does not name it.
    """
    if reg not in ARG_REGS:
        return False
    phys = _physical_index(frames, fi)
    if phys + 1 >= len(frames):
        return False
    ret = frames[phys + 1].pc
    try:
        cfc = FunctionCode(prog, ret)
    except LookupError:
        return False
    idx = cfc.index_of(ret)
    if not idx or not cfc.insns[idx - 1].is_call:
        return False
    call = cfc.insns[idx - 1]
    expr = cfc.expr_of(reg, idx - 1, None)
    if not expr.known:
        return False
    callee = cfc._callee_name(call) or v.function
    n = ARG_REGS.index(reg)
    args = ["\u2026"] * n + [expr.text]
    v.callee, v.function, v.module = callee, cfc.name, cfc.module_name
    v.pointer, v.pointer_type = expr.text, type_str(expr.type)
    v.access_path = f"{callee}({', '.join(args)}, \u2026)"
    v.pointer_source = _source_of(expr)
    v.evidence.extend(expr.evidence)
    where = f"{cfc.name}+{call.address - cfc.start:#x}" + (f" [{cfc.module_name}]" if cfc.module_name else "")
    v.evidence.append(Evidence("insn", f"{call.address:#x}: {call.text}  (the call in {where}; %{reg} is argument "
                                       f"{n + 1} and {callee} had not changed it)", call.address))
    word = _bad_word(v.bad)
    verb = {"read": "read", "write": "wrote", "read-write": "read and wrote"}.get(v.access, "went")
    v.summary = f"{expr.text} is {word}; {callee}() {verb} through it (argument {n + 1}, passed by {where})"
    v.confidence = "medium"  # the routine may have advanced the register (rep movs): the kind, not the value, is shown
    v.undecided = ""
    return True


def _absolute_access(prog: "drgn.Program", v: Verdict, frame: Frame, address: int, size: int) -> Verdict:
    """An access to a constant address: the compiler folded a constant pointer into it.

    DWARF keeps such a pointer as a variable with ``DW_AT_const_value``; name it when
    the address falls inside what it points to.
    """
    address &= 0xFFFF_FFFF_FFFF_FFFF
    bad = addresses.classify(address)
    v.bad = bad
    v.crash_class = verdict_class(bad, v.access)
    try:
        fc = FunctionCode(prog, frame.pc)
    except LookupError:
        fc = None
    for var in (fc.vars_at(frame.pc) if fc is not None else []):
        if var.const is None:
            continue
        vt = fc._type(var.type_name, var.type_file) if fc is not None else None
        target = pointee(vt)
        if target is None:
            continue
        off = address - (var.const & 0xFFFF_FFFF_FFFF_FFFF)
        if 0 <= off < max(1, sizeof(target)):
            v.bad = addresses.classify_pointer(var.const & 0xFFFF_FFFF_FFFF_FFFF, off)
            v.crash_class = verdict_class(v.bad, v.access)
            v.evidence.append(Evidence("dwarf", f"{var.name} ({var.type_name}) is the constant {var.const:#x} "
                                                f"(DW_AT_const_value), folded into the instruction", frame.pc))
            _fill_pointer(v, Expr(var.name, vt, "const", value=var.const), off, "", size)
            return v
    v.summary = f"{v.access} of {addresses.describe(bad)}"
    v.undecided = "the address is a constant in the instruction and no variable names it"
    return v


def _fill_pointer(v: Verdict, expr: Expr, offset: int, reg: str, size: int, typed: Optional[Expr] = None) -> None:
    """Name the bad pointer (``expr``) and the member reached through it.

    ``typed`` is the same value as the code dereferences it, when that differs from
    how it was loaded (``container_of(req->node.next, struct kdx_req, node)``).
    """
    typed = typed or expr
    v.evidence.extend(typed.evidence)
    if expr.known:
        v.pointer = expr.text
        v.pointer_type = type_str(typed.type)
        v.pointer_source = _source_of(expr)
    target = pointee(typed.type)
    if target is not None and offset >= 0:
        m = member_of(target, offset, size)
        if m is not None and m.path == "":
            v.access_path = f"*{typed.text}" if typed.known else ""  # a scalar pointee: no member
            v.member = m
        elif m is not None:
            v.member = m
            if not m.path.startswith("+"):
                path = m.path.split(" or ")[0]
                v.access_path = f"{typed.text}->{path}" if typed.known else ""
    bad = v.bad
    what = addresses.describe(bad) if bad else ""
    if v.pointer and v.member is not None:
        v.confidence = "high"
        v.summary = f"{v.pointer} is {_bad_word(bad)}; {v.access} of {v.access_path} " \
                    f"({v.member.type_name} +{v.member.offset:#x}, {v.member.size or v.size} bytes)"
    elif v.pointer:
        v.confidence = "medium"
        v.summary = f"{v.pointer} is {_bad_word(bad)}; {v.access} at +{offset:#x}"
        v.undecided = f"the type {v.pointer_type or '?'} has no member at +{offset:#x}"
    else:
        v.confidence = "low"
        v.summary = f"{v.access} of {what} through %{reg}"
        v.undecided = f"could not tell which variable or expression %{reg} held"


def _source_of(expr: Expr) -> str:
    """How the value got into its register, for the report's NULL line.

    ``loaded by mov 0x40(%rbx),%rax; rbx = cmd, struct scst_cmd *`` for a load; ""
    for a call's result (the expression already says ``kdx_probe()``) or when unknown.
    """
    if expr.via is None:
        return ""
    if expr.root == "call" and expr.via.is_call:
        return ""  # the expression is the call itself: kdx_probe()
    return "loaded by " + _insn_and_base(expr.via.text, expr.via_base)


def _insn_and_base(insn_text: str, via_base: Optional[Tuple[str, Expr]]) -> str:
    if via_base is None or not via_base[0] or not via_base[1].known:
        return insn_text
    reg, base = via_base
    return f"{insn_text}; {reg} = {base.text}" + (f", {type_str(base.type)}" if base.type is not None else "")


def _bad_word(bad: Optional[BadAddress]) -> str:
    if bad is None:
        return "bad"
    if bad.kind == "null":
        return "NULL"
    if bad.detail:
        return bad.detail
    return f"{bad.kind} {bad.base:#x}"


def _bug_verdict(v: Verdict, ctx: CrashContext, frame: Frame) -> Verdict:
    o = ctx.oops
    # WARN() also traps on ud2; with panic_on_warn it ends the same way as BUG()
    warn = o is not None and o.title.startswith("WARNING:")
    v.crash_class = "warning" if warn else "bug"
    v.access = ""
    where = f"{o.bug_file}:{o.bug_line}" if o is not None and o.bug_file else _source(frame)
    if where:
        v.source = where
    v.summary = f"{'WARN()' if warn else 'BUG()'} at {where or '?'} in {v.function}"
    v.confidence = "high"
    v.evidence.append(Evidence("note", o.title if o is not None else "ud2"))
    return v


def _bad_call_verdict(prog: "drgn.Program", ctx: CrashContext, frames: List[Frame], fi: int, regs: Registers,
                      intel: bool) -> Verdict:
    """An instruction fetch from a bad address: find the call (or tail jump) that went there."""
    import drgn

    pc = frames[fi].pc
    bad = addresses.classify(pc)
    v = Verdict(verdict_class(bad, "exec"), access="exec", address=pc, bad=bad)
    v.evidence.append(Evidence("reg", f"%rip = {pc:#x}"))
    rsp = regs.get("rsp")
    if rsp is None:
        v.undecided = "no stack pointer at the fault"
        return v
    try:
        ret = prog.read_u64(rsp)
    except drgn.FaultError:
        v.undecided = f"the stack at {rsp:#x} is not in the dump"
        return v
    v.evidence.append(Evidence("reg", f"return address [%rsp] = {ret:#x}"))
    try:
        fc = FunctionCode(prog, ret)
    except LookupError:
        v.undecided = f"no function at the return address {ret:#x}"
        return v
    idx = fc.index_of(ret)
    if idx is None or idx == 0:
        v.undecided = f"no instruction ends at the return address {ret:#x} in {fc.name}"
        return v
    call = fc.insns[idx - 1]
    if not call.is_call:
        v.undecided = f"the instruction before the return address is {call.text}, not a call"
        return v
    v.function, v.module = fc.name, fc.module_name
    v.site = f"{fc.name}+{call.address - fc.start:#x}" + (f" [{fc.module_name}]" if fc.module_name else "")
    try:
        loc = prog.source_location(call.address)
        v.source = f"{loc[0].filename}:{loc[0].line}" if len(loc) else ""
    except (LookupError, AttributeError, TypeError):
        pass
    v.instruction = call
    v.evidence.append(Evidence("insn", f"{call.address:#x}: {call.text}  (the call that jumped to {pc:#x})",
                               call.address))
    reg, site_fc, site_idx = call.reg_target, fc, idx - 1
    callee = fc._callee_name(call) if call.target is not None else ""
    if callee.startswith("__x86_indirect_thunk_"):
        reg = callee[len("__x86_indirect_thunk_"):]
    elif call.target is not None and callee:
        # a direct call whose callee tail-called through a pointer: find its indirect jump
        try:
            cfc = FunctionCode(prog, call.target)
        except LookupError:
            cfc = None
        jumps = [i for i, insn in enumerate(cfc.insns) if insn.is_jump and (insn.reg_target or insn.mem)
                 and insn.target is None] if cfc else []
        if cfc is not None and len(jumps) == 1:
            site_fc, site_idx = cfc, jumps[0]
            jmp = cfc.insns[site_idx]
            v.evidence.append(Evidence("insn", f"{jmp.address:#x}: {jmp.text}  (tail call in {callee})",
                                       jmp.address))
            v.function, v.module = cfc.name, cfc.module_name
            reg = jmp.reg_target
            call = jmp
        else:
            v.undecided = f"{call.text} calls {callee} directly; which pointer it followed is not decided"
            return v
    if call.mem is not None and reg is None:
        # call *disp(%base): the function pointer is a member loaded by the call itself
        base_reg = call.mem.base
        if base_reg is None or base_reg == "rip":
            v.undecided = "the call reads a global function pointer"
            g = site_fc._global_at(call.address + call.size + call.mem.disp) if base_reg == "rip" else None
            if g is not None:
                v.pointer = g.text.lstrip("&")
            return v
        base = site_fc.expr_of(base_reg, site_idx, None)
        _name_fn_pointer(v, base, call.mem.disp)
        if v.pointer:
            v.pointer_source = "loaded by " + _insn_and_base(call.text, (base_reg, base))
        return v
    if reg is None:
        v.undecided = f"cannot tell how {call.text} chose its target"
        return v
    # call *%reg: follow the register back to the load of the function pointer
    expr = site_fc.expr_of(reg, site_idx, None)
    if expr.via is None:
        # no load to name: prefer the function-pointer variable the call went through
        for var in site_fc.vars_at(call.address):
            if var.reg != reg or var.addend:
                continue
            vt = site_fc._type(var.type_name, var.type_file)
            target = pointee(vt)
            if (target is not None and target.kind == drgn.TypeKind.FUNCTION) or "(*)" in var.type_name:
                ev = Evidence("dwarf", f"{var.name} ({var.type_name}) is in %{reg} at the call ({var.location})",
                              call.address)
                expr = Expr(var.name, vt, "local", expr.evidence + [ev],
                            [expr.text] if expr.known and expr.text != var.name else [])
                break
    v.evidence.extend(expr.evidence)
    if expr.known:
        v.pointer = expr.text
        v.pointer_type = type_str(expr.type)
        v.access_path = expr.text
        v.pointer_source = _source_of(expr)
    via = expr.via_base
    if via is not None and expr.via is not None and expr.via.mem is not None:
        target = pointee(via[1].type)
        if target is not None:
            m = member_of(target, expr.via.mem.disp, 8)
            if m is not None and not m.path.startswith("+"):
                v.member = m
    if v.pointer and v.member is not None:
        v.confidence = "high"
        v.summary = f"called {v.pointer}, which is {_bad_word(bad)} ({v.member.type_name} +{v.member.offset:#x})"
    elif v.pointer:
        v.confidence = "medium"
        v.summary = f"called {v.pointer}, which is {_bad_word(bad)}"
    else:
        v.confidence = "low"
        v.summary = f"called {pc:#x} through %{reg}"
        v.undecided = f"could not tell what %{reg} held"
    return v


def _name_fn_pointer(v: Verdict, base: Expr, disp: int) -> None:
    v.evidence.extend(base.evidence)
    target = pointee(base.type)
    if target is None:
        v.undecided = "the type of the ops pointer is not known"
        return
    m = member_of(target, disp, 8)
    if m is None or m.path.startswith("+"):
        v.undecided = f"{type_str(target)} has no member at +{disp:#x}"
        return
    v.member = m
    path = m.path.split(" or ")[0]
    v.pointer = v.access_path = f"{base.text}->{path}"
    v.pointer_type = m.member_type
    v.confidence = "high" if base.known else "medium"
    v.summary = f"called {v.pointer}, which is {_bad_word(v.bad)} ({m.type_name} +{m.offset:#x})"
