"""Tests for kdumpext.gdbserver: the protocol on literal packets, the server on a real dump, stock gdb on every dump."""

from __future__ import annotations

import functools
import os
import re
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Tuple

import pytest

from conftest import need, need_program
from corpus import ARM64_BUILD, BUILD, Case, arm64_cases, case, cases, no_pi
from test_gdb import GDB_INIT, NULL_CLASSES, _bt_functions, _gdb, _is_subsequence, _select_function

from kdumpext import gdbserver
from kdumpext.errors import MemoryNotInDump, UsageError
from kdumpext.gdbcore import IDLE_LWP_BASE
from kdumpext.gdbserver import (KERNEL_HALF, LAYOUTS, PacketReader, Register, Server, Thread, checksum,
                                encode_register, encode_registers, escape, frame, hex_encode, layout_of, memory_map_xml,
                                parse_listen, parse_thread_id, server_command, target_description, threads_xml,
                                unescape, xfer_slice)

_X86: List[Optional[Case]] = list(cases()) or [None]
_ARM64: List[Optional[Case]] = list(arm64_cases()) or [None]
#: gdb's own register order (gdb/features/i386/64bit-core.xml, 64bit-segments.xml, 64bit-linux.xml)
X86_64_CORE = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
               "r14", "r15", "rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs", "st0", "st1", "st2", "st3", "st4",
               "st5", "st6", "st7", "fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"]
#: an ERR_PTR(-EINVAL): a kernel-half address no page table maps, on both architectures
ERR_PTR = 0xFFFFFFFFFFFFFFEA


# -- packets: literal bytes ------------------------------------------------------------------


@pytest.mark.parametrize("wire", [b"$g#67", b"$?#3f", b"$vMustReplyEmpty#3a", b"$Hg0#df", b"$qTStatus#49",
                                  b"$qfThreadInfo#bb", b"$qC#b4", b"$qAttached#8f"])
def test_checksum_of_packets_gdb_sent(wire: bytes) -> None:
    """Packets as gdb put them on the wire (from a `set debug remote 1` log) frame to the same bytes."""
    payload = wire[1:-3]
    assert frame(payload) == wire
    assert checksum(payload) == int(wire[-2:], 16)


def test_frame() -> None:
    assert frame(b"OK") == b"$OK#9a"
    assert frame(b"") == b"$#00"
    assert frame(b"E14") == b"$E14#aa"


def test_packet_reader_splits_acks_packets_and_junk() -> None:
    r = PacketReader()
    assert r.feed(b"+$qSupported:multiprocess+;swbreak+#1") == [gdbserver.Event("ack")]
    # the rest of the packet arrives: one packet, then a nack, an interrupt, junk, a bad checksum
    evs = r.feed(b"b-\x03xyz$m0,8#00$T26#bc")
    assert [e.kind for e in evs] == ["packet", "nack", "interrupt", "bad", "packet"]
    assert evs[0].payload == b"qSupported:multiprocess+;swbreak+"
    assert evs[3].payload == b"m0,8" and evs[4].payload == b"T26"
    assert r.feed(b"$qC#b") == [] and [e.payload for e in r.feed(b"4")] == [b"qC"]


def test_escape_and_unescape() -> None:
    assert escape(b"a#b$c}d*e") == b"a}\x03b}\x04c}]d}\x0ae"
    assert escape(b"plain") == b"plain"
    every = bytes(range(256))
    assert unescape(escape(every)) == every
    assert not set(escape(every)) & set(b"#$*") and escape(every).count(b"}") == 4
    assert unescape(b"X}]Y") == b"X}Y"


def test_hex_and_registers() -> None:
    assert hex_encode(b"\x00\xff\x10") == b"00ff10"
    rip = Register("rip", 64, "code_ptr", "core", "rip")
    eflags = Register("eflags", 32, "i386_eflags", "core", "rflags")
    st0 = Register("st0", 80, "i387_ext", "core", None)
    assert encode_register(rip, 0xFFFFFFFFC03DA011) == b"11a03dc0ffffffff"  # little-endian
    assert encode_register(eflags, 0x10000000202) == b"02020000"  # cut to its 32 bits
    assert encode_register(rip, None) == b"xx" * 8 and encode_register(st0, None) == b"xx" * 10
    assert encode_registers([rip, st0, eflags], {"rip": 1, "rflags": 0x246}) == \
        b"0100000000000000" + b"xx" * 10 + b"46020000"


def test_g_layouts_have_gdbs_order_and_sizes() -> None:
    x86 = LAYOUTS["x86_64"]
    assert [r.name for r in x86[:40]] == X86_64_CORE
    assert [r.name for r in x86[40:]] == ["fs_base", "gs_base", "orig_rax"]
    # 16 + rip 8-byte, eflags + 6 segments 4-byte, 8 x87 10-byte, 8 x87 control 4-byte, 3 more 8-byte
    assert sum(r.bits for r in x86) // 8 == 17 * 8 + 7 * 4 + 8 * 10 + 8 * 4 + 3 * 8
    arm = LAYOUTS["arm64"]
    assert [r.name for r in arm] == [f"x{n}" for n in range(31)] + ["sp", "pc", "cpsr"] + \
        [f"v{n}" for n in range(32)] + ["fpsr", "fpcr"]
    assert sum(r.bits for r in arm) // 8 == 33 * 8 + 4 + 32 * 16 + 2 * 4
    assert [r.name for r in layout_of("arm64", 0xFFFF000000000000)[len(arm):]] == ["pauth_dmask", "pauth_cmask"]
    assert layout_of("arm64", 0) == arm and layout_of("x86_64", 0xFFFF000000000000) == x86


@pytest.mark.parametrize("arch, gdb_arch, feature", [("x86_64", "i386:x86-64", "org.gnu.gdb.i386.core"),
                                                      ("arm64", "aarch64", "org.gnu.gdb.aarch64.core")])
def test_target_description(arch: str, gdb_arch: str, feature: str) -> None:
    root = ET.fromstring(target_description(arch))
    assert root.tag == "target" and root.findtext("architecture") == gdb_arch
    regs = root.findall("feature/reg")
    assert [r.get("name") for r in regs] == [r.name for r in LAYOUTS[arch]]
    assert [int(r.get("regnum") or -1) for r in regs] == list(range(len(regs)))  # the g packet's order
    assert root.find("feature").get("name") == feature  # type: ignore[union-attr]
    defined = {f.get("id") for f in root.iter("flags")}
    assert {r.get("type") for r in regs if r.get("type", "").endswith("_flags")} <= defined
    with pytest.raises(KeyError):
        target_description("arm")


def test_memory_map_and_threads_xml() -> None:
    mm = ET.fromstring(memory_map_xml([KERNEL_HALF]))
    (mem,) = mm.findall("memory")
    assert mem.get("type") == "ram" and int(mem.get("start") or "", 16) == 1 << 63
    assert int(mem.get("length") or "", 16) == 1 << 63
    threads = [Thread(38, 38, "scstd30", 0, "crashed", 0xFFFF8A0640C4F000),
               Thread(IDLE_LWP_BASE + 1, 0, "swapper/1", 1, "running", 0xFFFF8A0640190000),
               Thread(7, 7, 'we<ir>d&"', None, "", 0xFFFF8A0640194080)]
    root = ET.fromstring(threads_xml(threads))
    got = [(t.get("id"), t.get("name"), t.get("core"), t.text) for t in root.findall("thread")]
    assert got == [("26", "scstd30", "0", "pid 38, CPU 0, crashed"),
                   ("400001", "swapper/1", "1", "pid 0, CPU 1, running"),
                   ("7", 'we<ir>d&"', None, "pid 7")]


def test_xfer_slice() -> None:
    data = b"0123456789#"
    assert xfer_slice(data, 0, 4) == b"m0123"
    assert xfer_slice(data, 8, 4) == b"l89}\x03"  # the last piece, '#' escaped
    assert xfer_slice(data, 11, 4) == b"l"
    assert xfer_slice(data, 0, 11) == b"l0123456789}\x03"


def test_parse_thread_id_and_listen() -> None:
    assert parse_thread_id(b"26") == 38 and parse_thread_id(b"-1") == -1 and parse_thread_id(b"0") == 0
    assert parse_thread_id(b"p1.26") == 38 and parse_thread_id(b"p1") == -1
    with pytest.raises(ValueError):
        parse_thread_id(b"zz")
    assert parse_listen("1234") == ("127.0.0.1", 1234)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)
    assert parse_listen("[::1]:5") == ("::1", 5) and parse_listen("localhost:7") == ("localhost", 7)
    for bad in ("", "x", "70000", "host:", "1:2:3"):
        with pytest.raises(UsageError):
            parse_listen(bad)


def test_server_command_quotes_for_the_shell() -> None:
    cmd = server_command(["/opt/my venv/bin/python", "-P"], "/var/crash/a b/dump.1", "/x/vmlinux", ["/d 1", "/d2"])
    assert cmd == ("exec '/opt/my venv/bin/python' -P -m kdumpext.cli gdbserver '/var/crash/a b/dump.1' "
                   "--vmlinux /x/vmlinux --debug-dir '/d 1' --debug-dir /d2")
    assert server_command(["py"], "d", None, []) == "exec py -m kdumpext.cli gdbserver d"


# -- the server on a real dump, packet by packet ------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _opened(scenario: str = "scst-null-dev"):  # type: ignore[no-untyped-def]
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
    from kdumpext.dump import open_dump

    c = case(scenario)
    return open_dump(c.dump, debug_dirs=[BUILD])


@pytest.fixture(scope="module")
def target() -> gdbserver.DumpTarget:
    need(bool(cases()), "no sample dumps (sample-dumps/generate)")
    return gdbserver.DumpTarget(_opened().prog)


def _xfer(server: Server, what: str, chunk: int = 0x100) -> bytes:
    """A whole qXfer object read as gdb reads it, ``chunk`` bytes at a time."""
    out, offset = b"", 0
    while True:
        reply = server.handle(f"qXfer:{what}:{offset:x},{chunk:x}".encode())
        assert reply is not None and reply[:1] in (b"m", b"l"), reply
        out += unescape(reply[1:])
        offset += len(unescape(reply[1:]))
        if reply[:1] == b"l":
            return out


def _regs_of_g(reply: bytes, arch: str = "x86_64") -> Dict[str, Optional[int]]:
    out: Dict[str, Optional[int]] = {}
    pos = 0
    for r in LAYOUTS[arch]:
        field = reply[pos:pos + r.bits // 4]
        out[r.name] = None if field == b"x" * len(field) else int.from_bytes(bytes.fromhex(field.decode()), "little")
        pos += r.bits // 4
    assert pos == len(reply)
    return out


def test_server_handshake_and_threads(target: gdbserver.DumpTarget) -> None:
    s = Server(target)
    supported = (s.handle(b"qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;xmlRegisters=i386") or b"")
    for item in (b"PacketSize=10000", b"qXfer:features:read+", b"qXfer:memory-map:read+", b"qXfer:threads:read+",
                 b"QStartNoAckMode+"):
        assert item in supported.split(b";")
    assert s.handle(b"QStartNoAckMode") == b"OK"
    assert s.handle(b"vMustReplyEmpty") == b"" and s.handle(b"qTStatus") == b"" and s.handle(b"qOffsets") == b""
    assert s.handle(b"?") == b"T05thread:26;"  # pid 38, scstd30
    assert s.handle(b"qC") == b"QC26" and s.handle(b"qAttached") == b"1"
    ids: List[int] = []
    reply = s.handle(b"qfThreadInfo")
    while reply != b"l":
        assert reply is not None and reply.startswith(b"m")
        ids += [int(t, 16) for t in reply[1:].split(b",")]
        reply = s.handle(b"qsThreadInfo")
    prog = target.prog
    from drgn.helpers.linux.pid import for_each_task

    pids = {int(t.pid) for t in for_each_task(prog)}
    assert ids[0] == 38 and len(ids) == len(set(ids))
    assert {IDLE_LWP_BASE, IDLE_LWP_BASE + 1} <= set(ids)  # each CPU's idle task
    assert set(ids) - {IDLE_LWP_BASE, IDLE_LWP_BASE + 1} == pids - {0}
    root = ET.fromstring(_xfer(s, "threads:read:"))
    names = {int(t.get("id") or "", 16): (t.get("name"), t.text) for t in root.findall("thread")}
    assert list(names) == ids
    assert names[38] == ("scstd30", "pid 38, CPU 0, crashed")
    assert names[IDLE_LWP_BASE] == ("swapper/0", "pid 0, CPU 0")  # CPU 0 ran scstd30
    assert names[IDLE_LWP_BASE + 1] == ("swapper/1", "pid 0, CPU 1, running")
    assert names[1][0] == "init" and names[2][0] == "kthreadd"
    assert s.handle(b"T26") == b"OK" and s.handle(b"T2") == b"OK" and s.handle(b"T99999") == b"E01"
    assert ET.fromstring(_xfer(s, "features:read:target.xml", 0x7F)).findtext("architecture") == "i386:x86-64"
    assert _xfer(s, "features:read:target.xml") == target_description("x86_64").encode()
    assert s.handle(b"qXfer:features:read:other.xml:0,100") == b"E00"
    assert s.handle(b"qXfer:auxv:read::0,100") == b""
    (region,) = ET.fromstring(_xfer(s, "memory-map:read:")).findall("memory")
    assert region.get("start") == "0x8000000000000000"
    assert s.handle(b"qThreadExtraInfo,26") == hex_encode(b"pid 38, CPU 0, crashed")


def test_server_registers_per_thread(target: gdbserver.DumpTarget) -> None:
    """g and p: drgn's registers of each thread (the exception frame for the crashed task, the
    saved context for a sleeping one), unknown ones unavailable."""
    s = Server(target)
    prog = target.prog
    crashed = {k: int(v) for k, v in prog.crashed_thread().stack_trace()[0].registers().items()}
    g = _regs_of_g(s.handle(b"g") or b"")
    for name in ("rip", "rsp", "rax", "rbx", "rbp", "r15"):
        assert g[name] == crashed[name], name
    assert g["eflags"] == crashed["rflags"] & 0xFFFFFFFF and g["cs"] == crashed["cs"]
    assert g["st0"] is None and g["fop"] is None and g["orig_rax"] is None
    assert s.handle(b"p10") == encode_register(LAYOUTS["x86_64"][16], crashed["rip"])  # rip is register 16
    assert s.handle(b"p%x" % len(LAYOUTS["x86_64"])) == b"E01"
    # a sleeping task: kthreadd, switched out in __schedule
    from drgn.helpers.linux.pid import find_task

    kthreadd = prog.stack_trace(find_task(prog, 2))[0]
    assert s.handle(b"Hg2") == b"OK"
    g2 = _regs_of_g(s.handle(b"g") or b"")
    assert g2["rip"] == kthreadd.pc and g2["rsp"] == kthreadd.registers()["rsp"]
    assert g2["rax"] is None  # not saved by switch_to
    assert s.handle(b"Hg99999") == b"E01" and s.handle(b"Hg0") == b"OK"
    assert _regs_of_g(s.handle(b"g") or b"")["rip"] == crashed["rip"]  # thread 0: any, the crashed one
    assert s.handle(b"Hc-1") == b"OK"


def test_server_memory(target: gdbserver.DumpTarget) -> None:
    """m and x read the dump; memory it does not hold is E14; a read running into a missing
    page returns what comes before it."""
    s = Server(target)
    prog = target.prog
    rip = prog.crashed_thread().stack_trace()[0].pc
    assert s.handle(b"m%x,10" % rip) == hex_encode(prog.read(rip, 16))
    reply = s.handle(b"x%x,40" % rip) or b""
    assert reply[:1] == b"b" and unescape(reply[1:]) == prog.read(rip, 64)
    assert s.handle(b"m0,8") == b"E14" and s.handle(b"x%x,8" % ERR_PTR) == b"E14"
    assert s.handle(b"mffff800000000000,8") == b"E14"
    assert s.handle(b"m%x,0" % rip) == b"" and s.handle(b"x%x,0" % rip) == b"b"
    # the end of a run of pages the dump holds, in the direct map: 16 bytes of 32
    from drgn.helpers.linux.mm import phys_to_virt

    from kdumpext.gdbcore import present_map

    runs = present_map(_opened().info.path) or []
    page_offset = int(phys_to_virt(prog, 0).value_())
    end = next(page_offset + b for _a, b in runs if b < 1 << 32)
    with pytest.raises(Exception):
        prog.read(end, 1)
    assert s.handle(b"m%x,20" % (end - 16)) == hex_encode(prog.read(end - 16, 16))
    with pytest.raises(MemoryNotInDump):
        target.read(end, 8)
    # a reply never exceeds the packet size, however much is asked
    assert len(s.handle(b"m%x,100000" % rip) or b"") <= gdbserver.PACKET_SIZE


def test_server_is_read_only_and_ends(target: gdbserver.DumpTarget) -> None:
    s = Server(target)
    rip = target.prog.crashed_thread().stack_trace()[0].pc
    for p in (b"M%x,1:90" % rip, b"X%x,1:\x90" % rip, b"G" + b"00" * 8, b"P10=0000000000000000",
              b"Z0,%x,1" % rip, b"z0,%x,1" % rip, b"c", b"s", b"C05", b"vCont;c", b"vRun;", b"R00"):
        reply = s.handle(p) or b""
        assert reply.startswith(b"E"), p
    assert s.handle(b"vCont?") == b""  # no vCont: gdb falls back to c/s, which error
    assert s.handle(b"mzz") == b"E01"  # malformed
    assert not s.done
    assert s.handle(b"D") == b"OK" and s.done
    k = Server(target)
    assert k.handle(b"k") is None and k.done


# -- transport: stdin/stdout and TCP ------------------------------------------------------------------


def _recv_reply(sock: socket.socket) -> Tuple[bytes, bytes]:
    """(bytes before the '$', the payload of the packet that follows)."""
    buf = b""
    while not re.search(rb"\$[^#]*#..", buf):
        data = sock.recv(65536)
        assert data, f"connection closed; got {buf!r}"
        buf += data
    before, rest = buf.split(b"$", 1)
    return before, rest.split(b"#", 1)[0]


def test_keepalive_while_the_dump_opens(target: gdbserver.DumpTarget) -> None:
    """While the dump opens (slow) the server sends bytes gdb skips, so gdb's remotetimeout
    (2 s) does not run out; none once the reply is sent; D ends the serving."""
    a, b = socket.socketpair()
    channel = gdbserver.socket_channel(b)

    def slow() -> gdbserver.DumpTarget:
        time.sleep(1.3)
        return target

    server = threading.Thread(target=gdbserver.serve, args=(slow, channel), daemon=True)
    server.start()
    a.sendall(b"+" + frame(b"qSupported:xmlRegisters=i386"))
    before, payload = _recv_reply(a)
    # keep-alive bytes while the dump opened (1.3 s), then the ack of the packet read after it
    assert before == gdbserver.KEEPALIVE * (len(before) - 1) + b"+" and len(before) >= 3, before
    assert payload.startswith(b"PacketSize=")
    a.sendall(b"+" + frame(b"QStartNoAckMode"))
    before, payload = _recv_reply(a)
    assert (before, payload) == (b"+", b"OK")
    a.sendall(b"+" + frame(b"?"))  # the ack of OK; no acks from here on
    before, payload = _recv_reply(a)
    assert (before, payload) == (b"", b"T05thread:26;")
    a.settimeout(1.2)
    with pytest.raises(socket.timeout):
        a.recv(1)  # idle: nothing
    a.settimeout(10)
    a.sendall(frame(b"D"))
    assert _recv_reply(a) == (b"", b"OK")
    server.join(5)
    assert not server.is_alive()
    a.close()
    b.close()


def _kdumpext(*args: str, **kw: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kdumpext.cli", *args], **kw)  # type: ignore[call-overload]


def test_listen_on_tcp() -> None:
    """--listen 127.0.0.1:0: the address on stderr once the dump is open, one gdb served, exit 0 after D."""
    c = case("scst-null-dev")
    p = _kdumpext("gdbserver", c.dump, "--debug-dir", BUILD, "--listen", "0", stdin=subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()  # type: ignore[union-attr]
        m = re.search(r"listening on 127\.0\.0\.1:(\d+) \(gdb: target remote 127\.0\.0\.1:\1\)", line)
        assert m, line
        with socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=30) as sock:
            sock.sendall(b"+" + frame(b"qSupported"))
            assert _recv_reply(sock)[1].startswith(b"PacketSize=")
            sock.sendall(b"+" + frame(b"?"))
            assert _recv_reply(sock) == (b"+", b"T05thread:26;")
            sock.sendall(b"+" + frame(b"m0,8"))
            assert _recv_reply(sock) == (b"+", b"E14")
            sock.sendall(b"+" + frame(b"D"))
            assert _recv_reply(sock) == (b"+", b"OK")
        assert p.wait(30) == 0
        assert p.stdout.read() == ""  # type: ignore[union-attr]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("args, status, message", [
    (["--listen", "99999"], 2, "kdumpext: --listen 99999: want [HOST:]PORT"),
    (["--listen", "x:y"], 2, "kdumpext: --listen x:y: want [HOST:]PORT"),
    (["--vmlinux", "/nonexistent/vmlinux", "--listen", "0"], 2, "kdumpext: /nonexistent/vmlinux: "),
])
def test_cli_errors_are_one_line(args: List[str], status: int, message: str) -> None:
    c = case("scst-null-dev")
    p = subprocess.run([sys.executable, "-m", "kdumpext.cli", "gdbserver", c.dump, *args], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == status and p.stderr.count("\n") == 1 and p.stderr.startswith(message), p.stderr
    assert p.stdout == ""


def test_cli_refuses_a_terminal_on_stdin() -> None:
    import pty

    master, slave = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "kdumpext.cli", "gdbserver", "dump"], stdin=slave,
                           capture_output=True, text=True, timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert p.returncode == 2 and p.stderr.startswith("kdumpext: stdin is a terminal") and p.stderr.count("\n") == 1


def test_plain_gdb_over_the_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Stock gdb without kdumpext loaded: `kdumpext gdbserver --gdb-commands` loads vmlinux and
    the modules and connects; gdb's own unwinder then shows the crash."""
    gdb = need_program("gdb")
    c = case("scst-null-dev")
    script = tmp_path / "load.gdb"
    p = subprocess.run([sys.executable, "-m", "kdumpext.cli", "gdbserver", c.dump, "--debug-dir", BUILD,
                        "--gdb-commands"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("symbol-file -o 0x") and lines[-1].startswith("target remote | exec ")
    assert sum(line.startswith("add-symbol-file ") for line in lines) == 2
    script.write_text(p.stdout)
    # remotetimeout 1: the server holds gdb's patience with keep-alive bytes while the dump opens
    out = subprocess.run([gdb, "-batch", "-nx", "-ex", "set remotetimeout 1", "-x", str(script), "-ex", "bt 3",
                          "-ex", "info threads 1-2", "-ex", "p cmd->dev->vdev_update_lat_stats"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
                         stdin=subprocess.DEVNULL).stdout
    assert _bt_functions(out)[:3] == ["scst_update_lat_stats", "scst_finish_cmd", "scst_cmd_thread"], out
    assert re.search(r'^\* 1 +Thread 38 "scstd30" \(pid 38, CPU 0, crashed\)', out, re.M), out
    assert "Cannot access memory at address 0x240" in out
    assert "[Inferior 1 (Remote target) detached]" in out


# -- stock gdb over the server on every sample dump: one gdb run per dump ---------------------------------


_SEP = "@@@"


def _mark(name: str) -> str:
    return f"echo \\n{_SEP}{name}\\n"


def _switch_to_pid(pid: int) -> str:
    return f"python [t for t in gdb.selected_inferior().threads() if t.ptid[1] == {pid}][0].switch()"


@functools.lru_cache(maxsize=None)
def _session(scenario: str, arm64: bool = False) -> Dict[str, str]:
    """One stock gdb (gdb-multiarch for arm64) with gdb-init.py on one dump: ``kdump open`` (over
    the server), then every command the tests below look at, each section's output by name."""
    c = next(c for c in (arm64_cases() if arm64 else cases()) if c.scenario == scenario)
    exp = c.expected
    select = ["frame 0"] if exp.get("callee") else _select_function(exp["function"])
    cmds = [f"kdump open {c.dump} --debug-dir {ARM64_BUILD if arm64 else BUILD}",
            _mark("bt"), "bt",
            _mark("insns"), *select, "x/2i $pc",
            _mark("fault"), "kdump fault",
            _mark("threads"), "info threads"]
    pointer = exp.get("pointer") or ""
    # kdx_probe() would need a live process; a function that tail-jumped is not on the stack
    if pointer and "(" not in pointer and exp["function"] in (exp.get("backtrace") or []):
        cmds += [_mark("pointer"), *_select_function(exp["function"]), f"p {pointer}"]
    cmds += [_mark("pc"), "thread 1", "frame 0", "x/i $pc",
             _mark("struct"), "p *init_task.parent",
             _mark("sleeping"), _switch_to_pid(2), "bt",
             _mark("missing"), "x/gx 0", f"x/gx {ERR_PTR:#x}", "echo end\\n"]
    if arm64:
        gdb = need_program("gdb-multiarch")
        env = {k: v for k, v in os.environ.items() if k != "KDUMPEXT_DEBUG_PATH"}
        args = [gdb, "-batch", "-nx", "-x", GDB_INIT] + [a for cmd in cmds for a in ("-ex", cmd)]
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=300,
                           stdin=subprocess.DEVNULL)
    else:
        p = _gdb(*cmds)
    assert p.returncode == 0, p.stdout
    assert "Traceback" not in p.stdout and "Python Exception" not in p.stdout, p.stdout
    parts = p.stdout.split(f"\n{_SEP}")
    out = {"open": parts[0]}
    for part in parts[1:]:
        name, _, text = part.partition("\n")
        out[name] = text
    return out


def _need(c: Optional[Case], what: str = "sample-dumps") -> Case:
    need(c is not None, f"{what} has no dump with an expected.json (sample-dumps/README.md)")
    assert c is not None
    return c


@pytest.mark.parametrize("c", _X86, ids=[str(c) for c in _X86])
def test_gdb_on_sample_dump(c: Optional[Case]) -> None:
    """`kdump open` prints the expected verdict, `bt` the expected chain, `p POINTER` 0x0 for NULL."""
    c = _need(c)
    exp = c.expected
    s = _session(c.scenario)
    report, bt, insns, fault, threads = s["open"], s["bt"], s["insns"], s["fault"], s["threads"]

    # the verdict, as the CLI words it
    for key in ("pointer", "access_path", "member"):
        if exp.get(key):
            assert exp[key] in fault, f"{key} {exp[key]!r} not in:\n{fault}"
    if exp.get("struct") and exp.get("offset"):
        assert f"struct {exp['struct']} +{exp['offset']}" in fault, fault
    if exp.get("bucket"):
        assert f"BUCKET   {exp['bucket']}" in fault, fault
    for hop in (exp.get("chain") or [])[1:] if len(exp.get("chain") or []) > 1 else []:
        assert hop["expr"] in fault and hop["function"] in fault, f"hop {hop} not in:\n{fault}"
    assert fault.strip() in report  # `kdump fault` is the verdict block of the report
    task = exp.get("task") or {}
    if task.get("comm"):
        assert f'COMM "{task["comm"]}"' in report

    # the backtrace: gdb unwinds the dump itself, through module code into the kernel
    names = _bt_functions(bt)
    want = [f for f in exp.get("backtrace") or [] if f]
    if exp.get("exception_rip") == "0x0" and exp["function"] in want:
        # after a call to address 0 gdb, like kdumpext, starts the caller at the call: the inline
        # frames drgn reports at the instruction after it (preempt_count) are not there
        want = want[want.index(exp["function"]):]
    if want:
        assert _is_subsequence(want, names), f"expected {want} in order, gdb's bt: {names}\n{bt}"
    if exp["function"] in want:  # not for a function that tail-jumped (tail-call-null-op)
        assert exp["function"] in names, bt

    # the faulting instruction is readable (kernel or module text, read from the dump)
    if exp.get("class") not in ("null-fn-call",) and exp.get("access") != "exec":
        assert "Cannot access memory" not in insns, insns
        if exp.get("instruction"):
            mnemonic = exp["instruction"].split()[0]
            assert mnemonic in insns, insns

    # threads: the crashed task first, named
    first = next((line for line in threads.splitlines() if line.startswith("*")), "")
    if task.get("comm"):
        assert f'"{task["comm"]}"' in first, threads

    if "pointer" in s:
        value = s["pointer"]
        assert "$1 = " in value, value
        if exp.get("class") in NULL_CLASSES:
            # NULL, or NULL + k where the pointer is an address computed from NULL (&x->lock): k is
            # the sum of the expected chain's address-of offsets
            k = sum(int(h["offset"], 16) for h in exp.get("chain") or [] if h["kind"] == "address-of")
            assert re.search(rf"^\$1 = (\(.*\) )?{k:#x}$", value, re.M), value


def _check_server_view(c: Case, s: Dict[str, str]) -> None:
    """What the server gives gdb on any dump: threads, registers, memory, the lack of it."""
    exp = c.expected
    # info threads: the crashed task first, marked; every CPU's idle task as swapper/N
    threads = s["threads"]
    first = next(line for line in threads.splitlines() if line.startswith("*"))
    assert re.match(r"^\* 1 +Thread \d+ ", first) and ", crashed)" in first, threads
    if (exp.get("task") or {}).get("comm"):
        assert f'"{exp["task"]["comm"]}" (pid ' in first, threads
    cpus = int(re.search(r"^CPUS +(\d+)", s["open"], re.M).group(1))  # type: ignore[union-attr]
    for n in range(cpus):
        assert re.search(rf'Thread {IDLE_LWP_BASE + n} "swapper/{n}" \(pid 0, CPU {n}', threads), (n, threads)
    assert re.search(r'Thread 2 "kthreadd" \(pid 2, CPU \d+\)', threads), threads
    assert f"kdump: {len(re.findall(r'^[* ] +[0-9]+ +Thread ', threads, re.M))} threads" in s["open"]
    # x/i $pc of the crashed thread: its instruction from the dump, or nothing at a NULL pc
    if exp["class"] == "null-fn-call" or exp.get("access") == "exec":
        assert "Cannot access memory at address 0x0" in s["pc"], s["pc"]
    else:
        assert re.search(r"^=> 0x[0-9a-f]{16} <[\w.]+(\+\d+)?>:\t\S", s["pc"], re.M), s["pc"]
    # a struct through a pointer read from the dump
    assert re.search(r"^\$\d+ = \{.*pid = 0, .*comm = \"swapper/0", s["struct"], re.M | re.S), s["struct"][:500]
    # a sleeping task's saved context: its stack unwinds through the scheduler
    sleeping = _bt_functions(s["sleeping"])
    assert "__schedule" in sleeping and "kthreadd" in sleeping, s["sleeping"]
    # memory the dump does not hold: gdb's own message, for user space (the memory map) and the kernel half
    assert "0x0:\tCannot access memory at address 0x0" in s["missing"], s["missing"]
    assert f"{ERR_PTR:#x}:\tCannot access memory at address {ERR_PTR:#x}" in s["missing"], s["missing"]


@pytest.mark.parametrize("c", _X86, ids=[str(c) for c in _X86])
def test_server_view_of_sample_dump(c: Optional[Case]) -> None:
    """info threads, x/i $pc, p *ptr, thread N + bt of a sleeping task, missing memory (the run above)."""
    c = _need(c)
    _check_server_view(c, _session(c.scenario))


@pytest.mark.parametrize("c", _ARM64, ids=[str(c) for c in _ARM64])
def test_gdb_multiarch_over_the_server_arm64(c: Optional[Case]) -> None:
    """The same on every arm64 dump with gdb-multiarch: bt from the faulting function, the
    verdict, the threads, memory, a sleeping task."""
    c = _need(c, "sample-dumps/arm64")
    s = _session(c.scenario, arm64=True)
    assert f"BUCKET   {c.expected['bucket']}" in s["fault"], s["fault"]
    frames = [no_pi(f) for f in _bt_functions(s["bt"])]
    bt = [no_pi(f) for f in c.expected["backtrace"]]
    assert any(f in bt for f in frames[:3]), (frames, bt)  # from the fault (a call through NULL: "??" first)
    # the whole expected chain, in order (return addresses signed with a PAC included)
    assert _is_subsequence([f for f in bt if f], frames), f"expected {bt} in order, gdb's bt: {frames}\n{s['bt']}"
    _check_server_view(c, s)
