#!/usr/bin/env python3
"""The arm64 corpus' expected answers, and the checks they were written with.

The answers below (class, function, instruction, pointer, struct.member, offset, machine_code,
chain) were written by hand from `aarch64-linux-gnu-objdump -d` of the .ko / vmlinux and their
DWARF (line table, location lists). The rest of each expected.json is read from the dump and its
dmesg: panic (drgn's panic_message), task, backtrace (drgn, inline frames included, pc 0 left
out), and the "arm64" object (ESR, EC, WnR, FAR, FSC, pc/lr lines and Call trace of the oops,
VMCOREINFO KERNELPACMASK, the QEMU -cpu of scenarios.txt).

Checks, per dump: frame 0's pc is function+offset as written (or 0 with the function in x30),
the instruction there, read from the dump and decoded by capstone, is the one written; every
named frame of the oops' Call trace is in drgn's backtrace, in order.

Usage (with drgn and capstone, e.g. the repo's .venv):
  KDX_ARM64_WORK=... python3 sample-dumps/arm64/expected.py [CORPUS_DIR] [--write]
CORPUS_DIR defaults to $KDX_ARM64_OUT or $KDX_ARM64_WORK/corpus (see generate); vmlinux and the
modules are read from $KDX_ARM64_WORK (the build the dumps were made with). Without --write it
compares with the expected.json files there and exits 1 on a difference.
"""
import json, os, re, sys, glob, lzma, shutil, subprocess
import warnings
import drgn
from drgn.helpers.linux.panic import panic_message
from drgn.helpers.linux.sched import task_cpu

args = [a for a in sys.argv[1:] if not a.startswith('--')]
WRITE = '--write' in sys.argv
W = os.environ.get('KDX_ARM64_WORK', os.path.expanduser('~/.cache/kdumpext-samples-arm64'))
CORPUS = args[0] if args else os.environ.get('KDX_ARM64_OUT', W + '/corpus')
HERE = os.path.dirname(os.path.abspath(__file__))
TMP = os.environ.get('TMPDIR', '/tmp')
failed = 0
EC = {0x21: 'IABT (current EL)', 0x25: 'DABT (current EL)', 0x3c: 'BRK64', 0x20: 'IABT (lower EL)', 0x24: 'DABT (lower EL)'}

def hop(fn, kind, expr, clone=""):
    return {"function": fn, "clone": clone, "kind": kind, "expr": expr}

def chain(fn, kind, expr, **kw):
    """A chain of one hop, with more keys (callee, type)."""
    return [dict(hop(fn, kind, expr), **kw)]

S = {}
S['scst-null-dev'] = dict(
    description="the seed bug: scst_update_lat_stats() reads cmd->dev->vdev_update_lat_stats with cmd->dev NULL",
    cls="null-deref", function="scst_update_lat_stats", module="scst", source="scst/scst.c:63",
    exception_rip="scst_update_lat_stats+0x20", instruction="ldr x1, [x1, #0x240]", access="read", size=8,
    pointer="cmd->dev", access_path="cmd->dev->vdev_update_lat_stats", struct="scst_device",
    member="vdev_update_lat_stats", offset="0x240",
    bucket="null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats",
    machine_code=[
        "scst_update_lat_stats (scst.ko; paciasp/autiasp are NOPs on cortex-a57):",
        "  10: mov x19, x0               # x19 = cmd (DWARF: cmd is x0 over [0x0,0x17), x19 over [0x17,0x38))",
        "  14: bl ktime_get              # lr at the fault still holds its return address, scst_update_lat_stats+0x18",
        "  18: ldr x1, [x19, #0x40]      # x1 = cmd->dev (struct scst_cmd +0x40) = NULL",
        "  1c: str x0, [x19, #0x28]      # cmd->lat_start = ktime_get()",
        "  20: ldr x1, [x1, #0x240]      # faults, FAR 0x240: ->vdev_update_lat_stats (struct scst_device +0x240, 8 bytes)",
    ],
    chain=chain("scst_update_lat_stats", "load", "cmd->dev"))
S['null-fn-call'] = dict(
    description="a NULL function pointer called through an ops table: n->ops->xmit(n, skb); blr x2 with x2 = 0: pc = 0, the caller in lr (x30), not on the stack",
    cls="null-fn-call", function="kdx_dev_queue_xmit", module="kdx", source="kdx/kdx.c:61",
    exception_rip="0x0", instruction="blr x2", access="exec", size=None,
    pointer="n->ops->xmit", access_path="n->ops->xmit", struct="kdx_net_ops", member="xmit", offset="0x10",
    bucket="null-fn-call:kdx_dev_queue_xmit:kdx_net_ops.xmit",
    machine_code=[
        "kdx_dev_queue_xmit (kdx.ko):",
        "  30: mov x19, x0               # n (DWARF: n is x0 over [0x20,0x43), x19 over [0x43,0x64))",
        "  38: ldr x2, [x0, #0x18]       # x2 = n->ops (struct kdx_netdev +0x18; n = x0)",
        "  3c: ldr x2, [x2, #0x10]       # x2 = n->ops->xmit (struct kdx_net_ops +0x10) = NULL",
        "  40: blr x2                    # instruction abort at pc 0 (ESR EC 0x21, FAR 0); x30 = kdx_dev_queue_xmit+0x24 (the 'lr :' line)",
        "# the oops' Call trace starts from the frame record (x29), so it skips kdx_dev_queue_xmit; drgn unwinds through x30",
    ],
    chain=chain("kdx_dev_queue_xmit", "load", "n->ops->xmit"))
S['err-ptr'] = dict(
    description="an ERR_PTR() used as a pointer: d = kdx_probe() returns ERR_PTR(-ENODEV); d->irq",
    cls="err-ptr", function="kdx_attach", module="kdx", source="kdx/kdx.c:202",
    exception_rip="kdx_attach+0x10", instruction="ldr w0, [x0, #0x34]", access="read", size=4,
    pointer="d", access_path="d->irq", struct="kdx_device", member="irq", offset="0x34",
    bucket="err-ptr:kdx_attach:kdx_device.irq",
    machine_code=[
        "kdx_attach (kdx.ko):",
        " 16c: mov x29, sp",
        " 170: bl kdx_probe              # x0 = kdx_probe() = 0xffffffffffffffed = ERR_PTR(-ENODEV) (kdx_probe+0x1c: mov x20, #-19)",
        " 174: ldr w0, [x0, #0x34]       # faults at 0xffffffffffffffed + 0x34 = 0x21 (FAR): d->irq (struct kdx_device +0x34, 4 bytes)",
        "# DWARF: d (struct kdx_device *) is in x0 at the faulting instruction: the return value of kdx_probe() is named by the variable that holds it",
        "# DWARF line table: two rows at 0x174, line 202 (is_stmt) then line 203 (view 1, not is_stmt); source is the statement's line, 202 (drgn's frame.source() says 203)",
    ],
    chain=chain("kdx_attach", "return", "d", callee="kdx_probe", type="struct kdx_device *"))
S['null-write'] = dict(
    description="a write through a NULL pointer: f->owner->last_error = err",
    cls="null-deref", function="kdx_flow_set_error", module="kdx", source="kdx/kdx.c:171",
    exception_rip="kdx_flow_set_error+0xc", instruction="str w1, [x0, #0xc]", access="write", size=4,
    pointer="f->owner", access_path="f->owner->last_error", struct="kdx_owner", member="last_error", offset="0xc",
    bucket="null-deref:kdx_flow_set_error:kdx_owner.last_error",
    machine_code=[
        "kdx_flow_set_error (kdx.ko; a leaf: no frame record, the caller only in x30):",
        "  d0: ldr x0, [x0, #0x8]        # x0 = f->owner (struct kdx_flow +0x8; f = x0 on entry, then DWARF has only DW_OP_entry_value(x0) for f)",
        "  d4: paciasp",
        "  d8: autiasp",
        "  dc: str w1, [x0, #0xc]        # faults, a store (ESR WnR = 1), FAR 0xc: ->last_error (struct kdx_owner +0xc, 4 bytes); err = w1",
        "# the oops' Call trace skips kdx_crash_write (the leaf saved no frame record); drgn unwinds through x30",
    ],
    chain=chain("kdx_flow_set_error", "load", "f->owner"))
S['null-two-levels'] = dict(
    description="a NULL pointer two levels down: h->port->rxq->qlen with h->port->rxq NULL",
    cls="null-deref", function="kdx_host_rx_backlog", module="kdx", source="kdx/kdx.c:97",
    exception_rip="kdx_host_rx_backlog+0x10", instruction="ldr w0, [x0, #0x18]", access="read", size=4,
    pointer="h->port->rxq", access_path="h->port->rxq->qlen", struct="kdx_queue", member="qlen", offset="0x18",
    bucket="null-deref:kdx_host_rx_backlog:kdx_queue.qlen",
    machine_code=[
        "kdx_host_rx_backlog (kdx.ko; a leaf):",
        "  70: ldr x0, [x0, #0x28]       # x0 = h->port (struct kdx_host +0x28; h = x0 on entry, then DW_OP_entry_value(x0))",
        "  74: paciasp",
        "  78: autiasp",
        "  7c: ldr x0, [x0, #0x10]       # x0 = h->port->rxq (struct kdx_port +0x10) = NULL",
        "  80: ldr w0, [x0, #0x18]       # faults, FAR 0x18: ->qlen (struct kdx_queue +0x18, 4 bytes)",
        "# DWARF line table: 0x80 is line 97 (the closing brace: GCC put the return value's load there), 0x7c line 96",
    ],
    chain=chain("kdx_host_rx_backlog", "load", "h->port->rxq"))
S['lkdtm-bug'] = dict(
    description="lkdtm BUG: BUG() is brk #0x800 (ESR EC 0x3c BRK64), reported as 'Internal error: Oops - BUG'",
    cls="bug", function="lkdtm_BUG", module="", source="drivers/misc/lkdtm/bugs.c:78",
    exception_rip="lkdtm_BUG+0x0", instruction="brk #0x800", access=None, size=None,
    pointer=None, access_path=None, struct=None, member=None, offset=None,
    bucket="bug:lkdtm_BUG",
    machine_code=[
        "lkdtm_BUG (vmlinux, 4 bytes: a noreturn leaf, no paciasp):",
        "  +0x0: brk #0x800     # bugs.c:78; BUG_BRK_IMM 0x800, ESR 0xf2000800",
        "lkdtm_do_action (vmlinux): +0x20: blr x0   # crashtype->func(); x30 = lkdtm_do_action+0x24 (the 'lr :' line)",
        "# the oops' Call trace skips lkdtm_do_action (lkdtm_BUG saved no frame record); drgn unwinds through x30",
    ],
    chain=None)
S['list-poison'] = dict(
    description="a list entry used after list_del(): list_next_entry(req, node)->tag through LIST_POISON1",
    cls="list-poison", function="kdx_req_next_tag", module="kdx", source="kdx/kdx.c:219",
    exception_rip="kdx_req_next_tag+0xc", instruction="ldr x0, [x0, #0x10]", access="read", size=8,
    pointer="req->node.next", access_path="container_of(req->node.next, struct kdx_req, node)->tag",
    struct="kdx_req", member="tag", offset="0x10",
    bucket="list-poison:kdx_req_next_tag:kdx_req.tag",
    machine_code=[
        "kdx_req_next_tag (kdx.ko; a leaf):",
        " 184: ldr x0, [x0]              # x0 = req->node.next (struct kdx_req +0x0 -> struct list_head +0x0) = LIST_POISON1 0xdead000000000100",
        " 188: paciasp",
        " 18c: autiasp",
        " 190: ldr x0, [x0, #0x10]       # faults, FAR 0xdead000000000110 ('paging request', level 0 translation fault): next->tag (DWARF: next = 0xdead000000000100, struct kdx_req *; +0x10, 8 bytes)",
        "# DWARF line table: 0x190 is line 219 (the closing brace), 0x184 line 218",
    ],
    chain=chain("kdx_req_next_tag", "load", "req->node.next"))
S['tail-call-null-op'] = dict(
    description="return d->ops->start(d) with ->start NULL, on a CPU with pointer authentication (QEMU max, pauth-impdef): NOT a tail call on arm64 -- the kernel builds with frame pointers and so -fno-optimize-sibling-calls, and GCC emits blr + ret; pc = 0, kdxapi_dev_start in lr; the return addresses in the frame records on the stack are PAC-signed (VMCOREINFO KERNELPACMASK 0xffff000000000000)",
    cls="null-fn-call", function="kdxapi_dev_start", module="kdxapi", source="kdxapi/kdxapi.c:367",
    exception_rip="0x0", instruction="blr x1", access="exec", size=None,
    pointer="d->ops->start", access_path="d->ops->start", struct="kdxapi_dev_ops", member="start", offset="0x8",
    bucket="null-fn-call:kdxapi_dev_start:kdxapi_dev_ops.start",
    machine_code=[
        "kdxapi_dev_start (kdxapi.ko):",
        " 474: paciasp                   # signs x30 (executed: the CPU has FEAT_PAuth)",
        " 478: stp x29, x30, [sp, #-0x10]!   # the frame record: saved lr = kdxapi_dev_open+0x18, signed: PAC in bits 63..48 (0x8db7dde0d64464b8 in dump 202612062328; the key changes at every boot)",
        " 480: ldr x1, [x0, #0x18]       # x1 = d->ops (struct kdxapi_dev +0x18; d = x0, DWARF: x0 over [0x474,0x48b))",
        " 484: ldr x1, [x1, #0x8]        # x1 = d->ops->start (struct kdxapi_dev_ops +0x8) = NULL",
        " 488: blr x1                    # not a tail call (no 'br'): instruction abort at pc 0, x30 = kdxapi_dev_start+0x18 (unsigned)",
        "kdxapi_dev_open (kdxapi.ko):",
        " 4b4: bl kdxapi_dev_start",
        "# the oops' Call trace starts from the frame record: 0x0, kdxapi_dev_open, ...; kdxapi_dev_start only in 'lr :'",
    ],
    chain=chain("kdxapi_dev_start", "load", "d->ops->start"))

S['ret-null-lookup'] = dict(
    description="a lookup's NULL return used unchecked: stats = debugfs_lookup(\"stats\", kdxapi_debugfs) finds nothing and returns NULL; d_inode(stats)->i_mode",
    cls="null-deref", function="kdxapi_stats_mode", module="kdxapi", source="kdxapi/kdxapi.c:323",
    exception_rip="kdxapi_stats_mode+0x24", instruction="ldr x1, [x0, #0x30]", access="read", size=8,
    pointer="stats", access_path="stats->d_inode", struct="dentry", member="d_inode", offset="0x30",
    bucket="null-deref:kdxapi_stats_mode:dentry.d_inode",
    machine_code=[
        "kdxapi_stats_mode (kdxapi.ko):",
        " 3f4: adrp x1, kdxapi_debugfs; 408: ldr x1, [x1, #lo12]   # x1 = kdxapi_debugfs (relocations .bss+0x58)",
        " 3fc: adrp x0, \"stats\"; 400: add x0, x0, #lo12        # x0 = \"stats\"",
        " 410: bl debugfs_lookup         # R_AARCH64_CALL26; through the module's PLT in the dump: x0 = stats = NULL (struct dentry *)",
        " 414: ldr x1, [x0, #0x30]       # faults, FAR 0x30: d_inode(stats) = stats->d_inode (struct dentry +0x30, 8 bytes)",
        " 418: ldrh w19, [x1]            # ->i_mode, never reached",
    ],
    chain=chain("kdxapi_stats_mode", "return", "stats", callee="debugfs_lookup", type="struct dentry *"))
S['ret-err-ptr'] = dict(
    description="filp_open() of a missing file returns ERR_PTR(-ENOENT), used without IS_ERR(): file_inode(filp) reads 0xfffffffffffffffe + 0x20 = 0x1e (arm64 calls any fault below a page a 'NULL pointer dereference')",
    cls="err-ptr", function="kdxapi_fw_file_size", module="kdxapi", source="include/linux/fs.h:872",
    exception_rip="kdxapi_fw_file_size+0x1c", instruction="ldr x2, [x0, #0x20]", access="read", size=8,
    pointer="filp", access_path="filp->f_inode", struct="file", member="f_inode", offset="0x20",
    bucket="err-ptr:kdxapi_fw_file_size:file.f_inode",
    machine_code=[
        "kdxapi_fw_file_size (kdxapi.ko):",
        " 43c: mov w2, #0x0; 444: mov w1, #0x0   # filp_open(path, O_RDONLY, 0), path = x0 passed through",
        " 44c: bl filp_open              # R_AARCH64_CALL26; through the module's PLT in the dump: x0 = filp = 0xfffffffffffffffe = ERR_PTR(-ENOENT) (struct file *)",
        " 450: ldr x2, [x0, #0x20]       # faults, FAR 0x1e: file_inode(filp) = filp->f_inode (struct file +0x20, 8 bytes)",
        " 458: ldr x19, [x2, #0x38]      # i_size_read(): ->i_size, never reached",
    ],
    chain=chain("kdxapi_fw_file_size", "return", "filp", callee="filp_open", type="struct file *"))

# kdxapi on arm64: the bad value handed to the kernel, the fault in the kernel's code (or in
# its inline helpers compiled into the module), the chain back to the module's load.
S['api-spinlock'] = dict(
    description="spin_lock_irqsave(&link->lock) with link = ad->link NULL: IPA-SRA hands kdxapi_link_quiesce.isra.0 ad->link; __raw_spin_lock_irqsave is inlined into it (this tinyconfig kernel inlines the lock), so the fault is in the module",
    cls="null-deref", function="__raw_spin_lock_irqsave", module="kdxapi", source="./arch/arm64/include/asm/atomic_ll_sc.h:284",
    exception_rip="kdxapi_link_quiesce.isra.0+0x30", instruction="ldaxr w1, [x0]", access="read", size=4,
    pointer="&link->lock", access_path="lock->raw_lock.val.counter", struct="raw_spinlock",
    member="raw_lock.val.counter", offset="0x0",
    bucket="null-deref:kdxapi_link_quiesce:raw_spinlock.raw_lock.val.counter",
    machine_code=[
        "kdxapi_adapter_reset (kdxapi.ko):",
        " 120: mov x19, x0               # x19 = ad",
        " 128: ldr x0, [x0, #0x20]       # x0 = ad->link (struct kdxapi_adapter +0x20) = NULL",
        " 134: bl kdxapi_link_quiesce.isra.0   # IPA-SRA: the clone gets ad->link, not ad",
        "kdxapi_link_quiesce.isra.0 (kdxapi.ko):",
        "  80: mov x19, x0               # x19 = link (DWARF: link in x0, then x19)",
        "  94: add x0, x19, #0x230       # x0 = &link->lock (struct kdxapi_link +0x230) = 0x230",
        "  a0: ldaxr w1, [x0]            # faults, FAR 0x230: the inlined queued_spin_lock's cmpxchg reads lock->raw_lock.val.counter (struct raw_spinlock +0x0, 4 bytes)",
    ],
    chain=[hop("kdxapi_link_quiesce", "address-of", "&link->lock", ".isra.0"),
           hop("kdxapi_link_quiesce", "argument", "link", ".isra.0"),
           hop("kdxapi_adapter_reset", "load", "ad->link")])
S['api-mutex'] = dict(
    description="mutex_lock(&fw->lock) with fw = ad->fw NULL, through the IPA-SRA clone kdxapi_fw_stage.isra.0: the fault in mutex_lock's fast path (cmpxchg on lock->owner)",
    cls="null-deref", function="mutex_lock", module="vmlinux", source="./arch/arm64/include/asm/atomic_ll_sc.h:285",
    exception_rip="mutex_lock+0xc", instruction="ldaxr x3, [x0]", access="read", size=8,
    pointer="lock", access_path="lock->owner.counter", struct="mutex", member="owner.counter", offset="0x0",
    bucket="null-deref:kdxapi_fw_stage:mutex.owner.counter",
    machine_code=[
        "kdxapi_adapter_update_fw (kdxapi.ko):",
        " 178: ldr x0, [x0, #0x28]       # x0 = ad->fw (struct kdxapi_adapter +0x28) = NULL",
        " 17c: bl kdxapi_fw_stage.isra.0",
        "kdxapi_fw_stage.isra.0 (kdxapi.ko):",
        "  3c: add x21, x0, #0x70        # x21 = &fw->lock (struct kdxapi_fw +0x70) = 0x70",
        "  40: mov x0, x21; 44: bl mutex_lock",
        "mutex_lock (vmlinux):",
        "   c: ldaxr x3, [x0]            # faults, FAR 0x70: __mutex_trylock_fast's cmpxchg reads lock->owner.counter (struct mutex +0x0, 8 bytes)",
    ],
    chain=[hop("mutex_lock", "argument", "lock"), hop("kdxapi_fw_stage", "address-of", "&fw->lock", ".isra.0"),
           hop("kdxapi_fw_stage", "argument", "fw", ".isra.0"), hop("kdxapi_adapter_update_fw", "load", "ad->fw")])
S['api-complete'] = dict(
    description="complete(&cmd->req->done) with cmd->req NULL: complete() takes x->wait.lock (+0x8): raw_spin_lock_irqsave inlined into complete() faults at 0x20",
    cls="null-deref", function="complete", module="vmlinux", source="./arch/arm64/include/asm/atomic_ll_sc.h:284",
    exception_rip="complete+0x34", instruction="ldaxr w1, [x20]", access="read", size=4,
    pointer="&x->wait", access_path="lock->raw_lock.val.counter", struct="raw_spinlock",
    member="raw_lock.val.counter", offset="0x0",
    bucket="null-deref:kdxapi_cmd_finish:raw_spinlock.raw_lock.val.counter",
    machine_code=[
        "kdxapi_cmd_finish (kdxapi.ko):",
        " 1b4: ldr x0, [x0, #0x28]       # x0 = cmd->req (struct kdxapi_cmd +0x28) = NULL",
        " 1bc: add x0, x0, #0x18         # x0 = &cmd->req->done (struct kdxapi_req +0x18) = 0x18",
        " 1c0: bl complete",
        "complete (vmlinux):",
        "  10: mov x19, x0               # x19 = x = 0x18",
        "  28: add x20, x19, #0x8        # x20 = &x->wait (struct completion +0x8) = 0x20: its lock",
        "  34: ldaxr w1, [x20]           # faults, FAR 0x20: reads lock->raw_lock.val.counter (struct raw_spinlock +0x0, 4 bytes)",
    ],
    chain=[hop("complete", "address-of", "&x->wait"), hop("complete", "argument", "x"),
           hop("kdxapi_cmd_finish", "address-of", "&cmd->req->done"), hop("kdxapi_cmd_finish", "load", "cmd->req")])
S['api-queue-work'] = dict(
    description="queue_work(system_wq, &rxq->refill->work) with rxq->refill NULL: queue_work_on()'s test_and_set_bit on work->data faults at 0x10",
    cls="null-deref", function="queue_work_on", module="vmlinux", source="./arch/arm64/include/asm/atomic_ll_sc.h:203",
    exception_rip="queue_work_on+0x20", instruction="ldxr x4, [x2]", access="read", size=8,
    pointer="work", access_path="work->data.counter", struct="work_struct", member="data.counter", offset="0x0",
    bucket="null-deref:kdxapi_rxq_kick_refill:work_struct.data.counter",
    machine_code=[
        "kdxapi_rxq_kick_refill (kdxapi.ko):",
        " 244: mov x19, x0               # x19 = rxq",
        " 250: ldr x2, [x19, #0x10]      # x2 = rxq->refill (struct kdxapi_rxq +0x10) = NULL",
        " 254: add x2, x2, #0x10         # x2 = &rxq->refill->work (struct kdxapi_refill +0x10) = 0x10: argument 3 of queue_work_on",
        " 258: bl queue_work_on",
        "queue_work_on (vmlinux):",
        "  20: ldxr x4, [x2]             # faults, FAR 0x10: test_and_set_bit(WORK_STRUCT_PENDING_BIT, &work->data) reads work->data.counter (struct work_struct +0x0, 8 bytes)",
    ],
    chain=[hop("queue_work_on", "argument", "work"), hop("kdxapi_rxq_kick_refill", "address-of", "&rxq->refill->work"),
           hop("kdxapi_rxq_kick_refill", "load", "rxq->refill")])
S['api-xa-load'] = dict(
    description="xa_load(&qmap->queues, 3) with qmap = d->qmap NULL: xa_load() fills an XA_STATE on its stack (stp x0, x1: xa and index), xas_start() reads xas->xa->xa_head at 0x10 + 8",
    cls="null-deref", function="xas_start", module="vmlinux", source="./include/linux/xarray.h:1182",
    exception_rip="xas_start+0x28", instruction="ldr x0, [x0, #8]", access="read", size=8,
    pointer="xas->xa", access_path="xas->xa->xa_head", struct="xarray", member="xa_head", offset="0x8",
    bucket="null-deref:kdxapi_device_queue:xarray.xa_head",
    machine_code=[
        "kdxapi_device_queue (kdxapi.ko):",
        " 334: ldr x0, [x0, #0x18]       # x0 = d->qmap (struct kdxapi_device +0x18) = NULL",
        " 338: add x0, x0, #0x10         # x0 = &qmap->queues (struct kdxapi_qmap +0x10) = 0x10",
        " 33c: bl xa_load",
        "xa_load (vmlinux):",
        "  10: stp x0, x1, [sp, #0x18]   # XA_STATE(xas, xa, index): xas.xa = 0x10 on xa_load's stack",
        "  20: add x0, sp, #0x18; 24: bl xas_start",
        "xas_start (vmlinux):",
        "   0: mov x1, x0                # x1 = xas",
        "  24: ldp x0, x2, [x1]          # x0 = xas->xa (struct xa_state +0x0) = 0x10",
        "  28: ldr x0, [x0, #8]          # faults, FAR 0x18: xa_head(xas->xa) reads xas->xa->xa_head (struct xarray +0x8, 8 bytes)",
    ],
    chain=[hop("xas_start", "load", "xas->xa"), hop("xa_load", "argument", "xa"),
           hop("kdxapi_device_queue", "address-of", "&qmap->queues"), hop("kdxapi_device_queue", "load", "d->qmap")])
S['api-strlen'] = dict(
    description="strlen(desc->name) with desc->name NULL: the fault in arm64's assembly strlen (no DWARF, a leaf), blamed on its caller",
    cls="null-deref", function="kdxapi_fw_desc_namelen", module="kdxapi", source="arch/arm64/lib/strlen.S:87",
    exception_rip="strlen+0x14", instruction="ldp x2, x3, [x0]", access="read", size=16,
    pointer="desc->name", access_path="strlen(desc->name, …)", struct=None, member=None, offset=None,
    callee="strlen", bucket="null-deref:kdxapi_fw_desc_namelen:strlen()",
    machine_code=[
        "kdxapi_fw_desc_namelen (kdxapi.ko):",
        " 394: ldr x0, [x0, #0x10]       # x0 = desc->name (struct kdxapi_fw_desc +0x10) = NULL",
        " 398: bl strlen                 # the caller is in x30 (strlen saves no frame record)",
        "strlen (vmlinux, arch/arm64/lib/strlen.S):",
        "  14: ldp x2, x3, [x0]          # faults, FAR 0x0: the first 16 bytes of the string",
    ],
    chain=[hop("strlen", "argument", "argument 1"), hop("kdxapi_fw_desc_namelen", "load", "desc->name")])
S['api-wake-up'] = dict(
    description="wake_up(&ch->ring->waitq) with ch->ring NULL: __wake_up() calls __wake_up_common_lock(), whose spin_lock_irqsave(&wq_head->lock) (inlined) faults at 0x88",
    cls="null-deref", function="__wake_up_common_lock", module="vmlinux", source="./arch/arm64/include/asm/atomic_ll_sc.h:284",
    exception_rip="__wake_up_common_lock+0x68", instruction="ldaxr w1, [x19]", access="read", size=4,
    pointer="wq_head", access_path="lock->raw_lock.val.counter", struct="raw_spinlock",
    member="raw_lock.val.counter", offset="0x0",
    bucket="null-deref:kdxapi_chan_post:raw_spinlock.raw_lock.val.counter",
    machine_code=[
        "kdxapi_chan_post (kdxapi.ko):",
        " 200: ldr x0, [x0, #0x10]       # x0 = ch->ring (struct kdxapi_chan +0x10) = NULL",
        " 20c: add x0, x0, #0x88         # x0 = &ch->ring->waitq (struct kdxapi_event_ring +0x88) = 0x88",
        " 210: bl __wake_up",
        "__wake_up (vmlinux):",
        "  14: bl __wake_up_common_lock  # wq_head passed on in x0",
        "__wake_up_common_lock (vmlinux):",
        "  10: mov x19, x0               # x19 = wq_head = 0x88",
        "  68: ldaxr w1, [x19]           # faults, FAR 0x88: the inlined raw_spin_lock_irqsave reads wq_head->lock's raw_lock.val.counter (struct raw_spinlock +0x0, 4 bytes; the lock is at +0 of struct wait_queue_head)",
    ],
    chain=[hop("__wake_up_common_lock", "argument", "wq_head"), hop("__wake_up", "argument", "wq_head"),
           hop("kdxapi_chan_post", "address-of", "&ch->ring->waitq"), hop("kdxapi_chan_post", "load", "ch->ring")])
S['api-mod-timer'] = dict(
    description="mod_timer(&h->wd->timer, jiffies + HZ) with h->wd NULL: mod_timer() calls __mod_timer(), whose timer_pending() reads timer->entry.pprev at 0x10 + 8",
    cls="null-deref", function="__mod_timer", module="vmlinux", source="./include/linux/list.h:889",
    exception_rip="__mod_timer+0x30", instruction="ldr x1, [x0, #8]", access="read", size=8,
    pointer="timer", access_path="timer->entry.pprev", struct="timer_list", member="entry.pprev", offset="0x8",
    bucket="null-deref:kdxapi_host_arm_watchdog:timer_list.entry.pprev",
    machine_code=[
        "kdxapi_host_arm_watchdog (kdxapi.ko):",
        " 29c: ldr x0, [x0, #0x18]       # x0 = h->wd (struct kdxapi_host +0x18) = NULL",
        " 2a4: add x0, x0, #0x10         # x0 = &h->wd->timer (struct kdxapi_watchdog +0x10) = 0x10",
        " 2a8: bl mod_timer",
        "mod_timer (vmlinux):",
        "  10: bl __mod_timer            # timer passed on in x0",
        "__mod_timer (vmlinux):",
        "  30: ldr x1, [x0, #8]          # faults, FAR 0x18: timer_pending(timer) = !hlist_unhashed_lockless(&timer->entry) reads timer->entry.pprev (struct timer_list +0x8, 8 bytes)",
    ],
    chain=[hop("__mod_timer", "argument", "timer"), hop("mod_timer", "argument", "timer"),
           hop("kdxapi_host_arm_watchdog", "address-of", "&h->wd->timer"),
           hop("kdxapi_host_arm_watchdog", "load", "h->wd")])
S['api-kobject'] = dict(
    description="kobject_get(&port->phy->kobj) with port->phy NULL: kobject_get() reads kobj->state_initialized (a bit field at +0x3c)",
    cls="null-deref", function="kobject_get", module="vmlinux", source="lib/kobject.c:631",
    exception_rip="kobject_get+0x18", instruction="ldrb w0, [x0, #0x3c]", access="read", size=1,
    pointer="kobj", access_path="kobj->state_initialized", struct="kobject", member="state_initialized", offset="0x3c",
    bucket="null-deref:kdxapi_port_get_phy:kobject.state_initialized",
    machine_code=[
        "kdxapi_port_get_phy (kdxapi.ko):",
        " 3c4: ldr x0, [x0, #0x10]       # x0 = port->phy (struct kdxapi_port +0x10) = NULL",
        " 3c8: add x0, x0, #0x30         # x0 = &port->phy->kobj (struct kdxapi_phy +0x30) = 0x30",
        " 3cc: bl kobject_get",
        "kobject_get (vmlinux):",
        "  14: cbz x0, ...               # kobj = 0x30 is not NULL",
        "  18: ldrb w0, [x0, #0x3c]      # faults, FAR 0x6c: kobj->state_initialized (struct kobject +0x3c, a bit field in that byte)",
    ],
    chain=[hop("kobject_get", "argument", "kobj"), hop("kdxapi_port_get_phy", "address-of", "&port->phy->kobj"),
           hop("kdxapi_port_get_phy", "load", "port->phy")])

# kdxobj: the object a bad pointer was read from. "objects" is what the report's OBJECT lines
# say of it: the register that holds it at the fault (machine code), its slab cache, whether it
# is allocated, its poisoned members, SLUB's record of its last allocation and free
# (slub_debug=U; callers = the return addresses of the bl to kmem_cache_alloc/free), and how
# many allocated objects of its cache hold the same bad value (the module's source: 1024
# requests with one aborted; 512 made by the bulk path). Checked against the dump below with
# drgn's slab helpers, not with kdumpext.
S['obj-uaf'] = dict(
    description="a request freed by kdxobj_req_complete() while host->timed_out still points at it; the watchdog reads req->queue from the freed object, whose bytes slub_debug=P filled with POISON_FREE (0x6b)",
    cls="use-after-free", function="kdxobj_watchdog", module="kdxobj", source="kdxobj/kdxobj.c:120",
    exception_rip="kdxobj_watchdog+0x20", instruction="ldr x0, [x2, #0x18]", access="read", size=8,
    pointer="host->timed_out->queue", access_path="host->timed_out->queue->submitted", struct="kdxobj_queue",
    member="submitted", offset="0x18",
    bucket="use-after-free:kdxobj_watchdog:kdxobj_queue.submitted",
    machine_code=[
        "kdxobj_watchdog (kdxobj.ko; a leaf):",
        "   0: ldr x0, [x0, #0x28]       # x0 = host->timed_out (struct kdxobj_host +0x28) = req, a freed kdxobj_req",
        "   8: cbz x0, 30",
        "   c: ldr x2, [x0, #0x28]       # x2 = req->queue (struct kdxobj_req +0x28) = 0x6b6b6b6b6b6b6b6b: POISON_FREE, read from the freed object",
        "  14: ldr w1, [x0, #0x24]; 18: add; 1c: str w1, [x0, #0x24]   # req->retries++ (a write into the freed object)",
        "  20: ldr x0, [x2, #0x18]       # faults, FAR 0x006b6b6b6b6b6b83 (the oops prints the top byte cleared): ->submitted (struct kdxobj_queue +0x18, 8 bytes)",
        "kdxobj_req_alloc: 1b4: bl kmem_cache_alloc -> the alloc track's caller kdxobj_req_alloc+0x28",
        "kdxobj_req_complete: 174: bl kmem_cache_free -> the free track's caller kdxobj_req_complete+0x98",
    ],
    chain=chain("kdxobj_watchdog", "load", "host->timed_out->queue"),
    objects=[dict(expr="host->timed_out", register="x0", type="struct kdxobj_req", cache="kdxobj_req",
                  allocated=False, member="queue", suspects=["slab-poison"], siblings=None,
                  tracks=[dict(kind="alloc", caller="kdxobj_req_alloc+0x28 [kdxobj]"),
                          dict(kind="free", caller="kdxobj_req_complete+0x98 [kdxobj]")])])
_RESUBMIT = [
    "kdxobj_host_resubmit (kdxobj.ko; a leaf):",
    "  6c: ldr x1, [x5, #0x18]!      # x1 = host->pending.next: the first request (list_for_each_entry; node is at +0)",
    "  88: ldr x4, [x1, #0x28]       # x4 = req->queue (struct kdxobj_req +0x28) = NULL",
    "  94: ldr x3, [x4, #0x18]       # faults, FAR 0x18: req->queue->submitted (struct kdxobj_queue +0x18, 8 bytes)",
    "  a8: ldr x1, [x1]              # req = next request (after the access: x1 still holds the faulting one)",
]
S['obj-one-bad'] = dict(
    description="one request of 1024 aborted by kdxobj_req_abort() (req->queue = NULL) but left on the host's pending list; kdxobj_host_resubmit() walks the list and reaches it: one object's bug, its 1023 siblings are sound",
    cls="null-deref", function="kdxobj_host_resubmit", module="kdxobj", source="kdxobj/kdxobj.c:136",
    exception_rip="kdxobj_host_resubmit+0x34", instruction="ldr x3, [x4, #0x18]", access="read", size=8,
    pointer="req->queue", access_path="req->queue->submitted", struct="kdxobj_queue", member="submitted",
    offset="0x18", bucket="null-deref:kdxobj_host_resubmit:kdxobj_queue.submitted",
    machine_code=_RESUBMIT,
    chain=chain("kdxobj_host_resubmit", "load", "req->queue"),
    objects=[dict(expr="req", register="x1", type="struct kdxobj_req", cache="kdxobj_req", allocated=True,
                  member="queue", suspects=[], siblings=dict(same=1, scanned=1024), tracks=[])])
S['obj-all-bad'] = dict(
    description="kdxobj_req_alloc_bulk() never sets req->queue: all 512 requests it made have it NULL, and kdxobj_host_resubmit() faults on the first; the same load as obj-one-bad (same bucket), but every object of the cache is bad: an initialisation bug",
    cls="null-deref", function="kdxobj_host_resubmit", module="kdxobj", source="kdxobj/kdxobj.c:136",
    exception_rip="kdxobj_host_resubmit+0x34", instruction="ldr x3, [x4, #0x18]", access="read", size=8,
    pointer="req->queue", access_path="req->queue->submitted", struct="kdxobj_queue", member="submitted",
    offset="0x18", bucket="null-deref:kdxobj_host_resubmit:kdxobj_queue.submitted",
    machine_code=_RESUBMIT,
    chain=chain("kdxobj_host_resubmit", "load", "req->queue"),
    objects=[dict(expr="req", register="x1", type="struct kdxobj_req", cache="kdxobj_req", allocated=True,
                  member="queue", suspects=[], siblings=dict(same=512, scanned=512), tracks=[])])


def check_objects(p, frame, want):
    """The hand-written "objects" of a scenario, checked on the dump with drgn's own helpers; the
    JSON form written into expected.json (addresses from the dump)."""
    from drgn.helpers.linux.slab import slab_object_info, slab_cache_for_each_allocated_object
    out = []
    for o in want:
        addr = frame.registers()[o['register']]
        info = slab_object_info(p, addr)
        assert info is not None, (o, hex(addr))
        cache = info.slab_cache
        assert cache.name.string_().decode() == o['cache'], (o, cache.name)
        assert info.allocated == o['allocated'], (o, info.allocated)
        t = p.type(o['type'])
        mem_off = t.member(o['member']).bit_offset // 8
        bad = p.read_u64(info.address + mem_off)
        if 'slab-poison' in o['suspects']:
            # mm/slub.c init_object(): POISON_FREE over the payload, POISON_END (0xa5) in its last byte
            # (req->retries, +0x24, was written after the free: 0x6b6b6b6c)
            data = p.read(info.address, t.size)
            assert data[-1] == 0xa5 and data[:0x24] == b"\x6b" * 0x24 and data[0x28:0x30] == b"\x6b" * 8, data.hex()
        if o['siblings'] is not None:
            objs = list(slab_cache_for_each_allocated_object(cache, o['type']))
            same = sum(1 for x in objs if int(getattr(x, o['member'])) == bad)
            assert (same, len(objs)) == (o['siblings']['same'], o['siblings']['scanned']), (same, len(objs))
        tracks = []
        if o['tracks']:
            # mm/slub.c get_track(): struct track[2] after the payload (and the free pointer kept outside it)
            end = int(cache.inuse) + (8 if int(cache.offset) >= int(cache.inuse) else 0)
            tt = p.type('struct track')
            for i, tw in enumerate(o['tracks']):
                tr = drgn.Object(p, tt, address=info.address + end + i * tt.size)
                sym = p.symbol(int(tr.addr))
                mod = p.module(int(tr.addr))
                name = f"{sym.name}+{int(tr.addr) - sym.address:#x}" + (
                    "" if isinstance(mod, drgn.MainModule) else f" [{mod.name}]")
                assert name == tw['caller'], (name, tw)
                tracks.append({"kind": tw['kind'], "caller": name})
        out.append({"expr": o['expr'], "address": f"{addr:#x}", "type": o['type'], "cache": o['cache'],
                    "object_start": f"{info.address:#x}", "allocated": o['allocated'], "member": o['member'],
                    "suspect_kinds": o['suspects'],
                    "siblings": None if o['siblings'] is None else {
                        "member": o['member'], "value": f"{bad:#x}", **o['siblings']},
                    "tracks": tracks})
    return out

def raw_dump(path):
    if not path.endswith('.xz'):
        return path
    raw = os.path.join(TMP, 'kdx-arm64-' + path.split('/')[-3] + '-' + os.path.basename(path)[:-3])
    if not os.path.exists(raw):
        with lzma.open(path) as f, open(raw, 'wb') as o:
            shutil.copyfileobj(f, o)
    return raw

def vmcoreinfo(raw):
    out = subprocess.run(['strings', '-n', '6', raw], capture_output=True, text=True).stdout
    vi = {}
    for line in out.splitlines():
        m = re.match(r'^(NUMBER\(KERNELPACMASK\)|KERNELOFFSET|NUMBER\(VA_BITS\))=(\S+)$', line)
        if m and m.group(1) not in vi:
            vi[m.group(1)] = m.group(2)
    return vi

# the seed is also saved as makedumpfile -E (ELF) and -F (flattened), from the same capture:
# <scenario>-elf/ and <scenario>-flat/ hold the same answers
FORMATS = {'': 'kdump-compressed', '-elf': 'elf', '-flat': 'flattened'}
RUNS = [(name + suffix, fmt, name) for name in S for suffix, fmt in FORMATS.items()
        if suffix == '' or glob.glob(f'{CORPUS}/{name}{suffix}/[0-9]*')]

for name, fmt, answers in RUNS:
    s = S[answers]
    dirs = glob.glob(f'{CORPUS}/{name}/[0-9]*')
    if not dirs:
        print('no dump for', name); continue
    d = dirs[0]; stamp = os.path.basename(d)
    dump = [f for f in glob.glob(f'{d}/dump.*')][0]
    dmesg = open(f'{d}/dmesg.{stamp}', errors='replace').read()
    text = re.sub(r'^\[ *[0-9.]+\] ', '', dmesg, flags=re.M)
    esr = re.search(r'^Internal error: Oops(?: - BUG)?: ([0-9a-f]+) ', text, re.M).group(1)
    esr_i = int(esr, 16)
    ec = (esr_i >> 26) & 0x3f
    far = re.search(r'at virtual address ([0-9a-f]{16})', text)
    pc = re.search(r'^pc : (.*)$', text, re.M).group(1).strip()
    lr = re.search(r'^lr : (.*)$', text, re.M).group(1).strip()
    ct = text.split('Call trace:\n', 1)[1]
    calltrace = []
    for line in ct.splitlines():
        if not line.startswith(' '):
            break
        calltrace.append(line.strip().split('+')[0].split(' ')[0])
    code = re.search(r'^Code: (.*)$', text, re.M).group(1).strip()
    title = text.split('\n')
    raw = raw_dump(dump)
    vi = vmcoreinfo(raw)
    p = drgn.Program(); p.set_core_dump(raw)
    p.load_debug_info([f'{W}/linux/vmlinux'] + [f'{W}/modules/{m}/{m}.ko' for m in ('scst', 'kdx', 'kdxapi', 'kdxobj')])
    t = p.crashed_thread()
    trace = t.stack_trace()
    bt = [fr.name for fr in trace if fr.name and not fr.name.startswith('0x')]
    f0 = trace[0]
    if f0.pc and not f0.is_inline:
        # a leaf that saved no frame record (strlen): its caller is only in x30 (the oops' "lr :"
        # line); drgn's unwinder, following frame records, skips it, but it is the call chain
        caller = p.symbol(f0.registers()['x30']).name
        if caller not in bt[:2] and caller != bt[0] and len(trace) > 1 and p.symbol(trace[1].pc).name != caller:
            bt.insert(1, caller)
    scen = {
        "scenario": name, "format": fmt, "description": s['description'],
        "panic": panic_message(p).decode() if panic_message(p) else None,
        "crash_panic": None,
        "task": {"comm": t.object.comm.string_().decode(), "cpu": task_cpu(t.object)},
        "class": s['cls'], "function": s['function'], "module": s['module'], "source": s['source'],
        "exception_rip": s['exception_rip'], "instruction": s['instruction'], "access": s['access'],
        "size": s['size'], "pointer": s['pointer'], "access_path": s['access_path'], "struct": s['struct'],
        "member": s['member'], "offset": s['offset'], "callee": s.get('callee'), "blame": None, "bucket": s['bucket'],
        "backtrace": bt, "machine_code": s['machine_code'], "chain": s['chain'],
        "origin": s['chain'][-1] if s['chain'] else None,
        **({"objects": check_objects(p, trace[0], s['objects'])} if 'objects' in s else {}),
        "arm64": {
            "esr": f"0x{esr_i:08x}", "ec": EC.get(ec, f"0x{ec:02x}"),
            "wnr": ((esr_i >> 6) & 1) if ec in (0x24, 0x25) else None,
            "far": ("0x" + far.group(1)) if far else None,
            "fsc": (lambda m: m.group(1) if m else None)(re.search(r'^  FSC = (.*)$', text, re.M)),
            "pc": pc, "lr": lr,
            "call_trace": calltrace,
            "code": code,
            "kernelpacmask": vi.get('NUMBER(KERNELPACMASK)'),
            "qemu_cpu": None,
        },
    }
    scen_cpu = None
    for line in open(os.path.join(HERE, 'scenarios.txt')):
        f = line.split()
        if f and f[0] == answers:
            scen_cpu = f[2]
    scen['arm64']['qemu_cpu'] = scen_cpu
    # checks: the dump agrees with the hand-written answer
    f0 = trace[0]
    if s['exception_rip'] == '0x0':
        assert f0.pc == 0, (name, hex(f0.pc))
        lr_sym = p.symbol(f0.registers()['x30'])
        assert lr_sym.name == s['function'], (name, lr_sym.name)
    else:
        sym = p.symbol(f0.pc)
        assert f"{sym.name}+{f0.pc - sym.address:#x}" == s['exception_rip'], (name, sym.name, hex(f0.pc - sym.address))
        import capstone
        cs = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        ins = next(cs.disasm(p.read(f0.pc, 4), f0.pc))
        assert f"{ins.mnemonic} {ins.op_str}" == s['instruction'], (name, ins.mnemonic, ins.op_str)
    # a leaf that saves no frame record (strlen) leaves its caller in x30 only: drgn's backtrace skips it
    assert scen['function'] in bt or p.symbol(f0.registers()['x30']).name == scen['function'], (name, bt)
    # every named frame of the oops' Call trace is in drgn's backtrace, in the same order
    # (the oops names a GCC clone by its symbol, kdxapi_link_quiesce.isra.0; drgn by DWARF's name)
    plain = lambda n: re.sub(r'\.(isra|constprop|part|cold)\.\d+.*$', '', n)  # noqa: E731
    it = iter([plain(n) for n in bt])
    assert all(plain(n) in it for n in calltrace if not n.startswith('0x')), (name, calltrace, bt)
    out = json.dumps(scen, indent=2) + '\n'
    if WRITE:
        open(f'{d}/expected.json', 'w').write(out)
    else:
        try:
            old = open(f'{d}/expected.json').read()
        except FileNotFoundError:
            old = None
        if old != out:
            failed += 1
            print(f'{name}: expected.json differs from what this dump gives (run with --write to rewrite)')
    print(f"{name}: {scen['class']} {scen['function']} {scen['pointer']}->{scen['member']} {scen['offset']}  esr {scen['arm64']['esr']} far {scen['arm64']['far']} pac {scen['arm64']['kernelpacmask']}")

sys.exit(1 if failed else 0)
