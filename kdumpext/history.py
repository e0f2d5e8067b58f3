"""The crash history: every crash a batch explained, kept in one SQLite file, and its buckets over time.

One row per crash, keyed by the dump's identity (:func:`identity`: its size and first 64 KiB),
not its path: the same dump seen again, moved, copied to an archive, or reached through
another mount point of a shared crash directory, is one crash.  A re-run records nothing new;
a crash analysed again takes the newer analysis (an error never replaces an explanation).

Concurrent writers (two batches, one ``--db`` shared by several machines' batches) are safe:
each batch writes in one ``BEGIN IMMEDIATE`` transaction and waits up to a minute for
another's to finish; the database is in WAL mode (readers never wait for a writer), except on
a network file system (NFS, CIFS, 9p, ...), where SQLite's WAL cannot work and the rollback
journal is used.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar

from . import __version__
from .errors import UsageError

__all__ = ["SCHEMA_VERSION", "FILE_NAME", "HistoryError", "Crash", "Recorded", "BucketHistory", "History",
           "default_path", "identity", "open_history"]

#: ``PRAGMA user_version`` of the database this module writes.
SCHEMA_VERSION = 1
#: The database's name in kdumpext's cache directory.
FILE_NAME = "history.sqlite"
_HEAD = 64 << 10  # bytes of a dump read for its identity: its headers (and the notes of an ELF core)
_BUSY_MS = 60_000  # how long a writer waits for another's transaction
#: File systems SQLite's WAL mode does not work on (it needs shared memory between the writers).
_NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre",
                         "gpfs", "fuse.sshfs", "fuse.glusterfs", "fuse.s3fs", "fuse.rclone"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS crashes (
    identity    TEXT PRIMARY KEY,   -- identity(): sha256 of the dump's size and head
    path        TEXT NOT NULL,      -- where it was last seen
    size        INTEGER,
    host        TEXT,               -- the kernel's nodename ("" when not read)
    release     TEXT,
    crash_time  REAL,               -- seconds since the epoch, UTC
    time_from   TEXT,               -- how the time is known: crash time, directory name, file time
    bucket      TEXT NOT NULL,      -- "" for a crash that could not be explained
    origin_site TEXT NOT NULL,
    verdict     TEXT,
    status      TEXT NOT NULL,      -- ok (from the dump), text (from its kernel log), error
    recorded    REAL NOT NULL,      -- when this database first saw it
    updated     REAL NOT NULL,
    kdumpext    TEXT
);
CREATE INDEX IF NOT EXISTS crashes_bucket ON crashes (bucket, origin_site, crash_time);
CREATE INDEX IF NOT EXISTS crashes_time ON crashes (crash_time);
CREATE INDEX IF NOT EXISTS crashes_path ON crashes (path);
"""

#: How much an analysis says: a newer one replaces an older one only when it says at least as much.
_RANK = "(CASE status WHEN 'ok' THEN 2 WHEN 'text' THEN 1 ELSE 0 END)"
_STATUS_RANK = {"ok": 2, "text": 1}
_T = TypeVar("_T")


class HistoryError(UsageError):
    """The history database cannot be opened, created or written (one line: the file and why)."""


def default_path() -> str:
    """``history.sqlite`` in kdumpext's cache directory (``$KDUMPEXT_CACHE_DIR``, ...)."""
    from .cache import cache_dir

    return os.path.join(cache_dir(), FILE_NAME)


def identity(path: str) -> str:
    """A crash file's identity: ``sha256:`` of its size and first 64 KiB (a dump's headers carry its
    host, time and registers); ``path:`` and the real path for what is not a readable regular file."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO is never opened: that would wait for a writer
            raise OSError("not a regular file")
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            head = f.read(_HEAD)
    except OSError:
        return "path:" + os.path.realpath(path)
    h = hashlib.sha256(f"{st.st_size}\0".encode())
    h.update(head)
    return "sha256:" + h.hexdigest()[:40]


@dataclass
class Crash:
    """One crash as the history keeps it."""

    identity: str
    path: str
    status: str  #: ``ok``, ``text`` or ``error``
    bucket: str = ""
    origin_site: str = ""
    size: Optional[int] = None
    host: str = ""
    release: str = ""
    crash_time: Optional[float] = None
    time_from: str = ""
    verdict: str = ""


@dataclass
class Recorded:
    """What one :meth:`History.record` did."""

    new: int = 0  #: crashes the history did not have
    updated: int = 0  #: crashes it had, analysed again with another answer or seen at another path
    total: int = 0  #: crashes in the history after it


@dataclass
class BucketHistory:
    """One bucket over the history (or the part of it since a date)."""

    bucket: str
    origin_site: str
    count: int  #: crashes in the window asked for (all of them without one)
    total: int  #: crashes ever
    first_seen: Optional[float]  #: ever
    last_seen: Optional[float]
    last_path: str = ""  #: the latest crash's dump
    hosts: List[Tuple[str, int]] = field(default_factory=list)  #: (host, crashes) in the window, most first
    releases: List[Tuple[str, int]] = field(default_factory=list)  #: (release, crashes) in the window, in version order

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form (``kdumpext buckets --json``)."""
        return {"bucket": self.bucket, "origin_site": self.origin_site or None, "count": self.count,
                "total": self.total, "first_seen": self.first_seen, "last_seen": self.last_seen,
                "last_path": self.last_path, "hosts": [{"host": h, "count": n} for h, n in self.hosts],
                "releases": [{"release": r, "count": n} for r, n in self.releases]}


def _fs_type(path: str) -> str:
    """The type of the file system ``path`` is on (``/proc/self/mounts``), "" when not known."""
    try:
        with open("/proc/self/mounts") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return ""
    real = os.path.realpath(path)
    best, kind = "", ""
    for parts in mounts:
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind


class History:
    """An open history database (created on first use).

    :raises HistoryError: it cannot be opened or created (no such directory, not writable,
        not an SQLite database, written by a newer kdumpext).
    """

    def __init__(self, path: str, readonly: bool = False) -> None:
        self.path = path
        try:
            if readonly:
                from urllib.parse import quote

                self._db = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True,
                                           timeout=_BUSY_MS / 1000, isolation_level=None)
            else:
                self._db = sqlite3.connect(path, timeout=_BUSY_MS / 1000, isolation_level=None)
        except sqlite3.Error as e:
            raise self._error(e) from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
            version = self._retrying(lambda: int(self._db.execute("PRAGMA user_version").fetchone()[0]))
            if version > SCHEMA_VERSION:
                raise HistoryError(f"{path}: crash history written by a newer kdumpext (schema {version}; this "
                                   f"one reads {SCHEMA_VERSION})")
            if not readonly:
                self._retrying(self._set_journal)
                if version < SCHEMA_VERSION:
                    self._retrying(self._create)
        except sqlite3.Error as e:
            self._db.close()
            raise self._error(e) from None
        except HistoryError:
            self._db.close()
            raise

    def _error(self, e: BaseException) -> HistoryError:
        text = str(e)
        hint = ""
        if "unable to open" in text or "readonly" in text or "read-only" in text:
            d = os.path.dirname(os.path.abspath(self.path))
            hint = f" (is {d} there and writable?)" if not os.access(d, os.W_OK) else ""
        return HistoryError(f"{self.path}: cannot use as the crash history: {text}{hint}")

    @staticmethod
    def _retrying(step: Callable[[], _T]) -> _T:
        """``step()``, again while another process holds the database (for up to a minute).

        The busy timeout covers transactions, not every lock SQLite takes: two processes
        creating one database at once, one switching it to WAL while the other reads its
        header, get "database is locked" at once.
        """
        deadline = time.monotonic() + _BUSY_MS / 1000
        pause = 0.005
        while True:
            try:
                return step()
            except sqlite3.OperationalError as e:
                text = str(e)
                if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def _set_journal(self) -> None:
        want = "delete" if _fs_type(os.path.dirname(os.path.abspath(self.path))) in _NETWORK_FS else "wal"
        mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != want:
            self._db.execute(f"PRAGMA journal_mode = {want}")

    def _create(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")  # outside the try: nothing to roll back when it fails
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def record(self, crashes: Iterable[Crash]) -> Recorded:
        """Add the crashes the history does not have; take a newer analysis of those it has
        (unless it says less: an error never replaces an explanation).  One transaction.

        :raises HistoryError: the database cannot be written.
        """
        out = Recorded()
        now = time.time()
        try:
            self._retrying(lambda: self._db.execute("BEGIN IMMEDIATE"))
            try:
                for c in crashes:
                    values = (c.path, c.size, c.host, c.release, c.crash_time, c.time_from, c.bucket,
                              c.origin_site, c.verdict, c.status)
                    cur = self._db.execute(
                        "INSERT INTO crashes (path, size, host, release, crash_time, time_from, bucket, origin_site, "
                        "verdict, status, identity, recorded, updated, kdumpext) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identity) DO NOTHING",
                        values + (c.identity, now, now, __version__))
                    if cur.rowcount == 1:
                        out.new += 1
                    else:
                        cur = self._db.execute(
                            "UPDATE crashes SET path = ?, size = ?, host = ?, release = ?, crash_time = ?, "
                            "time_from = ?, bucket = ?, origin_site = ?, verdict = ?, status = ?, updated = ?, "
                            f"kdumpext = ? WHERE identity = ? AND {_RANK} <= ? AND "
                            "(path, size, host, release, crash_time, time_from, bucket, origin_site, verdict, status) "
                            "IS NOT (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            values + (now, __version__, c.identity, _STATUS_RANK.get(c.status, 0)) + values)
                        out.updated += max(cur.rowcount, 0)
                    if c.status != "error":
                        # the same file could not be read before (its identity was its path then)
                        self._db.execute("DELETE FROM crashes WHERE path = ? AND status = 'error' AND identity != ?",
                                         (c.path, c.identity))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            out.total = self.count()
        except sqlite3.Error as e:
            raise self._error(e) from None
        return out

    def count(self, errors: bool = True) -> int:
        """Crashes in the history (``errors``: with those that could not be explained)."""
        where = "" if errors else " WHERE status != 'error'"
        return int(self._db.execute(f"SELECT COUNT(*) FROM crashes{where}").fetchone()[0])

    def buckets(self, since: Optional[float] = None, host: Optional[str] = None) -> List[BucketHistory]:
        """Every bucket, the most recently seen first.

        ``since`` (seconds since the epoch): only buckets with a crash at or after it;
        ``host``: only buckets with a crash on that host (its nodename); ``count``, ``hosts``
        and ``releases`` then describe those crashes, ``total``, ``first_seen`` and
        ``last_seen`` every crash of the bucket (a bucket whose ``first_seen`` is after
        ``since`` is new).
        """
        from .known import release_key

        window = "(? IS NULL OR crash_time >= ?) AND (? IS NULL OR host = ?)"
        args = (since, since, host, host)
        try:
            rows = self._db.execute(
                "SELECT bucket, origin_site, COUNT(*), "
                f"SUM(CASE WHEN {window} THEN 1 ELSE 0 END), MIN(crash_time), MAX(crash_time) "
                "FROM crashes WHERE bucket != '' GROUP BY bucket, origin_site", args).fetchall()
            out: Dict[Tuple[str, str], BucketHistory] = {}
            for bucket, origin, total, count, first, last in rows:
                if count:
                    out[(bucket, origin)] = BucketHistory(bucket, origin, int(count), int(total), first, last)
            # SQLite: with one max() a bare column comes from the row holding the maximum
            for bucket, origin, path, _last in self._db.execute(
                    "SELECT bucket, origin_site, path, MAX(crash_time) FROM crashes WHERE bucket != '' "
                    "GROUP BY bucket, origin_site"):
                b = out.get((bucket, origin))
                if b is not None:
                    b.last_path = path or ""
            for column, attr in (("host", "hosts"), ("release", "releases")):
                for bucket, origin, value, n in self._db.execute(
                        f"SELECT bucket, origin_site, {column}, COUNT(*) FROM crashes "
                        f"WHERE bucket != '' AND {window} GROUP BY bucket, origin_site, {column}", args):
                    b = out.get((bucket, origin))
                    if b is not None:
                        getattr(b, attr).append((value or "", int(n)))
        except sqlite3.Error as e:
            raise self._error(e) from None
        for b in out.values():
            b.hosts.sort(key=lambda h: (-h[1], h[0]))
            b.releases.sort(key=lambda r: release_key(r[0]))
        return sorted(out.values(), key=lambda b: (b.last_seen is None, -(b.last_seen or 0), -b.count, b.bucket,
                                                  b.origin_site))

    def errors(self, since: Optional[float] = None, host: Optional[str] = None) -> int:
        """Crashes in the history (since ``since``, on ``host``) that could not be explained."""
        return int(self._db.execute("SELECT COUNT(*) FROM crashes WHERE status = 'error' AND "
                                    "(? IS NULL OR crash_time >= ?) AND (? IS NULL OR host = ?)",
                                    (since, since, host, host)).fetchone()[0])


def open_history(path: Optional[str], create: bool = True) -> Optional[History]:
    """The history at ``path`` (``--db``), else the default one (:func:`default_path`).

    ``create``: make the database (and, for the default, its directory) if missing; without
    it a missing database is None (nothing recorded yet) unless ``path`` named it.

    :raises HistoryError: it cannot be opened (``--db`` given and missing, when not ``create``).
    """
    explicit = bool(path)
    where = path or default_path()
    if not os.path.exists(where):
        if not create:
            if explicit:
                raise HistoryError(f"{where}: no crash history there (kdumpext batch --db {where} records one)")
            return None
        if not explicit:
            try:
                os.makedirs(os.path.dirname(where), exist_ok=True)
            except OSError as e:
                raise HistoryError(f"{where}: cannot create the crash history: {e.strerror or e}") from None
    elif os.path.isdir(where):
        raise HistoryError(f"{where}: is a directory; give the database file (e.g. {os.path.join(where, FILE_NAME)})")
    readonly = not create and not os.access(where, os.W_OK)
    return History(where, readonly=readonly)

