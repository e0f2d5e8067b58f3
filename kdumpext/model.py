"""Plain data passed between the stages: dump info, frames, decoded instructions, verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

__all__ = [
    "Registers",
    "DumpInfo",
    "TaskInfo",
    "Frame",
    "MemOperand",
    "Instruction",
    "BadAddress",
    "Member",
    "Evidence",
    "Verdict",
    "Report",
    "AddressInfo",
]

#: Register values by drgn's register names ("rip", "rsp", "rax", ...).
Registers = Dict[str, int]


@dataclass
class DumpInfo:
    """What the dump says about itself and the kernel that wrote it."""

    path: str
    format: str  # "kdump-compressed", "elf", "flattened" (+ "xz:" prefix when unpacked)
    release: str = ""
    build_id: str = ""
    vmlinux: str = ""
    crash_time: Optional[float] = None  # seconds since the epoch
    uptime: Optional[float] = None  # seconds
    cpus: int = 0
    panic_message: str = ""
    oops: str = ""  # first line of the oops report, e.g. "BUG: kernel NULL pointer dereference, ..."
    taint: str = ""  # e.g. "P O" letters, as the kernel prints them
    taint_flags: List[str] = field(default_factory=list)
    modules: List[str] = field(default_factory=list)
    modules_missing_debuginfo: List[str] = field(default_factory=list)


@dataclass
class TaskInfo:
    """The task that crashed."""

    pid: int
    comm: str
    cpu: int
    address: int = 0  #: ``struct task_struct *``


@dataclass
class Frame:
    """One frame of a backtrace, innermost first; an inlined call is its own frame."""

    index: int
    pc: int
    function: str = ""  # "" when the pc has no symbol
    offset: int = 0  # pc - symbol start
    module: str = ""  # "" for vmlinux
    file: str = ""
    line: int = 0
    inlined: bool = False
    exception: bool = False  # the frame the CPU was in when it took the fault
    sp: int = 0

    @property
    def site(self) -> str:
        """``func+0x1f [module]`` as crash and the kernel print a code address."""
        name = f"{self.function}+{self.offset:#x}" if self.function else f"{self.pc:#x}"
        return f"{name} [{self.module}]" if self.module else name


@dataclass
class MemOperand:
    """A memory operand ``disp(base,index,scale)``; registers by their 64-bit names."""

    base: Optional[str]
    index: Optional[str]
    scale: int
    disp: int
    size: int  # bytes accessed; 0 when unknown (e.g. ``lea``, string ops)
    segment: Optional[str] = None

    def effective_address(self, regs: Registers) -> Optional[int]:
        """``base + index*scale + disp`` mod 2**64, or None if a register is unknown."""
        total = self.disp
        for reg, mul in ((self.base, 1), (self.index, self.scale)):
            if reg is None:
                continue
            if reg == "rip" or reg not in regs:
                return None
            total += regs[reg] * mul
        return total & 0xFFFF_FFFF_FFFF_FFFF


@dataclass
class Instruction:
    """One decoded instruction; text fields are for display only, never parsed."""

    address: int
    size: int
    raw: bytes
    mnemonic: str
    op_str: str  # AT&T unless decoded with intel=True
    mem: Optional[MemOperand] = None  # the memory operand, when there is one
    access: str = ""  # "read", "write", "read-write" or "" (no memory access)
    regs_read: List[str] = field(default_factory=list)
    regs_written: List[str] = field(default_factory=list)
    target: Optional[int] = None  # direct call/jump target
    is_call: bool = False
    is_jump: bool = False
    is_ret: bool = False
    reg_target: Optional[str] = None  # register of an indirect call/jump ``call *%rax``

    @property
    def text(self) -> str:
        """``mov 0x240(%rdi),%rax`` as objdump prints it."""
        return f"{self.mnemonic} {self.op_str}".strip()


@dataclass
class BadAddress:
    """What kind of bad pointer an address is.

    ``kind`` is one of ``null``, ``err-ptr``, ``list-poison``, ``slab-poison``,
    ``non-canonical``, ``user``, ``kernel``; ``base`` is the bad pointer value
    itself when ``address = base + offset`` is recognised (e.g. ``NULL + 0x240``).
    """

    address: int
    kind: str
    base: int = 0
    offset: int = 0
    detail: str = ""  # e.g. "ERR_PTR(-ENODEV)", "LIST_POISON1"


@dataclass
class Member:
    """The member of a type at some offset; ``path`` in drgn's member_at_offset spelling."""

    type_name: str  # "struct scst_device"
    path: str  # "vdev_update_lat_stats", "stats[2]", "u.a or u.b"
    offset: int  # byte offset of the access inside the type
    size: int  # size of the member reached (0 if none)
    member_type: str = ""  # C type of that member

    @property
    def in_aggregate(self) -> bool:
        """True when ``type_name`` is a struct, union or class (not a scalar pointee)."""
        return bool(self.type_name) and self.type_name.split()[0] in ("struct", "union", "class")


@dataclass
class Evidence:
    """One fact the verdict rests on: an instruction, a DWARF location, a register value."""

    kind: str  # "insn", "dwarf", "reg", "note"
    text: str
    address: Optional[int] = None


@dataclass
class Verdict:
    """The answer: what went wrong at the fault, as an engineer would say it."""

    crash_class: str  # null-deref, null-fn-call, err-ptr, list-poison, bug, panic, ...
    function: str = ""
    module: str = ""
    site: str = ""  # "func+0x21 [mod]"
    source: str = ""  # "drivers/scst/scst_lib.c:10926"
    instruction: Optional[Instruction] = None
    access: str = ""  # read, write, read-write, exec
    size: int = 0
    address: Optional[int] = None  # the faulting address the verdict trusts
    bad: Optional[BadAddress] = None
    pointer: str = ""  # "cmd->dev"
    pointer_type: str = ""  # "struct scst_device *"
    access_path: str = ""  # "cmd->dev->vdev_update_lat_stats"
    #: how the bad pointer got into its register: "mov 0x40(%rbx),%rax; rbx = cmd, struct scst_cmd *"
    pointer_source: str = ""
    #: a routine that faulted on a bad pointer argument (memcpy); ``function`` is then its caller
    callee: str = ""
    member: Optional[Member] = None
    summary: str = ""  # one line
    confidence: str = "low"  # high, medium, low
    undecided: str = ""  # why a part could not be decided
    evidence: List[Evidence] = field(default_factory=list)

    @property
    def bucket(self) -> str:
        """``class:function:struct.member``: stable across reboots and KASLR."""
        where = ""
        m = self.member
        if m is not None and m.path and not m.path.startswith("+") and m.in_aggregate:
            where = f"{m.type_name.split()[-1]}.{m.path.split(' or ')[0]}"
        parts = [self.crash_class, self.function or "?"]
        if where:
            parts.append(where)
        elif self.callee:
            parts.append(f"{self.callee}()")
        return ":".join(parts)


@dataclass
class Report:
    """Everything ``kdumpext triage`` prints: dump, task, backtrace, verdict."""

    dump: DumpInfo
    task: Optional[TaskInfo]
    frames: List[Frame]
    verdict: Verdict
    registers: Registers = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict (schema in README.md)."""
        from . import report  # the schema lives with the renderers

        return report.to_json_dict(self)


@dataclass
class AddressInfo:
    """What an address is: its kind of (bad) pointer, what the dump knows lives there, the member it hits.

    Made by :func:`kdumpext.identify.identify`; ``str()`` is
    :func:`kdumpext.identify.render_address`, what ``explain`` prints in drgn and
    ``kdump explain`` in gdb.
    """

    address: int  #: the address explained (``pointer + offset`` when given that way)
    bad: BadAddress  #: :func:`kdumpext.addresses.classify` (or ``classify_pointer``) of it
    pointer: Optional[int] = None  #: the pointer, when given as ``pointer+offset``
    offset: int = 0  #: the offset added to ``pointer``
    in_dump: bool = False  #: whether a byte at :attr:`address` can be read from the dump
    physical: Optional[int] = None  #: the physical address, for an address in the direct map
    symbol: str = ""  #: ``jiffies+0x8`` when a symbol covers it
    module: str = ""  #: the kernel module (or "vmlinux") whose address range holds it
    identities: List[str] = field(default_factory=list)  #: drgn's ``identify_address`` answers
    slab_cache: str = ""  #: ``kmalloc-512`` for an address inside a slab object
    slab_object: Optional[int] = None  #: start of that slab object
    slab_allocated: Optional[bool] = None  #: whether that object is allocated (None: drgn can't tell)
    member: Optional[Member] = None  #: the member of :attr:`member_type_source`'s type at the offset
    member_type_source: str = ""  #: where the type came from: ``type given``, ``task``, ``page``, ...

    @property
    def kind(self) -> str:
        """``null``, ``err-ptr``, ``list-poison``, ``slab-poison``, ``non-canonical``, ``user``, ``kernel``."""
        return self.bad.kind

    @property
    def text(self) -> str:
        """The phrase for the address: ``NULL + 0x240``, ``ERR_PTR(-ENOMEM)``, ``kernel address 0x...``."""
        from .addresses import describe  # addresses imports this module

        return describe(self.bad)

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict; addresses as ``0x`` hex strings."""
        m = self.member
        return {
            "address": f"{self.address:#x}",
            "pointer": None if self.pointer is None else f"{self.pointer:#x}",
            "offset": f"{self.offset:#x}",
            "kind": self.bad.kind,
            "detail": self.bad.detail,
            "text": self.text,
            "in_dump": self.in_dump,
            "physical": None if self.physical is None else f"{self.physical:#x}",
            "symbol": self.symbol,
            "module": self.module,
            "identities": list(self.identities),
            "slab": None if not self.slab_cache else {
                "cache": self.slab_cache,
                "object": None if self.slab_object is None else f"{self.slab_object:#x}",
                "allocated": self.slab_allocated,
            },
            "member": None if m is None else {
                "type": m.type_name, "struct": m.type_name.split()[-1], "member": m.path,
                "offset": f"{m.offset:#x}", "size": m.size, "member_type": m.member_type,
                "type_from": self.member_type_source,
            },
        }

    def __str__(self) -> str:
        from .identify import render_address  # the renderer lives with the engine that fills this

        return render_address(self)
