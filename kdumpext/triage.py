"""The pipeline, top to bottom: dump -> crash context -> unwind -> decode -> explain -> Verdict."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Tuple

from . import addresses
from .context import CrashContext, CrashSource, crash_context, pac_mask, read_vmcoreinfo
from .arm64 import Arm64DecodeError, strip_pac
from .decode import DecodeError
from .dump import open_dump, read_memory, vmcoreinfo_value
from .errors import MemoryNotInDump
from . import provenance
from .explain import ARG_REGS, Tracer, Value, arrow
from .flow import ENTRY, UNKNOWN, reaching_defs
from .guilty import blame_for, report_skips, skip_group
from .members import is_aggregate, is_function_pointer, member_of, pointee, sizeof, type_str
from .arch import ARCHES, NotDecoded, arch_of
from .model import (SANITIZER_CLASSES, Access, BadAddress, CrashClass, DumpInfo, Evidence, Frame, HeldObject, Hop, Instruction, MASK64, MemOperand,
                    Registers, Report, Verdict)
from .program import Code, DrgnView, branch_register, clone_suffix, with_target_name
from .report import USE_AFTER_FREE, freed_read, summarize
from .reports import report_blame, report_verdict

if TYPE_CHECKING:  # pragma: no cover
    import drgn

    from .oops import Oops

__all__ = ["triage", "triage_program", "dump_source", "assemble_report", "damage_signs", "frames_of", "explain_crash", "explain_frame", "verdict_class", "PANIC_PATH"]

#: Functions on the way from panic()/an oops into kdump: never "where it crashed".
PANIC_PATH = frozenset({
    "panic", "vpanic", "__crash_kexec", "crash_kexec", "machine_crash_shutdown", "crash_setup_regs",
    "oops_end", "die", "__die", "do_trap", "do_error_trap", "handle_invalid_op", "exc_invalid_op",
    "page_fault_oops", "kernelmode_fixup_or_oops", "__bad_area_nosemaphore", "bad_area_nosemaphore",
    "do_user_addr_fault", "exc_page_fault", "asm_exc_page_fault", "asm_exc_invalid_op",
    "die_addr", "exc_general_protection", "asm_exc_general_protection", "handle_bug",
    "nmi_panic", "do_exit", "make_task_dead", "rewind_stack_and_make_dead",
})

_CLASS_OF_KIND: Dict[str, CrashClass] = {
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
        try:
            sp = f.sp
        except (LookupError, ValueError):
            sp = 0
        if out and not f.is_inline and not out[-1].inlined and pc == out[-1].pc and sp in (out[-1].sp, 0):
            break  # an unwinder that makes no progress (a frame record pointing at itself) ends here
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
        # drgn marks as interrupted both the CPU's exception frames and the registers
        # crash_setup_regs() saved on the way into kdump; only the former are faults
        exception = bool(getattr(f, "interrupted", False)) and name not in PANIC_PATH
        try:
            regs = {k: int(v) for k, v in f.registers().items()}
        except (LookupError, ValueError):
            regs = {}
        out.append(Frame(i, pc, name, offset, module, file, line, bool(f.is_inline), exception, sp, regs))
    arch = arch_of(prog)
    if arch.link is not None:
        _after_exception_vector(out)
        out = _caller_in_link_register(prog, out, arch.link)
    return _after_bad_call(prog, out)


#: arm64's exception vectors (arch/arm64/kernel/entry.S ``el1h_64_sync`` and its kin since 5.13,
#: ``el1_sync``/``el1_irq``/``el1_error`` before): the frame after one is the code it interrupted.
_VECTOR = re.compile(r"el1[th]?_64_(?:sync|irq|fiq|error)|el1_(?:sync|irq|fiq|error)")


def _after_exception_vector(frames: List[Frame]) -> None:
    """Mark the frame after an exception vector as the exception frame (and its inline chain):
    drgn marks no arm64 frame interrupted when it unwinds through a vector by frame records (a
    WARN() or BUG() that panicked, a fault taken inside a panic path)."""
    if any(f.exception for f in frames):
        return
    for i, f in enumerate(frames[:-1]):
        if not f.inlined and _VECTOR.fullmatch(f.function.split(".")[0]):
            j = i + 1
            pc = frames[j].pc
            while j < len(frames) and frames[j].pc == pc:
                frames[j].exception = frames[j].exception or not frames[j].inlined
                j += 1
            return


def _caller_in_link_register(prog: "drgn.Program", frames: List[Frame], link: str) -> List[Frame]:
    """A leaf routine (memcpy, strlen) saves no frame record: unwinding by frame records goes
    from it to its caller's caller.  Its caller is in the link register: put that frame back
    when the link register holds a return address (the instruction before it is a call) into
    another function than the faulting one and its next frame."""
    fi = next((i for i, f in enumerate(frames) if f.exception), None)
    if fi is None:
        return frames
    j = _physical_index(frames, fi)
    lr = frames[j].registers.get(link) if j < len(frames) else None
    if not lr:
        return frames
    lr = strip_pac(lr, pac_mask(prog))
    view = DrgnView(prog)
    code = view.code(lr)
    if code is None or code.name == frames[j].function:
        return frames
    nxt = next((f for f in frames[j + 1:] if not f.inlined), None)
    if nxt is not None and (nxt.pc == lr or nxt.function == code.name):
        return frames
    k = code.index_of(lr)
    if k is None or k == 0 or not code.insns[k - 1].is_call:
        return frames
    where = _location(prog, lr - 4, outermost=True)  # the call's line
    caller = Frame(j + 1, lr, code.name, lr - code.start, code.module, where[0] if where else "",
                   where[1] if where else 0)
    out = frames[:j + 1] + [caller] + frames[j + 1:]
    for n, f in enumerate(out):
        f.index = n
    return out


def _after_bad_call(prog: "drgn.Program", frames: List[Frame]) -> List[Frame]:
    """After a call to a bad address the unwinder takes the return address from the stack: the
    frames at that address are the caller's, at the call, not an exception.

    drgn marks them interrupted and gives the line of the instruction after the call; the
    caller's own frame gets the call's line (``pc - 1``), as any caller's frame has.  The inline
    frames drgn reports at that address are kept as drgn names them.
    """
    bad = next((i for i, f in enumerate(frames) if f.exception and f.pc < _PAGE), None)
    if bad is None or bad + 1 >= len(frames):
        return frames
    ret = frames[bad + 1].pc
    for f in frames[bad + 1:]:
        if f.pc != ret:
            break
        f.exception = False
        if f.inlined:
            continue
        where = _location(prog, ret - 1, outermost=True)  # the call's line, in the function itself
        if where:
            f.file, f.line = where
    return frames


def _source(frame: Optional[Frame]) -> str:
    return f"{frame.file}:{frame.line}" if frame is not None and frame.file else ""


def verdict_class(bad: BadAddress, access: str) -> CrashClass:
    """The verdict class of an access through a bad address (``null`` + exec is ``null-fn-call``)."""
    if access == "exec" and bad.kind == "null":
        return "null-fn-call"
    if bad.kind == "slab-poison" and bad.detail == "POISON_FREE":
        # slub_debug=P fills a freed object with 0x6b: the pointer was read from a freed object
        return "use-after-free"
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
           intel: bool = False, cpus: bool = False) -> Report:
    """Open ``path`` and explain its crash; with ``cpus``, also say what the other CPUs ran.

    :raises KdumpextError: bad input, see :mod:`kdumpext.errors`.
    """
    dirs = list(debug_dirs)
    opened = open_dump(path, vmlinux, dirs)
    report = triage_program(opened.prog, opened.info, intel, dirs)
    report.warnings.extend(opened.warnings)
    if cpus:
        from .context import other_cpus

        report.cpus = other_cpus(opened.prog, report.task.cpu if report.task is not None else -1)
    return report


def triage_program(prog: "drgn.Program", info: Optional[DumpInfo] = None, intel: bool = False,
                   debug_dirs: Iterable[str] = ()) -> Report:
    """Explain the crash of an already opened dump (the drgn and gdb front-ends call this).

    A dump that cannot give the crashed task, its stack or its log, or whose verdict
    contradicts its own oops report (:func:`damage_signs`), gets a low-confidence verdict
    that says so, from the kernel log saved in the dump when that has an oops
    (``debug_dirs``: where that explanation finds module debug info).
    """
    return assemble_report(dump_source(prog, info), intel, debug_dirs)


def dump_source(prog: "drgn.Program", info: Optional[DumpInfo] = None) -> CrashSource:
    """The crash as the dump holds it: crash context, the crashed thread's stack as drgn unwinds
    it, and the registers of its innermost frame (the exception's, for a fault)."""
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
    return CrashSource(prog, info, ctx, frames, regs, warnings)


def assemble_report(src: CrashSource, intel: bool = False, debug_dirs: Iterable[str] = ()) -> Report:
    """The :class:`Report` of a crash, from a dump or from a log (:class:`CrashSource`): verdict,
    the frame to blame, warnings, and for a dump the signs of damage (then the verdict of the
    kernel log saved in the dump, with low confidence: :func:`damage_signs`)."""
    warnings = list(src.warnings)
    try:
        verdict = explain_crash(src.prog, src.ctx, src.frames, src.registers, intel)
        _blame(verdict, src.frames, src.ctx)
    except Exception as e:  # noqa: BLE001 - an unforeseen dump must still get its report
        if os.environ.get("KDUMPEXT_DEBUG"):
            raise
        verdict = Verdict("unknown", undecided=f"explaining the fault failed: {type(e).__name__}: {e}")
        warnings.append("the verdict is incomplete because of an internal error "
                        "(KDUMPEXT_DEBUG=1 shows the traceback; please report it)")
    if not src.from_dump and src.ctx.oops is not None:
        _not_whole(verdict, src.ctx.oops)
    if src.info.modules_missing_debuginfo:
        warnings.append("no debug info for module(s): " + ", ".join(src.info.modules_missing_debuginfo))
    report = Report(src.info, src.ctx.task, src.frames, verdict, src.registers, warnings)
    _around(report, src, debug_dirs)
    if src.from_dump:
        damage = damage_signs(src.ctx, src.frames, verdict, src.prog)
        if damage:
            _damaged(report, src.ctx, damage, debug_dirs, intel)
        else:
            report.objects = _objects(src.prog, verdict, warnings)
    return report


def _around(report: Report, src: CrashSource, debug_dirs: Iterable[str]) -> None:
    """What an engineer reads next to the verdict: the faulting line's text (the source found
    under the debug directories, the dump's and the vmlinux's and their parents) and the last
    lines the kernel logged before the report."""
    from .oops import lines_before
    from .sources import source_line, source_roots

    v = report.verdict
    if v.source:
        dirs = list(debug_dirs) + [os.path.dirname(os.path.abspath(p)) for p in (src.info.path, src.info.vmlinux) if p]
        found = source_line(v.source, source_roots(dirs))
        if found is not None:
            v.source_line = found[1].strip()
    oops = src.ctx.oops
    title = oops.title if oops is not None and oops.title else ""
    if not title and oops is not None and oops.panic:
        title = "Kernel panic - not syncing: " + oops.panic
    report.log_before = lines_before(src.ctx.dmesg, title) if src.ctx.dmesg else []
    earlier = next((line for line in reversed(report.log_before) if _EARLIER_FAILURE.search(line)), None)
    if earlier is not None and v.confidence == "high":
        # another component failed just before (a secure OS's panic, a firmware assert): this
        # report may be its consequence, however sure its own reading is
        v.confidence = "medium"
        note = f"the kernel logged another failure right before this report ('{earlier[:80]}'): it may be its cause"
        v.undecided = f"{note}; {v.undecided}" if v.undecided else note


#: Words of a log line that reports a failure of its own (``trusty: panic ...``, ``... crashed``,
#: ``ASSERT FAILED``, ``HALT``): one right before a report may have caused it.
_EARLIER_FAILURE = re.compile(r"\b(?:panic|crashed|ASSERT FAILED|HALT)\b", re.I)


def _objects(prog: "drgn.Program", v: Verdict, warnings: List[str]) -> List[HeldObject]:
    """:func:`kdumpext.objects.held_objects` of a sound dump's verdict; an unforeseen failure
    there costs the section, never the report."""
    from .objects import freed_holder, held_objects, poison_was_read

    try:
        objects = held_objects(prog, v)
        freed = freed_holder(v, objects)
        if freed is not None and (freed_read(v) or v.crash_class not in ("panic", "bug", "warning",
                                                                          *SANITIZER_CLASSES)):
            # the bad value is stale memory: the bug is the use of a freed object, whatever it held
            v.evidence.append(Evidence("note", freed))
            rest = v.summary[len(USE_AFTER_FREE):] if v.summary.startswith(USE_AFTER_FREE) else v.summary
            v.summary = f"{USE_AFTER_FREE}{freed}; {rest}" if rest else f"{USE_AFTER_FREE}{freed}"
            v.crash_class = "use-after-free"
            if v.confidence == "high" and not poison_was_read(v):
                # free in the dump, but the value read was no poison: it may have been freed after the read
                v.confidence = "medium"
        return objects
    except Exception as e:  # noqa: BLE001 - the objects are an addition to the verdict
        if os.environ.get("KDUMPEXT_DEBUG"):
            raise
        warnings.append(f"the objects on the chain could not be described: {type(e).__name__}: {e}")
        return []


def _not_whole(v: Verdict, oops: "Oops") -> None:
    """Low confidence for a log's report that is not whole (:attr:`kdumpext.oops.Oops.damaged`:
    another report spliced into it, its call trace cut, another task's lines mixed in):
    ``undecided`` says why first, as the verdict may rest on lines that are not this report's,
    or miss the ones that are."""
    if not oops.damaged:
        return
    v.confidence = "low"
    v.undecided = "; ".join([*oops.damaged, *([v.undecided] if v.undecided else [])])
    v.evidence.extend(Evidence("note", d) for d in oops.damaged)


def _blame(v: Verdict, frames: List[Frame], ctx: CrashContext) -> None:
    """Name the caller to blame when the verdict's function is a shared routine (:mod:`kdumpext.guilty`);
    a WARNING's file adds its checker's groups, as the log path does."""
    o = ctx.oops
    if o is not None and o.kind:
        v.blame, v.blame_module, v.blame_reason = report_blame(o, v, frames)
        return
    extra = report_skips(o.kind, o.bug_file, o.title) if o is not None else ()
    v.blame, v.blame_module, v.blame_reason = blame_for(v, frames, _fault_frame_index(frames), extra)


def _aliases(prog: Optional["drgn.Program"], a: str, b: str) -> bool:
    """Whether symbols ``a`` and ``b`` are one address (arm64's ``strlen`` and ``__pi_strlen``)."""
    if prog is None:
        return False
    try:
        return bool(prog.symbol(a).address == prog.symbol(b).address)
    except (LookupError, ValueError):
        return False


def damage_signs(ctx: CrashContext, frames: List[Frame], verdict: Verdict,
                 prog: Optional["drgn.Program"] = None) -> List[str]:
    """What a whole dump of a crashed kernel gives and this one did not, or where the verdict
    contradicts the kernel's own oops report saved in the dump ([] for a sound dump).

    A flipped bit in makedumpfile's page bitmap shifts every later page: the dump still
    opens, but the task, its stack or the log read as garbage or not at all.
    """
    signs: List[str] = []
    if ctx.oops is None and frames and frames[0].exception:
        signs.append("the dump was saved at an exception (an oops) but its kernel log has no oops report")
    if ctx.thread is None or ctx.task is None:
        signs.append("the crashed task cannot be read")
    elif not frames:
        signs.append("the crashed task's stack cannot be unwound")
    if not ctx.dmesg:
        signs.append("the kernel log cannot be read")
    oops = ctx.oops
    if oops is None or not frames or not _the_fatal_report(ctx):
        return signs
    if verdict.crash_class == "panic":
        signs.append(f"the kernel log reports \"{oops.title}\" but the crashed task's stack has no exception frame")
        return signs
    fi = _fault_frame_index(frames)
    if fi is None or not frames[fi].exception:
        return signs
    name = _symbol_name(frames, fi)
    if oops.rip_function and name and name != oops.rip_function and not _aliases(prog, name, oops.rip_function):
        signs.append(f"the kernel log's RIP is in {oops.rip_function}+{oops.rip_offset:#x}, the dump's "
                     f"exception frame in {name}")
    differ = [f"%{r} is {frames[fi].registers[r]:#x} in the dump, {oops.registers[r]:#x} in the oops report"
              for r in _GENERAL_REGISTERS if r in oops.registers and r in frames[fi].registers
              and frames[fi].registers[r] != oops.registers[r]]
    if differ:
        signs.append("at the exception frame " + ", ".join(differ[:3]) + (", ..." if len(differ) > 3 else ""))
    insn = verdict.instruction
    if insn is not None and insn.address == frames[fi].pc and oops.code and oops.code_fault_index is not None:
        printed = oops.code[oops.code_fault_index:oops.code_fault_index + insn.size]
        if len(printed) == insn.size and printed != insn.raw:
            signs.append(f"the code at {frames[fi].site} ({insn.raw.hex(' ')}) is not what the kernel printed "
                         f"in its Code: line ({printed.hex(' ')})")
    return signs


#: The registers an x86-64 oops prints that the dump's exception frame must hold too
#: (crash_kexec() saves the oops' own pt_regs; drgn names them the same way).
_GENERAL_REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                      "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")


def _the_fatal_report(ctx: CrashContext) -> bool:
    """Whether the log's first oops is the only one, and the crashed task's: then the dump's
    backtrace and code must agree with it (a WARNING before the fatal oops is another report)."""
    from .oops import parse_fault

    oops = ctx.oops
    if oops is None or not oops.title or oops.title.startswith("Kernel panic"):
        return False
    if oops.pid is not None and ctx.task is not None and oops.pid != ctx.task.pid:
        return False
    at = ctx.dmesg.find(oops.title)
    if at < 0:
        return False
    end = ctx.dmesg.find("---[ end trace", at)  # the report's last line (the panic follows it)
    return end < 0 or parse_fault(ctx.dmesg[end:]) is None


def _symbol_name(frames: List[Frame], fi: int) -> str:
    """The symbol (not the inlined function) frame ``fi``'s pc is in."""
    return frames[_physical_index(frames, fi)].function


def _damaged(report: Report, ctx: CrashContext, damage: List[str], debug_dirs: Iterable[str], intel: bool) -> None:
    """Say the dump is damaged, and explain the crash from the kernel log saved in it when it has an oops.

    Either way the verdict has low confidence: the log may be damaged too, and nothing in the
    dump can confirm it.
    """
    from .errors import KdumpextError
    from .oopstriage import report_from_text

    report.damage = list(damage)
    why = "damaged dump: " + "; ".join(damage)
    info = report.dump
    v = report.verdict
    if ctx.oops is not None and ctx.oops.title:
        try:
            text = report_from_text(ctx.dmesg, info.path, info.vmlinux or None, debug_dirs, intel=intel)
        except KdumpextError as e:
            report.warnings.append(f"the kernel log saved in the dump cannot be explained either: {e}")
        else:
            v = text.verdict
            if not report.frames:
                report.frames = text.frames
            if not report.registers:
                report.registers = text.registers
            why += "; explained from the kernel log saved in the dump"
            report.warnings.extend(w for w in text.warnings[1:] if w not in report.warnings)
    v.confidence = "low"
    v.undecided = why + (f"; {v.undecided}" if v.undecided else "")
    report.verdict = v
    report.warnings.insert(0, why)


def explain_crash(prog: "drgn.Program", ctx: CrashContext, frames: List[Frame], regs: Registers,
                  intel: bool = False) -> Verdict:
    """The verdict for a crash: a faulting access, a bad call, a BUG() or a plain panic(); read
    from a log, also a report that is no fault (a stall, a hung task, lockdep: ``Oops.kind``).

    A dump's verdict rests on its memory.  A log's rests on its text: the exception frame is
    the ``RIP:`` line (its pc 0 when no debug file places the symbol), the code the ``Code:``
    bytes or the debug file's, and what the text states outright (the fault address of the
    title, ``#PF: ... access``, ``kernel BUG at``) fills in what its code could not show.
    """
    oops = ctx.oops
    text = ctx.from_text
    v = _route(prog, ctx, frames, regs, intel)
    if text and oops is not None and not oops.kind:
        _stated_facts(v, oops, frames)
    if ctx.missing_debug:
        v.undecided = "; ".join([*([v.undecided] if v.undecided else []),
                                 f"{ctx.missing_debug}: the pointer and member cannot be named from the text alone"])
    if text:
        v.evidence.insert(0, Evidence("note", "read from the kernel log text (oops report), not from a dump"))
    return v


def _route(prog: "drgn.Program", ctx: CrashContext, frames: List[Frame], regs: Registers, intel: bool) -> Verdict:
    """Which explanation the crash gets (see :func:`explain_crash`)."""
    oops = ctx.oops
    text = ctx.from_text
    if oops is not None and oops.kind:
        return report_verdict(oops, frames)  # a stall, a hung task, lockdep: read from a log
    # oops_end()'s "Fatal exception" panic after a die() whose title was lost: the RIP read in the
    # report's tail before it (oops.parse_panic) is the fault
    cut = oops is not None and not oops.title and oops.panic.startswith("Fatal exception") \
        and bool(frames) and frames[0].exception
    if oops is not None and not oops.title and not cut:
        # a log's plain panic(): its trace names the caller when it starts at panic() (a RIP: line
        # after the panic line is no fault)
        calls = [f for f in frames if not f.exception]
        return _panic_verdict(ctx, calls if calls and calls[0].function in PANIC_PATH else [])
    if text and oops is not None and (not frames or not frames[0].exception):
        return _title_verdict(oops, None)  # a log's report without a RIP: line
    if not frames or (oops is None and not frames[0].exception):
        # no oops, and kdump was not entered from an exception: panic() was called
        return _panic_verdict(ctx, frames)
    # without an oops report in the log, a dump saved at an exception (oops_end() hands
    # crash_kexec() the fault's own registers) is still explained from those registers
    fi = _fault_frame_index(frames) if oops is not None else 0
    if fi is None:
        return _panic_verdict(ctx, frames)
    frame = frames[fi]
    if frame.function in PANIC_PATH and not (oops is not None and oops.title):
        return _panic_verdict(ctx, frames)
    thunk = thunk_target(frame, regs)
    if thunk is not None:
        return _bad_call_verdict(prog, ctx, frames, fi, regs, intel, thunk)
    if (frame.pc < _PAGE and not frame.function) or (oops is not None and oops.pf_access == "exec"):
        # a pc in the first page (a symbol's pc is 0 only when unknown) or a fetch: a bad call
        return _bad_call_verdict(prog, ctx, frames, fi, regs, intel)
    if text and oops is not None and frame.function and not cut and not _FAULT_TITLE.search(oops.title):
        return _title_verdict(oops, frame)
    return explain_frame(prog, ctx, frames, fi, regs, intel)


#: Titles whose RIP is the instruction that faulted or trapped (page fault, GPF, #DE, #SS, #UD:
#: BUG() and WARN()); after another title (KASAN, a BUG: of a debug check, ...) a log's RIP: line
#: is only where the CPU was, and its instruction is not decoded as the cause.
_FAULT_TITLE = re.compile(r"^(?:BUG: unable to handle|BUG: kernel NULL pointer dereference|(?:Oops: )?"
                          r"(?:(?:segment-related )?general protection fault|divide[ _]error|stack[ _]segment|"
                          r"invalid opcode)|Oops: [0-9a-f]+ \[#|kernel BUG at |WARNING: |"
                          r"Unable to handle kernel |Internal error: )")


def sanitizer_class(bug: str, address: Optional[int], arch: str = "x86_64") -> CrashClass:
    """The verdict class of a memory sanitizer's bug type, as KASAN (mm/kasan/report.c
    ``get_bug_type()``) and KFENCE (mm/kfence/report.c) print it: ``use-after-free``
    (``slab-use-after-free``, ``vmalloc-use-after-free``), ``*-out-of-bounds``,
    ``double-free``/``invalid-free``/``invalid free``; an access outside any object
    (``null-ptr-deref``, ``user-memory-access``, ``wild-memory-access``) by its address, as for a
    fault; ``unknown`` for what names no access (KMSAN's ``uninit-value``, KFENCE's ``memory
    corruption``, KCSAN's ``data-race``)."""
    b = bug.lower()
    if "use-after-free" in b:
        return "use-after-free"
    if "out-of-bounds" in b:
        return "out-of-bounds"
    if "double-free" in b or "invalid-free" in b or "invalid free" in b:
        return "invalid-free"
    if "null-ptr-deref" in b:
        return "null-deref"
    if "user-memory-access" in b:
        return "user-access"
    if "wild-memory-access" in b:
        return verdict_class(addresses.classify(address, arch=arch), "read") if address is not None else "bad-access"
    return "unknown"


def _title_verdict(oops: "Oops", first: Optional[Frame]) -> Verdict:
    """A log's report whose RIP (if any) is not a fault: the title's facts only (see :func:`_stated_facts`);
    a memory sanitizer's report the access it caught (:func:`sanitizer_class`)."""
    fn, off, mod = ((first.function, first.offset, first.module) if first is not None and first.function
                    else (oops.title_function, oops.title_offset, oops.title_module))
    v = Verdict("unknown", function=fn, module=mod, site=Frame(0, 0, fn, off, mod).site if fn else "")
    cls = sanitizer_class(oops.sanitizer_bug, oops.sanitizer_address, oops.arch) if oops.sanitizer_bug else "unknown"
    if cls != "unknown" and oops.title.startswith("BUG: K"):
        # the sanitizer's own report: it caught the access before it was made, and says what it was
        fn, off, mod = oops.title_function or fn, oops.title_offset if oops.title_function else off, \
            oops.title_module if oops.title_function else mod
        v = Verdict(cls, function=fn, module=mod, site=Frame(0, 0, fn, off, mod).site if fn else "",
                    access=oops.sanitizer_access, size=oops.sanitizer_size or 0, address=oops.sanitizer_address,
                    confidence="medium")
        if oops.sanitizer_address is not None:
            v.bad = addresses.classify(oops.sanitizer_address, arch=oops.arch)
        v.evidence.append(Evidence("note", f"{oops.sanitizer} caught the access: {oops.title}"))
        v.undecided = f"{oops.sanitizer} names the access and the object's state, not the pointer it went through"
        v.summary = summarize(v)
        return v
    if first is None:
        v.undecided = "the report has no RIP: line (no faulting instruction)"
    else:
        v.undecided = "the RIP: line of this report is where the CPU was, not a faulting access"
    v.evidence.append(Evidence("note", oops.title))
    v.summary = summarize(v)
    return v


def _stated_facts(v: Verdict, oops: "Oops", frames: List[Frame]) -> None:
    """Fill what a log's code could not show with what its text says outright: the RIP's or the
    title's function, BUG()/WARN() (said by the title, or the ud0/ud1/ud2 trap they and UBSAN's
    traps use), the fault address of the title and the ``#PF`` access, the caller of a bad call."""
    if not v.function and oops.rip_function:
        v.function, v.module = oops.rip_function, oops.rip_module
        v.site = v.site or Frame(0, 0, oops.rip_function, oops.rip_offset, oops.rip_module).site
    if not v.function and oops.title_function:
        v.function, v.module = oops.title_function, oops.title_module
        v.site = v.site or Frame(0, 0, oops.title_function, oops.title_offset, oops.title_module).site
    trap = v.instruction is not None and v.instruction.mnemonic in _TRAPS
    if (v.crash_class == "unknown" and oops.bug_file) or (trap and v.crash_class not in ("bug", "warning")):
        v.crash_class = "warning" if oops.title.startswith("WARNING:") else "bug"
        v.access, v.confidence = "", "high" if oops.bug_file else "medium"
        v.bad, v.address = None, None
        if oops.bug_file:
            v.source = f"{oops.bug_file}:{oops.bug_line}"
        v.summary = summarize(v)
        v.undecided = ""
        v.evidence.append(Evidence("note", oops.title))
        return
    exec_fault = oops.pf_access == "exec" or bool(frames and frames[0].exception and frames[0].pc < _PAGE
                                                  and not frames[0].function)
    if v.bad is None and (oops.fault_address is not None or exec_fault):
        where = oops.fault_address if oops.fault_address is not None else frames[0].pc
        bad = addresses.classify(where, arch=oops.arch)
        v.bad, v.address = bad, where
        v.access = v.access or ("exec" if exec_fault else oops.pf_access)
        v.crash_class = verdict_class(bad, v.access)
        v.evidence.append(Evidence("note", f"fault address {where:#x} from the oops' first line"
                                           + (f" and '#PF: ... {oops.pf_access}'" if oops.pf_access else "")))
    if exec_fault and not v.pointer:
        caller = next((f for f in frames if not f.exception), None)
        if caller is not None and (not v.function or v.function == oops.rip_function):
            v.function, v.module, v.site = caller.function, caller.module, caller.site
            v.evidence.append(Evidence("note", f"the call trace's first line, {caller.site}, is the "
                                               "return address of the bad call"))
    v.summary = summarize(v)  # the fields the text added are phrased like the engine's own


#: A function a panic message names as the kernel prints a code address (``%pB``/``%pS``:
#: ``name+0x7ea/0x7f0``), e.g. the stack protector's "Kernel stack is corrupted in: F+off/size".
_NAMED_IN_MESSAGE = re.compile(r"\bin:? (?P<fn>[A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+")


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
    # panic() said as such only on evidence: its message, and the function that called it
    v = Verdict("panic", function=caller.function if caller else "", module=caller.module if caller else "",
                site=caller.site if caller else "", source=_source(caller),
                confidence="high" if msg and caller is not None else "low")
    v.message = msg
    named = _NAMED_IN_MESSAGE.search(msg) if caller is None else None
    if named:
        # no backtrace (a smashed stack), but the message names the function (%pB):
        # "stack-protector: Kernel stack is corrupted in: udp4_lib_lookup2+0x7ea/0x7f0"
        v.function, v.confidence = named.group("fn"), "medium"
        v.evidence.append(Evidence("note", f"no backtrace; the panic message names {v.function}"))
    v.summary = summarize(v)
    if caller is None and not named:
        v.undecided = "no backtrace names who called panic()"
    elif not msg:
        v.undecided = "neither the dump nor its kernel log gives the panic message"
    v.evidence.append(Evidence("note", "no faulting access: the kernel called panic() itself"))
    return v


def _read_code(prog: "drgn.Program", frame: Frame, ctx: CrashContext) -> Tuple[bytes, str]:
    """16 bytes at ``pc``: from the dump, else from the oops' ``Code:`` line.

    Returns ``(b"", why)`` when neither has them.
    """
    o = ctx.oops
    try:
        return read_memory(prog, frame.pc, 16, "code at the faulting pc"), ctx.memory
    except MemoryNotInDump as e:
        missing = str(e)
    if o is not None and o.code and o.code_fault_index is not None:
        return o.code[o.code_fault_index:], "oops Code: line"
    if ctx.from_text:
        return b"", f"the oops has no Code: bytes and no vmlinux or module file gave the code at {frame.site}"
    return b"", missing + ", and the oops has no Code: line"


#: The instructions BUG() and WARN() trap with, on any architecture (:attr:`kdumpext.arch.Arch.traps`).
_TRAPS = frozenset().union(*(a.traps for a in ARCHES.values()))
#: ``invalid opcode: 0000 [#1]``, since 6.9 ``Oops: invalid opcode: 0000 [#1]``.
_INVALID_OPCODE = re.compile(r"(?:Oops: )?invalid opcode")


def explain_frame(prog: "drgn.Program", ctx: CrashContext, frames: List[Frame], fi: int, regs: Registers,
                  intel: bool = False) -> Verdict:
    """Explain the access made by the instruction at frame ``fi``'s pc, and where its bad pointer came from."""
    view = DrgnView(prog)
    frame = frames[fi]
    phys = frames[_physical_index(frames, fi)]
    oops = ctx.oops
    v = Verdict("unknown", function=phys.function, module=phys.module, site=phys.site, source=_source(frame))
    code, where = _read_code(prog, frame, ctx)
    if not code:
        v.undecided = where
        return v
    try:
        insn = view.arch.decode(code, frame.pc, intel)
    except (DecodeError, Arm64DecodeError, NotDecoded) as e:
        v.undecided = str(e)
        return v
    v.instruction = insn
    # a log's symbolic RIP without its debug file has no address: the code is named by its symbol
    at = frame.site if not frame.pc and frame.function else f"{insn.address:#x}"
    v.evidence.append(Evidence("insn", f"{at}: {insn.text}  (faulting instruction, from the {where})",
                               insn.address))
    if insn.mnemonic in view.arch.traps or (oops is not None and (oops.bug_file or _INVALID_OPCODE.match(oops.title))):
        return _bug_verdict(v, ctx, frame)
    mem = insn.mem
    if mem is None or not insn.access:
        v.undecided = f"{insn.text} makes no memory access we can explain"
        return v
    access: Access = insn.access
    v.access = access
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
    fcode = view.code(frame.pc)
    idx = fcode.index_of(frame.pc) if fcode is not None else None
    shadow = kasan_shadow_check(mem, regs)
    if shadow is not None:
        # the faulting access is KASAN's, not the program's: explain the program's own access
        lo, off_reg = shadow
        v.address = lo
        v.evidence.append(Evidence(
            "note", f"{insn.text} is KASAN's check of the shadow byte of {lo:#x}..{lo + 7:#x} "
                    f"(%{off_reg} = KASAN_SHADOW_OFFSET {regs[off_reg]:#x}): the faulting address "
                    "comes from the instrumentation; the program's address is the one checked", insn.address))
        tracer = Tracer(view, fcode, regs, idx) if fcode is not None and idx is not None \
            and view.arch.provenance else None
        found = _checked_access(tracer, mem, off_reg) if tracer is not None else None
        if found is None:
            v.bad = addresses.classify(lo, arch=view.arch.name)
            v.crash_class = verdict_class(v.bad, access)
            v.undecided = "the access KASAN checked was not found in the code after the check"
            v.summary = f"an access to {addresses.describe(v.bad)}, caught by KASAN's shadow check before it was made"
            return v
        real, mem = found
        access = real.access
        v.access, v.size = access, mem.size
        v.evidence.append(Evidence("insn", f"{real.address:#x}: {real.text}  (the access KASAN checked)",
                                   real.address))
    base_reg = mem.base if mem.base not in (None, "rip") else (mem.index if mem.scale == 1 else None)
    if base_reg is None or base_reg not in regs:
        # no base register: a constant address, or a constant array base indexed (disp(,%idx,8))
        const = mem.disp if mem.base is None and mem.index is None else \
            (ea if mem.base is None and ea is not None and shadow is None else (v.address or 0))
        return _absolute_access(view, v, frame, const, mem.size)
    base_val = regs[base_reg]
    offset = mem.disp
    if mem.index is not None and mem.base not in (None, "rip") and mem.index in regs:
        offset += regs[mem.index] * mem.scale
    bad = addresses.classify_pointer(base_val, offset, arch=view.arch.name)
    v.bad = bad
    v.crash_class = verdict_class(bad, access)
    v.evidence.append(Evidence("reg", f"%{base_reg} = {base_val:#x}"))
    if fcode is None:
        v.undecided = "" if ctx.missing_debug else "no symbol at the faulting pc"
        return v
    if not view.arch.provenance:
        v.undecided = f"which variable %{base_reg} held is not traced in {view.arch.name} code yet"
        v.summary = summarize(v, base_reg)
        return v
    if idx is None:
        v.undecided = f"the decoded code of {fcode.name} has no instruction at {frame.pc:#x}"
        return v
    tracer = tracer if shadow is not None and tracer is not None else Tracer(view, fcode, regs, idx)
    val = tracer.value(base_reg, idx)
    v.chain = provenance.chain(view, frames, fi, tracer, val, base_val)
    if val.how == "param" and not val.text and _from_caller(v, fcode, base_reg, view.arch.arg_regs):
        return v
    disp = mem.disp if mem.index is None else offset
    val, disp = tracer.rebase(val, base_reg, disp, idx)
    # the type the value was made with, unless the access does not fit it (container_of(), a cast
    # from void *): then the type of the variable that holds it here
    target = pointee(val.type)
    fits = target is not None and sizeof(target) > 0 and member_of(target, disp, mem.size) is not None
    typed = val if fits else tracer.retype(val, base_reg, idx)
    shared = _inlined_shared_routine(frames, fi)
    if shared is not None:
        # the access is an inlined shared routine's (spin_lock_irqsave inlined into its caller):
        # it is the routine's, as where it is not inlined (the function that faulted, unless that
        # is a shared routine itself), its caller the one to blame, its own parameter the pointer
        if skip_group(phys.function) is None:
            v.function = shared
        # the outermost routine's parameter: the out-of-line one when the faulting function is a
        # routine of the same kind (do_raw_spin_lock()'s raw_spinlock_t *, not the qspinlock * of
        # the queued_spin_lock() inlined in it; but __wake_up_common_lock()'s wait queue is no lock)
        outer, inner = skip_group(phys.function), skip_group(shared)
        own = (_routine_pointer(view, tracer, clone_suffix(phys.function)[0], base_reg, regs, idx, disp, mem.size)
               if outer is not None and inner is not None and outer.name == inner.name else None) \
            or _routine_pointer(view, tracer, shared, base_reg, regs, idx, disp, mem.size)
        if own is not None and type_str(pointee(own.type)) != type_str(pointee(typed.type)):
            typed = own  # the routine's type (raw_spinlock), not the wrapper the caller had (spinlock)
    _fill_pointer(v, val, disp, base_reg, mem.size, typed)
    if not val.known:
        # no names (no debug info for this code?): still say where the value came from
        defs = [d for d in reaching_defs(tracer.cfg, base_reg, idx) if d not in (ENTRY, UNKNOWN)]
        if len(defs) == 1:
            w = fcode.insns[defs[0]]
            v.evidence.append(Evidence("insn", f"{w.address:#x}: {w.text}  (last write of %{base_reg})", w.address))
            v.undecided += f"; %{base_reg} was last set by {w.text} at {fcode.where(w.address, module=False)}"
    return v


def _inlined_shared_routine(frames: List[Frame], fi: int) -> Optional[str]:
    """The outermost of the inlined shared routines the faulting instruction belongs to: the inline
    frames at the exception frame's pc, innermost first, as long as each is a shared routine
    (:func:`kdumpext.guilty.skip_group`: locking, atomics, lists, ...); None when the innermost is
    not one (or nothing is inlined there)."""
    phys = _physical_index(frames, fi)
    pc = frames[phys].pc
    first = phys
    while first > 0 and frames[first - 1].inlined and frames[first - 1].pc == pc:
        first -= 1
    name = None
    for f in frames[first:phys]:
        if skip_group(f.function) is None:
            break
        name = f.function
    return name


def _routine_pointer(view: DrgnView, tracer: Tracer, routine: str, base_reg: str, regs: Registers, idx: int,
                     disp: int, size: int) -> Optional[Value]:
    """The inlined ``routine``'s own pointer parameter that holds the accessed address, typed as the
    routine declares it: one whose DWARF value at the fault (a register, or a register plus a
    constant: ``lock`` is ``DW_OP_breg19 0x230; DW_OP_stack_value`` while the access goes through
    x0) equals the base register's, and whose pointee has a member at the access.  None when no
    parameter of it does."""
    base = regs.get(base_reg)
    if base is None:
        return None
    for var in tracer.vars_at(idx):
        held = regs.get(var.reg) if var.reg else None
        if var.scope != routine or not var.is_param or held is None or (held + var.addend) & MASK64 != base:
            continue
        t = view.type_named(var.type_name, var.type_file)
        target = pointee(t)
        if target is None or not is_aggregate(target) or member_of(target, disp, size) is None:
            continue  # a bit operation's unsigned long * names no member: the caller's type does
        pc = tracer.insns[idx].address
        return Value(var.name, t, "param",
                     [Evidence("dwarf", f"{var.name} ({var.type_name}), {routine}()'s parameter, is in %{var.reg} "
                                        f"= %{base_reg} at {pc:#x} ({var.location})", pc)], reg=var.reg or "")
    return None


#: KASAN_SHADOW_OFFSET of x86-64's generic KASAN (4- and 5-level paging): the shadow byte of
#: address ``a`` is at ``(a >> 3) + KASAN_SHADOW_OFFSET``; the kernel's kasan_non_canonical_hook()
#: undoes it the same way.
KASAN_SHADOW_OFFSET = 0xdffffc0000000000
#: Every generic-KASAN shadow offset a kernel is built with: x86-64's, and arm64's by VA size and
#: page size (arch/arm64/Kconfig KASAN_SHADOW_OFFSET: 48/52-bit VAs 0xdfff800000000000 since 5.11,
#: 0xdfffa00000000000 before; 47/52-bit with 16K pages, 42, 39 and 36-bit VAs).
KASAN_SHADOW_OFFSETS = frozenset({KASAN_SHADOW_OFFSET, 0xdfff800000000000, 0xdfffa00000000000, 0xdfffc00000000000,
                                  0xdffffe0000000000, 0xdfffffc000000000, 0xdffffff800000000})
_KASAN_SCALE = 3


def kasan_shadow_check(mem: MemOperand, regs: Registers) -> Optional[Tuple[int, str]]:
    """``(first checked address, register holding the offset)`` when ``mem`` is KASAN's shadow
    check, ``disp(%a,%b,1)`` (arm64 ``ldrsb w1, [x2, x1]``) with one register one of
    :data:`KASAN_SHADOW_OFFSETS`: the 8
    program bytes from the first checked address are what the instrumented code was about to
    access.  None for any other operand.
    """
    if mem.base in (None, "rip") or mem.index is None or mem.scale != 1:
        return None
    for off_reg, other in ((mem.index, mem.base), (mem.base, mem.index)):
        if regs.get(off_reg) in KASAN_SHADOW_OFFSETS and other in regs:
            assert other is not None
            return ((regs[other] + mem.disp) << _KASAN_SCALE) & MASK64, off_reg
    return None


def _checked_access(tracer: Tracer, mem: MemOperand, off_reg: str) -> Optional[Tuple[Instruction, MemOperand]]:
    """The program's own access that KASAN's shadow check at the tracer's pc guards, and its operand.

    The shadowed register was made by ``shr $3`` of a copy (``mov %src,%r``) or an address
    (``lea d(%src),%r``) of the program's pointer; the access is the first one after the check
    through ``d(%src)`` (the check only branches to the report).  Its register must still hold
    the value that was shifted (``(src + d) >> 3`` is the shadowed register).
    """
    from .decode import shift_right, source_of

    shadowed = mem.index if mem.base == off_reg else mem.base
    idx = tracer.fault_index
    if shadowed is None or idx is None:
        return None
    fcode, regs, cfg = tracer.code, tracer.regs, tracer.cfg
    defs = [d for d in reaching_defs(cfg, shadowed, idx) if d not in (ENTRY, UNKNOWN)]
    if len(defs) != 1 or shift_right(fcode.insns[defs[0]]) != (shadowed, _KASAN_SCALE):
        return None
    made = [d for d in reaching_defs(cfg, shadowed, defs[0]) if d not in (ENTRY, UNKNOWN)]
    src = source_of(fcode.insns[made[0]]) if len(made) == 1 else None
    if src is None or src.width != 8:
        return None
    if src.kind == "copy" and src.reg:
        reg, disp = src.reg, 0
    elif src.kind == "lea" and src.mem is not None and src.mem.base not in (None, "rip") and src.mem.index is None:
        reg, disp = src.mem.base or "", src.mem.disp
    else:
        return None
    if reg not in regs or ((regs[reg] + disp) & MASK64) >> _KASAN_SCALE != regs[shadowed]:
        return None
    for later in fcode.insns[idx + 1: idx + 16]:
        m = later.mem
        if m is not None and later.access and m.base == reg and m.index is None and m.disp == disp:
            return later, m
        if reg in later.regs_written or later.is_ret:
            break
    return None


def _from_caller(v: Verdict, fcode: Code, reg: str, args: Tuple[str, ...] = ARG_REGS) -> bool:
    """A routine without debug info (memcpy and its kin are assembly) faulted on an argument
    register it never changed: name the argument where the caller made the call.

    ``v`` keeps the faulting instruction and site; its ``function`` becomes the caller (where
    the bad value came from), ``callee`` the routine that faulted.  False when the chain does
    not reach a named value in the caller.
    """
    hops = v.chain
    if len(hops) < 2 or hops[0].kind != "argument" or hops[1].kind in ("unknown", "argument") or not hops[1].expr:
        return False
    n = args.index(reg) + 1 if reg in args else 0
    if not n:
        return False
    passed = hops[1]
    callee = fcode.name
    v.callee, v.function, v.module = callee, passed.function + passed.clone, passed.module
    v.pointer, v.pointer_type = passed.expr, passed.type
    v.access_path = f"{callee}({', '.join(['…'] * (n - 1) + [passed.expr])}, …)"
    v.pointer_source = _pointer_source(passed)
    v.evidence.append(Evidence("note", f"%{reg} is argument {n} of {callee}, unchanged since its entry; "
                                       f"the caller {passed.site} passed {passed.expr} ({passed.fact})", passed.pc))
    v.confidence = "medium"  # the routine may have advanced the register (rep movs): the kind, not the value, is shown
    v.undecided = ""
    v.summary = summarize(v)
    return True


def _pointer_source(h: Hop) -> str:
    """How the value got into its register, for the report's NULL line (``loaded by mov 0x40(%rbx),%rax; ...``)."""
    if h.kind in ("load", "global") and h.fact:
        return f"loaded by {h.fact}"
    return ""


def _absolute_access(view: DrgnView, v: Verdict, frame: Frame, address: int, size: int) -> Verdict:
    """An access to a constant address: the compiler folded a constant pointer into it.

    DWARF keeps such a pointer as a variable with ``DW_AT_const_value``; name it when
    the address falls inside what it points to.
    """
    address &= MASK64
    bad = addresses.classify(address, arch=view.arch.name)
    v.bad = bad
    v.crash_class = verdict_class(bad, v.access)
    for var in view.variables_at(frame.pc):
        if var.const is None:
            continue
        vt = view.type_named(var.type_name, var.type_file)
        target = pointee(vt)
        if target is None:
            continue
        off = address - (var.const & MASK64)
        if 0 <= off < max(1, sizeof(target)):
            v.bad = addresses.classify_pointer(var.const & MASK64, off, arch=view.arch.name)
            v.crash_class = verdict_class(v.bad, v.access)
            v.evidence.append(Evidence("dwarf", f"{var.name} ({var.type_name}) is the constant {var.const:#x} "
                                                f"(DW_AT_const_value), folded into the instruction", frame.pc))
            cval = Value(var.name, vt, "constant", const=var.const)
            fn, clone = _source_function(view, frame.pc)
            v.chain = [Hop("constant", fn, var.name, clone=clone, type=var.type_name, fact="DW_AT_const_value",
                           pc=frame.pc, value=var.const)]
            _fill_pointer(v, cval, off, "", size)
            return v
    v.summary = summarize(v)
    v.undecided = "the address is a constant in the instruction and no variable names it"
    return v


def _source_function(view: DrgnView, pc: int) -> Tuple[str, str]:
    """``(function, clone suffix)`` at ``pc``."""
    code = view.code(pc)
    if code is None:
        return "", ""
    return provenance.source_name(view, code)


def _fill_pointer(v: Verdict, val: Value, offset: int, reg: str, size: int, typed: Optional[Value] = None) -> None:
    """Name the bad pointer (``val``) and the member reached through it.

    ``typed`` is the same value as the code dereferences it, when that differs from
    how it was loaded (``container_of(req->node.next, struct kdx_req, node)``).
    """
    typed = typed or val
    v.evidence.extend(typed.evidence)
    if val.known and val.text:
        v.pointer = val.text
        v.pointer_type = type_str(typed.type)
        v.pointer_source = _pointer_source(v.chain[0]) if v.chain else ""
    target = pointee(typed.type)
    if target is not None and offset >= 0:
        m = member_of(target, offset, size)
        if m is not None:
            v.member = m
            if typed.known and typed.text:
                v.access_path = arrow(typed, m.path)
    if v.pointer and v.member is not None:
        v.confidence = "high"
    elif v.pointer:
        v.confidence = "medium"
        v.undecided = f"the type {v.pointer_type or '?'} has no member at +{offset:#x}"
    else:
        v.confidence = "low"
        v.undecided = f"could not tell which variable or expression %{reg} held"
    if v.confidence == "high" and any(h.candidates for h in v.chain):
        v.confidence = "medium"
        v.undecided = "control-flow paths disagree on where the value came from: " + "; ".join(
            f"{h.expr} or {' or '.join(h.candidates)}" for h in v.chain if h.candidates)
    v.summary = summarize(v, reg)


def _bug_verdict(v: Verdict, ctx: CrashContext, frame: Frame) -> Verdict:
    o = ctx.oops
    # WARN() also traps on ud2; with panic_on_warn it ends the same way as BUG()
    warn = o is not None and o.title.startswith("WARNING:")
    v.crash_class = "warning" if warn else "bug"
    v.access = ""
    where = f"{o.bug_file}:{o.bug_line}" if o is not None and o.bug_file else _source(frame)
    if where:
        v.source = where
    v.summary = summarize(v)
    v.confidence = "high"
    trap = v.instruction.mnemonic if v.instruction is not None else "ud2"
    v.evidence.append(Evidence("note", o.title if o is not None and o.title else f"the {trap} trap of BUG()/WARN()"))
    return v



#: The retpoline thunks, by the register they branch through: ``__x86_indirect_thunk_rax``
#: (arch/x86/lib/retpoline.S since 4.15; ``__x86_indirect_jump_thunk_*`` since 6.1 for jumps),
#: ``__x86_retpoline_rax`` in 5.9-5.10 (their clone suffixes stripped).
_THUNK = re.compile(r"__x86_(?:indirect_(?:jump_|call_)?thunk|retpoline)_(?P<reg>r\w+?)(?:\.\w+)*")


def thunk_target(frame: Frame, regs: Registers) -> Optional[Tuple[str, int]]:
    """``(register, target)`` when ``frame`` faulted in a retpoline thunk on its way to a
    non-canonical target: the thunk's ``ret`` (or, with retpolines patched out, ``jmp *%reg``)
    raises #GP before the target runs, so the RIP is the thunk's and the bad pointer is in the
    register it is named after.  None for any other frame, or a target that is canonical (a
    fetch from it faults at the target itself, with the RIP there)."""
    m = _THUNK.fullmatch(frame.function)
    if m is None or not frame.exception:
        return None
    reg = m.group("reg")
    value = regs.get(reg)
    if value is None or addresses.classify(value).kind != "non-canonical":
        return None
    return reg, value


def _bad_call_verdict(prog: "drgn.Program", ctx: CrashContext, frames: List[Frame], fi: int, regs: Registers,
                      intel: bool, thunk: Optional[Tuple[str, int]] = None) -> Verdict:
    """An instruction fetch from a bad address: find the call (or tail jump) that went there.

    ``thunk``: the bad target was not reached, a retpoline thunk faulted on its way there
    (:func:`thunk_target`); the call that went to the thunk is the one to find, its return
    address the trace's next frame.
    """
    view = DrgnView(prog)
    pc = frames[fi].pc if thunk is None else thunk[1]
    bad = addresses.classify(pc, arch=view.arch.name)
    v = Verdict(verdict_class(bad, "exec"), access="exec", address=pc, bad=bad)
    rsp = regs.get("rsp")
    caller = frames[fi + 1] if fi + 1 < len(frames) else None
    if thunk is not None:
        v.evidence.append(Evidence("reg", f"%{thunk[0]} = {pc:#x}"))
        v.evidence.append(Evidence("note", f"{frames[fi].site} is the retpoline thunk for %{thunk[0]}: it faulted "
                                           f"branching to {pc:#x}, a call through a bad function pointer"))
        if caller is not None:
            v.function, v.module, v.site = caller.function, caller.module, caller.site
        ret = None  # [%rsp] holds the target in the thunk: the caller's frame has the return address
    elif view.arch.link is not None:
        # a call leaves its return address in the link register (arm64's x30), not on the stack
        v.evidence.append(Evidence("reg", f"%{view.arch.pc} = {pc:#x}"))
        ret = regs.get(view.arch.link) or None
        if ret is not None:
            ret = strip_pac(ret, pac_mask(prog))  # a signed link register (pointer authentication)
            v.evidence.append(Evidence("reg", f"return address %{view.arch.link} = {ret:#x}"))
    else:
        v.evidence.append(Evidence("reg", f"%rip = {pc:#x}"))
        ret = view.read_word(rsp) if rsp is not None else None
        if ret is not None:
            v.evidence.append(Evidence("reg", f"return address [%rsp] = {ret:#x}"))
    if ret is None and caller is not None and caller.pc:
        # no registers or stack memory to read it from (a log): the unwinder read the return
        # address (x86's ORC at [%rsp] for a bad pc, unwind_orc.c; arm64's in lr), and the trace's
        # next frame is where it points
        ret = caller.pc
        v.evidence.append(Evidence("note", f"return address {ret:#x} ({caller.site}): the call trace's frame "
                                           f"after the {'thunk' if thunk else 'bad pc'}, where the unwinder "
                                           "found it"))
    elif ret is None:
        v.undecided = "" if ctx.missing_debug else "no stack pointer at the fault" if rsp is None else \
            f"the stack at {rsp:#x} is not in the dump"
        return v
    code = view.code(ret)
    if code is None:
        v.undecided = f"no function at the return address {ret:#x}"
        return v
    idx = code.index_of(ret)
    if idx is None or idx == 0:
        v.undecided = f"no instruction ends at the return address {ret:#x} in {code.name}"
        return v
    call = code.insns[idx - 1]
    if not call.is_call:
        v.undecided = f"the instruction before the return address is {call.text}, not a call"
        return v
    site = code
    site_idx = idx - 1
    v.function, v.module = code.name, code.module
    v.site = code.where(call.address)
    v.source = _line_at(prog, call.address)
    v.instruction = with_target_name(view, call)
    v.evidence.append(Evidence("insn", f"{call.address:#x}: {call.text}  (the call that jumped to {pc:#x})",
                               call.address))
    reg = branch_register(view, call)
    if reg is None and call.target is not None:
        # a direct call whose callee tail-jumped through a pointer: find its indirect jump
        callee = view.code(call.target)
        jumps = [i for i, insn in enumerate(callee.insns) if insn.is_jump and (
            branch_register(view, insn) is not None or (insn.target is None and insn.mem is not None))] \
            if callee else []
        if callee is None or len(jumps) != 1:
            name = callee.name if callee else f"{call.target:#x}"
            v.undecided = f"{call.text} calls {name} directly; which pointer it followed is not decided"
            return v
        site, site_idx = callee, jumps[0]
        jmp = callee.insns[site_idx]
        v.evidence.append(Evidence("insn", f"{jmp.address:#x}: {jmp.text}  (tail jump in {callee.name}, which is "
                                           "not on the stack)", jmp.address))
        v.function, v.module = callee.name, callee.module
        v.site = callee.where(jmp.address)
        v.instruction = with_target_name(view, jmp)
        v.source = _line_at(prog, jmp.address, outermost=True) or v.source
        reg = branch_register(view, jmp)
        call = jmp
    if not view.arch.provenance:
        what = f"%{reg}" if reg else "the pointer"
        v.undecided = f"what {what} held is not traced in {view.arch.name} code yet"
        v.confidence = "low"
        v.summary = summarize(v)
        return v
    tracer = Tracer(view, site)
    # the frame the chain continues from: the caller of the function that made the call
    caller_fi = _frame_of(frames, ret)
    if call.mem is not None and reg is None:
        # call *disp(%base): the function pointer is a member loaded by the call itself
        base_reg = call.mem.base
        if base_reg is None or base_reg == "rip":
            v.undecided = "the call reads a global function pointer"
            if base_reg == "rip":
                g = view.global_at(call.address + call.size + call.mem.disp)
                if g is not None:
                    v.pointer = g[0]
            return v
        base = tracer.value(base_reg, site_idx)
        fn_val = _member_load(view, base, base_reg, call)
    elif reg is None:
        v.undecided = f"cannot tell how {call.text} chose its target"
        return v
    else:
        # call *%reg: follow the register back to the load of the function pointer
        fn_val = tracer.value(reg, site_idx)
    # the value is traced for the chain; the function-pointer variable the call went through names it
    shown = _fn_pointer_variable(view, reg, call, fn_val) if fn_val.insn is None and reg is not None else fn_val
    v.chain = provenance.chain(view, frames, caller_fi, tracer, fn_val, pc) if fn_val.known else []
    v.evidence.extend(shown.evidence)
    if shown.known:
        v.pointer = shown.text
        v.pointer_type = type_str(shown.type)
        v.access_path = shown.text
        v.pointer_source = _pointer_source(v.chain[0]) if v.chain else ""
        if fn_val.how == "load" and fn_val.member is not None and fn_val.member.path:
            v.member = fn_val.member
    if v.pointer and v.member is not None:
        v.confidence = "high"
    elif v.pointer:
        v.confidence = "medium"
    else:
        v.confidence = "low"
        v.undecided = f"could not tell what %{reg} held" if reg else "could not tell which pointer was called"
    v.summary = summarize(v)
    return v


def _location(prog: "drgn.Program", pc: int, outermost: bool = False) -> Optional[Tuple[str, int]]:
    """``(file, line)`` of ``pc``: its innermost inlined call's, or with ``outermost`` the function's
    own; None when the line table has none."""
    try:
        loc = prog.source_location(pc)
    except (LookupError, ValueError, AttributeError, TypeError):
        return None
    if not len(loc):
        return None
    at = loc[-1] if outermost else loc[0]
    return at.filename, at.line


def _line_at(prog: "drgn.Program", pc: int, outermost: bool = False) -> str:
    """``file:line`` of :func:`_location`, "" when unknown."""
    where = _location(prog, pc, outermost)
    return f"{where[0]}:{where[1]}" if where else ""


def _frame_of(frames: List[Frame], ret: int) -> int:
    """Index of the frame whose pc is ``ret`` (the caller of the bad call), else 0."""
    for i, f in enumerate(frames):
        if f.pc == ret:
            return i
    return 0


def _member_load(view: DrgnView, base: Value, base_reg: str, call: Instruction) -> Value:
    """``call *disp(%base)``: the member of the base's pointee the call read its target from."""
    assert call.mem is not None
    target = pointee(base.type)
    m = member_of(target, call.mem.disp, 8) if target is not None else None
    ev = Evidence("insn", f"{call.address:#x}: {call.text}", call.address)
    if m is None or not m.path or not base.known:
        return Value(f"*(%{base_reg} + {call.mem.disp:#x})")
    return Value(arrow(base, m.path), view.type_named(m.member_type), "load", base.evidence + [ev], insn=call,
                 base=base, base_reg=base_reg, member=m)


def _fn_pointer_variable(view: DrgnView, reg: str, call: Instruction, val: Value) -> Value:
    """No load to name: the function-pointer variable DWARF says the call went through."""
    for var in view.variables_at(call.address):
        if var.reg != reg or var.addend:
            continue
        vt = view.type_named(var.type_name, var.type_file)
        if is_function_pointer(vt) or "(*)" in var.type_name:
            ev = Evidence("dwarf", f"{var.name} ({var.type_name}) is in %{reg} at the call ({var.location})",
                          call.address)
            return Value(var.name, vt, "local", val.evidence + [ev], [val.text] if val.known and val.text != var.name
                         else [], reg=reg)
    return val
