"""The objects on the chain (kdumpext.objects): where they live, their suspicious members, their siblings."""

from __future__ import annotations

import glob
import os
import struct
from typing import Any

import pytest

from corpus import BUILD, SAMPLES
from kdumpext.addresses import LIST_POISON1, LIST_POISON2, SLAB_POISONS
from kdumpext.model import HeldObject, Hop, Member, Verdict
from kdumpext.objects import freed_holder, suspects_in


def _dump(scenario: str) -> str:
    found = sorted(glob.glob(os.path.join(SAMPLES, scenario, "*", "dump.*")))
    assert found, scenario
    return found[0]


def test_suspects_in_a_list_deleted_entry() -> None:
    """An object whose list entry list_del() left as LIST_POISON1/2, and an ERR_PTR member: one
    hint for the entry, one for the ERR_PTR; NULL and ordinary pointers are no suspects."""
    data = struct.pack("<QQQQQ", LIST_POISON1, LIST_POISON2, 0, 0xFFFF8A0640C4F7E0, (-12) & (2**64 - 1))
    members = [("entry.next", 0), ("entry.prev", 8), ("dev", 16), ("owner", 24), ("buf", 32)]
    got = suspects_in(data, members, "cmd")
    assert [(s.path, s.kind) for s in got] == [("entry", "list-poison"), ("buf", "err-ptr")]
    assert "list_del()" in got[0].hint and "ERR_PTR(-ENOMEM)" in got[1].hint


def test_suspects_in_an_hlist_deleted_node() -> None:
    """An hlist_node that hlist_del() left (next LIST_POISON1, pprev LIST_POISON2): one hint."""
    data = struct.pack("<QQQ", 0xFFFF8A0640C4F7E0, LIST_POISON1, LIST_POISON2)
    got = suspects_in(data, [("owner", 0), ("hash.next", 8), ("hash.pprev", 16)], "sess")
    assert [(s.path, s.kind) for s in got] == [("hash", "list-poison")]
    assert "(next/pprev)" in got[0].hint and "hlist_del()" in got[0].hint


def test_freed_holder() -> None:
    """The object the bad value was read from is free, or holds POISON_FREE: a use after free;
    an allocated one without poison: nothing."""
    hop = Hop("load", "f", "cmd->dev", holder=0x1000, holder_expr="cmd", holder_type="struct scst_cmd *",
              member=Member("struct scst_cmd", "dev", 0x40, 8))
    v = Verdict("null-deref", chain=[hop])
    free = HeldObject("cmd", 0x1000, "struct scst_cmd", "slab object in kmalloc-96, free", cache="kmalloc-96",
                      allocated=False)
    assert "free object of kmalloc-96" in (freed_holder(v, [free]) or "")
    alive = HeldObject("cmd", 0x1000, "struct scst_cmd", "slab object", cache="kmalloc-96", allocated=True)
    assert freed_holder(v, [alive]) is None
    alive.suspects = suspects_in(struct.pack("<Q", SLAB_POISONS["POISON_FREE"]), [("next", 0)], "cmd")
    assert "POISON_FREE" in (freed_holder(v, [alive]) or "")


@pytest.mark.parametrize("scenario, expr, type_, cache, hint", [
    # scst_cmd is kzalloc'ed (88 bytes: kmalloc-96); the command thread list_del()s it before use
    ("scst-null-dev", "cmd", "struct scst_cmd", "kmalloc-96", "cmd->cmd_list_entry is LIST_POISON1/LIST_POISON2"),
    # kdx_req (kmalloc-32) was list_del()ed: its node.prev is LIST_POISON2 as its node.next
    ("list-poison", "req", "struct kdx_req", "kmalloc-32", "req->node is LIST_POISON1/LIST_POISON2"),
    # kdx_flow (kmalloc-16), nothing else wrong in it
    ("null-write", "f", "struct kdx_flow", "kmalloc-16", None),
    # mov 0x20(%rdi),%rdi overwrote ad with ad->link: ad is found where DWARF puts it in
    # kdxapi_adapter_reset's frame, kept because its ->link (+0x20) still holds the NULL read
    ("api-spinlock", "ad", "struct kdxapi_adapter", "kmalloc-64", None),
])
def test_objects_of_sample_dumps(scenario: str, expr: str, type_: str, cache: str, hint: Any) -> None:
    """``kdumpext triage --json``: the object the bad value was read from, its slab cache and
    state as the dump's slab pages say, its list_del()ed entry; no sibling count in a kmalloc cache."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "kdumpext.cli", "triage", "--json", _dump(scenario), "--debug-dir",
                          BUILD], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    objects = json.loads(out.stdout)["objects"]
    assert objects, out.stdout
    o = objects[0]
    assert (o["expr"], o["type"], o["cache"], o["allocated"]) == (expr, type_, cache, True)
    assert o["object_start"] == o["address"]
    hints = [s["hint"] for s in o["suspects"]]
    assert (hint is None and hints == []) or any(h.startswith(hint) for h in hints), hints
    assert o["siblings"]["skipped"].startswith(f"{cache} is a general-purpose cache")


def test_sibling_scan_over_a_dedicated_cache() -> None:
    """The scan over a dedicated cache, on the seed dump's task_struct cache, counting tasks whose
    ``mm`` is NULL: every kernel thread of the task list is among the objects scanned, and the
    count is what drgn's own reading of each allocated task_struct gives (idle tasks of the other
    CPUs and exited tasks not yet freed are in the cache but not in the task list)."""
    import time

    import drgn
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.slab import slab_cache_for_each_allocated_object, slab_object_info

    from kdumpext.dump import open_dump
    from kdumpext.objects import _siblings

    opened = open_dump(_dump("scst-null-dev"), None, [BUILD])
    prog = opened.prog
    tasks = list(for_each_task(prog))
    info = slab_object_info(prog, tasks[-1].value_())
    assert info is not None
    name = info.slab_cache.name.string_().decode()
    assert name == "task_struct"
    offset = prog.type("struct task_struct").member("mm").offset
    s = _siblings(prog, info.slab_cache, name, "mm", offset, 0, tasks[-1].value_(), time.monotonic() + 30)
    assert not s.stopped and not s.skipped, (s.stopped, s.skipped)
    allocated = [drgn.Object(prog, "struct task_struct", address=o.value_())
                 for o in slab_cache_for_each_allocated_object(info.slab_cache, "struct task_struct")]
    assert s.scanned == len(allocated) > len(tasks) // 2
    assert s.same == sum(1 for t in allocated if not t.mm)
    kthreads = {t.value_() for t in tasks if not t.mm}
    assert kthreads <= {t.address_ for t in allocated if not t.mm}
    assert len(s.examples) == 3 and all(a in {t.address_ for t in allocated} for a in s.examples)


@pytest.mark.parametrize("where", ["x86_64", "arm64"])
def test_allocated_objects_are_drgns(where: str) -> None:
    """The sibling scan's object walk (the page array searched for a cache's address) gives, on
    every cache of a real dump, exactly the objects drgn's own walk (every page asked) gives: the
    x86-64 seed, and the arm64 use-after-free dump booted with slub_debug=PU (debug layouts,
    a freed object)."""
    import time

    from drgn.helpers.linux.slab import for_each_slab_cache, slab_cache_for_each_allocated_object

    from corpus import ARM64, ARM64_BUILD
    from kdumpext.dump import open_dump
    from kdumpext.objects import _allocated_objects

    if where == "x86_64":
        opened = open_dump(_dump("scst-null-dev"), None, [BUILD])
    else:
        found = sorted(glob.glob(os.path.join(ARM64, "obj-uaf", "*", "dump.*")))
        assert found, "sample-dumps/arm64/obj-uaf"
        opened = open_dump(found[0], None, [ARM64_BUILD])
    prog = opened.prog
    compared = 0
    for cache in for_each_slab_cache(prog):
        ours = sorted(_allocated_objects(prog, cache, time.monotonic() + 60))
        theirs = sorted(int(o.value_()) for o in slab_cache_for_each_allocated_object(cache, "void"))
        assert ours == theirs, cache.name.string_().decode()
        compared += bool(theirs)
    assert compared > 20


def test_sibling_scan_stops_at_its_deadline() -> None:
    """A scan whose time is up stops and says so, whatever it has counted."""
    import time

    from drgn.helpers.linux.slab import find_slab_cache

    from kdumpext.dump import open_dump
    from kdumpext.objects import SIBLING_SECONDS, _siblings

    opened = open_dump(_dump("scst-null-dev"), None, [BUILD])
    cache = find_slab_cache(opened.prog, "task_struct")
    assert cache is not None
    s = _siblings(opened.prog, cache, "task_struct", "mm", 0, 0, 0, time.monotonic() - 1)
    assert s.stopped == f"time limit {SIBLING_SECONDS} s" and s.scanned <= 1


def test_sections_around_the_verdict() -> None:
    """The seed's report: the faulting line's text from the module's source (sample-dumps/modules),
    the kernel's last lines before the oops, the exception registers; with --cpus, the other
    CPU's task and stack (cpu1-null crashed on CPU 1 while CPU 0 ran the shell in user space)."""
    import json
    import subprocess
    import sys

    def run(*args: str) -> Any:
        out = subprocess.run([sys.executable, "-m", "kdumpext.cli", "triage", "--json", *args, "--debug-dir", BUILD],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    seed = run(_dump("scst-null-dev"))
    assert seed["verdict"]["source_line"] == "if (cmd->dev->vdev_update_lat_stats)"
    assert seed["log_before"][-1] == "scst: loading out-of-tree module taints kernel."
    assert seed["registers"]["rbx"] == seed["objects"][0]["address"]  # cmd, the object dev was read from
    assert seed["cpus"] == []  # only on request
    other = run(_dump("cpu1-null"), "--cpus")
    assert other["task"]["cpu"] == 1
    assert [(c["cpu"], c["comm"]) for c in other["cpus"]] == [(0, "sh")]
    assert other["cpus"][0]["frames"][0].endswith("(user space)")
