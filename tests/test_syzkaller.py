"""kdumpext on syzkaller's report-parser logs (tests/fixtures/syzkaller): no internal error; the known gaps."""

from __future__ import annotations

import functools
import os
import sys
from typing import List

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_HERE), "bench"))

import syzkaller_reports as sr  # noqa: E402

FIXTURES_DIR = os.path.join(_HERE, "fixtures", "syzkaller")
FIXTURES: List[str] = sorted((n for n in os.listdir(FIXTURES_DIR) if n.startswith("report-")),
                             key=lambda n: int(n.split("-", 1)[1]))

#: Logs without TITLE: that kdumpext still takes for a crash; test_no_crash_without_title leaves
#: them out until the parser is fixed (remove a name to turn its check on).  Each is also in
#: KNOWN_GAPS, so a fix is noticed.
#: At commit 1477ff8 these four failed ("WARNING: <text>" lines that are no WARN() report,
#: read as an oops title, then a panic verdict): report-76 (sshd's "WARNING: /etc/ssh/moduli
#: does not exist"), report-618 and report-712 ("WARNING: the mand mount option is being
#: deprecated"), report-654 ("WARNING: fbcon: Driver 'vkmsdrmfb' missed to adjust ...").
NO_CRASH_PENDING: List[str] = [
]

#: Fixtures that miss some expectation of test_expectations today (the reasons are
#: what `bench/syzkaller_reports.py --show` prints for them).  A fixture listed here must still
#: miss one: when a fix closes a gap, the test fails until the name is removed, so the list shrinks.
KNOWN_GAPS: List[str] = [
    # the guilty frame is a shared routine syzkaller skips (linuxStackParams.skipPatterns)
    "report-146",  # blames __lock_acquire, not remove_wait_queue (skips lock_acquire)
    "report-656",  # blames assertfail.constprop.0, not close_ctree (skips assertfail)
    "report-742",  # blames folio_unlock, not netfs_perform_write (skips folio_(alloc|unlock))
    "report-758",  # blames mark_buffer_dirty, not bfs_get_block (skips mark_buffer_dirty)
]


@functools.lru_cache(maxsize=None)
def _load(name: str) -> sr.TestFile:
    """The fixture ``name`` split into headers and log."""
    with open(os.path.join(FIXTURES_DIR, name), "rb") as f:
        return sr.parse_test_file(name, f.read().decode("utf-8", "replace"))


@functools.lru_cache(maxsize=None)
def _outcome(name: str) -> sr.Outcome:
    """kdumpext's answer for fixture ``name`` (computed once per session)."""
    return sr.run_kdumpext(_load(name))


def gaps(t: sr.TestFile, o: sr.Outcome) -> List[str]:
    """The expectations outcome ``o`` misses for fixture ``t``: a crash answered for a titled log
    and "no crash" for an untitled one, the log's kernel RIP function read, the title's guilty
    frame as ``verdict.blame`` (``verdict.function`` while there is no ``blame``), no verdict
    the log does not support (:func:`syzkaller_reports.unsupported`)."""
    out: List[str] = []
    if o.answer == "error":
        return [f"internal error: {o.error}"]
    if not t.title:
        if o.answer != "no crash":
            out.append(f"a log without a crash answered {o.crash_class} {o.function or '?'}")
        return out + o.unsupported
    if o.answer == "no crash":
        return [f"no crash found (syzkaller: {t.title})"]
    if o.rip_ok is False:
        out.append(f"RIP {o.log_rip} read as {o.rip or 'nothing'}")
    if o.title_func:
        guilty = o.blame or o.function
        if sr.normalize_function(guilty) != o.title_func:
            out.append(f"guilty frame {guilty or 'none'}, syzkaller says {o.title_func}")
    return out + o.unsupported


# --- what must hold already, and forever ------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_no_internal_error(name: str) -> None:
    """Every log gets a report or NoOopsError, never another exception."""
    o = _outcome(name)
    assert o.answer != "error", f"{name}: {o.error}"


_UNTITLED = [n for n in FIXTURES if not _load(n).title]


@pytest.mark.parametrize("name", [n for n in _UNTITLED if n not in NO_CRASH_PENDING])
def test_no_crash_without_title(name: str) -> None:
    """A log syzkaller finds no crash in is answered with NoOopsError."""
    o = _outcome(name)
    assert o.answer == "no crash", f"{name}: {o.crash_class} {o.function} {o.error}"


def test_lists_are_consistent() -> None:
    """The exclusion lists name real fixtures; a pending no-crash log is also a known gap."""
    for n in NO_CRASH_PENDING + KNOWN_GAPS:
        assert n in FIXTURES, n
    for n in NO_CRASH_PENDING:
        assert n in _UNTITLED and n in KNOWN_GAPS, n
    assert len(set(KNOWN_GAPS)) == len(KNOWN_GAPS)


def test_fixtures_are_even() -> None:
    """Only even-numbered syzkaller files are copied (the odd ones are held out)."""
    for n in FIXTURES:
        assert int(n.split("-", 1)[1]) % 2 == 0, n


# --- what does not hold yet: KNOWN_GAPS --------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_expectations(name: str) -> None:
    """RIP read, guilty frame = the title's, no unsupported verdict; KNOWN_GAPS still miss one."""
    t = _load(name)
    missed = gaps(t, _outcome(name))
    if name in KNOWN_GAPS:
        assert missed, f"{name} now meets every expectation: remove it from KNOWN_GAPS"
    else:
        assert not missed, f"{name} ({t.title or 'no TITLE'}): " + "; ".join(missed)


# --- the harness's own reading of the files ----------------------------------------------


def test_parse_test_file() -> None:
    """Headers to the first blank line, the log up to ``REPORT:``."""
    t = sr.parse_test_file("9", "# note\nTITLE: WARNING in f\nCORRUPTED: Y\n\nline1\n\nREPORT:\nWARNING in f\n")
    assert (t.title, t.corrupted, t.log) == ("WARNING in f", True, "line1\n")
    assert sr.parse_test_file("8", "\nBUG: x\n").title == ""


@pytest.mark.parametrize("title, kind, func", [
    ("general protection fault in __ip_options_echo", "general protection fault", "__ip_options_echo"),
    ("BUG: unable to handle kernel NULL pointer dereference in corrupted", "NULL pointer dereference", ""),
    ("WARNING in submit_rx_urb/usb_submit_urb", "WARNING", "submit_rx_urb"),
    ("WARNING: refcount bug in dev_activate", "WARNING", "dev_activate"),
    ("KASAN: use-after-free Read in snd_seq_queue_alloc", "KASAN", "snd_seq_queue_alloc"),
    ("possible deadlock in tty_buffer_flush", "lockdep/RCU report", "tty_buffer_flush"),
    ("", "no crash", ""),
])
def test_title_kind(title: str, kind: str, func: str) -> None:
    """Title kinds and the guilty function at the end of a title."""
    assert (sr.title_kind(title), sr.title_function(title)) == (kind, func)


def test_normalize_and_rip() -> None:
    """Clone suffixes and syscall prefixes go; RIP lines in the 3.x and 6.x spellings are read."""
    assert sr.normalize_function("tabledist.part.0") == "tabledist"
    assert sr.normalize_function("__se_sys_mremap") == "mremap"
    assert sr.normalize_function("__x64_sys_read") == "sys_read"  # one prefix, as syzkaller strips
    old = "[ 1.0] RIP: 0010:[<ffffffff8153a9b4>]  [<ffffffff8153a9b4>] drm_legacy_newctx+0x1b/0x2c0\n"
    assert sr.log_rip_function(old) == "drm_legacy_newctx"
    assert sr.log_rip_function("RIP: 0033:0x4\nRIP: 0010:strlen+0x0/0x30\n") == "strlen"
    assert sr.log_rip_addresses("RIP: 0010:0x86\nRIP: 0010:          (null)\nRIP: 0033:0x0\n") == [0x86, 0]
    assert sr.log_arch("pc : foo+0x4/0x8\nlr : bar+0x4/0x8\n") == "arm64"
