// SPDX-License-Identifier: GPL-2.0
/*
 * kdxbig: ballast for kdumpext's scale bench (bench/distro-dump --big).
 *
 * At load it takes mb= MiB (default 3328) of kernel memory the three ways kernel code
 * does -- slab objects (kmalloc, sizes 512..8192), page blocks (alloc_pages, order 2,
 * order 0 when that fails) and vmalloc areas -- and writes every page: a header (magic,
 * page number, kind) and a byte that differs from page to page, so makedumpfile -d 31
 * keeps them all (not zero, not cache, not user, not free).  It holds them until the
 * machine crashes; it crashes nothing itself: bench/distro-init then loads kdxd.ko and
 * crashes it exactly as on the small dump, so both dumps carry the same crash and only
 * their size differs.  What it got is in /sys/kernel/debug/kdxbig/got and in dmesg.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/sched.h>
#include <linux/debugfs.h>

static unsigned int mb = 3328;
module_param(mb, uint, 0444);
MODULE_PARM_DESC(mb, "MiB of kernel memory to allocate and fill");

#define KDXBIG_MAGIC	0x6b6478626967ULL	/* "kdxbig" */
#define KDXBIG_ORDER	2
#define KDXBIG_VCHUNK	(8UL << 20)

struct kdxbig_page_head {
	u64 magic;
	u64 page_no;
	u32 kind;	/* 1 slab, 2 pages, 3 vmalloc */
	u32 size;
};

struct kdxbig_block {	/* one alloc_pages() block */
	struct page *page;
	unsigned int order;
};

struct kdxbig_state {
	void **slab;			/* kmalloc'ed objects */
	unsigned long nslab;
	struct kdxbig_block *blocks;	/* alloc_pages() blocks */
	unsigned long nblocks;
	void **vareas;			/* vmalloc'ed areas */
	unsigned long nvareas;
	u64 bytes[4];			/* per kind */
	u64 pages_filled;
};

struct kdxbig_state kdxbig;
static struct dentry *kdxbig_debugfs;

/* fill [p, p+len): one 4 KiB piece at a time, each with its own byte and a header */
static void kdxbig_fill(void *p, size_t len, u32 kind)
{
	size_t off;

	for (off = 0; off < len; off += PAGE_SIZE) {
		size_t n = min_t(size_t, PAGE_SIZE, len - off);
		u64 no = kdxbig.pages_filled++;
		struct kdxbig_page_head *h = p + off;

		memset(p + off, 0x11 + (u8)(no * 13 % 0xee), n);
		if (n >= sizeof(*h)) {
			h->magic = KDXBIG_MAGIC;
			h->page_no = no;
			h->kind = kind;
			h->size = n;
		}
	}
	kdxbig.bytes[kind] += len;
}

static void kdxbig_free(void)
{
	unsigned long i;

	for (i = 0; i < kdxbig.nslab; i++)
		kfree(kdxbig.slab[i]);
	for (i = 0; i < kdxbig.nblocks; i++)
		__free_pages(kdxbig.blocks[i].page, kdxbig.blocks[i].order);
	for (i = 0; i < kdxbig.nvareas; i++)
		vfree(kdxbig.vareas[i]);
	vfree(kdxbig.slab);
	vfree(kdxbig.blocks);
	vfree(kdxbig.vareas);
	memset(&kdxbig, 0, sizeof(kdxbig));
}

static int kdxbig_got_show(struct seq_file *m, void *v)
{
	seq_printf(m, "slab %llu pages %llu vmalloc %llu bytes, %lu objects %lu blocks %lu areas\n",
		   kdxbig.bytes[1], kdxbig.bytes[2], kdxbig.bytes[3],
		   kdxbig.nslab, kdxbig.nblocks, kdxbig.nvareas);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kdxbig_got);

static int __init kdxbig_init(void)
{
	static const unsigned int sizes[] = { 512, 1024, 2048, 4096, 8192 };
	u64 total = (u64)mb << 20;
	u64 want_slab = total / 6, want_vmalloc = total / 4;
	u64 want_pages = total - want_slab - want_vmalloc;
	unsigned long max_slab = want_slab / 512 + 1;
	unsigned long max_blocks = want_pages / PAGE_SIZE + 1;	/* order 0 at worst */
	unsigned long max_vareas = want_vmalloc / KDXBIG_VCHUNK + 1;
	gfp_t gfp = GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN;
	u64 got;

	kdxbig.slab = vzalloc(max_slab * sizeof(void *));
	kdxbig.blocks = vzalloc(max_blocks * sizeof(struct kdxbig_block));
	kdxbig.vareas = vzalloc(max_vareas * sizeof(void *));
	if (!kdxbig.slab || !kdxbig.blocks || !kdxbig.vareas) {
		kdxbig_free();
		return -ENOMEM;
	}

	/* slab objects */
	for (got = 0; got < want_slab && kdxbig.nslab < max_slab; ) {
		unsigned int size = sizes[kdxbig.nslab % ARRAY_SIZE(sizes)];
		void *obj = kmalloc(size, gfp);

		if (!obj)
			break;
		kdxbig_fill(obj, size, 1);
		kdxbig.slab[kdxbig.nslab++] = obj;
		got += size;
		if (!(kdxbig.nslab & 1023))
			cond_resched();
	}

	/* page blocks */
	for (got = 0; got < want_pages && kdxbig.nblocks < max_blocks; ) {
		unsigned int order = KDXBIG_ORDER;
		struct page *page = alloc_pages(gfp, order);

		if (!page) {
			order = 0;
			page = alloc_pages(gfp, order);
		}
		if (!page)
			break;
		kdxbig_fill(page_address(page), PAGE_SIZE << order, 2);
		kdxbig.blocks[kdxbig.nblocks].page = page;
		kdxbig.blocks[kdxbig.nblocks++].order = order;
		got += PAGE_SIZE << order;
		if (!(kdxbig.nblocks & 255))
			cond_resched();
	}

	/* vmalloc areas */
	for (got = 0; got < want_vmalloc && kdxbig.nvareas < max_vareas; ) {
		void *area = vmalloc(KDXBIG_VCHUNK);

		if (!area)
			break;
		kdxbig_fill(area, KDXBIG_VCHUNK, 3);
		kdxbig.vareas[kdxbig.nvareas++] = area;
		got += KDXBIG_VCHUNK;
		cond_resched();
	}

	pr_info("kdxbig: asked %u MiB; slab %llu MiB in %lu objects, pages %llu MiB in %lu blocks, vmalloc %llu MiB in %lu areas\n",
		mb, kdxbig.bytes[1] >> 20, kdxbig.nslab, kdxbig.bytes[2] >> 20, kdxbig.nblocks,
		kdxbig.bytes[3] >> 20, kdxbig.nvareas);
	kdxbig_debugfs = debugfs_create_dir("kdxbig", NULL);
	debugfs_create_file("got", 0444, kdxbig_debugfs, NULL, &kdxbig_got_fops);
	return 0;
}

static void __exit kdxbig_exit(void)
{
	debugfs_remove_recursive(kdxbig_debugfs);
	kdxbig_free();
}

module_init(kdxbig_init);
module_exit(kdxbig_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdumpext scale-bench ballast: fills gigabytes of kernel memory");
