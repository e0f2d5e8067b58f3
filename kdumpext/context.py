"""The crash context: panic message, oops report, taint, crashed task and CPU, time of the crash."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional

from .dump import vmcoreinfo_value
from .model import CpuStack, DumpInfo, Frame, Registers, TaskInfo
from .oops import Oops, parse_fault

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["CrashContext", "CrashSource", "crash_context", "other_cpus", "pac_mask", "read_vmcoreinfo", "TAINT_MEANINGS", "decode_taint", "vmcoreinfo_value"]

#: Meaning of each taint letter (Documentation/admin-guide/tainted-kernels.rst).
TAINT_MEANINGS = {
    "P": "proprietary module loaded",
    "F": "module force-loaded",
    "S": "kernel running on an out-of-specification system",
    "R": "module force-unloaded",
    "M": "machine check exception",
    "B": "bad page referenced",
    "U": "taint requested by user space",
    "D": "kernel died recently (OOPS or BUG)",
    "A": "ACPI table overridden",
    "W": "kernel issued a warning",
    "C": "staging driver loaded",
    "I": "firmware bug workaround applied",
    "O": "out-of-tree module loaded",
    "E": "unsigned module loaded",
    "L": "soft lockup occurred",
    "K": "kernel live-patched",
    "X": "auxiliary taint (distribution-defined)",
    "T": "kernel built with the struct randomization plugin",
    "N": "in-kernel test run",
}


def decode_taint(taint: str) -> List[str]:
    """``'G           O'`` -> ``['O: out-of-tree module loaded']`` (G and blanks mean untainted)."""
    out = []
    for letter in taint:
        if letter in TAINT_MEANINGS:
            out.append(f"{letter}: {TAINT_MEANINGS[letter]}")
    return out


@dataclass
class CrashContext:
    """Who crashed, where, and what the kernel said about it."""

    task: Optional[TaskInfo]
    thread: Optional["drgn.Thread"]
    oops: Optional[Oops]
    dmesg: str
    #: where the program's memory comes from, as evidence names it: the dump, or for an
    #: oops log the vmlinux/module file or the oops' Code: line
    memory: str = "dump"
    #: the debug info the faulting code needs and the program lacks ("no vmlinux", "no debug
    #: info for kdx"), "" when it has it: the verdict says so instead of naming nothing
    missing_debug: str = ""

    @property
    def from_text(self) -> bool:
        """Whether the crash is read from a kernel log's text, with no dump memory behind it."""
        return self.memory != "dump"


@dataclass
class CrashSource:
    """One crash as read, from a dump or from its kernel log: what the engine explains.

    :func:`kdumpext.triage.dump_source` fills it from drgn (the crashed thread's unwound stack,
    the dump's memory); :func:`kdumpext.oopstriage.log_source` from the oops' lines (its RIP,
    registers, ``Code:`` bytes and call trace, over the vmlinux and module files laid out where
    the trace says).  :func:`kdumpext.triage.assemble_report` makes the one
    :class:`~kdumpext.model.Report` of either.
    """

    #: the dump, or for a log a program holding only the debug files (and the Code: bytes)
    prog: "drgn.Program"
    info: DumpInfo
    ctx: CrashContext
    #: innermost first; frame 0 is the exception frame when the crash was a fault
    frames: List[Frame]
    #: at the fault (drgn's register names), ``rip`` included when known
    registers: Registers
    warnings: List[str] = field(default_factory=list)
    #: read from a dump: its verdict is checked against the dump's own log for damage
    #: (:func:`kdumpext.triage.damage_signs`); a log's verdict rests on its text alone
    from_dump: bool = True


def read_vmcoreinfo(prog: "drgn.Program") -> str:
    """The VMCOREINFO note as the dump carries it (drgn's ``VMCOREINFO`` object).

    Not ``vmcoreinfo_data`` in memory: that page is vmalloc'ed and makedumpfile may
    leave it out, while the note is always in the dump file.
    """
    import drgn

    try:
        return prog["VMCOREINFO"].string_().decode(errors="replace")
    except (KeyError, LookupError, drgn.FaultError, ValueError, TypeError):
        return ""


def pac_mask(prog: "drgn.Program") -> int:
    """VMCOREINFO's ``NUMBER(KERNELPACMASK)``: the bits of an arm64 kernel code address that
    hold its pointer-authentication code (0: none, or not arm64)."""
    value = vmcoreinfo_value(read_vmcoreinfo(prog), "NUMBER(KERNELPACMASK)")
    try:
        return int(value, 0) & ((1 << 64) - 1) if value else 0
    except ValueError:
        return 0


def crash_context(prog: "drgn.Program", info: DumpInfo) -> CrashContext:
    """Fill ``info``'s crash fields and find the crashed task and its oops.

    :param prog: a kernel dump with vmlinux debug info loaded.
    """
    import drgn
    from drgn.helpers.linux.cpumask import num_online_cpus
    from drgn.helpers.linux.panic import panic_message, tainted
    from drgn.helpers.linux.printk import get_dmesg
    from drgn.helpers.linux.sched import task_cpu
    from drgn.helpers.linux.timekeeping import uptime

    try:
        dmesg = get_dmesg(prog).decode(errors="replace")
    except (drgn.FaultError, LookupError, ValueError):
        dmesg = ""
    oops = parse_fault(dmesg)  # the crash is the first fault, not a stall or lockdep report before it
    try:
        msg = panic_message(prog)
        info.panic_message = msg.decode(errors="replace").strip() if msg else ""
    except (drgn.FaultError, LookupError, ValueError):
        pass
    info.oops = oops.title if oops else ""
    if not info.panic_message and oops is not None:
        # drgn's panic_message() knows page faults, BUG() and panic(), not every oops title
        # (e.g. "general protection fault, probably for non-canonical address ...")
        info.panic_message = oops.panic or oops.title
    try:
        info.taint = tainted(prog).rstrip()
    except (drgn.FaultError, LookupError):
        pass
    info.taint_flags = decode_taint(info.taint)
    try:
        info.cpus = num_online_cpus(prog)
    except (drgn.FaultError, LookupError):
        pass
    try:
        info.uptime = float(uptime(prog))
    except (drgn.FaultError, LookupError, ValueError, TypeError):
        pass
    try:
        info.nodename = prog["init_uts_ns"].name.nodename.string_().decode(errors="replace")
    except (drgn.FaultError, LookupError, ValueError, AttributeError):
        pass
    crashtime = vmcoreinfo_value(read_vmcoreinfo(prog), "CRASHTIME")
    if crashtime.isdigit():
        info.crash_time = float(crashtime)

    task: Optional[TaskInfo] = None
    thread = None
    try:
        thread = prog.crashed_thread()
        obj = thread.object
        task = TaskInfo(
            pid=int(obj.pid),
            comm=obj.comm.string_().decode(errors="replace"),
            cpu=int(task_cpu(obj)),
            address=int(obj.value_()),
        )
    except (drgn.FaultError, LookupError, ValueError):
        pass
    return CrashContext(task, thread, oops, dmesg)


def other_cpus(prog: "drgn.Program", skip: int, depth: int = 8) -> List[CpuStack]:
    """Each online CPU but ``skip`` (the crashed one): the task it was running and the top
    ``depth`` functions of its stack, as drgn unwinds them from the registers kdump saved for
    it (the NMI that stopped it); an unreadable stack gives ``error``, not an exception."""
    import drgn
    from drgn.helpers.linux.cpumask import for_each_online_cpu
    from drgn.helpers.linux.sched import cpu_curr

    from . import addresses
    from .arch import arch_of

    arch = arch_of(prog).name
    out: List[CpuStack] = []
    try:
        cpus = list(for_each_online_cpu(prog))
    except (LookupError, drgn.FaultError, ValueError):
        return out
    for cpu in cpus:
        if cpu == skip:
            continue
        try:
            task = cpu_curr(prog, cpu)
            st = CpuStack(cpu, int(task.pid), task.comm.string_().decode(errors="replace"))
        except (LookupError, drgn.FaultError, ValueError) as e:
            out.append(CpuStack(cpu, -1, "", error=f"its task could not be read: {e}"))
            continue
        try:
            for frame in prog.stack_trace(task):
                if len(st.frames) >= depth:
                    break
                name = frame.name
                if not name or name.startswith("0x"):  # drgn names a pc without a symbol by its hex
                    user = addresses.classify(frame.pc, arch=arch).kind == "user"
                    name = f"{frame.pc:#x}" + (" (user space)" if user else "")
                st.frames.append(name)
        except (LookupError, drgn.FaultError, ValueError) as e:
            st.error = f"its stack could not be unwound: {e}"
        out.append(st)
    return out
