// SPDX-License-Identifier: GPL-2.0
/*
 * kdxapi: crash fixtures for kdumpext in which the bad value is handed to the
 * kernel (its locking, workqueue, timer, rbtree, xarray, string, kobject, VFS and
 * debugfs APIs) and the fault happens there, one or more calls below the function
 * with the bug; plus return values used unchecked, a tail call through a NULL op
 * and a NULL callback that the kernel itself calls from a kworker.
 *
 * Writing a scenario name to /sys/kernel/debug/kdxapi/crash runs it in the
 * writer's context.  The objects are set up at module load with the member that
 * the bug is about left NULL, and reached through globals, so that GCC cannot
 * see the bad values.  Written like driver code: structs with several members
 * (the interesting ones at non-zero offsets), noinline where a shape needs a real
 * frame, results stored so that no call can be dropped.  Some helpers are static
 * on purpose: GCC's IPA-SRA turns them into .isra.0 clones that receive a member
 * of the struct (ad->link, port->fw) instead of the struct pointer.
 * Expected answers are written from the machine code (objdump -d kdxapi.ko and
 * vmlinux), beside each dump in ../../<scenario>/<stamp>/expected.json.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/debugfs.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/completion.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/timer.h>
#include <linux/jiffies.h>
#include <linux/rbtree.h>
#include <linux/xarray.h>
#include <linux/string.h>
#include <linux/kobject.h>
#include <linux/fs.h>
#include <linux/err.h>

/* api-spinlock: adapter reset quiesces the link under its lock; ad->link is NULL */
enum { KDXAPI_LINK_DOWN, KDXAPI_LINK_UP };
#define KDXAPI_AD_RESETTING	0x1

struct kdxapi_link {
	struct list_head node;
	char name[24];
	u32 id;
	u32 state;
	u64 rx_bytes[24];		/* per-queue counters */
	u64 tx_bytes[24];
	u64 rx_errors[8];
	u64 tx_errors[8];
	spinlock_t lock;
	u32 pending;
	u32 mtu;
};

struct kdxapi_fw;

struct kdxapi_adapter {
	char name[16];
	u32 index;
	u32 flags;
	u64 resets;
	struct kdxapi_link *link;
	struct kdxapi_fw *fw;
};

/* static and called once: IPA-SRA hands it ad->link instead of ad (.isra.0) */
static noinline u32 kdxapi_link_quiesce(struct kdxapi_adapter *ad)
{
	struct kdxapi_link *link = ad->link;
	unsigned long flags;
	u32 pending;

	spin_lock_irqsave(&link->lock, flags);
	pending = link->pending;
	link->pending = 0;
	link->state = KDXAPI_LINK_DOWN;
	spin_unlock_irqrestore(&link->lock, flags);
	return pending;
}

noinline u32 kdxapi_adapter_reset(struct kdxapi_adapter *ad)
{
	u32 pending;

	ad->flags |= KDXAPI_AD_RESETTING;
	pending = kdxapi_link_quiesce(ad);
	ad->flags &= ~KDXAPI_AD_RESETTING;
	ad->resets++;
	return pending;
}

/* api-mutex: staging a firmware image under the firmware's mutex; ad->fw is NULL */
struct kdxapi_fw {
	char name[32];
	u32 version;
	u32 size;
	const u8 *data;
	u64 crc[8];
	struct mutex lock;
	u32 staged_slot;
	u32 state;
};

/* static and called once: IPA-SRA hands it ad->fw instead of ad (.isra.0) */
static noinline u32 kdxapi_fw_stage(struct kdxapi_adapter *ad, u32 slot)
{
	struct kdxapi_fw *fw = ad->fw;
	u32 version;

	mutex_lock(&fw->lock);
	fw->staged_slot = slot;
	version = fw->version;
	mutex_unlock(&fw->lock);
	return version;
}

noinline u32 kdxapi_adapter_update_fw(struct kdxapi_adapter *ad)
{
	u32 version;

	version = kdxapi_fw_stage(ad, ad->index);
	ad->flags |= version << 8;
	return version;
}

/* api-complete: finishing a command completes its request; cmd->req is NULL */
struct kdxapi_req {
	u64 tag;
	u32 opcode;
	int result;
	void *buf;
	struct completion done;
};

struct kdxapi_cmd {
	struct list_head node;
	u64 tag;
	int status;
	u32 retries;
	unsigned long done_jiffies;
	struct kdxapi_req *req;
};

noinline void kdxapi_cmd_finish(struct kdxapi_cmd *cmd, int status)
{
	cmd->status = status;
	complete(&cmd->req->done);
	cmd->done_jiffies = jiffies;
}

/* api-wake-up: posting an event wakes the ring's readers; ch->ring is NULL */
struct kdxapi_event_ring {
	u32 head;
	u32 tail;
	u64 events[16];
	wait_queue_head_t waitq;
};

struct kdxapi_chan {
	u32 id;
	u32 posted;
	u64 last_event;
	struct kdxapi_event_ring *ring;
};

noinline void kdxapi_chan_post(struct kdxapi_chan *ch, u64 ev)
{
	ch->last_event = ev;
	wake_up(&ch->ring->waitq);
	ch->posted++;
}

/* api-queue-work: scheduling the rx refill work; rxq->refill is NULL */
struct kdxapi_refill {
	u32 budget;
	u32 filled;
	u64 allocs;
	struct work_struct work;
};

struct kdxapi_rxq {
	u32 index;
	u32 low_mark;
	u64 kicks;
	struct kdxapi_refill *refill;
};

noinline bool kdxapi_rxq_kick_refill(struct kdxapi_rxq *rxq)
{
	struct kdxapi_refill *refill = rxq->refill;
	bool queued;

	queued = queue_work(system_wq, &refill->work);
	rxq->kicks += queued;
	return queued;
}

/* api-mod-timer: arming the host watchdog; h->wd is NULL */
struct kdxapi_watchdog {
	u32 timeout_ms;
	u32 fired;
	u64 last_pet;
	struct timer_list timer;
};

struct kdxapi_host {
	char name[16];
	u32 flags;
	u32 rearms;
	struct kdxapi_watchdog *wd;
};

noinline int kdxapi_host_arm_watchdog(struct kdxapi_host *h)
{
	int was_pending;

	was_pending = mod_timer(&h->wd->timer, jiffies + HZ);
	h->rearms += was_pending;
	return was_pending;
}

/* api-rb-erase: closing a session removes its flow from the flow tree; s->flow is NULL */
struct kdxapi_flow {
	u32 hash;
	u32 mark;
	u64 packets;
	u64 bytes;
	struct rb_node rb;
};

struct kdxapi_session {
	u64 id;
	u32 state;
	u32 closes;
	struct kdxapi_flow *flow;
};

struct rb_root kdxapi_flows = RB_ROOT;

noinline void kdxapi_session_close(struct kdxapi_session *s)
{
	struct kdxapi_flow *flow = s->flow;

	rb_erase(&flow->rb, &kdxapi_flows);
	s->state = 0;
	s->closes++;
}

/* api-xa-load: looking a queue up in the device's queue map; d->qmap is NULL */
struct kdxapi_qmap {
	u32 nr_queues;
	u32 flags;
	u64 generation;
	struct xarray queues;
};

struct kdxapi_device {
	char name[16];
	u32 lookups;
	u32 misses;
	struct kdxapi_qmap *qmap;
};

noinline void *kdxapi_device_queue(struct kdxapi_device *d, unsigned long qid)
{
	struct kdxapi_qmap *qmap = d->qmap;
	void *q;

	q = xa_load(&qmap->queues, qid);
	d->lookups++;
	if (!q)
		d->misses++;
	return q;
}

/* api-strlen: the firmware descriptor's name was never set; desc->name is NULL */
struct kdxapi_fw_desc {
	u32 type;
	u32 flags;
	u64 size;
	const char *name;
	size_t name_len;
};

noinline size_t kdxapi_fw_desc_namelen(struct kdxapi_fw_desc *desc)
{
	size_t len = strlen(desc->name);

	desc->name_len = len;
	return len;
}

/* api-kobject: taking a reference on the port's PHY object; port->phy is NULL */
struct kdxapi_phy {
	u32 addr;
	u32 speed;
	u64 link_changes;
	char model[32];
	struct kobject kobj;
};

struct kdxapi_port {
	u32 index;
	u32 refs;
	u64 flags;
	struct kdxapi_phy *phy;
};

noinline struct kobject *kdxapi_port_get_phy(struct kdxapi_port *port)
{
	struct kobject *kobj = kobject_get(&port->phy->kobj);

	port->refs++;
	return kobj;
}

/* ret-null-lookup: debugfs_lookup() of a file that was never created returns NULL */
static struct dentry *kdxapi_debugfs;

noinline umode_t kdxapi_stats_mode(void)
{
	struct dentry *stats = debugfs_lookup("stats", kdxapi_debugfs);
	umode_t mode = d_inode(stats)->i_mode;	/* the bug: no NULL check */

	dput(stats);
	return mode;
}

/* ret-err-ptr: filp_open() of a missing file returns ERR_PTR(-ENOENT) */
noinline loff_t kdxapi_fw_file_size(const char *path)
{
	struct file *filp = filp_open(path, O_RDONLY, 0);
	loff_t size = i_size_read(file_inode(filp));	/* the bug: no IS_ERR check */

	filp_close(filp, NULL);
	return size;
}

/* tail-call-null-op: return d->ops->start(d), compiled as a tail jump; ->start is NULL */
struct kdxapi_dev;

struct kdxapi_dev_ops {
	int (*probe)(struct kdxapi_dev *d);
	int (*start)(struct kdxapi_dev *d);
	void (*stop)(struct kdxapi_dev *d);
};

struct kdxapi_dev {
	char name[16];
	u32 state;
	u32 starts;
	const struct kdxapi_dev_ops *ops;
	void *priv;
};

static int kdxapi_null_probe(struct kdxapi_dev *d) { return 0; }
static void kdxapi_null_stop(struct kdxapi_dev *d) { }

static const struct kdxapi_dev_ops kdxapi_null_ops = {
	.probe = kdxapi_null_probe,
	/* .start missing: the bug */
	.stop = kdxapi_null_stop,
};

noinline int kdxapi_dev_start(struct kdxapi_dev *d)
{
	return d->ops->start(d);
}

noinline int kdxapi_dev_open(struct kdxapi_dev *d)
{
	int ret = kdxapi_dev_start(d);

	if (!ret)
		d->starts++;
	return ret;
}

/* null-work-func: an event's work is set up from a handler table with a NULL slot,
 * so the kernel's process_one_work() calls address 0 from a kworker */
enum { KDXAPI_EV_LINK_UP, KDXAPI_EV_LINK_DOWN, KDXAPI_EV_FW_READY, KDXAPI_EV_MAX };

struct kdxapi_event {
	u32 type;
	u32 flags;
	u64 stamp;
	struct work_struct work;
};

static void kdxapi_ev_link_up(struct work_struct *w) { pr_info("kdxapi: link up\n"); }
static void kdxapi_ev_link_down(struct work_struct *w) { pr_info("kdxapi: link down\n"); }

static work_func_t kdxapi_event_handlers[KDXAPI_EV_MAX] = {
	[KDXAPI_EV_LINK_UP] = kdxapi_ev_link_up,
	[KDXAPI_EV_LINK_DOWN] = kdxapi_ev_link_down,
	/* [KDXAPI_EV_FW_READY] missing: the bug */
};

noinline bool kdxapi_event_post(struct kdxapi_event *ev, u32 type)
{
	ev->type = type;
	ev->stamp = jiffies;
	INIT_WORK(&ev->work, kdxapi_event_handlers[type]);
	return schedule_work(&ev->work);
}

/* the objects, each with the member its scenario is about left NULL */
struct kdxapi_adapter *kdxapi_adapter0;		/* ->link, ->fw NULL */
struct kdxapi_cmd *kdxapi_cmd0;			/* ->req NULL */
struct kdxapi_chan *kdxapi_chan0;		/* ->ring NULL */
struct kdxapi_rxq *kdxapi_rxq0;			/* ->refill NULL */
struct kdxapi_host *kdxapi_host0;		/* ->wd NULL */
struct kdxapi_session *kdxapi_session0;		/* ->flow NULL */
struct kdxapi_device *kdxapi_device0;		/* ->qmap NULL */
struct kdxapi_fw_desc *kdxapi_fw_desc0;		/* ->name NULL */
struct kdxapi_port *kdxapi_port0;		/* ->phy NULL */
struct kdxapi_dev *kdxapi_dev0;			/* ->ops->start NULL */
struct kdxapi_event *kdxapi_event0;
u32 kdxapi_event_type = KDXAPI_EV_FW_READY;
unsigned long kdxapi_qid = 3;
const char *kdxapi_fw_path = "/lib/firmware/kdxapi.bin";

/* the trigger */
static volatile u64 kdxapi_sink;

static ssize_t kdxapi_crash_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	char buf[32];

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	strim(buf);
	pr_info("kdxapi: scenario %s\n", buf);

	if (!strcmp(buf, "api-spinlock"))
		kdxapi_sink = kdxapi_adapter_reset(kdxapi_adapter0);
	else if (!strcmp(buf, "api-mutex"))
		kdxapi_sink = kdxapi_adapter_update_fw(kdxapi_adapter0);
	else if (!strcmp(buf, "api-complete"))
		kdxapi_cmd_finish(kdxapi_cmd0, 0);
	else if (!strcmp(buf, "api-wake-up"))
		kdxapi_chan_post(kdxapi_chan0, 0x10);
	else if (!strcmp(buf, "api-queue-work"))
		kdxapi_sink = kdxapi_rxq_kick_refill(kdxapi_rxq0);
	else if (!strcmp(buf, "api-mod-timer"))
		kdxapi_sink = kdxapi_host_arm_watchdog(kdxapi_host0);
	else if (!strcmp(buf, "api-rb-erase"))
		kdxapi_session_close(kdxapi_session0);
	else if (!strcmp(buf, "api-xa-load"))
		kdxapi_sink = (unsigned long)kdxapi_device_queue(kdxapi_device0, READ_ONCE(kdxapi_qid));
	else if (!strcmp(buf, "api-strlen"))
		kdxapi_sink = kdxapi_fw_desc_namelen(kdxapi_fw_desc0);
	else if (!strcmp(buf, "api-kobject"))
		kdxapi_sink = (unsigned long)kdxapi_port_get_phy(kdxapi_port0);
	else if (!strcmp(buf, "ret-null-lookup"))
		kdxapi_sink = kdxapi_stats_mode();
	else if (!strcmp(buf, "ret-err-ptr"))
		kdxapi_sink = kdxapi_fw_file_size(READ_ONCE(kdxapi_fw_path));
	else if (!strcmp(buf, "tail-call-null-op"))
		kdxapi_sink = kdxapi_dev_open(kdxapi_dev0);
	else if (!strcmp(buf, "null-work-func"))
		kdxapi_sink = kdxapi_event_post(kdxapi_event0, READ_ONCE(kdxapi_event_type));
	else
		return -EINVAL;
	return len;
}

static const struct file_operations kdxapi_crash_fops = {
	.owner = THIS_MODULE,
	.write = kdxapi_crash_write,
};

static int __init kdxapi_init(void)
{
	kdxapi_adapter0 = kzalloc(sizeof(*kdxapi_adapter0), GFP_KERNEL);
	kdxapi_cmd0 = kzalloc(sizeof(*kdxapi_cmd0), GFP_KERNEL);
	kdxapi_chan0 = kzalloc(sizeof(*kdxapi_chan0), GFP_KERNEL);
	kdxapi_rxq0 = kzalloc(sizeof(*kdxapi_rxq0), GFP_KERNEL);
	kdxapi_host0 = kzalloc(sizeof(*kdxapi_host0), GFP_KERNEL);
	kdxapi_session0 = kzalloc(sizeof(*kdxapi_session0), GFP_KERNEL);
	kdxapi_device0 = kzalloc(sizeof(*kdxapi_device0), GFP_KERNEL);
	kdxapi_fw_desc0 = kzalloc(sizeof(*kdxapi_fw_desc0), GFP_KERNEL);
	kdxapi_port0 = kzalloc(sizeof(*kdxapi_port0), GFP_KERNEL);
	kdxapi_dev0 = kzalloc(sizeof(*kdxapi_dev0), GFP_KERNEL);
	kdxapi_event0 = kzalloc(sizeof(*kdxapi_event0), GFP_KERNEL);
	if (!kdxapi_adapter0 || !kdxapi_cmd0 || !kdxapi_chan0 || !kdxapi_rxq0 ||
	    !kdxapi_host0 || !kdxapi_session0 || !kdxapi_device0 || !kdxapi_fw_desc0 ||
	    !kdxapi_port0 || !kdxapi_dev0 || !kdxapi_event0)
		return -ENOMEM;

	strscpy(kdxapi_adapter0->name, "kdxapi0", sizeof(kdxapi_adapter0->name));
	kdxapi_adapter0->index = 2;
	kdxapi_cmd0->tag = 0x1001;
	kdxapi_chan0->id = 7;
	kdxapi_rxq0->low_mark = 32;
	strscpy(kdxapi_host0->name, "host0", sizeof(kdxapi_host0->name));
	kdxapi_session0->id = 0x5e55;
	strscpy(kdxapi_device0->name, "kdxapi-dev0", sizeof(kdxapi_device0->name));
	kdxapi_fw_desc0->type = 1;
	kdxapi_fw_desc0->size = 65536;
	kdxapi_port0->index = 1;
	strscpy(kdxapi_dev0->name, "kdxapi-null", sizeof(kdxapi_dev0->name));
	kdxapi_dev0->ops = &kdxapi_null_ops;

	kdxapi_debugfs = debugfs_create_dir("kdxapi", NULL);
	debugfs_create_file("crash", 0200, kdxapi_debugfs, NULL, &kdxapi_crash_fops);
	return 0;
}

module_init(kdxapi_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdumpext crash fixtures: bad values handed to kernel APIs");
