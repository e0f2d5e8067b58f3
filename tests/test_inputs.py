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
