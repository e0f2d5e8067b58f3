"""Dataflow and the cross-frame chain on hand-built code and types: no dump is opened.

The bytes are real x86-64 instructions (objdump spellings in the comments); the types
are made with drgn's type constructors on an empty program; a small fake
:class:`~kdumpext.program.ProgramView` answers what DWARF would.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import drgn
import pytest

from kdumpext.decode import decode_all
from kdumpext.dwarf import CallSite, FunctionInfo, RegPlus, VarLoc
from kdumpext.explain import Tracer
from kdumpext.model import Frame
from kdumpext.program import Code, Symbol
from kdumpext.arch import X86_64
from kdumpext.provenance import chain


class FakeView:
    """A ProgramView over hand-made functions, variables and types."""

    def __init__(self) -> None:
        self.prog = drgn.Program(drgn.host_platform)
        self.arch = X86_64  # the hand-made functions are x86-64 code
        self.codes: List[Code] = []
        self.vars: Dict[int, List[VarLoc]] = {}
        self.types: Dict[str, drgn.Type] = {}
        self.sites: Dict[int, CallSite] = {}
        self.returns: Dict[int, FunctionInfo] = {}

    def add(self, name: str, start: int, hexbytes: str) -> Code:
        insns = decode_all(bytes.fromhex(hexbytes.replace(" ", "")), start)
        code = Code(name, start, insns[-1].address + insns[-1].size, "", insns)
        self.codes.append(code)
        return code

    def code(self, pc: int) -> Optional[Code]:
        return next((c for c in self.codes if c.start <= pc < c.end), None)

    def variables_at(self, pc: int) -> List[VarLoc]:
        return self.vars.get(pc, [])  # the hand-made variables are where they are at a function's entry

    def function_info(self, pc: int) -> Optional[FunctionInfo]:
        return self.returns.get(pc)

    def call_site(self, return_pc: int) -> Optional[CallSite]:
        return self.sites.get(return_pc)

    def type_named(self, name: str, filename: str = "") -> Optional[drgn.Type]:
        return self.types.get(name)

    def pointer_to(self, t: drgn.Type) -> drgn.Type:
        return self.prog.pointer_type(t)

    def symbol_at(self, address: int) -> Optional[Symbol]:
        c = self.code(address)
        return Symbol(c.name, c.start, c.end - c.start) if c is not None else None

    def global_at(self, address: int) -> Optional[Tuple[str, int, Optional[drgn.Type]]]:
        return None

    def percpu_at(self, offset: int) -> Optional[Tuple[str, int, Optional[drgn.Type]]]:
        return None

    def thunk_register(self, address: int) -> Optional[str]:
        return None

    def return_thunk(self, address: int) -> bool:
        return False

    def read_word(self, address: int) -> Optional[int]:
        return None


def _types(view: FakeView) -> None:
    p = view.prog
    u64 = p.int_type("unsigned long", 8, False)
    u32 = p.int_type("unsigned int", 4, False)
    lock = p.struct_type("spinlock", 4, (drgn.TypeMember(u32, "val", 0),))
    bar = p.struct_type("bar", 0x1d0, (drgn.TypeMember(u64, "id", 0), drgn.TypeMember(lock, "some_lock", 0x1c8 * 8)))
    link = p.struct_type("link", 16, (drgn.TypeMember(u64, "flags", 0), drgn.TypeMember(p.pointer_type(bar), "bar", 64)))
    view.types.update({"struct spinlock *": p.pointer_type(lock), "struct bar *": p.pointer_type(bar),
                       "struct link *": p.pointer_type(link), "struct spinlock": lock, "unsigned int": u32,
                       "struct bar": bar, "struct bar *const": p.pointer_type(bar)})


@pytest.fixture()
def view() -> FakeView:
    v = FakeView()
    _types(v)
    return v


def test_tracer_follows_a_copy_to_a_parameter(view: FakeView) -> None:
    # 48 89 fb  mov %rdi,%rbx ; 48 8b 43 08  mov 0x8(%rbx),%rax ; 8b 80 c8 01 00 00  mov 0x1c8(%rax),%eax
    code = view.add("f", 0x1000, "4889fb 488b4308 8b80c8010000")
    view.vars[0x1000] = [VarLoc("l", "struct link *", True, "f", reg="rdi", entry_reg="rdi")]
    v = Tracer(view, code).value("rax", 2)
    assert (v.text, v.how) == ("l->bar", "load")
    assert v.base is not None and (v.base.text, v.base.how) == ("l", "param")


def test_paths_that_disagree_give_candidates(view: FakeView) -> None:
    # 48 85 ff  test %rdi,%rdi ; 74 06  je +6 ; 48 8b 47 08  mov 0x8(%rdi),%rax ; eb 02  jmp +2 ;
    # 31 c0  xor %eax,%eax ; 8b 00  mov (%rax),%eax
    code = view.add("g", 0x2000, "4885ff 7406 488b4708 eb02 31c0 8b00")
    view.vars[0x2000] = [VarLoc("l", "struct link *", True, "g", reg="rdi", entry_reg="rdi")]
    idx = len(code.insns) - 1
    v = Tracer(view, code).value("rax", idx)
    texts = {v.text} | {c.text for c in v.candidates}
    assert texts == {"l->bar", "NULL"}


def test_chain_through_address_of_argument(view: FakeView) -> None:
    """lock = &x->some_lock with x = l->bar loaded in the caller: argument, address-of, load."""
    # callee: f0 0f b1 17  lock cmpxchg %edx,(%rdi)
    callee = view.add("_raw_spin_lock_irqsave", 0x5000, "f00fb117 c3")
    view.vars[0x5000] = [VarLoc("lock", "struct spinlock *", True, "_raw_spin_lock_irqsave", reg="rdi",
                                entry_reg="rdi")]
    # caller at 0x6000: 48 8b 5f 08  mov 0x8(%rdi),%rbx ; 48 8d bb c8 01 00 00  lea 0x1c8(%rbx),%rdi ;
    # e8 ..  call 0x5000 ; c3
    call_at = 0x6000 + 4 + 7
    rel = (0x5000 - (call_at + 5)) & 0xFFFFFFFF
    caller = view.add("foo", 0x6000, "488b5f08 488dbbc8010000 e8" + rel.to_bytes(4, "little").hex() + " c3")
    view.vars[0x6000] = [VarLoc("l", "struct link *", True, "foo", reg="rdi", entry_reg="rdi")]
    frames = [Frame(0, 0x5000, "_raw_spin_lock_irqsave", exception=True), Frame(1, call_at + 5, "foo")]
    t = Tracer(view, callee, {"rdi": 0x1c8}, 0)
    v = t.value("rdi", 0)
    hops = chain(view, frames, 0, t, v, 0x1c8)
    assert [(h.function, h.kind, h.expr) for h in hops] == [
        ("_raw_spin_lock_irqsave", "argument", "lock"),
        ("foo", "address-of", "&l->bar->some_lock"),
        ("foo", "load", "l->bar"),
    ]
    assert hops[1].member is not None and (hops[1].member.path, hops[1].member.offset) == ("some_lock", 0x1c8)
    assert [h.value for h in hops] == [0x1c8, 0x1c8, 0]
    assert hops[1].callee == "_raw_spin_lock_irqsave"
    assert caller.index_of(call_at) is not None


def test_chain_from_dwarf_call_value(view: FakeView) -> None:
    """When the caller's code does not say (the value came from a callee-saved register set by
    code we cannot name), DWARF's DW_AT_call_value does: %rbx + 0x1c8 with rbx = x."""
    callee = view.add("_raw_spin_lock", 0x5000, "f00fb117 c3")
    view.vars[0x5000] = [VarLoc("lock", "struct spinlock *", True, "_raw_spin_lock", reg="rdi", entry_reg="rdi")]
    # caller: 48 89 fb  mov %rdi,%rbx ; 48 8b 3c 24  mov (%rsp),%rdi (nothing names it) ; call ; c3
    call_at = 0x6000 + 3 + 4
    rel = (0x5000 - (call_at + 5)) & 0xFFFFFFFF
    view.add("foo", 0x6000, "4889fb 488b3c24 e8" + rel.to_bytes(4, "little").hex() + " c3")
    view.vars[0x6000] = [VarLoc("x", "struct bar *", True, "foo", reg="rdi", entry_reg="rdi")]
    view.sites[call_at + 5] = CallSite(call_at + 5, call_at, "_raw_spin_lock", False, {"rdi": RegPlus("rbx", 0x1c8)})
    frames = [Frame(0, 0x5000, "_raw_spin_lock", exception=True), Frame(1, call_at + 5, "foo")]
    t = Tracer(view, callee, {"rdi": 0x1c8}, 0)
    hops = chain(view, frames, 0, t, t.value("rdi", 0), 0x1c8)
    assert [(h.function, h.kind, h.expr) for h in hops] == [
        ("_raw_spin_lock", "argument", "lock"),
        ("foo", "address-of", "&x->some_lock"),
        ("foo", "argument", "x"),
    ]
    assert "DW_AT_call_value" in hops[1].fact or any("DW_AT_call_value" in h.fact for h in hops)


def test_spill_named_by_dw_op_fbreg(view: FakeView) -> None:
    """A value spilled to the stack and reloaded is traced to what was stored; the variable DWARF
    places in that slot (DW_OP_fbreg k: the CFA, entry rsp + 8, plus k) names it too."""
    from kdumpext.dwarf import Deref, FrameBase

    # 53  push %rbx ; 48 89 fb  mov %rdi,%rbx ; 48 83 ec 18  sub $0x18,%rsp ;
    # 48 89 5c 24 08  mov %rbx,0x8(%rsp) ; 48 8b 44 24 08  mov 0x8(%rsp),%rax ; c3  ret
    code = view.add("h", 0x3000, "53 4889fb 4883ec18 48895c2408 488b442408 c3")
    view.vars[0x3000] = [VarLoc("l", "struct link *", True, "h", reg="rdi", entry_reg="rdi")]
    # the slot of `mov 0x8(%rsp)` is entry rsp - 8 - 0x18 + 8 = -0x18 = CFA - 0x20
    saved = VarLoc("saved", "struct link *", False, "h", value=Deref(FrameBase(-0x20)))
    view.vars[code.insns[4].address] = [saved]
    v = Tracer(view, code).value("rax", 5)
    assert (v.text, v.how) == ("l", "param")  # traced through the spill to the argument
    assert "saved" in v.aliases
    # with no store to follow, the variable in the slot is the answer
    code2 = view.add("h2", 0x4000, "4883ec18 488b442408 c3")
    view.vars[code2.insns[1].address] = [VarLoc("saved", "struct link *", False, "h2",
                                                value=Deref(FrameBase(-0x18)))]
    v2 = Tracer(view, code2).value("rax", 2)
    assert (v2.text, v2.how) == ("saved", "local")


def test_chain_stops_where_the_dump_contradicts_it(view: FakeView) -> None:
    """The caller passed %rbx (unwinder: 0x5000) but 0x1c8 arrived: this call did not pass the bad
    value (a frame the stack does not show), so the chain says so instead of going on."""
    view.add("_raw_spin_lock", 0x5000, "f00fb117 c3")
    view.vars[0x5000] = [VarLoc("lock", "struct spinlock *", True, "_raw_spin_lock", reg="rdi", entry_reg="rdi")]
    # caller: 48 89 df  mov %rbx,%rdi ; call 0x5000 ; c3
    call_at = 0x6000 + 3
    rel = (0x5000 - (call_at + 5)) & 0xFFFFFFFF
    view.add("foo", 0x6000, "4889df e8" + rel.to_bytes(4, "little").hex() + " c3")
    frames = [Frame(0, 0x5000, "_raw_spin_lock", exception=True),
              Frame(1, call_at + 5, "foo", registers={"rbx": 0x5000})]
    t = Tracer(view, view.codes[-2], {"rdi": 0x1c8}, 0)
    hops = chain(view, frames, 0, t, t.value("rdi", 0), 0x1c8)
    assert [(h.function, h.kind) for h in hops] == [("_raw_spin_lock", "argument"), ("foo", "unknown")]
    assert "0x5000" in hops[1].fact and "not decided" in hops[1].fact
    # the same call with the value the dump agrees with goes on
    frames[1] = Frame(1, call_at + 5, "foo", registers={"rbx": 0x1c8})
    hops = chain(view, frames, 0, t, t.value("rdi", 0), 0x1c8)
    assert "the dump says" not in " ".join(h.fact for h in hops)


def test_code_from_a_file_as_it_runs() -> None:
    """Debian's _raw_spin_lock_irqsave as its vmlinux file has it (objdump): ``call __fentry__``
    and two paravirt callee-save calls before the fault; none of them changes %rdi."""
    from kdumpext.flow import ENTRY, build_cfg, reaching_defs
    from kdumpext.program import as_it_runs

    start = 0xffffffff81a18090
    # e8 9b 36 65 ff  call __fentry__ ; 53  push %rbx ; ff 15 14 19 02 01  call *pv_ops+0xf0(%rip) ;
    # 48 89 c3  mov %rax,%rbx ; ff 15 13 19 02 01  call *pv_ops+0xf8(%rip) ;
    # 31 c0  xor %eax,%eax ; ba 01 00 00 00  mov $0x1,%edx ; f0 0f b1 17  lock cmpxchg %edx,(%rdi)
    raw = "e89b3665ff 53 ff1514190201 4889c3 ff1513190201 31c0 ba01000000 f00fb117"
    insns = decode_all(bytes.fromhex(raw.replace(" ", "")), start)
    fentry, pv_ops = 0xffffffff8106b730, 0xffffffff82a398c0
    assert insns[0].target == fentry

    def symbol_at(a: int) -> Optional[Symbol]:
        return Symbol("__fentry__", fentry, 16) if a == fentry else None

    def pv_member(a: int) -> Optional[str]:
        return {pv_ops + 0xf0: "irq.save_fl", pv_ops + 0xf8: "irq.irq_disable"}.get(a)

    fault = len(insns) - 1
    assert reaching_defs(build_cfg(insns), "rdi", fault) != [ENTRY]  # the calls clobber rdi as read
    ran = [as_it_runs(i, symbol_at, pv_member) for i in insns]
    assert reaching_defs(build_cfg(ran), "rdi", fault) == [ENTRY]  # lock arrived in rdi, untouched
    assert reaching_defs(build_cfg(ran), "rax", fault) == [5]  # the xor; the pv calls do write rax
    assert not ran[0].is_call and ran[0].mnemonic == "nop"
    # a call that is neither stays a call
    other = as_it_runs(insns[0], lambda a: Symbol("kfree", fentry, 16), pv_member)
    assert other.is_call


def test_loop_variable_named_by_dwarf(view: FakeView) -> None:
    """list_for_each_entry() over entries whose list node is at offset 0 (Debian's kdxobj.ko,
    kdxobj_host_resubmit, GCC 12 -O2; the __fentry__ call as ftrace left it, a NOP): the loop's
    register holds `host->pending.next` on the first pass and `(%rax)` after, and container_of()
    adds no instruction, so no trace gives the entry's type; DWARF's `req` (in %rax over the
    loop) does: `req->queue`, not a member 0x28 into a list_head."""
    p = view.prog
    u32, u64 = p.int_type("unsigned int", 4, False), p.int_type("unsigned long", 8, False)
    head_ptr = p.pointer_type(p.struct_type("list_head"))  # (incomplete: what a self-reference needs here)
    head = p.struct_type("list_head", 16, (drgn.TypeMember(head_ptr, "next", 0), drgn.TypeMember(head_ptr, "prev", 64)))
    queue = p.struct_type("kdxobj_queue", 0x28, (drgn.TypeMember(u32, "qid", 16 * 8), drgn.TypeMember(u32, "depth", 20 * 8),
                                                 drgn.TypeMember(u64, "submitted", 0x18 * 8)))
    req = p.struct_type("kdxobj_req", 0x58, (drgn.TypeMember(head, "node", 0), drgn.TypeMember(u32, "tag", 16 * 8),
                                             drgn.TypeMember(p.pointer_type(queue), "queue", 0x28 * 8),
                                             drgn.TypeMember(u64, "deadline", 0x30 * 8)))
    host = p.struct_type("kdxobj_host", 0x38, (drgn.TypeMember(head, "pending", 0x18 * 8),
                                               drgn.TypeMember(p.pointer_type(req), "timed_out", 0x28 * 8),
                                               drgn.TypeMember(u64, "resubmits", 0x30 * 8)))
    view.types.update({"struct kdxobj_req *": p.pointer_type(req), "struct kdxobj_host *": p.pointer_type(host)})
    # 0f 1f 44 00 00  nopl (ftrace) ; 48 8b 47 18  mov 0x18(%rdi),%rax ; 48 8d 77 18  lea 0x18(%rdi),%rsi ;
    # 31 c9  xor %ecx,%ecx ; 48 39 f0  cmp %rsi,%rax ; 74 27  je +0x27 ;
    # 64: 48 8b 50 28  mov 0x28(%rax),%rdx ; 48 83 c1 01  add $1,%rcx ; 48 83 42 18 01  addq $1,0x18(%rdx) ;
    # 48 8b 15 00 00 00 00  mov jiffies(%rip),%rdx ; 48 81 c2 fa 00 00 00  add $0xfa,%rdx ;
    # 48 89 50 30  mov %rdx,0x30(%rax) ; 48 8b 00  mov (%rax),%rax ; 48 39 f0  cmp %rsi,%rax ; 75 d9  jne 64 ;
    # 48 01 4f 30  add %rcx,0x30(%rdi) ; 48 89 c8  mov %rcx,%rax ; c3  ret
    code = view.add("kdxobj_host_resubmit", 0x7050,
                    "0f1f440000 488b4718 488d7718 31c9 4839f0 7427 488b5028 4883c101 4883421801 488b1500000000"
                    " 4881c2fa000000 48895030 488b00 4839f0 75d9 48014f30 4889c8 c3")
    param = VarLoc("host", "struct kdxobj_host *", True, "kdxobj_host_resubmit", reg="rdi", entry_reg="rdi")
    for insn in code.insns:  # the module's location lists: host in %rdi throughout, req in %rax from 0x59
        view.vars[insn.address] = [param] + ([VarLoc("req", "struct kdxobj_req *", False, "kdxobj_host_resubmit",
                                                     reg="rax", location="DW_OP_reg0 (rax)")]
                                             if insn.address >= 0x7059 else [])
    fault = next(i for i, insn in enumerate(code.insns) if insn.address == 0x706c)  # addq $0x1,0x18(%rdx)
    v = Tracer(view, code).value("rdx", fault)
    assert (v.text, v.how) == ("req->queue", "load")
    assert v.base is not None and (v.base.text, v.base.how) == ("req", "local") and v.base.candidates == []
