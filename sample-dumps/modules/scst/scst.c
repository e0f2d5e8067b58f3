// SPDX-License-Identifier: GPL-2.0
/*
 * scst: a replica of the SCST crash that kdumpext was founded on.
 *
 * A command thread named "scstd30" finishes commands; finishing updates the
 * device's latency statistics through dev->vdev_update_lat_stats, a function
 * pointer at offset 0x240 of struct scst_device.  Writing to
 * /sys/kernel/debug/scst/queue_bad_cmd queues a command whose ->dev is NULL:
 * scst_update_lat_stats() then reads cmd->dev->vdev_update_lat_stats and oopses.
 */
#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/debugfs.h>
#include <linux/ktime.h>

struct scst_cmd;

struct scst_device {
	struct list_head dev_list_entry;	/* 0x000 */
	char virt_name[64];			/* 0x010 */
	unsigned int block_shift;		/* 0x050 */
	unsigned int dev_double_ua_possible;	/* 0x054 */
	u64 lat_stats[60];			/* 0x058 */
	spinlock_t dev_lock;			/* 0x238 */
	void (*vdev_update_lat_stats)(struct scst_cmd *cmd);	/* 0x240 */
	void *dh_priv;				/* 0x248 */
};

struct scst_cmd {
	struct list_head cmd_list_entry;	/* 0x00 */
	u64 tag;				/* 0x10 */
	u32 queue_type;				/* 0x18 */
	u32 status;				/* 0x1c */
	ktime_t start_time;			/* 0x20 */
	ktime_t lat_start;			/* 0x28 */
	u64 bufflen;				/* 0x30 */
	void *tgt_priv;				/* 0x38 */
	struct scst_device *dev;		/* 0x40 */
	u8 cdb[16];				/* 0x48 */
};

static LIST_HEAD(scst_active_cmd_list);
static DEFINE_SPINLOCK(scst_list_lock);
static DECLARE_WAIT_QUEUE_HEAD(scst_cmd_waitq);
static struct task_struct *scst_thread;
static struct dentry *scst_debugfs;
struct scst_device *scst_default_dev;

static void scst_dev_lat_stats(struct scst_cmd *cmd)
{
	struct scst_device *dev = cmd->dev;

	dev->lat_stats[cmd->queue_type & 31] += ktime_to_ns(ktime_sub(ktime_get(), cmd->lat_start));
}

static noinline void scst_update_lat_stats(struct scst_cmd *cmd)
{
	cmd->lat_start = ktime_get();
	if (cmd->dev->vdev_update_lat_stats)
		cmd->dev->vdev_update_lat_stats(cmd);
	cmd->status = 0;
}

static noinline void scst_finish_cmd(struct scst_cmd *cmd)
{
	scst_update_lat_stats(cmd);
	pr_info("scst: cmd %llu finished, status %u\n", cmd->tag, cmd->status);
	kfree(cmd);
}

static int scst_cmd_thread(void *arg)
{
	while (!kthread_should_stop()) {
		struct scst_cmd *cmd = NULL;

		wait_event_interruptible(scst_cmd_waitq,
					 !list_empty(&scst_active_cmd_list) || kthread_should_stop());
		spin_lock(&scst_list_lock);
		if (!list_empty(&scst_active_cmd_list)) {
			cmd = list_first_entry(&scst_active_cmd_list, struct scst_cmd, cmd_list_entry);
			list_del(&cmd->cmd_list_entry);
		}
		spin_unlock(&scst_list_lock);
		if (cmd)
			scst_finish_cmd(cmd);
	}
	return 0;
}

static ssize_t scst_queue_bad_cmd(struct file *file, const char __user *buf,
				  size_t len, loff_t *ppos)
{
	struct scst_cmd *cmd = kzalloc(sizeof(*cmd), GFP_KERNEL);

	if (!cmd)
		return -ENOMEM;
	cmd->tag = 0x1234;
	cmd->bufflen = 4096;
	cmd->start_time = ktime_get();
	cmd->dev = NULL;	/* the bug: a command queued before its device was attached */
	spin_lock(&scst_list_lock);
	list_add_tail(&cmd->cmd_list_entry, &scst_active_cmd_list);
	spin_unlock(&scst_list_lock);
	wake_up(&scst_cmd_waitq);
	return len;
}

static const struct file_operations scst_bad_cmd_fops = {
	.owner = THIS_MODULE,
	.write = scst_queue_bad_cmd,
};

static int __init scst_init(void)
{
	scst_default_dev = kzalloc(sizeof(*scst_default_dev), GFP_KERNEL);
	if (!scst_default_dev)
		return -ENOMEM;
	scst_default_dev->vdev_update_lat_stats = scst_dev_lat_stats;
	scst_debugfs = debugfs_create_dir("scst", NULL);
	debugfs_create_file("queue_bad_cmd", 0200, scst_debugfs, NULL, &scst_bad_cmd_fops);
	scst_thread = kthread_create(scst_cmd_thread, NULL, "scstd%d", 30);
	if (IS_ERR(scst_thread))
		return PTR_ERR(scst_thread);
	kthread_bind(scst_thread, 0);	/* the same CPU every run: the corpus' answers stay put */
	wake_up_process(scst_thread);
	return 0;
}

static void __exit scst_exit(void)
{
	kthread_stop(scst_thread);
	debugfs_remove_recursive(scst_debugfs);
	kfree(scst_default_dev);
}

module_init(scst_init);
module_exit(scst_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdumpext fixture: replica of the SCST cmd->dev NULL crash");
