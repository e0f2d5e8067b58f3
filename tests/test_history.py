"""The crash history (SQLite, across re-runs and concurrent batches), known issues (matching, release order), ``kdumpext buckets``."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import time
from typing import Any, Dict, List

import pytest

from conftest import need
from corpus import BUILD, SAMPLES

from kdumpext.history import Crash, History, HistoryError, identity, open_history
from kdumpext.known import KnownIssuesError, has_fix, known_issues, load_known, parse_known, parse_release, \
    release_key

EXE = os.path.join(os.path.dirname(sys.executable), "kdumpext")
SEED_BUCKET = "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats"

KNOWN = """
# the team's known kernel bugs
[[issue]]
bucket = "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats"
title = "scst detach race"
link = "https://bugs.example.com/4711"
fixed_in = "6.1.60"
note = "cmd->dev cleared while a command is in flight"

[[issue]]
bucket = "null-deref:scst_*"
title = "some other scst bug"

[[issue]]
bucket = "null-deref:kdx_ring_stats:kdx_ring.stats[2]"
title = "ring stats slot"
fixed_in = ["6.6.5", "6.1.0-13"]
"""


# --- kernel release order --------------------------------------------------------------------------


@pytest.mark.parametrize("release, fixed_in, want", [
    ("6.1.192", ["6.1.60"], True),  # numbers, not strings: 192 > 60
    ("6.1.60", ["6.1.60"], True),
    ("6.1.59", ["6.1.60"], False),
    ("6.1.9", ["6.1.60"], False),  # "9" > "60" as text, 9 < 60 as a number
    ("6.6.1", ["6.1.60"], True),  # a later branch than every fix listed
    ("5.15.200", ["6.1.60"], False),  # an earlier branch
    ("6.3.1", ["6.1.60", "6.6.5"], None),  # a branch between those listed: not known to have it
    ("6.8.0", ["6.1.60", "6.6.5"], True),
    ("6.1.60-cloud+", ["6.1.60"], True),  # a local version suffix: upstream numbering still
    # Debian's 6.1.0-57 is an ABI number: it says nothing of the upstream 6.1.x inside
    ("6.1.0-57-amd64", ["6.1.60"], None),
    ("6.1.0-57-amd64", ["6.1.0-13"], True),
    ("6.1.0-9-amd64", ["6.1.0-13"], False),
    ("6.1.0-57-amd64", ["6.1.60", "6.1.0-13"], True),
    ("6.1.70", ["6.1.60", "6.1.0-13"], True),
    ("6.1.192", ["6.1.0-13"], None),
    ("6.8.0-45-generic", ["6.8.0-40"], True),  # Ubuntu's ABI
    ("5.14.0-427.13.1.el9_4.x86_64", ["5.14.0-362.8.1.el9_3"], True),  # RHEL's build
    ("5.14.0-284.11.1.el9_2.x86_64", ["5.14.0-362.8.1.el9_3"], False),
    ("6.7.0-rc3", ["6.7"], False),  # a release candidate comes before the release
    ("6.7-rc3", ["6.7-rc2"], True),
    ("6.7.0", ["6.7-rc5"], True),
    ("not a release", ["6.1.60"], None),
    ("6.1.192", [], None),
])
def test_has_fix(release: str, fixed_in: List[str], want: Any) -> None:
    assert has_fix(release, fixed_in) is want


def test_release_parsing_and_order() -> None:
    r = parse_release("5.14.0-427.13.1.el9_4.x86_64")
    assert r is not None and (r.major, r.minor, r.sublevel, r.build, r.distro) == (5, 14, 0, (427, 13, 1), True)
    r = parse_release("6.1.192")
    assert r is not None and r.branch == (6, 1) and not r.distro and r.rc is None
    assert parse_release("vmlinux") is None
    got = sorted(["6.1.192", "6.10.2", "6.1.60", "x", "6.1.9", "5.15.1", "6.2.0", "6.2-rc1"], key=release_key)
    assert got == ["5.15.1", "6.1.9", "6.1.60", "6.1.192", "6.2-rc1", "6.2.0", "6.10.2", "x"]


# --- the known-issues file -------------------------------------------------------------------------


def test_known_issues_match() -> None:
    known = parse_known(KNOWN, "known.toml")
    assert len(known.issues) == 3
    m = known.match(SEED_BUCKET, "6.1.192")
    assert m is not None and m.issue.title == "scst detach race"  # the exact id wins over the pattern before it
    assert m.recurs and m.text() == ("known: scst detach race (fixed in 6.1.60); RECURS on 6.1.192, which should "
                                     "have the fix")
    m = known.match(SEED_BUCKET, "6.1.50")
    assert m is not None and not m.recurs and m.fixed is False and m.text() == "known: scst detach race (fixed in 6.1.60)"
    m = known.match("null-deref:scst_rx:scst_cmd.lun", "6.1.192")
    assert m is not None and m.issue.title == "some other scst bug" and m.fixed is None
    assert m.text() == "known: some other scst bug"
    # a bucket id's brackets are its own when written whole (no glob character class)
    m = known.match("null-deref:kdx_ring_stats:kdx_ring.stats[2]", "6.1.0-57-amd64")
    assert m is not None and m.recurs and m.issue.fixed_in == ("6.6.5", "6.1.0-13")
    assert known.match("null-deref:kdx_ring_stats:kdx_ring.stats2", "6.1.0-57-amd64") is None
    pat = parse_known("[[issue]]\nbucket = '*:kdx_ring.stats[?]'\ntitle = 'any slot'\n")
    assert pat.find("null-deref:kdx_ring_stats:kdx_ring.stats[7]") is not None
    assert pat.find("null-deref:kdx_ring_stats:kdx_ring.stats7") is None  # brackets are literal in a pattern too
    assert known.match("null-deref:kdx_attach:kdx_device.irq", "6.1.192") is None
    assert known.match("", "6.1.192") is None
    d = known.match(SEED_BUCKET, "6.1.192").to_dict()  # type: ignore[union-attr]
    assert d["title"] == "scst detach race" and d["recurs"] is True and d["fixed_in"] == ["6.1.60"]
    assert d["link"] == "https://bugs.example.com/4711"


@pytest.mark.parametrize("text, words", [
    ("[[issue]\nbucket = 'x'", "not valid TOML: Expected ']]'"),
    ("[[issue]]\nbucket = 'x'\n", "issue 1: no title"),
    ("[[issue]]\nbucket = 'x'\ntitle = ''\n", "issue 1: title is empty"),
    ("[[issue]]\nbucket = 3\ntitle = 't'\n", "issue 1: bucket must be a string, not int"),
    ("[[issue]]\nbucket = 'x'\ntitle = 't'\n[[issue]]\nbucket = 'y'\ntitle = 't'\nfixed-in = '6.1.60'\n",
     "issue 2: unknown key 'fixed-in' (the keys are bucket, title, link, fixed_in, note)"),
    ("[issue]\nbucket = 'x'\ntitle = 't'\n", "write [[issue]], not [issue]"),
    ("[[issue]]\nbucket = 'x'\ntitle = 't'\nfixed_in = 'soon'\n", "fixed_in 'soon' is not a kernel release"),
    ("[[issue]]\nbucket = 'x'\ntitle = 't'\nfixed_in = [6]\n", "fixed_in must be a release"),
    ("[[bug]]\nbucket = 'x'\n", "unexpected 'bug'"),
], ids=["toml", "no-title", "empty-title", "int", "unknown-key", "table", "fixed-word", "fixed-int", "top-level"])
def test_known_issues_file_errors(text: str, words: str) -> None:
    with pytest.raises(KnownIssuesError) as e:
        parse_known(text, "known.toml")
    msg = str(e.value)
    assert msg.startswith("known.toml: ") and words in msg and "\n" not in msg, msg


def test_known_issues_from_file_and_environment(tmp_path, monkeypatch) -> None:
    path = tmp_path / "known.toml"
    path.write_text(KNOWN)
    assert len(load_known(str(path)).issues) == 3
    monkeypatch.delenv("KDUMPEXT_KNOWN_ISSUES", raising=False)
    assert known_issues(None) is None
    monkeypatch.setenv("KDUMPEXT_KNOWN_ISSUES", str(path))
    k = known_issues(None)
    assert k is not None and k.path == str(path)
    with pytest.raises(KnownIssuesError, match="cannot read the known-issues file"):
        load_known(str(tmp_path / "missing.toml"))
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(KnownIssuesError, match="not a text file"):
        load_known(str(tmp_path / "bin.toml"))


def _cli(*args: str, env: Dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def _env(tmp_path: Any) -> Dict[str, str]:
    env = dict(os.environ, KDUMPEXT_CACHE_DIR=str(tmp_path / "xdg"))
    env.pop("KDUMPEXT_KNOWN_ISSUES", None)
    return env


def test_bad_input_is_one_line(tmp_path) -> None:
    """A malformed known-issues file, a database that cannot be, a bad date: one line, exit 2, no traceback."""
    env = _env(tmp_path)
    (tmp_path / "bad.toml").write_text("[[issue]]\nbucket = 'x'\n")
    (tmp_path / "junk.sqlite").write_bytes(os.urandom(4096))
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["batch", str(empty), "--known", str(tmp_path / "bad.toml")], "bad.toml: issue 1: no title"),
        (["triage", "/nonexistent/dump", "--known", str(tmp_path / "bad.toml")], "bad.toml: issue 1: no title"),
        (["buckets", "--known", str(tmp_path / "bad.toml")], "bad.toml: issue 1: no title"),
        (["batch", str(empty), "--db", "/nonexistent/dir/h.sqlite"], "cannot use as the crash history"),
        (["batch", str(empty), "--db", str(tmp_path)], "is a directory"),
        (["batch", str(empty), "--db", str(tmp_path / "junk.sqlite")], "file is not a database"),
        (["buckets", "--db", str(tmp_path / "junk.sqlite")], "file is not a database"),
        (["buckets", "--db", str(tmp_path / "none.sqlite")], "no crash history there"),
        (["buckets", "--since", "last tuesday"], "--since 'last tuesday': not a date"),
        (["batch", str(empty), "--format", "html", "-o", "/nonexistent/dir/r.html"], "no such directory"),
    ]
    for args, words in cases:
        p = _cli(*args, env=env)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.startswith("kdumpext: ") and len(p.stderr.splitlines()) == 1, (args, p.stderr)
        assert words in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)
    assert not (tmp_path / "none.sqlite").exists()


def test_default_history_that_cannot_be_made_is_passed_over(tmp_path) -> None:
    """The cache directory is a file: the batch warns and runs (an explicit --db would be an error)."""
    (tmp_path / "cachefile").write_text("")
    env = dict(_env(tmp_path), KDUMPEXT_CACHE_DIR=str(tmp_path / "cachefile"))
    empty = tmp_path / "empty"
    empty.mkdir()
    p = _cli("batch", str(empty), "--format", "json", env=env)
    assert p.returncode == 0, p.stderr
    assert "warning: the crash history is not recorded" in p.stderr and "Traceback" not in p.stderr
    assert "history" not in json.loads(p.stdout)


# --- the database ---------------------------------------------------------------------------------


def _crashes(n: int, start: int = 0, bucket_every: int = 7) -> List[Crash]:
    """Synthetic history rows (for the database's own behaviour and timing, never for verdicts)."""
    out = []
    for i in range(start, start + n):
        release = ("6.1.60", "6.1.192", "6.1.0-57-amd64")[i % 3]
        out.append(Crash(f"sha256:{i:040x}", f"/var/crash/host{i % 13}/{i}/dump.{i}", "ok",
                         bucket=f"null-deref:f{i % bucket_every}:s.m", size=1000 + i, host=f"host{i % 13}",
                         release=release, crash_time=1.79e9 + i * 3600, time_from="crash time",
                         verdict=f"p{i} is NULL"))
    return out


def test_history_re_runs_add_nothing(tmp_path) -> None:
    db = str(tmp_path / "h.sqlite")
    with History(db) as h:
        done = h.record(_crashes(20))
        assert (done.new, done.updated, done.total) == (20, 0, 20)
        done = h.record(_crashes(20))
        assert (done.new, done.updated, done.total) == (0, 0, 20)
        # the same dump at another path (an archive, another machine's mount point): one crash
        moved = _crashes(1)[0]
        moved.path = "/archive/host0/0/dump.0"
        done = h.record([moved] + _crashes(2, start=20))
        assert (done.new, done.updated, done.total) == (2, 1, 22)
    with History(db) as h:  # what was recorded is there when opened again
        assert h.count() == 22
        buckets = {b.bucket: b for b in h.buckets()}
    b = buckets["null-deref:f0:s.m"]
    assert b.count == b.total == 4 and b.first_seen == 1.79e9 and b.last_seen == 1.79e9 + 21 * 3600
    assert b.last_path == "/var/crash/host8/21/dump.21"
    assert [r for r, _n in b.releases] == ["6.1.0-57-amd64", "6.1.60", "6.1.192"]
    assert sum(n for _h, n in b.hosts) == 4


def test_history_keeps_the_better_answer(tmp_path) -> None:
    with History(str(tmp_path / "h.sqlite")) as h:
        ok = _crashes(1)[0]
        h.record([ok])
        bad = Crash(ok.identity, ok.path, "error", verdict="timed out after 600 s")
        assert h.record([bad]).updated == 0  # an error never replaces an explanation
        assert h.buckets()[0].bucket == ok.bucket
        newer = Crash(ok.identity, ok.path, "ok", bucket="null-deref:f0:s.other", release="6.1.60",
                      crash_time=ok.crash_time)
        assert h.record([newer]).updated == 1  # a newer analysis replaces an older one
        assert [b.bucket for b in h.buckets()] == ["null-deref:f0:s.other"]
        # a file that could not be read (its identity was its path) and is now explained: one crash
        unread = Crash("path:/var/crash/x/dump.x", "/var/crash/x/dump.x", "error", verdict="permission denied")
        h.record([unread])
        assert h.count() == 2 and h.errors() == 1
        h.record([Crash("sha256:" + "e" * 40, "/var/crash/x/dump.x", "ok", bucket="b:g", crash_time=1.8e9)])
        assert h.count() == 2 and h.errors() == 0


def test_buckets_since(tmp_path) -> None:
    with History(str(tmp_path / "h.sqlite")) as h:
        h.record(_crashes(70, bucket_every=7))
        since = 1.79e9 + 60 * 3600
        window = h.buckets(since)
        everything = h.buckets()
    assert len(everything) == 7 and all(b.count == b.total == 10 for b in everything)
    assert len(window) == 7 and sum(b.count for b in window) == 10 and all(b.total == 10 for b in window)
    assert all(b.first_seen is not None and b.first_seen < since for b in window)
    # newest first
    assert [b.last_seen for b in window] == sorted((b.last_seen for b in window), reverse=True)
    assert sum(n for b in window for _h, n in b.hosts) == 10


def test_buckets_of_one_host(tmp_path) -> None:
    """``buckets --host``: the buckets with a crash on that host, counted on it; first and last
    seen over every host."""
    with History(str(tmp_path / "h.sqlite")) as h:
        h.record(_crashes(70, bucket_every=7))  # host i % 13, bucket i % 7
        on3 = h.buckets(host="host3")
        everything = {b.bucket: b for b in h.buckets()}
        assert h.buckets(host="nowhere") == []
    crashes = [i for i in range(70) if i % 13 == 3]  # 3, 16, 29, 42, 55, 68
    assert sorted(b.bucket for b in on3) == sorted({f"null-deref:f{i % 7}:s.m" for i in crashes})
    assert sum(b.count for b in on3) == len(crashes)
    assert all(b.hosts == [("host3", b.count)] for b in on3)
    assert all((b.total, b.first_seen) == (10, everything[b.bucket].first_seen) for b in on3)


def test_identity(tmp_path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(b"KDUMP   " + b"\1" * 100000)
    b.write_bytes(b"KDUMP   " + b"\1" * 100000)
    c.write_bytes(b"KDUMP   " + b"\2" * 100000)
    assert identity(str(a)) == identity(str(b)) != identity(str(c))
    assert identity(str(a)).startswith("sha256:")
    assert identity(str(tmp_path / "missing")) == "path:" + str(tmp_path / "missing")
    os.mkfifo(tmp_path / "fifo")
    assert identity(str(tmp_path / "fifo")).startswith("path:")  # never opened for reading (it would block)


_WRITER = r'''
import os, sys, time
sys.path.insert(0, {tests!r})
from test_history import _crashes
from kdumpext.history import History
db, start, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
while not os.path.exists(go):
    time.sleep(0.001)
with History(db) as h:  # opened (and the schema made) by both at once
    new = 0
    for k in range(30):  # many short transactions, interleaved with the other process's
        new += h.record(_crashes(10, start=start + k * 10)).new
print(new)
'''


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_writers(tmp_path, round_: int) -> None:
    """Two processes create and fill one new database at once; overlapping crashes are counted once.
    (Several rounds: the race on creating the database and switching it to WAL is the one that bites.)"""
    db, go = str(tmp_path / "h.sqlite"), str(tmp_path / "go")
    script = _WRITER.format(tests=os.path.dirname(os.path.abspath(__file__)))
    procs = [subprocess.Popen([sys.executable, "-c", script, db, str(start), go], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for start in (0, 200)]
    time.sleep(0.5)
    open(go, "w").close()
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    # 0..299 and 200..499: 500 crashes, the 100 in both recorded by one of them only
    assert sum(int(out) for out, _err in outs) == 500
    with History(db) as h:
        assert h.count() == 500
        mode = h._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_open_history(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KDUMPEXT_CACHE_DIR", str(tmp_path / "cache"))
    assert open_history(None, create=False) is None  # nothing recorded yet
    h = open_history(None)
    assert h is not None and h.path == str(tmp_path / "cache" / "history.sqlite")
    h.close()
    with pytest.raises(HistoryError, match="no crash history there"):
        open_history(str(tmp_path / "other.sqlite"), create=False)
    with History(str(tmp_path / "new.sqlite")) as h:
        h._db.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="written by a newer kdumpext"):
        History(str(tmp_path / "new.sqlite"))


def test_thousand_rows_under_two_seconds(tmp_path) -> None:
    """Recording and listing 1,000 crashes (synthetic rows: timing only) takes well under 2 s each."""
    db = str(tmp_path / "h.sqlite")
    t0 = time.monotonic()
    with History(db) as h:
        assert h.record(_crashes(1000, bucket_every=97)).new == 1000
    record = time.monotonic() - t0
    t0 = time.monotonic()
    with History(db) as h:
        assert h.record(_crashes(1000, bucket_every=97)).new == 0
    again = time.monotonic() - t0
    t0 = time.monotonic()
    p = _cli("buckets", "--db", db, "--json", env=_env(tmp_path))
    listing = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["crashes"] == 1000 and len(doc["buckets"]) == 97 and sum(b["count"] for b in doc["buckets"]) == 1000
    assert record < 2 and again < 2 and listing < 2, (record, again, listing)


# --- real batches ---------------------------------------------------------------------------------


def _two_dumps() -> List[str]:
    dirs = [os.path.join(SAMPLES, s) for s in ("scst-null-dev", "null-write")]
    need(all(glob.glob(os.path.join(d, "*", "dump.*")) for d in dirs) and os.path.isfile(os.path.join(BUILD, "vmlinux.xz")),
         "sample-dumps/ has no dumps (run sample-dumps/generate)")
    return dirs


def test_concurrent_batches_and_re_runs(tmp_path) -> None:
    """Two batches over the same dumps at once, each with its own result cache, one history:
    each crash recorded once; a third run adds nothing; ``kdumpext buckets`` lists them with host and release."""
    dirs = _two_dumps()
    env, db = _env(tmp_path), str(tmp_path / "shared.sqlite")
    procs = [subprocess.Popen([EXE, "batch", *dirs, "--debug-dir", BUILD, "--db", db, "--format", "json",
                               "--cache-dir", str(tmp_path / f"cache{n}"), "--jobs", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for n in (1, 2)]
    docs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        docs.append(json.loads(out))
    assert sorted(d["history"]["new"] for d in docs) in ([0, 2], [1, 1])  # however the two interleaved
    assert all(d["history"]["total"] == 2 for d in docs)
    p = _cli("batch", *dirs, "--debug-dir", BUILD, "--db", db, "--format", "json", "--cache-dir",
             str(tmp_path / "cache1"), env=env)
    assert p.returncode == 0, p.stderr
    again = json.loads(p.stdout)
    assert again["history"] == {"new": 0, "updated": 0, "total": 2} and again["cached"] == 2
    p = _cli("buckets", "--db", db, "--json", "--known", _known_file(tmp_path), env=env)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema"] == "kdumpext.buckets/1" and doc["crashes"] == 2 and doc["errors"] == 0
    by = {b["bucket"]: b for b in doc["buckets"]}
    seed = by[SEED_BUCKET]
    assert seed["count"] == 1 and seed["hosts"] == [{"host": "(none)", "count": 1}]  # the guest never set its name
    assert seed["releases"] == [{"release": "6.1.192", "count": 1}]
    assert seed["known"]["title"] == "scst detach race" and seed["known"]["recurs"] is True
    assert by["null-deref:kdx_flow_set_error:kdx_owner.last_error"]["known"] is None
    p = _cli("buckets", "--db", db, "--known", _known_file(tmp_path), env=env)
    assert p.returncode == 0 and "scst detach race (fixed in 6.1.60) RECURS on 6.1.192" in p.stdout, p.stdout


def _known_file(tmp_path: Any) -> str:
    path = tmp_path / "known.toml"
    path.write_text(KNOWN)
    return str(path)


def test_batch_and_triage_mark_the_seed_as_known(tmp_path) -> None:
    dirs = _two_dumps()
    env, known = _env(tmp_path), _known_file(tmp_path)
    p = _cli("batch", *dirs, "--debug-dir", BUILD, "--no-history", "--known", known, env=env)
    assert p.returncode == 0, p.stderr
    assert "KNOWN-FIXED BUGS THAT RECUR" in p.stdout and "history:" not in p.stdout
    assert (f"{SEED_BUCKET}: scst detach race (https://bugs.example.com/4711), fixed in 6.1.60, crashed 6.1.192 "
            "(1 time), which should have the fix") in p.stdout
    assert not os.path.exists(os.path.join(env["KDUMPEXT_CACHE_DIR"], "history.sqlite"))  # --no-history
    p = _cli("batch", *dirs, "--debug-dir", BUILD, "--format", "json", env=dict(env, KDUMPEXT_KNOWN_ISSUES=known))
    doc = json.loads(p.stdout)
    rows = {r["bucket"]: r for r in doc["rows"]}
    assert rows[SEED_BUCKET]["known"]["text"] == ("known: scst detach race (fixed in 6.1.60); RECURS on 6.1.192, "
                                                  "which should have the fix")
    assert rows["null-deref:kdx_flow_set_error:kdx_owner.last_error"]["known"] is None
    assert {b["bucket"]: b["known"] is not None for b in doc["buckets"]} == {
        SEED_BUCKET: True, "null-deref:kdx_flow_set_error:kdx_owner.last_error": False}
    assert all("text" not in r for r in doc["rows"])  # the page's report text stays out of the JSON
    seed = glob.glob(os.path.join(dirs[0], "*", "dump.*"))[0]
    p = _cli("triage", seed, "--debug-dir", BUILD, "--known", known, "--no-evidence", env=env)
    assert p.returncode == 0, p.stderr
    # right under the bucket it is about
    assert (f"\nBUCKET   {SEED_BUCKET}\nKNOWN    scst detach race (fixed in 6.1.60); RECURS on 6.1.192, which should "
            "have the fix\n         https://bugs.example.com/4711\n") in p.stdout
    p = _cli("triage", seed, "--debug-dir", BUILD, "--known", known, "--json", env=env)
    assert json.loads(p.stdout)["known"]["recurs"] is True
    other = glob.glob(os.path.join(dirs[1], "*", "dump.*"))[0]
    p = _cli("triage", other, "--debug-dir", BUILD, "--known", known, env=env)
    assert p.returncode == 0 and re.search(r"^BUCKET   null-deref:kdx_flow_set_error:kdx_owner\.last_error\n"
                                           rf"NEW      not in the known issues \({re.escape(known)}\)$", p.stdout,
                                           re.M), p.stdout
