"""Tests for kdumpext.flow: control-flow graphs, reaching definitions and stack slots.

The hand-made functions were assembled with GNU as 2.40 (the listing beside each
is objdump's); the real ones are copied from sample-dumps/build/kdx.ko (build-id
d7e64475d362f82ccdeb692892c879a14e189302, gcc 12.2.0, relocations not applied, so
its calls read ``e8 00 00 00 00``), at the .text offsets ``objdump -d`` prints, and
from sample-dumps/build/vmlinux (6.1.192, build-id
e89e894331ee6d0fb2f9d70edf16191f658cba02) at its link addresses.
"""

from __future__ import annotations

from typing import List, Optional

import pytest

from kdumpext.decode import decode_all
from kdumpext.flow import (
    CALLER_SAVED,
    ENTRY,
    UNKNOWN,
    Cfg,
    build_cfg,
    reaching_defs,
    reaching_stores,
    sp_offsets,
    stack_slot,
    value_sources,
)

BASE = 0xFFFFFFFFC0001000  # where the hand-made functions are decoded


def cfg_of(code: str, address: int = BASE) -> Cfg:
    """The CFG of the function whose bytes are ``code`` (hex) at ``address``."""
    return build_cfg(decode_all(bytes.fromhex(code), address))


def at(cfg: Cfg, address: int) -> int:
    """Index of the instruction at ``address``; fails the test if there is none."""
    i = cfg.index_of(address)
    assert i is not None, f"no instruction at {address:#x}"
    return i


def defs(cfg: Cfg, reg: str, address: int) -> List[int]:
    """reaching_defs before the instruction at ``address``, as addresses (ENTRY, UNKNOWN kept)."""
    return [cfg.insns[j].address if j >= 0 else j for j in reaching_defs(cfg, reg, at(cfg, address))]


def stores(cfg: Cfg, slot: int, size: int, address: int) -> List[int]:
    """reaching_stores before the instruction at ``address``, as addresses."""
    return [cfg.insns[j].address if j >= 0 else j for j in reaching_stores(cfg, slot, size, at(cfg, address))]


def sp(cfg: Cfg, address: int) -> Optional[int]:
    """sp_offsets before the instruction at ``address``."""
    return sp_offsets(cfg)[at(cfg, address)]


# --- hand-made functions ----------------------------------------------------------------

# 0: mov %rdi,%rax / 3: add $0x8,%rax / 7: mov (%rax),%rbx / a: ret
STRAIGHT = "4889f8" "4883c008" "488b18" "c3"


def test_straight_line() -> None:
    cfg = cfg_of(STRAIGHT)
    assert [(b.start, b.end, b.succs, b.preds) for b in cfg.blocks] == [(0, 4, [], [])]
    assert defs(cfg, "rax", BASE + 0x7) == [BASE + 0x3]
    assert defs(cfg, "rax", BASE + 0x3) == [BASE + 0x0]
    assert defs(cfg, "rax", BASE + 0x0) == [ENTRY]
    assert defs(cfg, "rdi", BASE + 0x7) == [ENTRY]
    assert defs(cfg, "rbx", BASE + 0xA) == [BASE + 0x7]
    # the point is just before the instruction: its own write does not count
    assert defs(cfg, "rbx", BASE + 0x7) == [ENTRY]


def test_index_out_of_range() -> None:
    cfg = cfg_of(STRAIGHT)
    for bad in (-1, 4, 100):
        with pytest.raises(ValueError):
            reaching_defs(cfg, "rax", bad)
        with pytest.raises(ValueError):
            reaching_stores(cfg, -8, 8, bad)
        with pytest.raises(ValueError):
            cfg.block_of(bad)
    assert cfg.index_of(BASE + 1) is None  # inside an instruction
    assert cfg.index_of(BASE + 3) == 1


# 0: test %rdi,%rdi / 3: je 0xb / 5: mov 0x8(%rdi),%rax / 9: jmp 0xd
# b: xor %eax,%eax / d: mov (%rax),%rdx / 10: ret
IF_ELSE = "4885ff" "7406" "488b4708" "eb02" "31c0" "488b10" "c3"


def test_if_else_two_definitions() -> None:
    cfg = cfg_of(IF_ELSE)
    assert [(b.start, b.end) for b in cfg.blocks] == [(0, 2), (2, 4), (4, 5), (5, 7)]
    assert [b.succs for b in cfg.blocks] == [[1, 2], [3], [3], []]
    assert [sorted(b.preds) for b in cfg.blocks] == [[], [0], [0], [1, 2]]
    assert defs(cfg, "rax", BASE + 0xD) == [BASE + 0x5, BASE + 0xB]
    assert defs(cfg, "rax", BASE + 0x9) == [BASE + 0x5]
    assert defs(cfg, "rdx", BASE + 0x10) == [BASE + 0xD]
    assert defs(cfg, "rdi", BASE + 0xD) == [ENTRY]
    srcs = value_sources(cfg, "rax", at(cfg, BASE + 0xD))
    assert [(cfg.insns[j].address, s.kind if s else None) for j, s in srcs] == [
        (BASE + 0x5, "load"),
        (BASE + 0xB, "imm"),
    ]


# 0: xor %eax,%eax / 2: mov (%rdi),%rdi / 5: add $0x1,%eax / 8: test %rdi,%rdi
# b: jne 0x2 / d: ret
LOOP = "31c0" "488b3f" "83c001" "4885ff" "75f5" "c3"


def test_loop() -> None:
    cfg = cfg_of(LOOP)
    assert [(b.start, b.end, b.succs) for b in cfg.blocks] == [(0, 1, [1]), (1, 5, [1, 2]), (5, 6, [])]
    # the list walk: first the argument, then the value loaded the time before
    assert defs(cfg, "rdi", BASE + 0x2) == [ENTRY, BASE + 0x2]
    assert defs(cfg, "rax", BASE + 0x5) == [BASE + 0x0, BASE + 0x5]
    assert defs(cfg, "rax", BASE + 0xD) == [BASE + 0x5]
    assert defs(cfg, "rdi", BASE + 0xD) == [BASE + 0x2]
    assert defs(cfg, "rsi", BASE + 0xD) == [ENTRY]


# 0: mov %rdi,%rbx / 3: mov %rsi,%rax / 6: call ... / b: mov (%rbx),%rdi
# e: mov %rax,%rsi / 11: ret
CALLS = "4889fb" "4889f0" "e8fb000000" "488b3b" "4889c6" "c3"


def test_call_clobbers_caller_saved_only() -> None:
    cfg = cfg_of(CALLS)
    assert len(cfg.blocks) == 1  # a call falls through
    assert defs(cfg, "rbx", BASE + 0xB) == [BASE + 0x0]
    assert defs(cfg, "rax", BASE + 0xB) == [BASE + 0x6]
    assert defs(cfg, "rax", BASE + 0x6) == [BASE + 0x3]
    assert defs(cfg, "rdi", BASE + 0xE) == [BASE + 0xB]
    assert defs(cfg, "rsi", BASE + 0x11) == [BASE + 0xE]
    for reg in CALLER_SAVED:
        assert reaching_defs(cfg, reg, 3) == [2], reg
    assert reaching_defs(cfg, "rbx", 3) == [0]
    for reg in ("rbp", "r12", "r13", "r14", "r15"):
        assert reaching_defs(cfg, reg, 3) == [ENTRY], reg
    [(j, src)] = value_sources(cfg, "rax", 3)
    assert j == 2 and src is not None and (src.kind, src.value) == ("call", BASE + 0x106)


# 0: test %esi,%esi / 2: je 0x7 / 4: mov %rdx,%rdi / 7: mov (%rdi),%rax / a: ret
ENTRY_PATH = "85f6" "7403" "4889d7" "488b07" "c3"


def test_entry_reaches_on_one_path() -> None:
    cfg = cfg_of(ENTRY_PATH)
    assert defs(cfg, "rdi", BASE + 0x7) == [ENTRY, BASE + 0x4]
    assert defs(cfg, "rdi", BASE + 0x4) == [ENTRY]
    assert value_sources(cfg, "rdi", at(cfg, BASE + 0x7))[0] == (ENTRY, None)


# 0: test %edi,%edi / 2: cmove %rsi,%rax / 6: mov %rax,%rdx / 9: jne 0xd / b: ud2
# d: mov (%rdx),%rcx / 10: jmp *%rcx / 12: int3 / 13: mov %rcx,%rax / 16: jmp 0x1b
# 18: mov %rdx,%rax / 1b: ret
MISC = "85ff" "480f44c6" "4889c2" "7502" "0f0b" "488b0a" "ffe1" "cc" "4889c8" "eb03" "4889d0" "c3"


def test_exits_and_conditional_writes() -> None:
    cfg = cfg_of(MISC)
    # cmove may keep the old rax: both it and the entry value reach
    assert defs(cfg, "rax", BASE + 0x6) == [ENTRY, BASE + 0x2]
    # a ud2 before a branch target is taken for a BUG(): it does not fall through
    assert cfg.block_of(at(cfg, BASE + 0xB)).succs == []
    assert cfg.block_of(at(cfg, BASE + 0xD)).preds == [cfg.block_of(at(cfg, BASE + 0x9)).id]
    # jmp *%rcx and int3 leave: nothing after them is reached from the entry
    assert cfg.block_of(at(cfg, BASE + 0x10)).succs == []
    assert cfg.block_of(at(cfg, BASE + 0x12)).succs == []
    assert cfg.block_of(at(cfg, BASE + 0x13)).preds == []
    assert defs(cfg, "rcx", BASE + 0x13) == [UNKNOWN]
    # ... but still have blocks, and their own edges
    assert cfg.block_of(at(cfg, BASE + 0x18)).preds == []
    assert defs(cfg, "rax", BASE + 0x1B) == [BASE + 0x13, BASE + 0x18]
    assert defs(cfg, "rdx", BASE + 0x1B) == [UNKNOWN]


def test_warn_falls_through() -> None:
    # 0: test %edi,%edi / 2: jne 0x8 / 4: xor %eax,%eax / 6: ret / 7: int3
    # 8: ud2 / a: mov $0xfffffff2,%eax / f: ret: WARN_ON(x) return -EFAULT
    cfg = cfg_of("85ff" "7504" "31c0" "c3" "cc" "0f0b" "b8f2ffffff" "c3")
    assert cfg.block_of(at(cfg, BASE + 0x8)).succs == [cfg.block_of(at(cfg, BASE + 0xA)).id]
    assert defs(cfg, "rdi", BASE + 0xA) == [ENTRY]
    assert defs(cfg, "rax", BASE + 0xF) == [BASE + 0xA]


def test_jump_out_and_unrelocated_jump_leave() -> None:
    # 0: test %edi,%edi / 2: jne 0x10000 (outside) / 8: jmp .+5 (e9 00 00 00 00,
    # an unrelocated tail call in a .ko) / d: mov %rdi,%rax / 10: ret
    cfg = cfg_of("85ff" "0f85f8ff0000" "e900000000" "4889f8" "c3")
    assert [cfg.insns[b.start].address - BASE for b in cfg.blocks] == [0x0, 0x8, 0xD]
    assert [b.succs for b in cfg.blocks] == [[1], [], []]
    assert defs(cfg, "rdi", BASE + 0xD) == [UNKNOWN]


# main at BASE: 0: push %rbx / 1: mov %rdi,%rbx / 4: test %rdi,%rdi
# 7: je BASE+0x8000 / d: mov 0x10(%rdi),%rax / 11: mov %rax,0x8(%rbx) / 15: pop %rbx / 16: ret
# main.cold at BASE+0x8000: 0: mov $0xffffffffffffffea,%rax / 7: jmp BASE+0x11
MAIN = "53" "4889fb" "4885ff" "0f84f37f0000" "488b4710" "48894308" "5b" "c3"
COLD = "48c7c0eaffffff" "e90580ffff"


def test_cold_piece() -> None:
    insns = decode_all(bytes.fromhex(MAIN), BASE) + decode_all(bytes.fromhex(COLD), BASE + 0x8000)
    cfg = build_cfg(insns)
    cold = cfg.block_of(at(cfg, BASE + 0x8000))
    assert cold.preds == [cfg.block_of(at(cfg, BASE + 0x7)).id]
    assert cold.succs == [cfg.block_of(at(cfg, BASE + 0x11)).id]
    assert defs(cfg, "rax", BASE + 0x11) == [BASE + 0xD, BASE + 0x8000]
    assert defs(cfg, "rbx", BASE + 0x8007) == [BASE + 0x1]
    assert sp(cfg, BASE + 0x8000) == -8
    assert sp(cfg, BASE + 0x16) == 0
    # the ret does not fall into the piece that follows it in the list
    assert cfg.block_of(at(cfg, BASE + 0x16)).succs == []

    # without the branch's target, the je leaves; the piece alone comes from nowhere
    alone = build_cfg(decode_all(bytes.fromhex(MAIN), BASE))
    assert defs(alone, "rax", BASE + 0x11) == [BASE + 0xD]
    assert alone.block_of(at(alone, BASE + 0x7)).succs == [alone.block_of(at(alone, BASE + 0xD)).id]


def test_no_fall_through_between_pieces() -> None:
    # BASE: 0: mov %rdi,%rax / 3: call ... (a noreturn one: the piece ends there)
    # BASE+0x8000: 0: mov %rsi,%rdx / 3: ret, a piece nothing here jumps to
    insns = decode_all(bytes.fromhex("4889f8" "e8fb000000"), BASE)
    insns += decode_all(bytes.fromhex("4889f2" "c3"), BASE + 0x8000)
    cfg = build_cfg(insns)
    assert [(b.start, b.end, b.succs, b.preds) for b in cfg.blocks] == [(0, 2, [], []), (2, 4, [], [])]
    assert defs(cfg, "rsi", BASE + 0x8000) == [UNKNOWN]
    assert defs(cfg, "rdx", BASE + 0x8003) == [BASE + 0x8000]
    assert sp(cfg, BASE + 0x8003) is None


# 0: push %rbp / 1: mov %rsp,%rbp / 4: push %rbx / 5: sub $0x18,%rsp
# 9: mov %rdi,-0x18(%rbp) / d: mov %rsi,(%rsp) / 11: call ... / 16: mov -0x18(%rbp),%rax
# 1a: mov (%rsp),%rdx / 1e: add $0x18,%rsp / 22: pop %rbx / 23: pop %rbp / 24: ret
FRAME = "55" "4889e5" "53" "4883ec18" "48897de8" "48893424" "e8fb000000" "488b45e8" "488b1424" "4883c418" "5b" "5d" "c3"


def test_sp_offsets_and_frame_pointer() -> None:
    cfg = cfg_of(FRAME)
    assert sp_offsets(cfg) == [0, -8, -8, -0x10, -0x28, -0x28, -0x28, -0x28, -0x28, -0x28, -0x10, -8, 0]
    assert stack_slot(cfg, at(cfg, BASE + 0x9)) == -0x20  # rbp = rsp at entry - 8
    assert stack_slot(cfg, at(cfg, BASE + 0xD)) == -0x28
    assert stack_slot(cfg, at(cfg, BASE + 0x16)) == -0x20
    assert stack_slot(cfg, at(cfg, BASE + 0x1E)) is None  # no memory operand


def test_spill_and_reload() -> None:
    cfg = cfg_of(FRAME)
    reload = at(cfg, BASE + 0x16)
    slot = stack_slot(cfg, reload)
    assert slot is not None
    assert stores(cfg, slot, 8, BASE + 0x16) == [BASE + 0x9]  # stored through rbp
    assert stores(cfg, -0x28, 8, BASE + 0x1A) == [BASE + 0xD]  # through rsp
    assert stores(cfg, -0x8, 8, BASE + 0x24) == [BASE + 0x0]  # push %rbp
    assert stores(cfg, -0x10, 8, BASE + 0x24) == [BASE + 0x4]  # push %rbx
    assert stores(cfg, -0x20, 8, BASE + 0x9) == [ENTRY]
    assert stores(cfg, 0, 8, BASE + 0x24) == [ENTRY]  # the return address
    assert stores(cfg, -0x1C, 8, BASE + 0x16) == [ENTRY, BASE + 0x9]  # half of the slot
    # two stores that each cover half: both listed, and the walk goes on past them
    assert stores(cfg, -0x24, 8, BASE + 0x16) == [ENTRY, BASE + 0x9, BASE + 0xD]


# 0: push %rbx / 1: sub $0x10,%rsp / 5: test %edx,%edx / 7: je 0x10
# 9: mov %rdi,0x8(%rsp) / e: jmp 0x15 / 10: mov %rsi,0x8(%rsp) / 15: movl $0x0,0xc(%rsp)
# 1d: call ... / 22: mov 0x8(%rsp),%rax / 27: add $0x10,%rsp / 2b: pop %rbx / 2c: ret
SPILL2 = "53" "4883ec10" "85d2" "7407" "48897c2408" "eb05" "4889742408" "c744240c00000000" "e8fb000000" "488b442408" "4883c410" "5b" "c3"


def test_stores_on_two_paths_and_partial_overwrite() -> None:
    cfg = cfg_of(SPILL2)
    reload = at(cfg, BASE + 0x22)
    assert sp(cfg, BASE + 0x15) == -0x18
    assert stack_slot(cfg, reload) == -0x10
    # the movl covers the upper half: it and both full stores may have written the slot
    assert stores(cfg, -0x10, 8, BASE + 0x22) == [BASE + 0x9, BASE + 0x10, BASE + 0x15]
    assert stores(cfg, -0x10, 4, BASE + 0x22) == [BASE + 0x9, BASE + 0x10]
    assert stores(cfg, -0xC, 4, BASE + 0x22) == [BASE + 0x15]


def test_sp_unknown() -> None:
    # 0: push %rbp / 1: mov %rsp,%rbp / 4: sub $0x20,%rsp / 8: and $-16,%rsp
    # c: mov %rdi,-0x10(%rbp) / 10: leave / 11: ret
    cfg = cfg_of("55" "4889e5" "4883ec20" "4883e4f0" "48897df0" "c9" "c3")
    assert sp_offsets(cfg) == [0, -8, -8, -0x28, None, None, 0]
    assert stack_slot(cfg, at(cfg, BASE + 0xC)) == -0x18  # rbp still known
    assert stores(cfg, -0x18, 8, BASE + 0x10) == [BASE + 0xC]
    # 0: test %edi,%edi / 2: je 0x5 / 4: push %rbx / 5: nop / 6: ret: the paths disagree
    cfg = cfg_of("85ff" "7401" "53" "90" "c3")
    assert sp_offsets(cfg) == [0, 0, 0, None, None]
    # rbp used as an ordinary register is no frame pointer
    cfg = cfg_of("4889f5" "48897d08" "c3")  # mov %rsi,%rbp / mov %rdi,0x8(%rbp) / ret
    assert stack_slot(cfg, 1) is None
    assert reaching_stores(cfg, 0, 8, 2) == [ENTRY]


# --- real functions from kdx.ko ------------------------------------------------------------

# kdx_dev_queue_xmit at .text+0x20: 20: mov 0x18(%rdi),%rax / 24: push %rbp
# 25: mov %rsi,%rbp / 28: push %rbx / 29: mov %rdi,%rbx / 2c: call *0x10(%rax)
# 2f: test %eax,%eax / 31: jne 3f / 33: addq $0x1,0x20(%rbx) / 38: mov 0x8(%rbp),%edx
# 3b: add %rdx,0x28(%rbx) / 3f: pop %rbx / 40: pop %rbp / 41: ret
KDX_DEV_QUEUE_XMIT = "488b4718554889f5534889fbff501085c0750c48834320018b5508480153285b5dc3"


def test_kdx_dev_queue_xmit() -> None:
    cfg = cfg_of(KDX_DEV_QUEUE_XMIT, 0x20)
    # the addq at 0x33 faults on %rbx: set from dev (%rdi) at 0x29, kept across the call
    assert defs(cfg, "rbx", 0x33) == [0x29]
    assert defs(cfg, "rbp", 0x38) == [0x25]
    assert defs(cfg, "rdx", 0x3B) == [0x38]
    assert defs(cfg, "rax", 0x2F) == [0x2C]  # the indirect call's return value
    assert defs(cfg, "rax", 0x2C) == [0x20]
    assert defs(cfg, "rdi", 0x2C) == [ENTRY]
    assert defs(cfg, "rbx", 0x3F) == [0x29]
    assert [sp(cfg, a) for a in (0x20, 0x25, 0x29, 0x3F, 0x40, 0x41)] == [0, -8, -0x10, -0x10, -8, 0]
    assert stores(cfg, -8, 8, 0x40) == [0x24]  # push %rbp, popped at 0x40
    assert stack_slot(cfg, at(cfg, 0x38)) is None  # 0x8(%rbp) is skb->len, not the stack


# kdx_probe at .text+0x90: 90: mov 0x0(%rip),%eax / 96: push %rbp / 97: push %rbx
# 98: mov $-0x13,%rbx / 9f: test %eax,%eax / a1: jne a9 / a3: mov %rbx,%rax / a6: pop %rbx
# a7: pop %rbp / a8: ret / a9: mov %rdi,%rbp / ac: mov 0x0(%rip),%rdi / b3: mov $0x38,%edx
# b8: mov $0xdc0,%esi / bd: call kmalloc_trace / c2: mov %rax,%rbx / c5: test %rax,%rax
# c8: je e0 / ca: mov %rbp,%rsi / cd: mov $0x20,%edx / d2: mov %rax,%rdi / d5: call strscpy
# da: mov %rbx,%rax / dd: pop %rbx / de: pop %rbp / df: ret / e0: mov $-0xc,%rbx / e7: jmp a3
KDX_PROBE = (
    "8b0500000000555348c7c3edffffff85c075064889d85b5dc34889fd488b3d00000000ba38000000bec00d"
    "0000e8000000004889c34885c074164889eeba200000004889c7e8000000004889d85b5dc348c7c3f4ffff"
    "ffebba"
)


def test_kdx_probe() -> None:
    cfg = cfg_of(KDX_PROBE, 0x90)
    # the shared return at a3: -ENODEV (98) or -ENOMEM (e0, after a failed kmalloc)
    assert defs(cfg, "rbx", 0xA3) == [0x98, 0xE0]
    assert defs(cfg, "rax", 0xA3) == [0x90, 0xBD]
    assert defs(cfg, "rbx", 0xDA) == [0xC2]
    assert defs(cfg, "rsi", 0xD5) == [0xCA]
    assert defs(cfg, "rbp", 0xCA) == [0xA9]
    assert defs(cfg, "rdi", 0xA9) == [ENTRY]
    assert defs(cfg, "rdi", 0xC2) == [0xBD]  # kmalloc_trace may change it
    assert [sp(cfg, a) for a in (0xA3, 0xA8, 0xA9, 0xDF, 0xE0, 0xE7)] == [-0x10, 0, -0x10, 0, -0x10, -0x10]
    srcs = value_sources(cfg, "rbx", at(cfg, 0xA3))
    assert [(s.kind, s.value) for _, s in srcs if s] == [("imm", (-19) & (2**64 - 1)), ("imm", (-12) & (2**64 - 1))]


# kdx_attach at .text+0xf0: f0: call kdx_probe / f5: mov 0x34(%rax),%eax / f8: ret
def test_kdx_attach() -> None:
    cfg = cfg_of("e8000000008b4034c3", 0xF0)
    assert defs(cfg, "rax", 0xF5) == [0xF0]  # the faulting base is kdx_probe()'s return
    assert len(cfg.blocks) == 1


# kdx_poll_thread at .text+0x330: 330: push %rbp / 331: mov $0x1,%eax / 336: mov %rdi,%rbp
# 339: push %rbx / 33a: mov %gs:0x0,%rbx / 343: xchg %eax,0x18(%rbx) / 346: jmp 366
# 348: call schedule / 34d: call kthread_should_stop / 352: test %al,%al / 354: jne 36f
# 356: mov %rbp,%rdi / 359: call kdx_poll_once / 35e: mov $0x1,%eax / 363: xchg %eax,0x18(%rbx)
# 366: call kthread_should_stop / 36b: test %al,%al / 36d: je 348 / 36f: mov %gs:0x0,%rax
# 378: movl $0x0,0x18(%rax) / 37f: xor %eax,%eax / 381: pop %rbx / 382: pop %rbp / 383: ret
KDX_POLL_THREAD = (
    "55b8010000004889fd5365488b1c2500000000874318eb1ee800000000e80000000084c075194889efe800"
    "000000b801000000874318e80000000084c074d965488b042500000000c740180000000031c05b5dc3"
)


def test_kdx_poll_thread_loop() -> None:
    cfg = cfg_of(KDX_POLL_THREAD, 0x330)
    assert defs(cfg, "rbx", 0x363) == [0x33A]  # current, loaded before the loop
    assert defs(cfg, "rbp", 0x356) == [0x336]
    assert defs(cfg, "rax", 0x363) == [0x35E]
    assert defs(cfg, "rax", 0x366) == [0x343, 0x363]  # xchg writes %eax; two ways in
    assert defs(cfg, "rax", 0x348) == [0x366]
    assert defs(cfg, "rax", 0x352) == [0x34D]
    assert defs(cfg, "rax", 0x37F) == [0x36F]
    assert defs(cfg, "rdi", 0x348) == [0x366]  # the loop is entered at the call at 0x366
    assert defs(cfg, "rdi", 0x359) == [0x356]
    assert all(x == -0x10 for x in sp_offsets(cfg)[at(cfg, 0x33A) : at(cfg, 0x381)])


# kdx_crash_write at .text+0x110, up to the first strcmp: 110: push %rbx / 111: sub $0x20,%rsp
# 115: movq $0x0,(%rsp) / 11d: movq $0x0,0x8(%rsp) / 126: movq $0x0,0x10(%rsp)
# 12f: movq $0x0,0x18(%rsp) / 138: cmp $0x1f,%rdx / 13c: ja 15b / 13e: mov %rsp,%rdi
# 141: mov %rdx,%rbx / 144: call _copy_from_user / 149: test %rax,%rax / 14c: je 164
# 14e: mov $-0xe,%rax / 155: add $0x20,%rsp / 159: pop %rbx / 15a: ret
# 15b: mov $-0x16,%rax / 162: jmp 155 / 164: mov %rsp,%rdi / 167: movb $0x0,(%rsp,%rbx,1)
# 16b: call strim / 170: mov $0x0,%rdi / 177: mov %rsp,%rsi / 17a: call _printk
KDX_CRASH_WRITE_HEAD = (
    "534883ec2048c704240000000048c74424080000000048c74424100000000048c7442418000000004883fa"
    "1f771d4889e74889d3e8000000004885c0741648c7c0f2ffffff4883c4205bc348c7c0eaffffffebf14889"
    "e7c6041c00e80000000048c7c7000000004889e6e800000000"
)


def test_kdx_crash_write_stack() -> None:
    cfg = cfg_of(KDX_CRASH_WRITE_HEAD, 0x110)
    assert [sp(cfg, a) for a in (0x110, 0x111, 0x115, 0x155, 0x159, 0x15A, 0x167)] == [
        0, -8, -0x28, -0x28, -8, 0, -0x28,
    ]
    assert defs(cfg, "rax", 0x155) == [0x14E, 0x15B]
    # char buf[32] at rsp: zeroed by four movq; the movb through %rbx may hit any byte
    assert stores(cfg, -0x28, 8, 0x13E) == [0x115]
    assert stores(cfg, -0x28, 0x20, 0x13E) == [ENTRY, 0x115, 0x11D, 0x126, 0x12F]
    assert stores(cfg, -0x18, 8, 0x177) == [0x126, 0x167]
    assert stores(cfg, -0x18, 8, 0x149) == [0x126]
    assert stores(cfg, -0x8, 8, 0x177) == [0x110, 0x167]  # push %rbx, and the movb may reach it
    assert defs(cfg, "rbx", 0x167) == [0x141]
    assert defs(cfg, "rdi", 0x16B) == [0x164]


# fscontext_read (fs/fsopen.c) at ffffffff811039c1 in vmlinux, 0x152 bytes. The lines
# that matter, as objdump prints them (offsets from ffffffff81103000):
# 9c9: mov %rdx,%r12 / 9ce: sub $0x10,%rsp / 9d9: mov %rsi,(%rsp) / 9e4: call mutex_lock_interruptible
# 9e9: movslq %eax,%rbx / 9ef: js b01 / a01: jne a17 / a06: mov $-0x3d,%rbx / a12: jmp b01
# a27: mov %al,0xf(%rsp) / a2b: mov (%r15,%rbp,8),%rbx / a3a: jae a50 / a3f: mov $-0x5a,%rbx
# a4b: jmp b01 / a52: mov 0xf(%rsp),%cl / a74: and %eax,%r12d / a8b: ja b01 / a98: mov %eax,%r13d
# aa3: jne ab8 / aa5: xor %r12d,%r12d / aab: jb ad0 / aad: ud2 (WARN_ON_ONCE in check_copy_size)
# aaf: mov $-0xe,%rbx / ab6: jmp b01 / ab8: mov %rbx,%r12 / abe: jb ad0 / ac0: ud2
# ac2: mov $-0xe,%rbx / ad0: mov (%rsp),%rdi / ad7: call _copy_to_user / ae4: cmovne %eax,%r13d
# ae8: movslq %r13d,%rbx / b01: add $0x10,%rsp / b05: mov %rbx,%rax / ... / b12: ret
FSCONTEXT_READ = (
    "41574156415541544989d455534883ec104c8bb7c0000000488934244d8d6e084c89efe8199e0c004863d8"
    "4885db0f880c0100004d8b7e68458a77054538770475144c89ef48c7c3c3ffffffe8999b0c00e9ea000000"
    "4c89f14489f083e10783e007488d69028844240f498b1cef4889dfe8a08c0b004939c473144c89ef48c7c3"
    "a6ffffffe8609b0c00e9b100000031f68a4c240fb801000000418d5601498934ef450fb667064c89efd3e0"
    "418857054489e64121c4f7d021f041884706e8279b0c004881fb00f0ffff77744889dfe8428c0b004585e4"
    "4189c54863d0b80000008075134531e44839c272230f0b48c7c3f2ffffffeb494989dc4839c272100f0b48"
    "c7c3f2ffffff4d85e4752beb31488b3c244889dee82b5c04004885c0b8f2ffffff440f45e84963dd4d85e4"
    "74114981fc00f0ffff77084c89e7e807e9faff4883c4104889d85b5d415c415d415e415fc3"
)
FS = 0xFFFFFFFF81103000


def test_fscontext_read() -> None:
    cfg = cfg_of(FSCONTEXT_READ, FS + 0x9C1)
    # the return value: every error path, the WARN's -EFAULT (aaf, reached only
    # through the ud2) and the copied length
    assert defs(cfg, "rbx", FS + 0xB05) == [FS + o for o in (0x9E9, 0xA06, 0xA2B, 0xA3F, 0xAAF, 0xAC2, 0xAE8)]
    assert defs(cfg, "r12", FS + 0xB01) == [FS + o for o in (0x9C9, 0xA74, 0xAA5, 0xAB8)]
    assert defs(cfg, "r13", FS + 0xAE8) == [FS + 0xA98, FS + 0xAE4]  # cmovne may keep it
    assert [sp(cfg, FS + o) for o in (0x9C1, 0x9CE, 0x9D2, 0xAD0, 0xB01, 0xB05, 0xB12)] == [
        0, -0x30, -0x40, -0x40, -0x40, -0x30, 0,
    ]
    # buf is spilled at 9d9 and reloaded at ad0; the 1-byte spill of shift at a27
    reload = at(cfg, FS + 0xAD0)
    assert stack_slot(cfg, reload) == -0x40
    assert stores(cfg, -0x40, 8, FS + 0xAD0) == [FS + 0x9D9]
    assert stack_slot(cfg, at(cfg, FS + 0xA52)) == -0x31
    assert stores(cfg, -0x31, 1, FS + 0xA52) == [FS + 0xA27]
    assert stores(cfg, -0x30, 8, FS + 0xB08) == [FS + 0x9CD]  # push %rbx, popped at b08
