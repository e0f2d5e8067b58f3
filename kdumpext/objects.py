"""What the objects on a crash's provenance chain are: where they live, whether they are alive, what else is wrong in them, how many like them share the bad field."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Tuple

from . import addresses
from .arch import arch_of
from .model import BadAddress, HeldObject, Hop, Siblings, Suspect, Verdict

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["held_objects", "freed_holder", "suspects_in", "GENERAL_CACHES", "SIBLING_SECONDS", "SIBLING_LIMIT"]

#: How long the sibling scan may take, and how many objects it reads at most (both said in the
#: output when hit).
SIBLING_SECONDS = 0.3
SIBLING_LIMIT = 200_000
#: Prefixes of the kernel's general-purpose slab caches: their objects are of any type, so a count
#: of "objects like this one" means nothing there.
GENERAL_CACHES = ("kmalloc-", "kmalloc-cg-", "kmalloc-rcl-", "dma-kmalloc-", "size-", ":")
#: How many objects of a chain are described, and how many members of one are looked at.
_MAX_OBJECTS = 3
_MAX_MEMBERS = 512


def _struct_type(prog: "drgn.Program", pointer_type: str) -> Optional["drgn.Type"]:
    """The struct/union a pointer type (``struct scst_cmd *``) points to, typedefs resolved."""
    import drgn

    name = pointer_type.strip()
    if not name.endswith("*"):
        return None
    try:
        t = prog.type(name).type
    except (LookupError, SyntaxError, ValueError, AttributeError):
        return None
    while t.kind == drgn.TypeKind.TYPEDEF:
        t = t.type
    t = t.unqualified()
    return t if t.kind in (drgn.TypeKind.STRUCT, drgn.TypeKind.UNION) and t.is_complete() else None


def _pointer_members(t: "drgn.Type", base: int = 0, prefix: str = "", depth: int = 0) -> Iterator[Tuple[str, int]]:
    """``(path, byte offset)`` of every pointer member of struct/union ``t``, nested aggregates
    included (arrays of them are not walked)."""
    import drgn

    if depth > 4:
        return
    for m in t.members or ():
        mt = m.type
        while mt.kind == drgn.TypeKind.TYPEDEF:
            mt = mt.type
        off = base + (m.bit_offset // 8)
        name = f"{prefix}{m.name}" if m.name else prefix.rstrip(".")
        if mt.kind == drgn.TypeKind.POINTER and m.bit_field_size is None:
            yield name, off
        elif mt.kind in (drgn.TypeKind.STRUCT, drgn.TypeKind.UNION) and mt.is_complete():
            yield from _pointer_members(mt, off, f"{name}." if name else "", depth + 1)


def _hint(expr: str, path: str, bad: BadAddress) -> str:
    what = f"{expr}->{path}"
    if bad.kind == "list-poison":
        return (f"{what} is {bad.detail}: {expr} was taken off a list with list_del() "
                "(its entry not re-initialised) before this access")
    if bad.kind == "slab-poison":
        if bad.detail == "POISON_FREE":
            return f"{what} holds slab poison (POISON_FREE, 0x6b…): {expr} was freed (slub_debug=P) before this access"
        return f"{what} holds the slab pattern {bad.detail}"
    if bad.kind == "err-ptr":
        return f"{what} holds {bad.detail}: an error code stored as a pointer"
    return f"{what} holds a non-canonical value {bad.address:#x}: not a pointer a live object holds"


def suspects_in(data: bytes, members: List[Tuple[str, int]], expr: str, arch: str = "x86_64") -> List[Suspect]:
    """The pointer members of an object (its bytes ``data``; ``members`` from its type) whose
    value is LIST_POISON, slab poison, an ERR_PTR or non-canonical: pure, one per offset."""
    out: List[Suspect] = []
    seen = set()
    for path, off in members:
        if off in seen or off + 8 > len(data):
            continue
        seen.add(off)
        value = int.from_bytes(data[off:off + 8], "little")
        if value == 0:
            continue
        bad = addresses.classify(value, arch=arch)
        exact = bad.kind in ("list-poison", "slab-poison", "err-ptr") and bad.offset == 0
        if exact or bad.kind == "non-canonical":
            out.append(Suspect(path, off, value, bad.kind, _hint(expr, path, bad)))
    return _one_per_list_entry(out, expr)


def _one_per_list_entry(found: List[Suspect], expr: str) -> List[Suspect]:
    """A list_head whose ``next`` and ``prev`` are both LIST_POISON, as list_del() leaves it: one
    suspect for the entry (``cmd_list_entry``), not two."""
    out: List[Suspect] = []
    for x in found:
        head, _, last = x.path.rpartition(".")
        prev = out[-1] if out else None
        if x.kind == "list-poison" and last == "prev" and prev is not None and prev.kind == "list-poison" \
                and prev.path == f"{head}.next" and x.offset == prev.offset + 8:
            out[-1] = Suspect(head, prev.offset, prev.value, "list-poison",
                              f"{expr}->{head} is LIST_POISON1/LIST_POISON2 (next/prev): {expr} was taken off "
                              "a list with list_del() before this access")
            continue
        out.append(x)
    return out


def _siblings(prog: "drgn.Program", cache: Any, cache_name: str, member: str, offset: int, value: int,
              holder: int, deadline: float) -> Siblings:
    """Count the allocated objects of ``cache`` whose 8 bytes at ``offset`` hold ``value``."""
    from drgn import FaultError
    from drgn.helpers.linux.slab import slab_cache_for_each_allocated_object

    s = Siblings(cache_name, member, value)
    if cache_name.startswith(GENERAL_CACHES):
        s.skipped = f"{cache_name} is a general-purpose cache: its objects are of any type"
        return s
    try:
        if int(cache.refcount) > 1:
            s.skipped = f"{cache_name} is shared with other caches (merged by SLUB): its objects are of several types"
            return s
    except (AttributeError, LookupError, FaultError):
        pass
    try:
        for obj in slab_cache_for_each_allocated_object(cache, "void"):
            addr = int(obj.value_())
            s.scanned += 1
            try:
                v = prog.read_u64(addr + offset)
            except FaultError:
                continue
            if v == value:
                s.same += 1
                if addr != holder and len(s.examples) < 3:
                    s.examples.append(addr)
            if s.scanned >= SIBLING_LIMIT:
                s.stopped = f"count limit {SIBLING_LIMIT}"
                break
            if time.monotonic() > deadline:
                s.stopped = f"time limit {SIBLING_SECONDS} s"
                break
    except (FaultError, LookupError, ValueError, NotImplementedError) as e:
        s.stopped = f"the cache could not be walked ({e})"
    return s


def _describe(prog: "drgn.Program", hop: Hop, deadline: float, arch: str) -> Optional[HeldObject]:
    """The object ``hop``'s value was read from, described."""
    import drgn

    from .identify import identify

    assert hop.holder is not None
    t = _struct_type(prog, hop.holder_type)
    tname = t.type_name() if t is not None else hop.holder_type.rstrip(" *")
    info = identify(prog, hop.holder)
    obj = HeldObject(hop.holder_expr, hop.holder, tname, "", member=hop.member.path if hop.member else "",
                     member_offset=hop.member.offset if hop.member else 0)
    cache_obj = None
    if info.slab_cache:
        obj.cache, obj.object_start, obj.allocated = info.slab_cache, info.slab_object, info.slab_allocated
        state = {True: "allocated", False: "free", None: "allocation state unknown"}[info.slab_allocated]
        inside = f" (+{hop.holder - info.slab_object:#x} into the object at {info.slab_object:#x})" \
            if info.slab_object is not None and info.slab_object != hop.holder else ""
        obj.where = f"slab object in {info.slab_cache}{inside}, {state}"
        try:
            from drgn.helpers.linux.slab import slab_object_info

            found = slab_object_info(prog, hop.holder)
            cache_obj = found.slab_cache if found is not None else None
        except (LookupError, ValueError, drgn.FaultError, AttributeError):
            cache_obj = None
    elif info.identities:
        obj.where = "; ".join(info.identities)
    elif info.symbol:
        obj.where = f"{info.symbol}" + (f" [{info.module}]" if info.module and info.module != "vmlinux" else "")
    elif not info.in_dump:
        obj.where = "not in the dump"
    else:
        obj.where = info.text
    if t is not None:
        try:
            data = prog.read(hop.holder, min(drgn.sizeof(t), 1 << 16))
        except (drgn.FaultError, ValueError, OverflowError):
            data = b""
        members = list(_pointer_members(t))[:_MAX_MEMBERS]
        obj.suspects = [s for s in suspects_in(data, members, hop.holder_expr, arch)
                        if not (hop.member is not None and s.path == hop.member.path)]  # the bad value itself
    if cache_obj is not None and obj.allocated and hop.member is not None and hop.value is not None \
            and time.monotonic() < deadline:
        obj.siblings = _siblings(prog, cache_obj, obj.cache, hop.member.path, hop.member.offset, hop.value,
                                 obj.object_start if obj.object_start is not None else hop.holder, deadline)
    return obj


def held_objects(prog: "drgn.Program", v: Verdict, seconds: float = SIBLING_SECONDS) -> List[HeldObject]:
    """The objects the bad value was read from along ``v``'s chain (at most three, nearest the
    fault first), each with where it lives, its suspicious members and its cache's siblings;
    the sibling scans share ``seconds``."""
    arch = arch_of(prog).name
    deadline = time.monotonic() + seconds
    out: List[HeldObject] = []
    for hop in v.chain:
        if hop.kind != "load" or hop.holder is None or not hop.holder_expr or hop.holder < 0x1000:
            continue
        if any(o.address == hop.holder for o in out):
            continue
        held = _describe(prog, hop, deadline, arch)
        if held is not None:
            out.append(held)
        if len(out) >= _MAX_OBJECTS:
            break
    return out



def freed_holder(v: Verdict, objects: List[HeldObject]) -> Optional[str]:
    """Why the bad value was read from a freed object, or None: the object the first load of
    ``v``'s chain read from is a slab object the dump holds as free, or carries the poison
    ``slub_debug=P`` writes into freed objects.  (Free *at the time of the dump*: another CPU
    may have freed it after the read, hence no more than medium confidence for the caller.)"""
    first = next((h for h in v.chain if h.kind == "load" and h.holder is not None), None)
    if first is None:
        return None
    held = next((o for o in objects if o.address == first.holder), None)
    if held is None:
        return None
    if held.allocated is False:
        return f"{held.expr} ({held.address:#x}) is a free object of {held.cache} in the dump: it was freed " \
               f"before (or while) {first.expr} was read from it"
    poison = next((x for x in held.suspects if x.kind == "slab-poison" and x.value == addresses.SLAB_POISONS.get(
        "POISON_FREE")), None)
    if poison is not None:
        return f"{held.expr}->{poison.path} holds POISON_FREE: {held.expr} was freed (slub_debug=P) before " \
               f"{first.expr} was read from it"
    return None
