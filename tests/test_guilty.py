"""The frame to blame (kdumpext.guilty), on backtraces pasted from real logs and sample dumps."""

from __future__ import annotations

import re
from typing import List, Optional

import pytest

from kdumpext.guilty import (REPORT_SKIPS, SKIP_GROUPS, base_name, blame_for, guilty_frame, hung_task_frame,
                             report_skips, reporting_frame, skip_group, stall_frame, stall_name)
from kdumpext.model import Frame, Member, Verdict

# A line of a kernel call trace (``  [<ffffffff81d0457d>] dump_stack+0xc1/0x124``,
# ``RIP: 0010:strlen+0x0/0x30``)
# or of kdumpext's own backtrace (`` #5  [exception RIP: _raw_spin_lock_irqsave+0xf]``,
# `` #0  arch_atomic_try_cmpxchg (inlined)``, `` #6  kdxapi_link_quiesce.isra.0+0x16 [kdxapi]``).
_STAMP = re.compile(r"^\[[ 0-9.]+\](?:\[ *[A-Z]?\d+\])?\s*")
_KERNEL = re.compile(r"^(?:\[<[0-9a-f]+>\] )?(?:RIP: 0010:)?([\w.]+)\+0x[0-9a-f]+(?:/0x[0-9a-f]+)?(?: \[(\w+)\])?$")
_OURS = re.compile(r"^#\d+\s+(?:\[exception RIP: (?:([\w.]+)\+)?0x[0-9a-f]+\]|([\w.]+) \(inlined\)|([\w.]+)\+0x[0-9a-f]+)"
                   r"(?: \[(\w+)\])?")


def frames(text: str) -> List[Frame]:
    """The frames of a pasted trace, innermost first; ``? `` lines (stale stack words) left out."""
    out: List[Frame] = []
    for raw in text.strip().splitlines():
        line = _STAMP.sub("", raw.strip()).strip()
        if not line or line.startswith("?"):
            continue
        m = _OURS.match(line)
        if m:
            name = m.group(1) or m.group(2) or m.group(3)
            out.append(Frame(len(out), 0, name or "", module=m.group(4) or "", inlined=m.group(2) is not None,
                             exception=line.split(None, 1)[1].startswith("[exception")))
            continue
        k = _KERNEL.match(line)
        assert k, f"not a frame: {raw!r}"
        out.append(Frame(len(out), 0, k.group(1), module=k.group(2) or "", exception=line.startswith("RIP:")))
    return out


def guilty(text: str, start: int = 0) -> Optional[str]:
    """The function of the frame to blame in the pasted trace, from frame ``start``."""
    fs = frames(text)
    g = guilty_frame(fs, start)
    return None if g is None else fs[g].function


# --- real traces, one per group of the table (and the sample dumps' own) ---------------

# sample-dumps/api-spinlock (drgn, through kdumpext): the lock and atomic helpers inlined into
# _raw_spin_lock_irqsave; the .isra.0 clone is matched by its source name
API_SPINLOCK = """
 #0  arch_atomic_try_cmpxchg (inlined)                ./arch/x86/include/asm/atomic.h:202
 #1  atomic_try_cmpxchg_acquire (inlined)             ./include/linux/atomic/atomic-instrumented.h:543
 #2  queued_spin_lock (inlined)                       ./include/asm-generic/qspinlock.h:111
 #3  do_raw_spin_lock (inlined)                       ./include/linux/spinlock.h:187
 #4  __raw_spin_lock_irqsave (inlined)                ./include/linux/spinlock_api_smp.h:111
 #5  [exception RIP: _raw_spin_lock_irqsave+0xf]  kernel/locking/spinlock.c:162
 #6  kdxapi_link_quiesce.isra.0+0x16 [kdxapi]         /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:73
 #7  kdxapi_adapter_reset+0x15 [kdxapi]               /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:86
"""

# sample-dumps/api-complete: complete() takes the completion's wait-queue lock
API_COMPLETE = """
 #4  __raw_spin_lock_irqsave (inlined)                ./include/linux/spinlock_api_smp.h:111
 #5  [exception RIP: _raw_spin_lock_irqsave+0xf]  kernel/locking/spinlock.c:162
 #6  complete+0x17                                    kernel/sched/completion.c:32
 #7  kdxapi_cmd_finish+0x18 [kdxapi]                  /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:147
"""

# sample-dumps/api-mutex: the atomics of the mutex fast path
API_MUTEX = """
 #0  arch_atomic64_try_cmpxchg (inlined)              ./arch/x86/include/asm/atomic64_64.h:190
 #1  arch_atomic_long_try_cmpxchg_acquire (inlined)   ./include/linux/atomic/atomic-long.h:443
 #2  atomic_long_try_cmpxchg_acquire (inlined)        ./include/linux/atomic/atomic-instrumented.h:1781
 #3  __mutex_trylock_fast (inlined)                   kernel/locking/mutex.c:171
 #4  [exception RIP: mutex_lock+0xf]  kernel/locking/mutex.c:285
 #5  kdxapi_fw_stage.isra.0+0x15 [kdxapi]             /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:110
"""

# sample-dumps/api-queue-work: queue_work() is inlined into the driver's function and is skipped by its own name
API_QUEUE_WORK = """
 #0  arch_test_and_set_bit (inlined)                  ./arch/x86/include/asm/bitops.h:138
 #1  test_and_set_bit (inlined)                       ./include/asm-generic/bitops/instrumented-atomic.h:72
 #2  [exception RIP: queue_work_on+0x8]  kernel/workqueue.c:1547
 #3  queue_work (inlined)                             ./include/linux/workqueue.h:515
 #4  kdxapi_rxq_kick_refill+0x21 [kdxapi]             /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:193
"""

# sample-dumps/api-mod-timer
API_MOD_TIMER = """
 #0  hlist_unhashed_lockless (inlined)                ./include/linux/list.h:889
 #1  timer_pending (inlined)                          ./include/linux/timer.h:168
 #2  [exception RIP: __mod_timer+0x31]  kernel/time/timer.c:1027
 #3  kdxapi_host_arm_watchdog+0x23 [kdxapi]           /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:217
"""

# sample-dumps/api-xa-load
API_XA_LOAD = """
 #0  xa_head (inlined)                                ./include/linux/xarray.h:1182
 #1  [exception RIP: xas_start+0x21]  lib/xarray.c:188
 #2  xas_load (inlined)                               lib/xarray.c:235
 #3  xa_load+0x46                                     lib/xarray.c:1466
 #4  kdxapi_device_queue+0x15 [kdxapi]                /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:269
"""

# sample-dumps/api-kobject
API_KOBJECT = """
 #0  [exception RIP: kobject_get+0xd]  lib/kobject.c:631
 #1  kdxapi_port_get_phy+0x15 [kdxapi]                /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:311
"""

# syzkaller pkg/report/testdata/linux/report/174 ("... NULL pointer dereference in rtnl_dump_ifinfo")
SYZ_STRLEN = """
[   32.425282] RIP: 0010:strlen+0x0/0x30
[   32.425282]  rtnl_dump_ifinfo+0x37c/0x570
[   32.425282]  netlink_dump+0x14e/0x360
"""


# report/260 ("general protection fault in p9_conn_cancel"): a tracepoint inside lockdep
SYZ_TRACE_LOCK = """
RIP: 0010:perf_trace_lock+0xbb/0x920
 lock_release+0x5fa/0xa30
 ? p9_conn_cancel+0x2c0/0xd30
 _raw_spin_unlock_irqrestore+0x1f/0xc0
 p9_conn_cancel+0x9b6/0xd30
 p9_poll_workfn+0x4b2/0x6d0
"""

# report/392 ("general protection fault in x25_connect"): KASAN's report of a refcount on NULL
SYZ_REFCOUNT_KASAN = """
[ 2348.847633][ T1533]  dump_stack+0x172/0x1f0
[ 2348.894905][ T1533]  __kasan_report.cold+0x5/0x40
[ 2348.934699][ T1533]  kasan_report+0x12/0x20
[ 2348.948717][ T1533]  check_memory_region+0x123/0x190
[ 2348.961978][ T1533]  kasan_check_read+0x11/0x20
[ 2348.973678][ T1533]  refcount_sub_and_test_checked+0x87/0x200
[ 2349.016093][ T1533]  refcount_dec_and_test_checked+0x1b/0x20
[ 2349.023951][ T1533]  x25_connect+0x8d8/0xea0
[ 2349.073899][ T1533]  __sys_connect+0x264/0x330
"""



# report/510 ("general protection fault in __kernfs_remove")
SYZ_RB_ERASE = """
RIP: 0010:rb_erase+0xb7/0x1210
 __kernfs_remove+0x623/0xa30
 kernfs_remove_by_name_ns+0x51/0xb0
"""




# report/476 ("BUG: unable to handle kernel paging request in audit_data_to_entry")
SYZ_KFREE = """
RIP: 0010:kfree+0xd6/0x6d0
 audit_data_to_entry+0x225c/0x26c0
 audit_rule_change+0xbe/0x1110
"""

# report/448 ("kernel BUG in pfkey_send_acquire"): skb_put() BUG()s through skb_panic
SYZ_SKB_PANIC = """
RIP: 0010:skb_panic+0x176/0x178
 skb_put.cold+0x23/0x23
 pfkey_send_acquire+0x1bd9/0x2620
 km_query+0xcb/0x210
"""


# report/40 ("UBSAN: undefined-behaviour in proc_do_submiturb")
SYZ_UBSAN = """
[    4.557004]  [<ffffffff81b2e7d9>] dump_stack+0x45/0x6c
[    4.557010]  [<ffffffff81bcb87d>] ubsan_epilogue+0xd/0x40
[    4.557015]  [<ffffffff81bcc1c1>] __ubsan_handle_shift_out_of_bounds+0xf1/0x140
[    4.557034]  [<ffffffff82226794>] proc_do_submiturb+0x2994/0x2c30
"""

# report/166 ("WARNING: suspicious RCU usage in ..."): might_fault's check inside copy_to_user
SYZ_COPY_TO_USER = """
[   24.392013]  __might_sleep+0x95/0x190
[   24.399834]  __might_fault+0xab/0x1d0
[   24.403613]  _copy_to_user+0x2c/0xc0
[   24.407327]  bpf_prog_array_copy_to_user+0x217/0x4d0
[   24.429110]  bpf_prog_array_copy_info+0x17b/0x1c0
"""

# report/622 ("WARNING: refcount bug in memfd_secret"): the WARN in the refcount checker
SYZ_REFCOUNT_WARN = """
[   54.879537][ T6519] RIP: 0010:refcount_warn_saturate+0x13d/0x1a0
[   54.995579][ T6519]  __se_sys_memfd_secret+0x2ea/0x350
[   55.000962][ T6519]  do_syscall_64+0x44/0xd0
"""

# report/184 ("BUG: corrupted list in __dev_remove_pack")
SYZ_LIST_DEL = """
[   50.767597] RIP: 0010:__list_del_entry_valid+0x370/0x390
[   50.853563]  __dev_remove_pack+0x2cf/0x490
[   50.857828]  __unregister_prot_hook+0x2f6/0x470
"""

# report/376 ("KASAN: slab-out-of-bounds Read in hdpvr_probe"): a bad %s through printk
SYZ_PRINTK = """
[  105.345569][ T5735]  print_address_description+0x6c/0x236
[  105.345574][ T5735]  kasan_report.cold+0x1a/0x3c
[  105.345580][ T5735]  string+0x1f6/0x220
[  105.345583][ T5735]  vsnprintf+0xa14/0x16b0
[  105.345587][ T5735]  vscnprintf+0x29/0x80
[  105.345588][ T5735]  vprintk_store+0x45/0x4b0
[  105.345590][ T5735]  vprintk_emit+0x210/0x5a0
[  105.345594][ T5735]  vprintk_func+0x7a/0x118
[  105.345595][ T5735]  printk+0xbf/0xf2
[  105.345601][ T5735]  hdpvr_probe.cold+0x194/0x127d
[  105.345603][ T5735]  usb_probe_interface+0x31d/0x820
"""

# report/358 ("general protection fault in run_timer_softirq"): the retpoline of the timer's call
SYZ_THUNK = """
RIP: 0010:__x86_indirect_thunk_rax+0x10/0x20
 run_timer_softirq+0x53d/0xe70
 __do_softirq+0x305/0xba7
"""

# report/384 ("WARNING: locking bug in do_ipv6_setsockopt"): lockdep's WARN in register_lock_class
SYZ_LOCKDEP = """
[ 1056.938167] RIP: 0010:register_lock_class+0xce6/0x2650
[ 1057.078418]  __lock_acquire+0x1bd/0x5020
[ 1057.146655]  lock_acquire+0x1e4/0x540
[ 1057.172434]  _raw_spin_lock_bh+0x31/0x40
[ 1057.180708]  lock_sock_nested+0x46/0x120
[ 1057.184855]  do_ipv6_setsockopt.isra.9+0x5ba/0x4680
[ 1057.285171]  ipv6_setsockopt+0xbd/0x170
"""

# report/414 ("KASAN: use-after-free Write in iowarrior_disconnect"): usb_kill_urb on a freed urb
SYZ_USB_KILL = """
[   72.610887][   T17]  check_memory_region+0x128/0x190
[   72.615983][   T17]  usb_kill_urb+0x18f/0x2c0
[   72.641698][   T17]  iowarrior_disconnect+0x176/0x2c0
"""

# report/704 ("KASAN: slab-use-after-free Read in btrfs_evict_inode"): the page-cache walk of its mapping
SYZ_XAS_TRUNCATE = """
[  649.720107][ T6659]  kasan_report+0x175/0x1b0
[  649.729084][ T6659]  xas_start+0x1ef/0x7b0
[  649.733353][ T6659]  xas_find+0x177/0xaa0
[  649.737620][ T6659]  find_lock_entries+0x265/0x10f0
[  649.752679][ T6659]  truncate_inode_pages_range+0x202/0x11b0
[  649.779426][ T6659]  btrfs_evict_inode+0x208/0x1000
"""

# report/694 ("KASAN: out-of-bounds Write in nsim_dev_trap_report_work"): KASAN saves the stack of a
# queue_delayed_work_on() call
SYZ_STACK_WALK = """
[  771.801729][T15335]  kasan_report+0x11c/0x130
[  771.812087][T15335]  stack_trace_consume_entry+0x141/0x160
[  771.821918][T15335]  arch_stack_walk+0x71/0xf0
[  771.829100][T15335]  stack_trace_save+0x90/0xc0
[  771.842065][T15335]  kasan_save_stack+0x22/0x40
[  771.898660][T15335]  __kasan_record_aux_stack+0x7b/0x90
[  771.902334][T15335]  insert_work+0x48/0x350
[  771.907321][T15335]  __queue_work+0x625/0x1120
[  771.911888][T15335]  __queue_delayed_work+0x1c8/0x270
[  771.916104][T15335]  queue_delayed_work_on+0x109/0x120
[  771.920013][T15335]  nsim_dev_trap_report_work+0x9d1/0xc80
"""

# report/756 ("WARNING in ovl_stack_put"): dput of a dentry whose count went wrong
SYZ_DPUT = """
[  195.398271][ T5830] RIP: 0010:fast_dput+0x334/0x430
[  195.428467][ T5830]  dput+0xe8/0x1a0
[  195.450810][ T5830]  ovl_stack_put+0x6a/0xa0
"""

# report/322 ("kernel panic: stack is corrupted in ip6_xmit"): the stack protector's panic
SYZ_STACK_CHK = """
[  122.961127]  [<ffffffff8140d474>] panic+0x19e/0x38d
[  122.988991]  [<ffffffff81132bc2>] __stack_chk_fail+0x22/0x30
[  122.994784]  [<ffffffff8343632e>] ip6_xmit+0x18ae/0x1a00
"""

# report/606 ("WARNING in kvm_wait"): the irqflags checker's WARN
SYZ_WARN_BOGUS = """
[   60.061979][ T4392] RIP: 0010:warn_bogus_irq_restore+0x1d/0x20
[   60.181242][ T4392]  kvm_wait+0xc9/0xe0
"""

# report/426 ("WARNING in pvr2_i2c_core_done"): a driver's i2c_del_adapter() tears down a client
# whose sysfs group is gone; the driver core and i2c's unregistration act on the driver's device
SYZ_UNREGISTER = """
[  194.673882][  T102] RIP: 0010:sysfs_remove_group+0x155/0x1b0
[  194.749737][  T102]  ? __unregister_dummy+0x80/0x80
[  194.754751][  T102]  dpm_sysfs_remove+0x97/0xb0
[  194.759421][  T102]  device_del+0x12a/0xb10
[  194.790192][  T102]  device_unregister+0x11/0x30
[  194.794952][  T102]  __unregister_client+0x8b/0xa0
[  194.799875][  T102]  device_for_each_child+0xf9/0x170
[  194.816409][  T102]  i2c_del_adapter+0x2e2/0x590
[  194.826010][  T102]  pvr2_i2c_core_done+0x69/0xb6
[  194.830868][  T102]  pvr2_hdw_destroy+0x179/0x370
"""


#: syzkaller report 524 (arm64): a synchronous external abort reading an absent I/O port
SYZ_MMIO = """\
[  211.616071][    T1]  __raw_readb+0x18/0x2c
[  211.616694][    T1]  logic_inb+0x50/0x13c
[  211.617265][    T1]  ns558_init+0x17c/0x63c
[  211.617822][    T1]  do_one_initcall+0x294/0x61c
[  211.618467][    T1]  kernel_init_freeable+0x790/0x798
"""


@pytest.mark.parametrize("trace,start,want", [
    (API_SPINLOCK, 0, "kdxapi_link_quiesce.isra.0"),
    (API_SPINLOCK, 5, "kdxapi_link_quiesce.isra.0"),
    (API_COMPLETE, 0, "kdxapi_cmd_finish"),
    (API_MUTEX, 0, "kdxapi_fw_stage.isra.0"),
    (API_QUEUE_WORK, 0, "kdxapi_rxq_kick_refill"),
    (API_MOD_TIMER, 0, "kdxapi_host_arm_watchdog"),
    (API_XA_LOAD, 0, "kdxapi_device_queue"),
    (API_KOBJECT, 0, "kdxapi_port_get_phy"),
    (SYZ_STRLEN, 0, "rtnl_dump_ifinfo"),
    (SYZ_TRACE_LOCK, 0, "p9_conn_cancel"),
    (SYZ_REFCOUNT_KASAN, 0, "x25_connect"),
    (SYZ_RB_ERASE, 0, "__kernfs_remove"),
    (SYZ_KFREE, 0, "audit_data_to_entry"),
    (SYZ_SKB_PANIC, 0, "pfkey_send_acquire"),
    (SYZ_UBSAN, 0, "proc_do_submiturb"),
    (SYZ_THUNK, 0, "run_timer_softirq"),
    (SYZ_COPY_TO_USER, 0, "bpf_prog_array_copy_to_user"),
    (SYZ_REFCOUNT_WARN, 0, "__se_sys_memfd_secret"),
    (SYZ_LIST_DEL, 0, "__dev_remove_pack"),
    (SYZ_PRINTK, 0, "hdpvr_probe.cold"),
    (SYZ_LOCKDEP, 0, "do_ipv6_setsockopt.isra.9"),
    (SYZ_USB_KILL, 0, "iowarrior_disconnect"),
    (SYZ_XAS_TRUNCATE, 0, "btrfs_evict_inode"),
    (SYZ_STACK_WALK, 0, "nsim_dev_trap_report_work"),
    (SYZ_DPUT, 0, "ovl_stack_put"),
    (SYZ_STACK_CHK, 0, "ip6_xmit"),
    (SYZ_WARN_BOGUS, 0, "kvm_wait"),
    (SYZ_UNREGISTER, 0, "pvr2_i2c_core_done"),
    (SYZ_MMIO, 0, "ns558_init"),
], ids=["api-spinlock", "api-spinlock-from-5", "api-complete", "api-mutex", "api-queue-work", "api-mod-timer",
        "api-xa-load", "api-kobject", "strlen", "trace-lock", "refcount-kasan",
        "rb-erase", "kfree", "skb-panic",
        "ubsan", "thunk", "copy-to-user", "refcount-warn", "list-del", "printk", "lockdep",
        "usb-kill-urb", "xas-truncate", "stack-walk", "dput", "stack-chk", "warn-bogus", "unregister", "mmio"])
def test_guilty_frame_on_real_traces(trace: str, start: int, want: str) -> None:
    """The first frame past the library and infrastructure routines, as a kernel engineer reads the trace."""
    assert guilty(trace, start) == want


def test_every_group_is_exercised() -> None:
    """Each group of the table skips at least one frame of the real traces above."""
    seen = set()
    for trace in (API_SPINLOCK, API_COMPLETE, API_MUTEX, API_QUEUE_WORK, API_MOD_TIMER, API_XA_LOAD, API_KOBJECT,
                  SYZ_STRLEN, SYZ_COPY_TO_USER, SYZ_TRACE_LOCK, SYZ_REFCOUNT_KASAN, SYZ_REFCOUNT_WARN, SYZ_LIST_DEL,
                  SYZ_RB_ERASE, SYZ_KFREE, SYZ_SKB_PANIC, SYZ_PRINTK, SYZ_UBSAN, SYZ_THUNK, SYZ_LOCKDEP,
                  SYZ_USB_KILL, SYZ_XAS_TRUNCATE, SYZ_STACK_WALK, SYZ_DPUT, SYZ_STACK_CHK, SYZ_WARN_BOGUS,
                  SYZ_UNREGISTER, SYZ_MMIO):
        fs = frames(trace)
        g = guilty_frame(fs, 0)
        for f in fs[:g]:
            group = skip_group(f.function)
            if group is not None:
                seen.add(group.name)
    assert seen == {g.name for g in SKIP_GROUPS}


@pytest.mark.parametrize("name,group", [
    ("_raw_spin_lock_irqsave", "locking"), ("_raw_spin_lock", "locking"), ("mutex_lock_nested", "locking"),
    ("down_write", "locking"), ("up", "locking"), ("lock_acquire", "locking"),
    ("native_queued_spin_lock_slowpath", "locking"), ("__x86_return_thunk", "thunks"),
    ("__x86_indirect_thunk_r11", "thunks"), ("__memcpy", "string"), ("memcpy_orig", "string"),
    ("strscpy", "string"), ("kstrdup", "string"), ("refcount_warn_saturate", "refcount"),
    ("__list_add_valid_or_report", "containers"), ("__list_del_entry_valid", "containers"),
    ("kasan_check_range", "sanitizers"), ("__asan_load8", "sanitizers"), ("__ubsan_handle_out_of_bounds", "sanitizers"),
    ("kmsan_internal_check_memory", "sanitizers"), ("check_memory_region", "sanitizers"),
    ("dump_stack_lvl", "oops"), ("warn_slowpath_fmt", "oops"), ("__warn_printk", "oops"), ("report_bug", "oops"),
    ("nmi_panic", "oops"), ("warn_bogus_irq_restore", "oops"), ("__stack_chk_fail", "checks"),
    ("usb_submit_urb", "usb-urb"), ("usb_control_msg", "usb-urb"), ("ref_tracker_free", "refcount"),
    ("drop_nlink", "refcount"), ("iput", "refcount"), ("vfree", "free"), ("__free_pages", "free"),
    ("_atomic_dec_and_lock_irqsave", "atomics"), ("get_device_parent", "device-model"), ("kthread_stop", "wait"), ("skb_over_panic", "skb"), ("kobject_add_internal.cold.13", "device-model"),
    ("trace_event_raw_event_sched_switch", "tracing"), ("_copy_to_user", "uaccess"),
    ("wait_for_completion_timeout", "wait"), ("__wake_up", "wait"), ("timer_delete_sync", "timers-work"),
    ("cancel_work_sync", "timers-work"), ("kfree_sensitive", "free"), ("_dev_err", "printing"),
])
def test_skip_groups_name_the_routines(name: str, group: str) -> None:
    skipped = skip_group(name)
    assert skipped is not None and skipped.name == group


@pytest.mark.parametrize("name", [
    # whole names only: these contain a skipped routine's name but are not one
    "kstring_x", "stringify_thing", "update_load_avg", "__update_idle_core", "memcg_charge", "strict_mode",
    "kdx_refcount_put", "do_spin", "kdxa_load",
    # left out on purpose: allocation side, work and timer runners, the scheduler
    "kmalloc", "__kmalloc", "kmem_cache_alloc", "process_one_work", "call_timer_fn", "run_timer_softirq",
    "schedule", "__schedule", "kthread", "do_syscall_64", "", "0x0",
    # a driver's own unregister or free routine is driver code (report/416: video_unregister_device
    # is syzkaller's answer past usbvision_unregister_video)
    "usbvision_unregister_video", "xt_free_table_info",
])
def test_not_skipped(name: str) -> None:
    assert skip_group(name) is None


def test_clone_suffixes_are_stripped() -> None:
    assert base_name("kdxapi_link_quiesce.isra.0") == "kdxapi_link_quiesce"
    assert base_name("direct_entry.cold") == "direct_entry"
    assert base_name("ath9k_init_htc_services.constprop.0") == "ath9k_init_htc_services"
    assert base_name("foo.part.0.cold") == "foo"
    assert skip_group("_raw_spin_lock_irqsave.part.0") is not None
    assert skip_group("__list_add_valid.cold") is not None


def test_every_frame_skipped_is_none() -> None:
    """No frame left to blame: None (the faulting frame is then blamed), and so is a start out of range."""
    fs = frames("RIP: 0010:memcpy+0x1/0x2\n _raw_spin_lock+0x3/0x4")
    assert guilty_frame(fs, 0) is None
    assert guilty_frame(fs, 5) is None
    assert guilty_frame([], 0) is None


def test_a_frame_without_symbol_stops_the_walk() -> None:
    fs = [Frame(0, 0x10, "memcpy", exception=True), Frame(1, 0xffffffffc0001000, ""), Frame(2, 0, "drv_fn")]
    assert guilty_frame(fs, 0) == 1


def test_inlined_helper_inside_a_skipped_routine_is_that_routine() -> None:
    """A static inline that is not in the table (virt_to_folio) but is inlined into kfree is kfree's own code."""
    fs = [Frame(0, 1, "virt_to_folio", inlined=True, exception=True), Frame(1, 1, "kfree", exception=True),
          Frame(2, 2, "kdx_release", module="kdx")]
    assert guilty_frame(fs, 0) == 2
    # but a driver helper inlined into the driver stops the walk where it is
    fs = [Frame(0, 1, "memset", exception=True), Frame(1, 2, "kdx_clear", module="kdx", inlined=True),
          Frame(2, 2, "kdx_reset", module="kdx")]
    assert guilty_frame(fs, 0) == 1


# --- blame_for: the verdict's function and its caller ---------------------------------

def _member() -> Member:
    return Member("struct raw_spinlock", "raw_lock.val.counter", 0, 4)


def test_blame_for_a_lock_taken_by_a_driver() -> None:
    fs = frames(API_SPINLOCK)
    v = Verdict("null-deref", function="_raw_spin_lock_irqsave", member=_member())
    b = blame_for(v, fs)
    assert b == ("kdxapi_link_quiesce", "kdxapi", "the caller of _raw_spin_lock_irqsave, a locking routine")
    v.blame, v.blame_module, v.blame_reason = b
    assert v.bucket == "null-deref:kdxapi_link_quiesce:raw_spinlock.raw_lock.val.counter"


def test_same_lock_from_two_drivers_two_buckets_spin_lock_or_irqsave_one() -> None:
    """The issue's goal: one bad lock from two drivers is two buckets; one driver through
    spin_lock or spin_lock_irqsave is one."""
    def bucket(trace: str, function: str) -> str:
        v = Verdict("null-deref", function=function, member=_member())
        v.blame, v.blame_module, v.blame_reason = blame_for(v, frames(trace))
        return v.bucket

    irqsave = bucket(API_SPINLOCK, "_raw_spin_lock_irqsave")
    plain = bucket(API_SPINLOCK.replace("_raw_spin_lock_irqsave", "_raw_spin_lock").replace(
        "__raw_spin_lock_irqsave", "__raw_spin_lock"), "_raw_spin_lock")
    other = bucket(API_COMPLETE, "_raw_spin_lock_irqsave")
    assert irqsave == plain == "null-deref:kdxapi_link_quiesce:raw_spinlock.raw_lock.val.counter"
    assert other == "null-deref:kdxapi_cmd_finish:raw_spinlock.raw_lock.val.counter"


def test_no_blame_when_the_verdict_names_the_caller_already() -> None:
    """null-memcpy: the verdict's function is memcpy's caller; the bucket keeps ``callee()``."""
    fs = frames("""
 #0  [exception RIP: __memcpy+0x16]  arch/x86/lib/memcpy_64.S:39
 #1  kdx_msg_fill+0x15 [kdxmem]                       /root/.cache/kdumpext-samples/modules/kdxmem/kdxmem.c:26
 #2  kdxmem_crash_write+0x21 [kdxmem]                 /root/.cache/kdumpext-samples/modules/kdxmem/kdxmem.c:33
""")
    v = Verdict("null-deref", function="kdx_msg_fill", callee="__memcpy")
    assert blame_for(v, fs) == ("", "", "")
    assert v.bucket == "null-deref:kdx_msg_fill:__memcpy()"


def test_blame_without_member_names_the_routine() -> None:
    """api-strlen: no member (a char *), so the bucket's last part is the routine that faulted."""
    fs = frames(SYZ_STRLEN)
    v = Verdict("null-deref", function="strlen")
    v.blame, v.blame_module, v.blame_reason = blame_for(v, fs)
    assert (v.blame, v.blame_reason) == ("rtnl_dump_ifinfo", "the caller of strlen, a memory/string routine")
    assert v.bucket == "null-deref:rtnl_dump_ifinfo:strlen()"


def test_no_blame_for_an_inlined_helper_of_the_verdicts_function() -> None:
    """ret-err-ptr: i_size_read() is inlined into the driver's function the verdict names."""
    fs = frames("""
 #0  i_size_read (inlined)                            ./include/linux/fs.h:872
 #1  [exception RIP: kdxapi_fw_file_size+0x13] [kdxapi]  /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:333
 #2  kdxapi_crash_write+0x26c [kdxapi]                /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:462
""")
    assert blame_for(Verdict("err-ptr", function="kdxapi_fw_file_size"), fs) == ("", "", "")


def test_no_blame_for_a_tail_call_or_an_unnamed_verdict() -> None:
    """tail-call-null-op: the verdict's function tail-jumped and is not on the stack."""
    fs = frames("""
 #0  [exception RIP: 0x0]
 #1  kdxapi_dev_open+0xd [kdxapi]                     /root/.cache/kdumpext-samples/modules/kdxapi/kdxapi.c:372
""")
    assert blame_for(Verdict("null-fn-call", function="kdxapi_dev_start"), fs) == ("", "", "")
    assert blame_for(Verdict("unknown"), fs) == ("", "", "")


def test_warning_in_a_checker_blames_its_caller() -> None:
    """WARN() in refcount_warn_saturate: its caller is blamed, by its source name."""
    fs = frames(SYZ_REFCOUNT_WARN)
    fault = next(i for i, f in enumerate(fs) if f.exception)
    b = blame_for(Verdict("warning", function="refcount_warn_saturate"), fs, fault)
    assert b[0] == "__se_sys_memfd_secret" and "refcount" in b[2], b


def test_panic_called_by_its_caller_is_not_moved() -> None:
    fs = frames("""
 #0  crash_setup_regs (inlined)                       ./arch/x86/include/asm/kexec.h:115
 #1  __crash_kexec+0x105                              kernel/kexec_core.c:974
 #2  panic+0x122                                      kernel/panic.c:358
 #3  sysrq_handle_crash+0x10                          drivers/tty/sysrq.c:155
 #4  __handle_sysrq.cold+0x44                         drivers/tty/sysrq.c:603
""")
    assert blame_for(Verdict("panic", function="sysrq_handle_crash"), fs) == ("", "", "")


# --- report kinds: stalls, hung tasks, leaks (kdumpext.guilty.stall_frame, REPORT_SKIPS) ---------

# report/268 ("INFO: rcu detected stall in kvm_vcpu_ioctl"): the stalled CPU's RIP and stack
SYZ_RCU_STALL = ["kvm_mmu_page_fault", "handle_ept_violation", "vmx_handle_exit", "vcpu_enter_guest",
                 "kvm_arch_vcpu_ioctl_run", "kvm_vcpu_ioctl", "do_vfs_ioctl", "ksys_ioctl", "__x64_sys_ioctl",
                 "do_syscall_64", "entry_SYSCALL_64_after_hwframe"]
# report/264 ("BUG: soft lockup in sys_rmdir")
SYZ_SOFT_LOCKUP = ["d_walk", "shrink_dcache_parent", "vfs_rmdir", "do_rmdir", "__x64_sys_rmdir", "do_syscall_64"]
# report/70 ("INFO: task hung in iterate_bdevs")
SYZ_HUNG = ["__schedule", "schedule", "io_schedule", "wait_on_page_bit_common", "__filemap_fdatawait_range",
            "filemap_fdatawait_keep_errors", "fdatawait_one_bdev", "iterate_bdevs", "sys_sync"]
# report/52 ("memory leak in inet6_create"): kmemleak's backtrace of the allocation (file:line cut)
SYZ_LEAK = """
    [<ffffffff85c73a22>] kmemleak_alloc+0x72/0xc0
    [<ffffffff816cc14d>] kmem_cache_alloc+0x12d/0x2c0
    [<ffffffff84b642c9>] sk_prot_alloc+0x69/0x340
    [<ffffffff84b6d36a>] sk_alloc+0x3a/0x6b0
    [<ffffffff850c6d57>] inet6_create+0x2d7/0x1000
"""


def test_stall_frame_is_before_the_entry_point() -> None:
    """A stall is named by the frame before the syscall/softirq/work dispatch it was entered from."""
    assert SYZ_RCU_STALL[stall_frame(SYZ_RCU_STALL) or 0] == "kvm_vcpu_ioctl"  # do_vfs_ioctl is an entry
    assert SYZ_SOFT_LOCKUP[stall_frame(SYZ_SOFT_LOCKUP) or 0] == "__x64_sys_rmdir"
    assert stall_frame(["d_walk", "shrink_dcache_parent"]) is None
    assert stall_frame(["rcu_check_callbacks", "foo", "smp_call_function_many", "bar"]) == 2


# report/504 ("BUG: soft lockup in smp_call_function"): the stalled CPU waits for another in
# smp_call_function_single(); report/292 stalls in smp_call_function_many() for the same bug
SYZ_CSD_LOCKUP = ["smp_call_function_single", "smp_call_function_many_cond", "on_each_cpu", "text_poke_bp_batch",
                  "text_poke_finish", "arch_jump_label_transform_apply", "jump_label_update"]


def test_stall_name_is_the_family() -> None:
    """smp_call_function_* anchors are one stall, named smp_call_function; others keep their name."""
    i = stall_frame(SYZ_CSD_LOCKUP)
    assert i == 0 and stall_name(SYZ_CSD_LOCKUP[i]) == "smp_call_function"
    assert stall_name("smp_call_function_many_cond.constprop.0") == "smp_call_function"
    assert stall_name("kvm_vcpu_ioctl.cold") == "kvm_vcpu_ioctl"


def test_reporting_frame() -> None:
    """A report's stack starts past dump_stack() and the unwinder (report/544 is riscv's)."""
    assert reporting_frame(["walk_stackframe", "show_stack", "dump_stack", "check_preemption_disabled",
                            "debug_smp_processor_id", "get_cache_size"]) == 3
    assert reporting_frame(["dump_stack", "spin_dump", "do_raw_spin_lock"]) == 1
    assert reporting_frame(["kvm_wait"]) == 0 and reporting_frame([]) == 0


def test_wake_up_new_task_is_no_wait_routine() -> None:
    """wake_up_new_task() starts the task fork made; it takes no waiter from its caller (report/68)."""
    assert skip_group("wake_up_new_task") is None
    assert skip_group("wake_up_process").name == "wait"  # type: ignore[union-attr]
    assert skip_group("__wake_up_common_lock").name == "wait"  # type: ignore[union-attr]


def test_hung_task_frame() -> None:
    """Past the scheduler and the waiting frames; rtnl_lock and synchronize_* name their bucket."""
    assert hung_task_frame(SYZ_HUNG) == (7, "iterate_bdevs")
    assert hung_task_frame(["__schedule", "schedule", "synchronize_net", "foo"]) == (2, "synchronize_rcu")
    assert hung_task_frame(["__schedule", "__mutex_lock", "rtnl_lock", "foo"]) == (2, "rtnl_lock")


def test_memory_leak_blames_the_allocating_caller() -> None:
    """kmemleak's stack: the allocators and constructors are passed over (REPORT_SKIPS)."""
    fs = frames(SYZ_LEAK)
    assert skip_group("sk_alloc") is None  # only for a leak: a fault in an allocator is no caller's
    assert fs[guilty_frame(fs, 0, REPORT_SKIPS["memory leak"]) or 0].function == "inet6_create"
    assert guilty_frame(fs, 0) == 0  # kmemleak_alloc: no shared routine outside a leak report


# report/210 ("WARNING: ODEBUG bug in xt_free_table_info"): debugobjects found a live object in
# memory kvfree()d by its caller
SYZ_ODEBUG = """
[  527.532109] RIP: 0010:debug_print_object+0x16a/0x220
[  527.538399]  debug_check_no_obj_freed+0x65d/0xf1a
[  527.541046]  __vunmap+0xde/0x320
[  527.541449]  vfree+0x68/0x100
[  527.542119]  kvfree+0x4a/0x70
[  527.542555]  xt_free_table_info+0x126/0x180
[  527.543842]  do_ip6t_set_ctl+0x377/0x644
"""

# report/564 ("WARNING in squashfs_read_table"): the page allocator WARNs on an order too large
SYZ_ALLOC_WARN = """
[  549.257181][T11106] RIP: 0010:__alloc_pages_nodemask+0x8cc/0xfb0
[  549.414058][T11106]  alloc_pages_current+0x79b/0xb40
[  549.425573][T11106]  kmalloc_order+0xab/0x390
[  549.435926][T11106]  kmalloc_order_trace+0x7d/0x1f0
[  549.453229][T11106]  __kmalloc+0x3fa/0x530
[  549.462248][T11106]  squashfs_read_table+0xa1/0x970
"""

# report/608 ("BUG: sleeping function called from invalid context in __alloc_skb")
SYZ_SLEEPING_ALLOC = """
[  566.557997][T22160]  dump_stack+0x141/0x1d7
[  566.572746][T22160]  kmem_cache_alloc_node+0x33d/0x3e0
[  566.583028][T22160]  __alloc_skb+0x20b/0x340
[  566.587492][T22160]  netlink_ack+0x1ed/0xaa0
"""


def test_a_warnings_file_selects_its_skips() -> None:
    """REPORT_SKIPS by a WARNING's file: ODEBUG's checker and the free helpers it checks, the
    allocator's size WARN; only for a WARNING, and matched by the end of the path."""
    fs = frames(SYZ_ODEBUG)
    extra = report_skips("", "lib/debugobjects.c", "WARNING: CPU: 1 PID: 2 at lib/debugobjects.c:288 x+0x1/0x2")
    b = blame_for(Verdict("warning", function="debug_print_object"), fs, 0, extra)
    assert b[0] == "xt_free_table_info" and "free" in b[2], b
    assert blame_for(Verdict("warning", function="debug_print_object"), fs, 0) == ("", "", "")
    fs = frames(SYZ_ALLOC_WARN)
    extra = report_skips("", "/build/linux/mm/page_alloc.c", "WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:4")
    assert blame_for(Verdict("warning", function="__alloc_pages_nodemask"), fs, 0, extra)[0] == "squashfs_read_table"
    assert report_skips("", "mm/page_alloc.c", "kernel BUG at mm/page_alloc.c:1234!") == ()
    assert report_skips("", "kernel/lib/refcount.c", "WARNING: at kernel/lib/refcount.c:1") == \
        REPORT_SKIPS["lib/refcount.c"]
    assert report_skips("memory leak") == REPORT_SKIPS["memory leak"]


def test_sleeping_allocation_blames_the_allocators_caller() -> None:
    """might_sleep() in the allocator: its caller (the constructor __alloc_skb, not its user) is blamed."""
    fs = frames(SYZ_SLEEPING_ALLOC)
    extra = report_skips("sleeping function called from invalid context")
    assert fs[guilty_frame(fs, 0, extra) or 0].function == "__alloc_skb"


# report/590 ("KFENCE: use-after-free read in find_uprobe"): KFENCE's title names memcmp, which the
# fault's registers and stack do not show (inlined into its caller)
SYZ_KFENCE_INLINED = """
[  221.462394][ T9991] RIP: 0010:find_uprobe+0x57/0x150
[  221.236676][ T9991]  uprobe_apply+0x26/0x130
"""


def test_a_shared_routine_off_the_stack_blames_the_faulting_frame() -> None:
    """A verdict on a shared routine that is not on the stack walks from the faulting frame; another
    function off the stack is no one's to blame for."""
    fs = frames(SYZ_KFENCE_INLINED)
    b = blame_for(Verdict("use-after-free", function="memcmp"), fs)
    assert b[0] == "find_uprobe" and "inlined" in b[2], b
    assert blame_for(Verdict("unknown", function="not_on_stack"), fs) == ("", "", "")
