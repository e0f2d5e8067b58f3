// SPDX-License-Identifier: GPL-2.0
/*
 * kdxobj: crash fixtures about the object a bad pointer was read from: is it alive, and
 * do the other objects of its slab cache hold the same bad value?
 *
 *   obj-uaf      a request is completed and freed, but the host's watchdog still points at
 *                it and reads req->queue from the freed object (boot with slub_debug=PU: the
 *                freed object is poisoned with 0x6b, its allocation and free are recorded)
 *   obj-one-bad  one request of many is aborted (its queue cleared) but left on the host's
 *                pending list; resubmitting the list reaches it: one object's bug
 *   obj-all-bad  a bulk allocation path forgets to set the queue of every request it makes:
 *                every object of the cache is bad, an initialisation bug
 *
 * Writing a scenario name to /sys/kernel/debug/kdxobj/crash sets up that scenario's
 * requests (from the module's own cache, kdxobj_req, never merged with another: it has a
 * usercopy region) and runs it in the writer's context.  The host is reached through a
 * global so that GCC cannot see the bad values.  Expected answers are written from the
 * machine code (objdump -dr kdxobj.ko) and the dump's memory, beside each dump in
 * ../../<scenario>/<stamp>/expected.json.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/debugfs.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/jiffies.h>
#include <linux/string.h>

#define KDXOBJ_NR_QUEUES	4
#define KDXOBJ_REQ_ABORTED	0x4

struct kdxobj_queue {
	char name[16];
	u32 qid;
	u32 depth;
	u64 submitted;
	u64 completed;
};

struct kdxobj_req {
	struct list_head node;		/* on host->pending */
	u32 tag;
	u32 flags;
	u64 lba;
	u32 len;
	u32 retries;
	struct kdxobj_queue *queue;
	unsigned long deadline;
	u8 sense[32];			/* copied out to user space: the cache's usercopy region */
};

struct kdxobj_host {
	char name[16];
	spinlock_t lock;
	u32 nr_reqs;
	struct list_head pending;
	struct kdxobj_req *timed_out;	/* the request the watchdog looks at next */
	u64 resubmits;
	struct kdxobj_queue queues[KDXOBJ_NR_QUEUES];
};

static struct kmem_cache *kdxobj_req_cache;
struct kdxobj_host *kdxobj_host0;

static noinline struct kdxobj_req *kdxobj_req_alloc(struct kdxobj_host *host, u32 tag)
{
	struct kdxobj_req *req = kmem_cache_zalloc(kdxobj_req_cache, GFP_KERNEL);

	if (!req)
		return NULL;
	req->tag = tag;
	req->lba = (u64)tag * 8;
	req->len = 4096;
	req->queue = &host->queues[tag % KDXOBJ_NR_QUEUES];
	req->deadline = jiffies + HZ;
	list_add_tail(&req->node, &host->pending);
	host->nr_reqs++;
	return req;
}

/* the bulk path of obj-all-bad: the same as kdxobj_req_alloc() but it never sets req->queue */
static noinline int kdxobj_req_alloc_bulk(struct kdxobj_host *host, u32 first, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		struct kdxobj_req *req = kmem_cache_zalloc(kdxobj_req_cache, GFP_KERNEL);

		if (!req)
			return -ENOMEM;
		req->tag = first + i;
		req->lba = (u64)(first + i) * 8;
		req->len = 4096;
		req->deadline = jiffies + HZ;
		list_add_tail(&req->node, &host->pending);
		host->nr_reqs++;
	}
	return 0;
}

/* obj-uaf: completes and frees the request, but leaves host->timed_out pointing at it */
static noinline void kdxobj_req_complete(struct kdxobj_host *host, struct kdxobj_req *req)
{
	spin_lock(&host->lock);
	list_del(&req->node);
	host->nr_reqs--;
	spin_unlock(&host->lock);
	req->queue->completed++;
	kmem_cache_free(kdxobj_req_cache, req);
}

static noinline u64 kdxobj_watchdog(struct kdxobj_host *host)
{
	struct kdxobj_req *req = READ_ONCE(host->timed_out);

	if (!req)
		return 0;
	/* requeue the timed-out request on its queue */
	req->retries++;
	return ++req->queue->submitted;
}

/* obj-one-bad: the abort clears the queue but leaves the request on the pending list */
static noinline void kdxobj_req_abort(struct kdxobj_req *req)
{
	req->flags |= KDXOBJ_REQ_ABORTED;
	req->queue = NULL;
}

static noinline u64 kdxobj_host_resubmit(struct kdxobj_host *host)
{
	struct kdxobj_req *req;
	u64 n = 0;

	list_for_each_entry(req, &host->pending, node) {
		req->queue->submitted++;
		req->deadline = jiffies + HZ;
		n++;
	}
	host->resubmits += n;
	return n;
}

static struct kdxobj_host *kdxobj_host_create(const char *name)
{
	struct kdxobj_host *host = kzalloc(sizeof(*host), GFP_KERNEL);
	int i;

	if (!host)
		return NULL;
	strscpy(host->name, name, sizeof(host->name));
	spin_lock_init(&host->lock);
	INIT_LIST_HEAD(&host->pending);
	for (i = 0; i < KDXOBJ_NR_QUEUES; i++) {
		snprintf(host->queues[i].name, sizeof(host->queues[i].name), "%s-q%d", name, i);
		host->queues[i].qid = i;
		host->queues[i].depth = 256;
	}
	return host;
}

/* the trigger */
static volatile u64 kdxobj_sink;

static ssize_t kdxobj_crash_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	struct kdxobj_req *req = NULL;
	char buf[32];
	u32 i;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	strim(buf);
	pr_info("kdxobj: scenario %s\n", buf);

	kdxobj_host0 = kdxobj_host_create("kdxobj0");
	if (!kdxobj_host0)
		return -ENOMEM;
	if (!strcmp(buf, "obj-uaf")) {
		for (i = 0; i < 16; i++)
			req = kdxobj_req_alloc(kdxobj_host0, i) ?: req;
		if (!req)
			return -ENOMEM;
		WRITE_ONCE(kdxobj_host0->timed_out, req);
		kdxobj_req_complete(kdxobj_host0, req);
		kdxobj_sink = kdxobj_watchdog(READ_ONCE(kdxobj_host0));
	} else if (!strcmp(buf, "obj-one-bad")) {
		for (i = 0; i < 1024; i++) {
			struct kdxobj_req *r = kdxobj_req_alloc(kdxobj_host0, i);

			if (!r)
				return -ENOMEM;
			if (i == 700)
				req = r;
		}
		kdxobj_req_abort(req);
		kdxobj_sink = kdxobj_host_resubmit(READ_ONCE(kdxobj_host0));
	} else if (!strcmp(buf, "obj-all-bad")) {
		if (kdxobj_req_alloc_bulk(kdxobj_host0, 0, 512))
			return -ENOMEM;
		kdxobj_sink = kdxobj_host_resubmit(READ_ONCE(kdxobj_host0));
	} else {
		return -EINVAL;
	}
	return len;
}

static const struct file_operations kdxobj_crash_fops = {
	.owner = THIS_MODULE,
	.write = kdxobj_crash_write,
};

static struct dentry *kdxobj_debugfs;

static int __init kdxobj_init(void)
{
	kdxobj_req_cache = kmem_cache_create_usercopy("kdxobj_req", sizeof(struct kdxobj_req), 0,
						      SLAB_HWCACHE_ALIGN,
						      offsetof(struct kdxobj_req, sense),
						      sizeof_field(struct kdxobj_req, sense), NULL);
	if (!kdxobj_req_cache)
		return -ENOMEM;
	kdxobj_debugfs = debugfs_create_dir("kdxobj", NULL);
	debugfs_create_file("crash", 0200, kdxobj_debugfs, NULL, &kdxobj_crash_fops);
	return 0;
}

static void __exit kdxobj_exit(void)
{
	debugfs_remove_recursive(kdxobj_debugfs);
	kmem_cache_destroy(kdxobj_req_cache);
}

module_init(kdxobj_init);
module_exit(kdxobj_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdumpext crash fixtures: the object holding a bad pointer, freed or one of many");
