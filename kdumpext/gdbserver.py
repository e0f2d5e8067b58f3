"""A gdb remote-protocol server over drgn: gdb reads a dump's memory, threads and registers lazily, read-only."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Set, Tuple
from xml.sax.saxutils import escape as _xml_escape, quoteattr as _xml_attr

from .errors import KdumpextError, MemoryNotInDump, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = [
    "PACKET_SIZE",
    "KERNEL_HALF",
    "checksum",
    "frame",
    "escape",
    "unescape",
    "hex_encode",
    "Event",
    "PacketReader",
    "Register",
    "LAYOUTS",
    "PAUTH",
    "layout_of",
    "encode_registers",
    "encode_register",
    "target_description",
    "memory_map_xml",
    "Thread",
    "threads_xml",
    "xfer_slice",
    "parse_thread_id",
    "parse_listen",
    "server_argv",
    "Target",
    "DumpTarget",
    "dump_threads",
    "Server",
    "KEEPALIVE",
    "KEEPALIVE_EVERY",
    "Channel",
    "stdio_channel",
    "socket_channel",
    "serve",
    "server_command",
    "add_arguments",
    "run",
]

#: The largest packet gdb may send or is sent (``qSupported``'s PacketSize): an ``m`` reply of
#: almost 32 KiB in hex fits, so gdb reads about eight pages per round trip.
PACKET_SIZE = 0x10000
#: ``[start, end)`` of what the server can read: the top half of the 64-bit address space,
#: where the kernel lives on x86-64 and arm64.  User addresses are not mapped by the kernel's
#: page tables (the only ones a read here walks), so gdb, told so by the memory map, refuses
#: them without asking.
KERNEL_HALF = (1 << 63, 1 << 64)
#: The error replies: ``E14`` for memory the dump does not hold (14 is EFAULT; gdb reads no
#: meaning into the number and says "Cannot access memory at address ..."), ``E01`` for a
#: malformed packet, a text error for what a dump cannot do (gdb prints it as "Remote failure
#: reply: ..." where it prints anything).
_E_FAULT = b"E14"
_E_BAD = b"E01"
_E_READ_ONLY = b"E.kdumpext gdbserver: a crash dump is read-only and cannot run"
#: What the server sends while it works on a slow answer (opening the dump, unwinding a
#: task): gdb skips anything but ``$`` before a reply and restarts its ``remotetimeout`` at
#: each byte, so it waits instead of giving up after 2 s.
KEEPALIVE = b"\0"
KEEPALIVE_EVERY = 0.5


# -- packets: pure, on bytes ---------------------------------------------------------------


def checksum(payload: bytes) -> int:
    """The RSP checksum of ``payload``: the sum of its bytes modulo 256."""
    return sum(payload) & 0xFF


def frame(payload: bytes) -> bytes:
    """``$payload#cs``.  ``payload`` must already be what goes on the wire (binary data
    :func:`escape`\\ d); replies are never run-length encoded."""
    return b"$" + payload + b"#" + b"%02x" % checksum(payload)


_SPECIAL = frozenset(b"#$}*")


def escape(data: bytes) -> bytes:
    """Binary data as the RSP sends it (``x`` and ``qXfer`` replies): ``#``, ``$``, ``}`` and
    ``*`` become ``}`` followed by the byte XOR 0x20."""
    if not _SPECIAL.intersection(data):
        return data
    out = bytearray()
    for b in data:
        if b in _SPECIAL:
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """The inverse of :func:`escape` (binary data in ``X`` and ``vFile`` packets)."""
    if b"}" not in data:
        return data
    out = bytearray()
    it = iter(data)
    for b in it:
        out.append(next(it, 0x20) ^ 0x20 if b == 0x7D else b)
    return bytes(out)


def hex_encode(data: bytes) -> bytes:
    """``data`` as lowercase hex digits, two per byte (``m`` replies)."""
    return data.hex().encode()


@dataclass(frozen=True)
class Event:
    """One thing read from gdb: ``kind`` is ``packet`` (with its ``payload``), ``ack``
    (``+``), ``nack`` (``-``: send the last reply again), ``interrupt`` (``\\x03``) or
    ``bad`` (a packet whose checksum is wrong)."""

    kind: str
    payload: bytes = b""


class PacketReader:
    """Splits what gdb sends into :class:`Event`\\ s; bytes between packets that mean nothing are dropped."""

    _PACKET = re.compile(rb"\$([^#]*)#([0-9a-fA-F]{2})", re.S)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> List[Event]:
        """The events completed by ``data`` (a packet cut in two waits for its end)."""
        self._buf += data
        out: List[Event] = []
        buf = self._buf
        i = 0
        while i < len(buf):
            c = buf[i:i + 1]
            if c == b"$":
                m = self._PACKET.match(buf, i)
                if m is None:
                    if b"#" in buf[i:] and len(buf) - buf.index(b"#", i) >= 3:
                        i += 1  # a malformed frame: resynchronise at the next byte
                        continue
                    break  # incomplete: keep it for the next feed
                payload = m.group(1)
                ok = int(m.group(2), 16) == checksum(payload)
                out.append(Event("packet" if ok else "bad", payload))
                i = m.end()
                continue
            if c == b"+":
                out.append(Event("ack"))
            elif c == b"-":
                out.append(Event("nack"))
            elif c == b"\x03":
                out.append(Event("interrupt"))
            i += 1
        self._buf = buf[i:]
        return out


# -- registers and target descriptions -----------------------------------------------------


@dataclass(frozen=True)
class Register:
    """One register of a target description, in ``g`` packet order: gdb's ``name``, its size,
    its tdesc type, the feature it belongs to and the drgn register its value comes from
    (None: never known from a dump, sent as unavailable)."""

    name: str
    bits: int
    type: str
    feature: str
    source: Optional[str]
    group: str = ""


def _x86_64_layout() -> Tuple[Register, ...]:
    core, segs, linux = "org.gnu.gdb.i386.core", "org.gnu.gdb.i386.segments", "org.gnu.gdb.i386.linux"
    regs = [Register(n, 64, "data_ptr" if n in ("rbp", "rsp") else "int64", core, n)
            for n in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp")]
    regs += [Register(f"r{n}", 64, "int64", core, f"r{n}") for n in range(8, 16)]
    regs += [Register("rip", 64, "code_ptr", core, "rip"), Register("eflags", 32, "i386_eflags", core, "rflags")]
    regs += [Register(n, 32, "int32", core, n) for n in ("cs", "ss", "ds", "es", "fs", "gs")]
    # the x87 registers are part of gdb's i386 core feature (it refuses a core without them);
    # a dump has none of them
    regs += [Register(f"st{n}", 80, "i387_ext", core, None) for n in range(8)]
    regs += [Register(n, 32, "int", core, None, "float")
             for n in ("fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop")]
    regs += [Register("fs_base", 64, "int", segs, "fs.base"), Register("gs_base", 64, "int", segs, "gs.base")]
    regs += [Register("orig_rax", 64, "int", linux, None)]
    return tuple(regs)


def _aarch64_layout() -> Tuple[Register, ...]:
    core, fpu = "org.gnu.gdb.aarch64.core", "org.gnu.gdb.aarch64.fpu"
    regs = [Register(f"x{n}", 64, "int", core, f"x{n}") for n in range(31)]
    regs += [Register("sp", 64, "data_ptr", core, "sp"), Register("pc", 64, "code_ptr", core, "pc"),
             Register("cpsr", 32, "cpsr_flags", core, "pstate")]
    # the FP/SIMD registers, never in a dump: without them gdb 13 numbers its pseudo registers
    # wrongly once the pauth feature is there (it reads the return-address signing state as q0,
    # and unwinding stops with "not available on integers of more than 8 bytes")
    regs += [Register(f"v{n}", 128, "uint128", fpu, None) for n in range(32)]
    regs += [Register("fpsr", 32, "int", fpu, None), Register("fpcr", 32, "int", fpu, None)]
    return tuple(regs)


#: Register layout per architecture (kdumpext's names, :attr:`kdumpext.arch.Arch.name`): the
#: registers of gdb's ``features/i386/64bit-core.xml`` (+ ``64bit-segments.xml``,
#: ``64bit-linux.xml``) and ``features/aarch64-core.xml`` (+ ``aarch64-fpu.xml``), in that order.
LAYOUTS: Dict[str, Tuple[Register, ...]] = {"x86_64": _x86_64_layout(), "arm64": _aarch64_layout()}
#: arm64 with pointer authentication: gdb's ``features/aarch64-pauth.xml``.  The masks tell gdb
#: which bits of a return address saved on the stack are its PAC, to be cut off while it
#: unwinds (from VMCOREINFO's KERNELPACMASK, the same for every thread).
PAUTH = (Register("pauth_dmask", 64, "int", "org.gnu.gdb.aarch64.pauth", "pauth_dmask"),
         Register("pauth_cmask", 64, "int", "org.gnu.gdb.aarch64.pauth", "pauth_cmask"))


def layout_of(arch: str, pac_mask: int = 0) -> Tuple[Register, ...]:
    """The registers a dump of ``arch`` is described with: :data:`LAYOUTS`, and on arm64 with
    a pointer-authentication mask (``pac_mask`` not 0) :data:`PAUTH` after them.

    :raises KeyError: an architecture the server does not describe.
    """
    return LAYOUTS[arch] + (PAUTH if arch == "arm64" and pac_mask else ())


#: The program counter's drgn name per architecture (drgn's frame registers may lack it).
_PC = {"x86_64": "rip", "arm64": "pc"}
_GDB_ARCH = {"x86_64": "i386:x86-64", "arm64": "aarch64"}
#: The flags types the layouts name (gdb's 64bit-core.xml and aarch64-core.xml): size in
#: bytes, then (field, first bit, last bit).
_FLAGS: Dict[str, Tuple[int, Tuple[Tuple[str, int, int], ...]]] = {
    "i386_eflags": (4, (("CF", 0, 0), ("", 1, 1), ("PF", 2, 2), ("AF", 4, 4), ("ZF", 6, 6), ("SF", 7, 7),
                        ("TF", 8, 8), ("IF", 9, 9), ("DF", 10, 10), ("OF", 11, 11), ("NT", 14, 14), ("RF", 16, 16),
                        ("VM", 17, 17), ("AC", 18, 18), ("VIF", 19, 19), ("VIP", 20, 20), ("ID", 21, 21))),
    "cpsr_flags": (4, (("SP", 0, 0), ("EL", 2, 3), ("nRW", 4, 4), ("F", 6, 6), ("I", 7, 7), ("A", 8, 8),
                       ("D", 9, 9), ("BTYPE", 10, 11), ("SSBS", 12, 12), ("IL", 20, 20), ("SS", 21, 21),
                       ("PAN", 22, 22), ("UAO", 23, 23), ("DIT", 24, 24), ("TCO", 25, 25), ("V", 28, 28),
                       ("C", 29, 29), ("Z", 30, 30), ("N", 31, 31))),
}


def encode_register(reg: Register, value: Optional[int]) -> bytes:
    """``reg``'s value as the ``g``/``p`` packets send it: little-endian hex, or ``xx`` per
    byte when ``value`` is None (gdb shows ``<unavailable>``)."""
    size = reg.bits // 8
    if value is None:
        return b"xx" * size
    return hex_encode((value & ((1 << reg.bits) - 1)).to_bytes(size, "little"))


def encode_registers(layout: Sequence[Register], values: Mapping[str, int]) -> bytes:
    """The ``g`` reply: every register of ``layout`` from ``values`` (drgn's names)."""
    return b"".join(encode_register(r, values.get(r.source) if r.source else None) for r in layout)


def target_description(arch: str, layout: Optional[Sequence[Register]] = None) -> str:
    """``target.xml`` for ``arch`` (``x86_64`` or ``arm64``): the architecture and the
    registers of ``layout`` (default :data:`LAYOUTS`), one feature element per gdb feature.

    :raises KeyError: an architecture the server does not describe.
    """
    layout = LAYOUTS[arch] if layout is None else layout
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">', "<target>",
             f"  <architecture>{_GDB_ARCH[arch]}</architecture>"]
    features: List[str] = []
    for r in layout:
        if r.feature not in features:
            features.append(r.feature)
    regnum = 0
    for feature in features:
        lines.append(f'  <feature name="{feature}">')
        regs = [r for r in layout if r.feature == feature]
        for flags in sorted({r.type for r in regs if r.type in _FLAGS}):
            size, fields = _FLAGS[flags]
            lines.append(f'    <flags id="{flags}" size="{size}">')
            for name, start, end in fields:
                lines.append(f'      <field name="{name}" start="{start}" end="{end}"/>')
            lines.append("    </flags>")
        for r in regs:
            group = f' group="{r.group}"' if r.group else ""
            lines.append(f'    <reg name="{r.name}" bitsize="{r.bits}" type="{r.type}" regnum="{regnum}"{group}/>')
            regnum += 1
        lines.append("  </feature>")
    lines.append("</target>")
    return "\n".join(lines) + "\n"


def memory_map_xml(ranges: Sequence[Tuple[int, int]]) -> str:
    """``qXfer:memory-map:read``: each ``[start, end)`` a ``ram`` region (an ``end`` of 2**64
    makes a length that reaches the top of the address space)."""
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE memory-map PUBLIC "+//IDN gnu.org//DTD GDB Memory Map V1.0//EN" '
             '"http://sourceware.org/gdb/gdb-memory-map.dtd">', "<memory-map>"]
    lines += [f'  <memory type="ram" start="{a:#x}" length="{b - a:#x}"/>' for a, b in ranges]
    lines.append("</memory-map>")
    return "\n".join(lines) + "\n"


# -- threads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    """A task as gdb sees it: ``tid`` is its thread id (the pid; CPU N's idle task, pid 0
    on every CPU, is ``IDLE_LWP_BASE + N`` as in :mod:`kdumpext.gdbcore`'s cores)."""

    tid: int
    pid: int
    name: str  # comm; ``swapper/N`` for CPU N's idle task, as crash names it
    cpu: Optional[int]  # the CPU it ran on last (task_cpu), None if unreadable
    state: str  # "crashed", "running" (on its CPU at the crash) or "" (switched out)
    task: int  # ``struct task_struct *``

    @property
    def extra(self) -> str:
        """What ``info threads`` shows in parentheses: pid, CPU, crashed or running."""
        words = [f"pid {self.pid}"] + ([f"CPU {self.cpu}"] if self.cpu is not None else []) + \
            ([self.state] if self.state else [])
        return ", ".join(words)


def threads_xml(threads: Sequence[Thread]) -> str:
    """``qXfer:threads:read``: each thread's id (hex), name, core and extra text."""
    lines = ['<?xml version="1.0"?>', "<threads>"]
    for t in threads:
        core = f' core="{t.cpu}"' if t.cpu is not None else ""
        lines.append(f'  <thread id="{t.tid:x}"{core} name={_xml_attr(t.name)}>{_xml_escape(t.extra)}</thread>')
    lines.append("</threads>")
    return "\n".join(lines) + "\n"


def xfer_slice(data: bytes, offset: int, length: int) -> bytes:
    """A ``qXfer`` reply: ``m`` + the escaped bytes when more follow, ``l`` + them at the end."""
    part = data[offset:offset + length]
    more = offset + length < len(data)
    return (b"m" if more else b"l") + escape(part)


def parse_thread_id(text: bytes) -> int:
    """A thread id of ``Hg``/``T``/...: hex, ``-1`` (all), ``0`` (any), or ``pPID.TID``
    (multiprocess form; the TID is taken).

    :raises ValueError: not a thread id.
    """
    if text.startswith(b"p"):
        text = text.split(b".", 1)[1] if b"." in text else b"-1"
    return -1 if text == b"-1" else int(text, 16)


_LISTEN = re.compile(r"^(?:(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:]*)):)?(?P<port>\d+)$")


def parse_listen(text: str) -> Tuple[str, int]:
    """``[HOST:]PORT`` (``[V6ADDR]:PORT`` too) -> ``(host, port)``; the host is 127.0.0.1
    unless given (port 0: any free one).

    :raises UsageError: anything else.
    """
    m = _LISTEN.match(text.strip())
    port = int(m.group("port")) if m else -1
    if m is None or port > 65535:
        raise UsageError(f"--listen {text}: want [HOST:]PORT, e.g. 1234 or 127.0.0.1:1234 (port 0..65535)")
    return m.group("v6") or m.group("host") or "127.0.0.1", port


# -- the dump side -----------------------------------------------------------------------------


class Target(Protocol):
    """What :class:`Server` answers from (:class:`DumpTarget` is the one over a dump)."""

    arch: str
    layout: Tuple[Register, ...]  # the registers, in g packet order (:func:`layout_of`)

    def threads(self) -> List[Thread]:
        """Every thread, the crashed one first."""

    def thread(self, tid: int) -> Optional[Thread]:
        """The thread with id ``tid``, None if there is none."""

    def registers(self, tid: int) -> Dict[str, int]:
        """Thread ``tid``'s registers, drgn's names; what is not known is absent."""

    def read(self, address: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``address``: fewer when the dump lacks what follows.

        :raises MemoryNotInDump: not even the first byte is in the dump.
        """

    def memory_map(self) -> List[Tuple[int, int]]:
        """``[start, end)`` ranges gdb may ask for."""


def dump_threads(prog: "drgn.Program") -> List[Thread]:
    """The dump's tasks as threads (:func:`kdumpext.gdbcore.tasks_in_order`, idle tasks
    included): the crashed task, each CPU's current task, each CPU's idle task, then every
    other task.  No stack is unwound: the cost is a few reads per task.

    A task list broken in the dump keeps the threads found before the break.
    """
    import drgn
    from drgn.helpers.linux.sched import task_cpu

    from .gdbcore import IDLE_LWP_BASE, tasks_in_order

    out: List[Thread] = []
    tids: Set[int] = set()
    state = {"crashed": "crashed", "current": "running"}
    for task, role, cpu in tasks_in_order(prog, idle=True):
        try:
            pid = int(task.pid)
            if cpu is None:
                try:
                    cpu = int(task_cpu(task))
                except (drgn.FaultError, LookupError):
                    cpu = None
            if pid == 0 or role == "idle":
                tid, name = IDLE_LWP_BASE + (cpu or 0), f"swapper/{cpu or 0}"
            else:
                tid, name = pid, task.comm.string_().decode(errors="replace")
            addr = int(task.value_())
        except (drgn.FaultError, LookupError, ValueError):
            continue
        if tid in tids:
            continue  # two tasks claiming one id (idle tasks of one CPU): keep the first
        tids.add(tid)
        out.append(Thread(tid, pid, name, cpu, state.get(role, ""), addr))
    return out


class DumpTarget:
    """A dump through drgn, as :class:`Server` asks for it: threads listed once, each
    thread's registers found when gdb first asks (one unwind), memory read on demand."""

    def __init__(self, prog: "drgn.Program") -> None:
        """:raises UsageError: a dump of an architecture the server does not describe."""
        from .arch import arch_of
        from .context import pac_mask

        self.prog = prog
        self.arch = arch_of(prog).name
        if self.arch not in LAYOUTS:
            raise UsageError(f"kdumpext gdbserver serves x86-64 and arm64 dumps, not {self.arch}")
        self.pac_mask = pac_mask(prog) if self.arch == "arm64" else 0
        self.layout = layout_of(self.arch, self.pac_mask)
        self._threads: Optional[List[Thread]] = None
        self._by_tid: Dict[int, Thread] = {}
        self._regs: Dict[int, Dict[str, int]] = {}

    def threads(self) -> List[Thread]:
        if self._threads is None:
            self._threads = dump_threads(self.prog)
            self._by_tid = {t.tid: t for t in self._threads}
        return self._threads

    def thread(self, tid: int) -> Optional[Thread]:
        """The thread with id ``tid``, None if there is none."""
        self.threads()
        return self._by_tid.get(tid)

    def registers(self, tid: int) -> Dict[str, int]:
        """drgn's registers of the thread's innermost frame: under kdump the exception frame
        for the crashed task, each CPU's saved registers for running tasks, the context
        ``switch_to`` saved for the others.  Empty when drgn cannot find them."""
        if tid not in self._regs:
            self._regs[tid] = self._find_registers(tid)
        return self._regs[tid]

    def _find_registers(self, tid: int) -> Dict[str, int]:
        import drgn

        t = self.thread(tid)
        if t is None:
            return {}
        try:
            if t.state == "crashed":
                trace = self.prog.crashed_thread().stack_trace()
            else:
                trace = self.prog.stack_trace(drgn.Object(self.prog, "struct task_struct *", t.task))
            top = trace[0]
            regs = {k: int(v) for k, v in top.registers().items()}
            regs.setdefault(_PC[self.arch], int(top.pc))  # drgn's arm64 frames name no pc register
        except (drgn.FaultError, ValueError, LookupError, IndexError):
            return {}
        if self.pac_mask:
            regs["pauth_dmask"] = regs["pauth_cmask"] = self.pac_mask
        return regs

    def read(self, address: int, size: int) -> bytes:
        import drgn

        size = max(0, min(size, (1 << 64) - address))
        if size == 0:
            return b""
        try:
            return self.prog.read(address, size, False)
        except drgn.FaultError as e:
            fault = e.address
        except (ValueError, OverflowError):
            raise MemoryNotInDump(address) from None
        if address < fault < address + size:
            try:
                return self.prog.read(address, fault - address, False)
            except drgn.FaultError:
                pass
        # the fault was reported elsewhere (a page table, not the data): what reads page by page
        out = b""
        pos = address
        while pos < address + size:
            n = min(_PAGE - pos % _PAGE, address + size - pos)
            try:
                out += self.prog.read(pos, n, False)
            except drgn.FaultError:
                break
            pos += n
        if not out:
            raise MemoryNotInDump(address)
        return out

    def memory_map(self) -> List[Tuple[int, int]]:
        return [KERNEL_HALF]


_PAGE = 4096


# -- the protocol ------------------------------------------------------------------------------


class Server:
    """The GDB Remote Serial Protocol, read-only, over a :class:`Target`: :meth:`handle`
    takes one packet's payload and gives the reply's (None: send nothing).

    What it answers: ``qSupported``, ``QStartNoAckMode``, ``?``, ``qfThreadInfo`` /
    ``qsThreadInfo``, ``qXfer`` of ``features`` (target.xml), ``memory-map`` and ``threads``,
    ``Hg``/``Hc``, ``T``, ``g``, ``p``, ``m``, ``x``, ``qAttached``, ``qC``,
    ``qThreadExtraInfo``, ``D`` and ``k`` (then :attr:`done`).  Writes, breakpoints and
    resuming get an error reply; anything else an empty one (not supported).
    """

    def __init__(self, target: Target, packet_size: int = PACKET_SIZE) -> None:
        self.target = target
        self.packet_size = packet_size
        self.no_ack = False  # set once the reply to QStartNoAckMode is sent
        self.done = False  # D or k: the connection ends
        self._general = 0  # Hg: the thread g, p read (0: the first thread)
        self._listed = 0  # qsThreadInfo's place in the thread list
        self._xml: Dict[str, bytes] = {}

    # the replies -------------------------------------------------------------------------

    def handle(self, packet: bytes) -> Optional[bytes]:
        """The reply to ``packet`` (its payload, without ``$``/``#``), None for none."""
        try:
            return self._dispatch(packet)
        except MemoryNotInDump:
            return _E_FAULT
        except (ValueError, IndexError):
            return _E_BAD  # a malformed packet

    def _dispatch(self, p: bytes) -> Optional[bytes]:
        head = p[:1]
        if p.startswith(b"qSupported"):
            return (f"PacketSize={self.packet_size:x};qXfer:features:read+;qXfer:memory-map:read+;"
                    "qXfer:threads:read+;QStartNoAckMode+;binary-upload+").encode()
        if p == b"QStartNoAckMode":
            return b"OK"
        if p == b"?":
            return b"T05thread:%x;" % self._first_tid()
        if p.startswith(b"qXfer:"):
            return self._xfer(p)
        if p == b"qfThreadInfo":
            self._listed = 0
            return self._thread_info()
        if p == b"qsThreadInfo":
            return self._thread_info()
        if p.startswith(b"qThreadExtraInfo,"):
            t = self._thread(parse_thread_id(p.split(b",", 1)[1]))
            return hex_encode(t.extra.encode()) if t else _E_BAD
        if p == b"qAttached" or p.startswith(b"qAttached:"):
            return b"1"  # as if attached: gdb detaches on quit instead of killing
        if p == b"qC":
            return b"QC%x" % self._first_tid()
        if head == b"H" and p[1:2] in (b"g", b"c"):
            tid = parse_thread_id(p[2:])
            if tid > 0 and self._thread(tid) is None:
                return _E_BAD
            if p[1:2] == b"g":
                self._general = tid if tid > 0 else 0
            return b"OK"
        if head == b"T":
            return b"OK" if self._thread(parse_thread_id(p[1:])) is not None else _E_BAD
        if p == b"g":
            return encode_registers(self.target.layout, self._registers())
        if head == b"p":
            n = int(p[1:].split(b";", 1)[0], 16)
            layout = self.target.layout
            if n >= len(layout):
                return _E_BAD
            reg = layout[n]
            return encode_register(reg, self._registers().get(reg.source) if reg.source else None)
        if head in (b"m", b"x"):
            addr, size = (int(v, 16) for v in p[1:].split(b",", 1))
            if size == 0:
                return b"b" if head == b"x" else b""
            data = self.target.read(addr, min(size, self._max_read()))
            return hex_encode(data) if head == b"m" else b"b" + escape(data)
        if head == b"D":
            self.done = True
            return b"OK"
        if head == b"k" or p.startswith(b"vKill"):
            self.done = True
            return None if head == b"k" else b"OK"
        if head in (b"M", b"X", b"G", b"P", b"Z", b"z", b"c", b"C", b"s", b"S", b"i", b"I", b"R") or \
                (p.startswith(b"vCont") and p != b"vCont?") or p.startswith((b"vRun", b"vAttach")):
            return _E_READ_ONLY
        return b""  # vMustReplyEmpty, vCont?, qTStatus, qSymbol, qOffsets, ...: not supported

    def _max_read(self) -> int:
        """The most bytes one ``m`` (hex: two characters a byte) or ``x`` reply holds
        (escaping may double a byte: half the packet)."""
        return (self.packet_size - 8) // 2

    def _first_tid(self) -> int:
        threads = self.target.threads()
        return threads[0].tid if threads else 1

    def _thread(self, tid: int) -> Optional[Thread]:
        if tid in (0, -1):
            threads = self.target.threads()
            return threads[0] if threads else None
        return self.target.thread(tid)

    def _registers(self) -> Dict[str, int]:
        t = self._thread(self._general)
        return self.target.registers(t.tid) if t is not None else {}

    def _thread_info(self) -> bytes:
        threads = self.target.threads()
        if self._listed >= len(threads):
            return b"l"
        ids: List[bytes] = []
        size = 1
        while self._listed < len(threads):
            one = b"%x" % threads[self._listed].tid
            if size + len(one) + 1 > self.packet_size - 8:
                break
            ids.append(one)
            size += len(one) + 1
            self._listed += 1
        return b"m" + b",".join(ids)

    def _xfer(self, p: bytes) -> bytes:
        # qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH
        parts = p.split(b":", 4)
        if len(parts) != 5 or parts[2] != b"read":
            return b""
        obj, annex = parts[1].decode(), parts[3].decode()
        offset, length = (int(v, 16) for v in parts[4].split(b",", 1))
        if obj == "features":
            if annex != "target.xml":
                return b"E00"
            data = self._cached(obj, lambda: target_description(self.target.arch, self.target.layout))
        elif obj == "memory-map":
            data = self._cached(obj, lambda: memory_map_xml(self.target.memory_map()))
        elif obj == "threads":
            data = self._cached(obj, lambda: threads_xml(self.target.threads()))
        else:
            return b""
        return xfer_slice(data, offset, min(length, (self.packet_size - 8) // 2))

    def _cached(self, name: str, make: Callable[[], str]) -> bytes:
        if name not in self._xml:
            self._xml[name] = make().encode()
        return self._xml[name]


# -- transport ---------------------------------------------------------------------------------


class Channel:
    """Bytes to and from gdb (a pipe pair or a socket): ``recv()`` gives b"" once gdb is gone;
    writes are serialised; while a reply is being worked on (:meth:`busy`) for longer than
    :data:`KEEPALIVE_EVERY` since the last write, a :data:`KEEPALIVE` byte is sent."""

    def __init__(self, recv: Callable[[], bytes], send: Callable[[bytes], None]) -> None:
        self._recv, self._send = recv, send
        self._lock = threading.Lock()
        self._busy = False
        self._last_write = time.monotonic()
        self._closed = False
        self._ticker = threading.Thread(target=self._tick, name="kdumpext-gdbserver-keepalive", daemon=True)
        self._ticker.start()

    def recv(self) -> bytes:
        """What gdb sent next (b"": it went away)."""
        return self._recv()

    def send(self, data: bytes) -> None:
        """Send ``data`` (a whole packet, an ack)."""
        with self._lock:
            self._send(data)
            self._last_write = time.monotonic()

    def busy(self, on: bool) -> None:
        """Mark a reply as being worked on (``on``) or sent."""
        with self._lock:
            self._busy = on

    def close(self) -> None:
        """Stop the keep-alive thread."""
        self._closed = True

    def _tick(self) -> None:
        while not self._closed:
            time.sleep(KEEPALIVE_EVERY / 2)
            with self._lock:
                now = time.monotonic()
                if self._busy and now - self._last_write >= KEEPALIVE_EVERY:
                    try:
                        self._send(KEEPALIVE)
                    except OSError:
                        return
                    self._last_write = now


def serve(make_target: Callable[[], Target], channel: Channel) -> None:
    """Answer gdb on ``channel`` until it detaches, kills or goes away.  ``make_target``
    (opening the dump) is called before the first packet is read, while keep-alive bytes
    hold gdb's patience.

    :raises KdumpextError: from ``make_target``.
    """
    channel.busy(True)
    try:
        target = make_target()
    finally:
        channel.busy(False)
    server = Server(target)
    reader = PacketReader()
    last = b""
    while not server.done:
        data = channel.recv()
        if not data:
            break  # gdb went away
        for ev in reader.feed(data):
            if ev.kind == "nack" and not server.no_ack and last:
                channel.send(last)
            elif ev.kind == "bad" and not server.no_ack:
                channel.send(b"-")
            elif ev.kind == "packet":
                if not server.no_ack:
                    channel.send(b"+")
                channel.busy(True)
                try:
                    reply = server.handle(ev.payload)
                except Exception as e:  # noqa: BLE001 - one bad answer must not end the session
                    print(f"kdumpext gdbserver: {ev.payload[:40]!r}: {type(e).__name__}: {e}", file=sys.stderr)
                    reply = _E_BAD
                if reply is not None:
                    last = frame(reply)
                    channel.send(last)
                channel.busy(False)
                if ev.payload == b"QStartNoAckMode":
                    server.no_ack = True
                if server.done:
                    break
    channel.close()


def stdio_channel() -> Channel:
    """gdb's pipe (``target remote |``): stdin and the original stdout; fd 1 then points at
    stderr, so that nothing printed by accident (a library's warning) lands in the protocol."""
    out = os.dup(1)
    os.dup2(2, 1)

    def recv() -> bytes:
        try:
            return os.read(0, 1 << 16)
        except OSError:
            return b""

    def send(data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(out, view)
            view = view[n:]

    return Channel(recv, send)


def socket_channel(conn: socket.socket) -> Channel:
    """A connected socket (``--listen``)."""

    def recv() -> bytes:
        try:
            return conn.recv(1 << 16)
        except OSError:
            return b""

    return Channel(recv, conn.sendall)


# -- the ``kdumpext gdbserver`` subcommand -----------------------------------------------------


def server_argv(python: Sequence[str], dump: str, vmlinux: Optional[str], debug_dirs: Sequence[str]) -> List[str]:
    """The command line that runs this server on ``dump``; ``python`` is how to start the
    Python that has kdumpext (e.g. ``["/venv/bin/python"]``)."""
    argv = list(python) + ["-m", "kdumpext.cli", "gdbserver", dump]
    if vmlinux:
        argv += ["--vmlinux", vmlinux]
    for d in debug_dirs:
        argv += ["--debug-dir", d]
    return argv


def server_command(python: Sequence[str], dump: str, vmlinux: Optional[str], debug_dirs: Sequence[str]) -> str:
    """The shell command that runs this server on ``dump`` over stdin/stdout (what follows
    ``target remote |`` in gdb; :func:`server_argv`).  ``exec`` leaves no shell between gdb
    and the server."""
    return "exec " + " ".join(shlex.quote(a) for a in server_argv(python, dump, vmlinux, debug_dirs))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kdumpext gdbserver``."""
    from .options import add_debug_args

    parser.add_argument("dump", help="vmcore / dump.<stamp> (kdump-compressed, ELF or flattened; .xz/.gz too)")
    add_debug_args(parser)
    parser.add_argument("--listen", metavar="[HOST:]PORT",
                        help="serve one gdb on this TCP port instead of stdin/stdout (host 127.0.0.1 unless "
                             "given; port 0 picks a free one); the address is printed on stderr once the dump is open")
    parser.add_argument("--socket", metavar="PATH",
                        help="serve one gdb on a Unix socket made at PATH (only its owner may connect; removed once "
                             "gdb is connected), opening the dump meanwhile: gdb's `target remote unix::PATH` (what "
                             "`kdump open` does, so that the dump opens while gdb reads the symbols)")
    parser.add_argument("--gdb-commands", action="store_true",
                        help="print the gdb commands that load vmlinux and the modules at their addresses and "
                             "connect to this server, then exit")
    parser.description = (
        "Serve a kernel dump to gdb over the GDB remote protocol, read-only: memory is read from the dump as gdb "
        "asks for it (nothing is written to disk), every task is a thread with its registers, the crashed task "
        "first. In gdb: `target remote | kdumpext gdbserver DUMP` after loading vmlinux at its KASLR offset and "
        "the modules at their addresses (--gdb-commands prints the commands that do it all); `kdump open DUMP` "
        "in kdumpext's gdb front-end does it for you.")


def _open_target(args: argparse.Namespace) -> Callable[[], DumpTarget]:
    def make() -> DumpTarget:
        from .dump import open_dump

        opened = open_dump(args.dump, args.vmlinux, args.debug_dir)
        for warning in opened.warnings:
            print(f"kdumpext gdbserver: {warning}", file=sys.stderr)
        return DumpTarget(opened.prog)
    return make


def _gdb_commands(args: argparse.Namespace) -> List[str]:
    from .dump import open_dump
    from .gdbcore import symbol_commands

    opened = open_dump(args.dump, args.vmlinux, args.debug_dir)
    DumpTarget(opened.prog)  # refuses an architecture it cannot serve
    python = [sys.executable] + (["-P"] if sys.version_info >= (3, 11) else [])
    return symbol_commands(opened) + [
        "target remote | " + server_command(python, os.path.abspath(args.dump), os.path.abspath(opened.info.vmlinux),
                                            [os.path.abspath(d) for d in args.debug_dir])]


#: How long a ``--socket`` server waits for gdb to connect before it gives up.
ACCEPT_SECONDS = 600.0


def _serve_unix(path: str, make: Callable[[], DumpTarget], wait: float = ACCEPT_SECONDS) -> None:
    """``--socket PATH``: bind at once, open the dump in a thread while waiting for gdb (the
    keep-alives of :func:`serve` cover what is left of the open once it connects), remove the
    socket when gdb is in, serve it."""
    result: Dict[str, Any] = {}

    def open_now() -> None:
        try:
            result["target"] = make()
        except BaseException as e:  # noqa: BLE001 - handed to the connected gdb's session below
            result["error"] = e

    opener = threading.Thread(target=open_now, name="kdumpext-open", daemon=True)
    opener.start()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as lsock:
            old = os.umask(0o177)  # the socket file rw for its owner only
            try:
                lsock.bind(path)
            finally:
                os.umask(old)
            try:
                lsock.listen(1)
                lsock.settimeout(wait)
                conn, _peer = lsock.accept()
            finally:
                try:
                    os.unlink(path)
                except OSError:
                    pass
    except socket.timeout:
        raise KdumpextError(f"--socket {path}: no gdb connected within {wait:.0f} s") from None
    except OSError as e:
        raise KdumpextError(f"--socket {path}: {e.strerror or e}") from None

    def target() -> DumpTarget:
        opener.join()
        if "error" in result:
            raise result["error"]
        return result["target"]

    with conn:
        serve(target, socket_channel(conn))


def run(args: argparse.Namespace) -> int:
    """``kdumpext gdbserver``: serve gdb on stdin/stdout, or on ``--listen``'s TCP port."""
    if args.gdb_commands:
        print("\n".join(_gdb_commands(args)))
        return 0
    make = _open_target(args)
    if args.socket is not None:
        _serve_unix(args.socket, make)
        return 0
    if args.listen is None:
        if os.isatty(0):
            raise UsageError("stdin is a terminal: start it from gdb (`target remote | kdumpext gdbserver DUMP`), "
                             "or serve on a TCP port with --listen PORT")
        serve(make, stdio_channel())
        return 0
    host, port = parse_listen(args.listen)
    target = make()  # open the dump first: gdb connects to a server that answers at once
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
        family, kind, proto, _name, addr = infos[0]
        with socket.socket(family, kind, proto) as lsock:
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.bind(addr)
            lsock.listen(1)
            bound = lsock.getsockname()
            shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            print(f"kdumpext gdbserver: listening on {shown}:{bound[1]} (gdb: target remote {shown}:{bound[1]})",
                  file=sys.stderr, flush=True)
            conn, _peer = lsock.accept()
    except OSError as e:
        raise KdumpextError(f"--listen {args.listen}: {e.strerror or e}") from None
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        serve(lambda: target, socket_channel(conn))
    return 0
