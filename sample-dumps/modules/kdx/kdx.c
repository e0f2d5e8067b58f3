// SPDX-License-Identifier: GPL-2.0
/*
 * kdx: crash fixtures for kdumpext, one distinct code shape per scenario.
 *
 * Writing a scenario name to /sys/kernel/debug/kdx/crash runs it in the
 * writer's context ("cpu1-null" wakes a kthread bound to CPU 1 instead).
 * The data each scenario trips over is set up at module load and reached
 * through globals, so that the compiler cannot see the bad values.
 * Expected answers are written from the machine code (objdump -d kdx.ko),
 * beside each dump in ../../<scenario>/<stamp>/expected.json.
 */
#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/delay.h>
#include <linux/string.h>

/* b. a NULL function pointer called through an ops table: n->ops->xmit(...) */
struct kdx_skb {
	void *data;
	u32 len;
	u32 protocol;
};

struct kdx_netdev;

struct kdx_net_ops {
	int (*open)(struct kdx_netdev *n);
	int (*stop)(struct kdx_netdev *n);
	int (*xmit)(struct kdx_netdev *n, struct kdx_skb *skb);
	int (*set_mtu)(struct kdx_netdev *n, int mtu);
};

struct kdx_netdev {
	char name[16];
	unsigned long state;
	const struct kdx_net_ops *ops;
	u64 tx_packets;
	u64 tx_bytes;
};

static int kdx_loop_open(struct kdx_netdev *n) { return 0; }
static int kdx_loop_stop(struct kdx_netdev *n) { return 0; }

static const struct kdx_net_ops kdx_loop_ops = {
	.open = kdx_loop_open,
	.stop = kdx_loop_stop,
	/* .xmit missing: the bug */
};

struct kdx_netdev *kdx_netdev0;
struct kdx_skb *kdx_skb0;

noinline int kdx_dev_queue_xmit(struct kdx_netdev *n, struct kdx_skb *skb)
{
	int ret;

	ret = n->ops->xmit(n, skb);
	if (ret == 0) {
		n->tx_packets++;
		n->tx_bytes += skb->len;
	}
	return ret;
}

/* c. a NULL pointer two levels down: h->port->rxq->qlen with h->port->rxq NULL */
struct kdx_queue {
	spinlock_t lock;
	u32 flags;
	u64 enqueued;
	u64 dropped;
	u32 qlen;
	u32 limit;
};

struct kdx_port {
	u32 id;
	u32 mtu;
	struct kdx_queue *txq;
	struct kdx_queue *rxq;
};

struct kdx_host {
	char name[32];
	u64 flags;
	struct kdx_port *port;
};

struct kdx_host *kdx_host0;

noinline u32 kdx_host_rx_backlog(struct kdx_host *h)
{
	return h->port->rxq->qlen;
}

/* d. a NULL element of an array of pointers: r->slots[i]->len with slots[3] NULL */
struct kdx_buf {
	void *data;
	u32 len;
	u32 headroom;
};

struct kdx_ring {
	u32 head;
	u32 tail;
	u64 generation;
	struct kdx_buf *slots[8];
};

struct kdx_ring *kdx_ring0;
unsigned int kdx_ring_index = 3;

noinline u32 kdx_ring_slot_len(struct kdx_ring *r, unsigned int i)
{
	return r->slots[i]->len;
}

/* e. a NULL pointer coming out of an inlined helper, dereferenced by another */
struct kdx_session {
	u64 id;
	u32 state;
	u32 timeout_ms;
};

struct kdx_conn {
	u32 retries;
	u32 port;
	struct kdx_session *sess;
};

struct kdx_conn *kdx_conn0;

static inline struct kdx_session *kdx_conn_session(struct kdx_conn *c)
{
	return READ_ONCE(c->sess);
}

static inline u32 kdx_session_timeout(const struct kdx_session *s)
{
	return s->timeout_ms;
}

noinline u32 kdx_conn_arm_timer(struct kdx_conn *c)
{
	struct kdx_session *s = kdx_conn_session(c);

	return kdx_session_timeout(s) + c->retries;
}

/* f. a write (not a read) through a NULL pointer: f->owner->last_error = err */
struct kdx_owner {
	u64 id;
	u32 refs;
	int last_error;
};

struct kdx_flow {
	u32 hash;
	u32 mark;
	struct kdx_owner *owner;
};

struct kdx_flow *kdx_flow0;
int kdx_flow_err = -EIO;

noinline void kdx_flow_set_error(struct kdx_flow *f, int err)
{
	f->owner->last_error = err;
}

/* g. an ERR_PTR() value used as a pointer: d = kdx_probe(); d->irq */
struct kdx_device {
	char name[32];
	u64 features;
	void *priv;
	u32 mmio_len;
	u32 irq;
};

int kdx_probe_ok;

noinline struct kdx_device *kdx_probe(const char *name)
{
	struct kdx_device *d;

	if (!READ_ONCE(kdx_probe_ok))
		return ERR_PTR(-ENODEV);
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return ERR_PTR(-ENOMEM);
	strscpy(d->name, name, sizeof(d->name));
	return d;
}

noinline u32 kdx_attach(const char *name)
{
	struct kdx_device *d = kdx_probe(name);

	return d->irq;	/* the bug: no IS_ERR(d) check */
}

/* h. a list entry used after list_del(): LIST_POISON1 */
struct kdx_req {
	struct list_head node;
	u64 tag;
	u32 flags;
};

struct kdx_req *kdx_req0;

noinline u64 kdx_req_next_tag(struct kdx_req *req)
{
	struct kdx_req *next = list_next_entry(req, node);

	return next->tag;
}

/* k. a crash on CPU 1 in a kthread reached through container_of() */
struct kdx_stats {
	u64 polls;
	u64 errors;
};

struct kdx_poller {
	u64 interval_ms;
	struct kdx_stats *stats;
	struct list_head item;
};

struct kdx_poller *kdx_poller0;
static struct task_struct *kdx_poll_task;

noinline void kdx_poll_once(struct list_head *item)
{
	struct kdx_poller *p = container_of(item, struct kdx_poller, item);

	p->stats->polls++;
}

static int kdx_poll_thread(void *arg)
{
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		if (kthread_should_stop())
			break;
		kdx_poll_once(arg);
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* the trigger */
static volatile u64 kdx_sink;

static ssize_t kdx_crash_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char buf[32];

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	strim(buf);
	pr_info("kdx: scenario %s\n", buf);

	if (!strcmp(buf, "null-fn-call"))
		kdx_sink = kdx_dev_queue_xmit(kdx_netdev0, kdx_skb0);
	else if (!strcmp(buf, "null-two-levels"))
		kdx_sink = kdx_host_rx_backlog(kdx_host0);
	else if (!strcmp(buf, "null-array-slot"))
		kdx_sink = kdx_ring_slot_len(kdx_ring0, READ_ONCE(kdx_ring_index));
	else if (!strcmp(buf, "null-inlined"))
		kdx_sink = kdx_conn_arm_timer(kdx_conn0);
	else if (!strcmp(buf, "null-write"))
		kdx_flow_set_error(kdx_flow0, READ_ONCE(kdx_flow_err));
	else if (!strcmp(buf, "err-ptr"))
		kdx_sink = kdx_attach("kdx0");
	else if (!strcmp(buf, "list-poison")) {
		list_del(&kdx_req0->node);
		kdx_sink = kdx_req_next_tag(kdx_req0);
	} else if (!strcmp(buf, "cpu1-null")) {
		wake_up_process(kdx_poll_task);
	} else
		return -EINVAL;
	return len;
}

static const struct file_operations kdx_crash_fops = {
	.owner = THIS_MODULE,
	.write = kdx_crash_write,
};

static struct dentry *kdx_debugfs;
static LIST_HEAD(kdx_req_list);

static int __init kdx_init(void)
{
	kdx_netdev0 = kzalloc(sizeof(*kdx_netdev0), GFP_KERNEL);
	kdx_skb0 = kzalloc(sizeof(*kdx_skb0), GFP_KERNEL);
	kdx_host0 = kzalloc(sizeof(*kdx_host0), GFP_KERNEL);
	kdx_ring0 = kzalloc(sizeof(*kdx_ring0), GFP_KERNEL);
	kdx_conn0 = kzalloc(sizeof(*kdx_conn0), GFP_KERNEL);
	kdx_flow0 = kzalloc(sizeof(*kdx_flow0), GFP_KERNEL);
	kdx_req0 = kzalloc(sizeof(*kdx_req0), GFP_KERNEL);
	kdx_poller0 = kzalloc(sizeof(*kdx_poller0), GFP_KERNEL);
	if (!kdx_netdev0 || !kdx_skb0 || !kdx_host0 || !kdx_ring0 || !kdx_conn0 ||
	    !kdx_flow0 || !kdx_req0 || !kdx_poller0)
		return -ENOMEM;

	strscpy(kdx_netdev0->name, "kdx0", sizeof(kdx_netdev0->name));
	kdx_netdev0->ops = &kdx_loop_ops;
	kdx_skb0->len = 1500;

	strscpy(kdx_host0->name, "host0", sizeof(kdx_host0->name));
	kdx_host0->port = kzalloc(sizeof(*kdx_host0->port), GFP_KERNEL);	/* ->rxq stays NULL */
	if (!kdx_host0->port)
		return -ENOMEM;
	kdx_host0->port->txq = kzalloc(sizeof(struct kdx_queue), GFP_KERNEL);

	kdx_ring0->tail = 8;
	for (int i = 0; i < 8; i++)
		if (i != 3)
			kdx_ring0->slots[i] = kzalloc(sizeof(struct kdx_buf), GFP_KERNEL);

	kdx_conn0->retries = 3;		/* ->sess stays NULL */
	kdx_flow0->hash = 0xabcd;	/* ->owner stays NULL */

	kdx_req0->tag = 42;
	list_add(&kdx_req0->node, &kdx_req_list);

	kdx_poller0->interval_ms = 100;	/* ->stats stays NULL */
	INIT_LIST_HEAD(&kdx_poller0->item);
	kdx_poll_task = kthread_create_on_cpu(kdx_poll_thread, &kdx_poller0->item, 1, "kdx_poll/%u");
	if (IS_ERR(kdx_poll_task))
		return PTR_ERR(kdx_poll_task);
	wake_up_process(kdx_poll_task);

	kdx_debugfs = debugfs_create_dir("kdx", NULL);
	debugfs_create_file("crash", 0200, kdx_debugfs, NULL, &kdx_crash_fops);
	return 0;
}

module_init(kdx_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdumpext crash fixtures");
