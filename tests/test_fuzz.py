"""Deterministic fuzzing: mutated dumps, debug files and oops logs through the real CLI, every outcome a documented one."""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

from corpus import BUILD, ROOT, SAMPLES, cases

__all__ = ["Mutant", "Outcome", "Sources", "kdump_mutants", "elf_mutants", "flat_mutants", "debug_mutants",
           "oops_mutants", "run_mutant", "check_outcome", "SEED"]

#: The seed of every CI run: the same mutants each time, so a failure can be replayed.
SEED = 10
#: Exit statuses README.md documents for bad input (1, "other error", is never a right answer here).
DOCUMENTED = {0, 2, 3, 4, 5, 6, 7}
TIMEOUT = 60
KDUMPEXT = os.path.join(os.path.dirname(sys.executable), "kdumpext")


@dataclass
class Mutant:
    """One damaged input: ``kind`` is the sample it came from (kdump, elf, flat, debug, oops).

    Its bytes are ``base`` with ``patches`` (offset, bytes) written over it, then cut to
    ``cut`` bytes: made when run, so that hundreds of mutants of a 40 MB dump cost nothing.
    """

    kind: str
    name: str
    base: bytes = b""
    patches: Tuple[Tuple[int, bytes], ...] = ()
    cut: Optional[int] = None
    #: debug mutants: which file of the debug dir the data replaces (``scst.ko``, ``vmlinux``)
    debug_file: str = ""

    @property
    def data(self) -> bytes:
        """The mutant's bytes."""
        if not self.patches:
            return self.base[:self.cut] if self.cut is not None else self.base
        b = bytearray(self.base if self.cut is None else self.base[:self.cut])
        for at, raw in self.patches:
            b[at:at + len(raw)] = raw
        return bytes(b)


@dataclass
class Outcome:
    """What the CLI did with a mutant."""

    mutant: Mutant
    returncode: Optional[int]  # None: timed out
    stderr: str
    verdict: Dict[str, object] = field(default_factory=dict)
    changed: bool = False  # the input file's bytes changed


# -- the samples ------------------------------------------------------------------------------


def _read_maybe_xz(path: str) -> bytes:
    if path.endswith(".xz"):
        with lzma.open(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


@dataclass
class Sources:
    """The undamaged samples: the scst-null-dev dump in three formats, its logs, the modules."""

    kdump: bytes
    elf: bytes
    flat: bytes
    dmesgs: List[Tuple[str, bytes]]
    scst_ko: bytes
    vmlinux: bytes

    @classmethod
    def load(cls) -> "Sources":
        """Read (and unpack) the samples, once per process."""
        if not _LOADED:
            _LOADED.append(cls._load())
        return _LOADED[0]

    @classmethod
    def _load(cls) -> "Sources":
        def dump(scenario: str) -> bytes:
            c = [c for c in cases() if c.scenario == scenario]
            assert c, scenario
            return _read_maybe_xz(c[0].dump)

        dmesgs = []
        for c in cases():
            with open(c.dmesg, "rb") as f:
                dmesgs.append((c.scenario, f.read()))
        return cls(dump("scst-null-dev"), dump("scst-null-dev-elf"), dump("scst-null-dev-flat"), dmesgs,
                   _read_maybe_xz(os.path.join(BUILD, "scst.ko.xz")), _read_maybe_xz(os.path.join(BUILD, "vmlinux.xz")))


_LOADED: List[Sources] = []


# -- mutators: pure functions, bytes in, named mutants out -----------------------------------

_DISK_DUMP_HEADER = [  # (field, offset, struct format) of struct disk_dump_header
    ("header_version", 8, "<i"), ("timestamp", 408, "<q"), ("status", 424, "<I"), ("block_size", 428, "<i"),
    ("sub_hdr_size", 432, "<i"), ("bitmap_blocks", 436, "<I"), ("max_mapnr", 440, "<I"),
    ("total_ram_blocks", 444, "<I"), ("device_blocks", 448, "<I"), ("written_blocks", 452, "<I"),
    ("current_cpu", 456, "<I"), ("nr_cpus", 460, "<i"),
]
_KDUMP_SUB_HEADER = [  # struct kdump_sub_header, at block_size
    ("phys_base", 0, "<Q"), ("dump_level", 8, "<i"), ("split", 12, "<i"), ("start_pfn", 16, "<Q"),
    ("end_pfn", 24, "<Q"), ("offset_vmcoreinfo", 32, "<q"), ("size_vmcoreinfo", 40, "<Q"),
    ("offset_note", 48, "<q"), ("size_note", 56, "<Q"), ("offset_eraseinfo", 64, "<q"),
    ("size_eraseinfo", 72, "<Q"), ("start_pfn_64", 80, "<Q"), ("end_pfn_64", 88, "<Q"), ("max_mapnr_64", 96, "<Q"),
]
_EHDR = [("e_machine", 18, "<H"), ("e_version", 20, "<I"), ("e_entry", 24, "<Q"), ("e_phoff", 32, "<Q"),
         ("e_shoff", 40, "<Q"), ("e_flags", 48, "<I"), ("e_ehsize", 52, "<H"), ("e_phentsize", 54, "<H"),
         ("e_phnum", 56, "<H")]
_PHDR = [("p_type", 0, "<I"), ("p_flags", 4, "<I"), ("p_offset", 8, "<Q"), ("p_vaddr", 16, "<Q"),
         ("p_paddr", 24, "<Q"), ("p_filesz", 32, "<Q"), ("p_memsz", 40, "<Q")]


def _put(data: bytes, at: int, fmt: str, value: int) -> Optional[Tuple[Tuple[int, bytes]]]:
    """The patch writing ``value`` (wrapped to the field's width) at ``at``; None if that changes nothing."""
    width = struct.calcsize(fmt)
    value &= (1 << 8 * width) - 1
    raw = value.to_bytes(width, "big" if fmt.startswith(">") else "little")
    if at < 0 or at + width > len(data) or data[at:at + width] == raw:
        return None
    return ((at, raw),)


def _values(rng: random.Random, size: int, width: int) -> List[Tuple[str, int]]:
    return [("0", 0), ("ffffffff", 0xFFFF_FFFF), ("filesize", size), ("random", rng.getrandbits(8 * width))]


def _field_mutants(kind: str, data: bytes, base: int, fields: Sequence[Tuple[str, int, str]], rng: random.Random,
                   prefix: str = "") -> List[Mutant]:
    out = []
    for name, at, fmt in fields:
        for label, value in _values(rng, len(data), struct.calcsize(fmt)):
            m = _put(data, base + at, fmt, value)
            if m is not None:
                out.append(Mutant(kind, f"{prefix}{name}={label}", data, m))
    return out


def _flip_bits(data: bytes, lo: int, hi: int, n: int, rng: random.Random) -> Tuple[Tuple[int, bytes], ...]:
    """Patches flipping ``n`` random bits of ``data[lo:hi]``."""
    flipped: Dict[int, int] = {}
    for _ in range(n):
        bit = rng.randrange(lo * 8, hi * 8)
        flipped[bit // 8] = flipped.get(bit // 8, data[bit // 8]) ^ 1 << bit % 8
    return tuple((at, bytes([v])) for at, v in sorted(flipped.items()))


def _truncations(kind: str, data: bytes, points: Sequence[int], rng: random.Random, n_random: int) -> List[Mutant]:
    cuts = sorted(set(p for p in points if 0 < p < len(data)) | {rng.randrange(1, len(data)) for _ in range(n_random)})
    return [Mutant(kind, f"truncated@{c:#x}", data, cut=c) for c in cuts]


def _vmcoreinfo_edits(kind: str, data: bytes, lo: int, hi: int) -> List[Mutant]:
    """Same-length edits of the VMCOREINFO text between ``lo`` and ``hi`` (every copy there)."""
    region = data[lo:hi]
    out = []
    edits = [
        ("PAGESIZE=8192", rb"PAGESIZE=4096", b"PAGESIZE=8192"),
        ("PAGESIZE=4095", rb"PAGESIZE=4096", b"PAGESIZE=4095"),
        ("PAGESIZE=garbage", rb"PAGESIZE=4096", b"PAGESIZE=x\x00\xff9"),
        ("no PAGESIZE", rb"PAGESIZE=", b"PAGESIZX="),
        ("OSRELEASE binary", rb"OSRELEASE=6\.1\.192", b"OSRELEASE=\x01\x02\x03\xff\xfe\x00\x7f"),
        ("OSRELEASE other", rb"OSRELEASE=6\.1\.192", b"OSRELEASE=6.9.999"),
        ("no OSRELEASE", rb"OSRELEASE=", b"OSRELEASX="),
        ("BUILD-ID not hex", rb"BUILD-ID=[0-9a-f]{8}", b"BUILD-ID=zzzzzzzz"),
        ("BUILD-ID other", rb"BUILD-ID=[0-9a-f]{8}", b"BUILD-ID=00000000"),
        ("no swapper_pg_dir", rb"SYMBOL\(swapper_pg_dir\)=", b"SYMBOL(swapper_pg_diX)="),
        ("swapper_pg_dir garbage", rb"SYMBOL\(swapper_pg_dir\)=ffff", b"SYMBOL(swapper_pg_dir)=zzzz"),
        ("KERNELOFFSET garbage", rb"KERNELOFFSET=[0-9a-f]{4}", b"KERNELOFFSET=-1-1"),
        ("newlines gone", rb"\n", b" "),
    ]
    for name, pat, repl in edits:
        new = re.sub(pat, lambda m: repl, region)
        assert len(new) == len(region), name
        if new != region:
            out.append(Mutant(kind, f"vmcoreinfo {name}", data, ((lo, new),)))
    return out


def kdump_mutants(data: bytes, rng: random.Random, n_random: int = 4, kind: str = "kdump") -> List[Mutant]:
    """Mutants of a kdump-compressed dump: every header and sub-header field set to 0,
    0xffffffff, the file size and a random value; bit flips in the page bitmaps; page
    descriptor and page data edits; VMCOREINFO edits; truncations; random header bytes."""
    block_size, sub_hdr_size, bitmap_blocks = struct.unpack_from("<iiI", data, 428)
    bitmap_off = block_size * (1 + sub_hdr_size)
    half = bitmap_blocks * block_size // 2
    desc_off = bitmap_off + 2 * half
    npages = bin(int.from_bytes(data[bitmap_off + half:desc_off], "little")).count("1")
    data_off = desc_off + npages * 24
    out = _field_mutants(kind, data, 0, _DISK_DUMP_HEADER, rng)
    out += _field_mutants(kind, data, block_size, _KDUMP_SUB_HEADER, rng, "sub.")
    for i in range(n_random):
        out.append(Mutant(kind, f"dumpable bitmap flip {i}", data, _flip_bits(data, bitmap_off + half, desc_off, 1 + i, rng)))
    out.append(Mutant(kind, "valid bitmap flip", data, _flip_bits(data, bitmap_off, bitmap_off + half, 3, rng)))
    for i in range(n_random):
        d = rng.randrange(npages)
        name, at, fmt = rng.choice([("offset", 0, "<q"), ("size", 8, "<I"), ("flags", 12, "<I")])
        value = rng.choice([0, 0xFFFF_FFFF, len(data), rng.getrandbits(32)])
        m = _put(data, desc_off + 24 * d + at, fmt, value)
        if m is not None:
            out.append(Mutant(kind, f"page descriptor {d}.{name}={value:#x}", data, m))
    for i in range(n_random):
        out.append(Mutant(kind, f"page data flips {i}", data, _flip_bits(data, data_off, len(data), 64, rng)))
    out += _vmcoreinfo_edits(kind, data, block_size, bitmap_off)
    out += _truncations(kind, data, [_put_point for _put_point in (100, 464, block_size + 50, bitmap_off + 10,
                                                                   desc_off + 100, data_off + 1000)], rng, n_random)
    for i in range(n_random):
        out.append(Mutant(kind, f"header bytes flip {i}", data, _flip_bits(data, 0, bitmap_off, 4 + 4 * i, rng)))
    return out


def _phdrs(data: bytes) -> List[Tuple[int, int, int, int]]:
    """``(index, p_type, p_offset, p_filesz)`` of an ELF core's program headers."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    out = []
    for i in range(phnum):
        p_type, _f, p_offset, _v, _p, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + 56 * i)
        out.append((i, p_type, p_offset, p_filesz))
    return out


def elf_mutants(data: bytes, rng: random.Random, n_random: int = 4) -> List[Mutant]:
    """Mutants of an ELF core: ELF header fields (class, byte order, machine, program header
    table), program header fields, note headers, VMCOREINFO, truncations, random bytes."""
    kind = "elf"
    out = []
    for name, at, value in (("EI_CLASS=ELFCLASS32", 4, 1), ("EI_CLASS=0", 4, 0), ("EI_DATA=big-endian", 5, 2),
                            ("EI_DATA=0", 5, 0)):
        out.append(Mutant(kind, name, data, ((at, bytes([value])),)))
    for name, value in (("e_machine=ARM", 40), ("e_machine=s390", 22), ("e_machine=unknown", 0x7777)):
        out.append(Mutant(kind, name, data, _put(data, 18, "<H", value) or ()))
    out += _field_mutants(kind, data, 0, [f for f in _EHDR if f[0] != "e_machine"], rng)
    phoff, = struct.unpack_from("<Q", data, 32)
    phdrs = _phdrs(data)
    notes = [p for p in phdrs if p[1] == 4]
    loads = [p for p in phdrs if p[1] == 1 and p[3]]
    for i, _t, _o, _s in notes[:1] + rng.sample(loads, min(1 + n_random // 8, len(loads))):
        out += _field_mutants(kind, data, phoff + 56 * i, _PHDR, rng, f"phdr[{i}].")
    for _i, _t, off, size in notes[:1]:
        pos = off
        k = 0
        while pos + 12 <= off + size and k < 3:  # the first notes' headers
            namesz, descsz = struct.unpack_from("<II", data, pos)
            for name, at in (("n_namesz", 0), ("n_descsz", 4)):
                for label, value in (("ffffffff", 0xFFFF_FFFF), ("big", size), ("random", rng.getrandbits(32))):
                    m = _put(data, pos + at, "<I", value)
                    if m is not None:
                        out.append(Mutant(kind, f"note {k}.{name}={label}", data, m))
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
            k += 1
        out += _vmcoreinfo_edits(kind, data, off, off + size)
    first_load = min((o for _i, _t, o, _s in loads), default=len(data))
    out += _truncations(kind, data, [40, 64, phoff + 56 * len(phdrs) // 2, first_load + 4096, len(data) - 4096],
                        rng, n_random)
    for i in range(n_random):
        out.append(Mutant(kind, f"header bytes flip {i}", data, _flip_bits(data, 0, min(first_load, 1 << 16), 4 + 4 * i,
                                                                     rng)))
    return out


def _flat_records(data: bytes) -> List[Tuple[int, int, int]]:
    """``(image offset, size, file offset of the record header)`` of a flattened file."""
    out = []
    pos = 4096
    while pos + 16 <= len(data):
        off, size = struct.unpack_from(">qq", data, pos)
        if off < 0:
            break
        out.append((off, size, pos))
        pos += 16 + size
    return out


def flat_mutants(data: bytes, rng: random.Random, n_random: int = 4) -> List[Mutant]:
    """Mutants of a flattened dump: its header, record headers (offset, size), the kdump
    header inside the image it builds, truncations, random bytes."""
    kind = "flat"
    out = []
    for name, at in (("type", 16), ("version", 24)):
        for value in (0, 2, -1):
            m = _put(data, at, ">q", value)
            if m is not None:
                out.append(Mutant(kind, f"flat header {name}={value}", data, m))
    records = _flat_records(data)
    picks = records[:2] + rng.sample(records[2:], min(n_random // 2, len(records) - 2))
    for off, size, pos in picks:
        for name, at in (("offset", 0), ("size", 8)):
            for label, value in (("-2", -2), ("filesize", len(data)), ("huge", 1 << 62),
                                 ("random", rng.getrandbits(40))):
                m = _put(data, pos + at, ">q", value)
                if m is not None:
                    out.append(Mutant(kind, f"record@{off:#x}.{name}={label}", data, m))
    # the disk_dump_header inside the image: a few fields, through the record that holds it
    hdr = [(off, size, pos) for off, size, pos in records if off == 0 and size >= 464]
    if hdr:
        base = hdr[-1][2] + 16
        fields = [f for f in _DISK_DUMP_HEADER if f[0] in ("header_version", "block_size", "sub_hdr_size",
                                                            "bitmap_blocks", "max_mapnr")]
        out += _field_mutants(kind, data, base, fields, rng, "image.")
    out += _truncations(kind, data, [100, 4096 + 8, len(data) - 8, len(data) // 2], rng, n_random)
    for i in range(n_random):
        out.append(Mutant(kind, f"bytes flip {i}", data, _flip_bits(data, 0, min(len(data), 1 << 16), 8 + 8 * i, rng)))
    return out


def _elf_section(data: bytes, wanted: bytes) -> Optional[Tuple[int, int]]:
    """``(offset, size)`` of section ``wanted`` of a 64-bit little-endian ELF file."""
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    str_off, = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 24)
    for i in range(shnum):
        name, _t, _f, _a, off, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        end = data.index(b"\0", str_off + name)
        if data[str_off + name:end] == wanted:
            return off, size
    return None


def debug_mutants(ko: bytes, vmlinux: bytes, rng: random.Random, n_random: int = 2) -> List[Mutant]:
    """Damaged copies of a module's debug file (scst.ko) and of vmlinux: cut short, garbled
    DWARF, no ELF header; the dump itself is whole."""
    kind = "debug"
    out = [Mutant(kind, "scst.ko truncated to half", ko, cut=len(ko) // 2, debug_file="scst.ko"),
           Mutant(kind, "scst.ko truncated to 100 bytes", ko, cut=100, debug_file="scst.ko"),
           Mutant(kind, "scst.ko empty", b"", debug_file="scst.ko"),
           Mutant(kind, "scst.ko ELF header zeroed", ko, ((0, bytes(64)),), debug_file="scst.ko"),
           Mutant(kind, "scst.ko.xz cut short", lzma.compress(ko)[:2000], debug_file="scst.ko.xz")]
    for sec in (b".debug_info", b".debug_abbrev", b".debug_line", b".symtab"):
        where = _elf_section(ko, sec)
        if where is not None:
            off, size = where
            junk = bytes(rng.getrandbits(8) for _ in range(min(size, 4096)))
            out.append(Mutant(kind, f"scst.ko {sec.decode()} garbled", ko, ((off, junk),), debug_file="scst.ko"))
    for i in range(n_random):
        out.append(Mutant(kind, f"scst.ko bytes flip {i}", ko, _flip_bits(ko, 0, len(ko), 256, rng),
                          debug_file="scst.ko"))
    out.append(Mutant(kind, "vmlinux truncated to half", vmlinux, cut=len(vmlinux) // 2, debug_file="vmlinux"))
    for sec in (b".debug_info", b".debug_abbrev"):
        where = _elf_section(vmlinux, sec)
        if where is not None:
            junk = bytes(rng.getrandbits(8) for _ in range(4096))
            out.append(Mutant(kind, f"vmlinux {sec.decode()} garbled", vmlinux, ((where[0], junk),),
                              debug_file="vmlinux"))
    # found by searching a debug dir rather than given with --vmlinux
    out.append(Mutant(kind, "vmlinux .debug_info garbled, in a debug dir", vmlinux, out[-2].patches,
                      debug_file="vmlinux-6.1.192"))
    return out


def oops_mutants(logs: Sequence[Tuple[str, bytes]], rng: random.Random, n_random: int = 1) -> List[Mutant]:
    """Mutants of kernel logs: lines dropped, doubled, cut, garbled; addresses too big for 64
    bits; arm64-style Code: lines; binary garbage; a very long line."""
    kind = "oops"
    out = []
    base = dict(logs).get("scst-null-dev") or logs[0][1]
    out.append(Mutant(kind, "RIP address past 64 bits",
                      re.sub(rb"RIP: 0010:\S+", b"RIP: 0010:0xffffffffffffffffffffff", base)))
    out.append(Mutant(kind, "CR2 past 64 bits", re.sub(rb"CR2: [0-9a-f]+", b"CR2: ffffffffffffffffffffffff", base)))
    out.append(Mutant(kind, "fault address past 64 bits",
                      re.sub(rb"address: [0-9a-f]+", b"address: 1ffffffffffffffffffffffffff", base)))
    out.append(Mutant(kind, "registers past 64 bits",
                      re.sub(rb"(R[A-Z0-9]{2}): ([0-9a-f]{16})", rb"\1: fff\2", base)))
    out.append(Mutant(kind, "trace offsets huge",
                      re.sub(rb"\+0x[0-9a-f]+/0x[0-9a-f]+", b"+0xfffffffffffffffffffff/0x1", base)))
    out.append(Mutant(kind, "arm64 Code: words",
                      re.sub(rb"Code: [^\n]*", b"Code: d503233f a9be7bfd 910003fd f9000bf3 (b9400000)", base)))
    out.append(Mutant(kind, "Code: garbage", re.sub(rb"Code: [^\n]*", b"Code: <zz> (1) <> 123456789 ((ff))", base)))
    out.append(Mutant(kind, "binary garbage", bytes(rng.getrandbits(8) for _ in range(65536))))
    out.append(Mutant(kind, "garbage inside the oops",
                      base.replace(b"Call Trace:", b"Call Trace:\n" + bytes(rng.getrandbits(8) for _ in range(4096)))))
    out.append(Mutant(kind, "8 MiB line", base.replace(b"Call Trace:", b"Call Trace: " + b"A" * (8 << 20))))
    out.append(Mutant(kind, "100000 oops titles", b"BUG: kernel NULL pointer dereference, address: 0000000000000010\n"
                      * 100000))
    out.append(Mutant(kind, "NUL bytes", base.replace(b"\n", b"\0\n")))
    for scenario, text in logs:
        lines = text.split(b"\n")
        for i in range(n_random):
            how = rng.choice(["drop", "double", "cut", "flip", "swap"])
            ls = list(lines)
            if how == "drop":
                for _ in range(max(1, len(ls) // 20)):
                    del ls[rng.randrange(len(ls))]
                new = b"\n".join(ls)
            elif how == "double":
                j = rng.randrange(len(ls))
                ls[j:j] = ls[j:j + 30]
                new = b"\n".join(ls)
            elif how == "cut":
                new = text[:rng.randrange(len(text))]
            elif how == "flip":
                new = Mutant(kind, "", text, _flip_bits(text, 0, len(text), 200, rng)).data
            else:
                j, k = rng.randrange(len(ls)), rng.randrange(len(ls))
                ls[j], ls[k] = ls[k], ls[j]
                new = b"\n".join(ls)
            out.append(Mutant(kind, f"{scenario} {how} {i}", new))
    return out


# -- running ------------------------------------------------------------------------------------


def _sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_mutant(m: Mutant, work: str, env: Dict[str, str], dump: Optional[str] = None) -> Outcome:
    """Write ``m`` under ``work`` and run the CLI on it (``dump``: the undamaged dump a debug
    mutant is used with); the written files are removed afterwards."""
    d = tempfile.mkdtemp(dir=work)
    try:
        if m.kind == "oops":
            target = os.path.join(d, "dmesg.202601010101")
            cmd = [KDUMPEXT, "oops", target, "--json"]
        elif m.kind == "debug":
            target = os.path.join(d, m.debug_file)
            assert dump is not None
            if m.debug_file == "vmlinux":
                cmd = [KDUMPEXT, "triage", dump, "--json", "--vmlinux", target, "--debug-dir", BUILD]
            else:
                cmd = [KDUMPEXT, "triage", dump, "--json", "--debug-dir", d, "--debug-dir", BUILD]
        else:
            target = os.path.join(d, "dump.202601010101")
            cmd = [KDUMPEXT, "triage", target, "--json", "--debug-dir", BUILD]
        with open(target, "wb") as f:
            f.write(m.data)
        before = _sha(target)
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return Outcome(m, None, "timed out")
        verdict: Dict[str, object] = {}
        if p.returncode == 0:
            try:
                verdict = dict(json.loads(p.stdout).get("verdict") or {})
            except ValueError:
                verdict = {"unparsable": p.stdout[:200].decode(errors="replace")}
        return Outcome(m, p.returncode, p.stderr.decode(errors="replace"), verdict, _sha(target) != before)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def check_outcome(o: Outcome) -> str:
    """"" when the CLI did right by the mutant, else what it did wrong (the mutant's name first)."""
    what = f"{o.mutant.kind}: {o.mutant.name}: "
    if o.returncode is None:
        return what + f"no answer within {TIMEOUT} s"
    if o.changed:
        return what + "the input file was written to"
    if o.returncode not in DOCUMENTED:
        return what + f"exit {o.returncode}" + (" (a signal)" if o.returncode < 0 else "") + f": {o.stderr.strip()[:300]}"
    lines = o.stderr.strip().splitlines()
    if o.returncode != 0 and (len(lines) != 1 or not lines[0].startswith("kdumpext: ")):
        return what + f"exit {o.returncode} but stderr is not one 'kdumpext:' line: {o.stderr.strip()[:300]!r}"
    if o.returncode == 0 and "unparsable" in o.verdict:
        return what + "exit 0 but no JSON report"
    return ""


def confident_and_wrong(o: Outcome, baseline_bucket: str) -> str:
    """"" unless a damaged dump got a high-confidence verdict other than the undamaged one's."""
    if o.returncode != 0 or o.mutant.kind == "oops":
        return ""
    if o.verdict.get("confidence") == "high" and o.verdict.get("bucket") != baseline_bucket:
        return f"{o.mutant.kind}: {o.mutant.name}: high confidence in {o.verdict.get('bucket')}"
    return ""


def subprocess_env(cache: str) -> Dict[str, str]:
    """The environment of every CLI run: a private cache, no debug path from the user."""
    env = dict(os.environ, KDUMPEXT_CACHE_DIR=cache, XDG_CACHE_HOME=cache, DRGN_DISABLE_PLUGINS="*")
    env.pop("KDUMPEXT_DEBUG_PATH", None)
    env.pop("KDUMPEXT_DEBUG", None)
    return env


def run_all(mutants: Sequence[Mutant], work: str, env: Dict[str, str], dump: str, jobs: int = 2) -> List[Outcome]:
    """Run every mutant, ``jobs`` at a time, in order."""
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda m: run_mutant(m, work, env, dump), mutants))


def all_mutants(src: Sources, seed: int, n_random: int) -> List[Mutant]:
    """Every mutant of every kind for ``seed``; ``n_random`` scales the random ones."""
    rng = random.Random(seed)
    return (kdump_mutants(src.kdump, rng, n_random) + elf_mutants(src.elf, rng, n_random)
            + flat_mutants(src.flat, rng, n_random) + debug_mutants(src.scst_ko, src.vmlinux, rng, max(1, n_random // 2))
            + oops_mutants(src.dmesgs, rng, max(1, n_random // 4)))


# -- the tests ----------------------------------------------------------------------------------

#: Mutants whose dump still gets a high-confidence verdict that is not the undamaged dump's:
#: triage is not damage-aware yet (issue 10); each is explained in the fuzz campaign's notes.
KNOWN_CONFIDENT: Dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_results(tmp_path_factory: pytest.TempPathFactory) -> Tuple[List[Outcome], str]:
    """Run every CI mutant once (seed :data:`SEED`); the undamaged dump's bucket."""
    work = str(tmp_path_factory.mktemp("fuzz"))
    env = subprocess_env(os.path.join(work, "cache"))
    src = Sources.load()
    dump = os.path.join(work, "dump.202612061822")
    with open(dump, "wb") as f:
        f.write(src.kdump)
    p = subprocess.run([KDUMPEXT, "triage", dump, "--json", "--debug-dir", BUILD], capture_output=True, env=env,
                       timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    bucket = str(json.loads(p.stdout)["verdict"]["bucket"])
    outcomes = run_all(all_mutants(src, SEED, 4), work, env, dump)
    return outcomes, bucket


def test_every_mutant_gets_a_documented_answer(fuzz_results: Tuple[List[Outcome], str]) -> None:
    """Exit status documented (never 1 or a signal), one `kdumpext:` line, no hang, input untouched."""
    outcomes, _bucket = fuzz_results
    assert len(outcomes) > 200
    bad = [w for w in map(check_outcome, outcomes) if w]
    assert not bad, f"{len(bad)} of {len(outcomes)} mutants:\n" + "\n".join(bad)


def test_damaged_dump_gets_no_confident_other_verdict(fuzz_results: Tuple[List[Outcome], str]) -> None:
    """A damaged dump that still gets a report: a high-confidence verdict only when it is the undamaged one's."""
    outcomes, bucket = fuzz_results
    wrong = [w for w in (confident_and_wrong(o, bucket) for o in outcomes) if w]
    unknown = [w for w in wrong if w.split(": ")[1] not in KNOWN_CONFIDENT]
    assert not unknown, "\n".join(unknown)


def test_mutators_are_deterministic() -> None:
    """The same seed, the same mutants (a failure seen in CI can be replayed with bench/fuzz_campaign.py)."""
    src = Sources.load()

    def key(m: Mutant) -> Tuple[object, ...]:
        return (m.kind, m.name, m.patches, m.cut, m.debug_file, len(m.base), m.base[:64])

    a = [key(m) for m in all_mutants(src, SEED, 4)]
    assert a == [key(m) for m in all_mutants(src, SEED, 4)]
    assert len(set(x[1] for x in a if x[0] != "oops")) > 250
