"""Plain data passed between the stages: dump info, frames, decoded instructions, verdicts.

The ground floor of the package: it imports nothing of kdumpext.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, Tuple, get_args

__all__ = [
    "Registers",
    "MASK64",
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
    "HeldObject",
    "SlabTrack",
    "CpuStack",
    "Suspect",
    "Siblings",
    "Hop",
    "HopKind",
    "CrashClass",
    "SANITIZER_CLASSES",
    "Access",
    "Confidence",
    "TrackKind",
]

#: Register values by drgn's register names ("rip", "rsp", "rax", ...).
Registers = Dict[str, int]

#: x86-64 addresses and registers wrap at 64 bits: sums are taken ``& MASK64``.
MASK64 = (1 << 64) - 1

#: How a bad value got where it was used, one fact per hop of a provenance chain:
#: ``argument`` it arrived as a parameter (the next hop is in the caller);
#: ``address-of`` it is ``&p->member`` (the next hop follows ``p`` in the same function);
#: ``load`` it was loaded from memory (``a->link``); ``return`` it is a call's return value;
#: ``global`` loaded from a global (or per-cpu) variable; ``constant`` a literal;
#: ``unknown`` the trail ends without an answer.
HopKind = Literal["argument", "address-of", "load", "return", "global", "constant", "unknown"]
HOP_KINDS: Tuple[str, ...] = get_args(HopKind)

#: Verdict classes (``crash_class``).  ``use-after-free``, ``out-of-bounds`` and ``invalid-free``
#: are what a memory sanitizer (KASAN, KFENCE) caught before the access faulted.
CrashClass = Literal["null-deref", "null-fn-call", "err-ptr", "list-poison", "slab-poison", "non-canonical",
                     "user-access", "bad-access", "bad-call", "use-after-free", "out-of-bounds", "invalid-free",
                     "bug", "warning", "panic", "unknown"]
#: The classes of an access a memory sanitizer caught (its report, not a fault, says what was wrong).
SANITIZER_CLASSES: Tuple[str, ...] = ("use-after-free", "out-of-bounds", "invalid-free")
#: Memory access kinds of an instruction ("" for none).
Access = Literal["read", "write", "read-write", "exec", ""]
Confidence = Literal["high", "medium", "low"]
#: what a SLUB track (slub_debug=U) records: the object's last allocation or its last free
TrackKind = Literal["alloc", "free"]



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
    #: the host's name as the kernel had it (``init_uts_ns.name.nodename``; ``(none)`` when it was
    #: never set); "" when not read (a kernel log's text does not say it)
    nodename: str = ""


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
    #: what the unwinder knows of the frame's registers (callee-saved ones in a caller's frame)
    registers: Registers = field(default_factory=dict, repr=False, compare=False)

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
        return total & MASK64


@dataclass
class Instruction:
    """One decoded instruction; text fields are for display only, never parsed."""

    address: int
    size: int
    raw: bytes
    mnemonic: str
    op_str: str  # AT&T unless decoded with intel=True
    mem: Optional[MemOperand] = None  # the memory operand, when there is one
    access: Access = ""  # "read", "write", "read-write" or "" (no memory access)
    regs_read: List[str] = field(default_factory=list)
    regs_written: List[str] = field(default_factory=list)
    target: Optional[int] = None  # direct call/jump target
    is_call: bool = False
    is_jump: bool = False
    is_ret: bool = False
    reg_target: Optional[str] = None  # register of an indirect call/jump ``call *%rax``
    arch: str = "x86_64"  # the instruction set it was decoded as (kdumpext.arch.Arch.name)

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
    """The member of a type reached by an access, spelled like drgn's ``member_at_offset()``.

    ``path`` is the deepest member containing the accessed bytes (``node.next``,
    ``stats[2]``, ``val.counter``); ``""`` when the access is to the pointee itself
    (a scalar or the first byte of a member-less object).  ``offset`` is that member's
    own offset in ``type_name``; ``accessed`` the byte offset the instruction touched
    (``offset`` + a byte inside the member, e.g. a ``testb`` on byte +0x42 of a 4-byte
    member at +0x40) and ``access_size`` how many bytes it touched.  Union members
    covering the same bytes are ``alternatives`` (the best fit by size first in
    ``path``).
    """

    type_name: str  # "struct scst_device"
    path: str  # "vdev_update_lat_stats", "stats[2]", "u.a"
    offset: int  # the member's own byte offset inside the type
    size: int  # size of the member reached (0 if unknown)
    member_type: str = ""  # C type of that member
    accessed: Optional[int] = None  # byte offset accessed (None: the same as offset)
    access_size: int = 0  # bytes accessed (0: unknown)
    alternatives: List[str] = field(default_factory=list)  # other union members over these bytes

    @property
    def in_aggregate(self) -> bool:
        """True when ``type_name`` is a struct, union or class (not a scalar pointee)."""
        return bool(self.type_name) and self.type_name.split()[0] in ("struct", "union", "class")

    @property
    def byte(self) -> int:
        """The byte offset accessed inside the type (``accessed``, else ``offset``)."""
        return self.offset if self.accessed is None else self.accessed

    @property
    def struct(self) -> str:
        """``scst_device`` for ``struct scst_device``; "" for a scalar pointee."""
        return self.type_name.split()[-1] if self.in_aggregate else ""


@dataclass
class Hop:
    """One fact in the provenance of a bad value: what it is called in one function, and how it got there.

    Hops run from the fault outwards; the last one is the origin.  ``function`` is the
    source function (an ISRA/constprop/part clone by its source name, the suffix in
    ``clone``); ``fact`` is the instruction or DWARF fact the hop rests on, ``pc`` its
    address.
    """

    kind: HopKind
    function: str
    expr: str  # the value's name in that function, C syntax: "lock", "&x->lock", "a->link"
    clone: str = ""  # ".isra.0", ".constprop.0", ".part.0", ""
    module: str = ""
    type: str = ""  # C type of the value, when known ("struct file *")
    fact: str = ""  # "mov 0x40(%rbx),%rdi", "DW_AT_call_value: %rbx + 0x1c8", "parameter x in %rdi"
    pc: Optional[int] = None
    member: Optional[Member] = None  # address-of / load: the member of the pointee reached
    callee: str = ""  # return: whose return value; argument: the function it was passed to
    candidates: List[str] = field(default_factory=list)  # other values where control-flow paths disagree
    value: Optional[int] = None  # the bad value itself at this hop, when known (0 for NULL)
    arg: int = 0  # argument: the parameter's position (1 for the first), when the register says it
    #: load: the object the value was read from (``cmd`` for ``cmd->dev``): its address when the
    #: dump's registers say it, its expression and its pointer type
    holder: Optional[int] = None
    holder_expr: str = ""
    holder_type: str = ""

    @property
    def site(self) -> str:
        """``foo [.isra.0]`` as the report prints a hop's function."""
        return self.function + (f" [{self.clone}]" if self.clone else "")


@dataclass
class Evidence:
    """One fact the verdict rests on: an instruction, a DWARF location, a register value."""

    kind: str  # "insn", "dwarf", "reg", "note"
    text: str
    address: Optional[int] = None


@dataclass
class Verdict:
    """The answer: what went wrong at the fault, as an engineer would say it."""

    crash_class: CrashClass
    function: str = ""
    module: str = ""
    site: str = ""  # "func+0x21 [mod]"
    source: str = ""  # "drivers/scst/scst_lib.c:10926"
    source_line: str = ""  # the text of that line, when the file is found on this machine
    instruction: Optional[Instruction] = None
    access: Access = ""
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
    summary: str = ""  # one line, phrased by kdumpext.report.summarize from the fields here
    message: str = ""  # for a panic: the message it was called with
    confidence: Confidence = "low"
    undecided: str = ""  # why a part could not be decided
    evidence: List[Evidence] = field(default_factory=list)
    #: where the bad value came from, hop by hop from the fault outwards (empty: not traced)
    chain: List[Hop] = field(default_factory=list)
    #: the function to blame, when ``function`` is a shared routine its caller handed a bad
    #: argument (``_raw_spin_lock_irqsave`` -> its caller); "" when it is ``function`` itself.
    #: Clone suffixes stripped.  The frame, where :attr:`chain` is the bad value's history.
    blame: str = ""
    blame_module: str = ""  # "" for vmlinux
    blame_reason: str = ""  # "the caller of _raw_spin_lock_irqsave, a locking routine"

    @property
    def origin(self) -> Optional[Hop]:
        """The last hop of :attr:`chain`: where the bad value was made."""
        return self.chain[-1] if self.chain else None

    @property
    def bucket(self) -> str:
        """``class:who:what``: stable across reboots and KASLR.

        ``who`` is :attr:`blame` when set, else :attr:`function`: the code that made the
        mistake, so one lock taken badly from two drivers is two buckets.  ``what`` is
        the member accessed (``struct.member``, the same whichever lock routine reached
        it: ``spin_lock`` and ``spin_lock_irqsave`` on one bad lock are one bucket); else
        the routine that faulted for ``who`` (``callee()`` of a memcpy verdict, or the
        blamed-away ``function()``); else nothing.  E.g.
        ``null-deref:kdxapi_link_quiesce:raw_spinlock.raw_lock.val.counter``,
        ``null-deref:kdx_msg_fill:__memcpy()``, ``null-deref:kdxapi_fw_desc_namelen:strlen()``.
        """
        where = ""
        m = self.member
        if m is not None and m.path and m.in_aggregate:
            where = f"{m.struct}.{m.path}"
        elif self.callee:
            where = f"{self.callee}()"
        elif self.blame and self.function:
            where = f"{self.function}()"
        parts = [self.crash_class, self.blame or self.function or "?"]
        if where:
            parts.append(where)
        return ":".join(parts)


@dataclass
class Suspect:
    """A pointer member of an object holding a value no live pointer holds."""

    path: str  #: ``cmd_list_entry.next``
    offset: int  #: its byte offset in the object
    value: int
    kind: str  #: ``list-poison``, ``slab-poison``, ``err-ptr``, ``non-canonical``
    hint: str  #: the plain sentence: what it says about the object


@dataclass
class Siblings:
    """The other allocated objects of the holder's slab cache, and how many share the bad value."""

    cache: str
    member: str  #: the member compared (``dev``)
    value: int  #: the bad value it holds in the holder (0 for NULL)
    same: int = 0  #: objects (the holder included) whose member holds that value
    scanned: int = 0  #: allocated objects read
    examples: List[int] = field(default_factory=list)  #: up to three others that share it
    stopped: str = ""  #: why the scan stopped before the end ("time limit 0.3 s"), "" if complete
    skipped: str = ""  #: why no count was made (a general kmalloc cache, a merged cache)


@dataclass
class SlabTrack:
    """Where a slab object was last allocated or freed, as ``slub_debug=U`` records it."""

    kind: TrackKind
    caller: str  #: ``kdxobj_req_complete+0x5c [kdxobj]``: the allocator's or free's caller
    pid: int
    cpu: int
    when: int  #: jiffies then
    ago: Optional[int] = None  #: jiffies from then to the crash (None when the dump's jiffies are unreadable)
    frames: List[str] = field(default_factory=list)  #: the stack depot's trace, innermost first

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form."""
        return {"kind": self.kind, "caller": self.caller, "pid": self.pid, "cpu": self.cpu, "when": self.when,
                "jiffies_before_crash": self.ago, "frames": list(self.frames)}


@dataclass
class HeldObject:
    """One object a bad value was read from (``cmd`` for ``cmd->dev``)."""

    expr: str  #: ``cmd``
    address: int
    type: str  #: ``struct scst_cmd``
    where: str  #: ``slab object in kmalloc-256``, ``task stack of pid 38``, ``global scst_default_dev``
    cache: str = ""
    object_start: Optional[int] = None  #: the slab object's start (``address`` may be inside it)
    allocated: Optional[bool] = None  #: for a slab object: allocated (True), free (False), unknown
    suspects: List[Suspect] = field(default_factory=list)
    siblings: Optional[Siblings] = None
    member: str = ""  #: the member the bad value was read from (``dev``)
    member_offset: int = 0
    tracks: List[SlabTrack] = field(default_factory=list)  #: its last allocation and free (slub_debug=U)

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form (addresses as hex strings)."""
        s = self.siblings
        return {
            "expr": self.expr, "address": f"{self.address:#x}", "type": self.type, "where": self.where,
            "cache": self.cache or None,
            "object_start": None if self.object_start is None else f"{self.object_start:#x}",
            "allocated": self.allocated, "member": self.member or None,
            "suspects": [{"member": x.path, "offset": f"{x.offset:#x}", "value": f"{x.value:#x}", "kind": x.kind,
                          "hint": x.hint} for x in self.suspects],
            "siblings": None if s is None else {
                "cache": s.cache, "member": s.member, "value": f"{s.value:#x}", "same": s.same, "scanned": s.scanned,
                "examples": [f"{a:#x}" for a in s.examples], "stopped": s.stopped or None,
                "skipped": s.skipped or None,
            },
            "tracks": [t.to_dict() for t in self.tracks],
        }


@dataclass
class CpuStack:
    """What another CPU was running when the kernel crashed: its task and the top of its stack."""

    cpu: int
    pid: int
    comm: str
    frames: List[str] = field(default_factory=list)  #: function names, innermost first
    error: str = ""  #: why the stack could not be read, when it could not


@dataclass
class Report:
    """Everything ``kdumpext triage`` prints: dump, task, backtrace, verdict."""

    dump: DumpInfo
    task: Optional[TaskInfo]
    frames: List[Frame]
    verdict: Verdict
    registers: Registers = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    #: what a sound dump gives and this one did not, or where it contradicts its own oops
    #: report (a damaged dump: the verdict then has low confidence); empty for a sound dump
    damage: List[str] = field(default_factory=list)
    #: the objects the bad value was read from (kdumpext.objects.held_objects): a dump's only
    objects: List["HeldObject"] = field(default_factory=list)
    #: the last lines the kernel logged before the report (timestamps stripped)
    log_before: List[str] = field(default_factory=list)
    #: the other CPUs' tasks and stacks (on request: ``kdumpext triage --cpus``)
    cpus: List[CpuStack] = field(default_factory=list)
