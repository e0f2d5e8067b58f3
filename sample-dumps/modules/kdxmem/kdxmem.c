// SPDX-License-Identifier: GPL-2.0
/*
 * kdxmem: a NULL destination handed to memcpy(), so the fault is in the library
 * routine, not in the function with the bug.  Writing to
 * /sys/kernel/debug/kdxmem/crash runs kdx_msg_fill() in the writer's context.
 * (A module of its own so that kdx.ko, which the other dumps were made with, stays
 * byte for byte the same.)
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/debugfs.h>
#include <linux/string.h>

struct kdx_msg {
	u32 len;
	u32 flags;
	u8 *payload;
};

struct kdx_msg *kdx_msg0;
u8 kdx_msg_src[64];
unsigned int kdx_msg_len = 48;

noinline void kdx_msg_fill(struct kdx_msg *m, const void *src, size_t len)
{
	memcpy(m->payload, src, len);	/* the bug: m->payload was never allocated */
	m->len = len;
}

static ssize_t kdxmem_crash_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	kdx_msg_fill(kdx_msg0, kdx_msg_src, READ_ONCE(kdx_msg_len));
	return len;
}

static const struct file_operations kdxmem_crash_fops = {
	.owner = THIS_MODULE,
	.write = kdxmem_crash_write,
};

static struct dentry *kdxmem_debugfs;

static int __init kdxmem_init(void)
{
	kdx_msg0 = kzalloc(sizeof(*kdx_msg0), GFP_KERNEL);	/* ->payload stays NULL */
	if (!kdx_msg0)
		return -ENOMEM;
	kdxmem_debugfs = debugfs_create_dir("kdxmem", NULL);
	debugfs_create_file("crash", 0200, kdxmem_debugfs, NULL, &kdxmem_crash_fops);
	return 0;
}

module_init(kdxmem_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdumpext crash fixture: NULL destination for memcpy()");
