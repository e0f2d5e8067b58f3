"""Open a crash dump: sniff its format, check it is whole, hand it to drgn with its debug info."""

from __future__ import annotations

import array
import os
import re
import struct
import sys
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Tuple

from .errors import (DamagedDumpError, KdumpextError, MemoryNotInDump, NotADumpError, TruncatedDumpError,
                     UnusableDebugInfo, UsageError)
from .locate import COMPRESSED, SearchPath, find_module_file, find_vmlinux, regular_file, unpacked
from .model import DumpInfo

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["DumpFormat", "sniff", "check_complete", "open_dump", "OpenedDump", "read_memory", "kdump_geometry",
           "dumpable_bitmap", "kdump_header_problems", "kdump_sub_header_problems", "vmcoreinfo_problems",
           "parse_notes", "elf_header_problems", "elf_segment_problems", "flat_records", "flat_reader",
           "vmcoreinfo_value"]

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
        order = ">" if head[5:6] == b"\x02" else "<"  # EI_DATA: a big-endian core is said unsupported later
        if len(head) >= 18 and struct.unpack_from(order + "H", head, 16)[0] == 4:  # ET_CORE
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
_KDUMP_SUB_HEADER = 104  # struct kdump_sub_header (header_version 6)
_MAX_BLOB = 1 << 20  # VMCOREINFO is one page in the kernel
_MAX_NOTES = 64 << 20  # the ELF notes are a few KiB per CPU
_CHUNK = 1 << 20  # bytes read at a time when scanning bitmaps and page tables
_MACHINES = {62: "x86-64", 183: "aarch64"}
_OTHER_MACHINES = {2: "SPARC", 3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "s390", 40: "ARM",
                   43: "SPARC64", 50: "IA-64", 243: "RISC-V", 258: "LoongArch"}


def _is_page_size(n: int) -> bool:
    return 1 << 12 <= n <= 1 << 16 and n & (n - 1) == 0


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


def kdump_header_problems(hdr: bytes, size: int) -> List[str]:
    """What is wrong with a kdump-compressed file's ``struct disk_dump_header`` (diskdump_mod.h).

    ``hdr``: the file's first 464 bytes; ``size``: the file's (or image's) size.  Every field
    a reader trusts to find the rest (block size, sub-header and bitmap sizes, page count) is
    checked against what makedumpfile writes and against the file's end.  [] when it is sound.
    """
    if len(hdr) < _KDUMP_HEADER:
        return [f"disk_dump_header cut short ({len(hdr)} of {_KDUMP_HEADER} bytes)"]
    out: List[str] = []
    version, = struct.unpack_from("<i", hdr, 8)
    block_size, sub_hdr_size, bitmap_blocks, max_mapnr = struct.unpack_from("<iiII", hdr, 428)
    nr_cpus, = struct.unpack_from("<i", hdr, 460)
    if not 3 <= version <= 255:
        # libkdumpfile finds VMCOREINFO in the sub-header from version 3 (notes from 4); makedumpfile writes 6
        why = "older than 3, so without VMCOREINFO" if 0 <= version < 3 else "not one makedumpfile writes"
        out.append(f"header_version {version}: {why}")
    if not _is_page_size(block_size):
        out.append(f"block_size {block_size} is not a page size (a power of two, 4 KiB to 64 KiB)")
        return out  # every other offset is counted in blocks
    if sub_hdr_size < 1 or block_size * (1 + sub_hdr_size) > size:
        out.append(f"sub_hdr_size {sub_hdr_size} blocks: the sub-header would end past the file ({size:#x} bytes)"
                   if sub_hdr_size >= 1 else f"sub_hdr_size {sub_hdr_size}: there is always a sub-header")
        return out
    bitmap_off = block_size * (1 + sub_hdr_size)
    if bitmap_blocks == 0 or bitmap_off + bitmap_blocks * block_size > size:
        out.append(f"bitmap_blocks {bitmap_blocks:#x}: the page bitmaps would end past the file ({size:#x} bytes)"
                   if bitmap_blocks else "bitmap_blocks 0: no page bitmap")
        return out
    if max_mapnr > bitmap_blocks * block_size * 8 // 2:
        out.append(f"max_mapnr {max_mapnr:#x} pages do not fit the page bitmaps "
                   f"({bitmap_blocks} blocks of {block_size} bytes, two bitmaps)")
    if not 0 <= nr_cpus <= 1 << 16:
        out.append(f"nr_cpus {nr_cpus} is not a number of CPUs")
    return out


def kdump_sub_header_problems(hdr: bytes, sub: bytes, size: int) -> List[str]:
    """What is wrong with a kdump-compressed file's ``struct kdump_sub_header``.

    ``hdr``: the sound disk_dump_header (see :func:`kdump_header_problems`); ``sub``: the
    sub-header's first 104 bytes (at offset block_size).  VMCOREINFO and the ELF notes must
    lie in the sub-header's blocks, the erase info in the file; a split dump's part cannot be
    read alone; the 64-bit page count must agree with the 32-bit one and the bitmaps.
    """
    version, = struct.unpack_from("<i", hdr, 8)
    block_size, sub_hdr_size, bitmap_blocks, max_mapnr = struct.unpack_from("<iiII", hdr, 428)
    want = 96 if version < 6 else _KDUMP_SUB_HEADER
    if len(sub) < want:
        return [f"kdump_sub_header cut short ({len(sub)} of {want} bytes)"]
    out: List[str] = []
    dump_level, split = struct.unpack_from("<ii", sub, 8)
    if not 0 <= dump_level <= 31:
        out.append(f"dump_level {dump_level} is not one of makedumpfile's 0..31")
    if split:
        out.append(f"split {split}: this is one part of a makedumpfile --split dump; join the parts "
                   "(makedumpfile --reassemble) and give the whole")
    bitmap_off = block_size * (1 + sub_hdr_size)
    # offset/size pairs: vmcoreinfo (byte 32), the ELF notes (48), erase info (64)
    for name, at, lo, hi in (("vmcoreinfo", 32, block_size, bitmap_off), ("note", 48, block_size, bitmap_off),
                             ("eraseinfo", 64, bitmap_off, size)):
        off, n = struct.unpack_from("<qQ", sub, at)
        if not n:
            continue
        if off <= 0 or off + n > size:
            # drgn would map past the end of the file (SIGBUS): a damaged sub-header
            out.append(f"damaged sub-header: offset_{name} {off:#x} + size_{name} {n:#x} "
                       f"is past the end of the file ({size:#x} bytes)")
        elif n > (_MAX_NOTES if name == "note" else _MAX_BLOB) or not lo <= off <= off + n <= hi:
            out.append(f"damaged sub-header: offset_{name} {off:#x} + size_{name} {n:#x} "
                       f"is not within {lo:#x}..{hi:#x}")
    if version >= 6:
        max_mapnr_64, = struct.unpack_from("<Q", sub, 96)
        if min(max_mapnr_64, 0xFFFF_FFFF) != max_mapnr:
            out.append(f"max_mapnr_64 {max_mapnr_64:#x} disagrees with max_mapnr {max_mapnr:#x}")
        elif max_mapnr_64 > bitmap_blocks * block_size * 8 // 2:
            out.append(f"max_mapnr_64 {max_mapnr_64:#x} pages do not fit the page bitmaps")
    return out


def parse_notes(data: bytes) -> Tuple[List[Tuple[bytes, int, bytes]], str]:
    """The ``(name, type, desc)`` of each ELF note (``Elf64_Nhdr``, 4-byte aligned) in ``data``.

    Second item: what is malformed ("" when nothing); zero bytes after the last note are
    padding.  Names lose their NUL.
    """
    notes: List[Tuple[bytes, int, bytes]] = []
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        if namesz == descsz == ntype == 0 and not data[pos:].strip(b"\0"):
            return notes, ""
        name_end = pos + 12 + namesz
        desc_at = pos + 12 + (namesz + 3) // 4 * 4
        desc_end = desc_at + descsz
        if name_end > len(data) or desc_end > len(data):
            return notes, (f"note {len(notes)} at {pos:#x}: n_namesz {namesz:#x} + n_descsz {descsz:#x} "
                           f"run past the notes' end ({len(data):#x} bytes)")
        notes.append((data[pos + 12:name_end].rstrip(b"\0"), ntype, data[desc_at:desc_end]))
        pos = desc_at + (descsz + 3) // 4 * 4
    if data[pos:].strip(b"\0"):
        return notes, f"{len(data) - pos} stray bytes after note {len(notes)}"
    return notes, ""


def vmcoreinfo_problems(text: bytes, page_size: int = 0) -> List[str]:
    """What is wrong with a VMCOREINFO blob (``KEY=value`` lines, as the kernel writes them).

    OSRELEASE must be there, printable and short; PAGESIZE a power of two (and
    ``page_size`` when the dump's header gives one); BUILD-ID and KERNELOFFSET hex.
    """
    if len(text) > _MAX_BLOB:
        return [f"VMCOREINFO is {len(text)} bytes (the kernel's is one page)"]
    try:
        lines = text.rstrip(b"\0").decode("ascii").splitlines()
    except UnicodeDecodeError:
        return ["VMCOREINFO is not text"]
    keys: Dict[str, str] = {}
    for line in lines:
        key, eq, value = line.partition("=")
        if eq:
            keys.setdefault(key, value)
    out: List[str] = []
    release = keys.get("OSRELEASE")
    if release is None:
        out.append("VMCOREINFO has no OSRELEASE")
    elif not 0 < len(release) <= 64 or not all(33 <= ord(c) < 127 for c in release):
        out.append(f"VMCOREINFO OSRELEASE {release[:80]!r} is not a kernel release")
    ps = keys.get("PAGESIZE")
    if ps is None:
        out.append("VMCOREINFO has no PAGESIZE")
    elif not ps.isdigit() or not _is_page_size(int(ps)):
        out.append(f"VMCOREINFO PAGESIZE {ps[:40]!r} is not a page size")
    elif page_size and int(ps) != page_size:
        out.append(f"VMCOREINFO PAGESIZE {ps} is not the header's block_size {page_size}")
    for key, most in (("BUILD-ID", 128), ("KERNELOFFSET", 16), ("SYMBOL(swapper_pg_dir)", 16)):
        hexed = keys.get(key)
        if hexed is not None and (not hexed or len(hexed) > most or not _is_hex(hexed)):
            out.append(f"VMCOREINFO {key} {hexed[:80]!r} is not hex")
    return out


def _is_hex(s: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in s)


def _vmcoreinfo_in_notes(notes: List[Tuple[bytes, int, bytes]]) -> Optional[bytes]:
    for name, _type, desc in notes:
        if name == b"VMCOREINFO":
            return desc
    return None


def elf_header_problems(ehdr: bytes, size: int) -> List[str]:
    """What is wrong with an ELF core's ``Elf64_Ehdr`` (first 64 bytes of a ``size``-byte file).

    kdumpext reads 64-bit little-endian x86-64 and aarch64 cores; the program header table
    must be ``Elf64_Phdr``-sized entries inside the file.
    """
    if len(ehdr) < 64:
        return [f"ELF header cut short ({len(ehdr)} of 64 bytes)"]
    if ehdr[4] != 2:
        return [f"EI_CLASS {ehdr[4]}: " + ("a 32-bit core (ELFCLASS32), unsupported" if ehdr[4] == 1 else "not 64-bit")]
    if ehdr[5] != 1:
        return [f"EI_DATA {ehdr[5]}: " + ("a big-endian core, unsupported" if ehdr[5] == 2 else "no byte order")]
    out: List[str] = []
    machine, = struct.unpack_from("<H", ehdr, 18)
    if machine not in _MACHINES:
        other = _OTHER_MACHINES.get(machine)
        out.append(f"e_machine {machine} ({other}): unsupported architecture; kdumpext reads x86-64 and aarch64"
                   if other else f"e_machine {machine} is no architecture")
    phoff, = struct.unpack_from("<Q", ehdr, 32)
    phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
    if phentsize != 56:
        out.append(f"e_phentsize {phentsize} is not sizeof(Elf64_Phdr) 56")
    elif phnum == 0xFFFF:
        pass  # PN_XNUM: the count is in section header 0, which _elf_problem reads
    elif phoff < 64 or phoff + phnum * 56 > size:
        out.append(f"e_phoff {phoff:#x} + e_phnum {phnum} program headers run past the file ({size:#x} bytes)")
    elif phnum == 0:
        out.append("e_phnum 0: no program headers")
    return out


def elf_segment_problems(table: bytes, size: int) -> Tuple[List[str], int, List[Tuple[int, int]]]:
    """Check an ELF core's program headers (``Elf64_Phdr`` entries) against a ``size``-byte file.

    Returns (what is damaged, the end of the furthest PT_LOAD/PT_NOTE data, the PT_NOTEs'
    ``(offset, size)``).  A segment whose data runs past the file is left to the caller,
    which calls that a truncated file.
    """
    out: List[str] = []
    want = 0
    notes: List[Tuple[int, int]] = []
    for i in range(len(table) // 56):
        p_type, _flags, p_offset, _va, _pa, p_filesz, p_memsz = struct.unpack_from("<IIQQQQQ", table, i * 56)
        if p_type not in (1, 4):  # PT_LOAD, PT_NOTE
            continue
        end = p_offset + p_filesz
        if end >= 1 << 63:
            out.append(f"program header {i}: p_offset {p_offset:#x} + p_filesz {p_filesz:#x} overflow")
            continue
        if p_type == 1 and p_filesz > p_memsz:
            out.append(f"program header {i}: PT_LOAD p_filesz {p_filesz:#x} > p_memsz {p_memsz:#x}")
        if p_type == 4:
            if p_filesz > _MAX_NOTES:
                out.append(f"program header {i}: PT_NOTE p_filesz {p_filesz:#x} is absurd")
                continue
            notes.append((p_offset, p_filesz))
        want = max(want, end)
    return out, want, notes


def flat_records(f: IO[bytes], size: int) -> Tuple[List[Tuple[int, int, int]], str]:
    """The records of a flattened file (makedumpfile -F): ``(image offset, size, file offset)``.

    Second item: what is wrong ("" when the records are sound and end with the end marker).
    Each record is a big-endian ``{int64 offset; int64 size}`` and its data.
    """
    f.seek(0)
    head = f.read(4096)
    if len(head) < 4096:
        return [], f"flattened header cut short ({len(head)} of 4096 bytes)"
    ftype, version = struct.unpack_from(">qq", head, 16)
    if ftype != 1 or version != 1:
        return [], f"flattened header type {ftype} version {version}: not makedumpfile's 1, 1"
    records: List[Tuple[int, int, int]] = []
    pos = 4096
    while True:
        f.seek(pos)
        rec = f.read(16)
        if len(rec) < 16:
            return records, "no end marker"
        off, n = struct.unpack(">qq", rec)
        if off == -1:
            return records, ""
        if off < 0 or n < 0 or pos + 16 + n > size or off + n > 1 << 48:
            if off >= 0 and 0 <= n <= size and off + n <= 1 << 48:
                return records, "no end marker"  # the last record is cut short
            return records, f"record {len(records)} at {pos:#x}: offset {off:#x} size {n:#x} " \
                            f"(file {size:#x} bytes)"
        records.append((off, n, pos + 16))
        pos += 16 + n


def flat_reader(f: IO[bytes], records: List[Tuple[int, int, int]]) -> Callable[[int, int], bytes]:
    """``read(offset, n)`` of the image a flattened file's records build (later records win)."""
    import bisect

    order = sorted(range(len(records)), key=lambda i: records[i][0])
    starts = [records[i][0] for i in order]
    longest = max((r[1] for r in records), default=0)

    def read(offset: int, n: int) -> bytes:
        buf = bytearray(n)
        lo = bisect.bisect_left(starts, offset - longest)
        hi = bisect.bisect_left(starts, offset + n)
        for i in sorted(order[lo:hi]):  # file order: a rewritten piece comes later
            off, m, pos = records[i]
            a, b = max(off, offset), min(off + m, offset + n)
            if a < b:
                f.seek(pos + a - off)
                buf[a - offset:b - offset] = f.read(b - a)
        return bytes(buf)

    return read


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


def _popcount(data: bytes) -> int:
    n = 0
    for i in range(0, len(data), _CHUNK):
        n += bin(int.from_bytes(data[i:i + _CHUNK], "little")).count("1")  # int.bit_count() is 3.10+
    return n


def _kdump_problem(read: Callable[[int, int], bytes], size: int) -> Tuple[str, bool]:
    """What is wrong with a kdump-compressed image (``read(offset, n)``, ``size`` bytes).

    ``("", False)`` when it is whole; otherwise the reason and whether the data was merely
    cut short (True) rather than damaged.
    """
    hdr = read(0, _KDUMP_HEADER)
    if len(hdr) < _KDUMP_HEADER:
        return "header cut short", True
    problems = kdump_header_problems(hdr, size)
    if problems:
        return "; ".join(problems), False
    block_size, sub_hdr_size, half = kdump_geometry(hdr) or (0, 0, 0)
    version, = struct.unpack_from("<i", hdr, 8)
    sub = read(block_size, _KDUMP_SUB_HEADER)
    problems = kdump_sub_header_problems(hdr, sub, size)
    if problems:
        return "; ".join(problems), False
    blobs = []
    off, n = struct.unpack_from("<qQ", sub, 32)
    if n:
        blobs.append(read(off, n))
    off, n = struct.unpack_from("<qQ", sub, 48)
    if n and version >= 4:
        notes, bad = parse_notes(read(off, n))
        if bad:
            return f"ELF notes in the sub-header: {bad}", False
        blob = _vmcoreinfo_in_notes(notes)
        if blob is not None:
            blobs.append(blob)
    if not blobs:
        return "no VMCOREINFO in the sub-header", False
    for blob in blobs:
        problems = vmcoreinfo_problems(blob, block_size)
        if problems:
            return "; ".join(problems), False
    release = hdr[12 + 130:12 + 195].split(b"\0")[0]
    osrelease = re.search(rb"^OSRELEASE=(.*)$", blobs[-1], re.M)
    if release and osrelease and osrelease.group(1).strip(b"\0") != release:
        return f"utsname.release {release[:64]!r} is not VMCOREINFO's OSRELEASE {osrelease.group(1)[:64]!r}", False
    bitmap_off = block_size * (1 + sub_hdr_size)
    desc_off = bitmap_off + 2 * half
    npages = 0
    for at in range(0, half, _CHUNK):
        chunk = read(bitmap_off + half + at, min(_CHUNK, half - at))
        npages += _popcount(chunk)
    if npages == 0:
        return "", False
    # page descriptors {int64 offset; uint32 size; uint32 flags; uint64 page_flags}: data is
    # not in descriptor order (every zero page shares one copy), so take the furthest end;
    # makedumpfile (and QEMU) write the first page's data right after the table
    furthest, first = 0, 1 << 63
    per = _CHUNK // 24
    for k in range(0, npages, per):
        m = min(per, npages - k)
        table = read(desc_off + k * 24, m * 24)
        if len(table) < m * 24:
            return f"{size} bytes, the page table needs {desc_off + npages * 24}", True
        words, halves = array.array("q"), array.array("I")
        words.frombytes(table)
        halves.frombytes(table)
        if sys.byteorder != "little":  # pragma: no cover
            words.byteswap()
            halves.byteswap()
        # array slices and min/max run in C: a multi-GB dump has millions of descriptors
        offsets, sizes = words[0::3], halves[2::6]
        big = max(sizes)
        if big > block_size:
            i = sizes.index(big)
            return f"page descriptor {k + i}: size {sizes[i]:#x} is more than a page", False
        low = min(offsets)
        if low < 0:
            i = offsets.index(low)
            return f"page descriptor {k + i}: offset {offsets[i]:#x}", False
        # a writer writes each page's data once, so the data furthest in the file ends furthest
        # (pages are at most block_size long: overlapping descriptors could hide less than a page)
        top = max(offsets)
        at = len(offsets) - 1 - offsets[::-1].index(top)  # data are written in order: found at once from the end
        furthest = max(furthest, top + sizes[at])
        # no descriptor has offset 0 in a sound table: its minimum is the first data (a second pass
        # over the nonzero ones only when there is one)
        first = min(first, low if low > 0 else min(filter(None, offsets), default=first))
    if first != desc_off + npages * 24 and first < size:
        return (f"dumpable bitmap: {npages} pages marked, but the page data starts at {first:#x}, "
                f"not after their table at {desc_off + npages * 24:#x}"), False
    if size < furthest:
        return f"{size} bytes, headers promise {furthest}", True
    return "", False


def _elf_problem(f: IO[bytes], size: int) -> Tuple[str, bool]:
    """What is wrong with an ELF core file ``f`` of ``size`` bytes; see :func:`_kdump_problem`."""
    f.seek(0)
    ehdr = f.read(64)
    problems = elf_header_problems(ehdr, size)
    if problems:
        return "; ".join(problems), len(ehdr) < 64
    phoff, shoff = struct.unpack_from("<QQ", ehdr, 32)
    phnum, = struct.unpack_from("<H", ehdr, 56)
    if phnum == 0xFFFF:  # PN_XNUM (makedumpfile -E of a machine with that many memory ranges)
        f.seek(shoff)
        sh0 = f.read(64)
        if shoff < 64 or len(sh0) < 64:
            return f"e_phnum PN_XNUM, but section header 0 at e_shoff {shoff:#x} is not in the file", False
        phnum, = struct.unpack_from("<I", sh0, 44)  # sh_info
        if phoff < 64 or phoff + phnum * 56 > size:
            return f"e_phoff {phoff:#x} + {phnum} program headers (sh_info) run past the file", False
    f.seek(phoff)
    table = f.read(phnum * 56)
    problems, want, notes = elf_segment_problems(table, size)
    if problems:
        return "; ".join(problems), False
    if size < want:
        return f"{size} bytes, program headers promise {want}", True
    for off, n in notes:
        f.seek(off)
        parsed, bad = parse_notes(f.read(n))
        if bad:
            return f"PT_NOTE at {off:#x}: {bad}", False
        blob = _vmcoreinfo_in_notes(parsed)
        if blob is not None:
            problems = vmcoreinfo_problems(blob)
            if problems:
                return "; ".join(problems), False
    return "", False


#: Dumps from this size on have their :func:`check_complete` remembered in the cache (its page
#: table scan is 0.3 s for 2 million pages); smaller ones are checked every time.
CHECK_REMEMBERED_FROM = 256 << 20


def _check_once(path: str, fmt: DumpFormat) -> None:
    """:func:`check_complete`, once per file contents for a big dump: a sound result is kept in
    kdumpext's cache (kind ``checked``, keyed by :func:`kdumpext.cache.file_stamp`), so a
    re-run, a batch and gdb's server do not scan its page table again."""
    from .cache import Store, file_stamp, make_key

    try:
        big = os.path.getsize(path) >= CHECK_REMEMBERED_FROM
        key = make_key("check_complete/1", file_stamp(path), fmt.kind) if big else ""
    except OSError:
        big, key = False, ""
    store = Store("checked") if big else None
    if store is not None and (store.read_json(key) or {}).get("sound") is True:
        return
    check_complete(path, fmt)
    if store is not None:
        try:
            store.write_json(key, {"sound": True, "path": path}, what="the dump check")
        except (OSError, KdumpextError):
            pass  # a read-only cache only costs the next run the scan


def check_complete(path: str, fmt: DumpFormat) -> None:
    """Raise unless the file's headers are sound and it holds all the data they promise.

    kdump-compressed: disk_dump_header, kdump_sub_header, VMCOREINFO, the notes, the page
    bitmaps and descriptors, the last page's data; ELF: the ELF header, the program headers,
    the notes, every PT_LOAD's file bytes; flattened: its records, then the kdump-compressed
    image they build, as above.  Compressed containers are checked after unpacking.  Run
    before drgn reads anything: drgn and libkdumpfile trust these fields (a bad one can
    make them map past the file's end and die of SIGBUS, or allocate gigabytes).

    :raises TruncatedDumpError: the data stops early.
    :raises DamagedDumpError: a field holds what no dump writer writes.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        def read(offset: int, n: int) -> bytes:
            if offset < 0 or n < 0:
                return b""
            f.seek(offset)
            return f.read(n)

        if fmt.kind == "kdump-compressed":
            why, cut = _kdump_problem(read, size)
        elif fmt.kind == "elf":
            why, cut = _elf_problem(f, size)
        elif fmt.kind == "flattened":
            records, why = flat_records(f, size)
            cut = why == "no end marker"
            if not why:
                image = flat_reader(f, records)
                image_size = max((off + n for off, n, _pos in records), default=0)
                why, cut = _kdump_problem(image, image_size)
                if why:
                    why = f"in the flattened records' image: {why}"
        else:
            why, cut = "", False
    if why:
        raise (TruncatedDumpError if cut else DamagedDumpError)(path, why)


@dataclass
class OpenedDump:
    """A dump opened in drgn with its debug info loaded, and what we learnt doing it."""

    prog: "drgn.Program"
    info: DumpInfo
    search: SearchPath
    module_files: List[Tuple[str, str]]  # (module name, debug file path)
    #: what the report should say: e.g. a module debug file that was found but could not be read
    warnings: List[str] = field(default_factory=list)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def open_dump(
    path: str,
    vmlinux: Optional[str] = None,
    debug_dirs: Iterable[str] = (),
    modules: bool = True,
) -> OpenedDump:
    """Open ``path`` in drgn and load vmlinux and module debug info found for it.

    The file is checked (:func:`check_complete`) before drgn reads it, and whatever drgn
    still raises while opening it is a damaged dump.  A module debug file that cannot be
    read (cut short, garbled DWARF or relocations) leaves that module without debug info,
    with a warning; a vmlinux that cannot be read is an error.

    :raises NotADumpError, TruncatedDumpError, DamagedDumpError, DebugInfoMismatch,
        MissingDebugInfo, UnusableDebugInfo:
    """
    fmt = sniff(path)
    real = unpacked(path) if fmt.container else path
    _check_once(real, fmt)
    skip: Dict[str, str] = {}
    while True:
        opened, bad = _open(path, real, fmt, vmlinux, debug_dirs, modules, skip)
        if opened is not None:
            return opened
        # drgn indexes debug info lazily and a garbled module file poisons the whole index:
        # find the culprits on their own, then open again without them
        culprits = {file: why for file, why in ((f, _debug_file_problem(f)) for f in bad) if why}
        if not culprits:  # pragma: no cover - none fails alone: do without them all
            culprits = {file: "its debug info breaks drgn's index" for file in bad}
        skip.update(culprits)


def _open(path: str, real: str, fmt: DumpFormat, vmlinux: Optional[str], debug_dirs: Iterable[str],
          modules: bool, skip: Dict[str, str]) -> Tuple[Optional[OpenedDump], List[str]]:
    """One attempt of :func:`open_dump`: the opened dump, or None and the module files that
    were loaded when indexing the debug info failed.  Files in ``skip`` (path -> why) are
    not used."""
    import drgn

    prog = drgn.Program()
    try:
        prog.set_core_dump(real)
    except (drgn.FaultError, ValueError, OSError) as e:
        raise TruncatedDumpError(path, _one_line(e)) from None
    except Exception as e:  # noqa: BLE001 - libkdumpfile's errors come as plain Exception
        raise DamagedDumpError(path, _one_line(e)) from None
    if not prog.flags & drgn.ProgramFlags.IS_LINUX_KERNEL:
        raise NotADumpError(path, "a core dump, but not of a Linux kernel")
    release = _release(prog, path)
    # drgn yields the kernel first (from VMCOREINFO), then walks the module list,
    # which needs vmlinux's types: so find vmlinux between the two.
    try:
        modules_iter = prog.loaded_modules()
        main, _new = next(modules_iter)
    except Exception as e:  # noqa: BLE001 - what drgn makes of a damaged VMCOREINFO
        raise DamagedDumpError(path, f"the kernel's module cannot be made: {_one_line(e)}") from None
    build_id = main.build_id.hex() if main.build_id else ""
    search = SearchPath.build(debug_dirs, path, vmlinux)
    vml = find_vmlinux(search, release, build_id, vmlinux)
    try:
        main.try_file(vml, force=not build_id)
    except Exception as e:  # noqa: BLE001 - a garbled vmlinux
        raise UnusableDebugInfo(vml, _one_line(e)) from None
    if main.wants_debug_file():
        raise UnusableDebugInfo(vml, "drgn finds no usable debug info in it (cut short or garbled?)")
    why = _index_problem(prog)
    if why:
        raise UnusableDebugInfo(vml, why)
    info = DumpInfo(path=path, format=str(fmt), release=release, build_id=build_id, vmlinux=vml)
    found: List[Tuple[str, str]] = []
    warnings: List[str] = []
    if modules:
        try:
            loaded = list(modules_iter)
        except drgn.FaultError as e:
            raise TruncatedDumpError(path, f"module list unreadable: {_one_line(e)}") from None
        except Exception as e:  # noqa: BLE001 - a module list that makes no sense
            raise DamagedDumpError(path, f"module list unreadable: {_one_line(e)}") from None
        for mod, _new in loaded:
            if mod is main or not isinstance(mod, drgn.RelocatableModule):
                continue
            info.modules.append(mod.name)
            file = _load_module_debug_info(mod, search, release, warnings, skip)
            if file is None:
                info.modules_missing_debuginfo.append(mod.name)
            else:
                found.append((mod.name, file))
        if found and _index_problem(prog):
            return None, [file for _name, file in found]
    if info.modules_missing_debuginfo:
        _use_module_kallsyms(prog)
    return OpenedDump(prog, info, search, found, warnings), []


def vmcoreinfo_value(vmcoreinfo: str, key: str) -> str:
    """The value of ``KEY=value`` in VMCOREINFO text, "" if absent."""
    m = re.search(rf"^{re.escape(key)}=(.*)$", vmcoreinfo, re.M)
    return m.group(1).strip() if m else ""


def _release(prog: "drgn.Program", path: str) -> str:
    """The dump's kernel release (VMCOREINFO's OSRELEASE), checked against ``init_uts_ns`` in
    its memory when that can be read: drgn picks formats (ORC, page tables) by release, so a
    VMCOREINFO that lies about it would be read wrong.

    :raises DamagedDumpError: the two differ.
    """
    import drgn

    try:
        release = prog["UTS_RELEASE"].string_().decode()
        text = prog["VMCOREINFO"].string_().decode("ascii", "replace")
    except (KeyError, LookupError, drgn.FaultError, UnicodeDecodeError):
        return ""
    try:
        at = int(vmcoreinfo_value(text, "SYMBOL(init_uts_ns)"), 16) + \
            int(vmcoreinfo_value(text, "OFFSET(uts_namespace.name)") or "0")
        in_memory = prog.read(at + 2 * 65, 65).split(b"\0")[0]  # struct new_utsname: sysname, nodename, release
    except (ValueError, OverflowError, drgn.FaultError):
        return release
    if in_memory != release.encode():
        raise DamagedDumpError(path, f"VMCOREINFO OSRELEASE {release[:64]!r} is not the release in the "
                                     f"kernel's memory (init_uts_ns) {in_memory[:64].decode('ascii', 'replace')!r}")
    return release


def _index_problem(prog: "drgn.Program") -> str:
    """Index the debug info loaded so far (drgn does it at the first lookup); what broke, or ""."""
    try:
        # a name no kernel has: drgn indexes what it has not yet on a lookup it cannot answer
        # from its index (one it can, like "int", indexes nothing new)
        prog.type("struct kdumpext_index_probe")
    except LookupError:
        pass
    except Exception as e:  # noqa: BLE001 - libdw and drgn's BadDataError on garbled DWARF or ELF
        return _one_line(e)
    return ""


def _debug_file_problem(file: str) -> str:
    """Why drgn cannot use ``file``'s debug info on its own (in a scratch program), or ""."""
    import drgn

    prog = drgn.Program()
    try:
        prog.set_enabled_debug_info_finders([])
        mod = prog.extra_module(os.path.basename(file), 0, create=True)
        mod.try_file(file, force=True)
    except Exception as e:  # noqa: BLE001 - whatever a damaged file makes drgn say
        return _one_line(e)
    if mod.debug_file_status != drgn.ModuleFileStatus.HAVE:
        return "no usable debug info in it"
    return _index_problem(prog)


def _load_module_debug_info(mod: "drgn.Module", search: SearchPath, release: str,
                            warnings: List[str], skip: Dict[str, str]) -> Optional[str]:
    """Give drgn module ``mod``'s debug file; its path, or None (a reason added to ``warnings``
    when a file was found but could not be used: cut short, garbled, not unpackable)."""
    import drgn

    mid = mod.build_id.hex() if mod.build_id else ""
    tried: List[str] = []
    while True:  # a file that cannot be used is passed over for the next one found
        try:
            file = find_module_file(search, release, mod.name, mid, exclude=tried)
        except KdumpextError as e:
            warnings.append(f"module {mod.name}: debug file not used: {_one_line(e)}")
            return None
        if file is None:
            return None
        tried.append(file)
        if file in skip:
            warnings.append(f"{file}: cannot use for module {mod.name} ({skip[file]})")
            continue
        try:
            mod.try_file(file)
        except Exception as e:  # noqa: BLE001 - a corrupt .ko must not end the run
            warnings.append(f"{file}: cannot use for module {mod.name} ({_one_line(e)})")
            continue
        if mod.debug_file_status != drgn.ModuleFileStatus.HAVE:
            warnings.append(f"{file}: cannot use for module {mod.name} (no usable debug info in it)")
            continue
        return file


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
