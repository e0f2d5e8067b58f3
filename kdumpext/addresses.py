"""Classify a bad Linux address (x86-64, arm64): NULL+off, ERR_PTR, LIST_POISON, slab poison, user, non-canonical."""

from __future__ import annotations

import errno
from typing import Dict, Optional, Tuple

from .model import BadAddress, MASK64

__all__ = [
    "PAGE_SIZE",
    "NULL_LIMIT",
    "MAX_ERRNO",
    "POISON_POINTER_DELTA",
    "LIST_POISON1",
    "LIST_POISON2",
    "POISON_WINDOW",
    "SLAB_POISONS",
    "classify",
    "classify_pointer",
    "err_ptr_of",
    "errno_name",
    "describe",
]


PAGE_SIZE = 0x1000

#: Addresses below this are "NULL + offset": the kernel's page-fault handler says
#: "BUG: kernel NULL pointer dereference" for ``address < PAGE_SIZE``
#: (arch/x86/mm/fault.c, show_fault_oops()).
NULL_LIMIT = PAGE_SIZE

#: ``include/linux/err.h``: ERR_PTR(-e) for 1 <= e <= MAX_ERRNO.
MAX_ERRNO = 4095

#: ``CONFIG_ILLEGAL_POINTER_VALUE``, x86-64's default; ``include/linux/poison.h``.
POISON_POINTER_DELTA = 0xDEAD_0000_0000_0000
#: ``list_del()`` leaves these in ``next`` and ``prev`` (also ``hlist_del()``).
LIST_POISON1 = 0x100 + POISON_POINTER_DELTA
LIST_POISON2 = 0x122 + POISON_POINTER_DELTA

#: How far above a poison value an address may lie and still be named after it
#: (a member offset inside the structure the poisoned pointer was taken for).
POISON_WINDOW = 0x1000

#: Whole-word slab poison patterns by their ``include/linux/poison.h`` names: the
#: value a pointer read out of a poisoned or red-zoned slab object has.
SLAB_POISONS: Dict[str, int] = {
    "POISON_FREE": 0x6B6B_6B6B_6B6B_6B6B,  # freed object (use after free)
    "POISON_INUSE": 0x5A5A_5A5A_5A5A_5A5A,  # allocated, never written
    "POISON_END": 0xA5A5_A5A5_A5A5_A5A5,  # end byte of a poisoned object
    "SLUB_RED_ACTIVE": 0xCCCC_CCCC_CCCC_CCCC,  # red zone of a live object
    "SLUB_RED_INACTIVE": 0xBBBB_BBBB_BBBB_BBBB,  # red zone of a free object
    "RED_ACTIVE": 0xD841_56C5_6356_88C0,  # SLAB allocator's red zone (live)
    "RED_INACTIVE": 0x09F9_1102_9D74_E35B,  # SLAB allocator's red zone (free)
}

_SLAB_HINTS = {
    "POISON_FREE": "freed slab object",
    "POISON_INUSE": "uninitialised slab object",
    "POISON_END": "end of a poisoned slab object",
    "SLUB_RED_ACTIVE": "slab red zone",
    "SLUB_RED_INACTIVE": "slab red zone",
    "RED_ACTIVE": "slab red zone",
    "RED_INACTIVE": "slab red zone",
}

# The POISON_POINTER_DELTA values of include/linux/poison.h, ascending. An address
# up to POISON_WINDOW above one of them is named after the nearest one below it
# (so 0xdead000000000310 is TIMER_ENTRY_STATIC + 0x10, not LIST_POISON2 + 0x1ee);
# only the two LIST_POISONs get a kind of their own.
_DELTA_POISONS: Tuple[Tuple[str, int], ...] = (
    ("PP_SIGNATURE", 0x40 + POISON_POINTER_DELTA),
    ("VFS_PTR_POISON", 0xF5 + POISON_POINTER_DELTA),
    ("LIST_POISON1", LIST_POISON1),
    ("LIST_POISON2", LIST_POISON2),
    ("TIMER_ENTRY_STATIC", 0x300 + POISON_POINTER_DELTA),
    ("TAIL_MAPPING", 0x400 + POISON_POINTER_DELTA),
    ("MUTEX_POISON_WW_CTX", 0x500 + POISON_POINTER_DELTA),
    ("BPF_PTR_POISON", 0xEB9F + POISON_POINTER_DELTA),
)
_LIST_POISONS = ("LIST_POISON1", "LIST_POISON2")

# 4-level paging: user space is [0, 2**47), kernel [-2**47, 2**64); 5-level
# (LA57): 2**56 each.
_USER_END_4LEVEL = 1 << 47
_USER_END_5LEVEL = 1 << 56
# page_offset_base is below this only with 5-level paging (0xff11000000000000).
_PAGE_OFFSET_4LEVEL_MIN = 0xFFFF_8000_0000_0000
# __START_KERNEL_map: kernel image, then the module area, fixmap, vsyscall page.
_KERNEL_IMAGE_START = 0xFFFF_FFFF_8000_0000
# The most the direct map can cover, 2**MAX_PHYSMEM_BITS bytes: 46 bits with 4-level
# paging, 52 with 5-level (arch/x86/include/asm/sparsemem.h).
_MAX_DIRECT_MAP_4LEVEL = 1 << 46
_MAX_DIRECT_MAP_5LEVEL = 1 << 52

# Kernel-internal errnos (include/linux/errno.h), which userspace's errno lacks,
# and the names lib/errname.c prints where errno.errorcode picks an alias.
_KERNEL_ERRNOS: Dict[int, str] = {
    35: "EDEADLK",  # errno.errorcode says EDEADLOCK
    95: "EOPNOTSUPP",  # errno.errorcode says ENOTSUP
    133: "EHWPOISON",
    512: "ERESTARTSYS",
    513: "ERESTARTNOINTR",
    514: "ERESTARTNOHAND",
    515: "ENOIOCTLCMD",
    516: "ERESTART_RESTARTBLOCK",
    517: "EPROBE_DEFER",
    518: "EOPENSTALE",
    519: "ENOPARAM",
    521: "EBADHANDLE",
    522: "ENOTSYNC",
    523: "EBADCOOKIE",
    524: "ENOTSUPP",
    525: "ETOOSMALL",
    526: "ESERVERFAULT",
    527: "EBADTYPE",
    528: "EJUKEBOX",
    529: "EIOCBQUEUED",
    530: "ERECALLCONFLICT",
    531: "ENOGRACE",
}


def err_ptr_of(value: int) -> Optional[int]:
    """The errno ``e`` if ``value`` is ``ERR_PTR(-e)`` (``IS_ERR()`` is true), else None.

    ``value`` is a ``void *`` as an unsigned or signed 64-bit integer.
    """
    value &= MASK64
    if value >= (1 << 64) - MAX_ERRNO:
        return (1 << 64) - value
    return None


def errno_name(e: int) -> str:
    """The kernel's name for errno ``e`` (``ENODEV`` for 19, ``EPROBE_DEFER`` for 517).

    The sign is ignored. Unknown numbers come back as decimal digits, as the
    kernel's ``%pe`` prints them. Names 1..133 come from Python's
    ``errno.errorcode``, so they are Linux's only when running on Linux.
    """
    e = abs(e)
    return _KERNEL_ERRNOS.get(e) or errno.errorcode.get(e) or str(e)


def _offset_text(offset: int) -> str:
    """`` + 0x10``, `` - 0x8`` or ``""`` for 0."""
    if offset == 0:
        return ""
    return f" - {-offset:#x}" if offset < 0 else f" + {offset:#x}"


def _la57(page_offset: Optional[int]) -> bool:
    """Whether the kernel uses 5-level paging, judged from ``page_offset_base``."""
    return page_offset is not None and page_offset < _PAGE_OFFSET_4LEVEL_MIN


def _canonical(address: int, la57: bool) -> bool:
    """Whether the bits above the virtual-address width are copies of its top bit."""
    top = address >> (56 if la57 else 47)
    return top == 0 or top == (1 << (8 if la57 else 17)) - 1


def _delta_poison(value: int) -> Optional[Tuple[str, int]]:
    """(name, value) of the nearest POISON_POINTER_DELTA poison at most
    POISON_WINDOW - 1 below ``value``, or None."""
    near = None
    for name, poison in _DELTA_POISONS:
        if 0 <= value - poison < POISON_WINDOW:
            near = (name, poison)
    return near


def _kernel_detail(
    address: int, page_offset: Optional[int], kernel_mode: bool, direct_map_size: Optional[int] = None
) -> str:
    """Where in the kernel half an address lies, as far as we know the layout.

    ``page_offset_base + X`` only for an address inside the direct map: below
    ``page_offset + direct_map_size`` when the size is known, else within the most
    any direct map covers (vmalloc, vmemmap and the other areas lie above it, at
    KASLR-chosen places, so "above page_offset_base" alone says nothing).
    """
    if not kernel_mode:
        return "kernel address accessed from user mode"
    if address >= _KERNEL_IMAGE_START:
        return "kernel image or module area"
    if page_offset is None or address < page_offset:
        return ""
    offset = address - page_offset
    if direct_map_size is None:
        limit = _MAX_DIRECT_MAP_5LEVEL if _la57(page_offset) else _MAX_DIRECT_MAP_4LEVEL
        return f"page_offset_base + {offset:#x}" if offset < limit else ""
    if offset < direct_map_size:
        return f"page_offset_base + {offset:#x}"
    return "outside the direct map"


def _canonical_arm64(address: int) -> bool:
    """An arm64 address either half of a 48-bit address space maps (bits 63:48 all 0, a user
    address, or all 1, a kernel one).  Between the halves the kernel says "address between user
    and kernel address ranges" (arch/arm64/mm/fault.c show_pte()).  A kernel that ignores the top
    byte (TBI, only with KASAN's software or hardware tags) would accept a tagged pointer; such a
    kernel's KASAN reports the access itself, so a tag is not assumed here."""
    return address >> 48 in (0, 0xFFFF)


def _classify(
    pointer: int, offset: int, page_offset: Optional[int], kernel_mode: bool,
    direct_map_size: Optional[int] = None, arch: str = "x86_64",
) -> BadAddress:
    """The engine of classify() and classify_pointer()."""
    pointer &= MASK64
    address = (pointer + offset) & MASK64

    if pointer < NULL_LIMIT:
        total = pointer + offset
        return BadAddress(address, "null", base=0, offset=total, detail="NULL" + _offset_text(total))

    e = err_ptr_of(pointer)
    if e is not None:
        detail = f"ERR_PTR(-{errno_name(e)})"
        return BadAddress(address, "err-ptr", base=pointer, offset=offset, detail=detail)

    near = _delta_poison(pointer)
    if near is not None and near[0] in _LIST_POISONS:
        name, value = near
        return BadAddress(
            address, "list-poison", base=value, offset=pointer - value + offset, detail=name
        )

    for name, value in SLAB_POISONS.items():
        if 0 <= pointer - value < POISON_WINDOW:
            return BadAddress(
                address, "slab-poison", base=value, offset=pointer - value + offset, detail=name
            )

    la57 = _la57(page_offset)
    arm64 = arch == "arm64"
    if not (_canonical_arm64(address) if arm64 else _canonical(address, la57)):
        detail = ""
        near = _delta_poison(address)
        if near is not None:
            detail = near[0] + _offset_text(address - near[1])
        elif 0 <= address - POISON_POINTER_DELTA < 1 << 32:
            detail = "POISON_POINTER_DELTA" + _offset_text(address - POISON_POINTER_DELTA)
        return BadAddress(address, "non-canonical", base=pointer, offset=offset, detail=detail)

    if address < (1 << 48 if arm64 else _USER_END_5LEVEL if la57 else _USER_END_4LEVEL):
        detail = "user address accessed from kernel mode" if kernel_mode else ""
        return BadAddress(address, "user", base=pointer, offset=offset, detail=detail)

    # the x86-64 layout (kernel image, direct map) says nothing of where an arm64 address lies
    detail = "" if arm64 and kernel_mode else _kernel_detail(address, page_offset, kernel_mode, direct_map_size)
    return BadAddress(address, "kernel", base=pointer, offset=offset, detail=detail)


def classify_pointer(
    base_value: int,
    offset: int,
    *,
    page_offset: Optional[int] = None,
    kernel_mode: bool = True,
    direct_map_size: Optional[int] = None,
    arch: str = "x86_64",
) -> BadAddress:
    """Classify the access ``base_value + offset``, knowing the pointer it went through.

    ``base_value`` is the pointer (the value of the instruction's base register) and
    ``offset`` the displacement the instruction added, which may be negative. Because
    the pointer is known, ``ERR_PTR(-ENODEV) + 0x40`` (address 0x2d) is an
    ``err-ptr``, where :func:`classify` on 0x2d alone can only say ``null``. A pointer
    below :data:`NULL_LIMIT` counts as NULL plus that much, a pointer less than
    :data:`POISON_WINDOW` above a list or slab poison value as that poison plus the
    difference; the kinds are then decided as in :func:`classify`, user and kernel
    on the address reached. ``page_offset`` (``page_offset_base``), ``kernel_mode``,
    ``direct_map_size`` and ``arch`` are as for :func:`classify`.
    """
    return _classify(base_value, offset, page_offset, kernel_mode, direct_map_size, arch)


def classify(
    address: int,
    *,
    page_offset: Optional[int] = None,
    kernel_mode: bool = True,
    direct_map_size: Optional[int] = None,
    arch: str = "x86_64",
) -> BadAddress:
    """Classify a faulting address on its own, e.g. CR2 of a page fault.

    Kinds, tried in this order:

    - ``null``: below :data:`NULL_LIMIT`; ``offset`` is the address, ``detail``
      the phrase (``NULL + 0x240``);
    - ``err-ptr``: the top :data:`MAX_ERRNO` values; ``detail`` ``ERR_PTR(-ENODEV)``;
    - ``list-poison``: less than :data:`POISON_WINDOW` above ``LIST_POISON1`` or
      ``LIST_POISON2`` and no other poison value of ``include/linux/poison.h``
      lies between; ``detail`` names which, ``offset`` is the distance;
    - ``slab-poison``: less than :data:`POISON_WINDOW` above a pattern of
      :data:`SLAB_POISONS`; ``detail`` is its name;
    - ``non-canonical``: ``detail`` names a nearby ``POISON_POINTER_DELTA`` value
      (``TIMER_ENTRY_STATIC + 0x10``) if there is one;
    - ``user`` and ``kernel``.

    ``page_offset`` is the kernel's ``page_offset_base`` when known: it tells
    5-level paging (canonical addresses are then 57 bits wide, not 48) and lets a
    kernel address in the direct map be given relative to it (``detail``
    ``page_offset_base + 0x12345678``, the physical address). ``direct_map_size`` is
    how many bytes the direct map covers (``max_pfn << PAGE_SHIFT``): with it, a
    kernel address above that (vmalloc, vmemmap, ...) is ``outside the direct map``;
    without it, only addresses beyond the largest possible direct map are told apart.
    ``kernel_mode`` says whether the access was made by kernel code (the oops's
    ``CS`` was the kernel's); it only changes ``detail``. Use :func:`describe` for
    the phrase.  ``arch`` (``x86_64``, ``arm64``) picks the address space: arm64's halves are
    48 bits wide (:func:`_canonical_arm64`).
    """
    return _classify(address, 0, page_offset, kernel_mode, direct_map_size, arch)


def describe(bad: BadAddress) -> str:
    """A short phrase for a classified address: ``NULL + 0x240``,
    ``ERR_PTR(-ENODEV) + 0x40``, ``LIST_POISON1 + 0x8``, ``non-canonical 0x...``."""
    if bad.kind == "null":
        return "NULL" + _offset_text(bad.offset)
    if bad.kind in ("err-ptr", "list-poison", "slab-poison"):
        name = bad.detail or f"{bad.base:#x}"
        text = name + _offset_text(bad.offset)
        hint = _SLAB_HINTS.get(bad.detail, "") if bad.kind == "slab-poison" else ""
        return f"{text} ({hint})" if hint else text
    label = {"non-canonical": "non-canonical", "user": "user address", "kernel": "kernel address"}
    text = f"{label.get(bad.kind, bad.kind)} {bad.address:#x}"
    return f"{text} ({bad.detail})" if bad.detail else text
