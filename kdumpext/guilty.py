"""The frame to blame: from the faulting frame outwards, past the shared routines its caller handed a bad argument.

A crash inside ``_raw_spin_lock_irqsave()``, ``memcpy()`` or ``kobject_get()`` is almost
never a bug of that routine: its caller passed it a bad lock, buffer or object.  The
frame to blame is the first one, from the fault outwards, that is not such a routine.

:data:`SKIP_GROUPS` is kdumpext's own table of those routines, informed by syzkaller's
title rules (``pkg/report/linux.go``, ``linuxStackParams.skipPatterns``: the frames it
skips to name a report ``... in <guilty frame>``).  The rule for a group to be here is
one: *its routines are shared code that works on what the caller hands it, so a fault,
BUG() or WARN() inside them is the caller's bad argument*.  Unlike syzkaller's patterns
(substrings, where ``string`` also skips ``kstring_x``) each pattern here must match the
whole function name, after GCC's clone suffixes (``.isra.0``, ``.constprop.0``,
``.part.0``, ``.cold``) are stripped.

Left out on purpose, because a crash inside them is *not* their caller's argument:

- the allocators' allocation side (``kmalloc``, ``kmem_cache_alloc``, ``alloc_pages``):
  a fault there is a corrupt freelist, made by whoever wrote past or freed twice, not by
  the task allocating (syzkaller skips them for titles; we would blame an innocent);
- ``process_one_work``, ``call_timer_fn``, ``kthread``, ``__wake_up_common``'s callbacks:
  they *call* a function pointer; a bad one is the verdict's own (``null-fn-call``);
- scheduler, VFS and network-stack internals: real bugs live there too, and a frame in
  them is a better answer than a guess one level further out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

from .model import Frame, Verdict
from .program import clone_suffix

__all__ = ["SkipGroup", "SKIP_GROUPS", "REPORT_SKIPS", "STALL_ANCHORS", "Blame", "NO_BLAME", "base_name",
           "skip_group", "guilty_frame", "blame_for", "report_skips", "stall_frame", "stall_name", "hung_task_frame",
           "reporting_frame"]


@dataclass(frozen=True)
class SkipGroup:
    """A family of shared routines whose frames are skipped to find the frame to blame.

    ``patterns`` are regular expressions matched against the *whole* function name
    (clone suffixes stripped); ``noun`` phrases a member for the report (``a locking
    routine``); ``reason`` says in one line why its caller is the one to blame.
    """

    name: str
    noun: str
    reason: str
    patterns: Tuple[str, ...]

    def matches(self, function: str) -> bool:
        """True when ``function`` (clone suffix already stripped) is one of this group's routines."""
        return _compiled(self).fullmatch(function) is not None


#: kdumpext's table: name, noun, reason, patterns (whole-name regular expressions).
SKIP_GROUPS: Tuple[SkipGroup, ...] = (
    SkipGroup(
        "mmio", "an I/O accessor",
        "readb()/writel()/ioread32()/inb() and their raw forms read and write the device address their caller passes",
        (r"_*raw_(read|write)[bwlq]", r"(read|write)[bwlq](_relaxed|_be)?", r"io(read|write)(8|16|32|64)(be)?(_rep)?",
         r"(logic_)?(in|out)[bwl](_p)?", r"__(read|write)[bwlq]")),
    SkipGroup(
        "string", "a memory/string routine",
        "mem*/str* and checksums read and write the buffers their caller passes",
        (r"_*(mem(cpy|move|set|cmp|chr|chr_inv|scan)|bcmp)(_(orig|erms|fast|fromio|toio|flushcache))?",
         r"_*str(n|l|s)?(cpy|cat|cmp|len|chr|rchr|str|casecmp|sep|spn|cspn|pbrk)",
         r"(sized_)?strscpy(_pad)?", r"k(str|strn|mem)dup(_const|_nul)?", r"memdup_user(_nul)?",
         r"crc(8|16|32|32c|64|_itu_t|_t10dif)\w*", r"csum_partial\w*")),
    SkipGroup(
        "uaccess", "a user-copy routine",
        "user-copy routines move bytes between the user address and the kernel buffer their caller gives",
        (r"_*copy_(to|from)_user\w*", r"raw_copy_(to|from)_user", r"copy_user_\w+", r"rep_movs_alternative",
         r"_*(get|put)_user(_\w+)?", r"strn(cpy_from|len)_user", r"_*copy_(page_|folio_)?(to|from)_iter\w*")),
    SkipGroup(
        "locking", "a locking routine",
        "spinlocks, mutexes, rw-semaphores and lockdep act on the lock their caller passes",
        (r"_*raw_(spin|read|write)_(lock|trylock|unlock)\w*", r"do_raw_(spin|read|write)_\w+",
         r"(spin|read|write)_(lock|trylock|unlock)\w*", r"(arch|queued|native_queued|__pv_queued|pv_queued)"
         r"_(spin|read|write)_\w+", r"_*mutex_(lock|unlock|trylock)\w*", r"__mutex_\w+", r"_*rt_mutex_\w+",
         r"down(_(read|write|interruptible|killable|timeout|trylock)\w*)?", r"__down(_\w+)?", r"up(_read|_write)?",
         r"__up(_read|_write)?", r"_*rwsem_\w+", r"percpu_(down|up)_(read|write)\w*", r"osq_(lock|unlock)",
         r"mutex_(optimistic_spin|spin_on_owner|can_spin_on_owner)",
         r"owner_on_cpu", r"_*lock_sock(_nested|_fast)?", r"_*release_sock",
         r"_*lock_(acquire|acquired|release|contended|is_held_type)", r"lockdep_\w+", r"mark_lock\w*",
         r"(reacquire|mark)_held_locks", r"_*local_bh_(disable|enable)\w*")),
    SkipGroup(
        "lockdep", "a lockdep check",
        "lockdep's validators and reporters check the locking their caller does",
        (r"(__)?lock_(release|acquire|class)\w*", r"(validate|check)_(chain|noncircular|prev_add|prevs_add|deadlock|"
         r"irq_usage|flags|unlock)\w*", r"print_(circular_bug|deadlock_bug|bad_irq_dependency|usage_bug|"
         r"unlock_imbalance_bug|freed_lock_bug|held_locks_bug|lock_nested_lock_not_held|lock)\w*",
         r"(__)?find_held_lock", r"(register|look_up)_lock_class", r"debug_check_no_(locks|obj)_\w+",
         r"(debug_)?lockdep_\w+", r"(__)?debug_locks_off", r"(in|valid)_state", r"mark_usage",
         r"(__)?lock_is_held\w*", r"__lock_set_class", r"hlock_class")),
    SkipGroup(
        "atomics", "an atomic/bit operation",
        "atomics and bitops (inlined into lock and refcount code) touch the word their caller points to",
        (r"(raw_|arch_|_+)?atomic(64|_long)?_\w+", r"(arch_|__|_)*(test_and_)?(set|clear|change)_bit\w*",
         r"(arch_|_|generic_)*test_bit\w*", r"(arch_|_+)?(try_)?cmpxchg\w*", r"(arch_|_+)?xchg\w*",
         # arm64's LL/SC and LSE implementations (arch/arm64/include/asm/atomic_ll_sc.h, atomic_lse.h)
         r"__(ll_sc|lse)_\w+")),
    SkipGroup(
        "refcount", "a reference-count routine",
        "refcount_t, kref, percpu_ref, ref_tracker, inode link counts and dentry/inode get/put change the counter "
        "of the object their caller passes",
        (r"_*refcount_\w+", r"kref_\w+", r"percpu_ref_\w+", r"ref_tracker_\w+", r"(drop|clear|set|inc)_nlink",
         r"(fast_)?dput", r"iput(_final)?", r"ihold")),
    SkipGroup(
        "containers", "a list/tree/xarray routine",
        "lists, rb-trees, xarrays and IDRs walk the nodes their caller links or hands them",
        (r"_*list_(add|del|replace|move|splice|bl_add|bl_del)\w*", r"_*list_\w+_valid\w*",
         r"_*hlist_\w+", r"INIT_LIST_HEAD", r"_*rb_\w+", r"_*xa_\w+", r"_*xas_\w+", r"_*idr_\w+", r"_*ida_\w+",
         r"klist_\w+", r"rhashtable_\w+")),
    SkipGroup(
        "page-cache", "a page-cache walk",
        "page-cache lookups and truncation walk the mapping their caller passes",
        (r"find_(get|lock)_entries", r"truncate_inode_pages\w*")),
    SkipGroup(
        "wait", "a wait/wake-up routine",
        "wait queues and completions take the queue or task their caller passes",
        (r"complete(_all|_on_current)?", r"_*wake_up(?!_new_task$)(_\w+)?", r"swake_up(_\w+)?", r"try_to_wake_up",
         r"wait_for_completion\w*", r"__wait_for_common", r"(prepare_to|finish)_wait\w*",
         r"_*(add|remove)_wait_queue\w*", r"kthread_(stop|park|unpark)\w*")),
    SkipGroup(
        "timers-work", "a timer/workqueue routine",
        "timer and workqueue calls take the caller's timer_list or work_struct (the callback is run, not passed)",
        (r"_*mod_timer(_\w+)?", r"add_timer(_on|_global)?", r"timer_pending", r"_*(try_to_)?del_timer\w*",
         r"_*timer_delete\w*",
         r"lock_timer_base", r"_*queue_work(_on)?", r"_*queue_delayed_work(_on)?", r"mod_delayed_work\w*",
         r"insert_work", r"_*flush_(delayed_)?work\w*", r"_*cancel_(delayed_)?work\w*", r"try_to_grab_pending",
         r"schedule_(delayed_)?work\w*")),
    SkipGroup(
        "device-model", "a kobject/device-model routine",
        "kobject, kset, sysfs and get/put_device act on the object their caller registers or holds",
        (r"kobject_\w+", r"kset_\w+", r"kobj_\w+", r"(get|put)_device(_parent)?", r"device_(add|del|register|"
         r"unregister|destroy|release|initialize)", r"sysfs_(create|remove|notify)\w*", r"add_uevent_var")),
    SkipGroup(
        "unregister", "a device-unregistration routine",
        "the driver core's and subsystems' unregistration tears down the device or object its caller registered",
        # drivers/base/core.c device_del() and what it calls (bus.c, dd.c, devres.c, power/sysfs.c),
        # and the subsystems' unregister calls drivers make in their remove/disconnect paths
        (r"device_remove_(file|attrs|groups|class_symlinks|sys_dev_entry)", r"bus_remove_device",
         r"device_pm_remove", r"dpm_sysfs_remove", r"devres_release_all", r"device_for_each_child\w*",
         r"tty_unregister_device", r"hwrng_unregister", r"i2c_del_adapter", r"__unregister_(client|dummy)",
         r"unregister_netdev(ice)?(_queue|_many\w*)?", r"rollback_registered(_many)?")),
    SkipGroup(
        "usb-urb", "a USB URB routine",
        "URB submit/kill and the synchronous message helpers act on the urb and buffer their caller passes",
        (r"usb_(submit|kill|poison|unlink)_urb", r"usb_kill_anchored_urbs", r"usb_hcd_submit_urb",
         r"usb_start_wait_urb", r"usb_(control|bulk|interrupt)_msg\w*")),
    SkipGroup(
        "free", "a free routine",
        "k/v/kvfree()ing or __free_pages()ing a bad pointer is the caller's bug (the allocation side is not here: see above)",
        (r"(k|kv|v)free(_sensitive)?", r"kmem_cache_free", r"_*kfree_skb\w*", r"consume_skb", r"_*vunmap",
         r"_*free_pages")),
    SkipGroup(
        "skb", "an skb helper",
        "skb_put/push/pull BUG() through skb_over/under_panic on the length their caller asks for",
        (r"skb_(put|push|pull)(_data|_zero)?", r"skb_(over_|under_)?panic")),
    SkipGroup(
        "checks", "a debugging check",
        "BUG()/WARN() checkers (and the stack protector) that found their caller's argument or frame bad",
        (r"__check_object_size", r"check_heap_object", r"usercopy_(abort|warn)", r"_*fortify_(panic|report)",
         r"_*might_(sleep|fault|resched)", r"debug_object\w*", r"check_preemption_disabled",
         r"debug_smp_processor_id", r"__this_cpu_preempt_check",
         r"(work|timer)_is_static_object", r"__stack_chk_fail\w*")),
    SkipGroup(
        "oops", "the panic/BUG/WARN machinery",
        "panic(), BUG()/WARN() reporting and stack dumping report the crash, they do not make it",
        (r"\w*panic\w*", r"_*warn(_\w+)?", r"_*report_bug", r"fixup_bug", r"handle_bug",
         r"do_(error_)?trap", r"(asm_exc_|exc_|do_|handle_)?invalid_op", r"_*die(_body|_addr)?",
         r"oops_(begin|end|enter|exit)", r"dump_stack\w*", r"show_(stack|regs|trace_log_lvl)", r"__show_regs",
         r"_*crash_kexec", r"crash_setup_regs", r"machine_crash_shutdown")),
    SkipGroup(
        "printing", "a printing routine",
        "printk and the vsprintf engine dereference the %s/%p arguments their caller passes",
        (r"_*printk\w*", r"_*vprintk\w*", r"v?(s|sn|scn)printf", r"k?v?asprintf", r"format_decode",
         r"string(_nocheck)?", r"widen_string", r"pointer", r"_*dev_(printk|emerg|alert|crit|err|warn|notice|"
         r"info|dbg)\w*", r"dev_printk_emit", r"print_hex_dump\w*", r"hex_dump_to_buffer")),
    SkipGroup(
        "sanitizers", "a sanitizer runtime routine",
        "KASAN/KMSAN/KCSAN/UBSAN/KFENCE hooks check or report an access their caller made",
        (r"_*kasan_\w+", r"_*asan_\w+", r"_*hwasan_\w+", r"_*kmsan_\w+", r"_*msan_\w+", r"_*kcsan_\w+",
         r"_*tsan_\w+", r"_*ubsan_\w+", r"_*kfence_\w+", r"__sanitizer_\w+", r"check_memory_region\w*",
         r"check_region_inline", r"print_address_description\w*", r"(start|end|print)_report")),
    SkipGroup(
        "stack-walk", "a stack walker",
        "stack walkers and the stack depot save or print the stack of the task their caller names",
        (r"stack_trace_\w+", r"arch_stack_walk\w*", r"_*stack_depot_\w+", r"depot_fetch_stack", r"walk_stackframe",
         r"dump_backtrace\w*", r"unwind_backtrace")),
    SkipGroup(
        "thunks", "a retpoline/return thunk",
        "retpolines and return thunks stand in for the caller's own indirect call or return",
        (r"__x86_indirect_(call_|jump_|its_)?thunk_\w+", r"__x86_return_thunk", r"\w*return_thunk",
         r"srso_\w+")),
    SkipGroup(
        "tracing", "a tracing hook",
        "tracepoints, ftrace and perf record the arguments their caller passes",
        (r"_*trace_\w+", r"perf_trace_\w+", r"_*traceiter_\w+", r"_*bpf_trace_\w+", r"bpf_trace_run\d+",
         r"ftrace_\w+", r"__probestub_\w+")),
)


@functools.lru_cache(maxsize=None)
def _compiled(group: SkipGroup) -> "re.Pattern[str]":
    """One alternation of the group's patterns, compiled once per group."""
    return re.compile("|".join(f"(?:{p})" for p in group.patterns))


class Blame(NamedTuple):
    """The function to blame (``""``: the verdict's own), its module, and why (``the caller of ...``)."""

    function: str
    module: str
    reason: str


NO_BLAME = Blame("", "", "")


def base_name(function: str) -> str:
    """``kdxapi_link_quiesce`` for ``kdxapi_link_quiesce.isra.0``: the name without GCC's clone suffixes."""
    return clone_suffix(function)[0]


def skip_group(function: str) -> Optional[SkipGroup]:
    """The group of :data:`SKIP_GROUPS` that ``function`` belongs to (clone suffixes stripped), or None."""
    name = base_name(function)
    if not name:
        return None
    return next((g for g in SKIP_GROUPS if g.matches(name)), None)


def _physical(frames: Sequence[Frame], i: int) -> int:
    """Index of the real function frame frame ``i`` is inlined into (``i`` itself when not inlined)."""
    j = i
    while j < len(frames) and frames[j].inlined:
        j += 1
    return j if j < len(frames) else i


def _skipped_by(frames: Sequence[Frame], i: int, extra: Sequence[SkipGroup] = ()) -> Optional[SkipGroup]:
    """Why frame ``i`` is skipped: its own function's group, or for an inlined frame the group of the
    routine it is inlined into (a static inline inside ``kfree`` is ``kfree``'s implementation)."""
    own = _skipped(frames[i].function, extra)
    if own is not None or not frames[i].inlined:
        return own
    return _skipped(frames[_physical(frames, i)].function, extra)


def guilty_frame(frames: Sequence[Frame], start: int, extra: Sequence[SkipGroup] = ()) -> Optional[int]:
    """Index of the frame to blame, from frame ``start`` (the faulting one) outwards.

    Frames run innermost first, as :class:`~kdumpext.model.Frame` lists do; an inlined call
    is its own frame and is matched by its own name, and also skipped when it is inlined
    into a skipped routine.  The walk stops at the first frame not in :data:`SKIP_GROUPS`
    (a frame with no symbol stops it too: nothing says it is a shared routine).

    :param frames: the backtrace, innermost first
    :param start: index of the faulting frame
    :param extra: groups skipped on top of :data:`SKIP_GROUPS` (a report kind's :data:`REPORT_SKIPS`)
    :return: the first frame at or after ``start`` that is not skipped; None when every
        frame is (then the faulting frame is the one to blame), or ``start`` is out of range
    """
    if not 0 <= start < len(frames):
        return None
    for i in range(start, len(frames)):
        if _skipped_by(frames, i, extra) is None:
            return i
    return None


def _frame_of(frames: Sequence[Frame], function: str, start: int) -> Optional[int]:
    """The first frame at or after ``start`` that is ``function`` (clone suffixes aside)."""
    want = base_name(function)
    return next((i for i in range(start, len(frames)) if base_name(frames[i].function) == want), None)


def blame_for(v: Verdict, frames: Sequence[Frame], fault: Optional[int] = None,
              extra: Sequence[SkipGroup] = ()) -> Blame:
    """Whom to blame for verdict ``v``: the caller the walk of :func:`guilty_frame` reaches from the
    verdict's own function, when that is another function.

    The walk starts at the frame of ``v.function`` (found from ``fault`` outwards: the
    physical function of a faulting access, the caller of panic(), the function that made
    a bad call, the caller a ``memcpy()`` verdict already names), so the inlined frames of
    the verdict's own function are never blamed apart from it.  When ``v.function`` is a shared
    routine that is not on the stack (inlined into its caller, or a tail call: a sanitizer's
    title naming ``memcmp``), the walk starts at the faulting frame.  No blame
    (:data:`NO_BLAME`) when ``v.function`` is not a shared routine, or is another function not
    on the stack.

    :param v: the verdict, its ``function`` already decided
    :param frames: the backtrace, innermost first
    :param fault: index of the faulting frame; default the first exception frame, else 0
    :param extra: groups skipped on top of :data:`SKIP_GROUPS` (a report kind's :data:`REPORT_SKIPS`)
    """
    if not v.function or not frames:
        return NO_BLAME
    if fault is None:
        fault = next((i for i, f in enumerate(frames) if f.exception), 0)
    start = _frame_of(frames, v.function, fault)
    if start is None:
        group = _skipped(v.function, extra)
        g = guilty_frame(frames, fault, extra) if group is not None else None
        if group is None or g is None or not frames[g].function \
                or base_name(frames[g].function) == base_name(v.function):
            return NO_BLAME
        if g == fault:
            why = f"the caller of {base_name(v.function)}, {group.noun} (not on the stack: inlined or a tail call)"
        else:
            noun = (_skipped_by(frames, g - 1, extra) or group).noun
            why = f"the caller of {base_name(frames[g - 1].function)}, {noun}"
        return Blame(base_name(frames[g].function), frames[g].module, why)
    g = guilty_frame(frames, start, extra)
    if g is None or g == start or not frames[g].function:
        return NO_BLAME
    name = base_name(frames[g].function)
    if name == base_name(v.function):
        return NO_BLAME
    called = frames[g - 1]  # the routine the blamed function called (g > start: it was skipped)
    group = _skipped_by(frames, g - 1, extra)
    noun = group.noun if group is not None else "a shared routine"
    return Blame(name, frames[g].module, f"the caller of {base_name(called.function)}, {noun}")


def _group(name: str, noun: str, reason: str, *patterns: str) -> SkipGroup:
    return SkipGroup(name, noun, reason, patterns)


#: The allocators and the constructors that call them (``sk_alloc``, ``__alloc_skb``): skipped only
#: for reports about what the caller asked of them (a leak, a size, a context), never for a fault.
_ALLOCATION_PATTERNS = (
    r"\w*alloc\w*", r"\w*kmem_cache\w*", r"\w*slab\w*", r"__do_kmalloc\w*", r"kmalloc_order\w*",
    r"k?v?asprintf", r"\w*strn?dup\w*", r"\w*memdup\w*", r"pcpu_create\w*", r"idr_get\w*", r"list_lru_init\w*")

#: The slab, page and vmalloc allocators themselves (not the constructors around them).
_ALLOCATOR_PATTERNS = (
    r"_*k?v?[mzc]alloc\w*", r"_*(kv|k)?realloc\w*", r"__do_kmalloc\w*", r"kmalloc_order\w*",
    r"_*alloc_(frozen_)?pages\w*", r"alloc_pages_\w+", r"\w*kmem_cache_alloc\w*", r"_*slab_alloc\w*",
    r"_*(kmem|kv|k)?malloc_large\w*", r"warn_alloc")

#: A WARNING from an allocator's file: it warns on the size, order or flags its caller asked for.
_ALLOCATION_WARNING = (_group(
    "allocation-request", "an allocation routine",
    "the allocator WARNs on the size, order or gfp flags its caller asked for",
    *_ALLOCATOR_PATTERNS),)

#: Groups skipped, on top of :data:`SKIP_GROUPS`, for one kind of report only: keyed by the report's
#: kind (:data:`kdumpext.oops.REPORT_KINDS`), or for a WARNING by the source file it names
#: (``WARNING: ... at lib/debugobjects.c:325``, ``Oops.bug_file``): the routine that found the
#: problem, or that a report of that kind always passes through, is no answer for it.  After
#: syzkaller's per-format ``skip`` (see :func:`report_skips`).
REPORT_SKIPS: Dict[str, Tuple[SkipGroup, ...]] = {
    # kmemleak prints the allocation's stack: the allocators and the constructors that call
    # them (sk_alloc, __alloc_skb) hand the object on; the leak is the caller's that kept it
    "memory leak": (_group(
        "allocation", "an allocation routine",
        "a leaked object is its allocating caller's: allocators and constructors hand it on",
        r"kmemleak_\w+", r"create_object\w*", *_ALLOCATION_PATTERNS),),
    "suspicious RCU usage": (_group(
        "rcu", "an RCU helper", "RCU's checks and list helpers report the caller's use of RCU",
        r"\w*rcu\w*", r"\w*kmem_cache\w*", r"\w*slab\w*"),),
    "preemptible": (_group(
        "preempt", "a preemption check", "this_cpu/smp_processor_id checks report their caller's context",
        r"\w*preempt\w*", r"debug_\w+", r"\w*processor_id\w*", r"\w*this_cpu\w*"),),
    "spinlock": (_group(
        "spinlock", "a spinlock routine", "spinlock debugging reports the lock its caller passes",
        r"\w*spin_\w*", r"\w*_(un)?lock\w*"),),
    "non-static key": (_group(
        "lock-init", "a lock-class routine", "lockdep found a lock its caller never initialized",
        r"\w*stack\w*", r"\w*lock\w*"),),
    "scheduling while atomic": (_group(
        "schedule", "the scheduler", "schedule() found its caller holding a lock or in atomic context",
        r"\w*schedule\w*"),),
    # an allocator that may sleep checks the context of the task that called it (GFP_KERNEL in atomic)
    "sleeping function called from invalid context": (_group(
        "might-sleep", "an allocation routine", "an allocator that may sleep checks its caller's context",
        *_ALLOCATOR_PATTERNS),),
    # an RCU stall's or lockup's report passes through the timer interrupt and RCU's checks
    "stall": (_group(
        "stall-report", "the stall detector", "the timer interrupt and RCU report the stall, they do not make it",
        r"\w*apic_timer_interrupt\w*", r"\w*rcu\w*"),),
    # ODEBUG: debugobjects checks the objects its users (timers, work, RCU heads, percpu counters,
    # kobjects, and the memory freed under them) hand it; those users act for their own caller
    "lib/debugobjects.c": (_group(
        "debugobjects", "an object-debugging routine",
        "debugobjects and the timer/work/RCU/percpu/kobject/free helpers it checks act on the caller's object",
        r"_*debug_\w+", r"\w*rcu\w*", r"\w*(hr)?timer_\w+", r"\w*work_\w+", r"\w*flush_work\w*",
        r"percpu_\w+", r"_*vunmap\w*", r"_*(kv|v|k)?free(_\w+)?", r"kobject_\w+"),),
    # refcount_t's saturation/underflow WARN: the refcount helpers and the kobject/kref wrappers
    "lib/refcount.c": (_group(
        "refcount-wrapper", "a reference-count routine",
        "refcount_t and the kobject/kref wrappers around it change the counter their caller passes",
        r"\w*refcount\w*", r"kobject_\w+", r"kref_\w+"),),
    "mm/page_alloc.c": _ALLOCATION_WARNING,
    "mm/slab_common.c": _ALLOCATION_WARNING,
    "mm/vmalloc.c": _ALLOCATION_WARNING,
    "mm/util.c": _ALLOCATION_WARNING,
}


#: The groups whose routines print a report rather than take part in it: a report's stack starts
#: with them (``dump_stack()``, ``show_stack()``, the arch unwinder).
_REPORTING_GROUPS = frozenset({"oops", "stack-walk"})


def reporting_frame(functions: Sequence[str]) -> int:
    """Index in ``functions`` (a report's stack, innermost first) of the first frame past the
    routines that print the report (:data:`_REPORTING_GROUPS`: ``dump_stack``, ``show_stack``,
    ``walk_stackframe``, ...); 0 when every frame is one of them, or there is none."""
    for i, f in enumerate(functions):
        g = skip_group(f)
        if g is None or g.name not in _REPORTING_GROUPS:
            return i
    return 0


def report_skips(kind: str = "", bug_file: str = "", title: str = "") -> Tuple[SkipGroup, ...]:
    """The :data:`REPORT_SKIPS` groups for a report: those of its ``kind`` (``Oops.kind``), and for a
    WARNING (``title`` starting ``WARNING``) those of the file it names (``Oops.bug_file``, matched
    by its path's end, so that ``/build/linux/lib/refcount.c`` is ``lib/refcount.c``)."""
    groups: Tuple[SkipGroup, ...] = REPORT_SKIPS.get(kind, ()) if kind else ()
    if bug_file and title.startswith("WARNING"):
        path = bug_file.replace("\\", "/")
        for key, extra in REPORT_SKIPS.items():
            if "/" in key and (path == key or path.endswith("/" + key)):
                groups += extra
    return groups


#: Where the code a stalled CPU loops in was entered: syscall, softirq, timer, workqueue and
#: kthread dispatch, and the file/socket operations that discriminate a syscall.  A stall is
#: named by the frame before the first of these (syzkaller's ``linuxStallAnchorFrames``), for
#: the place it loops changes from report to report.
STALL_ANCHORS: Tuple[str, ...] = (
    r"process_one_work", r"do_syscall_\w+", r"do_fast_syscall_\w+", r"sysenter_dispatch", r"tracesys_phase2",
    r"el0_svc_handler", r"invoke_syscall", r"ret_fast_syscall", r"\w*netif_receive_skb\w*", r"\w*do_softirq\w*",
    r"call_timer_fn", r"\w*_run_timers\w*", r"run_timer_softirq", r"\w*hrtimer_run\w*", r"run_ksoftirqd",
    r"smpboot_thread_fn", r"kthread", r"start_secondary", r"cpu_startup_entry", r"ret_from_fork\w*",
    r"_*(do_)?vfs_(read|write|iter_read|iter_write|ioctl|open)", r"do_iter_(read|write|readv_writev)",
    r"call_(read|write)_iter", r"new_sync_(read|write)", r"ksys_ioctl", r"\w*compat_(sys_)?ioctl\w*",
    r"blkdev_(driver_)?ioctl", r"call_mmap", r"mmap_region", r"\w*do_mmap\w*", r"do_dentry_open",
    r"sock_(sendmsg|recvmsg|release|mmap|do_ioctl|ioctl)\w*", r"__sock_release", r"setsockopt",
    r"kernel_(setsockopt|listen|accept)", r"sock_common_setsockopt", r"listen", r"sk_common_release", r"accept",
    r"compat_sock_ioctl\w*", r"(nfnetlink|rtnetlink)_rcv_msg\w*", r"netlink_dump\w*",
    r"(sys_)?(socketpair|connect|ioctl)\w*", r"__do_fault", r"\w*do_page_fault\w*", r"page_fault",
    r"__fput", r"task_work_run", r"\w*exit_to_usermode\w*", r"\w*smp_call_function\w*", r"tasklet_(hi_)?action\w*")
_STALL_ANCHOR = re.compile("|".join(f"(?:{p})" for p in STALL_ANCHORS))

#: A hung task waits in the scheduler, a lock, a completion, ...: frames whose name says so
#: are passed over (syzkaller's ``linuxHangTaskFrameExtractor``).
_HUNG_WAIT = re.compile(r"\w*(sched|_lock|_slowlock|down|rwsem|completion|kthread|wait|synchronize|context_switch|"
                        r"__switch_to|cancel_delayed_work|rcu_barrier)\w*")
#: Hangs everywhere on these are one bug each (RTNL held too long, RCU not making progress).
_HUNG_ANCHORS = {"rtnl_lock": "rtnl_lock", "synchronize_rcu": "synchronize_rcu", "synchronize_srcu": "synchronize_rcu",
                 "synchronize_net": "synchronize_rcu", "synchronize_sched": "synchronize_rcu"}


def _skipped(function: str, extra: Sequence[SkipGroup]) -> Optional[SkipGroup]:
    """The group (of :data:`SKIP_GROUPS`, then ``extra``) ``function`` belongs to, or None."""
    group = skip_group(function)
    if group is not None:
        return group
    name = base_name(function)
    return next((g for g in extra if name and g.matches(name)), None)


def stall_frame(functions: Sequence[str]) -> Optional[int]:
    """Index in ``functions`` (a stalled CPU's RIP and call trace, innermost first) of the frame
    a stall is named by: of the frames left when shared routines and the stall report's own are
    passed over, the one before the first :data:`STALL_ANCHORS` frame (the anchor itself when it
    comes first, ``smp_call_function*`` always); None when no anchor is on the stack."""
    kept = [i for i, f in enumerate(functions) if _skipped(f, REPORT_SKIPS["stall"]) is None]
    prev = kept[0] if kept else None
    for i in kept:
        name = base_name(functions[i])
        if _STALL_ANCHOR.fullmatch(name):
            return i if "smp_call_function" in name else prev
        prev = i
    return None


#: Anchors a stall is named by as a family, whatever the variant on the stack:
#: ``(whole-name pattern, name)``.  A CPU stuck in ``smp_call_function_single()``/``_many()``/
#: ``_many_cond()``/``_any()`` waits (kernel/smp.c ``csd_lock_wait()``) for another CPU to run
#: the function it sent: one bug, as syzkaller's ``linuxStallFrameExtractor`` names it.
_STALL_FAMILIES: Tuple[Tuple[str, str], ...] = (
    (r"smp_call_function\w*", "smp_call_function"),
)


def stall_name(function: str) -> str:
    """The name a stall found at frame ``function`` (see :func:`stall_frame`) is known by: its family's
    (:data:`_STALL_FAMILIES`, ``smp_call_function`` for ``smp_call_function_many``), else its own
    (clone suffixes stripped)."""
    name = base_name(function)
    return next((family for p, family in _STALL_FAMILIES if re.fullmatch(p, name)), name)


def hung_task_frame(functions: Sequence[str]) -> Optional[Tuple[int, str]]:
    """The frame of a hung task's trace (innermost first) it hangs in, and the name to give it:
    the first ``rtnl_lock``/``synchronize_*`` frame (named ``rtnl_lock``/``synchronize_rcu``),
    else the first that is neither a shared routine nor a waiting one; None if none is left."""
    for i, f in enumerate(functions):
        name = base_name(f)
        if name in _HUNG_ANCHORS:
            return i, _HUNG_ANCHORS[name]
    for i, f in enumerate(functions):
        if skip_group(f) is None and not _HUNG_WAIT.fullmatch(base_name(f)):
            return i, base_name(f)
    return None
