"""arm64's exception syndrome (ESR_ELx): the class of an exception, and for an abort the access and the fault status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

from .model import Access

__all__ = ["Esr", "decode_esr"]


#: Exception classes (ESR_ELx.EC, arch/arm64/include/asm/esr.h) a kernel oops reports.
_EC_NAMES: Dict[int, str] = {
    0x00: "UNKNOWN", 0x01: "WFx", 0x07: "FP/ASIMD", 0x0E: "ILL", 0x15: "SVC64", 0x18: "SYS64", 0x19: "SVE",
    0x1C: "FPAC", 0x20: "IABT (lower EL)", 0x21: "IABT (current EL)", 0x22: "PC Alignment",
    0x24: "DABT (lower EL)", 0x25: "DABT (current EL)", 0x26: "SP Alignment", 0x2C: "FP (AArch64)",
    0x2F: "SError", 0x30: "Breakpoint (lower EL)", 0x31: "Breakpoint (current EL)", 0x32: "Software Step (lower EL)",
    0x33: "Software Step (current EL)", 0x34: "Watchpoint (lower EL)", 0x35: "Watchpoint (current EL)",
    0x3C: "BRK (AArch64)",
}
#: Data/instruction fault status codes (ESR_ELx.ISS.DFSC/IFSC), by their top bits where a level follows.
_FSC_NAMES: Dict[int, str] = {
    0x00: "address size fault", 0x04: "translation fault", 0x08: "access flag fault", 0x0C: "permission fault",
    0x10: "synchronous external abort", 0x21: "alignment fault", 0x30: "TLB conflict abort",
    0x35: "unsupported atomic hardware update", 0x11: "synchronous tag check fault",
}


@dataclass(frozen=True)
class Esr:
    """An arm64 exception syndrome (ESR_ELx) as the fault handler read it (``ESR = 0x96000006``)."""

    value: int
    ec: int  # exception class, bits 31:26
    ec_name: str  # "DABT (current EL)", ...
    il: int  # instruction length bit (1: 32-bit instruction)
    #: for an abort: "read", "write" (data abort, by WnR; a cache maintenance op is a read) or
    #: "exec" (instruction abort); "" for another class
    access: Access
    fsc: int  # fault status code (DFSC/IFSC), bits 5:0 of an abort; -1 otherwise
    fsc_name: str  # "translation fault", "permission fault", ...
    level: Optional[int]  # translation table level of a translation/access/permission fault

    @property
    def abort(self) -> bool:
        """A data or instruction abort (a memory access that faulted)."""
        return self.ec in (0x20, 0x21, 0x24, 0x25)


def decode_esr(value: int) -> Esr:
    """Decode an ESR_ELx value (arch/arm64/include/asm/esr.h; Arm ARM D17.2.37): the exception
    class, and for a data abort WnR (bit 6: the access was a write), CM (bit 8: cache maintenance,
    reported as a write but a read of the cache), the fault status code and its level."""
    ec = (value >> 26) & 0x3F
    il = (value >> 25) & 1
    access: Access = ""
    fsc, fsc_name, level = -1, "", None
    if ec in (0x20, 0x21, 0x24, 0x25):
        fsc = value & 0x3F
        if ec in (0x20, 0x21):
            access = "exec"
        else:
            wnr, cm = (value >> 6) & 1, (value >> 8) & 1
            access = "write" if wnr and not cm else "read"
        if fsc < 0x10:  # address size, translation, access flag, permission: level in bits 1:0
            fsc_name, level = _FSC_NAMES[fsc & 0x3C], fsc & 0x3
        else:
            fsc_name = _FSC_NAMES.get(fsc, f"fault status {fsc:#04x}")
    return Esr(value, ec, _EC_NAMES.get(ec, f"EC {ec:#04x}"), il, access, fsc, fsc_name, level)
