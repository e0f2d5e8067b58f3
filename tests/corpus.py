"""The sample corpus for tests: each scenario's dump, dmesg and expected answer, and the debug dir."""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "sample-dumps")
#: vmlinux.xz and the modules' .ko.xz: kdumpext unpacks them into its cache by itself.
BUILD = os.path.join(SAMPLES, "build")
#: the arm64 corpus: its scenarios under sample-dumps/arm64/<scenario>/<stamp>/, its build beside them
ARM64 = os.path.join(SAMPLES, "arm64")
ARM64_BUILD = os.path.join(ARM64, "build")

__all__ = ["ROOT", "SAMPLES", "BUILD", "ARM64", "ARM64_BUILD", "Case", "cases", "arm64_cases", "case",
           "unpacked_debug_dir", "chain_as_expected", "objects_as_expected", "no_pi"]


@dataclass
class Case:
    """One sample dump with its expected answer (sample-dumps/README.md has the schema)."""

    scenario: str
    dump: str  # as committed (may end in .xz)
    dmesg: str
    expected: Dict[str, Any]

    def __str__(self) -> str:
        return self.scenario


def cases(root: str = SAMPLES) -> List[Case]:
    """Every dump under ``root`` (sample-dumps/: the x86-64 corpus), in name order."""
    out = []
    for exp in sorted(glob.glob(os.path.join(root, "*", "*", "expected.json"))):
        d = os.path.dirname(exp)
        dumps = glob.glob(os.path.join(d, "dump.*"))
        dmesgs = glob.glob(os.path.join(d, "dmesg.*"))
        if not dumps and os.path.exists(os.path.join(root, "corpus.tar.xz")):
            raise AssertionError(f"{d}: no dump: run sample-dumps/pack --unpack (the README's commands do)")
        if len(dumps) != 1 or len(dmesgs) != 1:
            raise AssertionError(f"{d}: want one dump.* and one dmesg.*, have {dumps + dmesgs}")
        with open(exp) as f:
            expected = json.load(f)
        out.append(Case(os.path.basename(os.path.dirname(d)), dumps[0], dmesgs[0], expected))
    return out


def arm64_cases() -> List[Case]:
    """Every dump of the arm64 corpus (sample-dumps/arm64/), in name order."""
    return cases(ARM64)


def case(scenario: str) -> Case:
    """The case named ``scenario``."""
    for c in cases():
        if c.scenario == scenario:
            return c
    raise KeyError(scenario)


def unpacked_debug_dir() -> str:
    """A directory with vmlinux, scst.ko and kdx.ko uncompressed (for gdb and crash).

    Unpacked once into kdumpext's cache (under a lock, atomically) and linked here.
    """
    from kdumpext.locate import cache_dir, unpacked

    out = os.path.join(cache_dir(), "sample-debug")
    os.makedirs(out, exist_ok=True)
    for packed in sorted(glob.glob(os.path.join(BUILD, "*.xz"))):
        real = unpacked(packed)
        link = os.path.join(out, os.path.basename(real))
        if os.path.realpath(link) != os.path.realpath(real):
            tmp = f"{link}.tmp{os.getpid()}"
            os.symlink(real, tmp)
            os.replace(tmp, link)
    return out


def chain_as_expected(got: Any, want: Any) -> List[Dict[str, Any]]:
    """A JSON ``chain`` in expected.json's terms: per hop only the keys the expected hop names.

    ``got`` is the report's ``verdict.chain`` (list of hop objects), ``want`` expected.json's
    ``chain`` (or null); compare the result with ``want or []``.
    """
    want = want or []
    out = []
    for i, h in enumerate(got or []):
        keys = list(want[i]) if i < len(want) and want[i] else ["function", "clone", "kind", "expr"]
        out.append({k: h.get(k) for k in keys})
    return out


def objects_as_expected(got: Any) -> List[Dict[str, Any]]:
    """A report's JSON ``objects`` in expected.json's terms (sample-dumps/arm64/expected.py writes
    them): where each object lives, the kinds of its suspicious members, the sibling count and
    the callers of its recorded allocation and free."""
    out = []
    for o in got:
        s = o["siblings"]
        out.append({
            "expr": o["expr"], "address": o["address"], "type": o["type"], "cache": o["cache"],
            "object_start": o["object_start"], "allocated": o["allocated"], "member": o["member"],
            "suspect_kinds": sorted({x["kind"] for x in o["suspects"]}),
            "siblings": None if s is None else {"member": s["member"], "value": s["value"], "same": s["same"],
                                                "scanned": s["scanned"]},
            "tracks": [{"kind": t["kind"], "caller": t["caller"]} for t in o["tracks"]],
        })
    return out


def no_pi(name: str) -> str:
    """A function's name without arm64's ``__pi_`` prefix: the string routines have a
    position-independent alias at the same address (``__pi_strlen``), which the oops, drgn and
    gdb do not all pick."""
    return name[len("__pi_"):] if name.startswith("__pi_") else name
