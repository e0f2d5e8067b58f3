"""Verdicts for kernel reports that are no fault: stalls, hung tasks, lockdep, leaks and other debug checks."""

from __future__ import annotations

from typing import List

from .guilty import NO_BLAME, REPORT_SKIPS, Blame, base_name, blame_for, hung_task_frame, reporting_frame, \
    stall_frame, stall_name
from .model import Evidence, Frame, Verdict
from .oops import STALL_KINDS, Oops

__all__ = ["report_verdict", "report_blame"]


def report_verdict(oops: Oops, frames: List[Frame]) -> Verdict:
    """A report that is no fault (``oops.kind``: a stall, a hung task, lockdep, a leak, UBSAN, ...).

    ``function`` is where the report points: the stalled CPU's RIP, the frame a hung task
    waits in, the first frame of the report's stack (lockdep's ``at:`` line, kmemleak's
    allocation, the frame that called a check); the blame (:func:`report_blame`) then names the frame
    past the report's own routines.  Low confidence: no instruction is explained, and a report
    of this kind tells where a problem showed, not what made it.  The routines that print the
    report (``dump_stack()``, the unwinder: :func:`kdumpext.guilty.reporting_frame`) are passed
    over; a stall's frames are the interrupted code's (:func:`kdumpext.oopstriage.frames_from_oops`).
    """
    first = frames[reporting_frame([f.function for f in frames])] if frames else None
    fn, off, mod = (first.function, first.offset, first.module) if first is not None and first.function else \
        (oops.title_function, oops.title_offset, oops.title_module)
    if oops.kind == "hung task":
        hung = hung_task_frame([f.function for f in frames])
        if hung is not None:
            fn, off, mod = hung[1], frames[hung[0]].offset, frames[hung[0]].module
    elif oops.kind == "workqueue leaked lock" and oops.title_function:
        fn, off, mod = oops.title_function, 0, ""
    v = Verdict("panic" if oops.panic else "unknown", function=fn, module=mod,
                site=Frame(0, 0, fn, off, mod).site if fn and off else fn, confidence="low")
    if oops.panic:
        v.message = oops.panic
        v.evidence.append(Evidence("note", f"the kernel panicked after the report: {oops.panic}"))
    v.evidence.append(Evidence("note", oops.title))
    v.undecided = f"a {oops.kind} report shows where the problem was seen, not what made it; no access to explain"
    v.summary = _summary(oops, v, frames)
    return v


def _summary(oops: Oops, v: Verdict, frames: List[Frame]) -> str:
    """``RCU stall: CPU 1 in kvm_mmu_page_fault``, ``possible deadlock: in tty_buffer_flush``, ..."""
    where = v.function or "?"
    if oops.kind in STALL_KINDS:
        cpu = f"CPU {oops.cpu} " if oops.cpu is not None else ""
        text = f"{oops.kind}: {cpu}in {where}"
    elif oops.kind == "hung task":
        text = f"hung task: {oops.comm or 'a task'} waits in {where}"
    elif oops.kind == "memory leak":
        text = f"memory leak: object allocated in {where}"
    else:
        text = f"{oops.kind}: in {where}"
    if oops.panic:
        text += f"; then panic(\"{oops.panic}\")"
    return text


def report_blame(oops: Oops, v: Verdict, frames: List[Frame]) -> Blame:
    """Whom to blame for the verdict of a report of ``oops.kind`` (see :func:`report_verdict`).

    A stall is blamed on the frame before the point its loop was entered from
    (:func:`kdumpext.guilty.stall_frame`); a hung task's verdict already names its frame; the
    others walk out of the report's own routines (:data:`kdumpext.guilty.REPORT_SKIPS`).
    """
    if oops.kind in STALL_KINDS:
        names = [f.function for f in frames]  # the interrupted code's (frames_from_oops)
        i = stall_frame(names)
        if i is None or stall_name(names[i]) == base_name(v.function):
            return NO_BLAME
        return Blame(stall_name(names[i]), frames[i].module,
                     "where the stalled code was entered (the frame before the syscall, softirq, timer or "
                     "work dispatch)")
    if oops.kind in ("hung task", "workqueue leaked lock"):
        return NO_BLAME
    return blame_for(v, frames, 0, REPORT_SKIPS.get(oops.kind, ()))
