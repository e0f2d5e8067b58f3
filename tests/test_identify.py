"""Tests for kdumpext.identify: what an address is, on the seed sample dump (scst-null-dev)."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

from conftest import need
from corpus import BUILD, case

from kdumpext.errors import KdumpextError
from kdumpext.identify import direct_map_size, identify, page_offset, render_address
from kdumpext.identify import AddressInfo


@pytest.fixture(scope="module")
def prog() -> Iterator[Any]:
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")  # the engine needs no drgn plugin
    try:
        seed = case("scst-null-dev")
    except KeyError:
        seed = None
    need(seed is not None, "sample-dumps/scst-null-dev/<stamp>/ is missing (sample-dumps/generate)")
    need(os.path.exists(os.path.join(BUILD, "vmlinux.xz")), "sample-dumps/build/vmlinux.xz is missing")
    assert seed is not None
    from kdumpext.dump import open_dump

    yield open_dump(seed.dump, debug_dirs=[BUILD]).prog


def _cmd(prog: Any) -> int:
    """``cmd`` of the crashed frame, scst_update_lat_stats(): a ``struct scst_cmd *`` from kzalloc()."""
    return int(prog.crashed_thread().stack_trace()[0]["cmd"].value_())


def _rows(info: AddressInfo) -> list:
    return render_address(info).splitlines()


def test_null_plus_offset_names_the_member(prog: Any) -> None:
    """The seed's fault: NULL + 0x240 through a ``struct scst_device *``."""
    info = identify(prog, 0x240, pointer=0, offset=0x240, type="struct scst_device")
    assert (info.kind, info.text, info.pointer, info.offset) == ("null", "NULL + 0x240", 0, 0x240)
    assert info.member is not None
    assert (info.member.type_name, info.member.path, info.member.offset, info.member.size) == (
        "struct scst_device", "vdev_update_lat_stats", 0x240, 8)
    assert info.member.member_type == "void (*)(struct scst_cmd *)"
    assert info.member_type_source == "type given"
    assert not info.in_dump and info.physical is None and not info.symbol and not info.slab_cache
    assert _rows(info) == [
        "ADDRESS  0x240  (= 0x0 + 0x240)",
        "KIND     null: NULL + 0x240",
        "MEMBER   struct scst_device +0x240: vdev_update_lat_stats (void (*)(struct scst_cmd *), 8 bytes)"
        "  [type given]",
        "MEMORY   not readable (not in the dump, or unmapped)",
    ]
    assert str(info) == render_address(info)
    # the pointer follows from address - offset; the type may be spelled as drgn's %explain takes it
    for spelling in ("scst_device", "struct scst_device *", prog.type("struct scst_device")):
        assert identify(prog, 0x240, offset=0x240, type=spelling) == info


def test_slab_object_names_its_cache(prog: Any) -> None:
    """cmd lives in a kmalloc cache big enough for it; kmalloc says nothing of the type."""
    cmd = _cmd(prog)
    start = page_offset(prog)
    size = direct_map_size(prog)
    assert start is not None and size is not None and 0 <= cmd - start < size
    info = identify(prog, cmd)
    assert info.kind == "kernel" and info.in_dump
    assert info.physical == cmd - start
    assert info.bad.detail == f"page_offset_base + {cmd - start:#x}"
    assert info.slab_cache.startswith("kmalloc-")
    assert int(info.slab_cache.split("-")[-1]) >= (prog.type("struct scst_cmd").size or 0)
    assert (info.slab_object, info.slab_allocated) == (cmd, True)
    assert info.member is None  # no type given, and a kmalloc cache has none
    assert f"SLAB     {info.slab_cache} object {cmd:#x}, +0x0 (allocated)" in _rows(info)
    assert "MEMORY   in the dump" in _rows(info)

    # with the type: the member at the offset from the pointer, or from the object's start
    through = identify(prog, cmd + 0x40, pointer=cmd, offset=0x40, type="struct scst_cmd")
    inside = identify(prog, cmd + 0x40, type="struct scst_cmd")
    for i in (through, inside):
        assert i.member is not None and (i.member.type_name, i.member.path) == ("struct scst_cmd", "dev")
        assert (i.slab_cache, i.slab_object) == (info.slab_cache, cmd)
    assert "MEMBER   struct scst_cmd +0x40: dev (struct scst_device *, 8 bytes)  [type given]" in _rows(through)
    assert f"SLAB     {info.slab_cache} object {cmd:#x}, +0x40 (allocated)" in _rows(through)


def test_module_function_names_symbol_and_module(prog: Any) -> None:
    """A return address in scst.ko: scst_finish_cmd+0x9 [scst] (frame #1 of the seed's backtrace)."""
    pc = prog.crashed_thread().stack_trace()[1].pc
    info = identify(prog, pc)
    assert (info.symbol, info.module) == ("scst_finish_cmd+0x9", "scst")
    assert (info.kind, info.bad.detail, info.physical) == ("kernel", "kernel image or module area", None)
    assert info.in_dump and info.member is None
    assert "SYMBOL   scst_finish_cmd+0x9 [scst]" in _rows(info)
    # module data: a global pointer variable is named, but holds a pointer, not a struct scst_device
    var = identify(prog, prog["scst_default_dev"].address_)
    assert (var.symbol, var.module, var.member) == ("scst_default_dev+0x0", "scst", None)


def test_known_types_give_the_member(prog: Any) -> None:
    """Without a type given: a task's, a global variable's type."""
    task = int(prog.crashed_thread().object.value_())
    info = identify(prog, task + 0x10)
    assert any(i.startswith("task: ") and "(scstd30) +0x10" in i for i in info.identities), info.identities
    assert info.member is not None and info.member.type_name == "struct task_struct"
    assert info.member_type_source == "task"
    assert info.slab_cache == "task_struct" and info.slab_object == task
    glob = identify(prog, prog["init_mm"].address_ + 0x10)
    assert glob.symbol == "init_mm+0x10" and glob.module == "vmlinux"
    assert glob.member is not None and glob.member.type_name == "struct mm_struct"
    assert glob.member_type_source == "type of variable init_mm"


def test_vmalloc_address_is_not_the_direct_map(prog: Any) -> None:
    """The crashed task's stack is vmalloc'ed: above page_offset_base, but not page_offset_base + X."""
    stack = int(prog.crashed_thread().object.stack.value_())
    info = identify(prog, stack + 0x100)
    assert info.kind == "kernel" and info.in_dump
    assert info.bad.detail == "outside the direct map" and info.physical is None
    assert any(i.startswith("task stack: ") and "(scstd30) +0x100" in i for i in info.identities), info.identities
    assert f"KIND     kernel: kernel address {stack + 0x100:#x} (outside the direct map)" in _rows(info)


def test_excluded_page_is_not_in_the_dump(prog: Any) -> None:
    """A page of RAM makedumpfile left out (free, cache, zero pages): in the direct map, not in the dump."""
    import drgn

    start, size = page_offset(prog), direct_map_size(prog)
    assert start is not None and size is not None
    excluded = None
    for phys in range(size // 2 & -0x1000, size, 0x1000):
        try:
            prog.read(start + phys, 1)
        except drgn.FaultError:
            excluded = phys
            break
    need(excluded is not None, "the seed dump holds every page of its upper half of RAM")
    assert excluded is not None
    info = identify(prog, start + excluded + 0x18)
    assert (info.kind, info.in_dump, info.physical) == ("kernel", False, excluded + 0x18)
    assert info.bad.detail == f"page_offset_base + {excluded + 0x18:#x}"
    assert f"MEMORY   not in the dump (the dump left out physical page {excluded:#x})" in _rows(info)


def test_drgn_front_end_is_the_engine(prog: Any) -> None:
    """kdumpext.drgn.explain_address parses, then returns identify()'s AddressInfo (printed the same)."""
    from kdumpext.drgn import explain_address

    cmd = _cmd(prog)
    for text, want in [("0+0x240", identify(prog, 0x240, 0, 0x240, type="struct scst_device")),
                       (f"{cmd:x}+40", identify(prog, cmd + 0x40, cmd, 0x40, type="struct scst_device"))]:
        got = explain_address(prog, text, type="struct scst_device")
        assert isinstance(got, AddressInfo) and got == want
        assert str(got) == render_address(want)
    assert explain_address(prog, cmd) == identify(prog, cmd)


def test_bad_input(prog: Any) -> None:
    with pytest.raises(KdumpextError, match="no type named 'struct no_such_type'"):
        identify(prog, 0x240, 0, 0x240, type="struct no_such_type")
    with pytest.raises(ValueError, match="is not pointer"):
        identify(prog, 0x240, pointer=0x100, offset=0x10)
