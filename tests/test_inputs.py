"""Inputs that are not regular files, logs that never end, outputs that would overwrite an input: one line, exit 2."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from typing import List

import pytest

from corpus import BUILD, case

KDUMPEXT = [sys.executable, "-m", "kdumpext.cli"]


def _run(*args: str) -> subprocess.CompletedProcess:
    # a FIFO or device that were opened would block or never end: the timeout is the failure
    return subprocess.run(KDUMPEXT + list(args), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def _one_line(p: subprocess.CompletedProcess, *words: str) -> None:
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("command", [["triage"], ["oops"], ["gdb-core"], ["triage", "--json"]])
def test_fifo_is_refused_at_once(tmp_path, command: List[str]) -> None:
    fifo = tmp_path / "dump.202601010101"
    os.mkfifo(fifo)
    _one_line(_run(*command, str(fifo)), "is a FIFO, not a regular file")


def test_fifo_given_as_vmlinux_is_refused() -> None:
    fifo_dir = os.environ.get("TMPDIR", "/tmp")
    fifo = os.path.join(fifo_dir, f"kdumpext-test-vmlinux-{os.getpid()}")
    os.mkfifo(fifo)
    try:
        _one_line(_run("triage", case("null-write").dump, "--vmlinux", fifo), "is a FIFO", "vmlinux")
    finally:
        os.unlink(fifo)


def test_fifo_named_like_a_module_is_passed_over(tmp_path) -> None:
    """A debug dir holding a FIFO called kdx.ko: the module's debug info is looked for elsewhere."""
    debug = tmp_path / "debug"
    debug.mkdir()
    os.mkfifo(debug / "kdx.ko")
    p = _run("triage", "--json", case("null-write").dump, "--debug-dir", str(debug), "--debug-dir", BUILD)
    assert p.returncode == 0, p.stderr


def test_device_as_log_is_refused() -> None:
    _one_line(_run("oops", "/dev/zero"), "is a device")


def test_log_reading_is_bounded() -> None:
    from kdumpext.oopstriage import _LOG_TAIL, _tail

    assert _tail(io.BytesIO(b"abc"), 100) == b"abc"
    with pytest.raises(ValueError, match="more than"):
        _tail(io.BytesIO(b"x" * (3 << 20)), 2 << 20)
    big = b"a" * (_LOG_TAIL + 5) + b"THE END"
    assert _tail(io.BytesIO(big), len(big) + 1).endswith(b"THE END")
    assert len(_tail(io.BytesIO(big), len(big) + 1)) == _LOG_TAIL


def _sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_gdb_core_never_overwrites_an_input(tmp_path) -> None:
    """`gdb-core -o` naming the dmesg beside the dump, or the dump itself: refused, nothing written."""
    c = case("null-write")
    crash = tmp_path / "202601010101"
    crash.mkdir()
    dump = crash / os.path.basename(c.dump)
    log = crash / os.path.basename(c.dmesg)
    shutil.copyfile(c.dump, dump)
    shutil.copyfile(c.dmesg, log)
    before = {p: _sha(str(p)) for p in (dump, log)}
    for target in (log, dump):
        _one_line(_run("gdb-core", str(dump), "--debug-dir", BUILD, "-o", str(target)), "write the core elsewhere")
    assert {p: _sha(str(p)) for p in (dump, log)} == before


def test_missing_vmlinux_file_is_a_usage_error(tmp_path) -> None:
    """README: 2 is a missing file; 6 is for a vmlinux that was searched for and not found."""
    _one_line(_run("triage", case("null-write").dump, "--vmlinux", str(tmp_path / "no-such-vmlinux")),
              "no-such-vmlinux", "No such file")


@pytest.mark.parametrize("at, name", [(48, "note"), (64, "eraseinfo"), (32, "vmcoreinfo")])
def test_sub_header_past_the_end_is_a_damaged_dump(tmp_path, at: int, name: str) -> None:
    """A kdump sub-header offset pointing past the file (drgn died of SIGBUS on it): exit 4, one line."""
    import struct

    c = case("scst-null-dev")  # the -c dump, not xz'd
    dump = tmp_path / "dump.202601010101"
    shutil.copyfile(c.dump, dump)
    with open(dump, "r+b") as f:
        block_size, = struct.unpack_from("<i", f.read(432), 428)  # disk_dump_header.block_size
        f.seek(block_size + at)
        f.write(struct.pack("<qQ", os.path.getsize(dump), 0x1000))
    p = _run("triage", str(dump), "--debug-dir", BUILD)
    assert p.returncode == 4, (p.returncode, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1 and f"offset_{name}" in p.stderr, p.stderr


def test_each_command_points_at_the_other() -> None:
    """A kernel log given to triage points at `kdumpext oops`; a dump given to oops at `kdumpext triage`."""
    c = case("scst-null-dev")
    p = _run("triage", c.dmesg)
    assert p.returncode == 3 and f"kdumpext oops {c.dmesg}" in p.stderr, p.stderr
    p = _run("oops", c.dump)
    assert p.returncode == 3 and f"kdumpext triage {c.dump}" in p.stderr, p.stderr


def test_debug_dir_that_is_not_there_is_said(tmp_path) -> None:
    _one_line(_run("triage", case("null-write").dump, "--debug-dir", str(tmp_path / "nowhere")),
              "nowhere", "no such directory")


# -- damaged dump headers: the checks dump.py makes before drgn reads anything ------------------
# (tests/test_fuzz.py runs the CLI on many more mutants; these pin the checks on real header bytes)


def _head(path: str, n: int) -> bytes:
    import lzma

    with (lzma.open(path, "rb") if path.endswith(".xz") else open(path, "rb")) as f:
        return f.read(n)


def _patched(data: bytes, at: int, fmt: str, value: int) -> bytes:
    import struct

    b = bytearray(data)
    struct.pack_into(fmt, b, at, value)
    return bytes(b)


def test_kdump_header_checks_on_real_bytes() -> None:
    from kdumpext.dump import kdump_header_problems, kdump_sub_header_problems

    path = case("scst-null-dev").dump
    size = os.path.getsize(path)
    head = _head(path, 8192)
    hdr, sub = head[:464], head[4096:4096 + 104]
    assert kdump_header_problems(hdr, size) == []
    assert kdump_sub_header_problems(hdr, sub, size) == []
    for at, fmt, value, word in [(8, "<i", 0, "header_version 0"), (8, "<i", 1, "header_version 1"),
                                 (428, "<i", 4095, "block_size 4095"), (428, "<i", 0, "block_size 0"),
                                 (432, "<i", 100000, "sub_hdr_size 100000"), (432, "<i", 0, "sub_hdr_size 0"),
                                 (436, "<I", 0xFFFF_FFFF, "bitmap_blocks 0xffffffff"), (436, "<I", 0, "bitmap_blocks 0"),
                                 (440, "<I", 0xFFFF_FFFF, "max_mapnr 0xffffffff"), (460, "<i", -1, "nr_cpus -1")]:
        problems = kdump_header_problems(_patched(hdr, at, fmt, value), size)
        assert problems and word in problems[0], (word, problems)
    for at, fmt, value, word in [(12, "<i", 1, "split 1"), (8, "<i", 99, "dump_level 99"),
                                 (96, "<Q", 1 << 40, "max_mapnr_64"), (56, "<Q", 1 << 30, "offset_note"),
                                 (48, "<q", 8192 * 4, "offset_note"), (40, "<Q", 0xFFFF_FFFF, "size_vmcoreinfo")]:
        problems = kdump_sub_header_problems(hdr, _patched(sub, at, fmt, value), size)
        assert problems and word in problems[0], (word, problems)


def test_vmcoreinfo_and_note_checks_on_real_bytes() -> None:
    import struct

    from kdumpext.dump import parse_notes, vmcoreinfo_problems

    head = _head(case("scst-null-dev").dump, 16384)
    off, n = struct.unpack_from("<qQ", head, 4096 + 48)  # the sub-header's ELF notes
    notes, bad = parse_notes(head[off:off + n])
    assert not bad
    blob = dict((name, desc) for name, _type, desc in notes)[b"VMCOREINFO"]
    assert vmcoreinfo_problems(blob, 4096) == []
    assert "block_size 8192" in vmcoreinfo_problems(blob, 8192)[0]
    for old, new, word in [(b"PAGESIZE=4096", b"PAGESIZE=4095", "PAGESIZE '4095'"),
                           (b"PAGESIZE=", b"PAGESIZX=", "no PAGESIZE"), (b"OSRELEASE=", b"OSRELEASX=", "no OSRELEASE"),
                           (b"OSRELEASE=6.1.192", b"OSRELEASE=6.1 192", "OSRELEASE '6.1 192'"),
                           (b"BUILD-ID=3b", b"BUILD-ID=zz", "BUILD-ID"), (b"OSRELEASE=6", b"OSRELEASE=\xff", "not text")]:
        problems = vmcoreinfo_problems(blob.replace(old, new, 1), 4096)
        assert problems and word in problems[0], (word, problems)
    data = head[off:off + n]
    notes_bad = _patched(data, 4, "<I", 0xFFFF_FFF0)  # the first note's n_descsz
    assert "n_descsz" in parse_notes(notes_bad)[1]
    assert parse_notes(data + bytes(64))[1] == ""  # zero padding after the last note


def test_elf_header_checks_on_real_bytes() -> None:
    import struct

    from kdumpext.dump import elf_header_problems, elf_segment_problems

    head = _head(case("scst-null-dev-elf").dump, 1 << 16)
    size = 1 << 40  # the whole file's size does not matter to these checks
    assert elf_header_problems(head[:64], size) == []
    phoff, = struct.unpack_from("<Q", head, 32)
    phnum, = struct.unpack_from("<H", head, 56)
    table = head[phoff:phoff + 56 * phnum]
    problems, want, notes = elf_segment_problems(table, size)
    assert problems == [] and want > 0 and len(notes) == 1
    for at, fmt, value, word in [(4, "<B", 1, "ELFCLASS32"), (5, "<B", 2, "big-endian"),
                                 (18, "<H", 40, "unsupported architecture"), (18, "<H", 0x7777, "e_machine 30583"),
                                 (54, "<H", 32, "e_phentsize 32"), (32, "<Q", size, "e_phoff"),
                                 (56, "<H", 0, "e_phnum 0")]:
        problems = elf_header_problems(_patched(head[:64], at, fmt, value), size)
        assert problems and word in problems[0], (word, problems)
    note = [i for i in range(phnum) if struct.unpack_from("<I", table, 56 * i)[0] == 4][0]
    problems, _want, _notes = elf_segment_problems(_patched(table, 56 * note + 32, "<Q", 1 << 40), size)
    assert problems and "PT_NOTE" in problems[0]
    load = [i for i in range(phnum) if struct.unpack_from("<I", table, 56 * i)[0] == 1][0]
    problems, _want, _notes = elf_segment_problems(_patched(table, 56 * load + 40, "<Q", 0), size)
    assert problems and "p_memsz" in problems[0]


def test_flattened_record_checks_on_real_bytes(tmp_path) -> None:
    import struct

    from kdumpext.dump import flat_records

    path = case("scst-null-dev-flat").dump
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        records, why = flat_records(f, size)
    assert why == "" and records and records[0][2] == 4096 + 16
    bad = tmp_path / "flat"
    data = bytearray(open(path, "rb").read())
    struct.pack_into(">q", data, 4096 + 8, size * 2)  # the first record's size
    bad.write_bytes(bytes(data))
    with open(bad, "rb") as f:
        assert "record 0" in flat_records(f, size)[1]


@pytest.mark.parametrize("scenario, at, fmt, value, word", [
    # each of these reached drgn and ended in "internal error" (exit 1) before dump.py checked it
    ("scst-null-dev", 8, "<i", 0, "header_version 0"),
    ("scst-null-dev", 436, "<I", 0xFFFF_FFFF, "bitmap_blocks"),  # was MemoryError
    ("scst-null-dev", 4096 + 12, "<i", 1, "split 1"),
    ("scst-null-dev", 460, "<i", 0x7FFF_FFFF, "nr_cpus"),
    ("scst-null-dev-elf", 18, "<H", 40, "unsupported architecture"),
    ("scst-null-dev-elf", 4, "<B", 1, "ELFCLASS32"),
])
def test_damaged_header_field_is_named(tmp_path, scenario: str, at: int, fmt: str, value: int, word: str) -> None:
    """A header field no dump writer writes: exit 4, one line naming the field."""
    import lzma
    import struct

    src = case(scenario).dump
    with (lzma.open(src, "rb") if src.endswith(".xz") else open(src, "rb")) as f:
        data = bytearray(f.read())
    struct.pack_into(fmt, data, at, value)
    dump = tmp_path / "dump.202601010101"
    dump.write_bytes(bytes(data))
    p = _run("triage", str(dump), "--debug-dir", BUILD)
    assert p.returncode == 4, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "dump is truncated or damaged" in lines[0] and word in lines[0], p.stderr


def test_garbled_module_debug_file_is_passed_over(tmp_path) -> None:
    """A scst.ko whose DWARF is garbage: the module is without debug info, the run goes on (exit 0)."""
    import json
    import lzma

    with lzma.open(os.path.join(BUILD, "scst.ko.xz"), "rb") as f:
        ko = bytearray(f.read())
    from elftools.elf.elffile import ELFFile

    with lzma.open(os.path.join(BUILD, "scst.ko.xz"), "rb") as f:
        sec = ELFFile(io.BytesIO(f.read())).get_section_by_name(".debug_abbrev")
    off = sec["sh_offset"]
    ko[off:off + 256] = bytes(range(256))
    debug = tmp_path / "debug"
    debug.mkdir()
    (debug / "scst.ko").write_bytes(bytes(ko))
    # the garbled copy is found first and passed over for the whole one in the next directory
    c = case("scst-null-dev")
    p = _run("triage", "--json", c.dump, "--debug-dir", str(debug), "--debug-dir", BUILD)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["dump"]["modules_missing_debuginfo"] == []
    assert (report["verdict"]["bucket"], report["verdict"]["confidence"]) == (c.expected["bucket"], "high")
    assert any(w.startswith(f"{debug / 'scst.ko'}: cannot use for module scst (") for w in report["warnings"])
    # only the garbled copy: the module is without debug info, the run goes on
    kernel = tmp_path / "kernel"
    kernel.mkdir()
    (kernel / "vmlinux.xz").symlink_to(os.path.join(BUILD, "vmlinux.xz"))
    p = _run("triage", "--json", c.dump, "--debug-dir", str(debug), "--debug-dir", str(kernel))
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert "scst" in report["dump"]["modules_missing_debuginfo"]
    assert report["verdict"]["confidence"] != "high"
    assert any("cannot use for module scst" in w for w in report["warnings"])


def test_oops_text_that_does_not_fit_64_bits() -> None:
    """Addresses, offsets and Code: words a garbled log holds: parsed or left out, never an exception."""
    from kdumpext.oops import parse_oops

    with open(case("scst-null-dev").dmesg) as f:
        text = f.read()
    import re

    o = parse_oops(re.sub(r"RIP: 0010:\S+", "RIP: 0010:0xffffffffffffffffffffff", text))
    assert o is not None and o.rip_address is None and not o.rip_function
    o = parse_oops(re.sub(r"Code: [^\n]*", "Code: d503233f a9be7bfd (b9400000) 910003fd", text))
    assert o is not None and o.code[:4] == bytes.fromhex("3f2303d5") and o.code_fault_index == 8
    o = parse_oops(re.sub(r"\+0x[0-9a-f]+/0x", "+0xfffffffffffffffffffff/0x", text))
    assert o is not None
    o = parse_oops("BUG: kernel NULL pointer dereference, address: 1" + "0" * 30 + "\nkernel BUG at x.c:" + "9" * 5000 + "!\n")
    assert o is not None and o.fault_address is None


def test_oops_parsing_of_a_flood_is_quick() -> None:
    """A title followed by millions of lines: read lazily and only so far, in a few seconds."""
    import time

    from kdumpext.oops import parse_oops

    text = "BUG: kernel NULL pointer dereference, address: 0000000000000010\n" + "RAX: zz é\n" * (2 << 20) \
        + "Kernel panic - not syncing: Fatal exception\n"
    t0 = time.monotonic()
    o = parse_oops(text)
    assert o is not None and o.fault_address == 0x10 and o.panic == "Fatal exception"
    assert time.monotonic() - t0 < 10


def test_batch_passes_over_a_fifo_named_like_a_dump(tmp_path) -> None:
    """Discovery goes by name; the FIFO is refused before anything opens it (it would block
    forever, outside any worker's timeout), and the real dump beside it is explained."""
    import json

    c = case("null-write")
    real = tmp_path / "202601010101"
    real.mkdir()
    (real / os.path.basename(c.dump)).symlink_to(c.dump)
    fifo_dir = tmp_path / "202601010202"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / "dump.202601010202")
    p = _run("batch", str(tmp_path), "--format", "json", "--debug-dir", BUILD, "--no-cache")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [r["bucket"] for r in doc["rows"]] == [c.expected["bucket"]]
    skipped = doc["not_dumps"]
    assert len(skipped) == 1 and "is a FIFO, not a regular file" in json.dumps(skipped[0]), skipped


def test_big_dump_checked_once(tmp_path, monkeypatch) -> None:
    """A big dump's check (the page table scan) is remembered in the cache by the file's stamp:
    a second open does not scan again; a copy with other contents (another stamp) is scanned."""
    import kdumpext.dump as dump

    scans: List[str] = []
    real = dump.check_complete

    def counting(path: str, fmt: "dump.DumpFormat") -> None:
        scans.append(path)
        real(path, fmt)

    monkeypatch.setattr(dump, "CHECK_REMEMBERED_FROM", 0)  # the seed stands for a multi-GB dump
    monkeypatch.setattr(dump, "check_complete", counting)
    seed = case("scst-null-dev").dump
    dump.open_dump(seed, None, [BUILD])
    dump.open_dump(seed, None, [BUILD])
    assert scans == [seed]
    copy = tmp_path / "dump.copy"
    shutil.copyfile(seed, copy)
    dump.open_dump(str(copy), None, [BUILD])
    assert scans == [seed, str(copy)]
