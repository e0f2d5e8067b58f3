"""What the objects on a crash's provenance chain are: where they live, whether they are alive, what else is wrong in them, how many like them share the bad field."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Tuple

from . import addresses
from .arch import arch_of
from .model import BadAddress, Frame, HeldObject, Hop, Siblings, SlabTrack, Suspect, TrackKind, Verdict

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["held_objects", "freed_holder", "poison_was_read", "suspects_in", "slab_tracks", "GENERAL_CACHES", "SIBLING_SECONDS",
           "SIBLING_LIMIT"]

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
    return _one_for_poison(_one_per_list_entry(out, expr), expr)


def _one_per_list_entry(found: List[Suspect], expr: str) -> List[Suspect]:
    """A list_head whose ``next`` and ``prev`` are both LIST_POISON, as list_del() leaves it (an
    hlist_node's ``next`` and ``pprev``, as hlist_del() does): one suspect for the entry
    (``cmd_list_entry``), not two."""
    out: List[Suspect] = []
    for x in found:
        head, _, last = x.path.rpartition(".")
        prev = out[-1] if out else None
        if x.kind == "list-poison" and last in ("prev", "pprev") and prev is not None \
                and prev.kind == "list-poison" and prev.path == f"{head}.next" and x.offset == prev.offset + 8:
            how = "list_del()" if last == "prev" else "hlist_del()"
            out[-1] = Suspect(head, prev.offset, prev.value, "list-poison",
                              f"{expr}->{head} is LIST_POISON1/LIST_POISON2 (next/{last}): {expr} was taken off "
                              f"a list with {how} before this access")
            continue
        out.append(x)
    return out


def _one_for_poison(found: List[Suspect], expr: str) -> List[Suspect]:
    """A freed object under ``slub_debug=P`` is POISON_FREE from end to end: one suspect for all
    its members that hold it (``node.next, node.prev, queue``), not one per member."""
    free = addresses.SLAB_POISONS["POISON_FREE"]
    poisoned = [x for x in found if x.kind == "slab-poison" and x.value == free]
    if len(poisoned) < 2:
        return found
    paths = ", ".join(x.path for x in poisoned)
    one = Suspect(poisoned[0].path, poisoned[0].offset, free, "slab-poison",
                  f"{expr}'s pointer members hold slab poison (POISON_FREE, 0x6b…: {paths}): {expr} was freed "
                  "(slub_debug=P) before this access")
    return [one if x is poisoned[0] else x for x in found if x is poisoned[0] or x not in poisoned]


#: include/linux/slab.h's SLAB_STORE_USER (slub_debug=U) before v6.9, where the flags became the
#: bits of enum _slab_flag_bits (read from the DWARF when there).
_SLAB_STORE_USER = 0x00010000


def _store_user_flag(prog: "drgn.Program") -> int:
    try:
        return 1 << int(prog.constant("_SLAB_STORE_USER").value_())
    except (LookupError, ValueError):
        return _SLAB_STORE_USER


def _where(prog: "drgn.Program", pc: int) -> str:
    """``kdxobj_req_alloc+0x30 [kdxobj]`` (:attr:`Frame.site`), or the bare address when no symbol holds ``pc``."""
    import drgn

    try:
        sym = prog.symbol(pc)
    except LookupError:
        return f"{pc:#x}"
    try:
        mod = prog.module(pc)
        module = "" if isinstance(mod, drgn.MainModule) else mod.name
    except LookupError:
        module = ""
    return Frame(0, pc, sym.name, pc - sym.address, module).site


def slab_tracks(prog: "drgn.Program", cache: Any, start: int, now: Optional[int] = None) -> List[SlabTrack]:
    """The last allocation and free of the slab object at ``start`` that SLUB recorded, when its
    cache stores them (``slub_debug=U``): after the object's payload, at ``get_info_end()``, one
    ``struct track`` per kind; with the stack depot, each with its trace.  ``now`` is the crash's
    jiffies.  Empty when the cache records nothing or the kernel's types are not in the DWARF."""
    import drgn

    try:
        if not int(cache.flags) & _store_user_flag(prog):
            return []
        track_type = prog.type("struct track")
        inuse, offset = int(cache.inuse), int(cache.offset)
    except (LookupError, AttributeError, drgn.FaultError):
        return []
    # mm/slub.c get_info_end(): the free pointer is stored past the payload when it is not inside it
    info_end = inuse + (8 if offset >= inuse else 0)
    out: List[SlabTrack] = []
    kinds: Tuple[TrackKind, TrackKind] = ("alloc", "free")  # mm/slub.c enum track_item: TRACK_ALLOC, TRACK_FREE
    for i, kind in enumerate(kinds):
        try:
            t = drgn.Object(prog, track_type, address=start + info_end + i * drgn.sizeof(track_type))
            addr = int(t.addr)
            if not addr:
                continue
            when = int(t.when)
            track = SlabTrack(kind, _where(prog, addr), int(t.pid), int(t.cpu), when,
                              None if now is None else (now - when) & ((1 << 64) - 1))
        except (drgn.FaultError, LookupError, AttributeError):
            continue
        try:
            from drgn.helpers.linux.stackdepot import stack_depot_fetch

            trace = stack_depot_fetch(t.handle) if int(t.handle) else None
            # one entry per saved pc: the frames drgn adds for functions inlined there share it
            track.frames = [_where(prog, fr.pc) for fr in trace if not fr.is_inline] if trace is not None else []
        except (drgn.FaultError, LookupError, AttributeError, ValueError, IndexError):
            pass
        out.append(track)
    return out


#: struct pages read at a time when looking for a cache's slabs (256 KiB of 64-byte pages)
_PAGE_CHUNK = 4096


class _OutOfTime(Exception):
    pass


def _slabs_of(prog: "drgn.Program", cache: Any, deadline: float) -> Iterator[Tuple[Any, Any]]:
    """``(page, slab)`` for every slab of ``cache``.  SLUB lists no full slab unless debugging, so
    the struct page array is read a chunk at a time and searched for the cache's address where a
    slab keeps it (a C-speed ``bytes.find``, where drgn's own walk asks every page in Python);
    each hit is confirmed with drgn's page helpers.  Raises :class:`_OutOfTime` past
    ``deadline``, checked per chunk."""
    import drgn
    from drgn.helpers.linux.mm import PageSlab, PageTail, for_each_valid_page_range

    try:
        slab_type = prog.type("struct slab")  # v5.17+: struct slab overlays struct page
    except LookupError:
        slab_type = prog.type("struct page")
    page_type = prog.type("struct page")
    psize, off = drgn.sizeof(page_type), drgn.offsetof(slab_type, "slab_cache")
    needle = int(cache.value_()).to_bytes(8, "little")
    page_ptr, slab_ptr = prog.pointer_type(page_type), prog.pointer_type(slab_type)
    for start, end, mem_map in for_each_valid_page_range(prog):
        base = int(mem_map.value_())
        for pfn in range(start, end, _PAGE_CHUNK):
            if time.monotonic() > deadline:
                raise _OutOfTime()
            addr = base + pfn * psize
            try:
                data = prog.read(addr, min(_PAGE_CHUNK, end - pfn) * psize)
            except drgn.FaultError:
                continue  # a hole in the page array
            i = data.find(needle)
            while i >= 0:
                if (i - off) % psize == 0:
                    page = drgn.Object(prog, page_ptr, value=addr + i - off)
                    try:
                        if PageSlab(page) and not PageTail(page):
                            yield page, drgn.cast(slab_ptr, page)
                    except drgn.FaultError:
                        pass
                i = data.find(needle, i + 1)


def _allocated_objects(prog: "drgn.Program", cache: Any, deadline: float) -> Iterator[int]:
    """The addresses of ``cache``'s allocated objects: its slabs (:func:`_slabs_of`), each less
    what drgn's SLUB helper knows to be free (the slab's freelist, the CPUs' freelists).  Where
    that helper's inner methods are not there (another drgn, SLAB), drgn's public walk, whose
    first object may come only after a walk over every page."""
    from drgn.helpers.linux.slab import _get_slab_cache_helper, slab_cache_for_each_allocated_object

    helper = _get_slab_cache_helper(cache)
    page_objects = getattr(helper, "_page_objects", None)
    try:
        helper.for_each_allocated_object("void")  # sets up the CPUs' free objects; the walk is not started
    except (AttributeError, NotImplementedError):
        page_objects = None
    if page_objects is None or not hasattr(helper, "_cache_free_objects"):
        for obj in slab_cache_for_each_allocated_object(cache, "void"):
            yield int(obj.value_())
        return
    void_ptr = prog.pointer_type(prog.type("void"))
    for page, slab in _slabs_of(prog, cache, deadline):
        for obj in page_objects(page, slab, void_ptr):
            yield int(obj.value_())


def _siblings(prog: "drgn.Program", cache: Any, cache_name: str, member: str, offset: int, value: int,
              holder: int, deadline: float) -> Siblings:
    """Count the allocated objects of ``cache`` whose 8 bytes at ``offset`` hold ``value``."""
    from drgn import FaultError

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
        for addr in _allocated_objects(prog, cache, deadline):
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
                raise _OutOfTime()
    except _OutOfTime:
        s.stopped = f"time limit {SIBLING_SECONDS} s"
    except (FaultError, LookupError, ValueError, NotImplementedError) as e:
        s.stopped = f"the cache could not be walked ({e})"
    return s


def _jiffies(prog: "drgn.Program") -> Optional[int]:
    """The kernel's jiffies at the crash, or None."""
    import drgn

    try:
        return int(prog["jiffies"].value_())
    except (LookupError, drgn.FaultError, ValueError):
        return None


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
    if cache_obj is not None and obj.object_start is not None:
        obj.tracks = slab_tracks(prog, cache_obj, obj.object_start, _jiffies(prog))
    if cache_obj is not None and obj.allocated and hop.member is not None and hop.value is not None \
            and time.monotonic() < deadline:
        obj.siblings = _siblings(prog, cache_obj, obj.cache, hop.member.path, hop.member.offset, hop.value,
                                 obj.object_start if obj.object_start is not None else hop.holder, deadline)
    return obj


def _holder_from_frame(prog: "drgn.Program", hop: Hop) -> Optional[int]:
    """The object a load read from, when the registers no longer hold it (the load overwrote its
    own base register, ``mov 0x20(%rdi),%rdi``): the variable ``hop.holder_expr`` names, as DWARF
    locates it in the crashed task's frame of the load's function (a callee-saved register, the
    stack).  Kept only if its member still holds the value the load read."""
    import drgn

    name = hop.holder_expr
    if not name.isidentifier() or hop.member is None:
        return None
    try:
        trace = prog.crashed_thread().stack_trace()
    except (LookupError, ValueError, drgn.FaultError):
        return None
    fn = hop.function + hop.clone
    for frame in trace:
        if frame.name not in (fn, hop.function):
            continue
        try:
            obj = frame[name]
            if obj.absent_ or obj.type_.unqualified().kind != drgn.TypeKind.POINTER:
                return None
            addr = int(obj.value_())
            if hop.value is not None and hop.member.size == 8 and prog.read_u64(addr + hop.member.offset) != hop.value:
                return None
        except (KeyError, LookupError, ValueError, drgn.FaultError, drgn.ObjectAbsentError):
            return None
        return addr
    return None


def held_objects(prog: "drgn.Program", v: Verdict, seconds: float = SIBLING_SECONDS) -> List[HeldObject]:
    """The objects the bad value was read from along ``v``'s chain (at most three, nearest the
    fault first), each with where it lives, its suspicious members and its cache's siblings;
    the sibling scans share ``seconds``."""
    arch = arch_of(prog).name
    deadline = time.monotonic() + seconds
    out: List[HeldObject] = []
    for hop in v.chain:
        if hop.kind == "load" and hop.holder is None and hop.holder_expr:
            hop.holder = _holder_from_frame(prog, hop)
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



def _first_load(v: Verdict) -> Optional[Hop]:
    """The chain's first load whose object is known: where the bad value was read from."""
    return next((h for h in v.chain if h.kind == "load" and h.holder is not None), None)


def poison_was_read(v: Verdict) -> bool:
    """The value the chain's first load read is POISON_FREE: its object had been freed (and
    poisoned by ``slub_debug=P``) before the read, not after it."""
    first = _first_load(v)
    return first is not None and first.value == addresses.SLAB_POISONS["POISON_FREE"]


def freed_holder(v: Verdict, objects: List[HeldObject]) -> Optional[str]:
    """Why the bad value was read from a freed object, or None: the object the first load of
    ``v``'s chain read from is a slab object the dump holds as free, or carries the poison
    ``slub_debug=P`` writes into freed objects.  (Free *at the time of the dump*: another CPU
    may have freed it after the read, hence no more than medium confidence for the caller.)"""
    first = _first_load(v)
    if first is None:
        return None
    held = next((o for o in objects if o.address == first.holder), None)
    if held is None:
        return None
    if held.allocated is False:
        when = "before" if poison_was_read(v) else "before (or while)"
        return f"{held.expr} ({held.address:#x}) is a free object of {held.cache} in the dump: it was freed " \
               f"{when} {first.expr} was read from it"
    poison = next((x for x in held.suspects if x.kind == "slab-poison" and x.value == addresses.SLAB_POISONS.get(
        "POISON_FREE")), None)
    if poison is not None:
        return f"{held.expr}->{poison.path} holds POISON_FREE: {held.expr} was freed (slub_debug=P) before " \
               f"{first.expr} was read from it"
    return None
