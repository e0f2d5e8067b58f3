"""The architecture seam: what the engine asks of an instruction set (x86-64, arm64), in one record each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, FrozenSet, List, Optional, Tuple

from . import arm64, decode
from .errors import KdumpextError
from .model import Instruction

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["Arch", "X86_64", "ARM64", "ARM", "ARCHES", "NotDecoded", "arch_of", "arch_named"]


@dataclass(frozen=True)
class Arch:
    """One architecture as the engine sees it: how to decode its code, the registers its calling
    convention gives a meaning to (drgn's names), and how its kernel traps for BUG()/WARN()."""

    name: str  # "x86_64", "arm64" (VMCOREINFO's and uname -m's spelling of x86-64)
    pc: str  # the program counter's register
    sp: str  # the stack pointer's
    #: the register a call leaves its return address in (arm64's x30), None when a call pushes it
    #: on the stack (x86-64: the word at [%rsp] on entry)
    link: Optional[str]
    return_reg: str  # a call's return value
    arg_regs: Tuple[str, ...]  # integer arguments, in order
    #: decode one instruction / a function's code (``intel``: x86's Intel syntax, ignored elsewhere)
    decode: Callable[[bytes, int, bool], Instruction]
    decode_all: Callable[[bytes, int, bool], List[Instruction]]
    #: mnemonics of the instructions BUG() and WARN() trap with (x86 report_bug(): ud2, ud1, ud0;
    #: arm64: brk #0x800, BUG_BRK_IMM)
    traps: FrozenSet[str]
    #: whether the register-provenance analysis (kdumpext.explain.Tracer, kdumpext.flow) reads this
    #: architecture's code; without it a verdict names the register and offset, not the variable
    provenance: bool
    fp: str = ""  # the frame pointer's register
    caller_saved: Tuple[str, ...] = ()  # what a call may change
    callee_saved: Tuple[str, ...] = ()  # what survives a call
    elf_machine: int = 0  # its ELF ``e_machine`` (62 EM_X86_64, 183 EM_AARCH64, 40 EM_ARM)


class NotDecoded(KdumpextError):
    """Code of an architecture kdumpext reads reports of but does not decode (32-bit arm)."""

    def __init__(self, arch: str, address: int) -> None:
        super().__init__(f"{arch} code is not decoded (kdumpext decodes x86-64 and arm64): the instruction at "
                         f"{address:#x} is not explained")


def _arm_decode(code: bytes, address: int, intel: bool = False) -> Instruction:
    raise NotDecoded("32-bit arm", address)


def _arm_decode_all(code: bytes, address: int, intel: bool = False) -> List[Instruction]:
    return []


#: System V x86-64 psABI 3.2.1: rbx, rbp, r12-r15 (and rsp) survive a call
X86_64 = Arch("x86_64", "rip", "rsp", None, "rax", ("rdi", "rsi", "rdx", "rcx", "r8", "r9"),
              decode.decode, decode.decode_all, frozenset({"ud0", "ud1", "ud2"}), True, "rbp",
              ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"), ("rbx", "rbp", "r12", "r13", "r14", "r15"),
              elf_machine=62)
ARM64 = Arch("arm64", "pc", "sp", arm64.LINK_REG, arm64.RETURN_REG, arm64.ARG_REGS,
             arm64.decode, arm64.decode_all, frozenset({"brk"}), True, "x29", arm64.CALLER_SAVED, arm64.CALLEE_SAVED,
             elf_machine=183)
#: 32-bit arm: its reports are read (pc, lr, call trace), its code is not decoded
ARM = Arch("arm", "pc", "sp", "r14", "r0", ("r0", "r1", "r2", "r3"), _arm_decode, _arm_decode_all,
           frozenset({"udf"}), False, elf_machine=40)
ARCHES = {a.name: a for a in (X86_64, ARM64, ARM)}


def arch_named(name: str) -> Arch:
    """The :class:`Arch` of ``name`` (``x86_64``, ``arm64``, ``arm``, also ``aarch64``/``AARCH64``
    and drgn's ``X86_64``/``ARM``); x86-64 for an unknown or empty name."""
    key = name.lower().replace("aarch64", "arm64")
    return ARCHES.get(key, X86_64)


def arch_of(prog: "drgn.Program") -> Arch:
    """The :class:`Arch` of a drgn program (its platform; x86-64 when it has none)."""
    platform = getattr(prog, "platform", None)
    if platform is None:
        return X86_64
    return arch_named(platform.arch.name)
