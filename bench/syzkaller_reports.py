"""Measure `kdumpext oops` on syzkaller's report-parser corpus (pkg/report/testdata/linux/report), per title kind.

    .venv/bin/python bench/syzkaller_reports.py [--syzkaller GITDIR_OR_CHECKOUT] [--parity even|odd|all]
                                                [--show KIND] [--json] [--timeout S]
                                                [--kdumpext DIR]

Each numbered file of syzkaller's corpus is ``TITLE:``/``ALT:``/``TYPE:``/``CORRUPTED: Y``/...
header lines, a blank line, then a console log (and optionally a blank line, ``REPORT:`` and
the report syzkaller cut out of it, which is not part of the log).  A file without ``TITLE:``
is a log without a crash.  The log is given to kdumpext in-process
(:func:`kdumpext.oopstriage.report_from_text`, no vmlinux, no search for debug info) and the
answer compared with what syzkaller's own parser (pkg/report/linux.go) says:

* **RIP read**: the log's first kernel ``RIP: 0010:func+off/size`` (or 3.x ``RIP: 0010:[<a>]  [<a>]
  func+off/size``, or the ``RIP: func+off/size RSP:`` / ``RIP  [<a>] func`` summary) against the
  function of kdumpext's exception frame (else :func:`kdumpext.oops.parse_oops`'s ``rip_function``);
* **guilty frame**: the function at the end of the title (``... in F``: syzkaller's guilty frame,
  the RIP or the first call-trace frame not matched by its skip regexps) against
  ``verdict.function`` and, when the verdict has the attribute, ``verdict.blame`` (or
  ``function`` where ``blame`` is "": nothing to blame past it); clone suffixes
  (``.isra.0``, ``.constprop.0``, ``.cold``) and syzkaller's syscall-wrapper prefixes
  (``__se_sys_`` ...) are stripped on both sides, as syzkaller's ``{{FUNC}}`` and
  ``stripFramePrefixes`` do;
* **class**: the title kind against kdumpext's ``crash_class`` (:data:`KIND_CLASSES`);
* **unsupported verdicts**: a ``panic`` verdict for a log without ``Kernel panic - not syncing``,
  a ``null-fn-call`` / exec verdict when no kernel RIP of the log is in the first page, a
  ``high`` confidence verdict for a log syzkaller marks ``CORRUPTED``;
* **internal errors**: any exception other than :class:`kdumpext.errors.NoOopsError` (which is
  the answer "no crash", right for a log without ``TITLE:``).

Only files whose number has the asked parity are read (the odd half is a held-out test set:
the default is ``even``).  ``--syzkaller`` is a checkout (``git clone``) or a bare git
directory (read with ``git cat-file``); by default ``$SYZKALLER``, else the mirror the
``fetch`` tool makes.  ``--show KIND`` lists the files of a kind (or ``error``, ``unsupported``,
``guilty-miss``, ``rip-miss``, ``no-crash-miss``, ``all``): title against our answer.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.append(_ROOT)  # after $PYTHONPATH and --kdumpext, which may name another copy

__all__ = [
    "CORPUS_DIR",
    "KIND_CLASSES",
    "TestFile",
    "Outcome",
    "parse_test_file",
    "title_kind",
    "title_function",
    "normalize_function",
    "log_arch",
    "log_rip_function",
    "log_rip_addresses",
    "has_panic_line",
    "run_kdumpext",
    "unsupported",
    "Corpus",
    "main",
]

#: Where syzkaller keeps the Linux report-parser corpus, inside its repository.
CORPUS_DIR = "pkg/report/testdata/linux/report"

_DEFAULT_MIRROR = "/work/.mirror/google+syzkaller/repo"
_FIRST_PAGE = 0x1000

# --- the test files (pure) ---------------------------------------------------------


@dataclass
class TestFile:
    """One file of syzkaller's corpus, split as syzkaller's report_test.go splits it."""

    name: str  # "42"
    title: str = ""  # "" for a log without a crash
    alt: List[str] = field(default_factory=list)
    type: str = ""
    frame: str = ""
    corrupted: bool = False
    suppressed: bool = False
    log: str = ""


def parse_test_file(name: str, data: str) -> TestFile:
    """Split ``data`` (a whole corpus file) into its headers and its log.

    Headers run to the first empty line (``#`` lines are comments); the log runs to the end,
    or to a ``REPORT:`` line after an empty line (syzkaller's expected report, not console
    output).  ``\\r`` is dropped, as syzkaller's test does.
    """
    t = TestFile(name=name)
    lines = data.replace("\r", "").split("\n")
    i = 0
    while i < len(lines) and lines[i] != "":
        key, _, value = lines[i].partition(": ")
        if key == "TITLE":
            t.title = value
        elif key == "ALT":
            t.alt.append(value)
        elif key == "TYPE":
            t.type = value
        elif key == "FRAME":
            t.frame = value
        elif key == "CORRUPTED":
            t.corrupted = value == "Y"
        elif key == "SUPPRESSED":
            t.suppressed = value == "Y"
        i += 1
    log: List[str] = []
    prev_empty = False
    for ln in lines[i + 1:]:
        if prev_empty and ln == "REPORT:":
            break
        log.append(ln)
        prev_empty = ln == ""
    t.log = "\n".join(log)
    return t


#: Title kinds, first match wins: (kind, regexp over syzkaller's TITLE).
_KINDS: Tuple[Tuple[str, "re.Pattern[str]"], ...] = tuple((k, re.compile(r)) for k, r in (
    ("NULL pointer dereference", r"^BUG: unable to handle kernel NULL pointer dereference"),
    ("paging request", r"^BUG: unable to handle kernel(?: paging request|$)"),
    ("general protection fault", r"^general protection fault"),
    ("kernel BUG", r"^(?:kernel BUG|BUG: corrupted list|BUG: bad usercopy)\b"),
    ("WARNING", r"^WARNING(?: in |: (?:refcount bug|ODEBUG bug|kmalloc bug|kobject bug|proc registration bug"
                r"|zero-size vmalloc|bad usercopy|locking bug|nested lock) in )"),
    ("KASAN", r"^KASAN: "),
    ("KMSAN/KCSAN/UBSAN/KFENCE", r"^(?:KMSAN|KCSAN|UBSAN|KFENCE): "),
    ("divide error", r"^divide error"),
    ("stack segment", r"^stack segment"),
    ("invalid opcode/int3", r"^(?:invalid opcode|int3) in "),
    ("double fault/stack guard", r"^(?:PANIC: double fault|BUG: stack guard page|kernel stack overflow)"),
    ("kernel panic", r"^kernel panic"),
    ("stall/hang", r"^(?:INFO: (?:rcu detected stall|task hung|task can't die)|BUG: soft lockup"
                   r"|BUG: spinlock lockup|BUG: workqueue lockup)"),
    ("lockdep/RCU report", r"^(?:possible deadlock|WARNING: possible |inconsistent lock state"
                           r"|INFO: trying to register non-static key"
                           r"|(?:INFO|WARNING): suspicious RCU usage|(?:WARNING|BUG): (?:held lock freed"
                           r"|bad unlock balance|still has locks held|lock held when returning)"
                           r"|BUG: spinlock|BUG: workqueue leaked lock|BUG: MAX_STACK_TRACE_ENTRIES)"),
    ("BUG: other", r"^BUG: "),
    ("memory leak", r"^memory leak"),
))

#: kdumpext classes that agree with a title kind; kinds not listed are not scored ("-").
KIND_CLASSES: Dict[str, FrozenSet[str]] = {
    "NULL pointer dereference": frozenset({"null-deref", "null-fn-call"}),
    # a pointer of POISON_FREE (0x6b...) read from a freed object is classed use-after-free
    "paging request": frozenset({"bad-access", "user-access", "err-ptr", "list-poison", "slab-poison",
                                 "use-after-free", "bad-call"}),
    # KASAN builds print "KASAN: null-ptr-deref in range [0x0-0x7]" before such a GPF
    "general protection fault": frozenset({"non-canonical", "bad-access", "list-poison", "slab-poison",
                                           "use-after-free", "null-deref", "bad-call"}),
    "kernel BUG": frozenset({"bug"}),
    "WARNING": frozenset({"warning"}),
    # the access KASAN caught (use-after-free, out-of-bounds, a bad free), or one outside any object
    # (null-ptr-deref, user-memory-access, wild-memory-access) classed by its address
    "KASAN": frozenset({"use-after-free", "out-of-bounds", "invalid-free", "bad-access", "null-deref",
                        "slab-poison", "user-access", "list-poison", "non-canonical", "err-ptr"}),
    # #SS: a non-canonical address through %rsp/%rbp
    "stack segment": frozenset({"non-canonical", "bad-access"}),
    "kernel panic": frozenset({"panic"}),
}


#: The kinds issue 11 measures "RIP read" on: faults that print the faulting RIP.
_FAULT_KINDS = frozenset({"NULL pointer dereference", "paging request", "general protection fault", "kernel BUG",
                          "WARNING"})


def title_kind(title: str) -> str:
    """The kind of a syzkaller title: ``"general protection fault in f"`` -> ``"general protection fault"``."""
    if not title:
        return "no crash"
    for kind, rx in _KINDS:
        if rx.search(title):
            return kind
    return "other"


_TITLE_FUNC = re.compile(r" in ([A-Za-z0-9_]+)(?:/[A-Za-z0-9_]+| at addr ADDR)?$")


def title_function(title: str) -> str:
    """The guilty frame at the end of a title (``KASAN: ... in f`` -> ``f``, also ``in f/usb_submit_urb``
    and old KASAN's ``in f at addr ADDR``); "" for none or ``corrupted``."""
    m = _TITLE_FUNC.search(title)
    if m is None or m.group(1) == "corrupted":
        return ""
    return m.group(1)


#: syzkaller's ``stripFramePrefixes`` (pkg/report/linux.go); the shortest result wins.
_STRIP_PREFIXES = ("SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "____sys_", "___sys_", "__sys_",
                   "__se_", "__se_sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_")


def normalize_function(name: str) -> str:
    """A function name as a syzkaller title spells it: no clone suffix (``.isra.0``,
    ``.constprop.0``, ``.cold``: syzkaller's ``{{FUNC}}`` stops at the dot) and one
    syscall-wrapper prefix less, the one leaving the shortest name (``__se_sys_mremap`` ->
    ``mremap``, ``__x64_sys_read`` -> ``sys_read``)."""
    name = name.split(".", 1)[0]
    best = name
    for p in _STRIP_PREFIXES:
        if name.startswith(p) and len(name) - len(p) < len(best):
            best = name[len(p):]
    return best


# --- reading the log ourselves (pure) --------------------------------------------------

_ARM = re.compile(r"PC is at |LR is at |\) from \[<")
_ARM64 = re.compile(r"(?:^|\] )pc : |ESR = 0x|el1h_64_|el0_svc|Internal error:", re.M)
_X86 = re.compile(r"RIP: 0010|Call Trace:|RIP: [A-Za-z_]|RIP  \[<")


def log_arch(log: str) -> str:
    """``"x86-64"``, ``"arm64"`` or ``"arm"``, from the register and trace lines the log prints
    (arm64: ``pc : ``/``lr : ``, ``ESR = ``, ``Internal error:``, ``Call trace:`` lowercase;
    32-bit arm: ``PC is at``, ``(f) from [<a>]``); a log with none of them counts as x86-64."""
    if _ARM.search(log):
        return "arm"
    if _ARM64.search(log):
        return "arm64"
    if "Call trace:" in log and not _X86.search(log):
        return "arm64"
    return "x86-64"


_KERNEL_RIP_FUNC = (
    re.compile(r"RIP: 0010:(?:\[<[0-9a-f]+>\] +\[<[0-9a-f]+>\] +)?([A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+"),
    re.compile(r"RIP: ([A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+ RSP:"),
    re.compile(r"RIP  \[<[0-9a-f]+>\] ([A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+"),
    # arm64: "pc : f+0x28/0x58" (since 4.16), "PC is at f+0x28/0x58" before
    re.compile(r"(?:^|\] )(?:pc : |PC is at )([A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+", re.M),
)


def log_rip_function(log: str) -> str:
    """The function of the log's first kernel RIP line (``RIP: 0010:f+0x1/0x2``, 3.x ``RIP:
    0010:[<a>]  [<a>] f+0x1/0x2``, or the summary ``RIP: f+0x1/0x2 RSP: ...`` / ``RIP  [<a>] f+...``);
    "" when the log has none (no x86 oops, or a RIP printed as a bare address)."""
    best: Optional[Tuple[int, str]] = None
    for rx in _KERNEL_RIP_FUNC:
        m = rx.search(log)
        if m is not None and (best is None or m.start() < best[0]):
            best = (m.start(), m.group(1))
    return best[1] if best else ""


_RIP_ADDR = re.compile(r"RIP: 0010:(?:\[<(?P<a1>[0-9a-f]+)>\]|0x(?P<a2>[0-9a-f]+)|(?P<null> *\(null\)))"
                       r"|RIP: 0x(?P<a3>[0-9a-f]+) RSP:|RIP  \[<(?P<a4>[0-9a-f]+|\s*\(null\))>\]"
                       r"|(?:^|\] )(?:pc : |PC is at )(?:0x)?(?P<a5>[0-9a-f]{1,16})\b", re.M)


def log_rip_addresses(log: str) -> List[int]:
    """Kernel RIPs the log prints as numbers (``RIP: 0010:0x86``, ``RIP: 0010:[<a>]``,
    ``RIP: 0010:  (null)`` = 0, ``RIP: 0x86 RSP:``, ``RIP  [<a>]``, arm64 ``pc : 0x0``);
    user-mode ``RIP: 0033:`` lines are not read."""
    out: List[int] = []
    for m in _RIP_ADDR.finditer(log):
        if m.group("null"):
            out.append(0)
            continue
        for g in ("a1", "a2", "a3", "a4", "a5"):
            v = m.group(g)
            if v is not None:
                v = v.strip()
                out.append(0 if v == "(null)" else int(v, 16))
                break
    return out


_PANIC_LINE = re.compile(r"Kernel panic - not syncing")


def has_panic_line(log: str) -> bool:
    """Whether the log has ``Kernel panic - not syncing`` (what a ``panic`` verdict needs)."""
    return _PANIC_LINE.search(log) is not None


# --- running kdumpext -----------------------------------------------------------------


@dataclass
class Outcome:
    """What kdumpext answered for one file, and how it compares."""

    name: str
    title: str
    kind: str
    arch: str
    corrupted: bool
    title_func: str = ""
    log_rip: str = ""
    answer: str = ""  # "crash", "no crash" or "error"
    error: str = ""  # "TypeError: ..." for an internal error
    crash_class: str = ""
    function: str = ""
    blame: Optional[str] = None  # None: the verdict has no ``blame`` attribute
    rip: str = ""  # our exception frame's function
    confidence: str = ""
    bucket: str = ""
    unsupported: List[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rip_ok(self) -> Optional[bool]:
        """Whether we read the log's RIP function; None when the log prints none."""
        if not self.log_rip:
            return None
        return normalize_function(self.rip) == normalize_function(self.log_rip)

    @property
    def function_ok(self) -> Optional[bool]:
        """Whether ``verdict.function`` is the title's function; None when the title has none."""
        if not self.title_func:
            return None
        return normalize_function(self.function) == self.title_func

    @property
    def blame_ok(self) -> Optional[bool]:
        """Whether ``verdict.blame`` (``function`` when ``blame`` is "": nothing to blame past it)
        is the title's function; None without a title function or a ``blame`` attribute."""
        if not self.title_func or self.blame is None:
            return None
        return normalize_function(self.blame or self.function) == self.title_func

    @property
    def class_ok(self) -> Optional[bool]:
        """Whether the class agrees with the title kind (:data:`KIND_CLASSES`); None when not scored."""
        accepted = KIND_CLASSES.get(self.kind)
        if accepted is None or self.answer == "error":
            return None
        return self.crash_class in accepted


class _Timeout(Exception):
    """A log took longer than ``--timeout`` seconds."""


def _on_alarm(signum: int, frame: Any) -> None:
    """SIGALRM handler: abandon the log being explained."""
    raise _Timeout()


#: A RIP in a retpoline thunk (its ret or jmp faulted on the bad target it branches to).
_THUNK_RIP = re.compile(r"__x86_(?:indirect_(?:jump_|call_)?thunk|retpoline)_r")
#: The page-fault lines that say the fault was an instruction fetch (4.x and 5.x+ wordings).
_FETCH = re.compile(r"#PF: supervisor instruction fetch|unable to execute|tried to execute NX-protected page")


def unsupported(verdict: Any, log: str, corrupted: bool) -> List[str]:
    """Why ``verdict`` (a :class:`kdumpext.model.Verdict`) says more than the log supports: a
    ``panic`` without ``Kernel panic - not syncing``, a ``null-fn-call``/exec verdict when no
    kernel RIP is in the first page, in a retpoline thunk or at a fetch the log names,
    ``high`` confidence on a log syzkaller calls corrupted."""
    why: List[str] = []
    if verdict.crash_class == "panic" and not has_panic_line(log):
        why.append("panic verdict, no 'Kernel panic - not syncing' line")
    if verdict.crash_class == "null-fn-call" or verdict.access == "exec":
        if not any(a < _FIRST_PAGE for a in log_rip_addresses(log)) and not _THUNK_RIP.match(log_rip_function(log)) \
                and not _FETCH.search(log):
            why.append(f"{verdict.crash_class}/{verdict.access or '-'} verdict, no kernel RIP below 0x1000, "
                       "in a retpoline thunk or at an instruction fetch")
    if corrupted and verdict.confidence == "high":
        why.append("high confidence on a CORRUPTED log")
    return why


def run_kdumpext(t: TestFile, timeout: float = 0.0) -> Outcome:
    """Explain ``t.log`` with kdumpext in-process and compare the answer with the headers.

    ``timeout`` (seconds, 0 for none; main thread only) turns a hang into an internal error.
    """
    from kdumpext.errors import NoOopsError
    from kdumpext.model import Verdict
    from kdumpext.oops import parse_oops
    from kdumpext.oopstriage import report_from_text

    o = Outcome(name=t.name, title=t.title, kind=title_kind(t.title), arch=log_arch(t.log),
                corrupted=t.corrupted, title_func=title_function(t.title), log_rip=log_rip_function(t.log))
    if "blame" in getattr(Verdict, "__dataclass_fields__", {}):
        o.blame = ""  # a "no crash" answer blames nothing, as it names no function
    old = None
    if timeout:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    start = time.perf_counter()
    # the engine turns an internal error into an "unknown" verdict and a warning; here it is counted
    os.environ["KDUMPEXT_DEBUG"] = "1"
    try:
        report = report_from_text(t.log, f"syzkaller/{t.name}", find_debug_info=False)
    except NoOopsError:
        o.answer = "no crash"
        report = None
    except _Timeout:
        o.answer, o.error = "error", f"timeout after {timeout:g} s"
        report = None
    except Exception as e:  # noqa: BLE001 - every other exception is what this counts
        o.answer, o.error = "error", f"{type(e).__name__}: {e}"[:300]
        report = None
    finally:
        o.seconds = time.perf_counter() - start
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    if report is None:
        return o
    o.answer = "crash"
    v = report.verdict
    o.crash_class, o.function, o.confidence = v.crash_class, v.function, v.confidence
    o.bucket = v.bucket
    blame = getattr(v, "blame", None)
    o.blame = o.blame if blame is None else str(blame)
    exc = next((f for f in report.frames if f.exception), None)
    o.rip = exc.function if exc is not None else ""
    if not o.rip:
        try:
            oops = parse_oops(t.log)
        except Exception as e:  # noqa: BLE001
            o.error = f"parse_oops: {type(e).__name__}: {e}"[:300]
            oops = None
        o.rip = oops.rip_function if oops is not None else ""
    o.unsupported = unsupported(v, t.log, t.corrupted)
    return o


# --- the corpus -----------------------------------------------------------------------


class Corpus:
    """syzkaller's Linux report corpus in a checkout or a bare git directory."""

    def __init__(self, where: str) -> None:
        """``where``: a checkout (``CORPUS_DIR`` under it), or a (bare) git directory."""
        self.where = where
        self.checkout = os.path.isdir(os.path.join(where, CORPUS_DIR))
        if not self.checkout and not os.path.exists(os.path.join(where, "HEAD")):
            raise SystemExit(f"{where}: neither a syzkaller checkout ({CORPUS_DIR}) nor a git directory")

    def _git(self, *args: str, data: Optional[bytes] = None) -> bytes:
        """Run git on the repository; its standard output."""
        where = ["-C", self.where] if self.checkout else ["--git-dir", self.where]
        return subprocess.run(["git", *where, *args], input=data, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=True).stdout

    def commit(self) -> str:
        """The commit the files are read from ("unknown" for a checkout git does not know)."""
        try:
            return self._git("rev-parse", "HEAD").decode().strip()
        except (subprocess.CalledProcessError, OSError):
            return "unknown"

    def names(self, parity: str) -> List[str]:
        """The numbered file names of that parity (``even``, ``odd``, ``all``), in numeric order."""
        if self.checkout:
            names = os.listdir(os.path.join(self.where, CORPUS_DIR))
        else:
            names = [os.path.basename(p) for p in
                     self._git("ls-tree", "--name-only", "HEAD", CORPUS_DIR + "/").decode().split("\n") if p]
        nums = sorted(int(n) for n in names if n.isdigit())
        if parity == "even":
            nums = [n for n in nums if n % 2 == 0]
        elif parity == "odd":
            nums = [n for n in nums if n % 2 == 1]
        return [str(n) for n in nums]

    def read(self, names: Sequence[str]) -> Iterator[Tuple[str, str]]:
        """``(name, text)`` for those files only (one ``git cat-file --batch`` for a git directory)."""
        if self.checkout:
            for n in names:
                with open(os.path.join(self.where, CORPUS_DIR, n), "rb") as f:
                    yield n, f.read().decode("utf-8", "replace")
            return
        query = "".join(f"HEAD:{CORPUS_DIR}/{n}\n" for n in names).encode()
        out = self._git("cat-file", "--batch", data=query)
        pos = 0
        for n in names:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].split()
            if len(header) < 3 or header[1] != b"blob":
                raise SystemExit(f"{CORPUS_DIR}/{n}: not in the repository ({out[pos:nl].decode()})")
            size = int(header[2])
            yield n, out[nl + 1:nl + 1 + size].decode("utf-8", "replace")
            pos = nl + 1 + size + 1


# --- the table ------------------------------------------------------------------------


def _frac(flags: Sequence[Optional[bool]]) -> str:
    """``"3/5"`` over the non-None flags, ``"-"`` when none counts."""
    scored = [f for f in flags if f is not None]
    return f"{sum(scored)}/{len(scored)}" if scored else "-"


def _table(rows: List[List[str]], numeric: bool = True) -> str:
    """A plain text table, the first row being the header; columns after the first are
    right-aligned when ``numeric``."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        out.append("  ".join(c.rjust(w) if i and numeric else c.ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _row(label: str, os_: List[Outcome], blame_seen: bool) -> List[str]:
    """One table row over outcomes ``os_``."""
    times = [o.seconds for o in os_]
    return [label, str(len(os_)),
            str(sum(o.answer == "no crash" for o in os_)),
            str(sum(o.answer == "error" for o in os_)),
            _frac([o.rip_ok for o in os_ if o.answer != "error"]),
            _frac([o.function_ok for o in os_ if o.answer != "error"]),
            _frac([o.blame_ok for o in os_ if o.answer != "error"]) if blame_seen else "n/a",
            _frac([o.class_ok for o in os_]),
            str(sum(bool(o.unsupported) for o in os_)),
            f"{statistics.median(times) * 1000:.1f}" if times else "-"]


_HEADER = ["kind", "logs", "no crash", "errors", "RIP read", "guilty=function", "guilty=blame", "class ok",
           "unsupported", "median ms"]


def summary(outcomes: List[Outcome]) -> Dict[str, Any]:
    """Counts over all outcomes (what ``--json`` and the README quote)."""
    x86 = [o for o in outcomes if o.arch == "x86-64"]
    crash = [o for o in x86 if o.kind != "no crash"]
    none = [o for o in outcomes if o.kind == "no crash"]
    times = [o.seconds for o in outcomes]
    return {
        "logs": len(outcomes),
        "x86_64": len(x86),
        "internal_errors": sum(o.answer == "error" for o in outcomes),
        "no_crash_logs": len(none),
        "no_crash_right": sum(o.answer == "no crash" for o in none),
        "x86_crash_logs": len(crash),
        "x86_crash_missed": sum(o.answer == "no crash" for o in crash),
        "rip_read": _frac([o.rip_ok for o in x86 if o.answer != "error"]),
        # the issue's own measure: the crash kinds that are faults (NULL dereference, paging
        # request, general protection fault, kernel BUG, WARNING)
        "rip_read_faults": _frac([o.rip_ok for o in x86 if o.answer != "error" and o.kind in _FAULT_KINDS]),
        "guilty_function": _frac([o.function_ok for o in x86 if o.answer != "error"]),
        "guilty_blame": _frac([o.blame_ok for o in x86 if o.answer != "error"]),
        "class_ok": _frac([o.class_ok for o in x86]),
        "unsupported": sum(bool(o.unsupported) for o in outcomes),
        "median_ms": round(statistics.median(times) * 1000, 2) if times else 0,
        "max_ms": round(max(times) * 1000, 1) if times else 0,
        "total_s": round(sum(times), 2),
    }


def render(outcomes: List[Outcome], source: str, commit: str, parity: str) -> str:
    """The text report: x86-64 kinds, other architectures, unsupported verdicts, errors."""
    blame_seen = any(o.blame is not None for o in outcomes)
    import kdumpext

    out = [f"syzkaller {commit} ({source}), {CORPUS_DIR}, {parity} files: {len(outcomes)}",
           f"kdumpext from {os.path.dirname(os.path.abspath(kdumpext.__file__))}", ""]
    x86 = [o for o in outcomes if o.arch == "x86-64"]
    kinds: Dict[str, List[Outcome]] = {}
    for o in x86:
        kinds.setdefault(o.kind, []).append(o)
    order = [k for k, _ in _KINDS] + ["other", "no crash"]
    rows = [_HEADER] + [_row(k, kinds[k], blame_seen) for k in order if k in kinds]
    rows.append(_row("all x86-64", x86, blame_seen))
    out += ["x86-64 logs, by syzkaller title kind:", "", _table(rows), ""]
    archs: Dict[str, List[Outcome]] = {}
    for o in outcomes:
        if o.arch != "x86-64":
            archs.setdefault(o.arch, []).append(o)
    if archs:
        rows = [["arch"] + _HEADER[1:]] + [_row(a, archs[a], blame_seen) for a in sorted(archs)]
        out += ["other architectures (not this issue's):", "", _table(rows), ""]
    given: List[List[str]] = [["kind", "class ok means", "classes kdumpext gave"]]
    for k in order:
        if k not in kinds:
            continue
        counts: Dict[str, int] = {}
        for o in kinds[k]:
            c = o.crash_class or o.answer
            counts[c] = counts.get(c, 0) + 1
        accepted = KIND_CLASSES.get(k)
        given.append([k, " ".join(sorted(accepted)) if accepted else "- (not scored)",
                      ", ".join(f"{c} {n}" for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))])
    out += ["classes (x86-64):", "", _table(given, numeric=False), ""]
    s = summary(outcomes)
    out.append(f"RIP read in the fault kinds ({', '.join(sorted(_FAULT_KINDS))}): {s['rip_read_faults']}")
    out.append(f"no crash answered for logs without TITLE: {s['no_crash_right']}/{s['no_crash_logs']}; "
               f"x86-64 crash logs answered 'no crash': {s['x86_crash_missed']}/{s['x86_crash_logs']}; "
               f"internal errors: {s['internal_errors']}; time per log: median {s['median_ms']} ms, "
               f"max {s['max_ms']} ms, total {s['total_s']} s")
    why: Dict[str, int] = {}
    for o in outcomes:
        for w in o.unsupported:
            why[w] = why.get(w, 0) + 1
    if why:
        out += ["", "unsupported verdicts:"] + [f"  {n:4d}  {w}" for w, n in sorted(why.items(), key=lambda kv: -kv[1])]
    errs: Dict[str, List[str]] = {}
    for o in outcomes:
        if o.answer == "error":
            errs.setdefault(o.error, []).append(o.name)
    if errs:
        out += ["", "internal errors:"]
        for msg, names in sorted(errs.items(), key=lambda kv: -len(kv[1])):
            more = f" (+{len(names) - 8} more)" if len(names) > 8 else ""
            out.append(f"  {len(names):4d}  {msg}: {' '.join(names[:8])}{more}")
    return "\n".join(out)


#: ``--show`` selections other than a title kind or an arch.
_PSEUDO: Dict[str, Callable[[Outcome], bool]] = {
    "all": lambda o: True,
    "error": lambda o: o.answer == "error",
    "unsupported": lambda o: bool(o.unsupported),
    "guilty-miss": lambda o: o.function_ok is False and o.blame_ok is not True,
    "rip-miss": lambda o: o.rip_ok is False,
    "class-miss": lambda o: o.class_ok is False,
    "no-crash-miss": lambda o: (o.kind == "no crash") != (o.answer == "no crash"),
}


def show(outcomes: List[Outcome], kind: str) -> str:
    """The files of ``kind`` (a title kind, an arch, or one of :data:`_PSEUDO`), one line each."""
    k = kind.lower()
    if k in _PSEUDO:
        sel = [o for o in outcomes if _PSEUDO[k](o)]
    else:
        sel = [o for o in outcomes if o.kind.lower() == k or o.arch == k]
    lines = [f"{len(sel)} file(s) of {kind}:"]
    for o in sel:
        ours = o.error if o.answer == "error" else (
            "no crash" if o.answer == "no crash" else f"{o.crash_class} {o.function or '?'} ({o.confidence})")
        marks = []
        if o.rip_ok is False:
            marks.append(f"RIP {o.log_rip} read as {o.rip or '?'}")
        if o.blame:
            marks.append(f"blame {o.blame}")
        marks += o.unsupported
        lines.append(f"  {o.name:>5} {o.arch:6} {'C ' if o.corrupted else '  '}{o.title or '(no TITLE)'}")
        lines.append(f"        -> {ours}" + ("; " + "; ".join(marks) if marks else ""))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run kdumpext over the corpus and print the table (or ``--json``); 1 on internal errors."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--syzkaller", default=os.environ.get("SYZKALLER", _DEFAULT_MIRROR),
                    help="a syzkaller checkout or (bare) git directory (default: $SYZKALLER or the fetch mirror)")
    ap.add_argument("--parity", choices=("even", "odd", "all"), default="even",
                    help="which numbered files (default even: the odd ones are held out)")
    ap.add_argument("--show", default="", metavar="KIND",
                    help="list the files of a title kind or arch, or: " + ", ".join(_PSEUDO))
    ap.add_argument("--json", action="store_true", help="per-file outcomes and the summary as JSON")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per log before it counts as an error")
    ap.add_argument("--kdumpext", default="", metavar="DIR",
                    help="import kdumpext from DIR (e.g. a `git archive` of another commit) instead of this tree")
    args = ap.parse_args(argv)
    if args.kdumpext:
        sys.path.insert(0, os.path.abspath(args.kdumpext))
    corpus = Corpus(args.syzkaller)
    commit = corpus.commit()
    outcomes = [run_kdumpext(parse_test_file(n, text), args.timeout)
                for n, text in corpus.read(corpus.names(args.parity))]
    if args.json:
        json.dump({"syzkaller": {"source": args.syzkaller, "commit": commit, "path": CORPUS_DIR},
                   "parity": args.parity, "summary": summary(outcomes),
                   "files": [dict(asdict(o), rip_ok=o.rip_ok, function_ok=o.function_ok, blame_ok=o.blame_ok,
                                  class_ok=o.class_ok) for o in outcomes]},
                  sys.stdout, indent=1)
        print()
    elif args.show:
        print(show(outcomes, args.show))
    else:
        print(render(outcomes, args.syzkaller, commit, args.parity))
    return 1 if any(o.answer == "error" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
