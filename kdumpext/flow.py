"""Control-flow graph and backward dataflow over one function's decoded instructions (x86-64, arm64)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import capstone
from capstone import x86

from . import arm64
from .arch import ARCHES, X86_64, Arch
from .decode import Source, source_of
from .model import Instruction, MASK64, MemOperand

__all__ = [
    "ENTRY",
    "UNKNOWN",
    "CALLER_SAVED",
    "Block",
    "Cfg",
    "build_cfg",
    "reaching_defs",
    "value_sources",
    "sp_offsets",
    "stack_slot",
    "reaching_stores",
]

#: Pseudo-definition: the value the register or stack slot had when the function was entered.
ENTRY: int = -1
#: Pseudo-definition: a path comes from code the CFG does not know (a block no known
#: branch reaches: the target of a jump table, code after a ``.cold`` piece not given).
UNKNOWN: int = -2

#: Registers an x86-64 call may change (System V x86-64 psABI, 3.2.1): rax, rcx, rdx, rsi,
#: rdi, r8-r11. rbx, rbp, r12-r15 (and rsp) survive a call.  Each architecture's are
#: :attr:`kdumpext.arch.Arch.caller_saved`.
CALLER_SAVED: Tuple[str, ...] = X86_64.caller_saved


# --- what an instruction does to control flow and the stack, from capstone's ids ---------

_CS = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
_CS.detail = True


@lru_cache(maxsize=8192)
def _cs(raw: bytes, address: int) -> Any:
    """capstone's (Intel-syntax, detailed) view of one instruction's bytes.

    :mod:`kdumpext.decode` keeps ids and immediates to itself; the few facts this
    module needs beyond :class:`~kdumpext.model.Instruction` (is this ``jmp``
    conditional, the ``$imm`` of ``sub $imm,%rsp``) come from here.
    """
    for ci in _CS.disasm(raw, address, 1):
        return ci
    raise ValueError(f"not an x86-64 instruction at {address:#x}: {raw.hex(' ')}")


# ud0, ud1, ud2: BUG() and WARN() (x86 report_bug()), see build_cfg
_TRAPS = frozenset({x86.X86_INS_UD0, x86.X86_INS_UD1, x86.X86_INS_UD2})
_PUSHES = frozenset({x86.X86_INS_PUSH, x86.X86_INS_PUSHFQ})
_POPS = frozenset({x86.X86_INS_POP, x86.X86_INS_POPFQ})
# Instructions after which nothing of this function runs: int3 is padding after
# ret/jmp (straight-line-speculation hardening) or a breakpoint; iret leaves.
_STOPS = frozenset({x86.X86_INS_INT3, x86.X86_INS_IRET, x86.X86_INS_IRETD, x86.X86_INS_IRETQ})
# Conditional writes: cmovcc, and cmpxchg* (which loads the accumulator only on
# failure). They may leave the old value, so they do not end the search for
# earlier definitions.
_MAYBE_WRITES = frozenset(
    getattr(x86, name)
    for name in dir(x86)
    if name.startswith("X86_INS_CMOV") or name.startswith("X86_INS_CMPXCHG")
)

_NONE, _MAY, _KILL = 0, 1, 2  # what an instruction does to the value searched for


def _arch(insn: Instruction) -> Arch:
    return ARCHES.get(insn.arch, X86_64)


def _x86_id(insn: Instruction) -> int:
    """capstone's x86 id of an x86-64 instruction; 0 (no id) for another architecture's."""
    return _cs(insn.raw, insn.address).id if insn.arch == "x86_64" else 0


def _unconditional(insn: Instruction) -> bool:
    """A jump that never falls through (``jmp``; arm64 ``b``, ``br``)."""
    if insn.arch == "arm64":
        return not arm64.conditional(insn)
    return bool(_x86_id(insn) == x86.X86_INS_JMP)


def _is_trap(insn: Instruction) -> bool:
    """BUG()/WARN()'s trap (see :attr:`kdumpext.arch.Arch.traps`)."""
    return insn.mnemonic in _arch(insn).traps

_Frame = Tuple[Optional[int], Optional[int]]  # (rsp, rbp) - rsp at entry; None: unknown


# --- the graph ------------------------------------------------------------------------


@dataclass
class Block:
    """A basic block: ``cfg.insns[start:end]``, entered only at ``start``.

    ``succs`` and ``preds`` are block ids. A block without successors leaves the
    function (``ret``, a tail call, an indirect jump) or stops (``int3``, BUG()'s
    ``ud2``).
    """

    id: int
    start: int  #: index into ``cfg.insns`` of the first instruction
    end: int  #: one past the last
    succs: List[int] = field(default_factory=list)
    preds: List[int] = field(default_factory=list)


@dataclass
class Cfg:
    """The control-flow graph of one function: its instructions and their basic blocks.

    ``insns[0]`` is the function's entry. ``insns`` may join several address
    ranges of one function (the body and its ``.cold`` / ``.part`` pieces).
    """

    insns: List[Instruction]
    blocks: List[Block]
    _owner: List[int] = field(init=False, repr=False, compare=False)
    _index: Dict[int, int] = field(init=False, repr=False, compare=False)
    _frames: Optional[List[_Frame]] = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._owner = [0] * len(self.insns)
        for block in self.blocks:
            for i in range(block.start, block.end):
                self._owner[i] = block.id
        self._index = {}
        for i, insn in enumerate(self.insns):
            self._index.setdefault(insn.address, i)

    def block_of(self, index: int) -> Block:
        """The block holding ``insns[index]``; raises ValueError for an index out of range."""
        _check(self, index)
        return self.blocks[self._owner[index]]

    def index_of(self, address: int) -> Optional[int]:
        """Index of the instruction at ``address``, None if no instruction starts there."""
        return self._index.get(address)


def _check(cfg: Cfg, index: int) -> None:
    if not 0 <= index < len(cfg.insns):
        raise ValueError(f"instruction index {index} out of range (function has {len(cfg.insns)})")


def _successors(insns: Sequence[Instruction], i: int, index: Dict[int, int]) -> Tuple[List[int], bool]:
    """(indices control may go to after ``insns[i]``, whether it ends a block).

    Control falls through only to the next instruction of the same address range:
    the last instruction of a piece always ends a block.
    """
    insn = insns[i]
    nxt = i + 1
    falls = [nxt] if nxt < len(insns) and insns[nxt].address == insn.address + insn.size else []
    if insn.is_ret:
        return [], True
    if insn.is_jump:
        if insn.target is None:  # jmp *%rax, jmp *table(,%rax,8): leaves, as far as we can see
            return [], True
        here = index.get(insn.target)
        if not _unconditional(insn):  # jcc, jrcxz, loop; arm64 b.cond, cbz, tbz
            return sorted(set(falls + ([] if here is None else [here]))), True
        if here is None or insn.target == insn.address + insn.size:
            # outside: a tail call. "jmp .+0" is the placeholder of an unrelocated
            # jmp to a symbol in a .ko (e9 00 00 00 00); gcc never jumps to the next insn.
            return [], True
        return [here], True
    if _x86_id(insn) in _STOPS:
        return [], True
    if _is_trap(insn):
        return falls, True  # build_cfg decides
    # calls return here (a noreturn callee cannot be told from the bytes)
    return falls, not falls


def build_cfg(insns: Sequence[Instruction]) -> Cfg:
    """The control-flow graph of a function whose instructions are ``insns``, entry first.

    A branch to one of ``insns``' addresses is an edge; one to an address outside is
    a tail call and leaves, as do ``ret``, indirect jumps, ``int3`` and ``iret``.
    Conditional jumps have two successors; calls fall through to the next
    instruction if it follows in the same address range. ``ud2`` is BUG() or WARN()
    (the trap handler resumes after a WARN's): it falls through unless the next
    instruction is a branch target (then it is a BUG() before another block, or a
    WARN() whose continuation is reached anyway; code nothing branches to right
    after a ``ud2`` can only be the WARN's continuation). Instructions no path from
    ``insns[0]`` reaches still get blocks.
    """
    insns = list(insns)
    index: Dict[int, int] = {}
    for i, insn in enumerate(insns):
        index.setdefault(insn.address, i)
    succs = [_successors(insns, i, index) for i in range(len(insns))]
    targets = {t for i, (ts, _) in enumerate(succs) if insns[i].is_jump for t in ts if t != i + 1}
    leaders: Set[int] = {0} if insns else set()
    for i, (ts, ends) in enumerate(succs):
        if ends and ts == [i + 1] and i + 1 in targets and _is_trap(insns[i]):
            succs[i] = [], True
        if ends:
            leaders.add(i + 1)
            leaders.update(ts)
    starts = sorted(s for s in leaders if s < len(insns))
    blocks = [Block(n, s, e, []) for n, (s, e) in enumerate(zip(starts, starts[1:] + [len(insns)]))]
    cfg = Cfg(insns, blocks)
    for block in blocks:
        for t in succs[block.end - 1][0]:
            to = cfg.block_of(t).id
            if to not in block.succs:
                block.succs.append(to)
                blocks[to].preds.append(block.id)
    return cfg


# --- backward search -----------------------------------------------------------------


def _search(cfg: Cfg, index: int, effect: Callable[[int], int]) -> List[int]:
    """Indices of the instructions whose ``effect`` may reach the point before
    ``insns[index]``, walking every path back; ENTRY / UNKNOWN where a path
    leaves the function's entry / a block no known branch reaches without a
    ``_KILL``. A ``_MAY`` instruction is reported and the walk goes on past it."""
    found: Set[int] = set()

    def scan(block: Block, stop: int) -> bool:
        for j in range(stop - 1, block.start - 1, -1):
            e = effect(j)
            if e != _NONE:
                found.add(j)
            if e == _KILL:
                return True
        return False

    first = cfg.block_of(index)
    if scan(first, index):
        return sorted(found)
    work = [first]
    seen: Set[int] = set()
    while work:
        block = work.pop()
        if block.start == 0:
            found.add(ENTRY)
        elif not block.preds:
            found.add(UNKNOWN)
        for p in block.preds:
            if p not in seen:
                seen.add(p)
                pred = cfg.blocks[p]
                if not scan(pred, pred.end):
                    work.append(pred)
    return sorted(found)


def reaching_defs(cfg: Cfg, reg: str, index: int) -> List[int]:
    """Indices of the instructions whose write of ``reg`` may reach the point just
    before ``insns[index]`` runs, sorted (so the pseudo-definitions come first):
    :data:`ENTRY` when a path from the entry writes nothing, :data:`UNKNOWN` when a
    path that comes from code the CFG does not know writes nothing.

    ``reg`` is a 64-bit name (``rax``, ``r12``). Any write counts, also a partial one
    (``mov %al``, ``setcc``) and a 32-bit one (which zeroes the upper half); a call
    writes every register its architecture's calls may change (:data:`CALLER_SAVED` on x86-64).
    ``cmov`` and ``cmpxchg`` may
    keep the old value: they are listed, and so are the definitions before them.
    Raises ValueError for an index out of range.
    """
    _check(cfg, index)

    def effect(j: int) -> int:
        insn = cfg.insns[j]
        if insn.is_call and reg in _arch(insn).caller_saved:
            return _KILL
        if reg not in insn.regs_written:
            return _NONE
        return _MAY if _x86_id(insn) in _MAYBE_WRITES else _KILL

    return _search(cfg, index, effect)


def value_sources(cfg: Cfg, reg: str, index: int) -> List[Tuple[int, Optional[Source]]]:
    """:func:`reaching_defs` paired with :func:`kdumpext.decode.source_of` of each
    (None for ENTRY, UNKNOWN, and writes that are not through an explicit operand)."""
    return [(j, source_of(cfg.insns[j]) if j >= 0 else None) for j in reaching_defs(cfg, reg, index)]


# --- the stack -----------------------------------------------------------------------


def _signed(value: int) -> int:
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


def _step(insn: Instruction, sp: Optional[int], bp: Optional[int]) -> _Frame:
    """(rsp, rbp) relative to rsp at entry after ``insn``, from the values before it."""
    if insn.arch != "x86_64":
        return _step_regs(insn, sp, bp)
    ci = _cs(insn.raw, insn.address)
    wrote = insn.regs_written
    if ci.id in _PUSHES:
        return (None if sp is None else sp - 8), bp
    if ci.id == x86.X86_INS_LEAVE:  # mov %rbp,%rsp; pop %rbp
        return (None if bp is None else bp + 8), None
    if insn.is_call:
        return sp, bp  # the callee pops the return address when it returns
    src = source_of(insn) if "rsp" in wrote or "rbp" in wrote else None
    if ci.id in _POPS:
        if src is not None and src.dest == "rsp":
            return None, bp  # pop %rsp
        return (None if sp is None else sp + 8), (None if "rbp" in wrote else bp)
    if src is None or src.dest not in ("rsp", "rbp"):
        return (None if "rsp" in wrote else sp), (None if "rbp" in wrote else bp)
    frame = {"rsp": sp, "rbp": bp}
    value: Optional[int] = None
    if src.width != 8:
        pass  # sub $0x10,%esp would truncate the pointer
    elif src.kind == "copy" and src.reg in frame:
        value = frame[src.reg or ""]  # mov %rsp,%rbp / mov %rbp,%rsp
    elif src.kind == "lea" and src.mem is not None and src.mem.index is None:
        base = frame.get(src.mem.base or "")
        value = None if base is None else base + src.mem.disp  # lea -0x8(%rbp),%rsp
    elif ci.id in (x86.X86_INS_ADD, x86.X86_INS_SUB):
        ops = list(ci.operands)
        old = frame[src.dest]
        if len(ops) == 2 and ops[1].type == x86.X86_OP_IMM and old is not None:
            imm = _signed(ops[1].imm)
            value = old + imm if ci.id == x86.X86_INS_ADD else old - imm
    return (value, bp) if src.dest == "rsp" else (sp, value)


def _step_regs(insn: Instruction, sp: Optional[int], fp: Optional[int]) -> _Frame:
    """:func:`_step` for a load/store architecture (arm64): the stack pointer moves by ``sub``/``add``
    of a constant and by a pre- or post-indexed access's base update (``stp x29, x30, [sp,
    #-0x30]!``), the frame pointer is set from it (``mov x29, sp``); a call leaves both as they were."""
    arch = _arch(insn)
    wrote = insn.regs_written
    if insn.is_call or (arch.sp not in wrote and arch.fp not in wrote):
        return sp, fp
    frame = {arch.sp: sp, arch.fp: fp}
    out = dict(frame)
    for reg in (arch.sp, arch.fp):
        if reg not in wrote:
            continue
        src = source_of(insn, reg)
        value: Optional[int] = None
        if src is None or src.width != 8:
            pass
        elif src.kind == "copy" and src.reg in frame:
            value = frame[src.reg or ""]
        elif src.kind == "lea" and src.mem is not None and src.mem.index is None:
            base = frame.get(src.mem.base or "")
            value = None if base is None else base + src.mem.disp
        out[reg] = value
    return out[arch.sp], out[arch.fp]


def _meet(a: Optional[_Frame], b: _Frame) -> _Frame:
    """Where two paths join: what they agree on (``a`` None: no path seen yet)."""
    if a is None:
        return b
    return (a[0] if a[0] == b[0] else None), (a[1] if a[1] == b[1] else None)


def _frames(cfg: Cfg) -> List[_Frame]:
    """(rsp, rbp) relative to rsp at entry before each instruction (rbp only where
    it was set from rsp: a frame pointer), by forward dataflow over the CFG."""
    if cfg._frames is not None:
        return cfg._frames
    state_in: Dict[int, _Frame] = {}  # block id -> frame at its top, for blocks reached
    for block in cfg.blocks:
        if block.start == 0:
            state_in[block.id] = (0, None)
        elif not block.preds:
            state_in[block.id] = (None, None)  # reached from code we do not know
    out: List[_Frame] = [(None, None)] * len(cfg.insns)
    work = sorted(state_in, reverse=True)
    while work:
        block = cfg.blocks[work.pop()]
        sp, bp = state_in[block.id]
        for i in range(block.start, block.end):
            out[i] = (sp, bp)
            sp, bp = _step(cfg.insns[i], sp, bp)
        for s in block.succs:
            new = _meet(state_in.get(s), (sp, bp))
            if new != state_in.get(s):
                state_in[s] = new
                work.append(s)
    cfg._frames = out
    return out


def sp_offsets(cfg: Cfg) -> List[Optional[int]]:
    """For each instruction, ``rsp - (rsp at entry)`` just before it runs; None where
    unknown or where paths disagree.

    0 at the entry; ``push`` -8, ``pop`` +8, ``sub``/``add $imm,%rsp``, ``lea
    disp(%rsp),%rsp``; a call leaves rsp as it was once it returns. rbp is followed
    from ``mov %rsp,%rbp`` on, so ``leave`` and ``mov %rbp,%rsp`` are understood.
    """
    return [sp for sp, _ in _frames(cfg)]


def stack_slot(cfg: Cfg, index: int, mem: Optional[MemOperand] = None) -> Optional[int]:
    """The stack address, relative to rsp at entry, that ``disp(%rsp)`` or (with a
    frame pointer) ``disp(%rbp)`` means at ``insns[index]``; ``mem`` defaults to that
    instruction's memory operand (:class:`~kdumpext.model.MemOperand`). None for any
    other operand, an index register, or an unknown rsp/rbp."""
    _check(cfg, index)
    mem = cfg.insns[index].mem if mem is None else mem
    if mem is None or mem.index is not None or mem.segment is not None:
        return None
    sp, bp = _frames(cfg)[index]
    arch = _arch(cfg.insns[index])
    base = {arch.sp: sp, arch.fp: bp}.get(mem.base or "")
    return None if base is None else base + mem.disp


def _stack_store(cfg: Cfg, j: int) -> Optional[Tuple[Optional[int], int]]:
    """(first byte, size) of the stack bytes ``insns[j]`` writes, relative to rsp at
    entry, the first byte None when it is somewhere in the stack; None when it
    writes no stack memory we can see."""
    insn = cfg.insns[j]
    sp, bp = _frames(cfg)[j]
    if _x86_id(insn) in _PUSHES:
        return (None if sp is None else sp - 8), 8
    mem = insn.mem
    if mem is None or insn.access not in ("write", "read-write") or mem.segment is not None:
        return None
    arch = _arch(insn)
    if mem.base == arch.sp or (mem.base == arch.fp and bp is not None):
        slot = stack_slot(cfg, j)
        return (slot if mem.size else None), mem.size
    return None


def reaching_stores(cfg: Cfg, slot: int, size: int, index: int) -> List[int]:
    """Indices of the instructions that may have last written any of the stack bytes
    ``[slot, slot + size)`` before ``insns[index]`` runs, sorted; :data:`ENTRY` when
    a path from the entry stores none of them (:data:`UNKNOWN`: a path from unknown code).

    ``slot`` is relative to rsp at entry (see :func:`sp_offsets`, :func:`stack_slot`).
    Stores are ``push`` and writes to ``disp(%rsp)`` or, with a frame pointer,
    ``disp(%rbp)``. A store that covers the bytes ends the walk back; one that
    covers part of them, or an unknown part of the stack (``(%rsp,%rbx,1)``), is
    listed and the walk goes on (also when several such stores together cover
    the bytes). Writes through other registers (a callee filling a
    buffer on our stack, ``rep stos`` from ``%rdi``) are not seen.
    """
    _check(cfg, index)

    def effect(j: int) -> int:
        store = _stack_store(cfg, j)
        if store is None:
            return _NONE
        first, n = store
        if first is None:
            return _MAY
        if first + n <= slot or slot + size <= first:
            return _NONE
        return _KILL if first <= slot and slot + size <= first + n else _MAY

    return _search(cfg, index, effect)
