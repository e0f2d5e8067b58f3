"""Say what an address in a dump is: bad-pointer kind, symbol, module, slab object, task, page, member."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from . import addresses
from .arch import arch_of
from .errors import KdumpextError
from .members import member_of, pointee
from .model import BadAddress, MASK64, Member

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["AddressInfo", "identify", "render_address", "page_offset", "direct_map_size", "lookup_type"]

_log = logging.getLogger("kdumpext")

#: The object an address lies in: (its start, its type if known, where that type comes from).
_Holder = Tuple[int, Optional["drgn.Type"], str]


@dataclass
class AddressInfo:
    """What an address is: its kind of (bad) pointer, what the dump knows lives there, the member it hits.

    Made by :func:`kdumpext.identify.identify`; ``str()`` is
    :func:`kdumpext.identify.render_address`, what ``explain`` prints in drgn and
    ``kdump explain`` in gdb.
    """

    address: int  #: the address explained (``pointer + offset`` when given that way)
    bad: BadAddress  #: :func:`kdumpext.addresses.classify` (or ``classify_pointer``) of it
    pointer: Optional[int] = None  #: the pointer, when given as ``pointer+offset``
    offset: int = 0  #: the offset added to ``pointer``
    in_dump: bool = False  #: whether a byte at :attr:`address` can be read from the dump
    physical: Optional[int] = None  #: the physical address, for an address in the direct map
    symbol: str = ""  #: ``jiffies+0x8`` when a symbol covers it
    module: str = ""  #: the kernel module (or "vmlinux") whose address range holds it
    identities: List[str] = field(default_factory=list)  #: drgn's ``identify_address`` answers
    slab_cache: str = ""  #: ``kmalloc-512`` for an address inside a slab object
    slab_object: Optional[int] = None  #: start of that slab object
    slab_allocated: Optional[bool] = None  #: whether that object is allocated (None: drgn can't tell)
    member: Optional[Member] = None  #: the member of :attr:`member_type_source`'s type at the offset
    member_type_source: str = ""  #: where the type came from: ``type given``, ``task``, ``page``, ...

    @property
    def kind(self) -> str:
        """``null``, ``err-ptr``, ``list-poison``, ``slab-poison``, ``non-canonical``, ``user``, ``kernel``."""
        return self.bad.kind

    @property
    def text(self) -> str:
        """The phrase for the address: ``NULL + 0x240``, ``ERR_PTR(-ENOMEM)``, ``kernel address 0x...``."""
        return addresses.describe(self.bad)

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict; addresses as ``0x`` hex strings."""
        m = self.member
        return {
            "address": f"{self.address:#x}",
            "pointer": None if self.pointer is None else f"{self.pointer:#x}",
            "offset": f"{self.offset:#x}",
            "kind": self.bad.kind,
            "detail": self.bad.detail,
            "text": self.text,
            "in_dump": self.in_dump,
            "physical": None if self.physical is None else f"{self.physical:#x}",
            "symbol": self.symbol,
            "module": self.module,
            "identities": list(self.identities),
            "slab": None if not self.slab_cache else {
                "cache": self.slab_cache,
                "object": None if self.slab_object is None else f"{self.slab_object:#x}",
                "allocated": self.slab_allocated,
            },
            "member": None if m is None else {
                "type": m.type_name, "struct": m.type_name.split()[-1], "member": m.path,
                "offset": f"{m.offset:#x}", "size": m.size, "member_type": m.member_type,
                "type_from": self.member_type_source,
            },
        }

    def __str__(self) -> str:
        return render_address(self)


def page_offset(prog: "drgn.Program") -> Optional[int]:
    """``page_offset_base``: where the direct map starts; None when the dump does not say."""
    import drgn

    try:
        return int(prog["page_offset_base"].value_())
    except (KeyError, LookupError, drgn.FaultError, ValueError, TypeError):
        return None


def direct_map_size(prog: "drgn.Program") -> Optional[int]:
    """Bytes of physical memory the direct map covers, ``max_pfn << PAGE_SHIFT``; None if unknown."""
    import drgn

    try:
        max_pfn = int(prog["max_pfn"].value_())
    except (KeyError, LookupError, drgn.FaultError, ValueError, TypeError):
        return None
    try:
        shift = int(prog["PAGE_SHIFT"].value_())
    except (KeyError, LookupError, drgn.FaultError, ValueError, TypeError):
        shift = 12  # x86-64's only page size
    return max_pfn << shift


def lookup_type(prog: "drgn.Program", name: Union[str, "drgn.Type"]) -> "drgn.Type":
    """``struct foo``, ``foo`` (struct, union or typedef) or ``struct foo *`` (its pointee).

    :raises KdumpextError: no such type in the loaded debug info.
    """
    import drgn

    if isinstance(name, drgn.Type):
        t = name
    else:
        found: Optional[drgn.Type] = None
        for cand in (name, f"struct {name}", f"union {name}"):
            try:
                found = prog.type(cand)
                break
            except (LookupError, SyntaxError, ValueError):
                continue
        if found is None:
            raise KdumpextError(f"no type named {name!r} in the loaded debug info")
        t = found
    return pointee(t) or t


def _has_members(t: "drgn.Type") -> bool:
    """Whether a member path means something in ``t`` (a struct, union, class or array)."""
    import drgn

    kinds = (drgn.TypeKind.STRUCT, drgn.TypeKind.UNION, drgn.TypeKind.CLASS, drgn.TypeKind.ARRAY)
    while t.kind == drgn.TypeKind.TYPEDEF:
        t = t.type
    return t.kind in kinds


def _slab_type_guess(prog: "drgn.Program", cache: str) -> Optional["drgn.Type"]:
    """``struct NAME`` for a slab cache named NAME (``task_struct``, ``scst_cmd``), if it exists."""
    if not re.fullmatch(r"[A-Za-z_]\w*", cache) or cache.startswith("kmalloc"):
        return None
    try:
        return prog.type(f"struct {cache}")
    except (LookupError, SyntaxError, ValueError):
        return None


def _holder(prog: "drgn.Program", info: AddressInfo) -> Optional[_Holder]:
    """Fill what drgn's helpers know about ``info.address`` (symbol, module, identities, slab
    object); return the object that holds the address, if there is one."""
    import drgn
    import drgn.helpers.common.memory as memory

    addr = info.address
    holder: Optional[_Holder] = None
    try:
        sym = prog.symbol(addr)
        info.symbol = f"{sym.name}+{addr - sym.address:#x}"
        if sym.kind == drgn.SymbolKind.OBJECT:
            try:
                holder = (sym.address, prog.variable(sym.name).type_, f"type of variable {sym.name}")
            except (LookupError, ValueError):
                holder = (sym.address, None, "")
    except LookupError:
        pass
    try:
        mod = prog.module(addr)
        info.module = "vmlinux" if isinstance(mod, drgn.MainModule) else mod.name
    except LookupError:
        pass
    # identify_address_all() is drgn 0.0.31+; before, only the string form exists.
    identify_all = getattr(memory, "identify_address_all", None)
    try:
        if identify_all is not None:
            for ident in identify_all(prog, addr):
                info.identities.append(str(ident))
                slab = getattr(ident, "slab_object_info", None)
                task = getattr(ident, "task", None)
                page = getattr(ident, "page", None)
                if slab is not None and slab.address:
                    info.slab_object = int(slab.address)
                    info.slab_allocated = slab.allocated
                    info.slab_cache = slab.slab_cache.name.string_().decode(errors="replace")
                    if holder is None:
                        holder = (info.slab_object, _slab_type_guess(prog, info.slab_cache),
                                  f"type guessed from slab cache {info.slab_cache}")
                elif task is not None and type(ident).__name__ == "IdentifiedTaskStruct":
                    holder = (int(task.value_()), task.type_.type, "task")
                elif page is not None:
                    holder = (int(page.value_()), page.type_.type, "page")
        else:
            found = memory.identify_address(prog, addr)
            if found:
                info.identities.append(found)
    except (drgn.FaultError, LookupError, ValueError, OverflowError, TypeError, AttributeError) as e:
        _log.debug("identify_address(%#x) failed: %s", addr, e)
    return holder


def identify(prog: "drgn.Program", address: int, pointer: Optional[int] = None, offset: int = 0,
             type: Union[str, "drgn.Type", None] = None) -> AddressInfo:
    """Say what ``address`` is in the program ``prog`` (a kernel dump, or any program).

    The answer has the kind of pointer (:func:`kdumpext.addresses.classify`, or
    :func:`~kdumpext.addresses.classify_pointer` when reached through ``pointer``,
    so ``pointer=0, offset=0x240`` is ``NULL + 0x240``), where it lies in the direct
    map, whether the dump holds it, the symbol and module, the slab object, task or
    page drgn's helpers find there, and the member reached: of ``type`` at
    ``offset`` from ``pointer`` (else from the start of the object that holds the
    address, else 0), or without ``type`` of the type the holder has (a global
    variable's, ``struct task_struct``, ``struct page``, or ``struct CACHE`` for a
    slab cache of that name, marked as a guess).

    :param address: the address, ``pointer + offset`` when ``pointer`` is given.
    :param pointer: the pointer the address was reached through; with ``offset``
        and no ``pointer``, the pointer is ``address - offset``.
    :param offset: byte offset from ``pointer``, may be negative.
    :param type: C type the pointer points to: ``struct scst_device``,
        ``scst_device``, ``struct scst_device *`` or a :class:`drgn.Type`.
    :raises ValueError: ``address`` is not ``pointer + offset``.
    :raises KdumpextError: ``type`` is unknown.
    """
    import drgn

    address &= MASK64
    if pointer is None and offset:
        pointer = (address - offset) & MASK64
    if pointer is not None:
        pointer &= MASK64
        if (pointer + offset) & MASK64 != address:
            raise ValueError(f"address {address:#x} is not pointer {pointer:#x} + offset {offset:#x}")
    target: Optional[drgn.Type] = lookup_type(prog, type) if type is not None else None
    start = page_offset(prog)
    size = direct_map_size(prog)
    arch = arch_of(prog).name
    if pointer is not None:
        bad = addresses.classify_pointer(pointer, offset, page_offset=start, direct_map_size=size, arch=arch)
    else:
        bad = addresses.classify(address, page_offset=start, direct_map_size=size, arch=arch)
    info = AddressInfo(address=address, bad=bad, pointer=pointer, offset=offset)
    if bad.kind == "kernel" and start is not None and size is not None and 0 <= address - start < size:
        info.physical = address - start
    try:
        prog.read(address, 1)
        info.in_dump = True
    except (drgn.FaultError, ValueError, OverflowError):
        pass
    holder = _holder(prog, info) if bad.kind == "kernel" else None
    if pointer is not None:
        # PTR+OFF: the object is the one PTR points into, wherever OFF lands
        base = AddressInfo(address=pointer, bad=addresses.classify(pointer, page_offset=start, direct_map_size=size,
                                                                   arch=arch))
        holder = _holder(prog, base) if base.bad.kind == "kernel" else None
    member_offset = 0
    if target is not None:
        info.member_type_source = "type given"
        if pointer is not None:
            member_offset = offset
        elif holder is not None:
            member_offset = address - holder[0]
    elif holder is not None and holder[1] is not None:
        # the holder's own type: a global pointer variable holds a pointer, not what it points to
        target, info.member_type_source = holder[1], holder[2]
        member_offset = address - holder[0]
    if target is not None and member_offset >= 0 and _has_members(target):
        info.member = member_of(target, member_offset)
    return info


def render_address(info: AddressInfo) -> str:
    """The text both front-ends print for an address: one ``LABEL  value`` row per fact.

    ``ADDRESS`` (and the ``pointer + offset`` it came from), ``KIND``, ``SYMBOL``
    (``[module]`` for a module's), ``SLAB``, ``IS`` (what else drgn identified),
    ``MEMBER`` and ``MEMORY`` (in the dump or not).
    """
    from tabulate import tabulate

    addr = f"{info.address:#x}"
    if info.pointer is not None and info.offset:
        addr += f"  (= {info.pointer:#x} + {info.offset:#x})" if info.offset > 0 else \
            f"  (= {info.pointer:#x} - {-info.offset:#x})"
    rows: List[List[str]] = [["ADDRESS", addr], ["KIND", f"{info.bad.kind}: {info.text}"]]
    if info.symbol:
        rows.append(["SYMBOL", info.symbol + (f" [{info.module}]" if info.module and
                                              info.module != "vmlinux" else "")])
    elif info.module:
        rows.append(["MODULE", info.module])
    if info.slab_cache:
        state = {True: "allocated", False: "free", None: "state unknown"}[info.slab_allocated]
        start = f" object {info.slab_object:#x}" if info.slab_object is not None else ""
        rows.append(["SLAB", f"{info.slab_cache}{start}, +{info.address - (info.slab_object or info.address):#x}"
                             f" ({state})"])
    for ident in info.identities:
        if not ident.startswith(("slab object", "free slab object", "corrupted slab object")) and \
                not (info.symbol and ident.endswith(info.symbol)):
            rows.append(["IS", ident])
    if info.member is not None:
        m = info.member
        what = f"{m.path or '(the object itself)'} ({m.member_type}, {m.size} bytes)" if m.member_type else m.path
        if m.accessed is not None:
            what += f", byte +{m.accessed - m.offset:#x} of it"
        src = f"  [{info.member_type_source}]" if info.member_type_source else ""
        rows.append(["MEMBER", f"{m.type_name} +{m.offset:#x}: {what}{src}"])
    if info.in_dump:
        memory = "in the dump"
    elif info.physical is not None:
        memory = f"not in the dump (the dump left out physical page {info.physical & -addresses.PAGE_SIZE:#x})"
    else:
        memory = "not readable (not in the dump, or unmapped)"
    rows.append(["MEMORY", memory])
    return str(tabulate(rows, tablefmt="plain"))
