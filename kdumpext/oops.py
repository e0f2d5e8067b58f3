"""Parse the kernel's oops report out of dmesg text: title, fault address, RIP, registers, Code:, trace."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from .esr import decode_esr
from .model import Access

__all__ = ["Oops", "TraceEntry", "REPORT_KINDS", "STALL_KINDS", "REGISTERLESS_SANITIZERS", "parse_oops", "parse_fault",
           "panic_line", "strip_timestamps", "split_prefix", "parse_panic", "iter_lines", "lines_before"]

# Every pattern here matches a line the kernel prints with a fixed printk format
# (arch/x86/mm/fault.c, arch/x86/kernel/dumpstack.c, process_64.c, kernel/panic.c), in the
# spellings of every kernel since 3.10.

#: What comes before the text of a log line: a syslog prefix (``Jan  1 00:00:00 host kernel: ``),
#: text of another line glued before the timestamp, the log level (``<4>``), the timestamp and
#: the printk caller id (``[T1234]`` a task, ``[C1]`` a CPU in interrupt context).
_TS = re.compile(
    r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ )?(?:kernel: )?"
    r"(?:\*\* \d+ printk messages dropped \*\* )?"
    r"(?:[^\[\n]{0,64}?(?=(?:<\d+>)?\[\s*\d+\.\d+\]))?"
    r"\s*(?:<\d+>)?(?:\[\s*\d+\.\d+\]\s?)?(?:\[\s*(?P<caller>[CT]\d+)\]\s?)?")
_ADDR = r"(?P<addr>[0-9a-f]+)"
_FILE_LINE = r"(?P<file>[\w./+-]+):(?P<line>\d{1,10})"
_FUNC = r"(?P<fn>[\w.$]+)\+(?P<fnoff>0x[0-9a-f]+)/0x[0-9a-f]+(?: \[(?P<fnmod>\w+)\])?"
_DIE = r"(?:Oops: )?(?:invalid opcode|divide[ _]error|stack[ _]segment|double fault|(?:segment-related )?" \
       r"general protection fault(?:, probably for non-canonical address (?P<gpaddr>0x[0-9a-f]+))?[^:]*)" \
       r": [0-9a-f]{1,8} \[#\d+\]"
#: Reports that are no fault (no faulting access, the RIP if any is only where the CPU was):
#: ``(title pattern, kind)``.  Printed by kernel/rcu/tree_stall.h, kernel/hung_task.c,
#: kernel/watchdog*.c, kernel/locking/lockdep.c, mm/kmemleak.c, lib/ubsan.c, kernel/sched/core.c.
_KIND_TITLES = (
    (r"INFO: rcu_(?:preempt|sched|bh|tasks\w*) (?:self-)?detected(?: expedited)? stalls?", "RCU stall"),
    (r"INFO: task (?P<comm>\S.*):\d+ blocked (?:in I/O wait )?for more than \d+ seconds", "hung task"),
    (r"BUG: soft lockup - CPU#\d+ stuck for", "soft lockup"),
    (r"Watchdog detected hard LOCKUP on cpu \d+", "hard lockup"),
    (r"(?:WARNING|INFO): (?:possible (?:circular|recursive) locking|possible irq lock inversion|"
     r"\S+-safe -> \S+-unsafe lock order)|(?:WARNING|INFO): inconsistent lock state", "possible deadlock"),
    (r"(?:WARNING|INFO): suspicious RCU usage", "suspicious RCU usage"),
    (r"BUG: sleeping function called from invalid context", "sleeping function called from invalid context"),
    (r"(?:BUG|WARNING): held lock freed!", "held lock freed"),
    (r"(?:BUG|WARNING): bad unlock balance detected!", "bad unlock balance"),
    (r"BUG: (?:spinlock|rwlock) (?:lockup suspected|already unlocked|recursion|cpu recursion|bad magic|"
     r"wrong owner|wrong CPU)", "spinlock"),
    (r"(?:BUG|WARNING): \S.* still has locks held!", "still has locks held"),
    (r"BUG: using \w+\(\) in preemptible", "preemptible"),
    (r"BUG: workqueue leaked lock or atomic", "workqueue leaked lock"),
    (r"INFO: trying to register non-static key", "non-static key"),
    (r"(?:BUG|WARNING): lock held when returning to user space", "lock held when returning to user space"),
    (r"BUG: memory leak|unreferenced object 0x[0-9a-f]+ \(size \d+\):", "memory leak"),
    (r"UBSAN: .* in ", "UBSAN"),
    (r"BUG: scheduling while atomic", "scheduling while atomic"),
)
_KIND_PATTERNS = tuple((re.compile(p), kind) for p, kind in _KIND_TITLES)
#: The kinds of report :data:`_KIND_TITLES` knows (``Oops.kind``).
REPORT_KINDS = tuple(kind for _, kind in _KIND_TITLES)
#: Kinds whose report is a CPU stuck in a loop: named by where the loop was entered, read
#: across the NMI backtraces the other CPUs print (under their own printk caller ids).
STALL_KINDS = frozenset({"RCU stall", "soft lockup", "hard lockup"})
#: Sanitizers whose report has no registers of its own: their checks are calls the compiler put
#: in the instrumented code (mm/kasan/generic.c ``__asan_load8()`` -> ``kasan_report()``,
#: mm/kmsan, kernel/kcsan), which print the report with ``dump_stack()``; a ``RIP:`` line inside
#: such a report is an interrupted context's (after ``</IRQ>``) or another report's.  KFENCE is
#: not one: it reports from the page fault, with the fault's registers (mm/kfence/report.c).
REGISTERLESS_SANITIZERS = frozenset({"KASAN", "KMSAN", "KCSAN"})
#: Sanitizers that print their report's stack right after the title (or the access line) with
#: ``stack_trace_print()``, without a ``Call Trace:`` line (mm/kmsan/report.c,
#: mm/kfence/report.c, kernel/kcsan/report.c).
_HEADLESS_STACK_SANITIZERS = frozenset({"KMSAN", "KFENCE", "KCSAN"})
#: Kinds whose frame is the first ``at: func+off`` line lockdep prints (the lock's acquirer).
_AT_KINDS = frozenset({"possible deadlock", "held lock freed", "bad unlock balance", "still has locks held",
                       "lock held when returning to user space"})
_AT = re.compile(r"(?:\bat: |^)(?:\[<[0-9a-f]+>\] +)?(?P<sym>[\w.$]+)\+(?P<off>0x[0-9a-f]+)/(?P<size>0x[0-9a-f]+)"
                 r"(?: \[(?P<mod>\w+)\])?")
#: kmemleak's "backtrace:" (since 6.6 "backtrace (crc 1c2d3e4f):") starts its stack.
_LEAK_TRACE = re.compile(r"^backtrace(?: \(crc [0-9a-f]+\))?:$")
_LAST_FUNCTION = re.compile(r"last function: (?P<fn>[\w.]+)")
#: Lines that end a report of :data:`REPORT_KINDS` (but a stall) once its stack was read: the
#: next report, or the dumps of other CPUs and tasks the hung-task detector prints after it.
_KIND_END = re.compile(r"^(?:NMI backtrace for cpu|Showing all locks held|Sending NMI from CPU|"
                       r"unreferenced object 0x|Kernel Offset:)")
#: Lines that end such a report once its own call trace was read: the hung-task detector's list
#: of the task's locks (kernel/locking/lockdep.c ``lockdep_print_held_locks()``: "1 lock held by
#: init/2293:", "no locks held by ...") and the header of the next task it shows
#: (kernel/sched/core.c ``sched_show_task()``: "task  PC stack  pid father").
_AFTER_STACK = re.compile(r"^(?:\d+ locks? held by |no locks held by |task\s+PC\s+stack\s+pid\s+father)")

#: The first line of a report, strongest first: ``(pattern, confirmed)``, where a title that is not
#: ``confirmed`` by its shape counts only when a register or trace block follows it.  Each is
#: searched for anywhere in the line (another line's text can be glued before it).
_TITLES = (
    (re.compile(r"BUG: kernel NULL pointer dereference, address: " + _ADDR), True),
    (re.compile(r"BUG: unable to handle page fault for address: " + _ADDR), True),
    (re.compile(r"BUG: unable to handle kernel (?:paging request|NULL pointer dereference) at "
                r"(?:" + _ADDR + r"|\s*\(null\))"), True),
    (re.compile(r"BUG: unable to handle kernel \w"), True),
    # arm64 (arch/arm64/mm/fault.c die_kernel_fault()): "Unable to handle kernel NULL pointer
    # dereference at virtual address 0000000000000240" (also "paging request", "access to user
    # memory outside uaccess routines", "write to read-only memory", "execute from
    # non-executable memory"); 32-bit arm prints the same words with an 8-digit address
    (re.compile(r"Unable to handle kernel [^\n]*? at virtual address (?:0x)?" + _ADDR), True),
    # arm64's die() for a fault with no "Unable to handle" line before it (arch/arm64/mm/fault.c
    # do_sea() "synchronous external abort", do_alignment_fault(), do_sp_pc_abort(), ...)
    (re.compile(r"Internal error: (?!Oops)[\w /-]+: [0-9a-f]{1,16} \[#\d+\]"), True),
    (re.compile(_DIE), True),
    (re.compile(r"kernel BUG at " + _FILE_LINE + "!"), True),
    # 3.10-6.x: "WARNING: CPU: 0 PID: 1 at FILE:LINE func+off/size [mod]" ("WARNING: at ..." before 3.12)
    (re.compile(r"WARNING: (?:CPU: (?P<cpu>\d+) PID: (?P<pid>\d+) )?at " + _FILE_LINE + r"(?: " + _FUNC + r")?"), True),
    # since 6.16: "WARNING: FILE:LINE at func+off/size, CPU#0: comm/1"
    (re.compile(r"WARNING: " + _FILE_LINE + r" at (?:" + _FUNC + r"|0x[0-9a-f]+), CPU#(?P<cpu>\d+): (?P<comm>.+)/(?P<pid>\d+)"), True),
    (re.compile(r"PANIC: double fault"), True),
    (re.compile(r"Oops: [0-9a-f]{1,8} \[#\d+\]"), True),
    (re.compile(r"BUG: kernel NULL pointer dereference"), True),
    # the sanitizers' reports name the function ("BUG: KASAN: use-after-free in func+0x67/0x90"),
    # before 4.14 KASAN also the address ("... in func+0x67/0x90 at addr ffff8801c5c1f2a8"); before
    # 4.5 spelled "KASan", and an access outside the kernel's memory "BUG: KASan: null-ptr-deref on
    # address (null)" (mm/kasan/report.c kasan_report_error())
    (re.compile(r"BUG: (?P<san>KAS[Aa][Nn]|KMSAN|KCSAN|KFENCE): (?P<sbug>[^\n]*?) in " + _FUNC
                + r"(?: at addr (?P<saddr>[0-9a-f]{1,16})\b)?"), True),
    (re.compile(r"BUG: (?P<san>KAS[Aa][Nn]): (?P<sbug>[\w -]+?) on address "
                r"(?:(?P<saddr>[0-9a-f]{1,16})\b|\s*\(null\))"), True),
    # reports that are no fault: stalls, hung tasks, lockdep and other debug checks (REPORT_KINDS)
    *((re.compile(p), True) for p, _ in _KIND_TITLES),
    (re.compile(r"(?:^|(?<=[ :\]]))BUG: [^\n]*"), False),
    (re.compile(r"^WARNING: [^\n]* at [^\n]*"), False),
    (re.compile(r"^WARNING: [^\n]*"), False),
)


def _any_of(sure: bool) -> "re.Pattern[str]":
    """One pattern for the sure (or the other) titles, without their group names: a line that
    it does not match is not tried against each."""
    return re.compile("|".join(re.sub(r"\(\?P<\w+>", "(?:", p.pattern) for p, s in _TITLES if s == sure))


_SURE_TITLE = _any_of(True)
_WEAK_TITLE = _any_of(False)
#: Lines that show a report is the kernel's: the block dump_stack()/show_regs() prints.
_REPORT_BLOCK = re.compile(r"^(?:Modules linked in|CPU: \d+ (?:UID: \d+ )?PID: \d+|RIP: |Call Trace:|"
                           r"Hardware name: |Oops: |invalid opcode: )")
#: Lines searched after an unconfirmed title for a :data:`_REPORT_BLOCK` line (KASAN and
#: KFENCE print the allocation and free stacks before the CPU: line).
_CONFIRM_LINES = 200
#: Unconfirmed titles tried before only the sure ones are looked for.
_MAX_UNCONFIRMED = 1000
_PF = re.compile(r"^#PF: (?P<who>supervisor|user) (?P<what>read access|write access|instruction fetch) in (?P<mode>kernel|user) mode")
_PF_CODE = re.compile(r"^#PF: error_code\((?P<code>0x[0-9a-f]+)\)")
_OOPS = re.compile(r"^(?P<line>Oops: [0-9a-f]+ \[#\d+\].*|" + _DIE.replace("(?P<gpaddr>", "(?:") + ".*)")
_CPU = re.compile(r"^CPU: (?P<cpu>\d{1,10}) (?:UID: \d+ )?PID: (?P<pid>\d{1,10}) Comm: (?P<comm>.{1,16}?) "
                  r"(?:Kdump: \S+ )?(?:Tainted: (?P<taint>.*?)|Not tainted) +(?P<release>[^\s#]\S*)(?: #| \(|\s*$)")
# "RIP: 0010:func+0x12/0x40 [mod]", "RIP: 0010:0x10"; before 4.9 (and RHEL 7) with the address
# twice first, "RIP: 0010:[<ffffffff81234567>]  [<ffffffff81234567>] func+0x12/0x40", or
# "[<0000000000000000>]  [<          (null)>]           (null)"; and the summary __die() prints after
# the report "in case the oops scrolled away" (arch/x86/kernel/dumpstack.c __die(): on 4.x
# "RIP: func+0x3a2/0x4f0 RSP: ffff8801c15d7148", on 3.x "RIP  [<ffffffff81234567>] func+0x12/0x40")
_RIP = re.compile(r"^RIP(?:: (?P<cs>[0-9a-f]{4}):| +(?=\[<)"
                  r"|: (?=(?:[\w.$]+\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[\w+\])?|0x[0-9a-f]+) RSP: [0-9a-f]+$))"
                  r"(?:\[<(?P<pc>[0-9a-f]+)>\]\s+(?:\[<[^>]*>\]\s+)?)?"
                  r"(?:(?P<sym>[\w.$]+)\+(?P<off>0x[0-9a-f]+)/(?P<size>0x[0-9a-f]+)(?: \[(?P<mod>\w+)\])?"
                  r"|(?P<addr>0x[0-9a-f]+)|\(null\)|$)")
# x86 prints bytes ("48 8b <80> 40 02"); arm64 32-bit words ("f9400000 (b9400000)"), arm and
# RISC-V 16-bit halfwords: all in the order they sit in memory, little-endian words
_CODE_TOKEN = r"[<(]?(?:[0-9a-f]{2}){1,4}[>)]?"
_CODE = re.compile(rf"^Code: (?P<bytes>{_CODE_TOKEN}(?: +{_CODE_TOKEN})*)\s*$")
_REG = re.compile(r"\b(?P<name>R[A-Z0-9]{2}|R\d{1,2}|EFLAGS|CR2): (?:(?P<seg>[0-9a-f]{4}):)?(?P<val>[0-9a-f]{8,16})")
#: arm64's register dump (arch/arm64/kernel/process.c __show_regs()): ``x29: ffff... x28: ...``,
#: ``x9 : ...``, ``sp : ...``.
_ARM64_REG = re.compile(r"(?:^|\s)(?P<name>x\d{1,2}|sp)\s?: (?P<val>[0-9a-f]{16})\b")
#: A line of a register dump ("RSP: ...", "R13: ...", "FS:  ...", "DR7: ..."; arm64 "x29: ...",
#: "pstate: ..."), user-mode or not.
_REG_LINE = re.compile(r"^(?:R[A-Z0-9]{2}|R\d|EFLAGS|ORIG_RAX|[CDEFG]S|CR\d|DR\d|PKRU|Code): |"
                       r"^(?:x\d{1,2}\s?|sp |pstate): [0-9a-f]")
#: arm64's pc and lr (__show_regs(), since 4.16 ``pc : f+0x28/0x58 [mod]`` or ``pc : 0x0``;
#: before, ``PC is at f+0x28/0x58`` and ``LR is at ...``, then ``pc : [<addr>] lr : [<addr>] pstate: ...``).
_ARM64_PC = re.compile(r"^(?P<which>pc|lr|PC is at|LR is at) ?:? (?:\[<(?P<pc>[0-9a-f]{16})>\]|"
                       r"(?P<sym>[\w.$]+)\+(?P<off>0x[0-9a-f]+)/(?P<size>0x[0-9a-f]+)(?: \[(?P<mod>\w+)\])?|"
                       r"(?P<addr>(?:0x)?[0-9a-f]+)\b)")
_ARM64_OLD_LR = re.compile(r"\blr : \[<(?P<lr>[0-9a-f]{16})>\]")
#: arm64's fault syndrome (arch/arm64/mm/fault.c mem_abort_decode()): ``  ESR = 0x96000006``.
_ESR = re.compile(r"^ESR = 0x(?P<esr>[0-9a-f]{1,16})\b")
#: arm64's die(): ``Internal error: Oops: 96000006 [#1] SMP``, ``Internal error: Oops - BUG:
#: 00000000f2000800 [#1]`` (the code is the ESR).
_INTERNAL = re.compile(r"^Internal error: (?P<line>[\w /-]+: (?P<code>[0-9a-f]{1,16}) \[#\d+\].*)")
# "func+0x1f/0x30 [mod]"; before 4.9 with the address first, " [<ffffffff81234567>] ? func+0x12/0x40"
_TRACE = re.compile(r"^(?:\[<[0-9a-f]{1,16}>\]\s+)?(?P<unreliable>\? )?(?P<sym>[\w.$]+)\+(?P<off>0x[0-9a-f]+)/"
                    r"(?P<size>0x[0-9a-f]+)(?: \[(?P<mod>\w+)\])?")
#: Stack-switch markers of a call trace; before 4.9 printed on the line of the next frame.
_TRACE_MARK = re.compile(r"^(?:\s*</?(?:IRQ|EOI|NMI|EOE|TASK|#DF|#[A-Z]{2}|SOFTIRQ|[A-Z_]+_STACK)>)+\s*")
#: Before 4.9 a stack-switch marker is printed without a newline and the next frame's printk
#: stamps its own timestamp after it: `` <IRQ> [  420.408595]  [<ffffffff814249f9>] f+0x1/0x2``.
_MARK_STAMP = re.compile(r"^(?:<\d+>)?\[\s*\d+\.\d+\](?:\[\s*[CT]\d+\])?\s*")
#: Markers that end the interrupt's (or NMI's) stack in a trace (arch/x86/kernel/dumpstack.c:
#: ``</IRQ>``, ``</NMI>`` since 4.14, ``<EOI>``, ``<EOE>`` before).
_IRQ_END_MARK = re.compile(r"</IRQ>|<EOI>|</NMI>|<EOE>")
#: The stall detectors' own checks, as the trace of the CPU that found a stall shows them in
#: the timer interrupt (or NMI) they run in: RCU's (kernel/rcu/tree.c ``rcu_sched_clock_irq()``,
#: before 5.0 ``rcu_check_callbacks()`` and ``rcu_pending()``; kernel/rcu/tree_stall.h
#: ``check_cpu_stall()``, ``print_cpu_stall()``, ``print_other_cpu_stall()``,
#: ``rcu_dump_cpu_stacks()``), the soft-lockup watchdog's hrtimer (kernel/watchdog.c
#: ``watchdog_timer_fn()``) and the hard-lockup perf NMI (kernel/watchdog_perf.c, before 6.5
#: watchdog_hld.c: ``watchdog_overflow_callback()``; ``watchdog_hardlockup_check()`` since 6.5).
_STALL_DETECTOR = re.compile(r"rcu_sched_clock_irq|rcu_check_callbacks|rcu_pending|\w*cpu_stall\w*|rcu_dump_cpu_stacks|"
                             r"watchdog_timer_fn|watchdog_overflow_callback|watchdog_hardlockup_check")
#: The frames of the interrupt entry that ran a stall detector: the local APIC timer
#: (arch/x86/kernel/apic/apic.c ``smp_apic_timer_interrupt()``, ``local_apic_timer_interrupt()``,
#: entry_64.S ``apic_timer_interrupt``, its 4.15 KAISER/BTI ``..._entry_after_kaiser_bti`` stub;
#: since 5.8 the IDTENTRY ``__sysvec_``/``sysvec_``/``asm_sysvec_`` handlers and the irq-stack
#: switch ``asm_call_on_stack``, ``asm_call_irq_on_stack``, ``asm_call_sysvec_on_stack``), the
#: NMI (arch/x86/kernel/nmi.c ``nmi_handle()``, ``default_do_nmi()``, ``do_nmi()``/``exc_nmi()``,
#: entry_64.S ``nmi``, ``end_repeat_nmi``, ``asm_exc_nmi``) and arm64's IRQ vector
#: (arch/arm64/kernel/entry.S ``el1h_64_irq``, ``el1_irq``; ``gic_handle_irq()``).
_IRQ_ENTRY = re.compile(r"\w*apic_timer_interrupt\w*|_*sysvec_\w+|asm_sysvec_\w+|asm_call_\w*on_stack|nmi_handle|"
                        r"(?:default_)?do_nmi|exc_nmi|asm_exc_nmi|(?:end_)?repeat_nmi|first_nmi|nmi|"
                        r"el1h_64_irq\w*|el1_irq|el1_interrupt|gic_handle_irq")
_CR2_ALONE = re.compile(r"^CR2: (?P<val>[0-9a-f]{16})\s*$")
_PANIC = re.compile(r"^Kernel panic - not syncing: (?P<msg>.*)")
#: Messages that print a stack of their own while the kernel keeps running (fault injection,
#: allocation failures): inside a report, their lines are mixed into the report's.
_INFO_WITH_STACK = re.compile(r"FAULT_INJECTION: forcing a failure|vmalloc: allocation failure:|"
                              r"FAULT_FLAG_ALLOW_RETRY missing|\bshould_fail(?:slab)?(?:\.[\w.]+)?\+0x")
#: Lines a call trace holds besides its frames: an exception frame's registers, the header of
#: the next stack (``Allocated by task 1:``), arm's ``Exception stack(...)`` and its hex dump.
_TRACE_INNER = re.compile(r"^(?:(?:R[A-Z0-9]{2}|R\d|EFLAGS|ORIG_RAX|[CDEFG]S|CR\d|DR\d|PKRU|Code):|"
                          r"Exception stack\(|[0-9a-f]{3,16}: |.*:$|\(stack is not available\)|"
                          r"[\w.$]+ [\w./+-]+:\d+(?::\d+)? \[inline\]$)")
#: arm's unwinder: ``[<80110000>] (callee) from [<80100000>] (caller+0x18/0x1c)`` (since 5.x
#: without the addresses: ``callee from caller+0x18/0x1c``).
_ARM_FRAME = re.compile(r"^(?:\[<[0-9a-f]+>\] \((?P<callee>[\w.$]+)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?\) from \[<[0-9a-f]+>\] "
                        r"\(\s*(?P<caller>[\w.$()]+?)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?(?: \[\w+\])?\)|"
                        r"(?P<callee2>[\w.$]+) from (?P<caller2>[\w.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[\w+\])?)$")
#: powerpc's ``[c00000003ae5b800] [c00000000135c19c] dump_stack+0x128/0x1cc (unreliable)``.
_PPC_FRAME = re.compile(r"^\[[0-9a-f]+\] \[[0-9a-f]+\] (?P<sym>[\w.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?P<unreliable>$)")
_STAMPED = re.compile(r"^\s*(?:<\d+>)?\[\s*\d+\.\d+\]")
#: The routines that print a report (and the traps that enter them), as a trace shows them
#: above the code the report is about; a trace with nothing else was cut.
_REPORTING = re.compile(r"(?:show_stack|dump_stack\w*|unwind_backtrace|dump_backtrace|show_trace\w*|__dump_stack|"
                        r"panic|vpanic|nmi_panic|__warn\w*|warn_slowpath\w*|report_bug|fixup_bug|handle_bug|"
                        r"do_error_trap|do_trap|do_invalid_op|invalid_op|exc_invalid_op|asm_exc_invalid_op|"
                        r"bug_handler|brk_handler|call_break_hook|do_debug_exception|el1_dbg|el1h_64_sync\w*|"
                        r"el1_sync\w*|die|__die|oops_end|0x[0-9a-f]+|\(?null\)?|)")


@dataclass
class TraceEntry:
    """One ``func+0x1f/0x30 [mod]`` line of a call trace; ``reliable`` is False for ``? `` lines."""

    function: str
    offset: int
    size: int
    module: str = ""
    reliable: bool = True


@dataclass
class Oops:
    """The first oops in a kernel log, as the kernel printed it."""

    title: str = ""
    fault_address: Optional[int] = None  # from the title, else the trailing "CR2:" line
    pf_access: Access = ""  # "read", "write", "exec" from "#PF: supervisor ... access"
    pf_error_code: Optional[int] = None
    oops_line: str = ""  # "Oops: 0000 [#1] SMP"
    bug_file: str = ""  # "kernel BUG at FILE:LINE!"
    bug_line: int = 0
    cpu: Optional[int] = None
    pid: Optional[int] = None
    comm: str = ""
    taint: str = ""
    release: str = ""
    rip_function: str = ""
    rip_offset: int = 0
    rip_module: str = ""
    rip_address: Optional[int] = None  # only when the kernel printed a bare address
    code: bytes = b""
    code_fault_index: Optional[int] = None  # index in ``code`` of the ``<..>`` byte
    registers: Dict[str, int] = field(default_factory=dict)  # drgn register names
    trace: List[TraceEntry] = field(default_factory=list)
    panic: str = ""
    caller: str = ""  # printk caller id of the title line ("T1234", "C1"), "" when not printed
    # the code location the title names ("WARNING: ... at FILE:LINE func+0x1f/0x30 [mod]")
    title_function: str = ""
    title_offset: int = 0
    title_module: str = ""
    #: for a report that is no fault, its kind (one of :data:`REPORT_KINDS`: "RCU stall",
    #: "hung task", "possible deadlock", "memory leak", ...); "" for an oops, BUG or WARNING
    kind: str = ""
    #: the sanitizer whose report this is ("KASAN", "KFENCE", "KMSAN", "KCSAN"; "" for none), from
    #: the title ``BUG: KASAN: ...``, or "KASAN" for the line it adds to a general protection fault
    sanitizer: str = ""
    #: the bug type the sanitizer printed, without the access: "use-after-free",
    #: "slab-out-of-bounds", "wild-memory-access", "null-ptr-deref", "double-free or invalid-free",
    #: "invalid-access", (KFENCE) "out-of-bounds", "memory corruption", "invalid", "invalid free",
    #: (KMSAN) "uninit-value", (a GPF's KASAN line) "null-ptr-deref", "probably user-memory-access"
    sanitizer_bug: str = ""
    #: the access the sanitizer caught: "read" or "write" (KASAN's "Read of size 8 ...", KFENCE's
    #: "use-after-free read"); "" when it names none (a bad free, memory corruption, KMSAN)
    sanitizer_access: Access = ""
    #: the access's size in bytes (KASAN's "of size 8"); None when not printed
    sanitizer_size: Optional[int] = None
    #: the address the sanitizer printed: KASAN's "at addr", "Free of addr", before 4.14 the title's
    #: "at addr"; KFENCE's "at 0x..."/"of 0x..." (None when %p hashed it); for a GPF's KASAN line the
    #: first address of the 8-byte granule the access meant.  ``fault_address`` is not set from it.
    sanitizer_address: Optional[int] = None
    #: for a stall (:data:`STALL_KINDS`) whose trace shows the detector's own path (RCU's or the
    #: watchdog's check in the timer interrupt or NMI, then that interrupt's entry): index in
    #: ``trace`` of the first reliable frame of the code the interrupt interrupted (when its
    #: registers were printed, the first caller of ``rip_function``), the stalled code (the
    #: frames before it are the detector's, or stacks printed before it); None when the trace
    #: shows no such path (the watchdog printed the interrupted registers' stack itself)
    interrupted: Optional[int] = None
    #: the ``RIP:`` line read is not the pc of what the report is about: for a stall with
    #: ``interrupted`` set, a RIP printed inside the detector's path (a WARN in the stall check);
    #: for a KASAN, KMSAN or KCSAN report (:data:`REGISTERLESS_SANITIZERS`), the registers of the
    #: code an interrupt interrupted, or of another report spliced into this one; for another
    #: report that is no fault (``kind``), those of the code the interrupt it ran in interrupted
    #: (after ``</IRQ>``), or for a hung task another CPU's, from the NMI backtraces after it
    rip_foreign: bool = False
    #: signs that the report as printed is not whole (another report spliced into it, its call
    #: trace cut, another task's lines mixed in), one sentence each; [] for a whole report
    damaged: List[str] = field(default_factory=list)
    #: the architecture the report is of: "x86_64", or "arm64" once its ``pc :`` line or its
    #: 64-bit register dump (``x29: ... x28: ...``) was read
    arch: str = "x86_64"
    #: arm64: the exception syndrome the fault handler printed (``ESR = 0x96000006``, or the
    #: ``Internal error: Oops: 96000006`` code); None elsewhere
    esr: Optional[int] = None
    #: arm64: the link register's code address (``lr : kdx_xmit+0x24/0x40 [kdx]``), the caller
    #: after a call through a bad pointer (``pc : 0x0``), which the call trace may leave out
    lr_function: str = ""
    lr_offset: int = 0
    lr_module: str = ""


@dataclass
class _DetectorPath:
    """How far the trace of a stall has gone through the detector's own path, to find where the
    interrupted code starts (:attr:`Oops.interrupted`): the detector's check, then the entry of
    the interrupt it runs in, then the first frame (or the ``RIP:`` block) of the code it
    interrupted.  Only the first such path counts: the NMI backtraces of other CPUs that follow
    it have their own; and none once a stack the report's ``RIP:`` line belongs to was printed
    before (a task blocking RCU, with its own interrupted registers)."""

    off: bool = False  # the RIP read belongs to an earlier stack: no path is looked for
    detector: bool = False  # a frame of the detector's check (_STALL_DETECTOR) was read
    entry: bool = False  # and after it the interrupt's entry (_IRQ_ENTRY), the last frame read
    ended: bool = False  # or after it the interrupt's stack ended (</IRQ>, <EOI>)

    def frame(self, oops: Oops) -> None:
        """Follow the path over the frame just appended to ``oops.trace``."""
        e = oops.trace[-1]
        if self.off or oops.interrupted is not None or not e.reliable:
            return
        name = e.function.split(".")[0]
        if _STALL_DETECTOR.fullmatch(name):
            self.detector, self.entry, self.ended = True, False, False
        elif not self.detector:
            return
        elif _IRQ_ENTRY.fullmatch(name):
            self.entry = True
        elif self.entry or self.ended:
            oops.interrupted = len(oops.trace) - 1

    def mark(self, marks: str) -> None:
        """Follow the path over the stack-switch markers ``marks`` (``</IRQ>``, ``<EOI>`` ...)."""
        if self.detector and _IRQ_END_MARK.search(marks):
            self.ended = True

    def interrupts(self, oops: Oops) -> bool:
        """Whether a kernel ``RIP:`` line read now is the interrupted code's register block."""
        return not self.off and oops.interrupted is None and self.detector and (self.entry or self.ended)


def split_prefix(line: str) -> Tuple[str, str]:
    """``[  2.34][ T12] BUG: ...`` -> ``("T12", "BUG: ...")``: the printk caller id ("" if none)
    and the text without syslog prefix, log level, timestamp and trailing blanks (``\\r`` too)."""
    m = _TS.match(line)
    assert m is not None  # every part of _TS is optional
    return m.group("caller") or "", line[m.end():].rstrip()


def parse_fault(text: str, limit: int = 64) -> Optional[Oops]:
    """The first report in ``text`` that is a fault (an oops, BUG, GPF, WARNING: no
    :data:`REPORT_KINDS` kind), passing over stalls, hung tasks and lockdep reports before it.

    A dump's crash is its first fault: a hung-task or lockdep report printed minutes before is
    another story (and with ``hung_task_panic`` the panic line tells it).  None when the text
    has no fault report (``limit`` reports are passed over at most).
    """
    rest = text
    for _ in range(limit):
        oops = parse_oops(rest)
        if oops is None or not oops.kind:
            return oops
        at = rest.find(oops.title)
        if at < 0 or not oops.title:
            return None
        rest = rest[at + len(oops.title):]
    return None


def strip_timestamps(line: str) -> str:
    """``[    2.34] BUG: ...`` -> ``BUG: ...`` (also printk caller ids and log levels)."""
    return split_prefix(line)[1]


def iter_lines(text: str) -> Iterator[str]:
    """The lines of ``text``, one at a time: a 32 MiB log is never held as a list of lines
    (``\r`` before the ``\n`` is left to :func:`strip_timestamps`)."""
    for _, line in _lines_from(text, 0):
        yield line


def _lines_from(text: str, pos: int) -> Iterator[Tuple[int, str]]:
    """``(offset, line)`` for each line of ``text`` from offset ``pos`` on."""
    n = len(text)
    while pos < n:
        end = text.find("\n", pos)
        if end < 0:
            end = n
        yield pos, text[pos:end]
        pos = end + 1


def _first_panic(lines: Iterable[str]) -> str:
    for raw in lines:
        if "Kernel panic - not syncing:" in raw:  # the regex only for the lines that can match
            m = _PANIC.search(strip_timestamps(raw))
            if m:
                return m.group("msg").strip()
    return ""


def panic_line(text: str) -> str:
    """The message of the first ``Kernel panic - not syncing:`` line, "" if none."""
    return _first_panic(iter_lines(text))


#: Lines of other messages passed over inside a register dump before it is taken as ended.
_REGS_FOREIGN = 3
#: Lines after the title read for the report; a report is a few hundred, a log that never
#: ends one (a flood of garbage after the title) is not read to its end.
_MAX_REPORT_LINES = 5000


_REG_NAMES = {"EFLAGS": "rflags"}
_PF_ACCESS: Dict[str, Access] = {"read access": "read", "write access": "write", "instruction fetch": "exec"}


def _parse_code(text: str) -> Tuple[bytes, Optional[int]]:
    """``48 8b <80> 40`` (bytes) or ``f9400000 (b9400000)`` (little-endian words) -> the bytes,
    and the index of the marked one (the faulting instruction's first byte); nothing for a
    line that mixes widths."""
    out = bytearray()
    marker = None
    width = 0
    for tok in text.split():
        digits = tok.strip("<>()")
        if width and len(digits) != width:
            return b"", None
        width = len(digits)
        if tok.startswith("<") or tok.startswith("("):
            marker = len(out)
        out += int(digits, 16).to_bytes(width // 2, "little")
    return bytes(out), marker


def _u64(text: str) -> Optional[int]:
    """Hex ``text`` as a number, None when it does not fit 64 bits (a garbled log line)."""
    value = int(text, 16)
    return value if value < 1 << 64 else None


def _title_at(line: str, oops: Oops, weak: bool = True) -> Optional[bool]:
    """Fill ``oops``' title fields from ``line`` when it is a report's first line; whether the
    title is sure by its shape alone (None: not a title; not looked for when not ``weak``)."""
    if not (_SURE_TITLE.search(line) or weak and _WEAK_TITLE.search(line)):
        return None
    for pat, sure in _TITLES:
        m = pat.search(line)
        if m is None:
            continue
        oops.title = line[m.start():]
        oops.kind = next((k for p, k in _KIND_PATTERNS if p.search(line)), "")
        if _OOPS.match(oops.title):
            oops.oops_line = oops.title  # "general protection fault: 0000 [#1] SMP"
        gd = m.groupdict()
        addr = gd.get("addr") or gd.get("gpaddr")
        if addr:
            oops.fault_address = _u64(addr[2:] if addr.startswith("0x") else addr)
        elif "addr" in pat.groupindex and "(null)" in m.group(0):
            oops.fault_address = 0  # %p printed a NULL pointer as "(null)" before 4.15
        if gd.get("file"):
            oops.bug_file, oops.bug_line = gd["file"], int(gd["line"])
        if gd.get("fn"):
            off = _u64(gd["fnoff"][2:])
            if off is not None:
                oops.title_function, oops.title_offset, oops.title_module = gd["fn"], off, gd.get("fnmod") or ""
        if gd.get("cpu"):
            oops.cpu, oops.pid = int(gd["cpu"]), int(gd["pid"])
        if gd.get("comm"):
            oops.comm = gd["comm"]
        if gd.get("san"):
            _sanitizer_title(oops, gd["san"].upper(), gd["sbug"],
                             gd.get("saddr") or ("0" if m.group(0).endswith("(null)") else None))
        return sure
    return None


def _sanitizer_title(oops: Oops, sanitizer: str, bug: str, address: Optional[str]) -> None:
    """The facts of a sanitizer report's title ``BUG: KASAN: <bug> in func+off/size``: the sanitizer,
    the bug type as printed, and (KFENCE) the access its last word names, (KASAN before 4.14) the
    address after ``at addr``.

    KASAN (mm/kasan/report.c ``print_error_description()``): ``use-after-free``,
    ``slab-out-of-bounds``, ``slab-use-after-free``, ``global-out-of-bounds``, ``wild-memory-access``,
    ``null-ptr-deref``, ``double-free``, ``invalid-free``, ``double-free or invalid-free``,
    ``invalid-access`` (tag-based) ...; KFENCE (mm/kfence/report.c ``kfence_report_error()``):
    ``out-of-bounds read``, ``use-after-free write``, ``invalid read``, ``memory corruption``,
    ``invalid free``; KMSAN ``uninit-value``, ``kernel-infoleak``.
    """
    oops.sanitizer = sanitizer
    head, _, last = bug.rpartition(" ")
    if sanitizer == "KFENCE" and head and last in ("read", "write"):
        oops.sanitizer_bug, oops.sanitizer_access = head, "read" if last == "read" else "write"
    else:
        oops.sanitizer_bug = bug
    if address is not None:
        oops.sanitizer_address = _u64(address)


#: The line after a sanitizer's title that says what was accessed: KASAN's (mm/kasan/report.c
#: ``print_error_description()``) ``Read of size 8 at addr ffff88801234abcd by task syz/123``,
#: before 4.14 ``Write of size 8 by task syz/123`` (the address is the title's), with no size
#: ``Read at addr ... by task``, for a bad free since 6.1 ``Free of addr ... by task``; KFENCE's
#: (mm/kfence/report.c ``kfence_report_error()``) ``Use-after-free read at 0x... (in kfence-#1):``,
#: ``Out-of-bounds write at 0x... (1B left of kfence-#29):``, ``Invalid read at 0x...:``,
#: ``Corrupted memory at 0x... [ 0x2a . . ] (in kfence-#37):``, ``Invalid free of 0x... (in kfence-#33):``.
_SANITIZER_ACCESS = re.compile(
    r"^(?:(?P<acc>Read|Write)(?: of size (?P<size>\d{1,10}))?(?: at addr (?P<addr>[0-9a-f]{1,16}))? by task "
    r"|Free of addr (?P<faddr>[0-9a-f]{1,16}) by task "
    r"|(?:Out-of-bounds|Use-after-free|Invalid) (?P<kacc>read|write) at 0x(?P<kaddr>[0-9a-f]{1,16})\b"
    r"|(?:Corrupted memory at|Invalid free of) 0x(?P<kaddr2>[0-9a-f]{1,16})\b)")
#: The line KASAN adds to a general protection fault on a non-canonical address that its shadow
#: check made (mm/kasan/report.c ``kasan_non_canonical_hook()``, since 5.5): the bug it guesses and
#: the granule of the address the program meant (``[0x0000000000000018-0x000000000000001f]``).
_KASAN_GPF = re.compile(r"^KASAN: (?P<bug>[\w -]+?) in range \[0x(?P<lo>[0-9a-f]{1,16})-0x(?P<hi>[0-9a-f]{1,16})\]")


def _sanitizer_line(oops: Oops, bare: str) -> bool:
    """Read line ``bare`` of a report when it is a sanitizer's access line (:data:`_SANITIZER_ACCESS`,
    after a sanitizer's title) or KASAN's line in a general protection fault (:data:`_KASAN_GPF`).

    Only the first such line counts, and only before the report's ``CPU:`` line.  A KFENCE
    address printed with ``%p`` is hashed unless the kernel runs with ``no_hash_pointers``
    (lib/vsprintf.c ``ptr_to_id()`` keeps 32 bits of the hash): one below 2**32 is no address and
    is not kept.
    """
    if oops.sanitizer:
        m = _SANITIZER_ACCESS.match(bare)
        if m:
            acc, kacc = m.group("acc"), m.group("kacc")
            if acc:
                oops.sanitizer_access = "write" if acc == "Write" else "read"
            elif kacc:
                oops.sanitizer_access = "write" if kacc == "write" else "read"
            if m.group("size"):
                oops.sanitizer_size = int(m.group("size"))
            addr = m.group("addr") or m.group("faddr") or m.group("kaddr") or m.group("kaddr2")
            value = _u64(addr) if addr else None
            if value is not None and (oops.sanitizer != "KFENCE" or value >= 1 << 32):
                oops.sanitizer_address = value
            return True
    elif bare.startswith("KASAN: "):
        m = _KASAN_GPF.match(bare)
        if m:
            oops.sanitizer, oops.sanitizer_bug = "KASAN", m.group("bug")
            oops.sanitizer_address = _u64(m.group("lo"))
            return True
    return False


def _block_after(text: str, pos: int, caller: str) -> Tuple[bool, int]:
    """Whether the :data:`_CONFIRM_LINES` lines from offset ``pos`` on (of caller ``caller``)
    hold the register or trace block a kernel report prints soon after its title; and the
    offset where the search stopped."""
    end = pos
    for n, (at, raw) in enumerate(_lines_from(text, pos)):
        if n >= _CONFIRM_LINES:
            break
        end = at + len(raw) + 1
        who, line = split_prefix(raw)
        if caller and who and who != caller:
            continue
        if _REPORT_BLOCK.match(line.lstrip()):
            return True, at
    return False, end


def _find_title(text: str) -> Tuple[Optional[Oops], int]:
    """The title of the first report in ``text`` and the offset of the line after it.

    A title that needs confirming looks for its block no further than where an earlier one
    (of the same caller) looked in vain: a log of a million ``BUG:`` lines is read about once.
    """
    searched: Dict[str, int] = {}  # caller -> offset up to which no report block follows
    tries = 0
    for pos, raw in _lines_from(text, 0):
        weak = tries < _MAX_UNCONFIRMED
        if not (_SURE_TITLE.search(raw) or weak and ("BUG: " in raw or "WARNING: " in raw)):
            continue  # a title is searched for anywhere in the line: its prefix does not matter
        caller, line = split_prefix(raw)
        oops = Oops(caller=caller)
        sure = _title_at(line, oops, weak)
        if sure is None:
            continue
        after = pos + len(raw) + 1
        if sure:
            return oops, after
        tries += 1
        found, stop = _block_after(text, max(after, searched.get(caller, 0)), caller)
        if found:
            return oops, after
        searched[caller] = stop
    return None, len(text)


def _set_rip(oops: Oops, m: "re.Match[str]") -> None:
    """The faulting pc of a kernel ``RIP:`` line: its symbol, else the address it printed."""
    if m.group("sym"):
        off = _u64(m.group("off"))
        if off is not None:
            oops.rip_function, oops.rip_offset = m.group("sym"), off
            oops.rip_module = m.group("mod") or ""
    elif m.group("addr"):
        oops.rip_address = _u64(m.group("addr")[2:])
    elif m.group("pc"):
        oops.rip_address = _u64(m.group("pc"))  # "[<0000000000000000>] (null)": no symbol there


def parse_oops(text: str) -> Optional[Oops]:
    """Parse the first oops (or BUG, WARNING, GPF, ...) in ``text``; None if there is none.

    Pure function over dmesg text, with or without timestamps, printk caller ids or syslog
    prefixes.  When the title line has a caller id (``[T1234]``), only that task's (or CPU's)
    lines are read, so another task's messages interleaved with the report are left out.  The
    fault address comes from the title line or the standalone ``CR2:`` line after the trace,
    never from the register dump's ``CR2:``, which show_regs() reads live and which a failed
    ``Code:`` read can already have overwritten.  The registers and ``Code:`` are the kernel's:
    the user-mode block a syscall's report ends with (``RIP: 0033:``) is skipped.
    """
    oops, pos = _find_title(text)
    if oops is None:
        return None
    return _read_report(text, pos, oops)


def parse_panic(text: str) -> Optional[Oops]:
    """A plain ``panic()`` (no oops before it): an :class:`Oops` with an empty title, ``panic``
    set and what panic() printed after its line (``CPU:``, the call trace); None without one."""
    for pos, raw in _lines_from(text, 0):
        if "Kernel panic - not syncing:" not in raw:
            continue
        caller, line = split_prefix(raw)
        m = _PANIC.search(line)
        if m:
            oops = Oops(caller=caller, panic=m.group("msg").strip())
            oops = _read_report(text, pos + len(raw) + 1, oops)
            if oops.panic.startswith("Fatal exception") and not oops.rip_function and oops.rip_address is None:
                _read_cut_tail(text, pos, oops)
            elif not oops.rip_function and oops.rip_address is None:
                _read_regs_before(text, pos, oops)
            return oops
    return None


#: How far before a ``Fatal exception`` panic line the tail of a cut oops is looked for.
_CUT_TAIL_LINES = 40


def _lines_before(text: str, end: int) -> List[str]:
    """The last :data:`_CUT_TAIL_LINES` lines of ``text`` before offset ``end`` (a panic line)."""
    return text[max(0, end - 200 * _CUT_TAIL_LINES):end].split("\n")[-_CUT_TAIL_LINES:]


def _read_cut_tail(text: str, end: int, oops: Oops) -> None:
    """Read the RIP and ``Code:`` of an oops whose title was lost from the lines before offset ``end``
    (a ``Kernel panic - not syncing: Fatal exception`` line, which oops_end() prints after die()).

    What is left of such a report is its tail: the last register lines, ``Code:``, and on 3.x/4.x
    the summary __die() prints "in case the oops scrolled away" (``RIP: func+0x3a2/0x4f0 RSP: ...``,
    ``RIP  [<ffffffff81234567>] func+0x12/0x40``).  A full kernel ``RIP: 0010:`` line is preferred
    to the summary; a ``Code:`` line right after a user-mode ``RIP: 0033:`` line is the user's.  The
    registers are not read: those left may be the user-mode block's.  ``oops.damaged`` says the
    report is cut.
    """
    lines = _lines_before(text, end)
    rip: Optional["re.Match[str]"] = None
    code = ""
    user = False  # the line before was a user-mode RIP: line
    for raw in lines:
        who, line = split_prefix(raw)
        if oops.caller and who and who != oops.caller:
            continue
        bare = line.strip()
        m = _RIP.match(bare)
        if m:
            cs = m.group("cs")
            user = cs is not None and bool(int(cs, 16) & 3)
            if not user and (rip is None or cs is not None and rip.group("cs") is None):
                rip = m
            continue
        if bare.startswith("Code: ") and not user:
            code = bare
        user = False
    if rip is None:
        return
    _set_rip(oops, rip)
    m = _CODE.match(code)
    if m:
        oops.code, oops.code_fault_index = _parse_code(m.group("bytes"))
    _sign(oops, "the report is cut: its title was lost (only its last lines are left before the panic)")


def _read_regs_before(text: str, end: int, oops: Oops) -> None:
    """The exception registers a handler printed right before calling panic() itself (arm64's
    bad_mode(): ``Bad mode in Synchronous Abort handler detected``, the ``pc :``/``lr :``/x-register
    block, then ``Kernel panic - not syncing: bad mode``): the pc, lr and registers of the
    contiguous register block that ends at offset ``end``; nothing when another line comes between."""
    lines = _lines_before(text, end)
    block: List[str] = []
    for raw in reversed(lines):
        who, line = split_prefix(raw)
        if oops.caller and who and who != oops.caller:
            break
        bare = line.strip()
        if not bare and not block:
            continue
        if _REG_LINE.match(bare) or _ARM64_PC.match(bare) or _RIP.match(bare):
            block.append(bare)
            continue
        break
    if not any(_ARM64_PC.match(b) or _RIP.match(b) for b in block):
        return
    for bare in reversed(block):
        if _arm64_line(oops, bare, bool(oops.rip_function or oops.rip_address is not None)):
            continue
        m = _RIP.match(bare)
        if m and not (m.group("cs") is not None and int(m.group("cs"), 16) & 3) and not oops.rip_function:
            _set_rip(oops, m)
            continue
        _read_registers(bare, oops.registers)
    if oops.arch != "arm64" and "x29" in oops.registers:
        oops.arch = "arm64"


def _read_report(text: str, pos: int, oops: Oops) -> Oops:
    """Read the report whose title ``oops`` holds from offset ``pos`` of ``text`` on."""
    raw_lines = (line for _, line in _lines_from(text, pos))
    code_seen = False
    user_block = False  # in the register dump of a user-mode RIP
    regs_open = False  # in the register dump of the first kernel RIP
    regs_foreign = 0  # lines of other messages since the register dump's last line
    rip_seen = False
    resumes = False  # the RIP was read inside panic()'s trace: its frames go on after Code:
    stall = oops.kind in STALL_KINDS
    # a sanitizer's own report (not a GPF's KASAN line): no registers of its own
    registerless = oops.sanitizer in REGISTERLESS_SANITIZERS and oops.title.startswith("BUG: ")
    # in a call trace; KMSAN's, KFENCE's and KCSAN's own starts right after the title, and ends at
    # the first blank line (the stacks of its origin, allocation and free have no "Call Trace:")
    headless = oops.sanitizer in _HEADLESS_STACK_SANITIZERS and oops.title.startswith("BUG: ")
    in_trace = headless
    sanitizer_read = False  # the sanitizer's access line (or a GPF's KASAN line) was read
    path = _DetectorPath()  # a stall's: where the detector's own frames end
    interrupted_rip = False  # the RIP read is the pc of the code a stall detector interrupted
    after_entry = False  # the trace's last line ended an interrupt's stack (</IRQ>, an entry frame)
    stacks = 0  # "Call Trace:" lines read
    rip_stack = 0  # the number of the stack the RIP read belongs to
    at_frames: List[TraceEntry] = []  # lockdep's "at: func+off" lines, before the stack
    # for the signs of a report that is not whole (Oops.damaged)
    trace_seen = False  # a "Call Trace:" line or a frame was read
    trace_done = stall  # the stack ended: what follows is no longer the report's
    foreign: List[str] = []  # lines that are no frame, since the trace's last frame
    arm_frames: List[str] = []
    seen_frames: List[str] = []  # the functions of every frame-shaped line, in a trace or not
    stamped: Optional[bool] = None  # whether the report's lines have timestamps
    for n, raw in enumerate(raw_lines):
        if n >= _MAX_REPORT_LINES:
            break
        who, line = split_prefix(raw)
        if oops.caller and who and who != oops.caller and not stall:
            continue  # another task's or CPU's message, printed in the middle of the report
        bare = line.strip()
        if stamped is None and bare:
            stamped = bool(_STAMPED.match(raw))
        # a line without the timestamp (caller id) the report's lines have is no kernel line of it
        kernel = not (stamped and not _STAMPED.match(raw) or oops.caller and not who)
        if not trace_done and kernel:
            _damage_line(oops, bare, bool(seen_frames))
            m = _TRACE.match(_TRACE_MARK.sub("", bare)) or _PPC_FRAME.match(bare)
            if m and not m.group("unreliable"):
                seen_frames.append(m.group("sym"))
        if not sanitizer_read and not oops.release and _sanitizer_line(oops, bare):
            sanitizer_read = True  # before the CPU: line (KASAN, KFENCE) or right after a GPF's title
            continue
        if oops.kind and not stall and (oops.trace or at_frames) \
                and (_kind_ends(bare, in_trace) or oops.trace and _AFTER_STACK.match(bare)) \
                and not (after_entry and _RIP.match(bare)):
            if oops.kind == "hung task" and not rip_seen:
                _backtrace_rip(itertools.chain([raw], raw_lines), oops)
            break
        if oops.kind:
            if _kind_line(oops, bare, in_trace, at_frames):
                in_trace = in_trace or bool(_LEAK_TRACE.match(bare))
                continue
        if user_block:
            if _REG_LINE.match(bare):
                continue
            user_block = False
        m = _PANIC.match(bare)
        if m:
            oops.panic = oops.panic or m.group("msg").strip()
            if rip_seen or oops.trace:
                break  # panic() starts its own report (panic_on_warn: a second CPU: line and trace)
            continue  # before 4.15, panic_on_warn panics first and the registers come in panic's trace
        if bare.startswith("---[ end trace"):
            break
        m = _CR2_ALONE.match(bare)
        if m and (oops.oops_line or rip_seen) and not regs_open:
            if oops.fault_address is None and oops.title.startswith("BUG"):
                oops.fault_address = _u64(m.group("val"))
            continue
        m = _PF.match(bare)
        if m:
            oops.pf_access = _PF_ACCESS[m.group("what")]
            continue
        m = _PF_CODE.match(bare)
        if m:
            oops.pf_error_code = int(m.group("code"), 16)
            continue
        m = _OOPS.match(bare)
        if m and not oops.oops_line:
            oops.oops_line = m.group("line").strip()
            continue
        m = _CPU.match(bare)
        if m and not oops.release and oops.pid in (None, int(m.group("pid"))):
            oops.cpu, oops.pid = int(m.group("cpu")), int(m.group("pid"))
            oops.comm, oops.release = m.group("comm"), m.group("release")
            oops.taint = (m.group("taint") or "").strip()
            continue
        if _arm64_line(oops, bare, rip_seen):
            if bare.startswith(("pc ", "PC is at")) and not rip_seen:
                rip_seen = regs_open = True
            continue
        m = _RIP.match(bare)
        if m:
            cs = m.group("cs")
            if cs is not None and int(cs, 16) & 3:
                user_block = True  # CPL 3: the user-mode registers of a syscall's report
                regs_open = False
                continue
            if after_entry and (oops.kind and not stall or registerless):
                # the registers of the code the interrupt the report ran in interrupted: no fault's,
                # and the report's trace goes on past them (lockdep or KASAN in an IRQ handler)
                if not rip_seen:
                    rip_seen = regs_open = True
                    _set_rip(oops, m)
                    oops.rip_foreign = True
                resumes = True
                continue
            if stall and path.interrupts(oops):
                # the registers the detector's interrupt saved: the stalled code's pc, its callers
                # follow; a RIP read before was inside the detector's path (a WARN in its check)
                oops.interrupted, interrupted_rip = len(oops.trace), True
                oops.rip_function, oops.rip_offset, oops.rip_module, oops.rip_address = "", 0, "", None
                oops.registers.clear()
                oops.code, oops.code_fault_index, code_seen = b"", None, False
                rip_seen = regs_open = resumes = True
                _set_rip(oops, m)
                continue
            if not rip_seen and not (stall and oops.interrupted is not None):
                rip_seen = regs_open = True
                rip_stack = stacks if in_trace else stacks + 1  # show_regs(): the trace follows
                if registerless:
                    resumes = in_trace  # the report's own trace goes on past those registers
                elif in_trace and oops.trace:
                    # the exception frame inside panic()'s or the IRQ's trace: what came before
                    # it is the path that reported it (dump_stack, panic, __warn, invalid_op);
                    # the trace goes on after its registers and Code: line
                    oops.trace.clear()
                    resumes = True
                _set_rip(oops, m)
            continue
        if bare.startswith("Code: "):
            if not code_seen:
                # the first kernel Code: line, even when it says "Unable to access opcode bytes"
                code_seen = True
                m = _CODE.match(bare)
                if m:
                    oops.code, oops.code_fault_index = _parse_code(m.group("bytes"))
            in_trace = resumes  # before 4.9 Code: ends the report, after the trace
            continue
        if regs_open and _REG_LINE.match(bare):
            _read_registers(bare, oops.registers)
            regs_foreign = 0
            continue
        if regs_open and bare and regs_foreign < _REGS_FOREIGN and bare not in ("Call Trace:", "Call trace:", "Stack:") \
                and not _TRACE_MARK.match(bare) and not _TRACE.match(bare):
            # another CPU's message inside the register dump (before 4.18 no caller id tells them
            # apart): the dump goes on after it
            regs_foreign += 1
            continue
        regs_open = False
        if bare in ("Call Trace:", "Call trace:"):
            in_trace = trace_seen = True
            stacks += 1
            path.off = path.off or rip_seen and rip_stack < stacks
            continue
        m = _ARM_FRAME.match(bare)
        if m and not oops.trace:
            arm_frames += [m.group("callee") or m.group("callee2"), m.group("caller") or m.group("caller2")]
            continue
        mark = _TRACE_MARK.match(bare)
        if mark:
            if bare.startswith("</TASK>"):
                in_trace = False
                continue
            in_trace = True
            after_entry = bool(_IRQ_END_MARK.search(mark.group(0)))
            if stall:
                path.mark(mark.group(0))
            bare = bare[mark.end():]
            stamp = _MARK_STAMP.match(bare)
            if stamp:
                bare = bare[stamp.end():]
        if in_trace:
            m = _TRACE.match(bare)
            trace_seen = True
            if headless and not bare and oops.trace:
                in_trace = headless = False
                continue
            if m is None and oops.trace and not trace_done and kernel:
                if not bare:
                    trace_done = True
                elif not _TRACE_INNER.match(bare):
                    foreign.append(bare)
                    trace_done = len(foreign) > 3
            if m:
                dump = next((f for f in foreign if _REPORT_BLOCK.match(f)), None)
                if dump is not None and not trace_done:
                    _sign(oops, f"another stack dump is mixed into the call trace: '{dump[:80]}'")
                foreign.clear()
                off, size = _u64(m.group("off")), _u64(m.group("size"))
                if off is not None and size is not None:
                    oops.trace.append(TraceEntry(m.group("sym"), off, size, m.group("mod") or "",
                                                 not m.group("unreliable")))
                    after_entry = bool(_IRQ_ENTRY.fullmatch(m.group("sym").split(".")[0]))
                    if stall:
                        path.frame(oops)
            continue
        if not rip_seen:
            _read_registers(bare, oops.registers)
    if oops.arch != "arm64" and "x29" in oops.registers:
        oops.arch = "arm64"  # a 64-bit register dump after "PC is at": arm64 before 4.16
    if oops.arch != "arm64":
        oops.esr = None  # 32-bit arm's die() prints the FSR where arm64 prints the ESR
    elif oops.esr is not None and not oops.pf_access:
        esr = decode_esr(oops.esr)  # die()'s code, with no "ESR =" line before it
        if esr.abort:
            oops.pf_access = esr.access
    if at_frames:
        oops.trace[:0] = at_frames
    if rip_seen and (oops.interrupted is not None and not interrupted_rip or registerless):
        oops.rip_foreign = True
    if oops.title and not oops.kind and all(_REPORTING.fullmatch(name.split(".")[0]) for name in seen_frames + arm_frames):
        last = (seen_frames[-1] if seen_frames else arm_frames[-2] if arm_frames else "")
        _sign(oops, f"the call trace is cut: it ends in {last}, before any frame past the reporting routines"
              if last else "the call trace is cut: 'Call Trace:' is followed by no frame" if trace_seen
              else "the report is cut: no call trace after its title")
    if not oops.panic:
        oops.panic = _first_panic(raw_lines)  # after the report's end: the rest of the log
    return oops


#: Lines after a hung task's stacks searched for the NMI backtraces khungtaskd asks of every CPU.
_BACKTRACE_LINES = 400


def _backtrace_rip(lines: Iterable[str], oops: Oops) -> None:
    """Read the first kernel ``RIP:`` line of the NMI backtraces that follow a hung task's stacks
    (kernel/hung_task.c ``check_hung_uninterruptible_tasks()`` -> ``trigger_all_cpu_backtrace()``,
    with ``hung_task_all_cpu_backtrace`` or before a ``hung_task_panic``) into ``oops``, marked
    :attr:`Oops.rip_foreign`: another CPU's pc, not the hung task's.  The search stops at a panic
    line (read into ``oops.panic``) or another kind of report, after :data:`_BACKTRACE_LINES`."""
    for n, raw in enumerate(lines):
        if n >= _BACKTRACE_LINES:
            return
        who, line = split_prefix(raw)
        bare = line.strip()
        m = _PANIC.match(bare)
        if m:
            oops.panic = oops.panic or m.group("msg").strip()
            return
        if _SURE_TITLE.search(bare) and not bare.startswith("INFO: task "):
            return
        m = _RIP.match(bare)
        if m and not (m.group("cs") is not None and int(m.group("cs"), 16) & 3):
            _set_rip(oops, m)
            oops.rip_foreign = True
            return


def _sign(oops: Oops, text: str) -> None:
    """Add ``text`` to ``oops.damaged``, once per kind of sign (the words before the colon)."""
    head = text.split(":")[0]
    if not any(d.split(":")[0] == head for d in oops.damaged):
        oops.damaged.append(text)


def _damage_line(oops: Oops, bare: str, framed: bool) -> None:
    """Note in ``oops.damaged`` what line ``bare``, inside the report, says of its being whole:
    another report's title, another task's ``CPU:`` line, a message with a stack of its own
    (fault injection), dropped printk messages; ``framed``: a frame of the report's stack was read."""
    if not framed and oops.release and _SURE_TITLE.search(bare) and not bare.startswith("PANIC: double fault"):
        # after this report's CPU: line and before its first frame: no line of this report's own
        _sign(oops, f"the report is interleaved with another report: '{bare[:80]}' before this one's stack")
        return
    m = _CPU.match(bare)
    if m and oops.pid is not None and not oops.release and int(m.group("pid")) != oops.pid:
        _sign(oops, f"another task's lines are mixed into the report: 'CPU: {m.group('cpu')} PID: {m.group('pid')}' "
                    f"inside the report of PID {oops.pid}")
        return
    m = _INFO_WITH_STACK.search(bare)
    if m and not framed:
        _sign(oops, f"the report is interleaved with another message's stack: '{bare[:80]}'")
        return
    if "printk messages dropped" in bare:
        _sign(oops, f"lines of the report were lost: '{bare[:80]}'")


def _kind_ends(bare: str, in_trace: bool) -> bool:
    """Whether line ``bare`` ends a report of :data:`REPORT_KINDS` (not a stall) whose stack was read:
    a kernel ``RIP:`` (another report's registers), another report's title, another CPU's dump."""
    if _KIND_END.match(bare) or _SURE_TITLE.search(bare):
        return True
    m = _RIP.match(bare)
    return m is not None and not (m.group("cs") is not None and int(m.group("cs"), 16) & 3)


def _kind_line(oops: Oops, bare: str, in_trace: bool, at_frames: List[TraceEntry]) -> bool:
    """Read line ``bare`` of a report of :data:`REPORT_KINDS` when it is one only such reports have
    (lockdep's ``at:`` frames, kmemleak's ``backtrace:``, a workqueue's ``last function:``)."""
    if oops.kind == "memory leak" and _LEAK_TRACE.match(bare):
        return True
    if oops.kind == "workqueue leaked lock":
        m = _LAST_FUNCTION.search(bare)
        if m and not oops.title_function:
            oops.title_function = m.group("fn")
            return True
    if oops.kind in _AT_KINDS and not in_trace and not oops.trace:
        m = _AT.search(bare)
        if m:
            off, size = _u64(m.group("off")), _u64(m.group("size"))
            if off is not None and size is not None:
                at_frames.append(TraceEntry(m.group("sym"), off, size, m.group("mod") or ""))
            return True
    return False


def _arm64_line(oops: Oops, bare: str, rip_seen: bool) -> bool:
    """Read line ``bare`` when it is one of an arm64 report's own (:data:`_ARM64_PC`, :data:`_ESR`,
    :data:`_INTERNAL`): the pc (the first one read is the fault's), the lr, the syndrome; whether
    it was one."""
    m = _INTERNAL.match(bare) or _ESR.match(bare)
    if m:
        if m.re is _INTERNAL:
            oops.oops_line = oops.oops_line or m.group("line").strip()
        if m.re is _ESR or oops.esr is None:
            # the "ESR =" line is arm64's own; die()'s code is the ESR on arm64 (32-bit arm prints
            # its FSR there, see _read_report), so only the former says the access
            oops.esr = _u64(m.group("code") if m.re is _INTERNAL else m.group("esr"))
            esr = decode_esr(oops.esr) if oops.esr is not None and m.re is _ESR else None
            if esr is not None and esr.abort and not oops.pf_access:
                oops.pf_access = esr.access  # WnR: read or write; an instruction abort: exec
        return True
    m = _ARM64_PC.match(bare)
    if m is None:
        return False
    old_lr = _ARM64_OLD_LR.search(bare)
    if old_lr and "x30" not in oops.registers:
        lr = _u64(old_lr.group("lr"))
        if lr is not None:
            oops.registers["x30"] = lr
    text = m.group("pc") or m.group("addr") or ""
    value = _u64(text[2:] if text.startswith("0x") else text) if text else None
    if m.group("which").lower().startswith("pc"):
        if rip_seen:
            return True
        # "pc : f+off/size" and a 16-digit "pc : [<...>]" are arm64's; "PC is at" (arm64 before
        # 4.16, and 32-bit arm) is taken as arm until a 64-bit register dump says otherwise
        if m.group("which") == "pc":
            oops.arch = "arm64"
        elif oops.arch == "x86_64":
            oops.arch = "arm"
        off = _u64(m.group("off")) if m.group("sym") else None
        if off is not None:
            oops.rip_function, oops.rip_offset, oops.rip_module = m.group("sym"), off, m.group("mod") or ""
        elif value is not None:
            oops.registers.setdefault("pc", value)
            if not oops.rip_function:
                oops.rip_address = value
        return True
    off = _u64(m.group("off")) if m.group("sym") else None
    if off is not None and not oops.lr_function:
        oops.lr_function, oops.lr_offset, oops.lr_module = m.group("sym"), off, m.group("mod") or ""
    elif value is not None:
        oops.registers.setdefault("x30", value)
    return True


def _read_registers(line: str, regs: Dict[str, int]) -> None:
    """Add the ``RAX: ...`` values of a register-dump line to ``regs`` (drgn's names; the first
    value of a register wins, ``CR2`` is left out: see :func:`parse_oops`)."""
    for m in _REG.finditer(line):
        name = m.group("name")
        if name in ("CR2", "RIP"):
            continue
        reg = _REG_NAMES.get(name) or ("r%d" % int(name[1:]) if name[1:].isdigit() else name.lower())
        if reg not in regs:
            value = _u64(m.group("val"))
            if value is not None:
                regs[reg] = value
    for m in _ARM64_REG.finditer(line):
        reg = m.group("name")
        if reg not in regs:
            value = _u64(m.group("val"))
            if value is not None:
                regs[reg] = value


#: The lines a report starts with before its title (``WARN()``'s cut line).
_REPORT_START = re.compile(r"^-+\[ cut here \]-+$")


def lines_before(text: str, title: str, count: int = 5) -> List[str]:
    """The last ``count`` non-blank log lines before the report titled ``title`` in ``text``
    (its first occurrence; WARN()'s ``[ cut here ]`` line is the report's own), without their
    timestamps: what the kernel said just before it crashed.  Empty when ``title`` is not there."""
    if not title:
        return []
    at = text.find(title)
    if at < 0:
        return []
    out: List[str] = []
    for raw in reversed(text[:at].split("\n")[:-1]):
        bare = split_prefix(raw)[1].strip()
        if not bare or (not out and _REPORT_START.match(bare)):
            continue
        out.append(bare)
        if len(out) >= count:
            break
    return out[::-1]
