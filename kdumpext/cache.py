"""The one on-disk cache every cached file goes through: atomic entries, a lock each, an LRU size cap.

Three kinds of entries live under :func:`cache_dir`: ``unpacked/`` (uncompressed copies of
``.xz``/``.gz``/``.bz2`` dumps and debug files), ``batch/`` (one JSON row per crash) and
``gdb-core/`` (gdb-readable ELF cores).  Each entry is a directory ``<kind>/<key>/``
holding one plain file (the payload, under a name a user recognises) and ``.meta`` (what
it was made from).  Rules every entry follows:

- **atomic**: the payload is written into an unnamed ``O_TMPFILE`` inode, linked in and
  renamed over its name only when whole; a writer killed half-way (even by SIGKILL) leaves
  nothing.  Where ``O_TMPFILE`` is not supported a named ``.tmp-<pid>-...`` file is used,
  and orphans whose writer is dead are removed by the next :func:`prune`/:func:`list_entries`;
- **locked**: ``flock`` on the entry's directory: one writer per entry (a second process
  waits and then finds the entry written); a process that uses an entry (drgn reading an
  unpacked dump, gdb reading a core) holds a shared lock until it exits, and pruning never
  removes a locked entry;
- **keyed by what it was made from**: :func:`file_stamp` is path + device + inode + size +
  mtime, so a file replaced in place (same path, new contents) gets a new entry;
- **capped**: total disk use (blocks, not apparent size: cores are sparse) is kept under
  :func:`limit` (``$KDUMPEXT_CACHE_MAX``, e.g. ``2G``, ``500M``; default 2 GiB) by removing
  the least recently used entries after a write; a hit counts as a use (the entry
  directory's mtime is touched);
- **checked on read**: a payload that cannot be read or has the wrong shape is a miss and
  is written again.

Why not ``diskcache`` (SQLite-backed, size-limited, well kept)?  drgn and gdb need real file
paths for unpacked dumps and cores, multi-GB plain files: diskcache keeps large values as
files under names of its own choosing and evicts them during any ``set()`` with no notion
of a file another process is reading; its atomicity and culling are per SQLite row, not
per multi-GB file being streamed, and it would add a dependency (plus SQLite's locking
trouble on NFS home directories) for a few hundred lines that must handle the large
files' path, lock and kill-safety themselves anyway.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Dict, Iterable, List, Optional, Tuple

from .errors import CacheLimitError, KdumpextError, UsageError

__all__ = [
    "KINDS",
    "MAX_ENV",
    "DEFAULT_MAX",
    "CacheLimitError",
    "Entry",
    "Store",
    "cache_dir",
    "parse_size",
    "human_size",
    "limit",
    "free_space",
    "file_stamp",
    "make_key",
    "list_entries",
    "prune",
    "clear",
]

#: The kinds of entries, each a directory under :func:`cache_dir`.
KINDS = ("unpacked", "batch", "gdb-core", "crash-extension", "checked")
#: Environment variable with the cache's size cap (``2G``, ``500M``, ``1048576``).
MAX_ENV = "KDUMPEXT_CACHE_MAX"
#: The cap when ``$KDUMPEXT_CACHE_MAX`` is not set: 2 GiB.
DEFAULT_MAX = 2 << 30

_META = ".meta"
_TMP = ".tmp-"  # .tmp-<pid>-<random>: a named temp file (no O_TMPFILE) or a link about to be renamed
_TRASH = ".trash-"  # .trash-<pid>-<key>: an entry being removed
_SMALL = 1 << 20  # writes below this prune only every _SMALL_EVERY writes (a batch writes thousands)
_SMALL_EVERY = 64


def cache_dir() -> str:
    """The per-user cache (``$KDUMPEXT_CACHE_DIR``, else ``$XDG_CACHE_HOME/kdumpext``, else ``~/.cache/kdumpext``)."""
    explicit = os.environ.get("KDUMPEXT_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kdumpext")


_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str, what: str = MAX_ENV) -> int:
    """``"2G"`` -> 2147483648 (K, M, G, T are powers of 1024; ``KB``/``KiB``/``GiB`` alike).

    :raises UsageError: not a size.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not m:
        raise UsageError(f"{what}={text!r}: not a size; write e.g. 2G, 500M or a number of bytes")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def human_size(n: int) -> str:
    """``1536`` -> ``1.5K``; bytes in the units :func:`parse_size` reads."""
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit]:
            return f"{n / _UNITS[unit]:.1f}{unit}".replace(".0" + unit, unit)
    return f"{n}B"


def limit() -> int:
    """The cache's size cap in bytes: ``$KDUMPEXT_CACHE_MAX`` or :data:`DEFAULT_MAX`.

    :raises UsageError: ``$KDUMPEXT_CACHE_MAX`` is not a size.
    """
    text = os.environ.get(MAX_ENV, "").strip()
    return parse_size(text) if text else DEFAULT_MAX


_default_limit = limit


def free_space(path: str) -> int:
    """Bytes an unprivileged user may still write on the filesystem holding ``path`` (or its
    nearest existing parent)."""
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    try:
        st = os.statvfs(path or ".")
    except OSError:
        return 1 << 62
    return st.f_bavail * st.f_frsize


def file_stamp(path: str) -> List[Any]:
    """What identifies the contents of ``path`` cheaply: absolute path, device, inode, size,
    mtime (ns).  A file rewritten or replaced in place changes at least one of them.

    :raises OSError: ``path`` cannot be stat'ed.
    """
    st = os.stat(path)
    return [os.path.abspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def make_key(*parts: Any) -> str:
    """A directory name for an entry made from ``parts`` (anything JSON can write)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass
class Entry:
    """One cached thing, as ``kdumpext cache --list`` shows it."""

    kind: str  # one of KINDS
    path: str  # the payload file (or the entry directory when it has none)
    size: int  # bytes on disk
    last_used: float  # seconds since the epoch
    what: str  # what it was made from (a dump's path, ...)
    directory: str = ""  # the entry directory


# --- locks ----------------------------------------------------------------------------

#: Entry directory -> fd holding a shared lock: entries this process uses, until it exits.
_HELD: Dict[str, int] = {}


def _open_locked(directory: str, how: int, create: bool) -> Optional[int]:
    """An fd on ``directory`` locked with ``how`` (``LOCK_SH``/``LOCK_EX``, maybe ``| LOCK_NB``);
    None when it does not exist (and ``create`` is false) or, with ``LOCK_NB``, is locked.

    Makes sure the fd is still the directory named so: a pruner may have removed it while
    this process waited for the lock.
    """
    for _ in range(100):
        if create:
            os.makedirs(directory, exist_ok=True)
        try:
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            if create:
                continue
            return None
        try:
            fcntl.flock(fd, how)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError as e:
            if e.errno not in (errno.EBADF, errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                os.close(fd)
                raise
            # NFS emulates flock() with POSIX locks, which a directory opened read-only cannot
            # take: go without the lock (entries stay atomic; two writers may both write one)
            return fd
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.stat(directory).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
        if not create:
            return None
    raise KdumpextError(f"{directory}: cannot lock this cache entry (removed again and again)")


def _hold(directory: str) -> None:
    """Keep a shared lock on ``directory`` until this process exits (pruning passes it over)."""
    if directory in _HELD:
        return
    fd = _open_locked(directory, fcntl.LOCK_SH | fcntl.LOCK_NB, False)
    if fd is not None:
        _HELD[directory] = fd


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _orphan_pid(name: str, prefix: str) -> Optional[int]:
    """The writer's pid in a ``.tmp-<pid>-...``/``.trash-<pid>-...`` name, if it is one."""
    if not name.startswith(prefix):
        return None
    head = name[len(prefix):].split("-", 1)[0]
    return int(head) if head.isdigit() else None


# --- writing ------------------------------------------------------------------------------


class _Temp:
    """A file being written inside ``directory``: unnamed (``O_TMPFILE``) where possible."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.name: Optional[str] = None  # the named temp file, when O_TMPFILE is not there
        flags = os.O_RDWR | os.O_CLOEXEC
        tmpfile = getattr(os, "O_TMPFILE", 0)
        fd = -1
        if tmpfile:
            try:
                fd = os.open(directory, flags | tmpfile, 0o644)
            except OSError as e:
                if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                    raise
        if fd < 0:
            self.name = os.path.join(directory, f"{_TMP}{os.getpid()}-{os.urandom(4).hex()}")
            fd = os.open(self.name, flags | os.O_CREAT | os.O_EXCL, 0o644)
        self.file: BinaryIO = os.fdopen(fd, "w+b")

    def commit(self, final: str) -> None:
        """Give the written file the name ``final`` (atomically replacing what is there)."""
        self.file.flush()
        if self.name is None:
            link = os.path.join(self.directory, f"{_TMP}{os.getpid()}-{os.urandom(4).hex()}")
            # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N names the unnamed inode; os.link()
            # calls linkat() only with a dir fd (plain link() would link the /proc symlink)
            proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.link(str(self.file.fileno()), link, src_dir_fd=proc, follow_symlinks=True)
            finally:
                os.close(proc)
            self.name = link
        os.rename(self.name, final)
        self.name = None
        self.file.close()

    def discard(self) -> None:
        """Drop the file (an unnamed one vanishes with its fd)."""
        try:
            self.file.close()
        finally:
            if self.name is not None:
                try:
                    os.unlink(self.name)
                except OSError:
                    pass


def _write_small(directory: str, name: str, data: bytes) -> None:
    t = _Temp(directory)
    try:
        t.file.write(data)
        t.commit(os.path.join(directory, name))
    except BaseException:
        t.discard()
        raise


# --- the store of one kind ----------------------------------------------------------------------


class Store:
    """Entries of one kind (``unpacked``, ``batch``, ``gdb-core``) in ``directory``
    (default ``cache_dir()/kind``).

    ``cap``: the size cap for pruning after writes (default :func:`limit`, read when
    pruning).  ``hold``: keep a shared lock on every entry this process reads or writes, so
    that no other process prunes it while in use (off for small entries read at once,
    such as batch rows).
    """

    def __init__(self, kind: str, directory: Optional[str] = None, hold: bool = True,
                 cap: Optional[int] = None) -> None:
        self.kind = kind
        self.default = directory is None
        self.directory = directory if directory is not None else os.path.join(cache_dir(), kind)
        self.hold = hold
        self.cap = cap
        self._small_writes = 0

    def entry_dir(self, key: str) -> str:
        """The directory of the entry ``key`` (it may not exist)."""
        return os.path.join(self.directory, key)

    def path(self, key: str, name: str) -> str:
        """Where the payload ``name`` of entry ``key`` is (or would be)."""
        return os.path.join(self.entry_dir(key), name)

    def lookup(self, key: str, name: str) -> Optional[str]:
        """The payload's path when the entry is there (a use: touched, held), else None."""
        path = self.path(key, name)
        if not os.path.isfile(path):
            return None
        self._used(self.entry_dir(key))
        return path

    def _used(self, directory: str) -> None:
        try:
            os.utime(directory)
        except OSError:
            pass
        if self.hold:
            _hold(directory)

    def read_json(self, key: str, name: str = "entry.json") -> Optional[Dict[str, Any]]:
        """The JSON object stored as ``name`` in entry ``key``; None when missing, unreadable
        or not an object (the next :meth:`write_json` replaces it)."""
        path = self.path(key, name)
        try:
            with open(path, encoding="utf-8") as f:
                value = json.load(f)
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        if not isinstance(value, dict):
            return None
        self._used(self.entry_dir(key))
        return value

    def write_json(self, key: str, value: Dict[str, Any], what: str = "", name: str = "entry.json") -> str:
        """Store ``value`` as ``name`` in entry ``key`` (replacing what is there); its path."""
        data = json.dumps(value).encode()
        path, _new = self.fill(key, name, lambda f: f.write(data), what, replace=True)
        return path

    def fill(self, key: str, name: str, write: Callable[[BinaryIO], Any], what: str = "",
             source: Optional[str] = None, replace: bool = False) -> Tuple[str, bool]:
        """The payload ``name`` of entry ``key``, written by ``write(f)`` unless it is there.

        Under the entry's lock, so two processes never write one entry; ``write`` gets a
        binary file open for reading and writing, which becomes the payload only when
        ``write`` returns (an exception, Ctrl-C or SIGKILL leaves no trace).  ``replace``
        writes even when there is one.  ``source``: entries of this kind with the same
        source and another key are earlier versions of the same input: removed (when not in
        use).  Returns ``(path, written)``.

        :raises KdumpextError: the cache cannot be written (message says where and why).
        """
        directory = self.entry_dir(key)
        final = os.path.join(directory, name)
        held = _HELD.pop(directory, None)
        if held is not None:  # our own shared lock would keep us from the exclusive one
            os.close(held)
        try:
            fd = self._writer_lock(directory, final, replace)
        except OSError as e:
            raise KdumpextError(f"{directory}: cannot create a cache entry ({e.strerror or e})") from None
        if fd is None:  # another process wrote it meanwhile: a hit, held as one
            self._used(directory)
            return final, False
        written = False
        try:
            if replace or not os.path.isfile(final):
                meta = json.dumps({"kind": self.kind, "what": what, "source": source, "name": name}).encode()
                try:
                    t = _Temp(directory)
                except OSError as e:
                    raise KdumpextError(f"{directory}: cannot write to the cache ({e.strerror or e})") from None
                try:
                    write(t.file)
                    t.commit(final)
                    # the description after the payload: a writer killed before this leaves nothing
                    _write_small(directory, _META, meta)
                except OSError as e:
                    t.discard()
                    raise KdumpextError(f"{final}: cannot write to the cache ({e.strerror or e})") from None
                except BaseException:
                    t.discard()
                    raise
                written = True
            os.utime(directory)
            if self.hold:
                if directory not in _HELD:
                    fcntl.flock(fd, fcntl.LOCK_SH)  # the entry is now in use by this process
                    _HELD[directory] = fd
                    fd = -1
        finally:
            if fd >= 0:
                os.close(fd)
        if written:
            if source is not None:
                self._supersede(key, source)
            self._after_write(final)
        return final, written

    @staticmethod
    def _writer_lock(directory: str, final: str, replace: bool) -> Optional[int]:
        """The entry's exclusive lock, or None when another process wrote ``final`` while this
        one waited.  Not a plain blocking ``LOCK_EX``: a process that wrote an entry keeps a
        shared lock on it while it uses it (drgn reading an unpacked dump), and a second
        process that missed the entry while it was being written would wait for that lock
        until the first exits (``kdump open``'s gdb and its server unpack one dump side by
        side).  So: the exclusive lock if it is free; else wait for the writer (a shared lock
        is granted once no one holds the exclusive one) and take what it wrote."""
        give_up = time.monotonic() + 60
        while not replace and time.monotonic() < give_up:
            fd = _open_locked(directory, fcntl.LOCK_EX | fcntl.LOCK_NB, True)
            if fd is not None:
                return fd
            shared = _open_locked(directory, fcntl.LOCK_SH, True)
            if shared is not None:
                os.close(shared)
            if os.path.isfile(final):
                return None
            time.sleep(0.01)  # a writer that failed: its lock is gone, try again
        return _open_locked(directory, fcntl.LOCK_EX, True)

    def _supersede(self, key: str, source: str) -> None:
        for entry in _entries(self.kind, self.directory):
            if os.path.basename(entry.directory) != key and _meta(entry.directory).get("source") == source:
                _remove(entry.directory)

    def _after_write(self, final: str) -> None:
        try:
            size = os.stat(final).st_blocks * 512
        except OSError:
            size = 0
        if size < _SMALL:
            self._small_writes += 1
            if self._small_writes % _SMALL_EVERY:
                return
        self.prune()

    def prune(self, cap: Optional[int] = None) -> Tuple[int, int]:
        """Bring the cache under ``cap`` (default: this store's, else :func:`limit`): the
        whole cache for a store in the default place, else this store's directory only."""
        want = cap if cap is not None else self.cap if self.cap is not None else limit()
        if self.default:
            return prune(want)
        return _prune(list(_entries(self.kind, self.directory)), want)


# --- the cache as a whole: what kdumpext cache shows and does ----------------------------------


def _meta(directory: str) -> Dict[str, Any]:
    try:
        with open(os.path.join(directory, _META), encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _sweep(directory: str) -> None:
    """Remove orphans in a kind's ``directory``: temp files and half-removed entries of dead processes."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        pid = _orphan_pid(name, _TRASH)
        if pid is not None and not _pid_alive(pid):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
            continue
        sub = os.path.join(directory, name)
        try:
            inner = os.listdir(sub)
        except OSError:
            continue
        for f in inner:
            pid = _orphan_pid(f, _TMP)
            if pid is not None and not _pid_alive(pid):
                try:
                    os.unlink(os.path.join(sub, f))
                except OSError:
                    pass


def _entries(kind: str, directory: str) -> Iterable[Entry]:
    """The entries in a kind's ``directory`` (orphans swept first)."""
    _sweep(directory)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return
    for name in names:
        if name.startswith("."):
            continue
        d = os.path.join(directory, name)
        try:
            st = os.lstat(d)
            if not os.path.isdir(d):  # a file left by an older kdumpext: an entry of its own
                yield Entry(kind, d, st.st_blocks * 512, st.st_mtime, "", d)
                continue
            files = [(f, os.lstat(os.path.join(d, f))) for f in os.listdir(d)]
        except OSError:
            continue
        meta = _meta(d)
        payload = meta.get("name") if isinstance(meta.get("name"), str) else None
        if payload is None:  # an older kdumpext's entry: its largest file
            named = sorted((s.st_size, f) for f, s in files if not f.startswith("."))
            payload = named[-1][1] if named else None
        path = os.path.join(d, payload) if payload else d
        size = sum(s.st_blocks * 512 for _f, s in files)
        yield Entry(kind, path, size, st.st_mtime, str(meta.get("what") or ""), d)


def _remove(directory: str) -> int:
    """Remove the entry ``directory`` unless in use; the bytes freed (-1: in use, kept)."""
    if directory in _HELD:
        return -1
    if os.path.isfile(directory) or os.path.islink(directory):
        try:
            size = os.lstat(directory).st_blocks * 512
            os.unlink(directory)
            return size
        except OSError:
            return 0
    fd = _open_locked(directory, fcntl.LOCK_EX | fcntl.LOCK_NB, False)
    if fd is None:
        return -1 if os.path.isdir(directory) else 0
    try:
        size = sum(os.lstat(os.path.join(directory, f)).st_blocks * 512 for f in os.listdir(directory))
        parent, key = os.path.split(directory)
        trash = os.path.join(parent, f"{_TRASH}{os.getpid()}-{key}")
        os.rename(directory, trash)  # gone at once for everyone; waiters see it and start anew
        shutil.rmtree(trash, ignore_errors=True)
        return size
    except OSError:
        return -1
    finally:
        os.close(fd)


def _prune(entries: List[Entry], cap: int) -> Tuple[int, int]:
    total = sum(e.size for e in entries)
    removed = freed = 0
    for e in sorted(entries, key=lambda e: e.last_used):
        if total <= cap:
            break
        got = _remove(e.directory)
        if got >= 0:
            removed += 1
            freed += got
            total -= e.size
    return removed, freed


def list_entries(root: Optional[str] = None) -> List[Entry]:
    """Every entry of the cache at ``root`` (default :func:`cache_dir`), most recently used first."""
    root = root or cache_dir()
    out: List[Entry] = []
    for kind in KINDS:
        out += _entries(kind, os.path.join(root, kind))
    out.sort(key=lambda e: -e.last_used)
    return out


def prune(limit: Optional[int] = None, root: Optional[str] = None) -> Tuple[int, int]:
    """Remove the least recently used entries until the cache is under ``limit`` bytes
    (default: :func:`limit`), never one in use.  Returns ``(entries removed, bytes freed)``."""
    cap = limit if limit is not None else _default_limit()
    return _prune(list_entries(root), cap)


def clear(root: Optional[str] = None) -> Tuple[int, int]:
    """Remove every entry not in use.  Returns ``(entries removed, bytes freed)``."""
    return _prune(list_entries(root), -1)
