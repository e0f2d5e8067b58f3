"""The narrow seam between the analysis and a program: code, variables, types and symbols at an address.

The explain and provenance stages ask a :class:`ProgramView` for what they need and
never touch drgn themselves; :class:`DrgnView` answers from a drgn ``Program`` (a dump,
or the text program of an oops log).  Tests may answer from hand-built data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Protocol, Tuple, Union

from .dwarf import CallSite, DebugFile, FunctionInfo, VarLoc, debug_file
from .arch import Arch, arch_of
from .decode import source_of
from .model import Instruction, MASK64

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = ["Symbol", "Code", "ProgramView", "DrgnView", "clone_suffix", "THUNK_REGS", "with_target_name", "branch_register", "module_plt_target", "unrelocated_call",
           "as_it_runs"]

_MAX_FUNCTION = 1 << 16  # bytes of one function we are willing to decode
#: ftrace's entry hooks (``-mfentry``; ``mcount`` for older compilers): nops at run time.
_FTRACE_HOOKS = frozenset({"__fentry__", "mcount", "_mcount", "__mcount"})
#: pv_ops.lock members called with the callee-save convention (the irq ones all are).
_PV_CALLEE_SAVE_LOCK = frozenset({"lock.queued_spin_unlock", "lock.vcpu_is_preempted"})

#: Registers of the x86-64 retpoline thunk array, in slot order (arch/x86/lib/retpoline.S:
#: ``__x86_indirect_thunk_array`` is 32-byte slots for rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15).
THUNK_REGS = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
              "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
_THUNK_SLOT = 32
_CLONE_MARKS = (".isra.", ".constprop.", ".part.", ".cold", ".lto_priv.", ".localalias")


def clone_suffix(name: str) -> Tuple[str, str]:
    """``("foo", ".isra.0")`` for ``foo.isra.0``; GCC's clone and split suffixes, in any combination."""
    cut = min((i for i in (name.find(m) for m in _CLONE_MARKS) if i > 0), default=-1)
    return (name, "") if cut < 0 else (name[:cut], name[cut:])


@dataclass(frozen=True)
class Symbol:
    """An ELF symbol: ``name`` at ``address``, ``size`` bytes."""

    name: str
    address: int
    size: int


@dataclass
class Code:
    """The decoded machine code of one function: its body and the ``.cold`` pieces its branches reach."""

    name: str  # the symbol: "foo.isra.0"
    start: int
    end: int
    module: str = ""  # "" for vmlinux
    insns: List[Instruction] = field(default_factory=list)
    _index: Dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {insn.address: i for i, insn in enumerate(self.insns)}

    def index_of(self, pc: int) -> Optional[int]:
        """Index of the instruction starting at ``pc`` (None if ``pc`` is not an instruction boundary)."""
        return self._index.get(pc)

    def where(self, pc: int, module: bool = True) -> str:
        """``foo+0x1f [mod]`` for an address inside this code (``module=False``: ``foo+0x1f``)."""
        return f"{self.name}+{pc - self.start:#x}" + (f" [{self.module}]" if self.module and module else "")

    def contains(self, address: Optional[int]) -> bool:
        """Whether ``address`` is inside the function's main body (its symbol's range)."""
        return address is not None and self.start <= address < max(self.end, self.start + 1)


class ProgramView(Protocol):
    """What the analysis needs from a program (all lookups answer None/[] when they cannot)."""

    #: the architecture of its code (kdumpext.arch)
    arch: Arch

    def code(self, pc: int) -> Optional[Code]:
        """The function containing ``pc``, decoded as it is in memory (alternatives applied)."""

    def variables_at(self, pc: int) -> List[VarLoc]:
        """Variables and parameters in scope at ``pc``, innermost scope last."""

    def function_info(self, pc: int) -> Optional[FunctionInfo]:
        """DWARF's subprogram containing ``pc``: source name, parameters, return type."""

    def call_site(self, return_pc: int) -> Optional[CallSite]:
        """DWARF's call site whose return address is ``return_pc`` (argument values in the caller's terms)."""

    def type_named(self, name: str, filename: str = "") -> Optional["drgn.Type"]:
        """The C type named ``name`` (``filename``: where DWARF says it is defined)."""

    def pointer_to(self, t: "drgn.Type") -> "drgn.Type":
        """``t *``."""

    def symbol_at(self, address: int) -> Optional[Symbol]:
        """The symbol containing ``address``."""

    def global_at(self, address: int) -> Optional[Tuple[str, int, Optional["drgn.Type"]]]:
        """``(variable, offset, type)`` of the global variable containing ``address``."""

    def percpu_at(self, offset: int) -> Optional[Tuple[str, int, Optional["drgn.Type"]]]:
        """``(variable, offset inside it, type)`` of the per-cpu variable at per-cpu ``offset``."""

    def thunk_register(self, address: int) -> Optional[str]:
        """The register an indirect-branch thunk at ``address`` jumps through (any alias of the symbol)."""

    def return_thunk(self, address: int) -> bool:
        """Whether ``address`` is the return thunk (``jmp __x86_return_thunk`` is a ``ret``)."""

    def read_word(self, address: int) -> Optional[int]:
        """The 8-byte word at ``address``, None if the dump does not hold it."""


class DrgnView:
    """:class:`ProgramView` over a drgn ``Program`` with debug info; answers are cached per instance."""

    def __init__(self, prog: "drgn.Program") -> None:
        self.prog = prog
        self.arch = arch_of(prog)  # how its code is decoded
        self._code: Dict[int, Optional[Code]] = {}
        self._dwarf_answers: Dict[Tuple[str, int], Any] = {}
        self._percpu: Optional[List[Tuple[int, int, str]]] = None
        self._thunks: Optional[Tuple[int, int]] = None
        self._return_thunk: Optional[int] = None

    # -- symbols and code ------------------------------------------------------------

    def symbol_at(self, address: int) -> Optional[Symbol]:
        return self._symbol(address)

    def _symbol_named(self, name: str) -> Optional[Symbol]:
        return self._symbol(name)

    def _symbol(self, key: Union[int, str]) -> Optional[Symbol]:
        if isinstance(key, int):
            key &= MASK64  # rip + disp and other sums wrap around as the CPU's do
        try:
            s = self.prog.symbol(key)
        except (LookupError, OverflowError, ValueError):
            return None
        return Symbol(s.name, s.address, s.size or 0)

    def _decode(self, sym: Symbol, pc: int) -> List[Instruction]:
        import drgn

        size = sym.size
        if size <= 0 or size > _MAX_FUNCTION:
            size = min(max(pc - sym.address + 16, 16), _MAX_FUNCTION)
        try:
            raw = self.prog.read(sym.address, size)
        except drgn.FaultError:
            return []
        return self.arch.decode_all(raw, sym.address, False)

    def code(self, pc: int) -> Optional[Code]:
        sym = self.symbol_at(pc)
        if sym is None:
            return None
        if sym.address in self._code:
            return self._code[sym.address]
        name, suffix = clone_suffix(sym.name)
        main = sym
        if suffix.startswith(".cold"):
            # inside the cold part: analyse the function it belongs to
            main = self._symbol_named(name) or sym
        insns = self._decode(main, pc if main is sym else main.address)
        pieces = {main.address}
        # the .cold pieces the body branches to are the same function
        for insn in list(insns):
            t = insn.target
            if insn.is_jump and t is not None and not main.address <= t < main.address + max(main.size, 1):
                cold = self.symbol_at(t)
                if cold is not None and cold.address not in pieces and cold.name.startswith(main.name + ".cold"):
                    pieces.add(cold.address)
                    insns += self._decode(cold, cold.address)
        insns = [as_it_runs(insn, self.symbol_at, self._pv_ops_member) for insn in insns]
        mod = self._module_name(pc)
        code = Code(main.name, main.address, main.address + (main.size or 0), mod, insns) if insns else None
        self._code[sym.address] = code
        self._code[main.address] = code
        return code

    def _pv_ops_member(self, address: int) -> Optional[str]:
        """The member path of ``pv_ops`` at ``address`` (None elsewhere)."""
        g = self.global_at(address)
        if g is None or g[0] != "pv_ops" or g[2] is None:
            return None
        from .members import member_of

        m = member_of(g[2], g[1], 8)
        return m.path if m is not None else None

    def _module_name(self, pc: int) -> str:
        import drgn

        try:
            mod = self.prog.module(pc)
        except LookupError:
            return ""
        return "" if isinstance(mod, drgn.MainModule) else mod.name

    # -- DWARF -----------------------------------------------------------------------

    def _dwarf_address(self, pc: int) -> Optional[Tuple[str, int]]:
        """``(debug file, pc as its DWARF sees it)``: a link address, or an offset in a module's section."""
        import drgn

        try:
            mod = self.prog.module(pc)
        except LookupError:
            return None
        path = mod.debug_file_path
        if path is None:
            return None
        if isinstance(mod, drgn.RelocatableModule):
            best: Optional[Tuple[str, int]] = None
            for name, addr in mod.section_addresses.items():
                if addr <= pc and (best is None or addr > best[1]) and (name.startswith(".text") or
                                                                        name.startswith(".init.text")):
                    best = (name, addr)
            return (path, pc - best[1]) if best else None
        return path, pc - (mod.debug_file_bias or 0)

    def _dwarf(self, pc: int, what: str, ask: Callable[[DebugFile, int, str], Any]) -> Any:
        """``ask(debug file, pc as its DWARF sees it, the function's source name)``, once per ``(what, pc)``.

        The source name picks the function where a module's sections overlap in DWARF (its
        ``.text`` and ``.init.text`` both start at 0).  None when there is no debug file, or its
        DWARF is damaged: that only loses the names.
        """
        key = (what, pc)
        if key not in self._dwarf_answers:
            sym = self.symbol_at(pc)
            where = self._dwarf_address(pc)
            answer = None
            if where is not None and sym is not None:
                try:
                    answer = ask(debug_file(where[0]), where[1], clone_suffix(sym.name)[0])
                    if not answer and pc == sym.address:
                        past = self._past_entry_pad(pc, sym)
                        if past != pc:
                            answer = ask(debug_file(where[0]), where[1] + past - pc, clone_suffix(sym.name)[0])
                except Exception:  # noqa: BLE001 - damaged DWARF only loses the names
                    answer = None
            self._dwarf_answers[key] = answer
        return self._dwarf_answers[key]

    def _past_entry_pad(self, start: int, sym: Symbol) -> int:
        """Past the NOPs a function's symbol may start with: ftrace's patchable entry (arm64's
        ``-fpatchable-function-entry=2``, Debian's kernels) puts DWARF's ``DW_AT_low_pc`` after
        them, so at the symbol's own address DWARF knows no function."""
        code = self.code(start)
        if code is None or code.start != start:
            return start
        pc = start
        for insn in code.insns[:4]:
            if insn.mnemonic != "nop" or insn.address != pc:
                break
            pc = insn.address + insn.size
        return pc if pc < sym.address + sym.size else start

    def variables_at(self, pc: int) -> List[VarLoc]:
        found: Optional[List[VarLoc]] = self._dwarf(pc, "variables", lambda d, a, f: d.variables_at(a, f))
        return found or []

    def inlined_at(self, pc: int) -> List[str]:
        """The functions inlined at ``pc``, innermost first (DWARF's ``DW_TAG_inlined_subroutine``
        chain; the function itself is not listed)."""
        scopes = self._dwarf(pc, "scopes", lambda d, a, f: d.scopes_at(a, f)) or []
        # a lexical block inside an inlined call repeats its scope: one name per inlined call
        return [s.name for s in scopes[::-1]
                if s.inlined and s.die is not None and s.die.tag == "DW_TAG_inlined_subroutine"]

    def function_info(self, pc: int) -> Optional[FunctionInfo]:
        def ask(d: DebugFile, a: int, f: str) -> Optional[FunctionInfo]:
            info = d.function_at(a, f)
            return info if info is not None and f in (info.name, clone_suffix(info.linkage_name)[0]) else None
        found: Optional[FunctionInfo] = self._dwarf(pc, "function", ask)
        return found

    def call_site(self, return_pc: int) -> Optional[CallSite]:
        # the call is the instruction before the return address: look where it is
        found: Optional[CallSite] = self._dwarf(return_pc - 1, "call site", lambda d, a, f: d.call_site(a + 1, f))
        return found

    # -- types and variables -----------------------------------------------------------

    def type_named(self, name: str, filename: str = "") -> Optional["drgn.Type"]:
        if not name or "<anonymous>" in name:
            return None
        if filename:
            try:
                return self.prog.type(name, filename)
            except (LookupError, SyntaxError, ValueError):
                pass
        try:
            return self.prog.type(name)
        except (LookupError, SyntaxError, ValueError):
            return None

    def pointer_to(self, t: "drgn.Type") -> "drgn.Type":
        return self.prog.pointer_type(t)

    def global_at(self, address: int) -> Optional[Tuple[str, int, Optional["drgn.Type"]]]:
        sym = self.symbol_at(address)
        if sym is None:
            return None
        try:
            t: Optional["drgn.Type"] = self.prog.variable(sym.name).type_
        except (LookupError, ValueError):
            t = None
        return sym.name, address - sym.address, t

    def percpu_at(self, offset: int) -> Optional[Tuple[str, int, Optional["drgn.Type"]]]:
        """Per-cpu symbols are offsets into the per-cpu area, below the kernel's text: searched once."""
        if self._percpu is None:
            text = self._symbol_named("_text")
            limit = min(text.address if text else 1 << 63, 1 << 32)
            self._percpu = sorted((s.address, s.size, s.name) for s in self.prog.symbols()
                                  if s.address < limit and s.size)
        for a, size, name in self._percpu:
            if a <= offset < a + size:
                try:
                    t: Optional["drgn.Type"] = self.prog.variable(name).type_
                except (LookupError, ValueError):
                    t = None
                return name, offset - a, t
        return None

    def thunk_register(self, address: int) -> Optional[str]:
        """By offset from ``__x86_indirect_thunk_array`` (or ``_rax``): never by the symbol's spelling."""
        if self._thunks is None:
            base = self._symbol_named("__x86_indirect_thunk_array") or self._symbol_named("__x86_indirect_thunk_rax")
            self._thunks = (base.address, base.address + _THUNK_SLOT * len(THUNK_REGS)) if base else (0, 0)
        lo, hi = self._thunks
        if lo <= address < hi and (address - lo) % _THUNK_SLOT == 0:
            return THUNK_REGS[(address - lo) // _THUNK_SLOT]
        sym = self.symbol_at(address)
        if sym is not None and sym.address == address:
            for prefix in ("__x86_indirect_thunk_", "__x86_indirect_call_thunk_", "__x86_indirect_jump_thunk_"):
                if sym.name.startswith(prefix) and sym.name[len(prefix):] in THUNK_REGS:
                    return sym.name[len(prefix):]
        return None

    def return_thunk(self, address: int) -> bool:
        """By the address of ``__x86_return_thunk`` (any alias of it), as for the indirect thunks."""
        if self._return_thunk is None:
            sym = self._symbol_named("__x86_return_thunk")
            self._return_thunk = sym.address if sym is not None else 0
        return address == self._return_thunk != 0

    def read_word(self, address: int) -> Optional[int]:
        import drgn

        try:
            return int(self.prog.read_u64(address & MASK64))
        except (drgn.FaultError, ValueError, OverflowError):
            return None


def unrelocated_call(insn: Instruction) -> bool:
    """Whether a direct call still has the placeholder a .ko file holds before the module loader
    relocates it (code read from the file, for an oops log): arm64's ``bl`` to itself, x86-64's
    ``call`` to the next instruction.  No compiled C calls either place."""
    return insn.is_call and insn.target is not None and insn.target in (insn.address, insn.address + insn.size)


def module_plt_target(view: ProgramView, address: int) -> Optional[int]:
    """Where an arm64 module PLT entry at ``address`` branches (arch/arm64/include/asm/module.h
    ``struct plt_entry``: ``adrp x16, page; add x16, x16, #lo12; br x16``): a module's call to a
    kernel function out of ``bl`` range goes through one.  None for anything else (x86-64 code)."""
    if view.arch.name != "arm64":
        return None
    sym = view.symbol_at(address)
    if sym is not None and sym.address == address:
        return None  # a function, not a veneer
    words = [view.read_word(address), view.read_word(address + 8)]
    if None in words:
        return None
    raw = b"".join(w.to_bytes(8, "little") for w in words if w is not None)
    insns = view.arch.decode_all(raw[:12], address, False)
    if len(insns) != 3 or [i.mnemonic for i in insns] != ["adrp", "add", "br"] or insns[2].reg_target != "x16":
        return None
    page, low = source_of(insns[0], "x16"), source_of(insns[1], "x16")
    if page is None or low is None or page.kind != "imm" or low.kind != "lea" or low.mem is None \
            or low.mem.base != "x16" or page.value is None:
        return None
    return (page.value + low.mem.disp) & MASK64


def branch_register(view: ProgramView, insn: Instruction) -> Optional[str]:
    """The register an indirect call or jump goes through: ``call *%rax``, or a direct branch to a
    retpoline thunk (its slot's register); None for a direct branch or one through memory."""
    if insn.target is not None:
        return view.thunk_register(insn.target)
    return insn.reg_target


def with_target_name(view: ProgramView, insn: Instruction) -> Instruction:
    """``insn`` spelled with its direct target's name, as objdump names it: ``call kdx_probe``.

    A retpoline thunk is named by the register its slot jumps through
    (``__x86_indirect_thunk_rax``), whatever symbol the disassembler would pick for that
    address; a target inside a function is ``name+0x10``.  Other instructions are returned
    as they are.
    """
    import dataclasses

    if insn.target is None or not (insn.is_call or insn.is_jump):
        return insn
    reg = view.thunk_register(insn.target)
    if reg is not None:
        name = f"__x86_indirect_thunk_{reg}"
    else:
        sym = view.symbol_at(insn.target)
        if sym is None:
            return insn
        off = insn.target - sym.address
        name = sym.name + (f"+{off:#x}" if off else "")
    return dataclasses.replace(insn, op_str=name)


def as_it_runs(insn: Instruction, symbol_at: Callable[[int], Optional[Symbol]],
               pv_ops_member: Callable[[int], Optional[str]]) -> Instruction:
    """An instruction of a file's code as the running kernel executes it, for dataflow.

    ``call __fentry__`` (ftrace's hook at every function's entry) is a nop at run time, or a
    trampoline that saves and restores every register; a paravirt call site
    (``call *pv_ops+0xf0(%rip)``) of the irq and lock hooks calls a "callee-save" operation
    that keeps every register but %rax (arch/x86/include/asm/paravirt_types.h, ``PVOP_CALLEE*``;
    the running kernel patches most of them to ``pushf; pop %rax``, ``cli``...).  Read from a
    dump the code is already patched; read from a file (an oops log's code) these would look
    like calls that clobber the argument registers.

    :param symbol_at: the symbol containing an address.
    :param pv_ops_member: the member path of ``pv_ops`` at an address (``irq.save_fl``), or None.
    """
    import dataclasses

    if not insn.is_call:
        return insn
    if insn.target is not None:
        sym = symbol_at(insn.target)
        if sym is None or sym.address != insn.target or sym.name not in _FTRACE_HOOKS:
            return insn
        return dataclasses.replace(insn, mnemonic="nop", op_str=f"# call {sym.name}", is_call=False,
                                   target=None, regs_read=[], regs_written=[])
    mem = insn.mem
    if mem is None or mem.base != "rip" or mem.index is not None:
        return insn
    path = pv_ops_member((insn.address + insn.size + mem.disp) & MASK64)
    if path is None or not (path.startswith("irq.") or path in _PV_CALLEE_SAVE_LOCK):
        return insn
    return dataclasses.replace(insn, is_call=False, regs_written=["rax"])
