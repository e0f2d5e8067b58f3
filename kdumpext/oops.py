"""Parse the kernel's oops report out of dmesg text: title, fault address, RIP, registers, Code:, trace."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .model import Access

__all__ = ["Oops", "TraceEntry", "parse_oops", "panic_line", "strip_timestamps"]

# Every pattern here matches a line the kernel prints with a fixed printk format
# (arch/x86/mm/fault.c, arch/x86/kernel/dumpstack.c, process_64.c, kernel/panic.c).
_TS = re.compile(r"^\s*(?:<\d+>)?(?:\[\s*\d+\.\d+\]\s?)?(?:\[\s*[CT]\d+\]\s?)?")
_TITLES = (
    re.compile(r"^BUG: kernel NULL pointer dereference, address: (?P<addr>[0-9a-f]+)"),
    re.compile(r"^BUG: unable to handle page fault for address: (?P<addr>[0-9a-f]+)"),
    re.compile(r"^BUG: unable to handle kernel paging request at (?P<addr>[0-9a-f]+)"),
    re.compile(r"^general protection fault(?:, probably for non-canonical address (?P<addr>0x[0-9a-f]+))?"),
    re.compile(r"^kernel BUG at (?P<file>[^:]+):(?P<line>\d+)!"),
    re.compile(r"^WARNING: CPU: \d+ PID: \d+ at (?P<file>[^:]+):(?P<line>\d+) "),
    re.compile(r"^invalid opcode: \d+"),
    re.compile(r"^BUG: kernel NULL pointer dereference"),
    re.compile(r"^(?:BUG|WARNING): .*"),
    re.compile(r"^Oops: .*"),
)
_PF = re.compile(r"^#PF: (?P<who>supervisor|user) (?P<what>read access|write access|instruction fetch) in (?P<mode>kernel|user) mode")
_PF_CODE = re.compile(r"^#PF: error_code\((?P<code>0x[0-9a-f]+)\)")
_OOPS = re.compile(r"^(?P<line>Oops: [0-9a-f]+ \[#\d+\].*|invalid opcode: [0-9a-f]+ \[#\d+\].*|general protection fault.*\[#\d+\].*)")
_CPU = re.compile(r"^CPU: (?P<cpu>\d+) PID: (?P<pid>\d+) Comm: (?P<comm>.{1,16}?) (?:Kdump: \S+ )?(?:Tainted: (?P<taint>.*?)|Not tainted) +(?P<release>\S+) #")
_RIP = re.compile(r"^RIP: (?P<cs>[0-9a-f]{4}):(?:(?P<sym>[\w.$]+)\+(?P<off>0x[0-9a-f]+)/(?P<size>0x[0-9a-f]+)(?: \[(?P<mod>\w+)\])?|(?P<addr>0x[0-9a-f]+))")
_CODE = re.compile(r"^Code: (?P<bytes>(?:<?\(?[0-9a-f]{2}\)?>? ?)+)\s*$")
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


def panic_line(text: str) -> str:
    """The message of the first ``Kernel panic - not syncing:`` line, "" if none."""
    for raw in text.splitlines():
        m = _PANIC.match(strip_timestamps(raw))
        if m:
            return m.group("msg").strip()
    return ""


_REG_NAMES = {"EFLAGS": "rflags"}
_PF_ACCESS: Dict[str, Access] = {"read access": "read", "write access": "write", "instruction fetch": "exec"}


def _parse_code(text: str) -> Tuple[bytes, Optional[int]]:
    out = bytearray()
    marker = None
    for tok in text.split():
        if tok.startswith("<") or tok.startswith("("):
            marker = len(out)
        out.append(int(tok.strip("<>()"), 16))
    return bytes(out), marker


def parse_oops(text: str) -> Optional[Oops]:
    """Parse the first oops (or BUG, or GPF) in ``text``; None if there is none.

    Pure function over dmesg text, with or without timestamps.  The fault address
    comes from the title line or the standalone ``CR2:`` line after the trace, never
    from the register dump's ``CR2:``, which show_regs() reads live and which a failed
    ``Code:`` read can already have overwritten.
    """
    lines = [strip_timestamps(line) for line in text.splitlines()]
    start = None
    oops = Oops()
    for i, line in enumerate(lines):
        for pat in _TITLES:
            m = pat.match(line)
            if m:
                start = i
                oops.title = line
                gd = m.groupdict()
                if gd.get("addr"):
                    oops.fault_address = int(gd["addr"], 16)
                if gd.get("file"):
                    oops.bug_file, oops.bug_line = gd["file"], int(gd["line"])
                break
        if start is not None:
            break
    if start is None:
        return None
    in_trace = False
    code_seen = False
    for line in lines[start + 1:]:
        if _PANIC.match(line):
            break  # panic() starts its own report (panic_on_warn: a second CPU: line and trace)
        if oops.oops_line and (_CR2_ALONE.match(line) or line.startswith("---[ end trace")):
            m = _CR2_ALONE.match(line)
            if m and oops.fault_address is None and oops.title.startswith("BUG"):
                oops.fault_address = int(m.group("val"), 16)
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
                oops.rip_function, oops.rip_offset = m.group("sym"), int(m.group("off"), 16)
                oops.rip_module = m.group("mod") or ""
            else:
                oops.rip_address = int(m.group("addr"), 16)
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
                oops.trace.append(TraceEntry(m.group("sym"), int(m.group("off"), 16), int(m.group("size"), 16),
                                             m.group("mod") or "", not m.group("unreliable")))
            continue
        for m in _REG.finditer(line):
            name = m.group("name")
            if name == "CR2":
                continue  # the register dump's CR2 may be stale, see above
            reg = _REG_NAMES.get(name) or ("r%d" % int(name[1:]) if name[1:].isdigit() else name.lower())
            if name == "RIP" or reg in oops.registers:
                continue
            oops.registers[reg] = int(m.group("val"), 16)
    oops.panic = panic_line("\n".join(lines[start:]))
    return oops
