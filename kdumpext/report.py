"""Render a Report: the text an engineer reads, and the JSON scripts read (schema kdumpext.triage/1)."""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Optional

from tabulate import tabulate

from . import addresses
from .model import Frame, Report, Verdict

__all__ = ["SCHEMA", "to_json_dict", "verdict_dict", "render_text", "render_verdict", "short_verdict"]

#: Identifies the JSON layout below; bump on incompatible change.
SCHEMA = "kdumpext.triage/1"


def _hex(v: Optional[int]) -> Optional[str]:
    return None if v is None else f"{v:#x}"


def verdict_dict(v: Verdict) -> Dict[str, Any]:
    """The ``verdict`` object of the JSON schema."""
    m = v.member
    insn = v.instruction
    return {
        "class": v.crash_class,
        "function": v.function,
        "module": v.module,
        "site": v.site,
        "source": v.source,
        "instruction": insn.text if insn else None,
        "instruction_address": _hex(insn.address) if insn else None,
        "access": v.access,
        "size": v.size,
        "address": _hex(v.address),
        "bad_pointer": None if v.bad is None else {
            "kind": v.bad.kind,
            "value": _hex(v.bad.base),
            "offset": _hex(v.bad.offset),
            "detail": v.bad.detail,
            "text": addresses.describe(v.bad),
        },
        "pointer": v.pointer,
        "pointer_type": v.pointer_type,
        "pointer_source": v.pointer_source,
        "access_path": v.access_path,
        "struct": m.type_name.split()[-1] if m and m.in_aggregate else None,
        "type": m.type_name if m else None,
        "member": m.path if m and m.path else None,
        "offset": _hex(m.offset) if m else None,
        "member_size": m.size if m else None,
        "member_type": m.member_type if m else None,
        "callee": v.callee,
        "summary": v.summary,
        "confidence": v.confidence,
        "undecided": v.undecided,
        "evidence": [{"kind": e.kind, "text": e.text, "address": _hex(e.address)} for e in v.evidence],
        "bucket": v.bucket,
    }


def _frame_dict(f: Frame) -> Dict[str, Any]:
    return {
        "index": f.index, "pc": _hex(f.pc), "function": f.function, "offset": _hex(f.offset),
        "module": f.module, "file": f.file, "line": f.line, "inlined": f.inlined, "exception": f.exception,
    }


def to_json_dict(r: Report) -> Dict[str, Any]:
    """The whole report as a JSON-ready dict (documented in README.md, "JSON output")."""
    d = r.dump
    return {
        "schema": SCHEMA,
        "dump": {
            "path": d.path, "format": d.format, "release": d.release, "build_id": d.build_id,
            "vmlinux": d.vmlinux, "crash_time": d.crash_time, "uptime": d.uptime, "cpus": d.cpus,
            "panic": d.panic_message, "oops": d.oops, "taint": d.taint, "taint_flags": d.taint_flags,
            "modules": d.modules, "modules_missing_debuginfo": d.modules_missing_debuginfo,
        },
        "task": None if r.task is None else {"pid": r.task.pid, "comm": r.task.comm, "cpu": r.task.cpu},
        "backtrace": [_frame_dict(f) for f in r.frames],
        "registers": {k: _hex(v) for k, v in sorted(r.registers.items())},
        "verdict": verdict_dict(r.verdict),
        "bucket": r.verdict.bucket,
        "warnings": r.warnings,
    }


def _when(ts: Optional[float]) -> str:
    if ts is None:
        return "?"
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _uptime(s: Optional[float]) -> str:
    if s is None:
        return "?"
    s = int(s)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d} days, " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def render_backtrace(frames: List[Frame]) -> str:
    """crash-style backtrace: ``#N func+off [mod]  file:line``, the exception frame marked."""
    lines = []
    for f in frames:
        where = f"{f.file}:{f.line}" if f.file else ""
        if f.exception:
            lines.append(f" #{f.index:<2} [exception RIP: {f.function + '+' + hex(f.offset) if f.function else hex(f.pc)}]"
                         + (f" [{f.module}]" if f.module else "") + (f"  {where}" if where else ""))
        else:
            name = f"{f.function} (inlined)" if f.inlined else f.site
            lines.append(f" #{f.index:<2} {name:<48} {where}".rstrip())
    return "\n".join(lines)


def render_verdict(v: Verdict) -> str:
    """The verdict block: FAULT / NULL / ACCESS lines as in the README's example."""
    rows: List[List[str]] = []
    insn = v.instruction
    if v.crash_class == "panic":
        rows.append(["PANIC", v.summary])
        if v.source:
            rows.append(["", v.site + "  " + v.source])
    elif v.crash_class in ("bug", "warning"):
        rows.append(["BUG" if v.crash_class == "bug" else "WARN", f"{v.site}  {v.source}".strip()])
        if insn:
            rows.append(["", insn.text])
    else:
        rows.append(["FAULT", f"{v.site}  {v.source}".strip()])
        if insn:
            regtxt = ""
            for e in v.evidence:
                if e.kind == "reg" and e.text.startswith("%"):
                    regtxt = e.text.lstrip("%")
                    break
            rows.append(["", f"{insn.text:<32}{regtxt}"])
        bad = v.bad
        label = {"null": "NULL", "err-ptr": "ERR_PTR", "list-poison": "POISON", "slab-poison": "POISON",
                 "non-canonical": "BADPTR", "user": "USER", "kernel": "BADPTR"}.get(bad.kind if bad else "", "BADPTR")
        if v.pointer:
            how = f" ({v.pointer_source})" if v.pointer_source else ""
            rows.append([label, f"{v.pointer} is {addresses.describe(bad).split(' + ')[0] if bad else 'bad'}{how}"])
        elif bad is not None:
            rows.append([label, addresses.describe(bad)])
        if v.member is not None:
            m = v.member
            path = v.access_path or m.path
            rows.append(["ACCESS", f"{v.access}  {path}   {m.type_name} +{m.offset:#x}, {m.size or v.size} bytes"])
        elif v.callee:
            rows.append(["ACCESS", f"{v.access}  {v.access_path}   in {v.callee}(), called from {v.function}"])
        elif v.access:
            rows.append(["ACCESS", f"{v.access} {v.size} bytes at {v.address:#x}" if v.address is not None
                         else v.access])
    rows.append(["VERDICT", v.summary or "undecided"])
    if v.undecided:
        rows.append(["UNSURE", v.undecided])
    rows.append(["CONF", v.confidence])
    rows.append(["BUCKET", v.bucket])
    return tabulate(rows, tablefmt="plain")


def render_evidence(v: Verdict) -> str:
    """The facts the verdict rests on, one per line."""
    return "\n".join(f"  [{e.kind}] {e.text}" for e in v.evidence)


def render_text(r: Report, evidence: bool = True) -> str:
    """The full ``kdumpext triage`` report."""
    d = r.dump
    head = [
        ["RELEASE", d.release],
        ["DUMP", f"{d.path} ({d.format})"],
        ["VMLINUX", d.vmlinux],
        ["CRASHED", _when(d.crash_time)],
        ["UPTIME", _uptime(d.uptime)],
        ["CPUS", str(d.cpus) if d.cpus else "?"],
        ["PANIC", d.panic_message or d.oops],
        ["TAINT", (d.taint or "none") + ("  (" + "; ".join(d.taint_flags) + ")" if d.taint_flags else "")],
    ]
    if d.modules_missing_debuginfo:
        head.append(["MISSING", "no debug info for module(s): " + ", ".join(d.modules_missing_debuginfo)])
    if r.task is not None:
        head.append(["TASK", f"PID {r.task.pid}  COMM \"{r.task.comm}\"  CPU {r.task.cpu}"])
    parts = [tabulate(head, tablefmt="plain"), "", "BACKTRACE", render_backtrace(r.frames), "",
             render_verdict(r.verdict)]
    if evidence and r.verdict.evidence:
        parts += ["", "EVIDENCE", render_evidence(r.verdict)]
    for w in r.warnings:
        parts.append(f"warning: {w}")
    return "\n".join(parts)


def short_verdict(v: Verdict) -> str:
    """One cell for a batch table: ``cmd->dev NULL -> ->vdev_update_lat_stats +0x240``."""
    if v.crash_class in ("panic", "bug", "warning"):
        return v.summary
    word = "NULL" if v.bad is not None and v.bad.kind == "null" else (v.bad.detail or v.bad.kind) if v.bad else "bad"
    if v.pointer and v.access == "exec":
        return f"{v.pointer} {word}, called"
    if v.pointer and v.member is not None:
        if not v.member.path:  # a scalar pointee
            return f"{v.pointer} {word} \u2192 {v.access_path or '*' + v.pointer}"
        return f"{v.pointer} {word} \u2192 ->{v.member.path.split(' or ')[0]} +{v.member.offset:#x}"
    return v.summary or v.crash_class
