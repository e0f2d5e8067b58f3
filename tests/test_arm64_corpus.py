"""The arm64 corpus: real kdump vmcores of an arm64 kernel, explained as their x86-64 twins are."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any, Dict, List, Optional

import pytest

from conftest import need
from kdumpext.program import clone_suffix

from corpus import ARM64_BUILD, ROOT, Case, arm64_cases, cases, chain_as_expected, no_pi, objects_as_expected

CASES: List[Optional[Case]] = list(arm64_cases()) or [None]
IDS = [c.scenario if c is not None else "none" for c in CASES]
KDUMPEXT = [sys.executable, "-m", "kdumpext.cli"]


def _need(c: Optional[Case]) -> Case:
    need(c is not None, "sample-dumps/arm64 has no dumps (run sample-dumps/arm64/generate)")
    assert c is not None
    return c


def _run(*args: str) -> Dict[str, Any]:
    out = subprocess.run(KDUMPEXT + list(args), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _as_expected(v: Dict[str, Any], e: Dict[str, Any]) -> Dict[str, Any]:
    got = {k: v[k] for k in ("class", "function", "instruction", "access", "pointer", "access_path", "struct",
                             "member", "offset", "callee")}
    want = {k: e[k] for k in got}
    return {k: (None if val in ("", 0) and want[k] is None else val) for k, val in got.items()}


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_arm64_verdict_equals_expected(c: Optional[Case]) -> None:
    """``kdumpext triage`` on an arm64 dump: class, function, instruction, pointer, member, offset,
    bucket and the provenance chain exactly as expected.json (written from aarch64 objdump)."""
    c = _need(c)
    j = _run("triage", "--json", c.dump, "--debug-dir", ARM64_BUILD)
    v, e = j["verdict"], c.expected
    assert _as_expected(v, e) == {k: e[k] for k in _as_expected(v, e)}
    assert j["bucket"] == e["bucket"]
    assert j["dump"]["format"].split(" (")[0] == e["format"]
    assert chain_as_expected(v["chain"], e.get("chain")) == (e.get("chain") or [])
    names = [no_pi(clone_suffix(f["function"])[0]) for f in j["backtrace"] if f["function"]]
    assert names[:len(e["backtrace"])] == [no_pi(n) for n in e["backtrace"]]
    if "objects" in e:
        assert objects_as_expected(j["objects"]) == e["objects"]


_OBJECT_LINES = {
    # the freed request: its cache and state, one hint for its poisoned members, SLUB's records
    "obj-uaf": [r"^OBJECT   host->timed_out = 0x[0-9a-f]+ \(struct kdxobj_req\): slab object in kdxobj_req, free$",
                r"^HINT     host->timed_out's pointer members hold slab poison \(POISON_FREE, 0x6b…: node\.next, "
                r"node\.prev, queue\): host->timed_out was freed \(slub_debug=P\) before this access$",
                r"^ALLOC    by kdxobj_req_alloc\+0x28 \[kdxobj\]  \(pid 1, cpu 0, \d+ jiff(y|ies) before the crash\)$",
                r"^         kdxobj_req_alloc\+0x28 \[kdxobj\] <- kdxobj_crash_write\+0x[0-9a-f]+ \[kdxobj\] <- ",
                r"^FREED    by kdxobj_req_complete\+0x98 \[kdxobj\]  \(pid 1, cpu 0, \d+ jiff(y|ies) before the crash\)$",
                r"^         kmem_cache_free\+0x[0-9a-f]+ <- kdxobj_req_complete\+0x98 \[kdxobj\] <- ",
                r"^VERDICT  use after free: host->timed_out \(0x[0-9a-f]+\) is a free object of kdxobj_req in the "
                r"dump: it was freed before host->timed_out->queue was read from it",
                r"^CONF     high$"],
    "obj-one-bad": [r"^OBJECT   req = 0x[0-9a-f]+ \(struct kdxobj_req\): slab object in kdxobj_req, allocated$",
                    r"^OTHERS   1 of 1,024 allocated objects of kdxobj_req have queue == NULL: only this one$"],
    "obj-all-bad": [r"^OBJECT   req = 0x[0-9a-f]+ \(struct kdxobj_req\): slab object in kdxobj_req, allocated$",
                    r"^OTHERS   512 of 512 allocated objects of kdxobj_req have queue == NULL: all of them \(also "
                    r"0x[0-9a-f]+, 0x[0-9a-f]+, 0x[0-9a-f]+\)$"],
}


@pytest.mark.parametrize("scenario", sorted(_OBJECT_LINES))
def test_arm64_object_lines(scenario: str) -> None:
    """The text report's object lines on the kdxobj dumps: the freed request with its allocation
    and free, one bad request among 1,024, every request bad."""
    c = next((x for x in arm64_cases() if x.scenario == scenario), None)
    need(c is not None, f"sample-dumps/arm64 has no {scenario} dump (run sample-dumps/arm64/generate {scenario})")
    assert c is not None
    out = subprocess.run(KDUMPEXT + ["triage", c.dump, "--debug-dir", ARM64_BUILD], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    for pattern in _OBJECT_LINES[scenario]:
        assert re.search(pattern, out.stdout, re.M), (pattern, out.stdout)


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_arm64_log_gives_the_dump_bucket(c: Optional[Case]) -> None:
    """``kdumpext oops`` on the arm64 dump's dmesg, with the same debug files: the same bucket,
    and the backtrace begins as the dump's (drgn's, inline frames included): the caller of a leaf
    that saved no frame record is put back from ``lr :``, the inlined calls at each pc from DWARF."""
    c = _need(c)
    j = _run("oops", "--json", c.dmesg, "--debug-dir", ARM64_BUILD)
    assert j["bucket"] == c.expected["bucket"]
    names = [no_pi(clone_suffix(f["function"])[0]) for f in j["backtrace"] if f["function"]]
    assert names[:4] == [no_pi(n) for n in c.expected["backtrace"][:4]]


def test_arm64_seed_in_every_format():
    """The arm64 seed capture saved three ways (makedumpfile -c, -E, -F), as the x86-64 one is."""
    arm = [c for c in arm64_cases() if c.expected["description"] == next(
        (x.expected["description"] for x in arm64_cases() if x.scenario == "scst-null-dev"), None)]
    need(bool(arm), "sample-dumps/arm64 has no seed dump")
    assert sorted(c.expected["format"] for c in arm) == ["elf", "flattened", "kdump-compressed"]
    assert len({c.expected["bucket"] for c in arm}) == 1


def test_arm64_buckets_are_the_x86_twins():
    """A scenario made on both architectures is one bug: the same bucket on both."""
    arm = {c.scenario: c.expected["bucket"] for c in arm64_cases()}
    need(bool(arm), "sample-dumps/arm64 has no dumps")
    x86 = {c.scenario: c.expected["bucket"] for c in cases()}
    both = sorted(set(arm) & set(x86))
    assert len(both) >= 5
    assert {s: arm[s] for s in both} == {s: x86[s] for s in both}


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_arm64_drgn_front_end(c: Optional[Case]) -> None:
    """The drgn front-end (``triage_program`` on a program drgn opened) on an arm64 dump."""
    c = _need(c)
    import drgn

    from kdumpext.dump import open_dump
    from kdumpext.triage import triage_program

    opened = open_dump(c.dump, None, [ARM64_BUILD])
    assert opened.prog.platform is not None and opened.prog.platform.arch == drgn.Architecture.AARCH64
    r = triage_program(opened.prog, opened.info, debug_dirs=[ARM64_BUILD])
    assert r.verdict.bucket == c.expected["bucket"]



@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_arm64_gdb_multiarch_front_end(c: Optional[Case]) -> None:
    """gdb-multiarch with gdb-init.py on an arm64 dump: the verdict, and plain gdb on the dump
    (``bt`` from the faulting function, ``x/i $pc``), with no Python error."""
    c = _need(c)
    from conftest import need_program

    gdb = need_program("gdb-multiarch")
    init = os.path.join(ROOT, "gdb-init.py")
    args = [gdb, "-batch", "-nx", "-x", init, "-ex", f"kdump open {c.dump} --debug-dir {ARM64_BUILD}",
            "-ex", "bt", "-ex", "x/i $pc", "-ex", "kdump fault"]
    env = {k: v for k, v in os.environ.items() if k != "KDUMPEXT_DEBUG_PATH"}
    out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=300,
                         stdin=subprocess.DEVNULL).stdout
    assert "Traceback" not in out and "Python Exception" not in out, out
    assert f"BUCKET   {c.expected['bucket']}" in out, out
    frames = [m.group(1) for m in re.finditer(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(", out, re.M)]
    bt = c.expected["backtrace"]
    # gdb unwinds from the fault (a call through NULL: from pc 0, "??", then its caller)
    assert any(f in bt for f in frames[:3]), (frames, bt)
    if c.expected["class"] == "null-fn-call":
        assert "Cannot access memory at address 0x0" in out, out  # x/i at pc 0: nothing is there
    else:
        assert re.search(r"^=> 0x[0-9a-f]+ <", out, re.M), out


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_arm64_drgn_cli_plugin(c: Optional[Case]) -> None:
    """The real drgn CLI with kdumpext's plugin on an arm64 dump (``drgn -c DUMP -s vmlinux -s
    *.ko -e "run_command(prog, 'triage --json')"``): the expected bucket and member."""
    c = _need(c)
    import glob
    import importlib.metadata

    from kdumpext.locate import unpacked

    drgn_cli = os.path.join(os.path.dirname(sys.executable), "drgn")
    need(os.path.exists(drgn_cli), f"drgn's CLI is not installed next to {sys.executable}")
    need("kdumpext" in {ep.name for ep in importlib.metadata.entry_points(group="drgn.plugins")},
         "kdumpext is not installed (pip install -e .): no drgn.plugins entry point")
    symbols = [unpacked(f) for f in sorted(glob.glob(os.path.join(ARM64_BUILD, "*.xz")))]
    cmd = [drgn_cli, "-c", unpacked(c.dump)]
    for s in symbols:
        cmd += ["-s", s]
    cmd += ["-e", "from drgn.commands import run_command; run_command(prog, 'triage --json')"]
    env = {k: v for k, v in os.environ.items() if k not in ("DRGN_PLUGINS", "DRGN_DISABLE_PLUGINS",
                                                            "KDUMPEXT_DEBUG_PATH", "PYTHONSTARTUP")}
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout[p.stdout.index("{"):])
    assert report["bucket"] == c.expected["bucket"]
    assert (report["verdict"]["member"], report["verdict"]["offset"]) == (c.expected["member"], c.expected["offset"])
