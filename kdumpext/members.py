"""C types through drgn: what a pointer points to, sizes, and the member an access at an offset reaches."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, NamedTuple, Optional, Tuple

from .model import Member

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["Alternative", "type_str", "unqualified", "pointee", "sizeof", "same_type", "is_aggregate",
           "is_function_pointer", "member_paths", "member_of",
           "address_member"]


class Alternative(NamedTuple):
    """One member containing an offset: its path, type and own offset (several only through unions)."""

    path: str  # "node.next", "stats[2]", "" for the object itself
    type: Optional["drgn.Type"]
    start: int  # the member's byte offset in the outer type


def type_str(t: Optional["drgn.Type"]) -> str:
    """The C spelling of a drgn type ("" for None)."""
    return t.type_name() if t is not None else ""


def unqualified(t: "drgn.Type") -> "drgn.Type":
    """``t`` with typedefs seen through and qualifiers dropped."""
    import drgn

    while t.kind == drgn.TypeKind.TYPEDEF:
        t = t.type
    return t.unqualified()


def pointee(t: Optional["drgn.Type"]) -> Optional["drgn.Type"]:
    """``struct foo`` for ``struct foo *`` (typedefs seen through); None if ``t`` is not a pointer."""
    import drgn

    if t is None:
        return None
    t = unqualified(t)
    if t.kind != drgn.TypeKind.POINTER:
        return None
    return t.type


def same_type(a: "drgn.Type", b: "drgn.Type") -> bool:
    """Same C type, typedefs and qualifiers seen through (types from two lookups compare by name)."""
    return type_str(unqualified(a)) == type_str(unqualified(b))


def sizeof(t: Optional["drgn.Type"]) -> int:
    """``sizeof(t)``; 0 for None, an incomplete or a function type."""
    if t is None:
        return 0
    try:
        import drgn

        return int(drgn.sizeof(t))
    except (TypeError, ValueError):
        return 0


def is_aggregate(t: Optional["drgn.Type"]) -> bool:
    """Whether member paths mean something in ``t``: a struct, union, class or array."""
    import drgn

    if t is None:
        return False
    return unqualified(t).kind in (drgn.TypeKind.STRUCT, drgn.TypeKind.UNION, drgn.TypeKind.CLASS,
                                   drgn.TypeKind.ARRAY)


def is_function_pointer(t: Optional["drgn.Type"]) -> bool:
    """Whether ``t`` is a pointer to a function (``int (*)(struct kdx_netdev *)``)."""
    import drgn

    p = pointee(t)
    return p is not None and unqualified(p).kind == drgn.TypeKind.FUNCTION


def _join(name: str, path: str) -> str:
    if not name:  # an anonymous struct/union: its members are the parent's
        return path
    if not path:
        return name
    return name + path if path.startswith("[") else f"{name}.{path}"


def member_paths(t: "drgn.Type", offset: int) -> List[Alternative]:
    """Every deepest member of ``t`` containing byte ``offset``, in declaration order.

    More than one only through unions.  A scalar (or pointer) member is a leaf; arrays
    index as ``[i]``.  ``[Alternative("", t, 0)]`` when ``t`` itself is not an aggregate
    and ``offset`` is inside it; ``[]`` when ``offset`` is outside ``t`` or in padding.
    """
    import drgn

    t = unqualified(t)
    if offset < 0:
        return []
    if t.kind == drgn.TypeKind.ARRAY:
        esize = sizeof(t.type)
        if esize <= 0:
            return []
        idx, rest = divmod(offset, esize)
        if t.length is not None and idx >= t.length:
            return []
        return [Alternative(f"[{idx}]" + ("." + a.path if a.path and not a.path.startswith("[") else a.path),
                            a.type, idx * esize + a.start)
                for a in member_paths(t.type, rest)]
    if t.kind not in (drgn.TypeKind.STRUCT, drgn.TypeKind.UNION, drgn.TypeKind.CLASS):
        return [Alternative("", t, 0)] if offset < max(sizeof(t), 1) else []
    out: List[Alternative] = []
    for m in t.members or ():
        if m.bit_offset is None:
            continue
        start = m.bit_offset // 8
        msize = sizeof(m.type)
        if m.bit_field_size:
            msize = max(1, (m.bit_offset % 8 + m.bit_field_size + 7) // 8)
        if not start <= offset < start + max(msize, 1):
            continue
        for a in member_paths(m.type, offset - start):
            out.append(Alternative(_join(m.name or "", a.path), a.type, start + a.start))
    return out


def _fit(a: Alternative, offset: int, size: int) -> Tuple[bool, bool, int]:
    """Sort key: members that hold the whole access first, then those of exactly its size, then smaller;
    with no access size (an address, not an access) declaration order, as drgn's member_at_offset."""
    if size <= 0:
        return (False, False, 0)
    msize = sizeof(a.type)
    covers = size <= 0 or (a.start <= offset and offset + size <= a.start + max(msize, 1))
    return (not covers, size > 0 and msize != size, msize)


def member_of(t: "drgn.Type", offset: int, size: int = 0) -> Optional[Member]:
    """The :class:`~kdumpext.model.Member` of ``t`` an access of ``size`` bytes at ``offset`` reaches.

    The deepest member path; among union members the one that best fits the access
    (holds all of it, is of its size), the others in ``alternatives``.  The member's own
    offset is ``offset`` of the result, the byte touched ``accessed`` when it differs.
    None when ``offset`` is outside ``t`` or falls in padding.

    :param t: the pointee type (``struct scst_device``).
    """
    alts = member_paths(t, offset)
    if not alts:
        return None
    alts = sorted(alts, key=lambda a: _fit(a, offset, size))
    best = alts[0]
    return Member(
        type_name=type_str(unqualified(t)),
        path=best.path,
        offset=best.start,
        size=sizeof(best.type),
        member_type=type_str(best.type),
        accessed=offset if offset != best.start else None,
        access_size=size,
        alternatives=[a.path for a in alts[1:] if a.path != best.path],
    )


def address_member(t: "drgn.Type", offset: int, want: Optional["drgn.Type"] = None) -> Optional[Member]:
    """The member whose address is ``&p->member`` when ``p + offset`` is taken as an address.

    Unlike an access, an address names the outermost member that starts at ``offset``
    (``&x->lock``, not ``&x->lock.raw_lock.val``), or the first of them whose type is
    ``want`` (the type the address is used as).  None when no member starts there.
    """
    import drgn

    path = ""
    cur = unqualified(t)
    rest = offset
    first: Optional[Member] = None
    for _ in range(32):
        if cur.kind == drgn.TypeKind.ARRAY:
            esize = sizeof(cur.type)
            if esize <= 0:
                break
            idx, rest = divmod(rest, esize)
            if cur.length is not None and idx >= cur.length:
                break
            path += f"[{idx}]"
            cur = unqualified(cur.type)
        elif cur.kind in (drgn.TypeKind.STRUCT, drgn.TypeKind.UNION, drgn.TypeKind.CLASS):
            hit = None
            for m in cur.members or ():
                if m.bit_offset is None or m.bit_field_size:
                    continue
                start = m.bit_offset // 8
                if start <= rest < start + max(sizeof(m.type), 1):
                    hit = (m, start)
                    break
            if hit is None:
                break
            m, start = hit
            if m.name:  # an anonymous struct/union adds no name
                path = f"{path}.{m.name}" if path else m.name
            rest -= start
            cur = unqualified(m.type)
        else:
            break
        if rest == 0 and path:
            here = Member(type_str(unqualified(t)), path, offset, sizeof(cur), type_str(cur))
            if want is None or same_type(cur, want):
                return here
            first = first or here
    return first
