"""DWARF with pyelftools: the scopes and variable locations at a pc, and what it says across calls (call sites, entry values, signatures)."""

from __future__ import annotations

import bisect
import mmap
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from .model import MASK64

__all__ = [
    "DWARF_REGS", "DWARF_REGS_ARM64", "dwarf_regs", "VarLoc", "Scope", "DebugFile", "debug_file", "type_name", "decl_file",
    "Const", "RegPlus", "Deref", "EntryValue", "FrameBase", "Plus", "ParamRef", "Unknown", "CallValue",
    "evaluate", "location_value", "CallSite", "FunctionInfo",
]

#: DWARF register number -> drgn register name (System V x86-64 psABI, table 3.36).
DWARF_REGS = {
    0: "rax", 1: "rdx", 2: "rcx", 3: "rbx", 4: "rsi", 5: "rdi", 6: "rbp", 7: "rsp",
    8: "r8", 9: "r9", 10: "r10", 11: "r11", 12: "r12", 13: "r13", 14: "r14", 15: "r15",
}
#: arm64's (DWARF for the Arm 64-bit Architecture, 4.1: 0-30 are x0-x30, 31 is sp).
DWARF_REGS_ARM64 = {**{n: f"x{n}" for n in range(31)}, 31: "sp"}


def dwarf_regs(cu: Any = None) -> Dict[int, str]:
    """The register numbering of ``cu``'s machine (pyelftools' ``machine_arch``); x86-64's without one."""
    arch = getattr(getattr(getattr(cu, "dwarfinfo", None), "config", None), "machine_arch", "") if cu is not None \
        else ""
    return DWARF_REGS_ARM64 if arch == "AArch64" else DWARF_REGS


# --- What a DWARF expression computes, symbolically ------------------------------------------
#
# A call site's DW_AT_call_value, an indirect call's DW_AT_call_target and a variable's
# DW_AT_location are DWARF expressions over registers and memory that are known only in a
# dump.  ``evaluate`` runs them as the stack machine DWARF defines, over pyelftools' parsed
# ops, and leaves a small tree that says what to read: register plus constant, memory at
# an address, the value a register had on entry to the function.


def _num(n: int) -> str:
    """Small numbers in decimal, others in hex, as objdump and the kernel spell offsets."""
    return str(n) if -10 < n < 10 else (f"-{-n:#x}" if n < 0 else f"{n:#x}")


def _plus_text(base: str, k: int) -> str:
    return base if k == 0 else f"{base} - {_num(-k)}" if k < 0 else f"{base} + {_num(k)}"


@dataclass(frozen=True)
class Const:
    """A constant (``DW_OP_lit*``, ``DW_OP_const*``, ``DW_OP_implicit_value``) or, with
    ``is_address``, an address (``DW_OP_addr``: a link address in vmlinux; in a ``.ko``
    an offset into whichever section the relocation named)."""

    value: int
    is_address: bool = False

    @property
    def text(self) -> str:
        """``16``, ``0xdc0``, ``address 0x1b``."""
        return f"address {self.value:#x}" if self.is_address else _num(self.value)


@dataclass(frozen=True)
class RegPlus:
    """The value of register ``reg`` (drgn's name) plus ``addend`` (``DW_OP_bregN k``;
    ``DW_OP_regN`` is addend 0).  In a call site's value: the register in the CALLER's
    frame at the call (GCC names callee-saved registers there, which the unwinder knows)."""

    reg: str
    addend: int = 0

    @property
    def text(self) -> str:
        """``%rbx``, ``%rbx + 0x10``, ``%rbp - 1``."""
        return _plus_text(f"%{self.reg}", self.addend)


@dataclass(frozen=True)
class Deref:
    """``size`` bytes of memory at ``base`` (``DW_OP_deref``, ``DW_OP_deref_size``)."""

    base: "CallValue"
    size: int = 8

    @property
    def text(self) -> str:
        """``[%rbx - 1]``, ``[%rdi + 0x8] (4 bytes)``."""
        return f"[{self.base.text}]" + ("" if self.size == 8 else f" ({self.size} bytes)")


@dataclass(frozen=True)
class EntryValue:
    """The value register ``reg`` had on entry to the function the expression belongs to
    (``DW_OP_entry_value(DW_OP_regN)``, GNU: ``DW_OP_GNU_entry_value``): for a parameter,
    the argument as it arrived."""

    reg: str

    @property
    def text(self) -> str:
        """``entry value of %rdi``."""
        return f"entry value of %{self.reg}"


@dataclass(frozen=True)
class FrameBase:
    """The address ``offset`` bytes from the function's frame base (``DW_OP_fbreg``; GCC's
    kernel code sets the frame base to ``DW_OP_call_frame_cfa``): a stack slot's address."""

    offset: int

    @property
    def text(self) -> str:
        """``frame base - 0x30``."""
        return _plus_text("frame base", self.offset)


@dataclass(frozen=True)
class Plus:
    """``a + k`` where ``a`` is not a register or constant (``DW_OP_plus_uconst``,
    ``DW_OP_plus``/``DW_OP_minus`` with a constant)."""

    a: "CallValue"
    k: int

    @property
    def text(self) -> str:
        """``[%rbx] + 0x10``."""
        return _plus_text(self.a.text, self.k)


@dataclass(frozen=True)
class ParamRef:
    """The value the caller passed for the function's source parameter ``name``
    (``DW_OP_GNU_parameter_ref``): GCC's description of a parameter an ``.isra`` clone
    no longer receives whole (it gets ``p->a`` instead of ``p``); the caller's call site
    gives the value (:attr:`CallSite.param_values`)."""

    name: str

    @property
    def text(self) -> str:
        """``value passed for p``."""
        return f"value passed for {self.name}"


@dataclass(frozen=True)
class Unknown:
    """An expression this evaluator does not reduce (pieces, arithmetic on two unknowns,
    registers beyond the general-purpose ones); ``text`` spells its DWARF ops."""

    text: str


#: What a DWARF expression computes; every member has a ``text`` for evidence.
CallValue = Union[Const, RegPlus, Deref, EntryValue, FrameBase, Plus, ParamRef, Unknown]


class _Unsupported(Exception):
    """An op the evaluator does not reduce; the whole expression becomes :class:`Unknown`."""


def _op_text(op: Any) -> str:
    args = []
    for a in op.args:
        if isinstance(a, list) and a and hasattr(a[0], "op_name"):
            args.append(f"({_ops_text(a)})")
        else:
            args.append(str(a))
    if args and args[0].startswith("("):
        return str(op.op_name) + " ".join(args)
    return f"{op.op_name} {' '.join(args)}".strip()


def _ops_text(ops: Sequence[Any]) -> str:
    """The ops as ``readelf`` would spell them, e.g. ``DW_OP_entry_value(DW_OP_reg5); DW_OP_stack_value``."""
    return "; ".join(_op_text(op) for op in ops)


def _dwarf_reg(n: int, cu: Any = None) -> str:
    reg = dwarf_regs(cu).get(n)
    if reg is None:
        raise _Unsupported(f"DWARF register {n}")
    return reg


def _reg_of(op: Any, cu: Any = None) -> Optional[str]:
    """The register of a lone ``DW_OP_regN``/``DW_OP_regx`` op (``cu``'s numbering), else None."""
    name = op.op_name
    if name == "DW_OP_regx":
        return dwarf_regs(cu).get(int(op.args[0]))
    if name.startswith("DW_OP_reg") and name[len("DW_OP_reg"):].isdigit():
        return dwarf_regs(cu).get(int(name[len("DW_OP_reg"):]))
    return None


def _add(a: CallValue, k: int) -> CallValue:
    if isinstance(a, Const):
        return Const(a.value + k, a.is_address)
    if isinstance(a, RegPlus):
        return RegPlus(a.reg, a.addend + k)
    if isinstance(a, FrameBase):
        return FrameBase(a.offset + k)
    if isinstance(a, Plus):
        return Plus(a.a, a.k + k) if a.k + k else a.a
    return Plus(a, k) if k else a


_CONST_OPS = frozenset(("DW_OP_const1u", "DW_OP_const1s", "DW_OP_const2u", "DW_OP_const2s", "DW_OP_const4u",
                        "DW_OP_const4s", "DW_OP_const8u", "DW_OP_const8s", "DW_OP_constu", "DW_OP_consts"))
_BINARY = {
    "DW_OP_and": lambda a, b: a & b, "DW_OP_or": lambda a, b: a | b, "DW_OP_xor": lambda a, b: a ^ b,
    "DW_OP_mul": lambda a, b: a * b, "DW_OP_shl": lambda a, b: (a << b) & MASK64,
    "DW_OP_shr": lambda a, b: (a & MASK64) >> b, "DW_OP_shra": lambda a, b: a >> b,
}


def _step(op: Any, stack: List[CallValue], cu: Any) -> bool:
    """Apply one op to ``stack``; False at ``DW_OP_stack_value`` (the value is on top)."""
    name, args = op.op_name, op.args
    if name.startswith("DW_OP_lit") and name[len("DW_OP_lit"):].isdigit():
        stack.append(Const(int(name[len("DW_OP_lit"):])))
    elif name in _CONST_OPS:
        stack.append(Const(int(args[0])))
    elif name == "DW_OP_addr":
        stack.append(Const(int(args[0]), True))
    elif name == "DW_OP_bregx":
        stack.append(RegPlus(_dwarf_reg(int(args[0]), cu), int(args[1])))
    elif name.startswith("DW_OP_breg"):
        stack.append(RegPlus(_dwarf_reg(int(name[len("DW_OP_breg"):]), cu), int(args[0])))
    elif name == "DW_OP_regx" or (name.startswith("DW_OP_reg") and name[len("DW_OP_reg"):].isdigit()):
        stack.append(RegPlus(_dwarf_reg(int(args[0]) if name == "DW_OP_regx" else int(name[len("DW_OP_reg"):]), cu)))
    elif name == "DW_OP_fbreg":
        stack.append(FrameBase(int(args[0])))
    elif name == "DW_OP_call_frame_cfa":
        stack.append(Unknown("CFA"))
    elif name in ("DW_OP_deref", "DW_OP_deref_size", "DW_OP_deref_type", "DW_OP_GNU_deref_type"):
        stack.append(Deref(stack.pop(), 8 if name == "DW_OP_deref" else int(args[0])))
    elif name == "DW_OP_plus_uconst":
        stack.append(_add(stack.pop(), int(args[0])))
    elif name in ("DW_OP_plus", "DW_OP_minus"):
        b, a = stack.pop(), stack.pop()
        sign = 1 if name == "DW_OP_plus" else -1
        if isinstance(b, Const):
            stack.append(_add(a, sign * b.value))
        elif isinstance(a, Const) and sign == 1:
            stack.append(_add(b, a.value))
        else:
            raise _Unsupported(name)
    elif name in _BINARY:
        b, a = stack.pop(), stack.pop()
        if not (isinstance(a, Const) and isinstance(b, Const)):
            raise _Unsupported(name)
        stack.append(Const(_BINARY[name](a.value, b.value)))
    elif name in ("DW_OP_neg", "DW_OP_not", "DW_OP_abs"):
        a = stack.pop()
        if not isinstance(a, Const):
            raise _Unsupported(name)
        stack.append(Const(-a.value if name == "DW_OP_neg" else ~a.value if name == "DW_OP_not" else abs(a.value)))
    elif name == "DW_OP_dup":
        stack.append(stack[-1])
    elif name == "DW_OP_drop":
        stack.pop()
    elif name == "DW_OP_over":
        stack.append(stack[-2])
    elif name == "DW_OP_pick":
        stack.append(stack[-1 - int(args[0])])
    elif name == "DW_OP_swap":
        stack[-1], stack[-2] = stack[-2], stack[-1]
    elif name == "DW_OP_rot":
        stack[-1], stack[-2], stack[-3] = stack[-2], stack[-3], stack[-1]
    elif name in ("DW_OP_entry_value", "DW_OP_GNU_entry_value"):
        inner = args[0]
        reg = _reg_of(inner[0], cu) if len(inner) == 1 else None
        stack.append(EntryValue(reg) if reg else Unknown(f"entry value of ({evaluate(inner, cu).text})"))
    elif name == "DW_OP_GNU_parameter_ref":
        if cu is None:
            raise _Unsupported(name)
        stack.append(ParamRef(_name(cu.get_DIE_from_refaddr(cu.cu_offset + int(args[0])))))
    elif name == "DW_OP_implicit_value":
        stack.append(Const(int.from_bytes(bytes(args[0]), "little")))
    elif name == "DW_OP_nop":
        pass
    elif name == "DW_OP_stack_value":
        return False
    else:
        raise _Unsupported(name)
    return True


def evaluate(ops: Sequence[Any], cu: Any = None) -> CallValue:
    """What a DWARF expression computes, as a :data:`CallValue`.

    ``ops`` are pyelftools ``DWARFExprOp`` (``DWARFExprParser(structs).parse_expr(bytes)``).
    This is the value on top of DWARF's stack at the end (``DW_OP_regN`` counts as the
    register's value, as GCC uses it in ``DW_AT_call_value``); an op it cannot reduce
    symbolically makes the whole expression :class:`Unknown`, spelled as its ops.
    ``cu`` (the pyelftools CU the expression comes from) resolves the DIE references of
    ``DW_OP_GNU_parameter_ref``.
    """
    stack: List[CallValue] = []
    try:
        for op in ops:
            if not _step(op, stack, cu):
                break
        if stack:
            return stack[-1]
    except (_Unsupported, IndexError, ValueError, TypeError, KeyError, AttributeError):
        pass
    return Unknown(_ops_text(ops) or "empty expression")


def location_value(ops: Sequence[Any], size: int = 8, cu: Any = None) -> CallValue:
    """The value of a variable whose location expression (at one pc) is ``ops``.

    A location is a register (``DW_OP_regN``: :class:`RegPlus` with addend 0), a computed
    value (``...; DW_OP_stack_value``, ``DW_OP_implicit_value``) or memory at the computed
    address (``DW_OP_bregN k`` alone, ``DW_OP_fbreg k``: :class:`Deref` of ``size`` bytes).
    Composites (``DW_OP_piece``) and implicit pointers are :class:`Unknown`.
    """
    if not ops:
        return Unknown("optimized out")
    names = [op.op_name for op in ops]
    if any(n in ("DW_OP_piece", "DW_OP_bit_piece", "DW_OP_implicit_pointer", "DW_OP_GNU_implicit_pointer")
           for n in names):
        return Unknown(_ops_text(ops))
    if len(ops) == 1 and _reg_of(ops[0], cu) is not None:
        return RegPlus(str(_reg_of(ops[0], cu)))
    if names[-1] in ("DW_OP_stack_value", "DW_OP_implicit_value"):
        return evaluate(ops, cu)
    where = evaluate(ops, cu)
    return where if isinstance(where, Unknown) else Deref(where, size)


@dataclass
class VarLoc:
    """A variable or parameter and where its value is at one pc.

    ``reg`` is set when the value is that register plus ``addend`` (``DW_OP_regN``,
    or ``DW_OP_bregN k; DW_OP_stack_value``, as GCC describes ``container_of()``
    results); ``location`` describes it for evidence.
    """

    name: str
    type_name: str  # "struct scst_cmd *"
    is_param: bool
    scope: str  # the function (or inlined function) it belongs to
    reg: Optional[str] = None
    location: str = ""
    addend: int = 0
    const: Optional[int] = None  # the value, for a variable the compiler made a constant
    #: for a variable living in memory at ``%mem_reg + mem_off`` (``DW_OP_bregN k`` alone)
    mem_reg: Optional[str] = None
    mem_off: int = 0
    type_file: str = ""  # where the struct/union it points to is defined (dwarf.decl_file)
    #: the value at the pc, from the location expression there (None where it is not live)
    value: Optional[CallValue] = None
    #: for a parameter of a (non-inlined) function: the register it arrived in, i.e. its
    #: location at the function's entry when that is a lone ``DW_OP_regN``
    entry_reg: Optional[str] = None


@dataclass
class Scope:
    """A function or inlined call containing the pc, outermost first."""

    name: str
    inlined: bool
    die: Any = field(repr=False, default=None)
    call_file: str = ""
    call_line: int = 0


@dataclass
class CallSite:
    """What the caller's DWARF says about one call (``DW_TAG_call_site``, DWARF 4's
    ``DW_TAG_GNU_call_site``), found by the return address a backtrace shows.

    ``params`` maps the argument register (drgn's name: ``rdi``, ``rsi``, ...; a stack
    argument is keyed by its location's ops) to what the caller put there, in the
    caller's terms at the call: a :class:`RegPlus` is the caller's register (GCC uses the
    callee-saved ones, which the unwinder restores), an :class:`EntryValue` is what the
    caller itself received.  ``callee`` is "" for an indirect call, whose ``target`` (when
    recorded) says where the address came from.  A GCC builtin is named by the function
    it calls (``strcmp``, not ``__builtin_strcmp``).  ``param_values`` are the values of
    callee parameters named by ``DW_AT_call_parameter`` (GNU: ``DW_AT_abstract_origin``)
    rather than by a register: GCC's way to give the ``p`` an ``.isra`` clone receives as
    ``p->a``, ``p->b`` (the clone's ``p`` is then a :class:`ParamRef`).
    """

    return_pc: int
    call_pc: Optional[int]
    callee: str
    tail: bool
    params: Dict[str, CallValue] = field(default_factory=dict)
    target: Optional[CallValue] = None
    param_values: Dict[str, CallValue] = field(default_factory=dict)
    die: Any = field(repr=False, default=None)
    #: the callee's parameter names as its declaration in the caller's CU gives them, in order
    #: ("" where unnamed): names an assembly routine's arguments where the declaration has them
    callee_params: List[str] = field(default_factory=list)


@dataclass
class FunctionInfo:
    """The outermost (out-of-line) function containing an address, as DWARF declares it.

    ``name`` is the source name (``foo`` for GCC's ``foo.isra.0``); ``params`` are the
    ``(name, type)`` of the DIE's own ``DW_TAG_formal_parameter`` children, in order: for
    an interprocedural clone that is the clone's signature as DWARF records it (a
    parameter the clone lost may still be listed, with no location; an unnamed one is
    ""), and ``source_params`` the source function's.  ``is_clone`` says the DIE is a
    concrete instance of an abstract subprogram (``DW_AT_abstract_origin``): GCC's
    ``.isra``/``.constprop``/``.part`` clones, but also the out-of-line copy of a function
    that is inlined elsewhere; the ELF symbol's suffix tells them apart.  ``param_locs``
    says where each named parameter is at the entry: :class:`RegPlus` for one that
    arrived in a register, :class:`Const` for one a ``.constprop`` clone no longer
    receives (``DW_AT_const_value``), :class:`ParamRef` for one an ``.isra`` clone
    receives in pieces; a parameter DWARF does not place there is absent.
    """

    name: str
    linkage_name: str
    low_pc: int
    return_type: str  # "struct kdx_device *", "void", "int"
    return_type_file: str = ""  # decl_file of the struct/union it points to, like VarLoc.type_file
    params: List[Tuple[str, str]] = field(default_factory=list)
    is_clone: bool = False
    source_params: List[Tuple[str, str]] = field(default_factory=list)
    param_locs: Dict[str, CallValue] = field(default_factory=dict)
    die: Any = field(repr=False, default=None)


_CALL_SITE_TAGS = ("DW_TAG_call_site", "DW_TAG_GNU_call_site")
_CALL_PARAM_TAGS = ("DW_TAG_call_site_parameter", "DW_TAG_GNU_call_site_parameter")


def _type_die(die: Any) -> Any:
    """The DIE of ``die``'s DW_AT_type, following abstract_origin / specification; None for void."""
    seen = 0
    while die is not None and seen < 8:
        if "DW_AT_type" in die.attributes:
            return die.get_DIE_from_attribute("DW_AT_type")
        ref = die.attributes.get("DW_AT_abstract_origin") or die.attributes.get("DW_AT_specification")
        if ref is None:
            return None
        die = die.get_DIE_from_attribute(ref.name)
        seen += 1
    return None


def _byte_size(tdie: Any) -> int:
    """The size of a type (through typedefs and qualifiers); 8 when DWARF does not say."""
    depth = 0
    while tdie is not None and depth < 16:
        if "DW_AT_byte_size" in tdie.attributes:
            return int(tdie.attributes["DW_AT_byte_size"].value)
        if "DW_AT_type" not in tdie.attributes:
            break
        tdie = tdie.get_DIE_from_attribute("DW_AT_type")
        depth += 1
    return 8


def _params_of(die: Any) -> List[Tuple[str, str]]:
    out: List[Tuple[str, str]] = []
    for child in die.iter_children():
        if child.tag == "DW_TAG_formal_parameter":
            t = _type_die(child)
            out.append((_name(child), type_name(t) if t is not None else "void"))
        elif child.tag == "DW_TAG_unspecified_parameters":
            out.append(("...", ""))
    return out


def _callee_name(die: Any) -> str:
    """A called function's name; for a GCC builtin (``__builtin_strcmp``) the function the
    call reaches (its ``DW_AT_linkage_name``, ``strcmp``), as the symbol table names it."""
    name = _name(die)
    if name.startswith("__builtin_"):
        linkage = _attr(die, "DW_AT_linkage_name")
        if isinstance(linkage, bytes) and linkage:
            return linkage.decode(errors="replace")
    return name


def _walk_call_sites(die: Any) -> Iterator[Any]:
    """Call-site DIEs under a subprogram, also inside inlined calls and lexical blocks."""
    todo = [die]
    while todo:
        for child in todo.pop().iter_children():
            if child.tag in _CALL_SITE_TAGS:
                yield child
            elif child.tag in ("DW_TAG_inlined_subroutine", "DW_TAG_lexical_block"):
                todo.append(child)


def _attr(die: Any, name: str) -> Any:
    """An attribute's value, following DW_AT_abstract_origin / DW_AT_specification."""
    seen = 0
    while die is not None and seen < 8:
        if name in die.attributes:
            return die.attributes[name].value
        ref = die.attributes.get("DW_AT_abstract_origin") or die.attributes.get("DW_AT_specification")
        if ref is None:
            return None
        die = die.get_DIE_from_attribute(ref.name)
        seen += 1
    return None


def _name(die: Any) -> str:
    v = _attr(die, "DW_AT_name")
    return v.decode(errors="replace") if isinstance(v, bytes) else (v or "")


def _origin(die: Any) -> Any:
    while die is not None and "DW_AT_abstract_origin" in die.attributes:
        die = die.get_DIE_from_attribute("DW_AT_abstract_origin")
    return die


def type_name(die: Any) -> str:
    """C spelling of a type DIE: ``struct scst_cmd *``, ``const char *``, ``u32``."""
    suffix = ""
    depth = 0
    while die is not None and depth < 32:
        depth += 1
        tag = die.tag
        if tag == "DW_TAG_pointer_type":
            suffix = " *" + suffix.lstrip(" ") if suffix.startswith(" *") else " *" + suffix
        elif tag in ("DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type", "DW_TAG_atomic_type"):
            pass  # qualifiers do not change what a pointer points to; drgn matches without them
        elif tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_enumeration_type", "DW_TAG_class_type"):
            kw = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
                  "DW_TAG_enumeration_type": "enum", "DW_TAG_class_type": "class"}[tag]
            n = _name(die)
            return (f"{kw} {n}" if n else f"{kw} <anonymous>") + suffix
        elif tag in ("DW_TAG_base_type", "DW_TAG_typedef"):
            return _name(die) + suffix
        elif tag == "DW_TAG_subroutine_type":
            return "void (*)()" if suffix.startswith(" *") else "void ()"
        elif tag == "DW_TAG_array_type":
            suffix = suffix + "[]"
        else:
            return "void" + suffix
        if "DW_AT_type" not in die.attributes:
            return "void" + suffix
        die = die.get_DIE_from_attribute("DW_AT_type")
    return "void" + suffix


def decl_file(die: Any, dwarf: Any) -> str:
    """The file that defines the named type under ``die`` (through pointers and qualifiers).

    drgn's ``prog.type(name, filename)`` takes it to tell apart two types of one name
    (a module's private ``struct foo`` and another's); "" when DWARF does not say.
    """
    depth = 0
    while die is not None and depth < 32 and die.tag in (
            "DW_TAG_pointer_type", "DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type",
            "DW_TAG_atomic_type", "DW_TAG_array_type"):
        if "DW_AT_type" not in die.attributes:
            return ""
        die = die.get_DIE_from_attribute("DW_AT_type")
        depth += 1
    if die is None or "DW_AT_decl_file" not in die.attributes:
        return ""
    try:
        lp = dwarf.line_program_for_CU(die.cu)
        index = die.attributes["DW_AT_decl_file"].value
        if lp is None:
            return ""
        files = lp["file_entry"]
        entry = files[index] if lp.header["version"] >= 5 else files[index - 1]
        name = entry.name.decode(errors="replace") if isinstance(entry.name, bytes) else str(entry.name)
        dirs = lp["include_directory"]
        d_index = entry.dir_index if lp.header["version"] >= 5 else entry.dir_index - 1
        if name.startswith("/") or not (0 <= d_index < len(dirs)):
            return name
        d = dirs[d_index]
        d = d.decode(errors="replace") if isinstance(d, bytes) else str(d)
        return f"{d}/{name}"
    except (IndexError, KeyError, AttributeError, ValueError):
        return ""


def _ranges(die: Any, dwarf: Any, cu_base: int) -> List[Tuple[int, int]]:
    attrs = die.attributes
    if "DW_AT_low_pc" in attrs:
        low = attrs["DW_AT_low_pc"].value
        if "DW_AT_high_pc" not in attrs:
            return [(low, low + 1)]
        high_attr = attrs["DW_AT_high_pc"]
        high = high_attr.value
        if high_attr.form not in ("DW_FORM_addr", "DW_FORM_addrx", "DW_FORM_addrx1", "DW_FORM_addrx2",
                                  "DW_FORM_addrx4"):
            high = low + high
        return [(low, high)]
    if "DW_AT_ranges" in attrs:
        rl = dwarf.range_lists()
        if rl is None:
            return []
        out = []
        base = cu_base
        try:
            entries = rl.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=die.cu) \
                if attrs["DW_AT_ranges"].form != "DW_FORM_rnglistx" else \
                rl.get_range_list_at_offset_ex(attrs["DW_AT_ranges"].value)  # pragma: no cover
        except Exception:  # noqa: BLE001 - a damaged range list only loses this scope
            return []
        for e in entries:
            if type(e).__name__ == "BaseAddressEntry":
                base = e.base_address
            elif getattr(e, "is_absolute", False):
                out.append((e.begin_offset, e.end_offset))
            else:
                out.append((base + e.begin_offset, base + e.end_offset))
        return out
    return []


# x86-64 relocation types found in a module's .rela.debug_* sections: S + A, 8 or 4 bytes
#: x86-64 RELA relocation types (System V psABI): absolute 64, pc-relative 32, via the PLT, absolute 32, 32 signed.
R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32, R_X86_64_32S = 1, 2, 4, 10, 11
#: The ones DWARF sections of a module use.
_R_X86_64_DWARF = (R_X86_64_64, R_X86_64_32, R_X86_64_32S)


def relocate_x86_64(buf: Any, offset: int, rtype: int, value: int, place: int) -> bool:
    """Apply one x86-64 RELA relocation to writable ``buf``: ``value`` is S + A, ``place`` the
    address of ``offset`` (P, for the pc-relative types).  False for a type not handled here or
    a value that does not fit its field (the bytes are then left as they are)."""
    import struct

    try:
        if rtype in (R_X86_64_PC32, R_X86_64_PLT32):
            struct.pack_into("<i", buf, offset, value - place)
        elif rtype == R_X86_64_32S:
            struct.pack_into("<i", buf, offset, value - (1 << 64) if value >= 1 << 63 else value)
        elif rtype == R_X86_64_32:
            struct.pack_into("<I", buf, offset, value & 0xFFFF_FFFF)
        elif rtype == R_X86_64_64:
            struct.pack_into("<Q", buf, offset, value & MASK64)
        else:
            return False
    except struct.error:
        return False
    return True


#: AArch64 ELF relocation types (ELF for the Arm 64-bit Architecture, 5.7) that module code uses.
R_AARCH64_ABS64, R_AARCH64_ADR_PREL_PG_HI21, R_AARCH64_ADD_ABS_LO12_NC = 257, 275, 277
R_AARCH64_JUMP26, R_AARCH64_CALL26 = 282, 283
#: LDST{8,16,32,64,128}_ABS_LO12_NC -> the access size's log2 (the 12-bit offset is scaled by it)
_AARCH64_LDST_SHIFT = {278: 0, 284: 1, 285: 2, 286: 3, 299: 4}


def relocate_aarch64(buf: Any, offset: int, rtype: int, value: int, place: int) -> bool:
    """Apply one AArch64 RELA relocation to writable ``buf`` (``value`` is S + A, ``place`` P):
    ``bl``/``b`` (CALL26, JUMP26), ``adrp`` (ADR_PREL_PG_HI21), the ``add``/``ldr``/``str`` of a
    symbol's low 12 bits (ADD_ABS_LO12_NC, LDST*_ABS_LO12_NC) and 64-bit data (ABS64).  False for
    a type not handled here or a value that does not fit its field (the bytes are left as they are)."""
    import struct

    try:
        if rtype == R_AARCH64_ABS64:
            struct.pack_into("<Q", buf, offset, value & MASK64)
            return True
        insn = struct.unpack_from("<I", buf, offset)[0]
        if rtype in (R_AARCH64_CALL26, R_AARCH64_JUMP26):
            delta = value - place
            if delta % 4 or not -(1 << 27) <= delta < 1 << 27:
                return False
            insn = (insn & ~0x3FFFFFF) | ((delta >> 2) & 0x3FFFFFF)
        elif rtype == R_AARCH64_ADR_PREL_PG_HI21:
            pages = ((value & ~0xFFF) - (place & ~0xFFF)) >> 12
            if not -(1 << 20) <= pages < 1 << 20:
                return False
            pages &= 0x1FFFFF
            insn = (insn & ~((0x3 << 29) | (0x7FFFF << 5))) | ((pages & 0x3) << 29) | ((pages >> 2) << 5)
        elif rtype == R_AARCH64_ADD_ABS_LO12_NC:
            insn = (insn & ~(0xFFF << 10)) | ((value & 0xFFF) << 10)
        elif rtype in _AARCH64_LDST_SHIFT:
            insn = (insn & ~(0xFFF << 10)) | (((value & 0xFFF) >> _AARCH64_LDST_SHIFT[rtype]) << 10)
        else:
            return False
        struct.pack_into("<I", buf, offset, insn & 0xFFFFFFFF)
    except struct.error:
        return False
    return True


#: AArch64 data relocations DWARF sections use: ABS64, ABS32 (R_AARCH64_ABS32 = 258), PREL32 (261)
R_AARCH64_ABS32, R_AARCH64_PREL32 = 258, 261


def _relocate_aarch64_data(buf: Any, offset: int, rtype: int, value: int, place: int) -> bool:
    """:func:`relocate_aarch64` for the data relocations of DWARF sections (ABS32, PREL32, ABS64)."""
    import struct

    try:
        if rtype == R_AARCH64_ABS32:
            struct.pack_into("<I", buf, offset, value & 0xFFFF_FFFF)
        elif rtype == R_AARCH64_PREL32:
            struct.pack_into("<i", buf, offset, value - place)
        else:
            return relocate_aarch64(buf, offset, rtype, value, place)
    except struct.error:
        return False
    return True


def _fast_dwarf_relocations() -> Dict[str, Tuple[Any, Callable[..., bool]]]:
    return {"EM_X86_64": (_R_X86_64_DWARF, relocate_x86_64),
            "EM_AARCH64": (frozenset({R_AARCH64_ABS64, R_AARCH64_ABS32, R_AARCH64_PREL32}), _relocate_aarch64_data)}


#: ELF ``SHF_COMPRESSED``: the section's data is zlib/zstd-compressed behind an ``Elf64_Chdr``.
_SHF_COMPRESSED = 0x800


class _MappedSection:
    """A read-only stream over ``size`` bytes of a mapped file from ``offset``: what pyelftools
    reads a DWARF section through (``read``/``seek``/``tell``), and ``getbuffer`` for whole-section
    scans, without copying the section."""

    def __init__(self, mm: Any, offset: int, size: int) -> None:
        self._view = memoryview(mm)[offset:offset + size]
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n is None or n < 0 else min(len(self._view), self._pos + n)
        data = bytes(self._view[self._pos:end])
        self._pos = max(self._pos, end)
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        self._pos = pos if whence == 0 else self._pos + pos if whence == 1 else len(self._view) + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def getbuffer(self) -> memoryview:
        return self._view


def _elf_class() -> Any:
    """An ELFFile whose DWARF relocations (x86-64, arm64) are applied in bulk, not one by one.

    pyelftools applies each relocation through its generic handler (construct parsing of
    the entry and the symbol): 1.3 s for a 270 KB module of the Debian kernel.  Here the
    ``.rela`` table and the symbol table are unpacked with ``struct`` once and patched
    into the section copy; anything but the three types above goes to pyelftools.
    """
    import struct

    from elftools.elf.elffile import ELFFile

    _FAST = _fast_dwarf_relocations()

    class _FastRelocELFFile(ELFFile):
        _symvals: Optional[Dict[int, List[int]]] = None

        def _read_dwarf_section(self, section: Any, relocate_dwarf_sections: bool) -> Any:
            if not relocate_dwarf_sections:
                mapped = self._mapped_section(section)
                if mapped is not None:
                    return mapped
            desc = super()._read_dwarf_section(section, False)
            if relocate_dwarf_sections and not self._relocate_fast(section, desc.stream):
                return super()._read_dwarf_section(section, True)
            return desc

        def _mapped_section(self, section: Any) -> Any:
            """The section's bytes as they are in the file, mapped, not copied (a linked vmlinux's
            DWARF is hundreds of MB and needs no relocation); None for a compressed section."""
            from elftools.dwarf.dwarfinfo import DebugSectionDescriptor

            if section["sh_flags"] & _SHF_COMPRESSED or section["sh_type"] == "SHT_NOBITS" \
                    or section.name.startswith(".z") or self.has_phantom_bytes():
                return None
            try:
                if getattr(self, "_mm", None) is None:
                    self._mm = mmap.mmap(self.stream.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError, AttributeError):
                return None
            off, size = section["sh_offset"], section["sh_size"]
            if off + size > len(self._mm):
                return None  # a truncated file: pyelftools' own reading says what is wrong
            stream: Any = _MappedSection(self._mm, off, size)  # what pyelftools calls of an IO[bytes]
            return DebugSectionDescriptor(stream=stream, name=section.name,
                                          global_offset=off, size=size, address=section["sh_addr"])

        def _symbol_values(self, index: int) -> List[int]:
            if self._symvals is None:
                self._symvals = {}
            if index not in self._symvals:
                data = self.get_section(index).data()
                self._symvals[index] = [v[4] for v in struct.iter_unpack("<IBBHQQ", data)]
            return self._symvals[index]

        def _relocate_fast(self, section: Any, stream: Any) -> bool:
            machine = self.header["e_machine"]
            handled = _FAST.get(machine)
            if handled is None or self.elfclass != 64:
                return False
            types, relocate = handled
            rela = self.get_section_by_name(".rela" + section.name)
            if rela is None:
                return True
            if rela.header["sh_type"] != "SHT_RELA":
                return False
            values = self._symbol_values(rela.header["sh_link"])
            buf = stream.getbuffer()
            try:
                for r_offset, r_info, r_addend in struct.iter_unpack("<QQq", rela.data()):
                    rtype = r_info & 0xFFFFFFFF
                    if rtype == 0:
                        continue
                    if rtype not in types or \
                            not relocate(buf, r_offset, rtype, values[r_info >> 32] + r_addend, r_offset):
                        return False
            finally:
                buf.release()
            return True

    return _FastRelocELFFile


def _uleb(buf: Any, pos: int) -> Tuple[int, int]:
    """An unsigned LEB128 at ``pos``: (value, position after it)."""
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _sleb(buf: Any, pos: int) -> Tuple[int, int]:
    """A signed LEB128 at ``pos``: (value, position after it)."""
    value, end = _uleb(buf, pos)
    bits = 7 * (end - pos)
    return (value - (1 << bits) if value & (1 << (bits - 1)) else value), end


#: DWARF forms of a fixed size, by form code: (size, or -1 for the address size, -2 for the offset size)
_FIXED_FORMS = {0x01: -1, 0x05: 2, 0x06: 4, 0x07: 8, 0x0B: 1, 0x0C: 1, 0x0E: -2, 0x10: -2, 0x11: 1, 0x12: 2,
                0x13: 4, 0x14: 8, 0x17: -2, 0x19: 0, 0x1C: 4, 0x1D: -2, 0x1E: 16, 0x1F: -2, 0x20: 8, 0x21: 0,
                0x24: 8, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x29: 1, 0x2A: 2, 0x2B: 3, 0x2C: 4,
                0x1F20: -2, 0x1F21: -2}
#: forms whose value is one ULEB128 (sdata's SLEB128 skips the same way)
_LEB_FORMS = {0x0D, 0x0F, 0x15, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02}
_DW_AT_LOW_PC, _DW_AT_HIGH_PC, _DW_AT_RANGES = 0x11, 0x12, 0x55


def _attr_value(buf: Any, pos: int, form: int, addr_size: int, off_size: int,
                implicit: int) -> Tuple[Optional[int], int]:
    """Read one attribute value of ``form`` at ``pos``: (the value if it is a number, position
    after it).  :raises ValueError: a form this reader does not know."""
    size = _FIXED_FORMS.get(form)
    if size is not None:
        n = addr_size if size == -1 else off_size if size == -2 else size
        if form == 0x21:
            return implicit, pos
        return (int.from_bytes(buf[pos:pos + n], "little") if n else None), pos + n
    if form in _LEB_FORMS:
        return _uleb(buf, pos)
    if form == 0x08:  # string
        end = bytes(buf[pos:pos + 4096]).index(b"\0")
        return None, pos + end + 1
    if form in (0x09, 0x18):  # block, exprloc
        n, pos = _uleb(buf, pos)
        return None, pos + n
    if form in (0x0A, 0x03, 0x04):  # block1, block2, block4
        w = {0x0A: 1, 0x03: 2, 0x04: 4}[form]
        return None, pos + w + int.from_bytes(buf[pos:pos + w], "little")
    if form == 0x16:  # indirect
        real, pos = _uleb(buf, pos)
        return _attr_value(buf, pos, real, addr_size, off_size, implicit)
    raise ValueError(f"DWARF form {form:#x}")


def _rnglist(buf: Any, pos: int, base: int, addr_size: int) -> List[Tuple[int, int]]:
    """A DWARF 5 ``.debug_rnglists`` list at ``pos``.  :raises ValueError: an entry that needs
    ``.debug_addr`` (split DWARF), which this reader does not follow."""
    out: List[Tuple[int, int]] = []
    read_addr = lambda p: (int.from_bytes(buf[p:p + addr_size], "little"), p + addr_size)  # noqa: E731
    while True:
        kind = buf[pos]
        pos += 1
        if kind == 0:  # end_of_list
            return out
        if kind == 4:  # offset_pair
            a, pos = _uleb(buf, pos)
            b, pos = _uleb(buf, pos)
            out.append((base + a, base + b))
        elif kind == 5:  # base_address
            base, pos = read_addr(pos)
        elif kind == 6:  # start_end
            a, pos = read_addr(pos)
            b, pos = read_addr(pos)
            out.append((a, b))
        elif kind == 7:  # start_length
            a, pos = read_addr(pos)
            n, pos = _uleb(buf, pos)
            out.append((a, a + n))
        else:  # base_addressx, startx_endx, startx_length: indexes into .debug_addr
            raise ValueError(f"range list entry kind {kind}")


def _ranges_v4(buf: Any, pos: int, base: int, addr_size: int) -> List[Tuple[int, int]]:
    """A DWARF 2-4 ``.debug_ranges`` list at ``pos`` (pairs; all-ones start selects a new base)."""
    out: List[Tuple[int, int]] = []
    top = (1 << (8 * addr_size)) - 1
    while True:
        a = int.from_bytes(buf[pos:pos + addr_size], "little")
        b = int.from_bytes(buf[pos + addr_size:pos + 2 * addr_size], "little")
        pos += 2 * addr_size
        if a == 0 and b == 0:
            return out
        if a == top:
            base = b
        else:
            out.append((base + a, base + b))


def aranges_table(buf: Any) -> List[Tuple[int, int, int]]:
    """``.debug_aranges`` (little-endian) as ``[(start, end, CU offset)]`` sorted: each set's
    header, then its address/length pairs up to the (0, 0) that ends it.  Pure; read with
    ``struct`` (pyelftools' reader takes 0.2 s for the 5,000 ranges of a distro vmlinux).
    :raises ValueError: a set that runs past the section or has another address size than 4 or 8."""
    import struct

    out: List[Tuple[int, int, int]] = []
    pos, end = 0, len(buf)
    while pos + 4 <= end:
        length = int.from_bytes(buf[pos:pos + 4], "little")
        off_size, hdr = (8, pos + 12) if length == 0xFFFFFFFF else (4, pos + 4)
        if off_size == 8:
            length = int.from_bytes(buf[pos + 4:pos + 12], "little")
        nxt = hdr + length
        if nxt > end:
            raise ValueError(f"address range set at {pos:#x} runs past the section")
        cu = int.from_bytes(buf[hdr + 2:hdr + 2 + off_size], "little")
        addr_size = buf[hdr + 2 + off_size]
        if addr_size not in (4, 8):
            raise ValueError(f"address size {addr_size} in the set at {pos:#x}")
        first = hdr + 2 + off_size + 2
        tup = 2 * addr_size
        first += -(first - pos) % tup  # the pairs are aligned to twice the address size, from the set's start
        fmt = "<QQ" if addr_size == 8 else "<II"
        usable = (nxt - first) // tup * tup
        for start, size in struct.iter_unpack(fmt, bytes(buf[first:first + usable])):
            if start == 0 and size == 0:
                break
            if size:
                out.append((start, start + size, cu))
        pos = nxt
    out.sort()
    return out


def _unit_count(info: Any) -> int:
    """How many units ``.debug_info`` holds (their headers, nothing else read)."""
    pos, n, end = 0, 0, len(info)
    while pos + 4 <= end:
        pos = _unit_header(info, pos).end
        n += 1
    return n


def _abbrev_table(abbrev: bytes, offset: int) -> Dict[int, Tuple[int, bool, List[Tuple[int, int, int]]]]:
    """The abbreviation table at ``offset``: code -> (tag, has children, [(attribute, form, implicit const)]).

    A unit's own abbreviation is near the end of its table (GCC sorts them by use), so whole
    tables are read: one-byte numbers, nearly all of them, inline."""
    table: Dict[int, Tuple[int, bool, List[Tuple[int, int, int]]]] = {}
    pos = offset
    while True:
        code = abbrev[pos]
        if code < 0x80:
            pos += 1
        else:
            code, pos = _uleb(abbrev, pos)
        if code == 0:
            return table
        tag = abbrev[pos]
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = _uleb(abbrev, pos)
        children = abbrev[pos] != 0
        pos += 1
        attrs: List[Tuple[int, int, int]] = []
        while True:
            at = abbrev[pos]
            if at < 0x80:
                pos += 1
            else:
                at, pos = _uleb(abbrev, pos)
            form = abbrev[pos]
            if form < 0x80:
                pos += 1
            else:
                form, pos = _uleb(abbrev, pos)
            if at == 0 and form == 0:
                break
            implicit = 0
            if form == 0x21:
                implicit, pos = _sleb(abbrev, pos)
            attrs.append((at, form, implicit))
        table[code] = (tag, children, attrs)


class _Unit(NamedTuple):
    """A ``.debug_info`` unit's header, as the readers here need it."""

    end: int  #: the next unit's offset
    version: int
    unit_type: int  #: DW_UT_* (1, compile, before DWARF 5)
    addr_size: int
    off_size: int  #: 4, or 8 for 64-bit DWARF
    abbrev_off: int
    die: int  #: where its first (top) DIE starts


def _unit_header(info: Any, cu: int) -> _Unit:
    """The header of the unit at offset ``cu`` (DWARF 2-5; type, skeleton and split units'
    extra fields skipped).  :raises IndexError: past the section."""
    length = int.from_bytes(info[cu:cu + 4], "little")
    off_size, pos = (8, cu + 12) if length == 0xFFFFFFFF else (4, cu + 4)
    if off_size == 8:
        length = int.from_bytes(info[cu + 4:cu + 12], "little")
    end = pos + length
    version = int.from_bytes(info[pos:pos + 2], "little")
    pos += 2
    if version >= 5:
        unit_type, addr_size = info[pos], info[pos + 1]
        abbrev_off = int.from_bytes(info[pos + 2:pos + 2 + off_size], "little")
        pos += 2 + off_size
        if unit_type in (4, 5):  # skeleton, split_compile: a DWO id
            pos += 8
        elif unit_type in (2, 6):  # type units: a type signature and the type's offset
            pos += 8 + off_size
    else:
        unit_type = 1
        abbrev_off = int.from_bytes(info[pos:pos + off_size], "little")
        addr_size = info[pos + off_size]
        pos += off_size + 1
    return _Unit(end, version, unit_type, addr_size, off_size, abbrev_off, pos)


_DW_TAG_SUBPROGRAM, _DW_AT_SIBLING = 0x2E, 0x01
#: reference forms relative to the unit (ref1, ref2, ref4, ref8, ref_udata)
_UNIT_REFS = (0x11, 0x12, 0x13, 0x14, 0x15)


def top_level_subprograms(info: Any, abbrev: bytes, cu: int, rnglists: Any = b"", ranges: Any = b""
                          ) -> Tuple[int, List[Tuple[int, int, int]]]:
    """The unit at ``cu``'s base address and ``[(low, high, DIE offset)]`` of each address range of
    its top-level subprograms, read from the section bytes: each child's attributes only, its
    subtree skipped by ``DW_AT_sibling`` (walked when there is none).  Pure; what pyelftools
    would give by building every top-level DIE (0.35 s for three big units of a distro vmlinux).
    :raises ValueError: a form or range-list entry this reader does not know."""
    unit = _unit_header(info, cu)
    end, version, addr_size, off_size, pos = unit.end, unit.version, unit.addr_size, unit.off_size, unit.die
    abbrev_off = unit.abbrev_off
    table = _abbrev_table(abbrev, abbrev_off)

    def read_die(at: int) -> Tuple[int, int, bool, Dict[int, Tuple[int, Optional[int]]]]:
        """(position after the DIE, tag, has children, {attribute: (form, value)}); tag 0 for a null entry."""
        code, at = _uleb(info, at)
        if code == 0:
            return at, 0, False, {}
        tag, children, attrs = table[code]
        values: Dict[int, Tuple[int, Optional[int]]] = {}
        for a, form, implicit in attrs:
            value, at = _attr_value(info, at, form, addr_size, off_size, implicit)
            if a in (_DW_AT_LOW_PC, _DW_AT_HIGH_PC, _DW_AT_RANGES, _DW_AT_SIBLING):
                values[a] = (form, value)
        return at, tag, children, values

    def skip_children(at: int) -> int:
        depth = 1
        while depth and at < end:
            at, tag, children, values = read_die(at)
            if tag == 0:
                depth -= 1
            elif children:
                sib = values.get(_DW_AT_SIBLING)
                if sib is not None and sib[0] in _UNIT_REFS and sib[1]:
                    at = cu + sib[1]
                else:
                    depth += 1
        return at

    pos, _tag, top_children, top = read_die(pos)
    base = top.get(_DW_AT_LOW_PC, (0, 0))[1] or 0
    out: List[Tuple[int, int, int]] = []
    if not top_children:
        return base, out
    while pos < end:
        die = pos
        pos, tag, children, values = read_die(pos)
        if tag == 0:
            break
        if tag == _DW_TAG_SUBPROGRAM:
            if _DW_AT_RANGES in values:
                form, off = values[_DW_AT_RANGES]
                if form == 0x23:
                    raise ValueError("rnglistx")
                read = _rnglist if version >= 5 else _ranges_v4
                out += [(a, b, die) for a, b in read(rnglists if version >= 5 else ranges, off or 0, base, addr_size)
                        if a < b]
            elif _DW_AT_LOW_PC in values and values[_DW_AT_LOW_PC][1] is not None:
                low = values[_DW_AT_LOW_PC][1] or 0
                high = values.get(_DW_AT_HIGH_PC)
                if high is None or high[1] is None:
                    out.append((low, low + 1, die))
                else:
                    out.append((low, high[1] if high[0] == 0x01 else low + high[1], die))
        if children:
            sib = values.get(_DW_AT_SIBLING)
            pos = cu + sib[1] if sib is not None and sib[0] in _UNIT_REFS and sib[1] else skip_children(pos)
    return base, out


_DW_AT_NAME, _DW_AT_COMP_DIR = 0x03, 0x1B
_DW_FORM_STRING, _DW_FORM_STRP, _DW_FORM_LINE_STRP = 0x08, 0x0E, 0x1F


def _cstring(buf: Any, pos: int) -> str:
    end = pos
    while buf[end] != 0:
        end += 1
    return bytes(buf[pos:end]).decode("utf-8", "surrogateescape")


def unit_sources(info: Any, abbrev: bytes, strings: Any = b"", line_strings: Any = b"") -> Iterator[Tuple[str, str]]:
    """``(DW_AT_name, DW_AT_comp_dir)`` of each unit's top DIE that has a name, in order (comp_dir
    "" when absent), read from the section bytes as they are asked for: the inline,
    ``.debug_str`` and ``.debug_line_str`` forms (a unit naming its file another way is passed
    over).  Pure; what pyelftools gives by parsing each unit's abbreviations with its
    ``construct`` (15 ms a unit of a distro vmlinux).
    :raises ValueError: a form this reader does not know."""
    pos, end = 0, len(info)
    while pos + 4 <= end:
        unit = _unit_header(info, pos)
        at = unit.die
        code, at = _uleb(info, at)
        if code:
            _tag, _children, attrs = _abbrev_table(abbrev, unit.abbrev_off)[code]
            found: Dict[int, Optional[str]] = {}
            for a, form, implicit in attrs:
                text: Optional[str] = None
                if form == _DW_FORM_STRING:
                    text = _cstring(info, at)
                elif form in (_DW_FORM_STRP, _DW_FORM_LINE_STRP):
                    off = int.from_bytes(info[at:at + unit.off_size], "little")
                    text = _cstring(strings if form == _DW_FORM_STRP else line_strings, off)
                _value, at = _attr_value(info, at, form, unit.addr_size, unit.off_size, implicit)
                if a in (_DW_AT_NAME, _DW_AT_COMP_DIR):
                    found[a] = text
            if found.get(_DW_AT_NAME):
                yield found[_DW_AT_NAME] or "", found.get(_DW_AT_COMP_DIR) or ""
        pos = unit.end


def _reach(ranges: List[Tuple[int, int, int]]) -> List[int]:
    """The furthest end of ``ranges[0..i]`` for each ``i`` (ranges sorted by start)."""
    reach: List[int] = []
    for _lo, hi, _cu in ranges:
        reach.append(max(hi, reach[-1]) if reach else hi)
    return reach


def _units_at(ranges: List[Tuple[int, int, int]], reach: List[int], addr: int) -> List[int]:
    """The units of sorted ``ranges`` (with :func:`_reach`) that cover ``addr``, each once."""
    out: List[int] = []
    # back from the last range starting at or before addr, while some range before reaches it
    i = bisect.bisect_right(ranges, (addr, MASK64, MASK64)) - 1
    while i >= 0 and reach[i] > addr:
        lo, hi, cu = ranges[i]
        if lo <= addr < hi and cu not in out:
            out.append(cu)
        i -= 1
    return out


def cu_address_ranges(info: Any, abbrev: bytes, rnglists: Any = b"", ranges: Any = b"",
                      ) -> Tuple[List[Tuple[int, int, int]], List[int]]:
    """Where each compilation unit's code is, from its top DIE alone (``DW_AT_low_pc``/``high_pc``
    or ``DW_AT_ranges``): ``([(low, high, CU offset)] sorted, [offsets of the CUs it could not
    place])``.  Pure function of little-endian ``.debug_info``, ``.debug_abbrev``,
    ``.debug_rnglists`` and ``.debug_ranges`` bytes.

    For files whose ``.debug_aranges`` is missing (clang writes none by default) or partial:
    without it, an address no range table places meant reading every unit's DIEs (a minute
    for one lookup in a 273 MB vmlinux)."""
    out: List[Tuple[int, int, int]] = []
    unplaced: List[int] = []
    pos, end = 0, len(info)
    while pos + 11 <= end:
        cu = pos
        try:
            unit = _unit_header(info, cu)
        except IndexError:
            unplaced.append(cu)
            break
        nxt, version, addr_size, off_size, pos = unit.end, unit.version, unit.addr_size, unit.off_size, unit.die
        if unit.unit_type in (2, 6):  # type units: no code
            pos = nxt
            continue
        try:
            code, pos = _uleb(info, pos)
            low: Optional[int] = None
            high: Optional[int] = None
            high_is_offset = False
            rng: Optional[Tuple[int, int]] = None
            for at, form, implicit in _abbrev_table(abbrev, unit.abbrev_off)[code][2]:
                value, pos = _attr_value(info, pos, form, addr_size, off_size, implicit)
                if at == _DW_AT_LOW_PC:
                    low = value
                elif at == _DW_AT_HIGH_PC:
                    high, high_is_offset = value, form != 0x01
                elif at == _DW_AT_RANGES:
                    if form == 0x23:  # rnglistx: through DW_AT_rnglists_base, not read here
                        raise ValueError("rnglistx")
                    rng = (value or 0, version)
            if rng is not None:
                read = _rnglist if rng[1] >= 5 else _ranges_v4
                for a, b in read(rnglists if rng[1] >= 5 else ranges, rng[0], low or 0, addr_size):
                    if a < b:
                        out.append((a, b, cu))
            elif low is not None and high is not None:
                out.append((low, low + high if high_is_offset else high, cu))
            elif low is not None:
                out.append((low, low + 1, cu))
            # a unit with neither (declarations only) has no code
        except (ValueError, IndexError, KeyError):  # KeyError: its abbreviation is not in its table
            unplaced.append(cu)
        pos = nxt
    out.sort()
    return out, unplaced


class DebugFile:
    """One ELF file's DWARF, opened once; ``relocatable`` for a module's ``.ko``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._f = open(path, "rb")
        self.elf = _elf_class()(self._f)
        self.relocatable = self.elf.header["e_type"] == "ET_REL"
        # A linked vmlinux has its final values in place: applying .rela.debug_* in Python
        # would take minutes (see REAL-DUMPS.md).  A .ko needs its relocations, and they are cheap.
        self.dwarf = self.elf.get_dwarf_info(relocate_dwarf_sections=self.relocatable)
        self._regs = DWARF_REGS_ARM64 if self.dwarf.config.machine_arch == "AArch64" else DWARF_REGS
        self._aranges: Any = None  # (table, reach); False once found missing or partial
        self._cu_index: Optional[Tuple[List[Tuple[int, int, int]], List[int], List[int]]] = None
        self._locparser: Any = None
        self._exprparsers: Dict[Tuple[Any, ...], Any] = {}
        self._symtab: Optional[Tuple[bytes, List[Tuple[int, int, int]]]] = None
        self._top_functions: Optional[Dict[str, int]] = None
        self._subprograms: Dict[int, Tuple[List[Tuple[int, int, Any, int, str]], Iterator[Any], int]] = {}
        self._abbrev_bytes: Optional[bytes] = None

    def _cus_for(self, addr: int) -> Iterator[Any]:
        """The units whose code covers ``addr``: ``.debug_aranges``' one when it places every unit,
        else those :func:`cu_address_ranges` places there (then the units it could not place);
        every unit of a ``.ko``."""
        if self.relocatable:
            yield from self.dwarf.iter_CUs()
            return
        aranges = self._whole_aranges()
        if aranges is not None:
            for cu in _units_at(aranges[0], aranges[1], addr):
                yield self.dwarf.get_CU_at(cu)
            return
        if self._cu_index is None:
            self._cu_index = self._build_cu_index()
        if self._cu_index is None:
            yield from self.dwarf.iter_CUs()
            return
        ranges, reach, unplaced = self._cu_index
        found = False
        for cu in _units_at(ranges, reach, addr):
            found = True
            yield self.dwarf.get_CU_at(cu)
        if not found:
            for cu in unplaced:
                yield self.dwarf.get_CU_at(cu)

    def _whole_aranges(self) -> Optional[Tuple[List[Tuple[int, int, int]], List[int]]]:
        """``.debug_aranges`` (:func:`aranges_table` and the furthest end up to each range) when it
        places (nearly) every unit, as GCC writes it; None when it is missing (clang writes none
        by default) or covers only some units (the assembler's)."""
        if self._aranges is None:
            self._aranges = False
            sec = self.dwarf.debug_aranges_sec
            try:
                table = aranges_table(sec.stream.getbuffer()) if sec is not None else []
            except (ValueError, IndexError):
                table = []
            if table and len({cu for _, _, cu in table}) >= 0.9 * _unit_count(
                    self.dwarf.debug_info_sec.stream.getbuffer()):
                self._aranges = (table, _reach(table))
        return self._aranges or None

    def _build_cu_index(self) -> Optional[Tuple[List[Tuple[int, int, int]], List[int], List[int]]]:
        d = self.dwarf
        if not d.config.little_endian or d.debug_info_sec is None or d.debug_abbrev_sec is None:
            return None

        def data(sec: Any) -> Any:
            return sec.stream.getbuffer() if sec is not None else b""

        try:
            ranges, unplaced = cu_address_ranges(data(d.debug_info_sec), bytes(data(d.debug_abbrev_sec)),
                                                 data(getattr(d, "debug_rnglists_sec", None)),
                                                 data(getattr(d, "debug_ranges_sec", None)))
        except (ValueError, IndexError):
            return None
        return ranges, _reach(ranges), unplaced

    def unit_sources(self) -> Iterator[Tuple[str, str]]:
        """:func:`unit_sources` of this file (pyelftools' own reading where the fast one cannot)."""
        d = self.dwarf

        def data(sec: Any) -> Any:
            return sec.stream.getbuffer() if sec is not None else b""

        done = 0
        if d.config.little_endian and d.debug_info_sec is not None and d.debug_abbrev_sec is not None:
            try:
                for pair in unit_sources(data(d.debug_info_sec), bytes(data(d.debug_abbrev_sec)),
                                         data(d.debug_str_sec), data(getattr(d, "debug_line_str_sec", None))):
                    done += 1
                    yield pair
                return
            except (ValueError, IndexError, KeyError):
                pass
        for cu in d.iter_CUs():
            top = cu.get_top_DIE()
            name, comp_dir = top.attributes.get("DW_AT_name"), top.attributes.get("DW_AT_comp_dir")
            if name is None:
                continue
            if done:
                done -= 1  # given already by the fast reader
                continue
            yield name.value.decode("utf-8", "surrogateescape"), \
                comp_dir.value.decode("utf-8", "surrogateescape") if comp_dir is not None else ""

    def _subprogram_at(self, addr: int, function: str = "") -> Optional[Tuple[Any, int]]:
        """The top-level subprogram DIE containing ``addr`` and its CU's base address."""
        return next(self._subprograms_at(addr, function), None)

    def _subprograms_at(self, addr: int, function: str = "") -> Iterator[Tuple[Any, int]]:
        """Every top-level subprogram containing ``addr`` (a ``.ko``'s sections overlap)."""
        want = function.split(".")[0] if function else ""
        for cu in self._cus_for(addr):
            for lo, hi, die, cu_base, name in self._subprogram_index(cu):
                if not lo <= addr < hi:
                    continue
                if want and self.relocatable and name != want:
                    continue
                yield die, cu_base

    def _subprogram_index(self, cu: Any) -> Iterator[Tuple[int, int, Any, int, str]]:
        """``(lo, hi, DIE, CU base, name)`` of each address range of the CU's top-level subprograms.

        Read lazily and kept: a lookup parses the CU's top-level DIEs only as far as it
        needs, the next one starts from what is known (a vmlinux CU has thousands of them).
        """
        if not self.relocatable and cu.cu_offset not in self._subprograms:
            skimmed = self._skim(cu)
            if skimmed is not None:
                base, found = skimmed
                known = [(lo, hi, cu.get_DIE_from_refaddr(off), base, "") for lo, hi, off in found]
                self._subprograms[cu.cu_offset] = (known, iter(()), base)
        state = self._subprograms.get(cu.cu_offset)
        if state is None:
            top = cu.get_top_DIE()
            cu_base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
            state = ([], top.iter_children(), cu_base)
            self._subprograms[cu.cu_offset] = state
        known, rest, cu_base = state
        i = 0
        while True:
            while i < len(known):
                yield known[i]
                i += 1
            die = next(rest, None)
            if die is None:
                return
            if die.tag == "DW_TAG_subprogram":
                known.extend((lo, hi, die, cu_base, _name(die)) for lo, hi in _ranges(die, self.dwarf, cu_base))

    def _skim(self, cu: Any) -> Optional[Tuple[int, List[Tuple[int, int, int]]]]:
        """:func:`top_level_subprograms` of a linked file's unit; None where it cannot read it."""
        d = self.dwarf
        if self._abbrev_bytes is None:
            self._abbrev_bytes = bytes(d.debug_abbrev_sec.stream.getbuffer()) if d.debug_abbrev_sec else b""

        def data(sec: Any) -> Any:
            return sec.stream.getbuffer() if sec is not None else b""

        try:
            return top_level_subprograms(data(d.debug_info_sec), self._abbrev_bytes, cu.cu_offset,
                                         data(getattr(d, "debug_rnglists_sec", None)),
                                         data(getattr(d, "debug_ranges_sec", None)))
        except (ValueError, IndexError, KeyError):
            return None

    def scopes_at(self, addr: int, function: str = "") -> List[Scope]:
        """The subprogram and inlined calls containing ``addr``, outermost first.

        ``addr`` is a link-time address (vmlinux) or a section offset (a ``.ko``, whose
        sections all start at 0: ``function``, the symbol at the pc, picks among them).
        """
        found = self._subprogram_at(addr, function)
        if found is None:
            return []
        die, cu_base = found
        chain = [Scope(_name(die), False, die)]
        self._descend(die, addr, cu_base, chain)
        return chain

    def _descend(self, die: Any, addr: int, cu_base: int, chain: List[Scope]) -> None:
        for child in die.iter_children():
            if child.tag not in ("DW_TAG_inlined_subroutine", "DW_TAG_lexical_block"):
                continue
            if not any(lo <= addr < hi for lo, hi in _ranges(child, self.dwarf, cu_base)):
                continue
            if child.tag == "DW_TAG_inlined_subroutine":
                chain.append(Scope(_name(child), True, child,
                                   call_line=child.attributes["DW_AT_call_line"].value
                                   if "DW_AT_call_line" in child.attributes else 0))
            else:
                chain.append(Scope(chain[-1].name, chain[-1].inlined, child))
            self._descend(child, addr, cu_base, chain)
            return

    def variables_at(self, addr: int, function: str = "") -> List[VarLoc]:
        """Every variable and parameter in scope at ``addr`` with its location there, innermost last.

        ``value`` is the location as a :data:`CallValue`; ``entry_reg`` (parameters of the
        out-of-line function) the register the argument arrived in.
        """
        out: List[VarLoc] = []
        for scope in self.scopes_at(addr, function):
            cu = scope.die.cu
            top = cu.get_top_DIE()
            cu_base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
            entry = self._entry_pc(scope.die, cu_base) if scope.die.tag == "DW_TAG_subprogram" else None
            for child in scope.die.iter_children():
                if child.tag not in ("DW_TAG_formal_parameter", "DW_TAG_variable"):
                    continue
                name = _name(child)
                if not name:
                    continue
                tdie = _origin(child)
                tdie_type = tdie.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in tdie.attributes else None
                tname = type_name(tdie_type) if tdie_type is not None else "void"
                ops, status = self._location_ops_at(child, addr, cu_base)
                reg, desc, addend = self._describe(ops, status)
                const = _attr(child, "DW_AT_const_value")
                var = VarLoc(name, tname, child.tag == "DW_TAG_formal_parameter", scope.name, reg, desc,
                             addend, const if isinstance(const, int) else None)
                if tdie_type is not None and ("struct" in tname or "union" in tname):
                    var.type_file = decl_file(tdie_type, self.dwarf)
                m = _BREG_ALONE.match(desc)
                if m and reg is None:
                    var.mem_reg, var.mem_off = dwarf_regs(child.cu).get(int(m.group(1))), int(m.group(2))
                if ops is not None:
                    var.value = location_value(ops, _byte_size(tdie_type), child.cu)
                elif var.const is not None:
                    var.value = Const(var.const)
                if var.is_param and entry is not None:
                    var.entry_reg = self._entry_reg(child, entry, cu_base)
                out.append(var)
        return out

    def _entry_reg(self, die: Any, entry: int, cu_base: int) -> Optional[str]:
        ops, _status = self._location_ops_at(die, entry, cu_base)
        return _reg_of(ops[0], die.cu) if ops is not None and len(ops) == 1 else None

    @staticmethod
    def _entry_pc(die: Any, cu_base: int) -> Optional[int]:
        """Where a subprogram is entered: DW_AT_entry_pc, DW_AT_low_pc, or its first range."""
        attrs = die.attributes
        if "DW_AT_entry_pc" in attrs and attrs["DW_AT_entry_pc"].form == "DW_FORM_addr":
            return int(attrs["DW_AT_entry_pc"].value)
        if "DW_AT_low_pc" in attrs:
            return int(attrs["DW_AT_low_pc"].value)
        ranges = _ranges(die, die.dwarfinfo, cu_base)
        return ranges[0][0] if ranges else None

    def _parse(self, expr: Any, cu: Any) -> List[Any]:
        """pyelftools' ops for the expression bytes ``expr`` of a DIE in ``cu``."""
        from elftools.dwarf.dwarf_expr import DWARFExprParser

        s = cu.structs
        key = (s.little_endian, s.dwarf_format, s.address_size, s.dwarf_version)
        parser = self._exprparsers.get(key)
        if parser is None:
            parser = self._exprparsers[key] = DWARFExprParser(s)
        return list(parser.parse_expr(expr))

    def _location_ops_at(self, die: Any, addr: int, cu_base: int) -> Tuple[Optional[List[Any]], str]:
        """The ops of ``die``'s DW_AT_location at ``addr``, or None and why not."""
        from elftools.dwarf.locationlists import LocationParser

        attr = die.attributes.get("DW_AT_location")
        if attr is None:
            return None, "optimized out" if "DW_AT_const_value" not in die.attributes else "constant"
        if self._locparser is None:
            self._locparser = LocationParser(self.dwarf.location_lists())
        loc = self._locparser.parse_from_attribute(attr, die.cu["version"], die)
        expr: Optional[List[int]] = None
        if isinstance(loc, list):
            base = cu_base
            for e in loc:
                if type(e).__name__ == "BaseAddressEntry":
                    base = e.base_address
                    continue
                lo, hi = (e.begin_offset, e.end_offset) if e.is_absolute else (base + e.begin_offset, base + e.end_offset)
                if lo <= addr < hi:
                    expr = e.loc_expr
                    break
            if expr is None:
                return None, "not live here"
        else:
            expr = loc.loc_expr
        return self._parse(expr, die.cu), ""

    def _describe(self, ops: Optional[List[Any]], status: str) -> Tuple[Optional[str], str, int]:
        if ops is None:
            return None, status, 0
        names = [op.op_name for op in ops]
        if len(ops) == 1 and names[0].startswith("DW_OP_reg") and names[0] != "DW_OP_regx":
            reg = self._regs.get(int(names[0][len("DW_OP_reg"):]))
            return reg, f"DW_OP_{reg}" if reg else names[0], 0
        if len(ops) == 2 and names[0].startswith("DW_OP_breg") and names[0] != "DW_OP_bregx" \
                and names[1] == "DW_OP_stack_value" and ops[0].args:
            reg = self._regs.get(int(names[0][len("DW_OP_breg"):]))
            return reg, f"{names[0]} {ops[0].args[0]}; DW_OP_stack_value", int(ops[0].args[0])
        return None, _ops_text(ops), 0

    def _location_at(self, die: Any, addr: int, cu_base: int) -> Tuple[Optional[str], str, int]:
        """(register, description, addend) of ``die``'s location at ``addr`` (see :class:`VarLoc`)."""
        return self._describe(*self._location_ops_at(die, addr, cu_base))

    # --- across calls -----------------------------------------------------------------------

    def call_site(self, return_addr: int, function: str = "") -> Optional[CallSite]:
        """The call whose return address is ``return_addr``, as the caller's DWARF records it.

        ``return_addr`` is the address a backtrace shows for the caller's frame, in this
        file's terms (vmlinux: link address; ``.ko``: offset in its section, with
        ``function``, the caller's symbol, to pick the section as in :meth:`scopes_at`).
        None when the compiler recorded no call site there: GCC records none below
        ``-O1``, none for calls made from asm (``__fentry__``, alternatives), and none
        when the DWARF was stripped of them.
        """
        for sub, _cu_base in self._subprograms_at(return_addr - 1, function):
            site = self._call_site_in(sub, return_addr)
            if site is not None:
                return site
        return None

    def _call_site_in(self, sub: Any, return_addr: int) -> Optional[CallSite]:
        for die in _walk_call_sites(sub):
            attrs = die.attributes
            ret = attrs.get("DW_AT_call_return_pc") or attrs.get("DW_AT_low_pc")
            if ret is None or ret.value != return_addr:
                continue
            gnu = die.tag == "DW_TAG_GNU_call_site"  # DWARF 4's extension names the callee by abstract_origin
            origin = attrs.get("DW_AT_abstract_origin" if gnu else "DW_AT_call_origin")
            odie = die.get_DIE_from_attribute(origin.name) if origin is not None else None
            callee = _callee_name(odie) if odie is not None else ""
            tail = attrs.get("DW_AT_call_tail_call") or attrs.get("DW_AT_GNU_tail_call")
            call_pc = attrs.get("DW_AT_call_pc")
            target = attrs.get("DW_AT_call_target") or attrs.get("DW_AT_GNU_call_site_target")
            site = CallSite(return_addr, int(call_pc.value) if call_pc is not None else None, callee,
                            bool(tail.value) if tail is not None else False, {},
                            evaluate(self._parse(target.value, die.cu), die.cu) if self._is_expr(target) else None,
                            {}, die)
            if odie is not None:
                site.callee_params = [_name(c) for c in odie.iter_children() if c.tag == "DW_TAG_formal_parameter"]
            for p in die.iter_children():
                if p.tag not in _CALL_PARAM_TAGS:
                    continue
                loc = p.attributes.get("DW_AT_location")
                val = p.attributes.get("DW_AT_call_value") or p.attributes.get("DW_AT_GNU_call_site_value")
                value = evaluate(self._parse(val.value, p.cu), p.cu) if self._is_expr(val) else Unknown("not recorded")
                if self._is_expr(loc):
                    loc_ops = self._parse(loc.value, p.cu)
                    key = _reg_of(loc_ops[0], p.cu) if len(loc_ops) == 1 else None
                    site.params[key or _ops_text(loc_ops)] = value
                    continue
                ref = p.attributes.get("DW_AT_abstract_origin" if gnu else "DW_AT_call_parameter")
                if ref is not None:
                    site.param_values[_name(p.get_DIE_from_attribute(ref.name))] = value
            return site
        return None

    @staticmethod
    def _is_expr(attr: Any) -> bool:
        return attr is not None and isinstance(attr.value, (list, bytes))

    def function_at(self, addr: int, function: str = "") -> Optional[FunctionInfo]:
        """The outermost (not inlined) function containing ``addr``: name, return type, parameters.

        Addresses and ``function`` as for :meth:`scopes_at`.
        """
        found = self._subprogram_at(addr, function)
        return None if found is None else self._function_info(found[0], found[1])

    def _function_info(self, die: Any, cu_base: int) -> FunctionInfo:
        linkage = _attr(die, "DW_AT_linkage_name") or _attr(die, "DW_AT_MIPS_linkage_name") or b""
        rtype = _type_die(die)
        rname = type_name(rtype) if rtype is not None else "void"
        origin = die.get_DIE_from_attribute("DW_AT_abstract_origin") \
            if "DW_AT_abstract_origin" in die.attributes else None
        is_clone = origin is not None and origin.tag == "DW_TAG_subprogram"
        entry = self._entry_pc(die, cu_base)
        locs: Dict[str, CallValue] = {}
        for child in die.iter_children():
            name = _name(child)
            if child.tag != "DW_TAG_formal_parameter" or not name:
                continue
            ops = self._location_ops_at(child, entry, cu_base)[0] if entry is not None else None
            const = _attr(child, "DW_AT_const_value")
            if ops is not None:
                locs[name] = location_value(ops, _byte_size(_type_die(child)), child.cu)
            elif isinstance(const, int) and "DW_AT_location" not in child.attributes:
                locs[name] = Const(const)
        return FunctionInfo(
            _name(die), linkage.decode(errors="replace") if isinstance(linkage, bytes) else str(linkage),
            entry or 0, rname,
            decl_file(rtype, self.dwarf) if rtype is not None and ("struct" in rname or "union" in rname) else "",
            _params_of(die), is_clone, _params_of(origin) if is_clone else [], locs, die)

    def return_type_at(self, addr: int, function: str = "") -> Optional[Tuple[str, str]]:
        """(C spelling, decl_file) of the return type of the function containing ``addr``.

        :return: e.g. ``("struct kdx_device *", ".../kdx.c")``; the file is "" for a
            type that is not a struct/union (pointer)
        """
        info = self.function_at(addr, function)
        return None if info is None else (info.return_type, info.return_type_file)

    def return_type_of(self, name: str) -> Optional[Tuple[str, str]]:
        """(C spelling, decl_file) of the return type of the function called ``name``.

        The ELF symbol table gives its address (also for a GCC clone ``name.isra.0``),
        and the CU there gives the DWARF, so a big vmlinux costs one CU.  A module's
        ``.ko`` is small: a function it only declares (one it calls in vmlinux) is
        also found among its CUs' top-level DIEs.  None when neither knows the name.
        """
        for value, _size in self._function_symbols(name):
            found = self.return_type_at(value, name if self.relocatable else "")
            if found is not None:
                return found
        if not self.relocatable:
            return None
        if self._top_functions is None:
            self._top_functions = {}
            for cu in self.dwarf.iter_CUs():
                for die in cu.get_top_DIE().iter_children():
                    if die.tag == "DW_TAG_subprogram":
                        n = _name(die)
                        if n and (n not in self._top_functions or "DW_AT_declaration" not in die.attributes):
                            self._top_functions[n] = die.offset
        off = self._top_functions.get(name)
        if off is None:
            return None
        die = self.dwarf.get_DIE_from_refaddr(off)
        rtype = _type_die(die)
        rname = type_name(rtype) if rtype is not None else "void"
        return rname, decl_file(rtype, self.dwarf) if rtype is not None and ("struct" in rname or "union" in rname) else ""

    def _function_symbols(self, name: str) -> List[Tuple[int, int]]:
        """(value, size) of the STT_FUNC symbols called ``name`` (else ``name.<suffix>``)."""
        import struct

        if self._symtab is None:
            sec = self.elf.get_section_by_name(".symtab")
            if sec is None or self.elf.elfclass != 64 or not self.elf.little_endian:
                self._symtab = (b"", [])
            else:
                strtab = self.elf.get_section(sec.header["sh_link"]).data()
                self._symtab = (strtab, [(st_name, value, size) for st_name, info, _o, _s, value, size
                                         in struct.iter_unpack("<IBBHQQ", sec.data()) if info & 0xF == 2])
        strtab, funcs = self._symtab
        key = name.encode()
        for pattern, prefix in ((key + b"\0", False), (b"\0" + key + b".", True)):
            offsets = set()
            i = strtab.find(pattern)
            while i >= 0:
                offsets.add(i + 1 if prefix else i)
                i = strtab.find(pattern, i + 1)
            hits = [(value, size) for st_name, value, size in funcs if st_name in offsets]
            if hits:
                return hits
        return []


_BREG_ALONE = re.compile(r"^DW_OP_breg(\d+) (-?\d+)$")  # over our own location text, not a disassembly


@lru_cache(maxsize=16)
def debug_file(path: str) -> DebugFile:
    """The :class:`DebugFile` for ``path``, opened once per process."""
    return DebugFile(path)
