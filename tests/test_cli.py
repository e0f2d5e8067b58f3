"""Tests for the ``kdumpext`` command's plumbing: usage errors in the subcommand's words, --help, exit statuses."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from typing import List

import pytest

from conftest import need
from corpus import BUILD, SAMPLES

KDUMPEXT = [sys.executable, "-m", "kdumpext.cli"]
COMMANDS = ("triage", "oops", "batch", "gdb-core", "gdbserver", "crash-extension", "buckets", "cache")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(KDUMPEXT + list(args), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def _seed_dump() -> str:
    dumps = sorted(glob.glob(os.path.join(SAMPLES, "scst-null-dev", "*", "dump.*")))
    need(len(dumps) == 1, "sample-dumps/scst-null-dev/<stamp>/dump.<stamp> is missing (sample-dumps/generate)")
    return dumps[0]


@pytest.mark.parametrize("command", ["triage", "oops", "batch", "gdb-core"])
def test_unknown_option_is_the_subcommands_usage(command: str) -> None:
    """``kdumpext triage D --bogus``: triage's usage on one line, then one error line; exit 2."""
    p = _run(command, "D", "--bogus")
    assert p.returncode == 2, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 2, p.stderr
    assert lines[0].startswith(f"usage: kdumpext {command} ") and "--debug-dir DIR" in lines[0], p.stderr
    assert lines[1] == f"kdumpext: {command}: unrecognized arguments: --bogus"
    assert p.stdout == ""


def test_missing_argument_and_command() -> None:
    p = _run("triage")
    assert p.returncode == 2 and p.stderr.splitlines()[1] == "kdumpext: triage: the following arguments are required: dump"
    p = _run()
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 2 and p.stderr.startswith("usage: kdumpext ")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_description_examples_environment(command: str) -> None:
    p = _run(command, "--help")
    assert p.returncode == 0, p.stderr
    text = p.stdout
    # a description between the usage and the arguments
    head = text.split("\n\n")[1]
    assert not head.startswith(("positional arguments", "options")) and len(head) > 40, text
    examples = text[text.index("\nexamples:\n"):]
    assert f"\n  kdumpext {command} " in examples, text
    for name in ("KDUMPEXT_DEBUG_PATH", "KDUMPEXT_CACHE_DIR", "KDUMPEXT_DEBUG=1"):
        assert name in text[text.index("\nenvironment:\n"):], text


def test_top_level_help() -> None:
    p = _run("--help")
    assert p.returncode == 0
    for word in ("exit status: 0 ok", "6 no usable vmlinux found", "\nexamples:\n", "KDUMPEXT_CACHE_DIR"):
        assert word in p.stdout, p.stdout
    for command in COMMANDS:  # a long name gets its help on the next line
        assert f"\n    {command} " in p.stdout or f"\n    {command}\n" in p.stdout, p.stdout


def test_cache_command_is_wired() -> None:
    """``kdumpext cache`` runs cachecmd.py's ``run`` (or says it is not there, one line)."""
    p = _run("cache", "--list")
    if os.path.exists(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                   "kdumpext", "cachecmd.py")):
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode == 2 and p.stderr.strip().endswith("'cache' is not available in this installation")


@pytest.mark.parametrize("args, code, words", [
    (["--vmlinux", "/nonexistent/vmlinux"], 2, ["/nonexistent/vmlinux: No such file or directory"]),
    (["--debug-dir", "/nonexistent/dir"], 2, ["/nonexistent/dir: no such directory (--debug-dir)"]),
    (["--vmlinux", os.path.join(BUILD, "scst.ko.xz")], 5, ["does not match the dump's kernel"]),
    ([], 6, ["no vmlinux for 6.1.192", "--vmlinux or --debug-dir"]),
], ids=["missing-vmlinux", "missing-debug-dir", "wrong-vmlinux", "no-vmlinux"])
def test_exit_status_as_readme_says(args: List[str], code: int, words: List[str]) -> None:
    dump = _seed_dump()
    env_free = {k: v for k, v in os.environ.items() if k != "KDUMPEXT_DEBUG_PATH"}
    p = subprocess.run(KDUMPEXT + ["triage", dump] + args, capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, env=env_free)
    assert p.returncode == code, p.stderr
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith("kdumpext: "), p.stderr
    for w in words:
        assert w in p.stderr


def test_readme_exit_table_matches_errors() -> None:
    """README's "Exit status" table lists each status errors.py gives."""
    from kdumpext.errors import EXIT_CODES

    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")) as f:
        readme = f.read()
    table = readme[readme.index("## Exit status"):]
    for status in set(EXIT_CODES.values()):
        assert f"\n| {status} | " in table, status


def test_epilog_shape() -> None:
    from kdumpext.options import ENVIRONMENT, epilog

    text = epilog(["kdumpext x A", "kdumpext x B"], "notes")
    assert text.splitlines()[:3] == ["examples:", "  kdumpext x A", "  kdumpext x B"]
    assert "\nnotes\n" in text
    assert all(name in text for name, _ in ENVIRONMENT)


def test_vmlinux_given_by_hand_has_its_modules_beside_it() -> None:
    """``--vmlinux build/vmlinux.xz`` and no --debug-dir: the .ko.xz beside it are found."""
    import json

    from corpus import case

    c = case("scst-null-dev")
    env = {k: v for k, v in os.environ.items() if k != "KDUMPEXT_DEBUG_PATH"}
    p = subprocess.run(KDUMPEXT + ["triage", "--json", c.dump, "--vmlinux", os.path.join(BUILD, "vmlinux.xz")],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=env)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["dump"]["modules_missing_debuginfo"] == []
    assert (doc["bucket"], doc["verdict"]["confidence"]) == (c.expected["bucket"], "high")
