"""Where a dump's source files are on this machine: path rewrites (gdb's ``substitute-path``) from DWARF's compile units."""

from __future__ import annotations

import os
from typing import Iterable, List, Optional, Sequence, Tuple

__all__ = ["compile_unit_sources", "source_roots", "source_rules", "source_line"]

#: Compile units read per debug file: vmlinux has thousands, all built in one directory, so a
#: few tell where its tree was; a module has one or two.
_UNITS_PER_FILE = 8
#: Units looked at for those: a distribution kernel built with relative paths names only its
#: assembler units absolutely (the first 8 of Debian's are within its first 120 units).
_UNITS_SCANNED = 512


def compile_unit_sources(path: str, limit: int = _UNITS_PER_FILE) -> List[str]:
    """The absolute source paths of the first ``limit`` compile units of ELF file ``path``:
    each unit's ``DW_AT_name`` joined to its ``DW_AT_comp_dir`` (as the compiler saw them,
    on the build machine).  Empty when the file cannot be read or has no DWARF.
    """
    from elftools.common.exceptions import DWARFError, ELFError

    from .dwarf import debug_file

    out: List[str] = []
    try:
        # the engine's open file (cached; a module's DWARF relocated in bulk), so a triage
        # that reads the same file after this does not read it again
        for seen, (name, comp_dir) in enumerate(debug_file(path).unit_sources()):
            if len(out) >= limit or seen >= _UNITS_SCANNED:
                break
            source = os.path.join(comp_dir, name) if comp_dir else name
            if os.path.isabs(source):
                out.append(os.path.normpath(source))
    except (ELFError, DWARFError, OSError, ValueError, KeyError, AttributeError, TypeError):
        return out
    return out


def source_roots(dirs: Iterable[str]) -> List[str]:
    """Directories to look for sources under: ``dirs`` (the debug-info search path), then
    each one's parent (a tree that keeps ``build/`` beside ``modules/`` or ``linux/``)."""
    out: List[str] = []
    for d in list(dirs) + [os.path.dirname(os.path.abspath(d)) for d in dirs]:
        d = os.path.abspath(d)
        if d != os.path.dirname(d) and os.path.isdir(d) and d not in out:
            out.append(d)
    return out


def _rewrite(source: str, roots: Sequence[str]) -> Optional[Tuple[str, str]]:
    """``(FROM, TO)`` such that ``source`` with its leading ``FROM`` replaced by ``TO`` is a
    file here: the longest tail of ``source`` found under one of ``roots``."""
    parts = source.strip("/").split("/")
    for root in roots:
        # keep at least one leading component in FROM: "/" would rewrite every path
        for keep in range(1, len(parts)):
            tail = parts[keep:]
            if os.path.isfile(os.path.join(root, *tail)):
                return "/" + "/".join(parts[:keep]), root
    return None


def source_rules(debug_files: Iterable[str], roots: Sequence[str]) -> List[Tuple[str, str]]:
    """Path rewrites ``(FROM, TO)`` that make the sources of ``debug_files`` (vmlinux, module
    ``.ko``) readable here, most specific ``FROM`` first (gdb applies the first rule that
    matches).  A unit whose source is at its recorded path, or is nowhere under ``roots``,
    needs none.

    ``/root/.cache/kdumpext-samples/modules/scst/scst.c`` with root ``sample-dumps`` holding
    ``modules/scst/scst.c`` gives ``("/root/.cache/kdumpext-samples", "sample-dumps")``.
    """
    rules: List[Tuple[str, str]] = []
    for path in debug_files:
        for source in compile_unit_sources(path):
            if os.path.isfile(source) or any(_applies(rule, source) for rule in rules):
                continue
            rule = _rewrite(source, roots)
            if rule is not None and rule not in rules:
                rules.append(rule)
    return sorted(rules, key=lambda r: -len(r[0]))


def _applies(rule: Tuple[str, str], source: str) -> bool:
    frm, to = rule
    return (source + "/").startswith(frm + "/") and os.path.isfile(to + source[len(frm):])


def source_line(location: str, roots: Sequence[str]) -> Optional[Tuple[str, str]]:
    """``(file here, the line's text)`` for ``location`` (``FILE:LINE`` as DWARF's line table has
    it: absolute on the build machine, or relative to the kernel tree), the file found as it is,
    under one of ``roots`` by its longest tail, or None.  Tabs become spaces, the end is stripped."""
    path, _, number = location.rpartition(":")
    if not path or not number.isdigit() or int(number) < 1:
        return None
    candidates = [path] if os.path.isabs(path) else [os.path.join(r, path) for r in roots]
    rule = _rewrite(path if os.path.isabs(path) else "/" + path.lstrip("./"), roots)
    if rule is not None:
        frm, to = rule
        tail = (path if os.path.isabs(path) else "/" + path.lstrip("./"))[len(frm):]
        candidates.append(to + tail)
    for c in candidates:
        try:
            with open(c, "rb") as f:
                for n, raw in enumerate(f, 1):
                    if n == int(number):
                        return c, raw.decode(errors="replace").rstrip().expandtabs(4)
        except OSError:
            continue
    return None
