"""kdumpext.cache: atomic entries, one writer per entry, LRU cap, bad entries, unpacking by magic, bombs, `kdumpext cache`."""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import lzma
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from typing import List

import pytest

from kdumpext import cache, cachecmd
from kdumpext.errors import KdumpextError, TruncatedDumpError, UsageError
from kdumpext.locate import unpacked


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Every test gets a cache of its own (conftest already keeps them all out of ~/.cache)."""
    monkeypatch.setenv("KDUMPEXT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(cache.MAX_ENV, raising=False)


def _files(root: str) -> List[str]:
    out = []
    for d, _dirs, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


def _python(code: str, **kw) -> "subprocess.Popen[str]":
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)


def test_sizes():
    assert cache.parse_size("2G") == 2 << 30 and cache.parse_size("500M") == 500 << 20
    assert cache.parse_size("1.5K") == 1536 and cache.parse_size("4096") == 4096 and cache.parse_size("8GiB") == 8 << 30
    with pytest.raises(UsageError):
        cache.parse_size("lots")
    assert cache.human_size(2 << 30) == "2G" and cache.human_size(1536) == "1.5K" and cache.human_size(12) == "12B"


def test_limit_from_env(monkeypatch):
    assert cache.limit() == cache.DEFAULT_MAX == 2 << 30
    monkeypatch.setenv(cache.MAX_ENV, "500M")
    assert cache.limit() == 500 << 20
    monkeypatch.setenv(cache.MAX_ENV, "a lot")
    with pytest.raises(UsageError, match=cache.MAX_ENV):
        cache.limit()


def test_atomic_write_nothing_left_by_an_error_or_a_kill(tmp_path):
    store = cache.Store("unpacked")

    def fail(f):
        f.write(b"half")
        raise KdumpextError("stopped")

    with pytest.raises(KdumpextError, match="stopped"):
        store.fill("k", "data", fail)
    assert store.lookup("k", "data") is None
    assert _files(cache.cache_dir()) == []  # no payload, no description, no temp file

    # a writer SIGKILLed half-way: O_TMPFILE leaves nothing behind
    proc = _python("""
        import sys, time
        from kdumpext import cache
        def slow(f):
            f.write(b"x" * 100000); f.flush()
            print("writing", flush=True)
            time.sleep(60)
        cache.Store("unpacked").fill("k2", "data", slow)
    """)
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    proc.kill()
    proc.wait()
    assert "unpacked/k2/data" not in _files(cache.cache_dir())
    assert not [f for f in _files(cache.cache_dir()) if ".tmp-" in f]
    path, written = store.fill("k2", "data", lambda f: f.write(b"whole"))
    assert written and open(path, "rb").read() == b"whole"


def test_orphan_temp_file_of_a_dead_writer_is_removed(tmp_path):
    store = cache.Store("unpacked")
    path, _ = store.fill("k", "data", lambda f: f.write(b"ok"))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = os.path.join(os.path.dirname(path), f".tmp-{int(dead.stdout)}-abcd")
    mine = os.path.join(os.path.dirname(path), f".tmp-{os.getpid()}-abcd")
    for p in (orphan, mine):
        open(p, "wb").close()
    cache.list_entries()
    assert not os.path.exists(orphan) and os.path.exists(mine)  # a live writer's is left alone
    os.unlink(mine)


def test_one_writer_per_entry_across_processes(tmp_path):
    counter = tmp_path / "writes"
    code = f"""
        import os, time
        from kdumpext import cache
        def write(f):
            with open({str(counter)!r}, "a") as c:
                c.write("w\\n")
            time.sleep(1)
            f.write(b"payload")
        path, written = cache.Store("gdb-core").fill("same", "x.core", write)
        print(path, written, open(path, "rb").read().decode())
    """
    procs = [_python(code) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    lines = sorted(o[0].split() for o in outs)
    assert counter.read_text() == "w\n"  # written once
    assert [w for _p, w, _d in lines] == ["False", "True"]
    assert lines[0][0] == lines[1][0] and {d for _p, _w, d in lines} == {"payload"}


def test_a_miss_during_a_write_takes_what_was_written(tmp_path):
    """A process that misses an entry while another writes it gets the entry as soon as it is
    written, though the writer keeps using it (and its shared lock) for long after: not a wait
    for the writer's exit (kdump open's gdb and its server unpack one dump side by side)."""
    code = f"""
        import sys, time
        from kdumpext import cache
        def write(f):
            time.sleep(1)
            f.write(b"payload")
        path, written = cache.Store("unpacked").fill("same", "dump", write)
        print(path, written, open(path, "rb").read().decode(), flush=True)
        if sys.argv[1:] == ["stay"]:
            time.sleep(60)  # still using the entry
    """
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), "stay"], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)  # the writer is in write()
        start = time.monotonic()
        second = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], text=True, capture_output=True,
                                timeout=30)
        took = time.monotonic() - start
        assert second.returncode == 0, second.stderr
        path, written, data = second.stdout.split()
        assert (written, data) == ("False", "payload") and took < 20, (second.stdout, took)
        assert writer.poll() is None  # the writer is still there, holding its shared lock
        assert writer.stdout is not None and writer.stdout.readline().split()[:2] == [path, "True"]
    finally:
        writer.kill()
        writer.wait()


def _entry(store: cache.Store, key: str, size: int, used: float) -> str:
    path, _ = store.fill(key, "data", lambda f: f.write(os.urandom(size)))
    os.utime(os.path.dirname(path), (used, used))
    return path


def test_lru_pruning_under_a_small_cap(tmp_path):
    store = cache.Store("unpacked", hold=False, cap=1 << 40)  # no pruning while they are written
    now = time.time()
    paths = {k: _entry(store, k, 100_000, now - 100 + i) for i, k in enumerate("abcde")}
    assert len(cache.list_entries()) == 5
    each = cache.list_entries()[0].size  # on disk: blocks, .meta included
    # "b" is in use by another process (a drgn reading it): kept whatever its age
    holder = _python(f"""
        import time
        from kdumpext import cache
        assert cache.Store("unpacked").lookup("b", "data")
        print("holding", flush=True)
        time.sleep(60)
    """)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        os.utime(os.path.dirname(paths["b"]), (now - 100, now - 100))  # the lookup touched it: old again
        removed, freed = cache.prune(3 * each)
        left = {os.path.basename(os.path.dirname(e.path)) for e in cache.list_entries()}
        assert left == {"b", "d", "e"} and removed == 2 and freed >= 200_000
        # a hit counts as a use: "d" looked up now outlives "e"
        assert store.lookup("d", "data")
        cache.prune(2 * each)
        assert {os.path.basename(os.path.dirname(e.path)) for e in cache.list_entries()} == {"b", "d"}
    finally:
        holder.kill()
        holder.wait()
    assert cache.clear()[0] == 2 and cache.list_entries() == []


def test_prune_after_write_keeps_the_cap(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.MAX_ENV, "3M")
    store = cache.Store("gdb-core", hold=False)
    for i in range(5):
        store.fill(f"k{i}", "x.core", lambda f: f.write(os.urandom(1 << 20)))
        time.sleep(0.01)
    kept = sorted(os.path.basename(os.path.dirname(e.path)) for e in cache.list_entries())
    assert sum(e.size for e in cache.list_entries()) <= 3 << 20 and "k4" in kept and "k0" not in kept


def test_bad_entries_are_ignored_and_rewritten(tmp_path):
    store = cache.Store("batch", hold=False)
    path = store.write_json("k", {"row": 1})
    assert store.read_json("k") == {"row": 1}
    for bad in (b"[1, 2]", b"{not json", b"\xff\xfe", b"", b"null"):
        with open(path, "wb") as f:
            f.write(bad)
        assert store.read_json("k") is None, bad
    store.write_json("k", {"row": 2})
    assert store.read_json("k") == {"row": 2}


def test_batch_cache_entry_not_an_object(tmp_path):
    from kdumpext.batch import Cache, Item, Options

    (tmp_path / "in").mkdir()
    dump = tmp_path / "in" / "dump.1"  # not beside the cache: its directory's mtime is in the key
    dump.write_bytes(b"KDUMP   " + bytes(56))
    item, opts = Item(str(dump)), Options()
    c = Cache(str(tmp_path / "rows"))
    row = {"dump": str(dump), "bucket": "b"}
    c.put(item, opts, row)
    assert c.get(item, opts) == row
    (entry,) = [os.path.join(d, f) for d, _s, fs in os.walk(tmp_path / "rows") for f in fs if f == "entry.json"]
    for bad in ("[1]", '{"fingerprint": 1, "row": [1]}', '{"row": {}, "vmlinux": "x"}'):
        with open(entry, "w") as f:
            f.write(bad)
        assert Cache(str(tmp_path / "rows")).get(item, opts) is None
    c.put(item, opts, row)
    assert Cache(str(tmp_path / "rows")).get(item, opts) == row


def test_key_changes_when_a_file_is_replaced_in_place(tmp_path):
    f = tmp_path / "vmlinux.xz"
    f.write_bytes(lzma.compress(b"first version"))
    st = os.stat(f)
    first = unpacked(str(f))
    stamp = cache.file_stamp(str(f))
    # same name, same size, same mtime: a new file renamed over the old one
    new = tmp_path / "new"
    new.write_bytes(lzma.compress(b"other version"))
    assert os.path.getsize(new) == st.st_size
    os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.rename(new, f)
    assert cache.file_stamp(str(f)) != stamp
    second = unpacked(str(f))
    assert second != first and open(second, "rb").read() == b"other version"
    # rewritten in place (same inode): the size or mtime tells
    with open(f, "wb") as out:
        out.write(lzma.compress(b"third version, longer"))
    third = unpacked(str(f))
    assert open(third, "rb").read() == b"third version, longer"
    # earlier versions of the same input were superseded unless in use (this process holds them)
    assert len([e for e in cache.list_entries() if e.kind == "unpacked"]) == 3


@pytest.mark.parametrize("packer", [lzma.compress, gzip.compress, bz2.compress], ids=["xz", "gz", "bz2"])
def test_unpack_by_magic_not_suffix(tmp_path, packer):
    f = tmp_path / "dump.202601010101"  # an .xz renamed without its suffix
    f.write_bytes(packer(b"KDUMP   " + bytes(1000)))
    out = unpacked(str(f))
    assert out != str(f) and out.startswith(cache.cache_dir())
    assert os.path.basename(out) == "dump.202601010101"
    assert open(out, "rb").read() == b"KDUMP   " + bytes(1000)
    suffixed = tmp_path / "vmlinux.gz"
    suffixed.write_bytes(packer(b"ELF"))
    assert os.path.basename(unpacked(str(suffixed))) == ("vmlinux" if packer is gzip.compress else "vmlinux.gz")
    plain = tmp_path / "plain.xz"  # named like one, but not compressed: used as it is
    plain.write_bytes(b"KDUMP   ")
    assert unpacked(str(plain)) == str(plain)


def test_zstd_refused_with_a_clear_line(tmp_path):
    f = tmp_path / "dump.1"
    f.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(20))
    with pytest.raises(KdumpextError, match=r"zstd-compressed; unpack it first \(zstd -d\)"):
        unpacked(str(f))


def test_damaged_xz_is_one_line(tmp_path):
    f = tmp_path / "dump.1.xz"
    data = lzma.compress(os.urandom(100000))
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(KdumpextError, match="cannot unpack") as e:
        unpacked(str(f))
    assert "\n" not in str(e.value)
    assert _files(cache.cache_dir()) == []


def _xz_of_zeros(path: str, head: bytes, total: int) -> None:
    comp = lzma.LZMACompressor(preset=1)
    with open(path, "wb") as f:
        f.write(comp.compress(head))
        block = bytes(1 << 20)
        for _ in range((total - len(head)) >> 20):
            f.write(comp.compress(block))
        f.write(comp.flush())


def test_decompression_bomb_stops_at_the_cap(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.MAX_ENV, "8M")
    bomb = str(tmp_path / "vmlinux.xz")
    _xz_of_zeros(bomb, b"", 64 << 20)
    assert os.path.getsize(bomb) < 1 << 20
    t0 = time.monotonic()
    with pytest.raises(cache.CacheLimitError, match=f"more than the cache's limit of 8M.*{cache.MAX_ENV}") as e:
        unpacked(bomb)
    assert time.monotonic() - t0 < 10 and "\n" not in str(e.value)
    assert _files(cache.cache_dir()) == []  # nothing kept


def test_decompression_bomb_past_a_dump_headers_promise(tmp_path, monkeypatch):
    """An ELF core whose one PT_LOAD ends at 8 KiB, followed by far more: a damaged dump (exit 4)."""
    ehdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack(
        "<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 4, 0x1000, 0, 0, 0x1000, 0x1000, 0x1000)
    bomb = str(tmp_path / "vmcore")
    _xz_of_zeros(bomb, ehdr + phdr, 96 << 20)
    with pytest.raises(TruncatedDumpError, match="headers promise") as e:
        unpacked(bomb)
    assert e.value.exit_code == 4


def _cmd(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    cachecmd.add_arguments(p)
    return p.parse_args(list(argv))


def test_cache_command_list_prune_clear(tmp_path, capsys):
    store = cache.Store("gdb-core", hold=False, cap=1 << 40)
    now = time.time()
    _entry(store, "old", 200_000, now - 50)
    _entry(store, "new", 200_000, now - 10)
    cache.Store("batch", hold=False).write_json("row", {"row": {}}, what="/var/crash/1/dump.1")
    assert cachecmd.run(_cmd()) == 0
    out = capsys.readouterr().out
    assert f"{cache.cache_dir()}: 3 entries" in out and "of 2G" in out
    assert "gdb-core" in out and "batch" in out and "/var/crash/1/dump.1" in out
    assert cachecmd.run(_cmd("--list", "--json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["entries"]) == 3 and doc["limit"] == 2 << 30 and doc["entries"][0]["kind"] == "batch"
    assert cachecmd.run(_cmd("--prune", str(sum(e.size for e in cache.list_entries()) - 1))) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"pruned {cache.cache_dir()}: 1 entries removed") and "\n" == out[-1]
    assert {os.path.basename(os.path.dirname(e.path)) for e in cache.list_entries()} == {"new", "row"}
    with pytest.raises(UsageError, match="--prune"):
        cachecmd.run(_cmd("--prune", "much"))
    assert cachecmd.run(_cmd("--clear", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == 2
    assert cache.list_entries() == []
    assert cachecmd.run(_cmd()) == 0
    assert "0 entries" in capsys.readouterr().out


def test_signal_free_lock_release(tmp_path):
    """A process holding an entry that is killed releases it: the entry can then be pruned."""
    store = cache.Store("unpacked", hold=False, cap=1 << 40)
    _entry(store, "k", 1000, time.time())
    holder = _python("""
        import time
        from kdumpext import cache
        assert cache.Store("unpacked").lookup("k", "data")
        print("holding", flush=True)
        time.sleep(60)
    """)
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    assert cache.clear() == (0, 0)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert cache.clear()[0] == 1
