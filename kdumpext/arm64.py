"""arm64: the faulting instruction decoded from capstone's structured operands, and the ESR of a fault."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Optional

import capstone
from capstone import arm64 as A

from .errors import KdumpextError
from .model import MASK64, Access, Instruction, MemOperand

if TYPE_CHECKING:  # pragma: no cover
    from .decode import Source

__all__ = ["Arm64DecodeError", "decode", "decode_all", "reg64", "source_of", "stored_register", "conditional",
           "ARG_REGS", "LINK_REG", "RETURN_REG", "CALLER_SAVED", "CALLEE_SAVED"]

#: Integer argument registers, in order (AAPCS64 6.8.2); x0 also holds the return value, x30
#: (``lr``) the return address a ``bl``/``blr`` leaves, x29 the frame pointer.
ARG_REGS = ("x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7")
RETURN_REG = "x0"
LINK_REG = "x30"


class Arm64DecodeError(KdumpextError):
    """Bytes that are not an arm64 instruction."""

    def __init__(self, address: int, why: str) -> None:
        super().__init__(f"cannot decode arm64 code at {address:#x}: {why}")
        self.address = address


_HANDLE: Optional[Any] = None


def _handle() -> Any:
    global _HANDLE
    if _HANDLE is None:
        md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        md.detail = True
        _HANDLE = md
    return _HANDLE


def reg64(name: str) -> Optional[str]:
    """capstone's spelling of a general-purpose register -> drgn's 64-bit name: ``w3`` -> ``x3``,
    ``fp`` -> ``x29``, ``lr`` -> ``x30``, ``wsp`` -> ``sp``; None for the zero register and for
    SIMD/FP and system registers."""
    if name in ("sp", "wsp"):
        return "sp"
    if name == "fp":
        return "x29"
    if name == "lr":
        return "x30"
    if len(name) >= 2 and name[0] in "xw" and name[1:].isdigit() and int(name[1:]) <= 30:
        return f"x{int(name[1:])}"
    return None


#: Bytes a register of this spelling holds (``x``/``w`` general purpose; ``b h s d q`` SIMD/FP).
_REG_BYTES = {"x": 8, "w": 4, "b": 1, "h": 2, "s": 4, "d": 8, "q": 16}
#: Loads and stores of a pair of registers: twice the register's size.
_PAIRS = ("ldp", "stp", "ldnp", "stnp", "ldpsw", "ldxp", "stxp", "ldaxp", "stlxp", "casp")
#: Atomic read-modify-write memory operations (FEAT_LSE): the ``ld<op>``/``st<op>`` families, swap
#: and compare-and-swap, with their acquire/release and byte/halfword forms.
_ATOMIC_OPS = ("add", "clr", "eor", "set", "smax", "smin", "umax", "umin")


def _is_atomic(m: str) -> bool:
    if m.startswith(("swp", "cas")):
        return True
    for head in ("ld", "st"):
        if m.startswith(head) and m[2:].startswith(_ATOMIC_OPS):
            return True
    return False


def _access(mnemonic: str) -> Access:
    """What a memory instruction does to memory, by its mnemonic (capstone 5 leaves the access of
    the LSE atomics' operands unset): ``ld*`` read, ``st*`` write, atomics read-write, ``prfm`` none."""
    m = mnemonic.split(".")[0]
    if m.startswith("prfm") or m.startswith("prfum"):
        return ""
    if _is_atomic(m):
        return "read-write"
    if m.startswith("ld"):
        return "read"
    if m.startswith("st"):
        return "write"
    return ""


def _size(ci: Any, mnemonic: str) -> int:
    """Bytes a load or store moves: a ``b``/``h``/``sw`` form's width, else the data register's
    (the last register before the memory operand: ``stxr w1, x0, [x2]`` stores x0), twice that for
    a pair."""
    m = mnemonic
    regs = [ci.reg_name(op.reg) for op in ci.operands if op.type == A.ARM64_OP_REG]
    base = m.rstrip("0123456789")
    if m.startswith(("ldpsw",)):
        width = 4
    elif base.endswith("sw") and m.startswith("ld"):
        width = 4  # ldrsw, ldursw
    elif base.endswith(("b", "sb")) and not base.endswith("sub") and (m.startswith(("ld", "st", "swp", "cas"))):
        width = 1
    elif base.endswith(("h", "sh")) and (m.startswith(("ld", "st", "swp", "cas"))):
        width = 2
    else:
        width = _reg_bytes(regs[-1]) if regs else 0
    return width * 2 if m.startswith(_PAIRS) else width


def _reg_bytes(name: str) -> int:
    """Bytes register ``name`` holds (``fp``, ``lr``, ``sp``, ``xzr`` are 64-bit)."""
    if name in ("fp", "lr", "sp", "xzr"):
        return 8
    if name in ("wsp", "wzr"):
        return 4
    return _REG_BYTES.get(name[:1], 0)


def _mem_operand(ci: Any, op: Any, size: int, post_index: bool) -> MemOperand:
    base = reg64(ci.reg_name(op.mem.base)) if op.mem.base else None
    index = reg64(ci.reg_name(op.mem.index)) if op.mem.index else None
    scale = 1
    if index is not None and op.shift.type == A.ARM64_SFT_LSL and op.shift.value:
        scale = 1 << op.shift.value
    # post-index ([x1], #8): the access is at the base; the immediate only updates it afterwards
    return MemOperand(base, index, scale, 0 if post_index else op.mem.disp, size)


def _instruction(ci: Any) -> Instruction:
    mnemonic = ci.mnemonic
    ops = list(ci.operands)
    mem_ops = [op for op in ops if op.type == A.ARM64_OP_MEM]
    mem: Optional[MemOperand] = None
    access: Access = ""
    if mem_ops:
        after = ops[ops.index(mem_ops[0]) + 1:]
        post = bool(ci.writeback) and any(op.type == A.ARM64_OP_IMM for op in after)
        access = _access(mnemonic)
        mem = _mem_operand(ci, mem_ops[0], _size(ci, mnemonic) if access else 0, post)
    groups = set(ci.groups)
    is_call = capstone.CS_GRP_CALL in groups
    is_ret = capstone.CS_GRP_RET in groups or mnemonic in ("ret", "retaa", "retab", "eret")
    is_jump = (capstone.CS_GRP_JUMP in groups and not is_call) or (mnemonic in ("br", "braa", "brab", "braaz", "brabz"))
    target: Optional[int] = None
    reg_target: Optional[str] = None
    if is_call or is_jump:
        imms = [op for op in ops if op.type == A.ARM64_OP_IMM]
        if capstone.CS_GRP_BRANCH_RELATIVE in groups and imms:
            target = imms[-1].imm & MASK64
        elif ops and ops[0].type == A.ARM64_OP_REG:
            reg_target = reg64(ci.reg_name(ops[0].reg))
    read, written = ci.regs_access()
    regs_written = _names(ci, written)
    if mem_ops and access == "read-write":
        # capstone 5 leaves an LSE atomic's operands unaccessed: cas* writes its first register
        # (the old value), ld<op>/swp their second (st<op> is ld<op> into the zero register)
        regs = [reg64(ci.reg_name(op.reg)) for op in ops if op.type == A.ARM64_OP_REG]
        dest = regs[0] if mnemonic.startswith("cas") else regs[1] if len(regs) > 1 else None
        if dest is not None and dest not in regs_written:
            regs_written.append(dest)
    return Instruction(
        address=ci.address, size=ci.size, raw=bytes(ci.bytes), mnemonic=mnemonic, op_str=ci.op_str,
        mem=mem, access=access,
        regs_read=_names(ci, read), regs_written=regs_written,
        target=target, is_call=is_call, is_jump=is_jump, is_ret=is_ret, reg_target=reg_target, arch="arm64")


def _names(ci: Any, regs: Any) -> List[str]:
    out: List[str] = []
    for r in regs:
        name = reg64(ci.reg_name(r))
        if name is not None and name not in out:
            out.append(name)
    return out


def decode(code: bytes, address: int, intel: bool = False) -> Instruction:
    """Decode the arm64 instruction at the start of ``code`` (a little-endian 32-bit word at
    ``address``), capstone's spelling (``ldr x0, [x0, #0x240]``); ``intel`` is ignored (an x86
    option, taken so both decoders are called alike).  Registers by drgn's 64-bit names, ``mem``
    the memory operand with the access's size (twice the register's for a pair), ``access`` what
    it does to memory.

    :raises Arm64DecodeError: ``code`` does not start with a valid instruction.
    """
    if len(code) < 4:
        raise Arm64DecodeError(address, f"{len(code)} bytes, an instruction is 4")
    got = list(_handle().disasm(code[:4], address, 1))
    if not got:
        raise Arm64DecodeError(address, f"{code[:4].hex(' ')} is no valid instruction")
    return _instruction(got[0])


def decode_all(code: bytes, address: int, intel: bool = False) -> List[Instruction]:
    """Every 4-byte word of ``code`` from ``address``; a word that is no instruction (data, a
    literal pool) is skipped, as arm64 code is fixed-width and never misaligned by it."""
    out: List[Instruction] = []
    md = _handle()
    for off in range(0, len(code) - len(code) % 4, 4):
        got = list(md.disasm(code[off:off + 4], address + off, 1))
        if got:
            out.append(_instruction(got[0]))
    return out


# --- what an instruction does to a register (kdumpext.decode.Source), for the provenance trace ---


def _cs_of(insn: Instruction) -> Any:
    got = list(_handle().disasm(insn.raw[:4], insn.address, 1))
    if not got:
        raise Arm64DecodeError(insn.address, f"{insn.raw[:4].hex(' ')} is no valid instruction")
    return got[0]


def _reg_ops(ci: Any) -> List[Any]:
    return [op for op in ci.operands if op.type == A.ARM64_OP_REG]


def source_of(insn: Instruction, reg: Optional[str] = None) -> Optional[Source]:
    """Where the value ``insn`` writes to ``reg`` (by default its first destination) comes from
    (see :class:`kdumpext.decode.Source`): ``ldr``/``ldur``/``ldar``/``ldxr`` and sign- or
    zero-extending forms are loads, each register of an ``ldp`` from its half of the pair;
    ``mov`` a copy or a constant; ``add``/``sub`` of a constant or a register an address
    computation (``lea``), as is the base update of a pre- or post-indexed access; ``adrp``/``adr``
    a constant; ``bl``/``blr`` the callee's x0.  None when ``insn`` writes no such register."""
    from .decode import Source

    if insn.is_call:
        return Source("call", RETURN_REG, 8, reg=insn.reg_target, value=insn.target) \
            if reg in (None, RETURN_REG) else None
    ci = _cs_of(insn)
    m = ci.mnemonic
    regs = _reg_ops(ci)
    if not regs:
        return None
    dests: List[str] = []
    if insn.mem is not None and _access(m) in ("read", "read-write"):
        n = 1
        if m.startswith(_PAIRS) and not m.startswith("casp"):
            n = 2
        start = 1 if m.startswith(("ld", "swp")) and _is_atomic(m) else 0
        dests = [d for d in (reg64(ci.reg_name(op.reg)) for op in regs[start:start + n]) if d]
    elif not (insn.mem is not None and _access(m) == "write"):
        first = reg64(ci.reg_name(regs[0].reg))
        dests = [first] if first else []
    want = reg or (dests[0] if dests else None)
    mem_op = next((op for op in ci.operands if op.type == A.ARM64_OP_MEM), None)
    # the base register a pre- or post-indexed access updates
    if want is not None and mem_op is not None and ci.writeback and reg64(ci.reg_name(mem_op.mem.base)) == want \
            and want not in dests:
        after = [op for op in ci.operands[ci.operands.index(mem_op) + 1:] if op.type == A.ARM64_OP_IMM] \
            if mem_op in ci.operands else []
        step = after[-1].imm if after else mem_op.mem.disp
        return Source("lea", want, 8, mem=MemOperand(want, None, 1, step, 0))
    if want is None or want not in dests:
        return None
    width = _reg_bytes(ci.reg_name(regs[[reg64(ci.reg_name(op.reg)) for op in regs].index(want)].reg))
    if insn.mem is not None and _access(m) in ("read", "read-write"):
        size = insn.mem.size // (2 if m.startswith(_PAIRS) else 1)
        half = dests.index(want)
        mem = MemOperand(insn.mem.base, insn.mem.index, insn.mem.scale, insn.mem.disp + half * size, size)
        extend = "sign" if m.startswith(("ldrs", "ldurs", "ldpsw")) else "zero" if size < width else ""
        return Source("load", want, width, mem=mem, extend=extend)
    ops = list(ci.operands)
    if m == "mov" and len(ops) == 2:
        src = ops[1]
        if src.type == A.ARM64_OP_REG:
            name = ci.reg_name(src.reg)
            if name in ("xzr", "wzr"):
                return Source("imm", want, width, value=0)
            if reg64(name):
                return Source("copy", want, width, reg=reg64(name))
        if src.type == A.ARM64_OP_IMM:
            return Source("imm", want, width, value=src.imm & ((1 << (8 * width)) - 1))
    if m in ("movz",) and len(ops) == 2 and ops[1].type == A.ARM64_OP_IMM:
        return Source("imm", want, width, value=(ops[1].imm << ops[1].shift.value) & ((1 << (8 * width)) - 1))
    if m in ("adrp", "adr") and len(ops) == 2 and ops[1].type == A.ARM64_OP_IMM:
        return Source("imm", want, 8, value=ops[1].imm & MASK64)
    if m in ("add", "sub") and len(ops) == 3 and width == 8 and ops[1].type == A.ARM64_OP_REG:
        base = reg64(ci.reg_name(ops[1].reg)) or ("sp" if ci.reg_name(ops[1].reg) == "sp" else None)
        other = ops[2]
        if base is not None and other.type == A.ARM64_OP_IMM:
            k = other.imm << (other.shift.value if other.shift.type == A.ARM64_SFT_LSL else 0)
            return Source("lea", want, 8, mem=MemOperand(base, None, 1, k if m == "add" else -k, 0))
        if base is not None and m == "add" and other.type == A.ARM64_OP_REG and reg64(ci.reg_name(other.reg)) \
                and other.ext == 0:
            shift = other.shift.value if other.shift.type == A.ARM64_SFT_LSL else 0
            return Source("lea", want, 8, mem=MemOperand(base, reg64(ci.reg_name(other.reg)), 1 << shift, 0, 0))
    return Source("other", want, width, mem=insn.mem if insn.access else None)


def stored_register(insn: Instruction, offset: int = 0) -> Optional[str]:
    """The register a store writes at byte ``offset`` of the memory it writes: a single-register
    store (``str``, ``stur``, ``stlr`` and their byte/halfword forms) at offset 0, a pair
    (``stp x0, x1, [sp]``) its first register at 0 and its second at the register size
    (8, or 4 for ``w`` registers); None for an exclusive or atomic store, a vector register, zero
    (``xzr``/``wzr`` is no register's value) or anything else."""
    if insn.mem is None or insn.access != "write":
        return None
    ci = _cs_of(insn)
    m = ci.mnemonic
    if m.startswith(("stxr", "stlxr")) or not m.startswith("st"):
        return None
    regs = _reg_ops(ci)
    if m.startswith(_PAIRS):
        if len(regs) < 2 or not insn.mem.size:
            return None
        half = insn.mem.size // 2
        pick = 0 if offset == 0 else 1 if offset == half else None
        if pick is None:
            return None
        regs = regs[pick:]
    elif offset != 0:
        return None
    if not regs:
        return None
    name = ci.reg_name(regs[0].reg)
    if name in ("xzr", "wzr") or name[0] in "vqdshb":
        return None
    return reg64(name)


def conditional(insn: Instruction) -> bool:
    """Whether a branch may fall through: ``b.<cond>``, ``cbz``/``cbnz``, ``tbz``/``tbnz``."""
    return insn.mnemonic.startswith("b.") or insn.mnemonic in ("cbz", "cbnz", "tbz", "tbnz")


#: Registers a call may change (AAPCS64 6.1.1): x0-x18 (x16/x17 the linker's, x18 the platform's)
#: and the link register; x19-x28, x29 and sp survive.
CALLER_SAVED = tuple(f"x{n}" for n in range(19)) + ("x30",)
CALLEE_SAVED = tuple(f"x{n}" for n in range(19, 30))


def strip_pac(value: int, pac_mask: int) -> int:
    """A code address without its pointer-authentication code: the bits of ``pac_mask``
    (VMCOREINFO ``NUMBER(KERNELPACMASK)``) set again in a kernel address (bit 55 set), as
    ``ptrauth_strip_insn_pac()`` does; a user address and a mask of 0 leave it as it is."""
    if value & (1 << 55):
        return (value | pac_mask) & MASK64
    return value & ~pac_mask & MASK64
