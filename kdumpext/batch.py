"""``kdumpext batch``: find the crash dumps under directories, triage each in its own process, cache, bucket,
record them in the crash history, mark known issues, print a table, JSON or an HTML page."""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import re
import shutil
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from . import __version__
from .errors import DebugInfoMismatch, KdumpextError, MissingDebugInfo, UsageError
from .known import ENV as KNOWN_ENV
from .known import KnownIssues, release_key
from .locate import strip_compression

if TYPE_CHECKING:  # pragma: no cover
    from .history import Crash, History

__all__ = [
    "BATCH_SCHEMA",
    "FORMATS",
    "Item",
    "Skipped",
    "Options",
    "Cache",
    "BatchResult",
    "discover",
    "analyse",
    "run_batch",
    "summarise",
    "render",
    "add_arguments",
    "run",
]

#: Identifies the layout of ``--format json`` (rows carry ``kdumpext.triage/1`` reports).
BATCH_SCHEMA = "kdumpext.batch/1"
FORMATS = ("table", "json", "jsonl", "markdown", "html")
_DEFAULT_TIMEOUT = 600.0

# --- discovery ------------------------------------------------------------------------

# kdump-tools: <stamp>/dump.<stamp> (dump-incomplete while makedumpfile runs) + dmesg.<stamp>;
# RHEL kdump: <host>-<date>/vmcore (vmcore-incomplete) + vmcore-dmesg.txt.
_DMESG_NAME = re.compile(r"^(?:dmesg\.|vmcore-dmesg)")
_DUMP_NAME = re.compile(r"^(?:dump[.-]|vmcore)")
_STAMP_DIR = re.compile(r"^(\d{12})$")  # kdump-tools: date +%Y%m%d%H%M
_RHEL_DIR = re.compile(r"(\d{4}-\d{2}-\d{2}-\d{2}:\d{2}:\d{2})$")  # <host>-%Y-%m-%d-%H:%M:%S


@dataclass
class Item:
    """One crash to explain: its dump, its kernel log, or both (paths as found)."""

    dump: Optional[str]
    dmesg: Optional[str] = None
    why_text: str = ""  # set when the dump is known not to be readable: explain the log instead

    @property
    def path(self) -> str:
        """The path a row is named by: the dump's, else the log's."""
        return self.dump or self.dmesg or ""


@dataclass
class Skipped:
    """A file named like a dump that is not one (nothing to explain it from)."""

    path: str
    reason: str


def _is_dmesg(name: str) -> bool:
    return bool(_DMESG_NAME.match(name))


def _is_dump(name: str) -> bool:
    return bool(_DUMP_NAME.match(name)) and not _is_dmesg(name)


def _pair(dump: str, logs: List[str]) -> Optional[str]:
    """The log beside ``dump`` that belongs to it: same stamp, RHEL's name, or the only one."""
    name = strip_compression(dump)
    if name.startswith("dump."):
        want = "dmesg." + name[len("dump."):]
        if want in logs:
            return want
    if name.startswith("vmcore"):
        for cand in ("vmcore-dmesg.txt", "vmcore-dmesg-incomplete.txt"):
            if cand in logs:
                return cand
    return logs[0] if len(logs) == 1 else None


def _items_in(directory: str, files: Sequence[str]) -> List[Item]:
    dumps = sorted(f for f in files if _is_dump(f))
    logs = sorted(f for f in files if _is_dmesg(f))
    out: List[Item] = []
    used = set()
    for d in dumps:
        log = _pair(d, logs)
        if log is not None and log not in used:
            used.add(log)
        elif log is not None:
            log = None  # two dumps, one log: the log goes with the first
        out.append(Item(os.path.join(directory, d), os.path.join(directory, log) if log else None))
    for log in logs:
        if log not in used:
            out.append(Item(None, os.path.join(directory, log), "no dump beside this kernel log"))
    return out


def discover(roots: Iterable[str]) -> List[Item]:
    """Every crash under ``roots`` (directories, walked recursively, or files), by name only.

    Dumps are ``dump.*`` / ``dump-*`` (kdump-tools) and ``vmcore*`` (RHEL, bare files),
    compressed or not; each is paired with the kernel log beside it (``dmesg.<stamp>``,
    ``vmcore-dmesg.txt``).  A log with no dump is an item of its own.  Other files and
    hidden directories are passed over; a path reached twice is taken once.

    :raises UsageError: a root does not exist.
    """
    out: List[Item] = []
    seen = set()
    for root in roots:
        if os.path.isfile(root):
            d, name = os.path.split(root)
            found = [Item(None, root, "no dump given") if _is_dmesg(name) else Item(root, None)]
            if not _is_dmesg(name):
                logs = sorted(f for f in os.listdir(d or ".") if _is_dmesg(f))
                log = _pair(name, logs)
                found[0].dmesg = os.path.join(d, log) if log else None
        elif os.path.isdir(root):
            found = []
            for d, dirs, files in os.walk(root):
                dirs[:] = sorted(x for x in dirs if not x.startswith("."))
                found += _items_in(d, files)
        else:
            raise UsageError(f"{root}: no such file or directory")
        for item in found:
            key = os.path.realpath(item.path)
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


# --- one crash --------------------------------------------------------------------------


@dataclass
class Options:
    """What every analysis of a batch shares (and what its cache entries depend on)."""

    vmlinux: Optional[str] = None
    debug_dirs: List[str] = field(default_factory=list)
    intel: bool = False

    def key(self) -> List[Any]:
        """The options as they enter a cache key."""
        return [os.path.abspath(self.vmlinux) if self.vmlinux else None,
                [os.path.abspath(d) for d in self.debug_dirs], self.intel]


def _stamp_time(path: str) -> Optional[float]:
    """Seconds since the epoch from the crash directory's name (kdump-tools or RHEL).

    Both write the crashed machine's local time and no zone; it is taken as UTC.
    """
    name = os.path.basename(os.path.dirname(os.path.abspath(path)))
    for pat, fmt in ((_STAMP_DIR, "%Y%m%d%H%M"), (_RHEL_DIR, "%Y-%m-%d-%H:%M:%S")):
        m = pat.search(name)
        if m:
            try:
                t = datetime.datetime.strptime(m.group(1), fmt)
            except ValueError:
                continue
            return t.replace(tzinfo=datetime.timezone.utc).timestamp()
    return None


#: A CRASHTIME before this (2000-01-01) is a clock that was never set (a machine with no
#: RTC, an arm64 guest, counts from 1970): the directory name or the file time says more.
_CLOCK_SET = 946684800.0


def _when(path: str, crash_time: Optional[float]) -> Tuple[Optional[float], str]:
    """When the crash happened, and how we know: the dump's CRASHTIME, the directory name, the file time."""
    if crash_time and crash_time >= _CLOCK_SET:
        return crash_time, "crash time"
    t = _stamp_time(path)
    if t is not None:
        return t, "directory name"
    try:
        return os.stat(path).st_mtime, "file time"
    except OSError:
        return None, ""


def _error_row(item: Item, message: str, kind: str, seconds: float = 0.0) -> Dict[str, Any]:
    when, when_from = _when(item.path, None)
    return {"dump": item.dump, "dmesg": item.dmesg, "status": "error", "source": None, "error": message,
            "error_kind": kind, "when": when, "when_from": when_from, "release": "", "host": "", "task": "",
            "panic": "", "site": "", "verdict": "", "bucket": "", "origin": "", "origin_site": "",
            "seconds": round(seconds, 3), "triage": None}


def _report_row(item: Item, report: Any, source: str, seconds: float) -> Dict[str, Any]:
    from .report import origin_site, origin_text, render_text, short_verdict, to_json_dict

    d = report.dump
    when, when_from = _when(item.path, d.crash_time)
    task = f"{report.task.comm} [{report.task.pid}]" if report.task is not None else ""
    return {"dump": item.dump, "dmesg": item.dmesg, "status": "ok" if source == "dump" else "text",
            "source": source, "error": None, "error_kind": None, "when": when, "when_from": when_from,
            "release": d.release, "host": d.nodename, "task": task, "panic": d.panic_message or d.oops,
            "site": report.verdict.site,
            "verdict": short_verdict(report.verdict), "bucket": report.verdict.bucket,
            "origin": origin_text(report.verdict), "origin_site": origin_site(report.verdict) or "",
            "seconds": round(seconds, 3), "triage": to_json_dict(report),
            "text": render_text(report)}  # the page's section for this crash (left out of JSON output)


def _hollow(report: Any) -> bool:
    """A dump that opened but gave nothing of the crash: no task, no backtrace, no panic message, no oops.

    A dump cut short inside its page data can open (its headers are whole) and read as empty.
    """
    return not report.frames and report.task is None and not report.dump.panic_message and not report.dump.oops


def _damaged_without_log(report: Any) -> bool:
    """A damaged dump (:attr:`~kdumpext.model.Report.damage`) whose own kernel log had no oops
    to explain it from: the log saved beside it (makedumpfile --dump-dmesg) may still have one."""
    return bool(report.damage) and not report.dump.oops


def analyse(item: Item, opts: Options) -> Dict[str, Any]:
    """Explain one crash: its row, a JSON-ready dict.  Never raises for a bad input.

    The dump is triaged.  When it cannot be (truncated, unreadable, no vmlinux, not a
    dump, or it opens hollow: see :func:`_hollow`) and its kernel log is there, the log's
    oops is explained instead (``status`` ``text``); a vmlinux the dump was refused with
    is not used for the text either.  Otherwise the row has ``status`` ``error`` and a
    one-line message.
    """
    from .oopstriage import TEXT_FORMAT, oops_report
    from .triage import triage

    t0 = time.monotonic()
    why = item.why_text  # why the dump is not (or not only) what the row comes from
    why_kind = "NotADumpError" if why and item.dump else ""
    trust_debug = True
    hollow = None
    if item.dump and not why:
        try:
            report = triage(item.dump, opts.vmlinux, opts.debug_dirs, intel=opts.intel)
            if not ((_hollow(report) or _damaged_without_log(report)) and item.dmesg):
                return _report_row(item, report, "dump", time.monotonic() - t0)
            hollow = report
            why = (f"{item.dump}: damaged dump: " + "; ".join(report.damage)) if report.damage else \
                (f"{item.dump}: the dump opened but holds no crash context (no task, backtrace or panic "
                 "message): damaged?")
        except KdumpextError as e:
            why, why_kind = str(e), type(e).__name__
            trust_debug = not isinstance(e, (DebugInfoMismatch, MissingDebugInfo))
            if not item.dmesg:
                return _error_row(item, why, type(e).__name__, time.monotonic() - t0)
        except Exception as e:  # noqa: BLE001 - one bad dump must not stop the batch
            why, why_kind = f"{item.dump}: internal error: {type(e).__name__}: {e}", "InternalError"
            if not item.dmesg:
                return _error_row(item, why, "InternalError", time.monotonic() - t0)
    if not item.dmesg:
        return _error_row(item, f"{item.path}: nothing to explain", "KdumpextError", time.monotonic() - t0)
    try:
        report = oops_report(item.dmesg, opts.vmlinux if trust_debug else None, opts.intel, opts.debug_dirs,
                             find_debug_info=trust_debug, why=why)
        return _report_row(item, report, TEXT_FORMAT, time.monotonic() - t0)
    except Exception as e:  # noqa: BLE001 - KdumpextError, or a bug: either way a row
        if hollow is not None:
            return _report_row(item, hollow, "dump", time.monotonic() - t0)
        text = str(e) if isinstance(e, KdumpextError) else f"internal error: {type(e).__name__}: {e}"
        kind = why_kind or (type(e).__name__ if isinstance(e, KdumpextError) else "InternalError")
        return _error_row(item, f"{why}; its log: {text}" if why else text, kind, time.monotonic() - t0)


# --- the cache ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _code_stamp() -> str:
    """kdumpext's version and a digest of its own source files (name, size, mtime): a row
    explained by other code, a checkout moved on or edited in place, is not reused."""
    import hashlib

    here = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256(__version__.encode())
    for name in sorted(os.listdir(here)):
        if name.endswith(".py"):
            st = os.stat(os.path.join(here, name))
            h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return f"{__version__}+{h.hexdigest()[:12]}"


def _stat(path: Optional[str]) -> Optional[List[int]]:
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


class Cache:
    """Finished rows by crash, one entry each in kdumpext's cache (:mod:`kdumpext.cache`,
    kind ``batch``), or in ``directory``; ``None``: no cache.

    An entry is used only while what its row was computed from is unchanged: the dump
    and log (size, mtime, inode), kdumpext's version, the options, the vmlinux it used
    (path, build-id; size, mtime and inode), and the directories debug info is searched in
    (their mtime: a vmlinux or module dropped in turns an error or a text row into a full
    one).  An entry that cannot be read or is not what this version writes is a miss and
    is written again.  Entries live in their own directory, never beside the inputs.
    """

    def __init__(self, directory: Optional[str]) -> None:
        from .cache import Store, cache_dir

        self.directory = directory
        self._store = None if directory is None else \
            Store("batch", None if directory == os.path.join(cache_dir(), "batch") else directory, hold=False)
        self._dir_times: Dict[str, Optional[int]] = {}
        self.hits = 0
        self.misses = 0

    def _key(self, item: Item, opts: Options) -> str:
        from .cache import make_key

        return make_key(BATCH_SCHEMA, _code_stamp(), os.path.abspath(item.dump) if item.dump else None,
                        os.path.abspath(item.dmesg) if item.dmesg else None, opts.key())

    def _search_times(self, item: Item, opts: Options) -> Dict[str, Optional[int]]:
        from .locate import SearchPath

        out: Dict[str, Optional[int]] = {}
        for d in SearchPath.build(opts.debug_dirs, item.path, opts.vmlinux).dirs:
            if d not in self._dir_times:
                try:
                    self._dir_times[d] = os.stat(d).st_mtime_ns
                except OSError:
                    self._dir_times[d] = None
            out[d] = self._dir_times[d]
        return out

    def _fingerprint(self, item: Item, opts: Options) -> Dict[str, Any]:
        return {"version": _code_stamp(), "dump": _stat(item.dump), "dmesg": _stat(item.dmesg),
                "search": self._search_times(item, opts)}

    def get(self, item: Item, opts: Options) -> Optional[Dict[str, Any]]:
        """The cached row for ``item``, or None."""
        if self._store is None:
            return None
        entry = self._store.read_json(self._key(item, opts))
        row = entry.get("row") if entry is not None else None
        vml = entry.get("vmlinux") if entry is not None else None
        ok = entry is not None and isinstance(row, dict) and isinstance(vml, (dict, type(None))) \
            and entry.get("fingerprint") == self._fingerprint(item, opts)
        if ok and isinstance(vml, dict):
            ok = _stat(vml.get("path")) == vml.get("stat")
        if not ok or not isinstance(row, dict):
            self.misses += 1
            return None
        self.hits += 1
        return row

    def put(self, item: Item, opts: Options, row: Dict[str, Any]) -> None:
        """Store ``row`` for ``item`` (atomically: a reader sees the old entry or the new one).

        A cache that cannot be written is passed over: the batch goes on without it.
        """
        if self._store is None:
            return
        report = row.get("triage") or {}
        dump = report.get("dump") or {}
        vml = dump.get("vmlinux") or ""
        entry = {"fingerprint": self._fingerprint(item, opts),
                 "vmlinux": {"path": vml, "build_id": dump.get("build_id", ""), "stat": _stat(vml)} if vml else None,
                 "row": row}
        try:
            self._store.write_json(self._key(item, opts), entry, what=os.path.abspath(item.path))
        except KdumpextError:
            pass

    def prune(self) -> None:
        """Keep the cache under its cap (after a batch: entries are written by the hundred)."""
        if self._store is not None:
            try:
                self._store.prune()
            except KdumpextError:
                pass


# --- running the workers --------------------------------------------------------------------


@dataclass
class BatchResult:
    """What a batch produced: a row per crash (in discovery order), files that are not dumps."""

    rows: List[Dict[str, Any]]
    skipped: List[Skipped]
    interrupted: bool = False
    analysed: int = 0  # rows computed in this run (not from the cache)
    cached: int = 0
    seconds: float = 0.0
    #: what recording the rows in the crash history did: ``path``, ``new``, ``updated``, ``total``
    history: Optional[Dict[str, Any]] = None


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent(batch_pid: int) -> None:
    """Be killed (SIGKILL) when the process that forked this one dies (Linux prctl(2)
    ``PR_SET_PDEATHSIG``), and exit now if the batch ``batch_pid`` is already gone.

    A worker's parent is the fork server, which exits when the batch does: when every
    holder of the write end of its "alive" pipe is gone.  Each process it forks gets a copy
    of that end (for starting processes of its own, which a worker never does); the worker
    closes it, or the server would wait for the workers and they for the server.
    """
    import ctypes
    from multiprocessing import forkserver

    server: Any = getattr(forkserver, "_forkserver", None)
    alive = getattr(server, "_forkserver_alive_fd", None)
    if isinstance(alive, int):
        try:
            os.close(alive)
        except OSError:
            pass
        server._forkserver_alive_fd = None

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    try:
        os.kill(batch_pid, 0)  # the batch (and so the fork server) may have died before prctl()
    except ProcessLookupError:
        os._exit(1)
    except PermissionError:  # pragma: no cover
        pass


def _child(conn: Any, item: Item, opts: Options, worker: Callable[[Item, Options], Dict[str, Any]],
           threads: int, batch_pid: int = 0, cwd: str = "") -> None:
    """Worker process body: explain one crash, send its row as JSON, exit.

    Dies with the batch ``batch_pid`` (:func:`_die_with_parent`); works in the batch's
    directory ``cwd`` (the fork server runs in ``/``, see :func:`_start`).  What libraries
    print on stderr (libkdumpfile's note on flattened files, ...) goes into the row's
    ``stderr`` rather than through the parent's progress bar.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C stops
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked in the fork server (_start)
    if batch_pid:
        _die_with_parent(batch_pid)
    if cwd:
        os.chdir(cwd)
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")  # a worker needs no drgn plugin
    if threads and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(threads)  # drgn's DWARF indexing; read when drgn loads
    import tempfile

    with tempfile.TemporaryFile() as err:
        saved = os.dup(2)
        os.dup2(err.fileno(), 2)
        try:
            row = worker(item, opts)
        except BaseException as e:  # noqa: BLE001 - reported as the row
            row = _error_row(item, f"internal error: {type(e).__name__}: {e}", "InternalError")
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        noise = err.read().decode(errors="replace").strip()
    if noise:
        row["stderr"] = noise[-4000:]
    conn.send_bytes(json.dumps(row).encode())
    conn.close()


@dataclass
class _Running:
    proc: Any
    conn: Any
    index: int
    started: float
    row: Optional[Dict[str, Any]] = None


def _context() -> Any:
    """The multiprocessing context the workers start from: a fork server.

    Not plain fork: drgn indexes DWARF with OpenMP, and a process forked from one that
    has run an OpenMP region hangs in its own first one (libgomp is not fork-safe), so a
    caller that triaged a dump in-process (a test, a drgn session) could not fork
    workers.  The fork server is a fresh process that imports the engine and drgn once
    (and runs no OpenMP region); each worker is forked from it, warm and with no threads
    behind it.
    """
    import multiprocessing

    try:
        ctx = multiprocessing.get_context("forkserver")
    except ValueError:  # pragma: no cover - no fork server on this platform
        return multiprocessing.get_context("spawn")
    ctx.set_forkserver_preload(["kdumpext.batch", "kdumpext.triage", "kdumpext.oopstriage", "drgn"])
    return ctx


def _start(proc: Any, threads: int) -> None:
    """Start a worker.  If this starts the fork server, the server gets ``threads`` OpenMP
    threads per worker and ignores Ctrl-C, and so do the workers it forks; and it does not
    import modules from the current directory.

    libgomp reads ``OMP_NUM_THREADS`` when it is loaded, which is when the fork server
    imports drgn (a value the user set is left alone).  A worker forked from the server
    takes back the server's own SIGINT disposition before any of our code runs: ignored,
    no worker dies of a KeyboardInterrupt half-way through starting; the parent decides
    what Ctrl-C stops, and a Ctrl-C while a worker starts is not lost.  The fork server is ``python -c ...``, which puts the current
    directory first on ``sys.path``: a stray ``dis.py`` or ``inspect.py`` there would be
    imported in place of the standard library's.  ``PYTHONSAFEPATH`` (Python 3.11+) keeps
    it off, and the server starts in ``/`` for older Pythons (each worker goes back to the
    batch's directory, :func:`_child`).
    """
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "PYTHONSAFEPATH")}
    if saved["OMP_NUM_THREADS"] is None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["PYTHONSAFEPATH"] = "1"
    # blocked, then ignored: a Ctrl-C meanwhile stays pending (a blocked signal is never
    # dropped as ignored) and arrives as KeyboardInterrupt once the handler is back
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: cannot, and need not, touch signals
        old = None
    cwd = os.getcwd()
    try:
        os.chdir("/")
        proc.start()
    finally:
        os.chdir(cwd)
        if old is not None:
            signal.signal(signal.SIGINT, old)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class _Progress:
    """A progress bar on a terminal (tqdm when installed, else one plain line); nothing otherwise."""

    def __init__(self, total: int, enabled: bool, roots: Sequence[str] = ()) -> None:
        self.bar: Any = None
        self.total, self.done, self.enabled = total, 0, enabled and total > 0
        self.roots = [os.path.abspath(r) for r in roots if os.path.isdir(r)]
        if not self.enabled:
            return
        try:
            import tqdm

            self.bar = tqdm.tqdm(total=total, unit="dump", file=sys.stderr, leave=False, dynamic_ncols=True)
        except ImportError:
            self.bar = None

    def shown(self, path: str) -> str:
        """``path`` as the bar names it: relative to the directory given that holds it."""
        full = os.path.abspath(path)
        for root in self.roots:
            if full.startswith(root.rstrip(os.sep) + os.sep):
                return os.path.relpath(full, root)
        return path

    def step(self, name: str) -> None:
        """One more crash done; ``name`` is its path."""
        if not self.enabled:
            return
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(self.shown(name), refresh=False)
            self.bar.update(1)
        else:
            sys.stderr.write(f"\r{self.done}/{self.total} dumps  {_cell(self.shown(name), 60, True):<60}")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\r" + " " * 80 + "\r")
            sys.stderr.flush()


def _plan(items: List[Item], opts: Options, cache: "Cache") -> Tuple[Dict[int, Dict[str, Any]], List[int],
                                                                        List[Skipped]]:
    """Rows already cached, indexes still to analyse, and the files that are not dumps."""
    from .dump import sniff

    done: Dict[int, Dict[str, Any]] = {}
    todo: List[int] = []
    skipped: List[Skipped] = []
    for i, item in enumerate(items):
        row = cache.get(item, opts)
        if row is not None:
            row.update(dump=item.dump, dmesg=item.dmesg, cached=True)  # as spelled this time
            done[i] = row
            continue
        if item.dump:
            try:
                sniff(item.dump)
            except KdumpextError as e:
                if item.dmesg is None:
                    skipped.append(Skipped(item.dump, str(e)))
                    continue
                item.why_text = str(e)
        todo.append(i)
    return done, todo, skipped


def _died(r: _Running, item: Item) -> Dict[str, Any]:
    """The row of a worker that exited without sending one."""
    r.proc.join(5)
    if r.proc.exitcode is None:
        r.proc.kill()
        r.proc.join()
    code = r.proc.exitcode
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
    return _error_row(item, f"{item.path}: the worker died ({how})", "WorkerDied", time.monotonic() - r.started)


def run_batch(items: List[Item], opts: Options, cache: Optional["Cache"] = None, jobs: int = 0,
              timeout: float = _DEFAULT_TIMEOUT, progress: bool = False,
              worker: Callable[[Item, Options], Dict[str, Any]] = analyse, roots: Sequence[str] = ()) -> BatchResult:
    """Explain every item, ``jobs`` worker processes at a time (0: one per CPU).

    Each crash runs in a process of its own: one that takes longer than ``timeout``
    seconds is killed, one that dies gives an error row; neither stops the batch, and
    neither is cached (the next run tries again).  Every other row is cached as soon as
    it arrives.  Ctrl-C stops the workers and returns what was finished
    (``interrupted``).  ``worker`` makes the row of an item (:func:`analyse`; another
    module-level function in tests: it is pickled by name).  The workers' drgn share the
    CPUs for their DWARF indexing threads.  Workers start from a fork server (see
    :func:`_context`), which, like multiprocessing's spawn, imports the caller's main
    script: a script calling this needs the ``if __name__ == "__main__":`` guard.  Workers
    die with this process, even SIGKILLed (:func:`_die_with_parent`).  ``roots``: the
    directories given, which the progress bar names crashes relative to.
    """
    from multiprocessing.connection import wait

    t0 = time.monotonic()
    store = cache or Cache(None)
    jobs = jobs or _cpu_count()
    done, todo, skipped = _plan(items, opts, store)
    result = BatchResult([], skipped, cached=len(done))
    bar = _Progress(len(todo), progress, roots)
    running: List[_Running] = []
    pending = sorted(todo, key=lambda i: -_size(items[i].path))  # biggest first: a short tail at the end
    ctx = _context()
    threads = max(1, _cpu_count() // jobs)

    def finish(r: _Running, row: Dict[str, Any], keep: bool) -> None:
        from .history import identity

        r.conn.close()
        row.setdefault("identity", identity(items[r.index].path))  # the crash's key in the history
        if keep:
            store.put(items[r.index], opts, row)
        row["cached"] = False
        done[r.index] = row
        result.analysed += 1
        bar.step(items[r.index].path)

    try:
        while pending or running:
            while pending and len(running) < jobs:
                i = pending.pop(0)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, daemon=True,
                                   args=(send, items[i], opts, worker, threads, os.getpid(), os.getcwd()))
                running.append(_Running(proc, recv, i, time.monotonic()))  # first: Ctrl-C in start() kills it
                try:
                    _start(proc, threads)
                except Exception:
                    running.pop()
                    raise
                send.close()
            deadline = min(r.started for r in running) + timeout
            ready = wait([r.conn for r in running] + [r.proc.sentinel for r in running],
                         timeout=max(0.0, deadline - time.monotonic()))
            still: List[_Running] = []
            for r in running:
                if r.conn in ready or r.proc.sentinel in ready:
                    if not r.conn.poll():  # exited, nothing sent
                        finish(r, _died(r, items[r.index]), False)
                        continue
                    try:
                        row = json.loads(r.conn.recv_bytes().decode())
                    except (EOFError, OSError, ValueError):
                        finish(r, _died(r, items[r.index]), False)
                        continue
                    r.proc.join()
                    finish(r, row, True)
                elif time.monotonic() - r.started >= timeout:
                    r.proc.kill()
                    r.proc.join()
                    finish(r, _error_row(items[r.index], f"{items[r.index].path}: timed out after {timeout:g} s",
                                         "Timeout", time.monotonic() - r.started), False)
                else:
                    still.append(r)
            running = still
    except KeyboardInterrupt:
        result.interrupted = True
        started = [r for r in running if r.proc.pid is not None]
        for r in started:
            r.proc.kill()
        for r in started:
            r.proc.join()
        for r in running:
            r.conn.close()
    finally:
        bar.close()
        store.prune()
    result.rows = [done[i] for i in range(len(items)) if i in done]
    result.seconds = time.monotonic() - t0
    return result


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


# --- output ---------------------------------------------------------------------------


def summarise(rows: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One entry per distinct bug: ``bucket``, ``origin_site``, ``count``, ``first_seen``,
    ``last_seen``, ``example`` (the first crash of the bucket), ``from_text`` (how many of them
    were read from log text), ``hosts`` (most crashes first) and ``releases`` (in version
    order); most frequent first.  When the rows were matched with known issues (their
    ``known``), so is the bucket: the match of a crash on which a known-fixed bug recurs, if
    any (the latest release), else of its latest release.

    A bug is its bucket (the faulting site) and, when the bad value came from another function,
    that origin site: a NULL lock taken in ``_raw_spin_lock_irqsave()`` is one bug per driver
    that passed it.
    """
    groups: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for row in rows:
        if row.get("bucket"):
            groups.setdefault((row["bucket"], row.get("origin_site") or ""), []).append(row)
    out = []
    for (bucket, origin_site), members in groups.items():
        timed = sorted(members, key=lambda r: (r.get("when") is None, r.get("when") or 0))
        whens = [r["when"] for r in members if r.get("when") is not None]
        hosts = Counter(r.get("host") for r in members if r.get("host"))
        entry = {"bucket": bucket, "origin_site": origin_site or None, "count": len(members),
                 "first_seen": min(whens) if whens else None, "last_seen": max(whens) if whens else None,
                 "example": timed[0]["dump"] or timed[0]["dmesg"],
                 "from_text": sum(1 for r in members if r.get("status") == "text"),
                 "hosts": sorted(hosts, key=lambda h: (-hosts[h], h)),
                 "releases": sorted({r["release"] for r in members if r.get("release")}, key=release_key)}
        if any("known" in r for r in members):
            marks = sorted((r for r in members if r.get("known")),
                           key=lambda r: (bool(r["known"].get("recurs")), release_key(r.get("release") or "")))
            entry["known"] = marks[-1]["known"] if marks else None
        out.append(entry)
    out.sort(key=lambda b: (-b["count"], b["first_seen"] or 0, b["bucket"], b["origin_site"] or ""))
    return out


def _time_text(t: Optional[float]) -> str:
    if t is None:
        return "?"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _cell(text: str, width: int, path: bool = False) -> str:
    """``text`` on one line, cut to ``width`` with an ellipsis.

    A ``path`` is cut in the middle: its first component (the host or crash directory that
    tells dumps apart) and its end stay, ``api-spinlock/…/dump.202612061823.xz``; when even
    that is too long, at its start.
    """
    text = " ".join(str(text or "").split())
    if len(text) <= width:
        return text
    if width <= 1:
        return "\u2026"[:width]
    if not path:
        return text[: width - 1] + "\u2026"
    first = text.split(os.sep, 1)[0] + os.sep
    tail = width - len(first) - 1
    if len(first) < len(text) and tail >= 12:
        return first + "\u2026" + text[len(text) - tail:]
    return "\u2026" + text[len(text) - width + 1:]


_HEADERS = ["dump", "crash time", "release", "task", "panic", "fault site", "verdict", "bucket"]
#: Width a table is laid out for when its output is not a terminal (piped, ``--out``), unless $COLUMNS says.
_PLAIN_WIDTH = 160
#: Columns of the dump table that give way when it is too wide, and how narrow each may get.
#: The first group is cut (the cell with the most to spare first) before any column is left
#: out; while that is not enough, the columns of _DROP are left out, in that order; with all
#: of them gone, the second group is cut further.  The dump, verdict and bucket are what a
#: reader scans for: they keep the most.  The dump's name is cut in its middle (see _cell).
_SHRINK = ({"verdict": 40, "bucket": 44, "dump": 36, "fault site": 24, "panic": 24, "task": 14},
           {"verdict": 20, "bucket": 28, "dump": 24})
_DROP = ("panic", "release", "fault site", "task", "crash time")


def _width(to_file: bool) -> int:
    """Columns the table may use: the terminal's; ``$COLUMNS`` or 160 when not writing to one."""
    if to_file or not sys.stdout.isatty():
        try:
            return max(40, int(os.environ.get("COLUMNS", "")))
        except ValueError:
            return _PLAIN_WIDTH
    return max(40, shutil.get_terminal_size((_PLAIN_WIDTH, 24)).columns)


def _fit(rows: List[List[str]], headers: List[str], width: Optional[int], shrink: Sequence[Dict[str, int]],
         left: Tuple[str, ...] = (), drop: Tuple[str, ...] = ()) -> Tuple[List[List[str]], List[str]]:
    """``rows`` and ``headers`` fitted into a "simple" table (two spaces between columns) of
    ``width`` columns: the cells of the first ``shrink`` group's columns (header -> narrowest)
    cut with an ellipsis, the one with the most to spare first; while that is not enough, the
    ``drop`` columns left out one by one; with all of them gone, the later groups cut further.
    ``left``: columns holding paths (cut in the middle)."""
    if width is None or not rows:
        return rows, headers
    for n in range(len(drop) + 1):
        keep = [i for i, h in enumerate(headers) if h not in drop[:n]]
        heads = [headers[i] for i in keep]
        cut = [[r[i] for i in keep] for r in rows]
        # tabulate's MIN_PADDING: a header gets two spaces more than its text
        widths = [max([len(h) + 2] + [len(r[i]) for r in cut]) for i, h in enumerate(heads)]
        lows: Dict[int, int] = {}
        excess = sum(widths) + 2 * (len(widths) - 1) - width
        for group in (shrink if n == len(drop) else shrink[:1]):
            tier = {i: max(group[h], len(h) + 2) for i, h in enumerate(heads) if h in group}
            lows.update(tier)
            while excess > 0:
                cands = [i for i, lo in tier.items() if widths[i] > lo]
                if not cands:
                    break
                i = max(cands, key=lambda j: (widths[j] - tier[j], -j))
                widths[i] -= 1
                excess -= 1
        if excess <= 0 or n == len(drop):
            return ([[_cell(c, widths[i], heads[i] in left) if i in lows else c for i, c in enumerate(r)]
                     for r in cut], heads)
    raise AssertionError("unreachable")  # pragma: no cover


def _short_names(paths: List[str]) -> Tuple[str, Dict[str, str]]:
    """The directory all ``paths`` are under, and each path relative to it (for narrow tables)."""
    if not paths:
        return "", {}
    full = [os.path.abspath(p) for p in paths]
    base = os.path.commonpath([os.path.dirname(p) for p in full]) if len(full) > 1 else \
        os.path.dirname(os.path.dirname(full[0]))
    return base, {p: os.path.relpath(f, base) for p, f in zip(paths, full)}


def _table_rows(rows: List[Dict[str, Any]], names: Dict[str, str]) -> List[List[str]]:
    out = []
    for r in rows:
        path = r["dump"] or r["dmesg"]
        name = names.get(path, path) + (" (oops text)" if r["status"] == "text" else "")
        verdict = r["verdict"] if r["status"] != "error" else "error: " + (r["error_kind"] or "")
        out.append([name, _time_text(r.get("when")), r["release"], _cell(r["task"], 1000),
                    _cell(r["panic"], 1000), _cell(r["site"], 1000), _cell(verdict, 1000), r["bucket"]])
    return out


def _render_tables(result: BatchResult, fmt: str, width: Optional[int] = None) -> str:
    from tabulate import tabulate

    tablefmt = "github" if fmt == "markdown" else "simple"
    md = fmt == "markdown"
    paths = [r["dump"] or r["dmesg"] for r in result.rows]
    base, names = _short_names(paths)
    where = os.path.relpath(base) if base else ""
    if where.startswith(os.pardir):
        where = base
    where = "" if where in ("", ".") else f" (under {where.rstrip(os.sep)}{os.sep})"

    def head(title: str, note: str = "") -> str:
        return f"## {title}{note}\n\n" if md else f"{title.upper()}{note}\n"

    def bullets(lines: List[str]) -> str:
        return "\n".join(("- " if md else "  ") + line for line in lines)

    parts = []
    if result.rows:
        rows, heads = _table_rows(result.rows, names), _HEADERS
        if not md:
            rows, heads = _fit(rows, heads, width, _SHRINK, ("dump",), _DROP)
        parts.append(head("Dumps", where) + tabulate(rows, heads, tablefmt=tablefmt))
    buckets = summarise(result.rows)
    with_known = any("known" in b for b in buckets)
    if buckets:
        brows = [[b["bucket"] + (f" \u2190 {b['origin_site']}" if b["origin_site"] else ""), b["count"], _time_text(b["first_seen"]), _time_text(b["last_seen"]),
                  names.get(b["example"], b["example"])] for b in buckets]
        bheads = ["bucket", "count", "first seen", "last seen", "example dump"]
        if with_known:
            bheads.append("known")
            for r, b in zip(brows, buckets):
                r.append(_known_cell(b.get("known")))
        if not md:
            brows, bheads = _fit([[str(c) for c in r] for r in brows], bheads, width,
                                 ({"bucket": 48, "example dump": 32, "known": 24},
                                  {"bucket": 24, "example dump": 16, "known": 12}),
                                 ("example dump",), ("first seen",))
        parts.append(head("Buckets") + tabulate(brows, bheads, tablefmt=tablefmt, disable_numparse=True))
    recurring = [b for b in buckets if (b.get("known") or {}).get("recurs")]
    if recurring:
        parts.append(head("Known-fixed bugs that recur") + bullets([_recurs_line(b, result.rows) for b in recurring]))
    errors = [r for r in result.rows if r["status"] == "error"]
    if errors:
        parts.append(head("Errors") + bullets([r["error"] for r in errors]))
    if result.skipped:
        parts.append(head("Not dumps") + bullets([s.reason for s in result.skipped]))
    text = sum(1 for r in result.rows if r["status"] == "text")
    foot = (f"{len(result.rows)} crashes, {len(buckets)} buckets"
            + (f", {text} from oops text" if text else "") + (f", {len(errors)} errors" if errors else "")
            + f"; {result.analysed} analysed, {result.cached} from the cache, {result.seconds:.1f} s")
    foot += _history_note(result)
    if result.interrupted:
        foot += "; INTERRUPTED: the rest were not analysed (run again to finish)"
    parts.append(foot)
    return "\n\n".join(parts) + "\n"


def _known_cell(known: Optional[Dict[str, Any]]) -> str:
    """A bucket's known issue in a table cell: ``scst detach race (fixed in 6.1.60) RECURS``; ``not known``."""
    if not known:
        return "not known"
    fixed = f" (fixed in {', '.join(known['fixed_in'])})" if known.get("fixed_in") else ""
    return f"{known['title']}{fixed}" + (" RECURS" if known.get("recurs") else "")


def _recurs_line(bucket: Dict[str, Any], rows: List[Dict[str, Any]]) -> str:
    """``BUCKET: scst detach race (LINK), fixed in 6.1.60, crashed 6.1.192 (3 times), which should have it``."""
    k = bucket["known"]
    on = Counter(r["release"] for r in rows if r.get("bucket") == bucket["bucket"]
                 and (r.get("origin_site") or None) == bucket["origin_site"] and (r.get("known") or {}).get("recurs"))
    releases = ", ".join(f"{rel} ({n} time{'s' if n != 1 else ''})" for rel, n in
                         sorted(on.items(), key=lambda x: release_key(x[0])))
    link = f" ({k['link']})" if k.get("link") else ""
    return (f"{bucket['bucket']}: {k['title']}{link}, fixed in {', '.join(k['fixed_in'])}, crashed {releases}, "
            "which should have the fix")


def _history_note(result: BatchResult) -> str:
    h = result.history
    if not h:
        return ""
    return f"; history: {h['new']} new, {h['total']} in all ({h['path']})"


def _html(result: BatchResult) -> str:
    from .htmlreport import render_html

    paths = [r["dump"] or r["dmesg"] for r in result.rows]
    base, short = _short_names(paths)
    names = {i: short.get(p, p) for i, p in enumerate(paths)}
    buckets = summarise(result.rows)
    text = sum(1 for r in result.rows if r["status"] == "text")
    errors = sum(1 for r in result.rows if r["status"] == "error")
    foot = (f"{len(result.rows)} crashes, {len(buckets)} buckets" + (f", {text} from oops text" if text else "")
            + (f", {errors} errors" if errors else "") + f"; {result.analysed} analysed, {result.cached} from the "
            f"cache, {result.seconds:.1f} s" + _history_note(result)
            + ("; INTERRUPTED: the rest were not analysed" if result.interrupted else ""))
    return render_html(result.rows, buckets, names, [(s.path, s.reason) for s in result.skipped], foot,
                       with_known=any("known" in b for b in buckets), where=base)


def render(result: BatchResult, fmt: str = "table", width: Optional[int] = None) -> str:
    """The batch's output in ``fmt`` (one of :data:`FORMATS`).

    ``table`` fits ``width`` columns (None: no limit) by cutting the widest cells (verdict,
    fault site, panic, task) with an ellipsis; ``markdown``, ``json`` and ``jsonl`` keep the
    full text.
    ``json`` is one document (schema :data:`BATCH_SCHEMA`: ``rows``, ``buckets``,
    ``not_dumps``); ``jsonl`` one row per line, then a line per file that is not a dump
    (``status`` ``not-a-dump``).  Rows carry the full triage report under ``triage``.
    ``html`` is the report page (:mod:`kdumpext.htmlreport`).
    """
    if fmt in ("table", "markdown"):
        return _render_tables(result, fmt, width)
    if fmt == "html":
        return _html(result)
    rows = [{k: v for k, v in r.items() if k != "text"} for r in result.rows]
    not_dumps = [{"path": s.path, "reason": s.reason} for s in result.skipped]
    if fmt == "json":
        doc = {"schema": BATCH_SCHEMA, "kdumpext": __version__, "interrupted": result.interrupted,
               "analysed": result.analysed, "cached": result.cached, "rows": rows,
               "buckets": summarise(result.rows), "not_dumps": not_dumps}
        if result.history:  # what was recorded (not where: the output names only the inputs)
            doc["history"] = {k: v for k, v in result.history.items() if k != "path"}
        return json.dumps(doc, indent=2) + "\n"
    if fmt == "jsonl":
        lines = [json.dumps(r) for r in rows]
        lines += [json.dumps({"status": "not-a-dump", "dump": s["path"], "error": s["reason"]}) for s in not_dumps]
        return "".join(line + "\n" for line in lines)
    raise UsageError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


# --- the command ----------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .options import add_debug_args

    """The options of ``kdumpext batch``."""
    p.description = ("Triage every crash dump under the given directories, each in a worker process, and "
                     "group them by bucket (class:function:struct.member). Dumps that cannot be opened are "
                     "explained from their kernel log (dmesg.<stamp>, vmcore-dmesg.txt). Results are cached.")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="directories to search (e.g. /var/crash), or dump files")
    p.add_argument("--jobs", "-j", type=int, default=0, metavar="N",
                   help="worker processes at a time (default: one per CPU)")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="output format (default: table); html: one self-contained page (timeline, buckets, "
                        "every crash's report), with -o FILE")
    p.add_argument("--out", "-o", metavar="FILE", help="write the output to FILE instead of stdout")
    p.add_argument("--timeout", type=float, default=_DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"give up on a dump after this long (default: {_DEFAULT_TIMEOUT:g})")
    add_debug_args(p, "the vmlinux for every dump (default: found by build-id); its directory is "
                      "searched for module debug info too")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="where finished results are kept (default: $XDG_CACHE_HOME/kdumpext/batch)")
    p.add_argument("--no-cache", action="store_true", help="analyse everything again; read and write no cache")
    p.add_argument("--known", metavar="FILE",
                   help="known issues (TOML: bucket id or pattern -> title, link, fixed_in, note): mark the crashes "
                        "they match, and a known-fixed bug that recurs on a release that should have the fix "
                        f"(default: ${KNOWN_ENV} when set)")
    p.add_argument("--db", metavar="PATH",
                   help="the crash history to record every crash in (SQLite; default: history.sqlite in the cache "
                        "directory); give one path to share a history between batches and machines")
    p.add_argument("--no-history", action="store_true", help="record nothing in the crash history")
    p.epilog = ("Exit status: 0 when the batch ran (failed dumps are rows), 1 the crash history given with --db "
                "could not be written, 2 usage error, 130 interrupted.  `kdumpext buckets` lists the history.")


def _write(text: str, out: Optional[str]) -> None:
    if not out:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    tmp = f"{out}.tmp{os.getpid()}"
    f: IO[str]
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, out)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError(f"{out}: cannot write the output: {e.strerror or e}") from None


def _check_out(out: Optional[str]) -> None:
    """Say now, not after the analysis, that ``--out`` cannot be written."""
    if not out:
        return
    d = os.path.dirname(os.path.abspath(out))
    if os.path.isdir(out):
        raise UsageError(f"{out}: is a directory; give the file to write (--out)")
    if not os.path.isdir(d):
        raise UsageError(f"{out}: no such directory {d} (--out)")
    if not os.access(d, os.W_OK):
        raise UsageError(f"{out}: cannot write in {d} (--out)")


def _crash(row: Dict[str, Any]) -> "Crash":
    """The history's record (:class:`kdumpext.history.Crash`) of a row."""
    from .history import Crash, identity

    path = row["dump"] or row["dmesg"]
    return Crash(row.get("identity") or identity(path), os.path.abspath(path), row["status"],
                 bucket=row.get("bucket") or "", origin_site=row.get("origin_site") or "",
                 size=_size(path) or None, host=row.get("host") or "", release=row.get("release") or "",
                 crash_time=row.get("when"), time_from=row.get("when_from") or "",
                 verdict=(row.get("error") or "") if row["status"] == "error" else (row.get("verdict") or ""))


def _open_history(args: argparse.Namespace) -> Optional["History"]:
    """The crash history to record in (``--db`` or the default one), None with ``--no-history``.

    :raises HistoryError: ``--db`` cannot be opened; the default one is passed over with a warning.
    """
    from .history import HistoryError, open_history

    if args.no_history:
        return None
    try:
        return open_history(args.db)
    except HistoryError as e:
        if args.db:
            raise
        print(f"kdumpext: warning: the crash history is not recorded: {e}", file=sys.stderr)
        return None


def _record(history: "History", result: BatchResult, explicit: bool) -> bool:
    """Record the batch's rows in ``history``; False when that failed (said on stderr)."""
    from .history import HistoryError

    try:
        done = history.record([_crash(r) for r in result.rows])
    except HistoryError as e:
        print(f"kdumpext: {'' if explicit else 'warning: '}crash history not recorded: {e}", file=sys.stderr)
        return not explicit
    finally:
        history.close()
    result.history = {"path": history.path, "new": done.new, "updated": done.updated, "total": done.total}
    return True


def _mark_known(known: KnownIssues, rows: List[Dict[str, Any]]) -> None:
    """Set each row's ``known``: its bucket's known issue (:meth:`KnownMatch.to_dict`), or None."""
    for row in rows:
        m = known.match(row.get("bucket") or "", row.get("release") or "")
        row["known"] = m.to_dict() if m is not None else None


def run(args: argparse.Namespace) -> int:
    """``kdumpext batch``: discover, analyse (cached), record, print; the exit status."""
    from .known import known_issues

    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per CPU) or more")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if args.format == "html" and not args.out and sys.stdout.isatty():
        raise UsageError("--format html writes a page: give the file with -o FILE (e.g. -o report.html)")
    _check_out(args.out)
    known = known_issues(args.known)  # a bad file or database is said before any dump is opened
    items = discover(args.dirs)
    history = _open_history(args)
    if args.no_cache:
        cache = Cache(None)
    else:
        from .locate import cache_dir

        cache = Cache(args.cache_dir or os.path.join(cache_dir(), "batch"))
    # the trees given are searched for debug info too (a crash tree that keeps vmlinux and
    # modules beside the dumps, like sample-dumps/build/); build-ids decide what fits
    roots = [d for d in args.dirs if os.path.isdir(d)]
    opts = Options(args.vmlinux, list(args.debug_dir) + [d for d in roots if d not in args.debug_dir])
    try:
        result = run_batch(items, opts, cache, args.jobs, args.timeout, progress=sys.stderr.isatty(),
                           roots=args.dirs)
    except BaseException:
        if history is not None:
            history.close()
        raise
    recorded = _record(history, result, bool(args.db)) if history is not None else True
    if known is not None:
        _mark_known(known, result.rows)
    _write(render(result, args.format, _width(bool(args.out))), args.out)
    if result.interrupted:
        print("kdumpext: interrupted; finished results are kept in the cache", file=sys.stderr)
        return 130
    return 0 if recorded else 1
