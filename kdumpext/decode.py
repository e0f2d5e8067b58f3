"""Decode x86-64 machine code with capstone's structured operands into model.Instruction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import capstone
from capstone import x86

from . import arm64
from .errors import KdumpextError
from .model import Access, Instruction, MASK64, MemOperand

__all__ = [
    "DecodeError",
    "Source",
    "decode",
    "decode_all",
    "instructions_until",
    "reg64",
    "written_gpr",
    "source_of",
    "shift_right",
    "stored_register",
]

_MAX_INSN_SIZE = 15


class DecodeError(KdumpextError):
    """Bytes that are not an x86-64 instruction, or a linear sweep that misses the pc."""

    def __init__(self, address: int, why: str) -> None:
        super().__init__(f"cannot decode x86-64 code at {address:#x}: {why}")
        self.address = address


@dataclass
class Source:
    """Where the value of an instruction's destination register comes from.

    ``kind`` is one of:

    - ``load``: loaded from memory operand ``mem`` (``mov``, ``movzx``, ``movsx``,
      ``movslq``); ``extend`` says how a narrower load was widened;
    - ``copy``: copied from register ``reg`` (``mov %rdi,%rbx``, ``movslq %eax,%rdx``);
    - ``lea``: address arithmetic on ``mem``; no memory is read (``mem.size`` is 0);
    - ``imm``: the constant ``value`` (``mov $0x1,%eax``; ``xor %eax,%eax`` gives 0);
    - ``call``: ``dest`` is ``rax``, the callee's return value; ``value`` is a direct
      call's target, ``reg``/``mem`` an indirect call's (which other caller-saved
      registers the call clobbered is the caller's business);
    - ``other``: any other computation (``add``, ``pop``, ``cmov``, ...); ``mem`` is
      set when one of its inputs is in memory.

    ``dest`` is the 64-bit name of the register written and ``width`` the size of
    the write in bytes (a 4-byte write zeroes the upper half of the register, 1- and
    2-byte writes keep it). For ``imm``, ``value`` is what the low ``width`` bytes
    receive.
    """

    kind: str
    dest: str
    width: int
    mem: Optional[MemOperand] = None
    reg: Optional[str] = None
    value: Optional[int] = None
    extend: str = ""  # "zero" (movzx), "sign" (movsx, movslq), "" (none)


# --- registers -------------------------------------------------------------------

# Every spelling capstone uses for a general-purpose register, by drgn's 64-bit name.
_GPR_ALIASES: Tuple[Tuple[str, ...], ...] = (
    ("rax", "eax", "ax", "al", "ah"),
    ("rbx", "ebx", "bx", "bl", "bh"),
    ("rcx", "ecx", "cx", "cl", "ch"),
    ("rdx", "edx", "dx", "dl", "dh"),
    ("rsi", "esi", "si", "sil"),
    ("rdi", "edi", "di", "dil"),
    ("rbp", "ebp", "bp", "bpl"),
    ("rsp", "esp", "sp", "spl"),
    ("r8", "r8d", "r8w", "r8b"),
    ("r9", "r9d", "r9w", "r9b"),
    ("r10", "r10d", "r10w", "r10b"),
    ("r11", "r11d", "r11w", "r11b"),
    ("r12", "r12d", "r12w", "r12b"),
    ("r13", "r13d", "r13w", "r13b"),
    ("r14", "r14d", "r14w", "r14b"),
    ("r15", "r15d", "r15w", "r15b"),
    ("rip", "eip", "ip"),
)
_REG64: Dict[str, str] = {alias: row[0] for row in _GPR_ALIASES for alias in row}


def reg64(name: str) -> Optional[str]:
    """The 64-bit drgn name (``rax`` ... ``r15``, ``rip``) of a capstone register name.

    ``eax``, ``ax``, ``al`` and ``ah`` all give ``rax``; ``r10d`` gives ``r10``.
    Returns None for anything that is not a general-purpose register or the
    instruction pointer (``gs``, ``rflags``, ``xmm0``, ``cr3``).
    """
    return _REG64.get(name.lower())


# --- capstone handles ------------------------------------------------------------

_HANDLES: Dict[bool, Any] = {}


def _handle(intel: bool) -> Any:
    """The module's capstone handle for one syntax, made on first use, detail on.

    The Intel handle is the one whose operands we trust: in AT&T syntax capstone 5
    drops an implicit operand from ``operands`` (the ``%rax`` of ``stos``, the
    ``%cl`` of ``shl %cl,mem``, ``shrd``) but not from the access flags, which then
    belong to the wrong operand (``rep stos`` would be a read). AT&T is used only
    for spelling. Like all capstone handles these are not safe to share between
    threads.
    """
    md = _HANDLES.get(intel)
    if md is None:
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        md.detail = True
        md.syntax = capstone.CS_OPT_SYNTAX_INTEL if intel else capstone.CS_OPT_SYNTAX_ATT
        _HANDLES[intel] = md
    return md


def _first(code: bytes, address: int, intel: bool = True) -> Any:
    """The capstone instruction at the start of ``code``; DecodeError if there is none."""
    if not code:
        raise DecodeError(address, "no bytes")
    for ci in _handle(intel).disasm(bytes(code[:_MAX_INSN_SIZE]), address, 1):
        return ci
    raise DecodeError(address, f"invalid instruction bytes {bytes(code[:_MAX_INSN_SIZE]).hex(' ')}")


def _sweep(code: bytes, address: int, intel: bool) -> Iterator[Tuple[Any, Any]]:
    """(Intel, spelling) capstone instruction pairs by linear sweep over ``code``."""
    sem = _handle(True).disasm(bytes(code), address)
    if intel:
        for ci in sem:
            yield ci, ci
    else:  # both syntaxes decode the same bytes to the same instruction boundaries
        yield from zip(sem, _handle(False).disasm(bytes(code), address))


# --- facts capstone 5 gets wrong ---------------------------------------------------

_READ, _WRITE = capstone.CS_AC_READ, capstone.CS_AC_WRITE

# Memory-operand access flags capstone 5 reports wrongly, by instruction id:
# - cmpxchg*: "read"; it always writes its destination (Intel SDM: "the processor
#   never produces a locked read without also producing a locked write");
# - setae, setb, setbe, setg, ... to memory: "read" (sete, setne say "write");
# - test mem,reg32 (opcode 85 without REX.W): no access at all;
# - ins*/outs*: no access.
_ACCESS_FIXES: Dict[int, int] = {
    x86.X86_INS_CMPXCHG: _READ | _WRITE,
    x86.X86_INS_CMPXCHG8B: _READ | _WRITE,
    x86.X86_INS_CMPXCHG16B: _READ | _WRITE,
    x86.X86_INS_TEST: _READ,
    **{getattr(x86, f"X86_INS_INS{w}"): _WRITE for w in "BWD"},
    **{getattr(x86, f"X86_INS_OUTS{w}"): _READ for w in "BWD"},
    **{
        getattr(x86, f"X86_INS_SET{cc}"): _WRITE
        for cc in ("A", "AE", "B", "BE", "E", "G", "GE", "L", "LE", "NE")
        + ("NO", "NP", "NS", "O", "P", "S")
    },
}

# Registers capstone 5 leaves out of the written set: cmpxchg's accumulator
# receives the memory value on failure; both set the flags.
_WRITTEN_FIXES: Dict[int, Tuple[str, ...]] = {
    x86.X86_INS_CMPXCHG: ("rax", "rflags"),
    x86.X86_INS_XADD: ("rflags",),
}


_STRING_OPS = frozenset(
    getattr(x86, f"X86_INS_{op}{w}")
    for op in ("MOVS", "CMPS", "STOS", "LODS", "SCAS", "INS", "OUTS")
    for w in "BWDQ"
    if hasattr(x86, f"X86_INS_{op}{w}")
)
_STRING_OPCODES = frozenset(range(0x6C, 0x70)) | frozenset(range(0xA4, 0xB0))


def _is_string_op(ci: Any) -> bool:
    """Whether ``ci`` is a string instruction: ins, outs, movs, cmps, stos, lods, scas.

    X86_INS_MOVSD and X86_INS_CMPSD are also SSE2 instructions (opcode 0f ..), so
    the one-byte opcode must agree.
    """
    return ci.id in _STRING_OPS and ci.opcode[0] in _STRING_OPCODES


# --- objdump spelling ----------------------------------------------------------------

_SUFFIX_SIZE = {"b": 1, "w": 2, "l": 4, "q": 8}

# stos's accumulator: capstone prints it in AT&T but does not list it in ``operands``.
_STOS_ACCUMULATOR: Dict[int, str] = {
    x86.X86_INS_STOSB: "al",
    x86.X86_INS_STOSW: "ax",
    x86.X86_INS_STOSD: "eax",
    x86.X86_INS_STOSQ: "rax",
}

# String instructions objdump spells without a size suffix: their register
# operand gives the size ("stos %rax,%es:(%rdi)", "lods %ds:(%rsi),%al").
_SUFFIXLESS_STRING_OPS = frozenset(
    getattr(x86, f"X86_INS_{op}{w}") for op in ("STOS", "LODS", "SCAS") for w in "BWDQ"
)

# Mnemonics objdump spells differently from capstone where no rule covers it.
_OBJDUMP_NAMES: Dict[int, str] = {
    x86.X86_INS_PUSHFQ: "pushf",
    x86.X86_INS_POPFQ: "popf",
    x86.X86_INS_WAIT: "fwait",
    x86.X86_INS_LGDT: "lgdt",
    x86.X86_INS_LIDT: "lidt",
    x86.X86_INS_SGDT: "sgdt",
    x86.X86_INS_SIDT: "sidt",
    x86.X86_INS_SLDT: "sldt",
}

# capstone's spelling of repeat prefixes -> objdump's
_PREFIX_WORDS = {"repe": "repz", "repne": "repnz"}

# Segment overrides the CPU ignores in 64-bit mode: objdump prints them as prefix
# words ("cs nopw 0x0(%rax,%rax,1)", "ds clflush (%rax)"), and MemOperand leaves
# them out.
_IGNORED_SEGMENTS = frozenset({"cs", "ds", "es", "ss"})

# Port I/O: objdump writes the port register as "(%dx)".
_PORT_IO = frozenset(
    {x86.X86_INS_IN, x86.X86_INS_OUT}
    | {getattr(x86, f"X86_INS_{op}{w}") for op in ("INS", "OUTS") for w in "BWD"}
)

# Shifts and rotates by one (opcodes d0, d1): capstone lists the count as an
# immediate; objdump prints none. By %cl (d2, d3): capstone's AT&T operands leave
# %cl out when the destination is memory; objdump prints it.
_SHIFT_BY_ONE_OPCODES = frozenset({0xD0, 0xD1})
_SHIFT_BY_CL_OPCODES = frozenset({0xD2, 0xD3})
_SHIFTS = frozenset(
    getattr(x86, f"X86_INS_{op}") for op in ("ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAL", "SAR")
)


def _reg_name(ci: Any, reg: int) -> Optional[str]:
    """capstone's name for register id ``reg``, None for ``X86_REG_INVALID``."""
    if reg == x86.X86_REG_INVALID:
        return None
    name: str = ci.reg_name(reg)
    return name


def _is_branch(ci: Any) -> bool:
    """Whether ``ci`` is a call or a jump (conditional or not)."""
    return bool(ci.group(capstone.CS_GRP_CALL) or ci.group(capstone.CS_GRP_JUMP))


def _att_operand(ci: Any, op: Any, indirect: bool) -> str:
    """One operand in objdump's AT&T spelling, built from the structured operand."""
    star = "*" if indirect else ""
    if op.type == x86.X86_OP_REG:
        if ci.id in _PORT_IO and op.reg == x86.X86_REG_DX:
            return "(%dx)"
        return f"{star}%{ci.reg_name(op.reg)}"
    if op.type == x86.X86_OP_IMM:
        if ci.group(capstone.CS_GRP_BRANCH_RELATIVE):
            return f"{op.imm & MASK64:#x}"  # objdump adds " <symbol>"; we have none
        bits = 8 * op.size if op.size else 64
        return f"${op.imm & ((1 << bits) - 1):#x}"
    m = op.mem
    seg = _reg_name(ci, m.segment)
    if seg in _IGNORED_SEGMENTS:
        seg = None  # a prefix word, see _att_spelling
    base = _reg_name(ci, m.base)
    index = _reg_name(ci, m.index)
    if seg is None and _is_string_op(ci):
        seg = "es" if base in ("rdi", "edi") else "ds"  # objdump names the implied ones
    text = f"%{seg}:" if seg else ""
    if base is None and index is None:
        return f"{star}{text}{m.disp & MASK64:#x}"
    if m.disp or ci.disp_size:  # objdump prints an encoded displacement even if 0
        text += f"-{-m.disp:#x}" if m.disp < 0 else f"{m.disp:#x}"
    inside = f"%{base}" if base else ""
    if index:
        inside += f",%{index},{m.scale}"
    return f"{star}{text}({inside})"


def _objdump_mnemonic(ci: Any, word: str) -> str:
    """capstone's AT&T mnemonic ``word`` without a size suffix where objdump omits it.

    objdump (binutils 2.40) omits the suffix when a register operand of the same
    size gives it (``mov 0x40(%rbx),%rdi``; capstone says ``movq``) and on branches,
    ``push`` and ``pop``, whose size is fixed in 64-bit mode. The suffix is only
    dropped when ``word`` is the instruction's name plus one letter, so ``movzbl``,
    ``movslq`` and ``cltq`` stay whole.
    """
    name: str = ci.insn_name()
    if ci.id in _OBJDUMP_NAMES:
        return _OBJDUMP_NAMES[ci.id]
    if _is_string_op(ci):
        # "stos %rax,%es:(%rdi)", "lods %ds:(%rsi),%al" but "movsq", "cmpsb", "insb"
        return name[:-1] if ci.id in _SUFFIXLESS_STRING_OPS else word
    if len(word) != len(name) + 1 or not word.startswith(name) or word[-1] not in _SUFFIX_SIZE:
        return word
    fixed_size = (
        _is_branch(ci)
        or ci.group(capstone.CS_GRP_RET)
        or ci.id in (x86.X86_INS_PUSH, x86.X86_INS_POP)
    )
    size = _SUFFIX_SIZE[word[-1]]
    if fixed_size or any(op.type == x86.X86_OP_REG and op.size == size for op in ci.operands):
        return name
    return word


def _att_spelling(ci: Any) -> Tuple[str, str]:
    """(mnemonic, op_str) of an AT&T-syntax capstone instruction as objdump prints
    them: operands joined by a bare comma, numbers in hex."""
    words = ci.mnemonic.split()  # prefixes ("lock", "rep", "notrack") come first
    prefixes = [_PREFIX_WORDS.get(w, w) for w in words[:-1]]
    operands = list(ci.operands)
    shift = ci.id in _SHIFTS
    if shift and ci.opcode[0] in _SHIFT_BY_ONE_OPCODES:
        operands = [op for op in operands if op.type != x86.X86_OP_IMM]
    if not _is_string_op(ci):
        for op in operands:
            seg = _reg_name(ci, op.mem.segment) if op.type == x86.X86_OP_MEM else None
            if seg in _IGNORED_SEGMENTS:
                prefixes.append(str(seg))
                break
    mnemonic = " ".join(prefixes + [_objdump_mnemonic(ci, words[-1])])

    indirect = _is_branch(ci) and not ci.group(capstone.CS_GRP_BRANCH_RELATIVE)
    texts = [_att_operand(ci, op, indirect) for op in operands]
    if ci.id in _STOS_ACCUMULATOR:
        texts.insert(0, f"%{_STOS_ACCUMULATOR[ci.id]}")
    if shift and ci.opcode[0] in _SHIFT_BY_CL_OPCODES and not any(
        op.type == x86.X86_OP_REG for op in operands
    ):
        texts.insert(0, "%cl")
    return mnemonic, ",".join(texts)


# --- Instruction -----------------------------------------------------------------------


def _access_word(flags: int) -> Access:
    """``read``, ``write``, ``read-write`` or ``""`` for capstone access flags."""
    if flags & _READ and flags & _WRITE:
        return "read-write"
    if flags & _WRITE:
        return "write"
    if flags & _READ:
        return "read"
    return ""


def _mem_operand(ci: Any, op: Any, size: Optional[int] = None) -> MemOperand:
    """A capstone memory operand as a MemOperand with 64-bit register names."""
    m = op.mem
    base = _reg_name(ci, m.base)
    index = _reg_name(ci, m.index)
    segment = _reg_name(ci, m.segment)
    return MemOperand(
        base=(reg64(base) or base) if base else None,
        index=(reg64(index) or index) if index else None,
        scale=m.scale if index else 1,
        disp=m.disp,
        size=op.size if size is None else size,
        segment=None if segment in _IGNORED_SEGMENTS else segment,
    )


def _names(ci: Any, regs: Iterable[int]) -> List[str]:
    """Register ids as names, GPRs by their 64-bit names, without repeats."""
    out: List[str] = []
    for reg in regs:
        name = ci.reg_name(reg)
        name = reg64(name) or name
        if name not in out:
            out.append(name)
    return out


def _regs_access(ci: Any) -> Tuple[List[str], List[str]]:
    """Registers read and written, explicit operands and implicit ones together."""
    try:
        read, written = ci.regs_access()
    except capstone.CsError:  # no access information for this instruction
        read, written = list(ci.regs_read), list(ci.regs_write)
    read_names, written_names = _names(ci, read), _names(ci, written)
    for extra in _WRITTEN_FIXES.get(ci.id, ()):
        if extra not in written_names:
            written_names.append(extra)
    return read_names, written_names


def _instruction(sem: Any, text: Any, intel: bool) -> Instruction:
    """An Instruction from the Intel-syntax ``sem`` (operands, access, registers) and
    ``text`` (the same bytes in the syntax to print)."""
    if intel:
        mnemonic, op_str = text.mnemonic, text.op_str
    else:
        mnemonic, op_str = _att_spelling(text)
    is_call = bool(sem.group(capstone.CS_GRP_CALL))
    is_jump = bool(sem.group(capstone.CS_GRP_JUMP))

    mem: Optional[MemOperand] = None
    access: Access = ""
    mem_ops = [op for op in sem.operands if op.type == x86.X86_OP_MEM]
    if mem_ops and sem.id != x86.X86_INS_NOP:
        op = mem_ops[0]  # in Intel order: the destination of movs
        if sem.id == x86.X86_INS_LEA:
            mem = _mem_operand(sem, op, size=0)  # address arithmetic, no access
        else:
            rep = _is_string_op(sem) and any(p in (0xF2, 0xF3) for p in sem.prefix)
            mem = _mem_operand(sem, op, size=0 if rep else None)
            access = _access_word(_ACCESS_FIXES.get(sem.id, op.access))

    target: Optional[int] = None
    reg_target: Optional[str] = None
    if (is_call or is_jump) and sem.operands:
        op = sem.operands[0]
        if op.type == x86.X86_OP_IMM and sem.group(capstone.CS_GRP_BRANCH_RELATIVE):
            target = op.imm & MASK64
        elif op.type == x86.X86_OP_REG:
            reg_target = reg64(sem.reg_name(op.reg))

    regs_read, regs_written = _regs_access(sem)
    return Instruction(
        address=sem.address,
        size=sem.size,
        raw=bytes(sem.bytes),
        mnemonic=mnemonic,
        op_str=op_str,
        mem=mem,
        access=access,
        regs_read=regs_read,
        regs_written=regs_written,
        target=target,
        is_call=is_call,
        is_jump=is_jump,
        is_ret=bool(sem.group(capstone.CS_GRP_RET)),
        reg_target=reg_target,
    )


def decode(code: bytes, address: int, intel: bool = False) -> Instruction:
    """Decode the first instruction of ``code``, which sits at ``address``.

    The text is objdump's AT&T spelling (``mov 0x240(%rdi),%rax``) without the
    ``# address <symbol>`` comments and ``<symbol>`` names objdump adds; with
    ``intel=True`` it is capstone's Intel spelling. ``mem`` is the explicit memory
    operand (the first, in Intel order, if there are two), never the implicit
    stack slot of push, pop, call or ret. Raises :class:`DecodeError` if ``code``
    does not start with a valid instruction.
    """
    sem = _first(code, address)
    return _instruction(sem, sem if intel else _first(code[: sem.size], address, False), intel)


def decode_all(code: bytes, address: int, intel: bool = False) -> List[Instruction]:
    """Decode ``code`` (at ``address``) by linear sweep, stopping at the end of the
    bytes or at the first bytes that are not an instruction."""
    return [_instruction(sem, text, intel) for sem, text in _sweep(code, address, intel)]


def instructions_until(code: bytes, start: int, pc: int) -> List[Instruction]:
    """The instructions from a function's ``start`` up to, not including, ``pc``.

    ``code`` holds the function's bytes from ``start`` on. Raises
    :class:`DecodeError` if the linear sweep meets bytes it cannot decode before
    ``pc`` or steps over ``pc`` (``pc`` is not an instruction boundary of the
    sweep: data in the text, or the wrong start).
    """
    if not start <= pc <= start + len(code):
        raise DecodeError(pc, f"pc is outside the {len(code)} bytes given from {start:#x}")
    out: List[Instruction] = []
    address = start
    for sem, text in _sweep(code[: pc - start + _MAX_INSN_SIZE], start, False):
        if sem.address >= pc:
            break
        if sem.address + sem.size > pc:
            raise DecodeError(
                pc,
                f"linear sweep from {start:#x} steps over pc "
                f"({sem.size}-byte instruction at {sem.address:#x})",
            )
        out.append(_instruction(sem, text, False))
        address = sem.address + sem.size
    if address != pc:
        raise DecodeError(address, f"linear sweep from {start:#x} stops before pc {pc:#x}")
    return out


# --- back-tracking helpers ----------------------------------------------------------


def _written_operand(ops: List[Any], ci: Any) -> Optional[int]:
    """Index in Intel-order ``ops`` of the register operand the instruction writes
    (the first, i.e. the destination, when xchg writes two)."""
    for i, op in enumerate(ops):
        if op.type == x86.X86_OP_REG and op.access & _WRITE and reg64(ci.reg_name(op.reg)):
            return i
    return None


def written_gpr(insn: Instruction) -> Optional[str]:
    """The 64-bit GPR an instruction writes through an explicit register operand.

    ``mov 0x40(%rbx),%rdi`` gives ``rdi``; ``movzbl 0x1(%rdi),%eax`` and
    ``xor %eax,%eax`` give ``rax``; ``pop %rbx`` gives ``rbx``. Stores, compares,
    branches and instructions whose destination is implicit (``cltq``, ``cqto``,
    ``mul``, string instructions; see ``insn.regs_written``) give None.
    """
    if insn.arch == "arm64":
        src = arm64.source_of(insn)
        return src.dest if src is not None and src.kind != "call" else None
    ci = _first(insn.raw, insn.address)
    ops = list(ci.operands)
    i = _written_operand(ops, ci)
    return None if i is None else reg64(ci.reg_name(ops[i].reg))


_EXTEND = {x86.X86_INS_MOVZX: "zero", x86.X86_INS_MOVSX: "sign", x86.X86_INS_MOVSXD: "sign"}
_MOVES = frozenset({x86.X86_INS_MOV, x86.X86_INS_MOVABS, *_EXTEND})


def source_of(insn: Instruction, reg: Optional[str] = None) -> Optional[Source]:
    """Where the value of the register ``insn`` writes comes from (see :class:`Source`).

    Returns None when ``insn`` is not a call and writes no general-purpose register
    through an explicit operand (a store, a compare, ``cltq``).  ``reg``: the register asked
    about, for an instruction that writes two (arm64's ``ldp``, a base update; see
    :func:`kdumpext.arm64.source_of`); an x86-64 instruction's one destination is given anyway.
    """
    if insn.arch == "arm64":
        return arm64.source_of(insn, reg)
    ci = _first(insn.raw, insn.address)
    if ci.group(capstone.CS_GRP_CALL):
        return Source("call", "rax", 8, mem=insn.mem, reg=insn.reg_target, value=insn.target)
    ops = list(ci.operands)
    i = _written_operand(ops, ci)
    if i is None:
        return None
    dest = reg64(ci.reg_name(ops[i].reg)) or ""
    width = ops[i].size
    others = ops[:i] + ops[i + 1 :]
    src = others[0] if len(others) == 1 else None

    if src is not None and ci.id in _MOVES:
        extend = _EXTEND.get(ci.id, "")
        if src.type == x86.X86_OP_MEM:
            return Source("load", dest, width, mem=_mem_operand(ci, src), extend=extend)
        if src.type == x86.X86_OP_REG and reg64(ci.reg_name(src.reg)):
            return Source("copy", dest, width, reg=reg64(ci.reg_name(src.reg)), extend=extend)
        if src.type == x86.X86_OP_IMM:
            return Source("imm", dest, width, value=src.imm & ((1 << (8 * width)) - 1))
    if src is not None and ci.id == x86.X86_INS_LEA and src.type == x86.X86_OP_MEM:
        return Source("lea", dest, width, mem=_mem_operand(ci, src, size=0))
    if (
        src is not None
        and ci.id in (x86.X86_INS_XOR, x86.X86_INS_SUB)
        and src.type == x86.X86_OP_REG
        and src.reg == ops[i].reg
    ):
        return Source("imm", dest, width, value=0)  # the zeroing idiom
    return Source("other", dest, width, mem=insn.mem if insn.access else None)


def shift_right(insn: Instruction) -> Optional[Tuple[str, int]]:
    """``(register, bits)`` of a logical right shift by a constant (``shr $0x3,%rax``), else None."""
    if insn.arch != "x86_64":
        return None
    ci = _first(insn.raw, insn.address)
    ops = list(ci.operands)
    if ci.id != x86.X86_INS_SHR or len(ops) != 2 or ops[1].type != x86.X86_OP_IMM or ops[0].type != x86.X86_OP_REG:
        return None
    reg = reg64(ci.reg_name(ops[0].reg))
    return (reg, int(ops[1].imm)) if reg and ops[0].size == 8 else None


def stored_register(insn: Instruction, offset: int = 0) -> Optional[str]:
    """The general-purpose register a ``mov %reg,mem`` or ``push %reg`` writes to memory (64-bit name),
    at byte ``offset`` of what it writes (arm64's ``stp`` writes two: :func:`kdumpext.arm64.stored_register`).

    None for anything else (a store of an immediate, a read-modify-write, a string op).
    """
    if insn.arch == "arm64":
        return arm64.stored_register(insn, offset)
    if offset != 0:
        return None
    ci = _first(insn.raw, insn.address)
    ops = list(ci.operands)
    if ci.id == x86.X86_INS_PUSH and len(ops) == 1 and ops[0].type == x86.X86_OP_REG:
        return reg64(ci.reg_name(ops[0].reg))
    if ci.id in _MOVES and len(ops) == 2 and ops[0].type == x86.X86_OP_MEM and ops[1].type == x86.X86_OP_REG:
        return reg64(ci.reg_name(ops[1].reg))
    return None
