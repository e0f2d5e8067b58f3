"""Tests for kdumpext.addresses: every kind of bad address, its boundaries, errno names."""

from __future__ import annotations

from typing import Optional

import pytest

from kdumpext.addresses import (
    LIST_POISON1,
    LIST_POISON2,
    MAX_ERRNO,
    NULL_LIMIT,
    PAGE_SIZE,
    POISON_POINTER_DELTA,
    POISON_WINDOW,
    SLAB_POISONS,
    classify,
    classify_pointer,
    describe,
    err_ptr_of,
    errno_name,
)
from kdumpext.model import BadAddress

M64 = (1 << 64) - 1


def err_ptr(e: int) -> int:
    """``ERR_PTR(-e)`` as the unsigned value a register holds."""
    return -e & M64


def test_constants_are_the_kernels() -> None:
    # include/linux/poison.h with CONFIG_ILLEGAL_POINTER_VALUE=0xdead000000000000
    assert LIST_POISON1 == 0xDEAD000000000100
    assert LIST_POISON2 == 0xDEAD000000000122
    assert POISON_POINTER_DELTA == 0xDEAD000000000000
    # include/linux/err.h; arch/x86/mm/fault.c's "NULL pointer dereference" test
    assert MAX_ERRNO == 4095
    assert NULL_LIMIT == PAGE_SIZE == 0x1000


# --- null ------------------------------------------------------------------------------


def test_null_plus_offset() -> None:
    # the sample scenario: cmd->dev NULL, reading dev->vdev_update_lat_stats at 0x240
    bad = classify(0x240)
    assert bad == BadAddress(0x240, "null", base=0, offset=0x240, detail="NULL + 0x240")
    assert describe(bad) == "NULL + 0x240"
    assert describe(classify(0)) == "NULL"


def test_null_boundary_is_page_size() -> None:
    assert classify(NULL_LIMIT - 1).kind == "null"
    assert classify(NULL_LIMIT).kind == "user"


def test_err_ptr_plus_offset_is_null_by_address_alone() -> None:
    """ERR_PTR(-ENODEV) + 0x40 wraps to 0x2d: the address alone says NULL, the
    pointer says ERR_PTR."""
    assert classify(0x2D).kind == "null"
    bad = classify_pointer(err_ptr(19), 0x40)
    assert (bad.address, bad.kind, bad.base, bad.offset) == (0x2D, "err-ptr", err_ptr(19), 0x40)
    assert bad.detail == "ERR_PTR(-ENODEV)"
    assert describe(bad) == "ERR_PTR(-ENODEV) + 0x40"


def test_null_pointer_with_negative_displacement() -> None:
    # container_of() on NULL: -0x8(%rax) with %rax == 0
    bad = classify_pointer(0, -8)
    assert (bad.address, bad.kind, bad.offset) == (0xFFFFFFFFFFFFFFF8, "null", -8)
    assert describe(bad) == "NULL - 0x8"


def test_small_pointer_counts_as_null() -> None:
    # &NULL->member stored and then dereferenced at +0x8
    bad = classify_pointer(0x10, 0x8)
    assert (bad.kind, bad.base, bad.offset, bad.address) == ("null", 0, 0x18, 0x18)


# --- ERR_PTR ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, want",
    [
        (0, None),
        (1, None),
        (err_ptr(1), 1),
        (err_ptr(19), 19),
        (-12, 12),  # a signed value works too
        (err_ptr(MAX_ERRNO), MAX_ERRNO),
        (err_ptr(MAX_ERRNO + 1), None),
        (0xFFFFFFFF81000000, None),
    ],
)
def test_err_ptr_of(value: int, want: Optional[int]) -> None:
    assert err_ptr_of(value) == want


def test_err_ptr_address() -> None:
    bad = classify(err_ptr(12))
    assert (bad.kind, bad.base, bad.offset, bad.detail) == ("err-ptr", err_ptr(12), 0, "ERR_PTR(-ENOMEM)")
    assert describe(bad) == "ERR_PTR(-ENOMEM)"
    assert describe(classify(err_ptr(517))) == "ERR_PTR(-EPROBE_DEFER)"
    assert describe(classify(err_ptr(MAX_ERRNO))) == "ERR_PTR(-4095)"


def test_err_ptr_boundary() -> None:
    assert classify(err_ptr(MAX_ERRNO)).kind == "err-ptr"  # 0xfffffffffffff001
    below = classify(err_ptr(MAX_ERRNO + 1))  # 0xfffffffffffff000: the fixmap's top page
    assert below.kind == "kernel"


@pytest.mark.parametrize(
    "e, name",
    [
        (1, "EPERM"),
        (-1, "EPERM"),
        (2, "ENOENT"),
        (11, "EAGAIN"),  # not EWOULDBLOCK
        (12, "ENOMEM"),
        (14, "EFAULT"),
        (19, "ENODEV"),
        (22, "EINVAL"),
        (35, "EDEADLK"),  # Python says EDEADLOCK; the kernel prints EDEADLK
        (95, "EOPNOTSUPP"),  # Python says ENOTSUP, which the kernel lacks
        (110, "ETIMEDOUT"),
        (133, "EHWPOISON"),
        (512, "ERESTARTSYS"),
        (513, "ERESTARTNOINTR"),
        (514, "ERESTARTNOHAND"),
        (515, "ENOIOCTLCMD"),
        (516, "ERESTART_RESTARTBLOCK"),
        (517, "EPROBE_DEFER"),
        (518, "EOPENSTALE"),
        (519, "ENOPARAM"),
        (521, "EBADHANDLE"),
        (522, "ENOTSYNC"),
        (523, "EBADCOOKIE"),
        (524, "ENOTSUPP"),
        (525, "ETOOSMALL"),
        (526, "ESERVERFAULT"),
        (527, "EBADTYPE"),
        (528, "EJUKEBOX"),
        (529, "EIOCBQUEUED"),
        (530, "ERECALLCONFLICT"),
        (531, "ENOGRACE"),
        (520, "520"),  # unassigned: the number, as %pe prints it
        (4095, "4095"),
    ],
)
def test_errno_name(e: int, name: str) -> None:
    assert errno_name(e) == name


# --- list poison -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, detail, offset, text",
    [
        (LIST_POISON1, "LIST_POISON1", 0, "LIST_POISON1"),
        (0xDEAD000000000108, "LIST_POISON1", 0x8, "LIST_POISON1 + 0x8"),  # next->prev
        (LIST_POISON2, "LIST_POISON2", 0, "LIST_POISON2"),  # prev->next
        (0xDEAD000000000132, "LIST_POISON2", 0x10, "LIST_POISON2 + 0x10"),
        (0xDEAD0000000002FF, "LIST_POISON2", 0x1DD, "LIST_POISON2 + 0x1dd"),
    ],
)
def test_list_poison(address: int, detail: str, offset: int, text: str) -> None:
    bad = classify(address)
    assert (bad.kind, bad.detail, bad.offset, bad.address) == ("list-poison", detail, offset, address)
    assert bad.base + bad.offset == address
    assert describe(bad) == text


def test_list_poison_window_ends() -> None:
    """An address belongs to the nearest poison value below it, if that is less than
    POISON_WINDOW away."""
    below = classify(LIST_POISON1 - 1)
    assert (below.kind, below.detail) == ("non-canonical", "VFS_PTR_POISON + 0xa")
    timer = classify(0xDEAD000000000300)
    assert (timer.kind, timer.detail) == ("non-canonical", "TIMER_ENTRY_STATIC")
    past = classify(0xDEAD000000000500 + POISON_WINDOW)
    assert (past.kind, past.detail) == ("non-canonical", "POISON_POINTER_DELTA + 0x1500")


def test_list_poison_pointer() -> None:
    bad = classify_pointer(LIST_POISON1, 0x10)
    assert (bad.kind, bad.base, bad.offset) == ("list-poison", LIST_POISON1, 0x10)
    assert describe(bad) == "LIST_POISON1 + 0x10"
    assert describe(classify_pointer(LIST_POISON2, -0x22)) == "LIST_POISON2 - 0x22"


def test_other_poison_pointer_values_are_named() -> None:
    bad = classify(0xDEAD000000000310)  # TIMER_ENTRY_STATIC + 0x10
    assert (bad.kind, bad.detail) == ("non-canonical", "TIMER_ENTRY_STATIC + 0x10")
    assert describe(bad) == "non-canonical 0xdead000000000310 (TIMER_ENTRY_STATIC + 0x10)"
    assert classify(0xDEAD000000000008).detail == "POISON_POINTER_DELTA + 0x8"


# --- slab poison ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, name, hint",
    [
        (0x6B6B6B6B6B6B6B6B, "POISON_FREE", " (freed slab object)"),
        (0x5A5A5A5A5A5A5A5A, "POISON_INUSE", " (uninitialised slab object)"),
        (0xA5A5A5A5A5A5A5A5, "POISON_END", " (end of a poisoned slab object)"),
        (0xCCCCCCCCCCCCCCCC, "SLUB_RED_ACTIVE", " (slab red zone)"),
        (0xBBBBBBBBBBBBBBBB, "SLUB_RED_INACTIVE", " (slab red zone)"),
    ],
)
def test_slab_poison(value: int, name: str, hint: str) -> None:
    assert SLAB_POISONS[name] == value
    bad = classify(value)
    assert (bad.kind, bad.detail, bad.base, bad.offset) == ("slab-poison", name, value, 0)
    assert describe(bad) == name + hint
    plus = classify_pointer(value, 0x10)
    assert (plus.kind, plus.offset, plus.address) == ("slab-poison", 0x10, value + 0x10)
    assert describe(plus) == f"{name} + 0x10{hint}"
    assert classify(value + 0x18).offset == 0x18


# --- canonical, user, kernel ----------------------------------------------------------


@pytest.mark.parametrize(
    "address, kind",
    [
        (0x00007FFFFFFFFFFF, "user"),
        (0x0000800000000000, "non-canonical"),
        (0x1234567812345678, "non-canonical"),
        (0xFFFF7FFFFFFFFFFF, "non-canonical"),
        (0xFFFF800000000000, "kernel"),
        (0xFF11000000000000, "non-canonical"),  # 4-level paging
    ],
)
def test_canonical_4level(address: int, kind: str) -> None:
    assert classify(address).kind == kind


@pytest.mark.parametrize(
    "address, kind",
    [
        (0x0000800000000000, "user"),
        (0x00FFFFFFFFFFFFFF, "user"),
        (0x0100000000000000, "non-canonical"),
        (0xFEFFFFFFFFFFFFFF, "non-canonical"),
        (0xFF00000000000000, "kernel"),
        (0xFF11000012345678, "kernel"),
    ],
)
def test_canonical_5level(address: int, kind: str) -> None:
    """A page_offset_base below 0xffff800000000000 means 5-level paging."""
    assert classify(address, page_offset=0xFF11000000000000).kind == kind


def test_non_canonical_describe() -> None:
    bad = classify(0x1234567812345678)
    assert (bad.base, bad.offset, bad.detail) == (0x1234567812345678, 0, "")
    assert describe(bad) == "non-canonical 0x1234567812345678"


def test_user_address() -> None:
    bad = classify(0x7FFD12345678)
    assert (bad.kind, bad.detail) == ("user", "user address accessed from kernel mode")
    assert describe(bad) == "user address 0x7ffd12345678 (user address accessed from kernel mode)"
    assert classify(0x7FFD12345678, kernel_mode=False).detail == ""
    pointer = classify_pointer(0x7FFD12345000, 0x678)
    assert (pointer.kind, pointer.base, pointer.offset, pointer.address) == (
        "user", 0x7FFD12345000, 0x678, 0x7FFD12345678,
    )


def test_kernel_address() -> None:
    direct = classify(0xFFFF888012345678, page_offset=0xFFFF888000000000)
    assert (direct.kind, direct.detail) == ("kernel", "page_offset_base + 0x12345678")
    assert classify(0xFFFF888012345678).detail == ""
    module = classify(0xFFFFFFFFC0123456)
    assert (module.kind, module.detail) == ("kernel", "kernel image or module area")
    assert describe(module) == "kernel address 0xffffffffc0123456 (kernel image or module area)"
    assert classify(0xFFFFFFFFC0123456, kernel_mode=False).detail == (
        "kernel address accessed from user mode"
    )


def test_kernel_address_outside_the_direct_map() -> None:
    """Only an address inside the direct map is page_offset_base + X: vmalloc, vmemmap and the
    other areas above it (0xffffc90000000000 without KASLR) are not."""
    page_offset, size = 0xFFFF888000000000, 1 << 32  # 4 GiB of RAM: max_pfn << PAGE_SHIFT
    inside = classify(page_offset + 0x12345678, page_offset=page_offset, direct_map_size=size)
    assert inside.detail == "page_offset_base + 0x12345678"
    assert classify(page_offset + size - 1, page_offset=page_offset, direct_map_size=size).detail == (
        "page_offset_base + 0xffffffff"
    )
    past = classify(page_offset + size, page_offset=page_offset, direct_map_size=size)
    assert (past.kind, past.detail) == ("kernel", "outside the direct map")
    vmalloc = classify(0xFFFFC90000123000, page_offset=page_offset, direct_map_size=size)
    assert (vmalloc.kind, vmalloc.detail) == ("kernel", "outside the direct map")
    assert describe(vmalloc) == "kernel address 0xffffc90000123000 (outside the direct map)"
    # through a pointer, the same
    assert classify_pointer(0xFFFFC90000123000, 0x10, page_offset=page_offset,
                            direct_map_size=size).detail == "outside the direct map"
    # the image and module area keep their name; below page_offset_base nothing is said
    assert classify(0xFFFFFFFFC0123456, page_offset=page_offset, direct_map_size=size).detail == (
        "kernel image or module area"
    )
    assert classify(0xFFFF800000001000, page_offset=page_offset, direct_map_size=size).detail == ""
    # size unknown: not beyond the largest direct map there can be (2**46 bytes, 4-level paging)
    assert classify(0xFFFFC90000123000, page_offset=page_offset).detail == ""
    assert classify(page_offset + (1 << 46) - 1, page_offset=page_offset).detail == (
        f"page_offset_base + {(1 << 46) - 1:#x}"
    )


def test_order_poison_before_canonical() -> None:
    """Poison values are non-canonical too: the specific kind wins."""
    for value in (LIST_POISON1, *SLAB_POISONS.values()):
        assert classify(value).kind in ("list-poison", "slab-poison")
