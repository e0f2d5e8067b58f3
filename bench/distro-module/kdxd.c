// SPDX-License-Identifier: GPL-2.0
/*
 * kdxd: the crash fixture for kdumpext's benchmark on a Debian distro kernel.
 *
 * A flush thread "kdxd_flush" completes block-like requests queued on
 * kdxd_pending.  Completing a request folds its latency into the statistics of
 * the queue it was issued on: req->queue->stats.max_lat_ns, a member of a struct
 * embedded at a non-zero offset of struct kdxd_queue.  Writing anything to
 * /sys/kernel/debug/kdxd/queue_orphan queues a request whose ->queue is NULL
 * (the bug: a request issued before its queue was attached); the flush thread
 * then oopses in kdxd_account_latency().  The expected answer is written from
 * the machine code (objdump -d kdxd.ko), not from this C: bench/README.md.
 */
#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/debugfs.h>
#include <linux/ktime.h>

struct kdxd_stats {
	u64 submitted;
	u64 completed;
	u64 errors;
	u64 total_lat_ns;
	u64 max_lat_ns;
};

struct kdxd_queue {
	struct list_head node;
	char name[32];
	unsigned int id;
	unsigned int depth;
	unsigned long flags;
	spinlock_t lock;
	struct list_head inflight;
	struct kdxd_stats stats;
	void *priv;
};

struct kdxd_req {
	struct list_head node;
	u64 tag;
	u32 op;
	u32 flags;
	ktime_t issued;
	unsigned int bytes;
	int error;
	struct kdxd_queue *queue;
	void *buf;
};

static LIST_HEAD(kdxd_pending);
static DEFINE_SPINLOCK(kdxd_pending_lock);
static DECLARE_WAIT_QUEUE_HEAD(kdxd_waitq);
static struct task_struct *kdxd_thread;
static struct dentry *kdxd_debugfs;
struct kdxd_queue *kdxd_queue0;

static noinline void kdxd_account_latency(struct kdxd_req *req)
{
	u64 lat = ktime_to_ns(ktime_sub(ktime_get(), req->issued));

	if (lat > req->queue->stats.max_lat_ns)
		req->queue->stats.max_lat_ns = lat;
	req->queue->stats.total_lat_ns += lat;
}

static noinline void kdxd_complete_req(struct kdxd_req *req)
{
	kdxd_account_latency(req);
	if (req->error)
		req->queue->stats.errors++;
	req->queue->stats.completed++;
	pr_info("kdxd: req %llu completed, %u bytes\n", req->tag, req->bytes);
	kfree(req);
}

static int kdxd_flush_thread(void *arg)
{
	while (!kthread_should_stop()) {
		struct kdxd_req *req = NULL;

		wait_event_interruptible(kdxd_waitq,
					 !list_empty(&kdxd_pending) || kthread_should_stop());
		spin_lock(&kdxd_pending_lock);
		if (!list_empty(&kdxd_pending)) {
			req = list_first_entry(&kdxd_pending, struct kdxd_req, node);
			list_del(&req->node);
		}
		spin_unlock(&kdxd_pending_lock);
		if (req)
			kdxd_complete_req(req);
	}
	return 0;
}

static void kdxd_submit(struct kdxd_queue *q, u64 tag)
{
	struct kdxd_req *req = kzalloc(sizeof(*req), GFP_KERNEL);

	if (!req)
		return;
	req->tag = tag;
	req->bytes = 4096;
	req->issued = ktime_get();
	req->queue = q;
	if (q)
		q->stats.submitted++;
	spin_lock(&kdxd_pending_lock);
	list_add_tail(&req->node, &kdxd_pending);
	spin_unlock(&kdxd_pending_lock);
	wake_up(&kdxd_waitq);
}

static ssize_t kdxd_queue_good_write(struct file *file, const char __user *buf,
				     size_t len, loff_t *ppos)
{
	kdxd_submit(kdxd_queue0, 0x100);
	return len;
}

static ssize_t kdxd_queue_orphan_write(struct file *file, const char __user *buf,
				       size_t len, loff_t *ppos)
{
	kdxd_submit(NULL, 0xbad);	/* the bug: no queue attached yet */
	return len;
}

static const struct file_operations kdxd_good_fops = {
	.owner = THIS_MODULE,
	.write = kdxd_queue_good_write,
};

static const struct file_operations kdxd_orphan_fops = {
	.owner = THIS_MODULE,
	.write = kdxd_queue_orphan_write,
};

static int __init kdxd_init(void)
{
	kdxd_queue0 = kzalloc(sizeof(*kdxd_queue0), GFP_KERNEL);
	if (!kdxd_queue0)
		return -ENOMEM;
	strscpy(kdxd_queue0->name, "kdxd0", sizeof(kdxd_queue0->name));
	kdxd_queue0->depth = 32;
	spin_lock_init(&kdxd_queue0->lock);
	INIT_LIST_HEAD(&kdxd_queue0->inflight);

	kdxd_thread = kthread_run(kdxd_flush_thread, NULL, "kdxd_flush");
	if (IS_ERR(kdxd_thread)) {
		kfree(kdxd_queue0);
		return PTR_ERR(kdxd_thread);
	}
	kdxd_debugfs = debugfs_create_dir("kdxd", NULL);
	debugfs_create_file("queue_good", 0200, kdxd_debugfs, NULL, &kdxd_good_fops);
	debugfs_create_file("queue_orphan", 0200, kdxd_debugfs, NULL, &kdxd_orphan_fops);
	return 0;
}

static void __exit kdxd_exit(void)
{
	debugfs_remove_recursive(kdxd_debugfs);
	kthread_stop(kdxd_thread);
	kfree(kdxd_queue0);
}

module_init(kdxd_init);
module_exit(kdxd_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdumpext benchmark crash fixture for a distro kernel");
