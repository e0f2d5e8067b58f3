"""Parse the kernel's oops report out of dmesg text: title, fault address, RIP, registers, Code:, trace."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from .model import Access

__all__ = ["Oops", "TraceEntry", "parse_oops", "panic_line", "strip_timestamps", "iter_lines"]

# Every pattern here matches a line the kernel prints with a fixed printk format
# (arch/x86/mm/fault.c, arch/x86/kernel/dumpstack.c, process_64.c, kernel/panic.c).
_TS = re.compile(r"^\s*(?:<\d+>)?(?:\[\s*\d+\.\d+\]\s?)?(?:\[\s*[CT]\d+\]\s?)?")
_TITLES = (
    re.compile(r"^BUG: kernel NULL pointer dereference, address: (?P<addr>[0-9a-f]+)"),
    re.compile(r"^BUG: unable to handle page fault for address: (?P<addr>[0-9a-f]+)"),
    re.compile(r"^BUG: unable to handle kernel paging request at (?P<addr>[0-9a-f]+)"),
    re.compile(r"^general protection fault(?:, probably for non-canonical address (?P<addr>0x[0-9a-f]+))?"),
    re.compile(r"^kernel BUG at (?P<file>[^:]+):(?P<line>\d{1,10})!"),
    re.compile(r"^WARNING: CPU: \d+ PID: \d+ at (?P<file>[^:]+):(?P<line>\d{1,10}) "),
    re.compile(r"^invalid opcode: \d+"),
    re.compile(r"^BUG: kernel NULL pointer dereference"),
    re.compile(r"^(?:BUG|WARNING): .*"),
    re.compile(r"^Oops: .*"),
)
_PF = re.compile(r"^#PF: (?P<who>supervisor|user) (?P<what>read access|write access|instruction fetch) in (?P<mode>kernel|user) mode")
_PF_CODE = re.compile(r"^#PF: error_code\((?P<code>0x[0-9a-f]+)\)")
_OOPS = re.compile(r"^(?P<line>Oops: [0-9a-f]+ \[#\d+\].*|invalid opcode: [0-9a-f]+ \[#\d+\].*|general protection fault.*\[#\d+\].*)")
_CPU = re.compile(r"^CPU: (?P<cpu>\d{1,10}) PID: (?P<pid>\d{1,10}) Comm: (?P<comm>.{1,16}?) (?:Kdump: \S+ )?(?:Tainted: (?P<taint>.*?)|Not tainted) +(?P<release>\S+) #")
_RIP = re.compile(r"^RIP: (?P<cs>[0-9a-f]{4}):(?:(?P<sym>[\w.$]+)\+(?P<off>0x[0-9a-f]+)/(?P<size>0x[0-9a-f]+)(?: \[(?P<mod>\w+)\])?|(?P<addr>0x[0-9a-f]+))")
# x86 prints bytes ("48 8b <80> 40 02"); arm64 32-bit words ("f9400000 (b9400000)"), arm and
# RISC-V 16-bit halfwords: all in the order they sit in memory, little-endian words
_CODE_TOKEN = r"[<(]?(?:[0-9a-f]{2}){1,4}[>)]?"
_CODE = re.compile(rf"^Code: (?P<bytes>{_CODE_TOKEN}(?: +{_CODE_TOKEN})*)\s*$")
_REG = re.compile(r"\b(?P<name>R[A-Z0-9]{2}|R\d{1,2}|EFLAGS|CR2): (?:(?P<seg>[0-9a-f]{4}):)?(?P<val>[0-9a-f]{8,16})")
_TRACE = re.compile(r"^(?P<unreliable>\? )?(?P<sym>[\w.$]+)\+(?P<off>0x[0-9a-f]+)/(?P<size>0x[0-9a-f]+)(?: \[(?P<mod>\w+)\])?")
_CR2_ALONE = re.compile(r"^CR2: (?P<val>[0-9a-f]{16})\s*$")
_PANIC = re.compile(r"^Kernel panic - not syncing: (?P<msg>.*)")


@dataclass
class TraceEntry:
    """One ``func+0x1f/0x30 [mod]`` line of a call trace; ``reliable`` is False for ``? `` lines."""

    function: str
    offset: int
    size: int
    module: str = ""
    reliable: bool = True


@dataclass
class Oops:
    """The first oops in a kernel log, as the kernel printed it."""

    title: str = ""
    fault_address: Optional[int] = None  # from the title, else the trailing "CR2:" line
    pf_access: Access = ""  # "read", "write", "exec" from "#PF: supervisor ... access"
    pf_error_code: Optional[int] = None
    oops_line: str = ""  # "Oops: 0000 [#1] SMP"
    bug_file: str = ""  # "kernel BUG at FILE:LINE!"
    bug_line: int = 0
    cpu: Optional[int] = None
    pid: Optional[int] = None
    comm: str = ""
    taint: str = ""
    release: str = ""
    rip_function: str = ""
    rip_offset: int = 0
    rip_module: str = ""
    rip_address: Optional[int] = None  # only when the kernel printed a bare address
    code: bytes = b""
    code_fault_index: Optional[int] = None  # index in ``code`` of the ``<..>`` byte
    registers: Dict[str, int] = field(default_factory=dict)  # drgn register names
    trace: List[TraceEntry] = field(default_factory=list)
    panic: str = ""


def strip_timestamps(line: str) -> str:
    """``[    2.34] BUG: ...`` -> ``BUG: ...`` (also printk caller ids and log levels)."""
    return _TS.sub("", line, count=1).rstrip()


def iter_lines(text: str) -> Iterator[str]:
    """The lines of ``text``, one at a time: a 32 MiB log is never held as a list of lines
    (``\r`` before the ``\n`` is left to :func:`strip_timestamps`)."""
    pos, n = 0, len(text)
    while pos < n:
        end = text.find("\n", pos)
        if end < 0:
            end = n
        yield text[pos:end]
        pos = end + 1


def _first_panic(lines: Iterable[str]) -> str:
    for raw in lines:
        if "Kernel panic - not syncing:" in raw:  # the regex only for the lines that can match
            m = _PANIC.match(strip_timestamps(raw))
            if m:
                return m.group("msg").strip()
    return ""


def panic_line(text: str) -> str:
    """The message of the first ``Kernel panic - not syncing:`` line, "" if none."""
    return _first_panic(iter_lines(text))


#: Words one of the :data:`_TITLES` has: a line without any is not matched against them all.
_TITLE_HINT = re.compile(r"BUG|WARNING|general protection fault|invalid opcode|Oops")
#: Lines after the title read for the report; a report is a few hundred, a log that never
#: ends one (a flood of garbage after the title) is not read to its end.
_MAX_REPORT_LINES = 5000


_REG_NAMES = {"EFLAGS": "rflags"}
_PF_ACCESS: Dict[str, Access] = {"read access": "read", "write access": "write", "instruction fetch": "exec"}


def _parse_code(text: str) -> Tuple[bytes, Optional[int]]:
    """``48 8b <80> 40`` (bytes) or ``f9400000 (b9400000)`` (little-endian words) -> the bytes,
    and the index of the marked one (the faulting instruction's first byte); nothing for a
    line that mixes widths."""
    out = bytearray()
    marker = None
    width = 0
    for tok in text.split():
        digits = tok.strip("<>()")
        if width and len(digits) != width:
            return b"", None
        width = len(digits)
        if tok.startswith("<") or tok.startswith("("):
            marker = len(out)
        out += int(digits, 16).to_bytes(width // 2, "little")
    return bytes(out), marker


def _u64(text: str) -> Optional[int]:
    """Hex ``text`` as a number, None when it does not fit 64 bits (a garbled log line)."""
    value = int(text, 16)
    return value if value < 1 << 64 else None


def parse_oops(text: str) -> Optional[Oops]:
    """Parse the first oops (or BUG, or GPF) in ``text``; None if there is none.

    Pure function over dmesg text, with or without timestamps.  The fault address
    comes from the title line or the standalone ``CR2:`` line after the trace, never
    from the register dump's ``CR2:``, which show_regs() reads live and which a failed
    ``Code:`` read can already have overwritten.
    """
    raw_lines = iter_lines(text)
    start = None
    oops = Oops()
    for raw in raw_lines:
        if not _TITLE_HINT.search(raw):
            continue
        line = strip_timestamps(raw)
        for pat in _TITLES:
            m = pat.match(line)
            if m:
                start = line
                oops.title = line
                gd = m.groupdict()
                if gd.get("addr"):
                    oops.fault_address = _u64(gd["addr"])
                if gd.get("file"):
                    oops.bug_file, oops.bug_line = gd["file"], int(gd["line"])
                break
        if start is not None:
            break
    if start is None:
        return None
    in_trace = False
    code_seen = False
    for n, raw in enumerate(raw_lines):
        if n >= _MAX_REPORT_LINES:
            break
        line = strip_timestamps(raw)
        m = _PANIC.match(line)
        if m:
            oops.panic = m.group("msg").strip()
            break  # panic() starts its own report (panic_on_warn: a second CPU: line and trace)
        if oops.oops_line and (_CR2_ALONE.match(line) or line.startswith("---[ end trace")):
            m = _CR2_ALONE.match(line)
            if m and oops.fault_address is None and oops.title.startswith("BUG"):
                oops.fault_address = _u64(m.group("val"))
            if line.startswith("---[ end trace"):
                break
            continue
        m = _PF.match(line)
        if m:
            oops.pf_access = _PF_ACCESS[m.group("what")]
            continue
        m = _PF_CODE.match(line)
        if m:
            oops.pf_error_code = int(m.group("code"), 16)
            continue
        m = _OOPS.match(line)
        if m and not oops.oops_line:
            oops.oops_line = m.group("line").strip()
            continue
        m = _CPU.match(line)
        if m and oops.cpu is None:
            oops.cpu, oops.pid = int(m.group("cpu")), int(m.group("pid"))
            oops.comm, oops.release = m.group("comm"), m.group("release")
            oops.taint = (m.group("taint") or "").strip()
            continue
        m = _RIP.match(line)
        if m and not oops.rip_function and oops.rip_address is None:
            if m.group("sym"):
                off = _u64(m.group("off"))
                if off is not None:
                    oops.rip_function, oops.rip_offset = m.group("sym"), off
                    oops.rip_module = m.group("mod") or ""
            else:
                oops.rip_address = _u64(m.group("addr"))
            continue
        if line.startswith("Code: ") and not code_seen:
            # the first Code: line is the kernel's, even when it says "Unable to access
            # opcode bytes": a later one belongs to the user-mode registers after the trace
            code_seen = True
            m = _CODE.match(line)
            if m:
                oops.code, oops.code_fault_index = _parse_code(m.group("bytes"))
            continue
        line = line.strip()
        if line in ("Call Trace:", "<TASK>", "<IRQ>", "</IRQ>"):
            in_trace = True
            continue
        if line == "</TASK>":
            in_trace = False
            continue
        if in_trace:
            m = _TRACE.match(line.lstrip())
            if m:
                off, size = _u64(m.group("off")), _u64(m.group("size"))
                if off is not None and size is not None:
                    oops.trace.append(TraceEntry(m.group("sym"), off, size, m.group("mod") or "",
                                                 not m.group("unreliable")))
            continue
        for m in _REG.finditer(line):
            name = m.group("name")
            if name == "CR2":
                continue  # the register dump's CR2 may be stale, see above
            reg = _REG_NAMES.get(name) or ("r%d" % int(name[1:]) if name[1:].isdigit() else name.lower())
            if name == "RIP" or reg in oops.registers:
                continue
            oops.registers[reg] = int(m.group("val"), 16)
    if not oops.panic:
        oops.panic = _first_panic(raw_lines)  # after the report's end: the rest of the log
    return oops
