"""Open a crash dump: sniff its format, check it is whole, hand it to drgn with its debug info."""

from __future__ import annotations

import array
import os
import re
import struct
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Callable, Iterable, List, Optional, Tuple

from .errors import MemoryNotInDump, NotADumpError, TruncatedDumpError, UsageError
from .locate import COMPRESSED, SearchPath, find_module_file, find_vmlinux, regular_file, unpacked
from .model import DumpInfo

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["DumpFormat", "sniff", "check_complete", "open_dump", "OpenedDump", "read_memory", "kdump_geometry",
           "dumpable_bitmap"]

_KDUMP_SIG = b"KDUMP   "
_FLAT_SIG = b"makedumpfile"
_CONTAINERS = {b"\xfd7zXZ\x00": "xz", b"\x1f\x8b": "gz", b"BZh": "bz2"}  # magic -> locate.COMPRESSED suffix


@dataclass
class DumpFormat:
    """What a file is: ``kind`` is kdump-compressed, elf or flattened; ``container`` xz/gz/bz2."""

    kind: str
    container: str = ""

    def __str__(self) -> str:
        return f"{self.kind} ({self.container})" if self.container else self.kind


def _sniff_bytes(head: bytes) -> str:
    if head.startswith(_KDUMP_SIG):
        return "kdump-compressed"
    if head.startswith(b"\x7fELF"):
        if len(head) >= 18 and struct.unpack_from("<H", head, 16)[0] == 4:  # ET_CORE
            return "elf"
        return ""
    if head.startswith(_FLAT_SIG):
        return "flattened"
    return ""


def sniff(path: str) -> DumpFormat:
    """The dump format of ``path`` from its first bytes.

    :raises NotADumpError: not a kdump-compressed, ELF core or flattened file
        (possibly inside xz/gzip/bzip2).
    """
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory; give the dump file (e.g. dump.<stamp> or vmcore)")
    regular_file(path, "dump file (e.g. dump.<stamp> or vmcore)")
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory; give the dump file (e.g. dump.<stamp> or vmcore)") from None
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None
    kind = _sniff_bytes(head)
    if kind:
        return DumpFormat(kind)
    for magic, container in _CONTAINERS.items():
        if head.startswith(magic):
            import lzma

            try:
                with COMPRESSED["." + container](path, "rb") as f:
                    inner = f.read(64)
            except (OSError, EOFError, lzma.LZMAError):
                raise NotADumpError(path, f"damaged {container} file") from None
            kind = _sniff_bytes(inner)
            if kind:
                return DumpFormat(kind, container)
            raise NotADumpError(path, f"{container}-compressed, but not a dump inside")
    if head.startswith(b"\x7fELF"):
        raise NotADumpError(path, "an ELF file, but not a core file (is this the vmlinux?)")
    if _KERNEL_LOG.match(head):
        raise NotADumpError(path, f"a kernel log; kdumpext oops {path} explains it")
    raise NotADumpError(path)


#: The first line of a kernel log as dmesg, makedumpfile --dump-dmesg and vmcore-dmesg write it.
_KERNEL_LOG = re.compile(rb"^(<\d+>)?\[\s*\d+\.\d+\] ")


_KDUMP_HEADER = 464  # struct disk_dump_header, up to nr_cpus


def kdump_geometry(hdr: bytes) -> Optional[Tuple[int, int, int]]:
    """``(block_size, sub-header blocks, bytes per page bitmap)`` of a disk_dump_header.

    None when ``hdr`` is not one or makes no sense.  The two page bitmaps (valid, then
    dumpable) follow the sub-header; the page descriptors follow them.
    """
    if len(hdr) < _KDUMP_HEADER or not hdr.startswith(_KDUMP_SIG):
        return None
    block_size, sub_hdr_size, bitmap_blocks = struct.unpack_from("<iiI", hdr, 428)
    if block_size <= 0 or sub_hdr_size < 0:
        return None
    return block_size, sub_hdr_size, bitmap_blocks * block_size // 2


def dumpable_bitmap(read: Callable[[int, int], bytes]) -> Optional[bytes]:
    """The dumpable-pages bitmap (bit n: page frame n was saved) of a kdump-compressed image.

    ``read(offset, size)`` reads the image (a plain file, or one rebuilt from a flattened
    file); None when the header is not kdump's or the bitmap is cut short.
    """
    geo = kdump_geometry(read(0, _KDUMP_HEADER))
    if geo is None or not geo[2]:
        return None
    block_size, sub_hdr_size, half = geo
    bitmap = read(block_size * (1 + sub_hdr_size) + half, half)
    return bitmap if len(bitmap) == half else None


def _kdump_expected_size(f: IO[bytes], size: int) -> Tuple[int, str]:
    """End of the last page's data in a kdump-compressed file, from its header and tables."""
    def read(offset: int, n: int) -> bytes:
        f.seek(offset)
        return f.read(n)

    hdr = read(0, _KDUMP_HEADER)
    if len(hdr) < _KDUMP_HEADER:
        return _KDUMP_HEADER, "header cut short"
    geo = kdump_geometry(hdr)
    if geo is None:
        return 0, "bad header"
    block_size, sub_hdr_size, half = geo
    f.seek(block_size)
    sub = f.read(8 * 14)
    end = 0
    if len(sub) >= 96:
        # kdump_sub_header: phys_base, dump_level, split, start_pfn, end_pfn, then the
        # offset/size pairs of vmcoreinfo (byte 32), the ELF notes (48) and erase info (64)
        for name, at in (("vmcoreinfo", 32), ("note", 48), ("eraseinfo", 64)):
            off, n = struct.unpack_from("<qQ", sub, at)
            if not n:
                continue
            if off <= 0 or off + n > size:
                # drgn would map past the end of the file (SIGBUS): a damaged sub-header
                return off + n, f"damaged sub-header: offset_{name} {off:#x} + size_{name} {n:#x} " \
                                f"is past the end of the file ({size:#x} bytes)"
            end = max(end, off + n)
    bitmap_off = block_size * (1 + sub_hdr_size)
    bitmap2 = dumpable_bitmap(read) if half else b""
    if bitmap2 is None:
        return bitmap_off + 2 * half, "page bitmap cut short"
    npages = bin(int.from_bytes(bitmap2, "little")).count("1")  # int.bit_count() is 3.10+
    desc_off = bitmap_off + 2 * half
    if npages == 0:
        return max(end, desc_off), ""
    # page descriptors {int64 offset; uint32 size; uint32 flags; uint64 page_flags}: data is
    # not in descriptor order (every zero page shares one copy), so take the furthest end
    f.seek(desc_off)
    table = f.read(npages * 24)
    if len(table) < npages * 24:
        return desc_off + npages * 24, "page table cut short"
    words = array.array("q")
    words.frombytes(table)
    if sys.byteorder != "little":  # pragma: no cover
        words.byteswap()
    furthest = max(o + (s & 0xFFFF_FFFF) for o, s in zip(words[0::3], words[1::3]))
    return max(end, furthest), ""


def check_complete(path: str, fmt: DumpFormat) -> None:
    """Raise :class:`TruncatedDumpError` unless the file holds all the data its headers promise.

    kdump-compressed: the last page descriptor's data; ELF: every PT_LOAD's file bytes;
    flattened: the end marker.  Compressed containers are checked after unpacking.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if fmt.kind == "kdump-compressed":
            want, why = _kdump_expected_size(f, size)
            if why or size < want:
                raise TruncatedDumpError(path, why or f"{size} bytes, headers promise {want}")
        elif fmt.kind == "elf":
            hdr = f.read(64)
            phoff, = struct.unpack_from("<Q", hdr, 32)
            phentsize, phnum = struct.unpack_from("<HH", hdr, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            if len(table) < phentsize * phnum:
                raise TruncatedDumpError(path, "program headers cut short")
            want = 0
            for i in range(phnum):
                p_type, _flags, p_offset, _va, _pa, p_filesz = struct.unpack_from("<IIQQQQ", table, i * phentsize)
                if p_type in (1, 4):  # PT_LOAD, PT_NOTE
                    want = max(want, p_offset + p_filesz)
            if size < want:
                raise TruncatedDumpError(path, f"{size} bytes, program headers promise {want}")
        elif fmt.kind == "flattened":
            f.seek(max(0, size - 16))
            if f.read(16) != b"\xff" * 16:
                raise TruncatedDumpError(path, "no end marker")


@dataclass
class OpenedDump:
    """A dump opened in drgn with its debug info loaded, and what we learnt doing it."""

    prog: "drgn.Program"
    info: DumpInfo
    search: SearchPath
    module_files: List[Tuple[str, str]]  # (module name, debug file path)


def open_dump(
    path: str,
    vmlinux: Optional[str] = None,
    debug_dirs: Iterable[str] = (),
    modules: bool = True,
) -> OpenedDump:
    """Open ``path`` in drgn and load vmlinux and module debug info found for it.

    :raises NotADumpError, TruncatedDumpError, DebugInfoMismatch, MissingDebugInfo:
    """
    import drgn

    fmt = sniff(path)
    real = unpacked(path) if fmt.container else path
    check_complete(real, fmt)
    prog = drgn.Program()
    try:
        prog.set_core_dump(real)
    except (drgn.FaultError, ValueError, OSError) as e:
        raise TruncatedDumpError(path, str(e)) from None
    if not prog.flags & drgn.ProgramFlags.IS_LINUX_KERNEL:
        raise NotADumpError(path, "a core dump, but not of a Linux kernel")
    try:
        release = prog["UTS_RELEASE"].string_().decode()
    except (KeyError, LookupError, drgn.FaultError):
        release = ""
    # drgn yields the kernel first (from VMCOREINFO), then walks the module list,
    # which needs vmlinux's types: so find vmlinux between the two.
    modules_iter = prog.loaded_modules()
    main, _new = next(modules_iter)
    build_id = main.build_id.hex() if main.build_id else ""
    search = SearchPath.build(debug_dirs, path, vmlinux)
    vml = find_vmlinux(search, release, build_id, vmlinux)
    main.try_file(vml, force=not build_id)
    info = DumpInfo(path=path, format=str(fmt), release=release, build_id=build_id, vmlinux=vml)
    found: List[Tuple[str, str]] = []
    if modules:
        try:
            loaded = list(modules_iter)
        except drgn.FaultError as e:
            raise TruncatedDumpError(path, f"module list unreadable: {e}") from None
        for mod, _new in loaded:
            if mod is main or not isinstance(mod, drgn.RelocatableModule):
                continue
            info.modules.append(mod.name)
            mid = mod.build_id.hex() if mod.build_id else ""
            file = find_module_file(search, release, mod.name, mid)
            if file is None:
                info.modules_missing_debuginfo.append(mod.name)
                continue
            mod.try_file(file)
            if mod.debug_file_status == drgn.ModuleFileStatus.HAVE:
                found.append((mod.name, file))
            else:
                info.modules_missing_debuginfo.append(mod.name)
    if info.modules_missing_debuginfo:
        _use_module_kallsyms(prog)
    return OpenedDump(prog, info, search, found)


def _use_module_kallsyms(prog: "drgn.Program") -> None:
    """Let modules without debug info still name their functions, from their kallsyms in memory."""
    import drgn
    from drgn.helpers.linux.kallsyms import load_module_kallsyms

    try:
        index = load_module_kallsyms(prog)
    except (drgn.FaultError, LookupError, ValueError):
        return
    prog.register_symbol_finder("kdumpext_module_kallsyms", index, enable_index=-1)


def read_memory(prog: "drgn.Program", address: int, size: int, what: str = "") -> bytes:
    """``size`` bytes of the dumped kernel's memory at ``address``.

    :raises MemoryNotInDump: the page was not saved (makedumpfile's dump level excluded
        it: user data, free or cache pages) or the address is not mapped.
    """
    import drgn

    try:
        return prog.read(address, size)
    except drgn.FaultError:
        raise MemoryNotInDump(address, what) from None
