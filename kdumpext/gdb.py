"""The gdb front-end: the `kdump` commands and `$kdump_task()` in stock gdb (the only module importing gdb)."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import gdb
from gdb.FrameDecorator import FrameDecorator
from gdb.unwinder import Unwinder, register_unwinder

from .errors import KdumpextError, UsageError
from .options import UsageRaisingParser, add_debug_args


def _import_drgn_deepbind() -> None:
    """Import drgn so that its extension binds to the libraries it was built with.

    gdb links the system's libdw, libelf, liblzma and libzstd; drgn's wheel carries its own
    copies (renamed files, same symbol names).  Loaded the usual way, ``_drgn`` binds to gdb's
    copies and ``load_debug_info`` fails with "libdw error: no error" (Debian gdb 13.1,
    drgn 0.3.0).  ``RTLD_DEEPBIND`` puts drgn's own dependencies first for its symbols.
    """
    if "_drgn" in sys.modules:
        return
    flags = sys.getdlopenflags()
    sys.setdlopenflags(flags | getattr(os, "RTLD_DEEPBIND", 0))
    try:
        import drgn  # noqa: F401
    finally:
        sys.setdlopenflags(flags)


_import_drgn_deepbind()

if TYPE_CHECKING:  # pragma: no cover
    import subprocess

    from .dump import OpenedDump
    from .model import Report

__all__ = [
    "Session",
    "OpenArgs",
    "session",
    "parse_open_args",
    "open_text",
    "open_help",
    "open_session",
    "triage_text",
    "fault_text",
    "explain_address",
    "explain_text",
    "split_offset",
    "tasks_text",
    "task_address",
    "before_quit",
]

_USAGE_OPEN = "kdump open DUMP [VMLINUX] [--vmlinux PATH] [--debug-dir DIR]... [-v]"


@dataclass
class Session:
    """The dump open in this gdb: drgn's view of it, the gdb commands that loaded it (symbols,
    then ``target remote |`` kdumpext's gdb server), the report once made."""

    opened: "OpenedDump"
    commands: List[str]
    sources: List[Tuple[str, str]] = field(default_factory=list)  # substitute-path rules (sources.py)
    steps: Dict[Tuple[int, int], Dict[str, int]] = field(default_factory=dict)  # gdbcore.exception_steps
    threads: int = 0  # how many threads gdb got from the server
    pac_mask: int = 0  # arm64 pointer authentication's (context.pac_mask), 0 elsewhere
    server: List[str] = field(default_factory=list)  # how the gdb server was started (kdump open -v)
    _thread_steps: Dict[int, Dict[Tuple[int, int], Dict[str, int]]] = field(default_factory=dict)
    _report: Optional["Report"] = None
    _error: Optional[BaseException] = None  # from prepare(), re-raised by report

    def prepare(self) -> None:
        """Make the source rules, the exception steps and the report (only drgn, never gdb);
        a failure of the report is kept for :attr:`report` to raise, never stops the open."""
        from .gdbcore import exception_steps

        try:
            self.sources = _source_rules(self.opened)
        except Exception:  # noqa: BLE001 - source lines are a convenience; never stop the open
            self.sources = []
        try:
            self.steps = exception_steps(self.opened.prog)
            self.report
        except BaseException as e:  # noqa: BLE001 - a triage failure must not stop gdb loading the dump
            self._error = e

    def thread_steps(self, tid: int) -> Dict[Tuple[int, int], Dict[str, int]]:
        """drgn's unwinding of gdb's thread ``tid`` (:func:`kdumpext.gdbcore.unwind_steps`;
        the thread ids of :func:`kdumpext.gdbserver.dump_threads`), made once."""
        if tid not in self._thread_steps:
            self._thread_steps[tid] = _drgn_steps(self.opened.prog, tid)
        return self._thread_steps[tid]

    @property
    def report(self) -> "Report":
        """The triage report (made once, on first use)."""
        if self._error is not None:
            raise self._error
        if self._report is None:
            from .triage import triage_program

            self._report = triage_program(self.opened.prog, self.opened.info, debug_dirs=self.opened.search.dirs)
        return self._report


def _drgn_steps(prog: "Any", tid: int) -> Dict[Tuple[int, int], Dict[str, int]]:
    """:func:`kdumpext.gdbcore.unwind_steps` of the task behind thread id ``tid`` (its pid,
    or ``IDLE_LWP_BASE + cpu`` for an idle task); empty when drgn cannot unwind it."""
    import drgn
    from drgn.helpers.linux.pid import find_task
    from drgn.helpers.linux.sched import idle_task

    from .gdbcore import IDLE_LWP_BASE, unwind_steps

    try:
        task = idle_task(prog, tid - IDLE_LWP_BASE) if tid >= IDLE_LWP_BASE else find_task(prog, tid)
        if not task:
            return {}
        return unwind_steps(prog.stack_trace(task))
    except (drgn.FaultError, LookupError, ValueError):
        return {}


_session: Optional[Session] = None


def session() -> Session:
    """The open dump.

    :raises UsageError: no ``kdump open`` yet.
    """
    if _session is None:
        raise UsageError(f"no dump is open: {_USAGE_OPEN}")
    return _session


# -- plain functions (tests call these; the commands only parse and print) ----------------


@dataclass
class OpenArgs:
    """What ``kdump open`` was given."""

    dump: str
    vmlinux: Optional[str] = None
    debug_dirs: List[str] = field(default_factory=list)
    verbose: bool = False
    help: bool = False


def _open_parser() -> UsageRaisingParser:
    p = UsageRaisingParser(prog="kdump open", usage=_USAGE_OPEN, add_help=False)
    p.add_argument("dump", metavar="DUMP")
    p.add_argument("vmlinux_arg", metavar="VMLINUX", nargs="?",
                   help="the dump's vmlinux, the same as --vmlinux")
    add_debug_args(p)
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also print every gdb command that loads the dump (symbol-file, add-symbol-file, "
                        "target remote, set substitute-path)")
    p.add_argument("-h", "--help", action="store_true", help="show this help")
    return p


def parse_open_args(argv: List[str]) -> OpenArgs:
    """``DUMP [VMLINUX] [--vmlinux PATH] [--debug-dir DIR]... [-v]`` -> :class:`OpenArgs`
    (the options of ``kdumpext triage``, :func:`kdumpext.options.add_debug_args`).

    :raises UsageError: anything else.
    """
    if any(a in ("-h", "--help") for a in argv):
        return OpenArgs("", help=True)
    if not argv:
        raise UsageError(f"usage: {_USAGE_OPEN}")
    ns = _open_parser().parse_intermixed_args(argv)
    if ns.vmlinux_arg and ns.vmlinux:
        raise UsageError(f"the vmlinux given twice ({ns.vmlinux_arg}, --vmlinux {ns.vmlinux}); usage: {_USAGE_OPEN}")
    vmlinux = ns.vmlinux_arg or ns.vmlinux
    return OpenArgs(os.path.expanduser(ns.dump), os.path.expanduser(vmlinux) if vmlinux else None,
                    [os.path.expanduser(d) for d in ns.debug_dir], ns.verbose)


def open_help() -> str:
    """``kdump open --help``: the options, as ``kdumpext triage --help`` words them."""
    from .options import epilog

    p = _open_parser()
    p.epilog = epilog(["kdump open /var/crash/202611261148/dump.202611261148",
                       "kdump open DUMP /usr/lib/debug/boot/vmlinux-6.1.0-18-amd64",
                       "kdump open DUMP --debug-dir sample-dumps/build -v"])
    p.formatter_class = __import__("argparse").RawDescriptionHelpFormatter
    return p.format_help()


def _source_rules(opened: "OpenedDump") -> List[Tuple[str, str]]:
    """substitute-path rules for the sources of vmlinux and the modules, looked for under the
    debug-info search path (debug dirs, $KDUMPEXT_DEBUG_PATH, the vmlinux's and the dump's
    directories) and those directories' parents."""
    from .sources import source_roots, source_rules

    files = [opened.info.vmlinux] + [path for _name, path in opened.module_files]
    return source_rules([f for f in files if f], source_roots(opened.search.dirs))


def open_session(dump: str, vmlinux: Optional[str] = None, debug_dirs: Optional[List[str]] = None,
                 execute: Callable[[str], object] = lambda c: gdb.execute(c, False, True)) -> Session:
    """Open ``dump`` with the engine, load its symbols with ``execute`` and connect gdb to
    kdumpext's gdb server on it: gdb reads the dump's memory lazily, nothing is written to
    disk.  The server is started first, on a Unix socket in a private directory, so that it
    opens the dump on the other CPU while gdb reads the symbols (``target remote |`` would
    start it only when gdb connects).  A dump open before is let go first (its server exits
    when gdb disconnects).

    :raises KdumpextError: bad dump, missing or mismatched debug info, gdb refusing a command,
        a server that exits before gdb is connected.
    """
    global _session
    # drgn loads installed plugins with every Program; the engine needs none (same as the CLI)
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
    from .dump import open_dump
    from .gdbcore import symbol_commands
    from .context import pac_mask

    server = _Server.start(dump, vmlinux, debug_dirs or [])
    try:
        opened = open_dump(dump, vmlinux, debug_dirs or [])
        s = Session(opened, symbol_commands(opened) + [f"target remote {_quote(server.path)}"],
                    pac_mask=pac_mask(opened.prog), server=server.argv)
        _session = None  # the unwinder and frame filter are off until this dump is loaded
        _forget(execute)
        # the source rules, exception steps and report need only drgn and the files; made here,
        # not in a thread beside gdb's symbol reading: gdb holds Python's lock meanwhile, and
        # the two took longer side by side than one after the other
        s.prepare()
        with _no_stop_notice():
            for cmd in s.commands[:-1]:
                _execute(execute, cmd)
            server.wait_ready()
            _execute(execute, s.commands[-1])
    except BaseException:
        server.stop()
        raise
    finally:
        server.forget_path()
    for frm, to in s.sources:
        cmd = f"set substitute-path {_quote(frm)} {_quote(to)}"
        _execute(execute, cmd)
        s.commands.append(cmd)
        _rules_set.append(frm)
    s.threads = len(gdb.selected_inferior().threads())
    _install_quit_hook()
    _session = s
    gdb.invalidate_cached_frames()  # frames gdb unwound while connecting, before the unwinder was on
    return s


class _Server:
    """``kdumpext gdbserver DUMP --socket PATH`` started before gdb needs it (a child of gdb; it
    exits when gdb disconnects)."""

    #: How long :meth:`wait_ready` waits for the socket to appear.
    READY_SECONDS = 120.0

    def __init__(self, proc: "subprocess.Popen[bytes]", argv: List[str], directory: str) -> None:
        self.proc, self.argv, self.directory = proc, argv, directory
        self.path = os.path.join(directory, "gdbserver")

    @classmethod
    def start(cls, dump: str, vmlinux: Optional[str], debug_dirs: List[str]) -> "_Server":
        import subprocess
        import tempfile

        from .gdbserver import server_argv

        directory = tempfile.mkdtemp(prefix="kdumpext-gdb-")  # 0700: only its owner reaches the socket
        argv = server_argv(_server_python(), os.path.abspath(dump), vmlinux and os.path.abspath(vmlinux),
                           [os.path.abspath(d) for d in debug_dirs]) + ["--socket", os.path.join(directory, "gdbserver")]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, close_fds=True)
        return cls(proc, argv, directory)

    def wait_ready(self) -> None:
        """Until the server listens (it binds at once; the dump may still be opening)."""
        end = time.monotonic() + self.READY_SECONDS
        while not os.path.exists(self.path):
            if self.proc.poll() is not None:
                raise KdumpextError(f"kdumpext gdbserver exited ({self.proc.returncode}) before gdb could connect")
            if time.monotonic() > end:
                raise KdumpextError(f"kdumpext gdbserver did not listen within {self.READY_SECONDS:.0f} s")
            time.sleep(0.005)

    def stop(self) -> None:
        """The server, when gdb will not connect to it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def forget_path(self) -> None:
        """The private directory (the server removes its socket once gdb is connected)."""
        import shutil

        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def _no_stop_notice() -> Iterator[None]:
    """gdb's CLI notifications off (gdb 12+): ``target remote`` prints where the thread stopped
    even inside ``gdb.execute(..., to_string=True)``; ``kdump open`` prints its own summary."""
    try:
        was = gdb.parameter("suppress-cli-notifications")
    except RuntimeError:  # an older gdb: the line is printed
        yield
        return
    gdb.execute("set suppress-cli-notifications on", False, True)
    try:
        yield
    finally:
        if not was:
            gdb.execute("set suppress-cli-notifications off", False, True)


def _forget(execute: Callable[[str], object]) -> None:
    """Let go of a dump loaded before: disconnect its server (which then exits) or drop a core,
    forget vmlinux, the modules' symbol files and the source rules."""
    for cmd in ["disconnect", "core-file"]:
        try:
            execute(cmd)
        except gdb.error:
            pass  # nothing connected ("You can't do that when your target is `None'")
    for cmd in ["symbol-file"] + [f"unset substitute-path {_quote(frm)}" for frm in _rules_set]:
        _execute(execute, cmd)
    _rules_set.clear()


#: What a connection to kdumpext's server says in its details (``info inferiors``).
_SERVER_MARKS = ("kdumpext.cli gdbserver", f"{os.sep}kdumpext-gdb-")  # target remote |, kdump open's socket


def _install_quit_hook() -> None:
    """Define ``hook-quit`` (unless the user has one) to call :func:`before_quit`."""
    try:
        gdb.execute("show user hook-quit", False, True)
        return  # defined already, by the user or an earlier kdump open
    except gdb.error:
        pass
    gdb.execute("define hook-quit\npython import kdumpext.gdb; kdumpext.gdb.before_quit()\nend", False, True)


def before_quit() -> None:
    """Before ``quit``: when every live inferior is a dump served by kdumpext's server, let
    go of them quietly (their servers exit): no "A debugging session is active ... Quit
    anyway?" (a read-only dump loses nothing) and no detach messages."""
    live = [inf for inf in gdb.inferiors() if inf.pid]
    conns = [getattr(inf, "connection", None) for inf in live]
    if not live or not all(c is not None and any(m in (c.details or "") for m in _SERVER_MARKS) for c in conns):
        return
    with _no_stop_notice():
        for inf in live:
            if inf != gdb.selected_inferior():
                gdb.execute(f"inferior {inf.num}", False, True)
            gdb.execute("disconnect", False, True)


def _server_python() -> List[str]:
    """How to start the Python that runs kdumpext's gdb server: the venv whose drgn this gdb
    loaded (gdb-init.py found it), with this checkout first on its path; without a venv,
    the system's Python of gdb's version with gdb's path.  ``-P``: not the working
    directory's packages first."""
    import shutil

    import drgn

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the directory holding kdumpext
    safe = ["-P"] if sys.version_info >= (3, 11) else []
    d = os.path.dirname(os.path.abspath(drgn.__file__))
    while os.path.dirname(d) != d:
        if os.path.isfile(os.path.join(d, "pyvenv.cfg")):
            for name in ("python3", "python"):
                exe = os.path.join(d, "bin", name)
                if os.access(exe, os.X_OK):
                    return ["env", f"PYTHONPATH={here}", exe] + safe
        d = os.path.dirname(d)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    exe = shutil.which(version) or shutil.which("python3") or version
    path = os.pathsep.join([here] + [p for p in sys.path if p and p != here and os.path.isdir(p)])
    return ["env", f"PYTHONPATH={path}", exe] + safe


#: The substitute-path rules the last ``kdump open`` set (the next one removes them).
_rules_set: List[str] = []


def _quote(path: str) -> str:
    """A path as one gdb argument (gdb splits a command's arguments like a shell, without expansion)."""
    import shlex

    return shlex.quote(path) if any(c.isspace() or c in "'\"\\" for c in path) else path


def _execute(execute: Callable[[str], object], cmd: str) -> None:
    try:
        execute(cmd)
    except gdb.error as e:
        raise KdumpextError(f"gdb refused `{cmd.split()[0]}`: {e}") from None


def open_text(s: Session, verbose: bool = False) -> str:
    """What ``kdump open`` says before the report: the dump, vmlinux, modules, sources and
    threads in a few lines; with ``verbose``, every gdb command that loaded them too."""
    info = s.opened.info
    loaded = [name for name, _path in s.opened.module_files]
    lines = [f"kdump: {info.path} ({info.format}), Linux {info.release}",
             f"kdump: vmlinux {info.vmlinux}",
             f"kdump: {len(loaded)} module{'' if len(loaded) == 1 else 's'} with debug info"
             + (f" ({', '.join(loaded)})" if loaded else "")
             + (f"; without: {', '.join(info.modules_missing_debuginfo)} (--debug-dir DIR)"
                if info.modules_missing_debuginfo else "")]
    lines += [f"kdump: warning: {w}" for w in s.opened.warnings]
    if s.sources:
        lines.append("kdump: sources: " + ", ".join(f"{frm} -> {to}" for frm, to in s.sources))
    lines.append(f"kdump: {s.threads} threads, the crashed task first (info threads); memory read from the dump "
                 "as gdb asks (kdumpext gdbserver)")
    if verbose:
        if s.server:
            lines.append("kdump: started " + " ".join(_quote(a) for a in s.server))
        lines += [f"kdump: {c}" for c in s.commands]
    return "\n".join(lines)


def triage_text(s: Session) -> str:
    """The full report, as ``kdumpext triage`` prints it."""
    from .report import render_text

    return render_text(s.report)


def fault_text(s: Session) -> str:
    """Only the verdict block."""
    from .report import render_verdict

    return render_verdict(s.report.verdict)


_OFFSET_RE = re.compile(r"^(?P<expr>.+?)\s*(?P<sign>[+-])\s*(?P<off>0[xX][0-9a-fA-F]+|\d+)\s*$", re.S)


def split_offset(text: str) -> Tuple[str, int]:
    """``cmd->dev + 0x240`` -> ``("cmd->dev", 0x240)``; no trailing constant -> ``(text, 0)``."""
    m = _OFFSET_RE.match(text.strip())
    if not m:
        return text.strip(), 0
    off = int(m.group("off"), 0)
    return m.group("expr"), -off if m.group("sign") == "-" else off


def explain_address(s: Session, address: int, pointee: Optional[str] = None, offset: int = 0) -> List[str]:
    """Lines saying what ``address`` is (:func:`kdumpext.identify.render_address` of the engine's
    :func:`~kdumpext.identify.identify`): bad-pointer kind, symbol, slab object, direct map, in the
    dump or not; with ``pointee`` (a C type name), ``address`` is a ``pointee *`` plus ``offset``
    bytes and the member of it at that offset is named.

    :raises KdumpextError: ``pointee`` is not a type drgn knows.
    """
    from .identify import identify, render_address

    pointer = (address - offset) & 0xFFFF_FFFF_FFFF_FFFF if pointee is not None else None
    info = identify(s.opened.prog, address, pointer, offset if pointee is not None else 0, type=pointee)
    return render_address(info).splitlines()


def _struct_pointee(value: "gdb.Value") -> Optional[str]:
    """``struct foo`` when ``value`` is a pointer to a named struct or union, else None."""
    t = value.type.strip_typedefs()
    if t.code != gdb.TYPE_CODE_PTR:
        return None
    target = t.target().strip_typedefs()
    if target.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        return None
    name = str(target)
    return None if "{" in name else name  # an anonymous struct has no name drgn could look up


def explain_text(s: Session, text: str,
                 evaluate: Callable[[str], "gdb.Value"] = gdb.parse_and_eval) -> str:
    """``kdump explain ADDR|EXPR``: evaluate with gdb, then :func:`explain_address`; ``PTR + N``
    names the member at byte N of ``*PTR``, a struct pointer alone the member at byte 0.

    :raises UsageError: empty or unevaluable expression.
    :raises KdumpextError: the pointed-to type is unknown to drgn.
    """
    if not text.strip():
        raise UsageError("usage: kdump explain ADDR|EXPR   (EXPR + OFFSET: the member at that byte offset)")
    base_text, offset = split_offset(text)
    pointee: Optional[str] = None
    try:
        if offset:
            try:
                base = evaluate(base_text)
                pointee = _struct_pointee(base)
            except gdb.error:
                pointee = None  # e.g. "a - 1" that is not pointer - constant: let gdb read it all
        if pointee is not None:
            address = (int(base) + offset) & 0xFFFF_FFFF_FFFF_FFFF
        else:
            value = evaluate(text)
            pointee, offset = _struct_pointee(value), 0
            address = int(value) & 0xFFFF_FFFF_FFFF_FFFF
    except gdb.error as e:
        raise UsageError(f"cannot evaluate {text!r}: {e}") from None
    return "\n".join(explain_address(s, address, pointee, offset))


def _task_state(task: object) -> str:
    from drgn.helpers.linux.sched import task_state_to_char

    try:
        return task_state_to_char(task)
    except (LookupError, ValueError):
        return "?"


def tasks_text(s: Session) -> str:
    """One line per task: pid, comm, CPU it ran on at the crash, state, address, gdb LWP."""
    import drgn
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.sched import task_cpu, task_on_cpu
    from tabulate import tabulate

    prog = s.opened.prog
    crashed = s.report.task.address if s.report.task else 0
    rows = []
    for task in for_each_task(prog):
        try:
            addr = int(task.value_())
            running = bool(task_on_cpu(task))
            rows.append([(">" if addr == crashed else " ") + str(int(task.pid)),
                         task.comm.string_().decode(errors="replace"),
                         int(task_cpu(task)) if running else "-",
                         _task_state(task), f"{addr:#x}"])
        except (drgn.FaultError, LookupError):
            continue
    return tabulate(rows, headers=["  PID", "COMM", "ON CPU", "ST", "TASK"], tablefmt="plain",
                    disable_numparse=True)


def task_address(s: Session, pid: int) -> int:
    """``struct task_struct *`` of ``pid`` in the dump.

    :raises UsageError: no such task.
    """
    from drgn.helpers.linux.pid import find_task

    task = find_task(s.opened.prog, pid)
    if not task:
        raise UsageError(f"no task with pid {pid} in the dump")
    return int(task.value_())


# -- gdb commands: parse, call one function above, print ---------------------------------


class _Command(gdb.Command):
    """Base: ``invoke`` turns kdumpext errors into gdb errors (one line, no traceback)."""

    def invoke(self, arg: str, from_tty: bool) -> None:
        import drgn

        try:
            self.invoke_uncaught(arg, from_tty)
        except KdumpextError as e:
            raise gdb.GdbError(str(e)) from None
        except drgn.FaultError as e:
            raise gdb.GdbError(f"memory not in the dump: {e}") from None

    def invoke_uncaught(self, arg: str, from_tty: bool) -> None:
        raise NotImplementedError


class KdumpPrefix(gdb.Command):
    """Debug a Linux kernel crash dump with kdumpext (kdump open, triage, fault, explain, tasks)."""

    def __init__(self) -> None:
        super().__init__("kdump", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)


class KdumpOpen(_Command):
    """Open a kernel crash dump: kdump open DUMP [VMLINUX] [--vmlinux PATH] [--debug-dir DIR]... [-v]

DUMP may be kdump-compressed, ELF or flattened (.xz/.gz too).  vmlinux and module debug
info are found by build-id in the --debug-dir directories, $KDUMPEXT_DEBUG_PATH, the
vmlinux's directory (modules beside a vmlinux given by hand), the dump's directory and the
usual /usr/lib/debug places.  kdumpext loads vmlinux at the KASLR offset and the modules at
their addresses, connects gdb to the dump through kdumpext's gdb server (target remote |
kdumpext gdbserver DUMP: memory read as gdb asks, nothing written to disk; one thread per
task, the crashed one first, each CPU's idle task as swapper/N), points gdb at the sources
it finds there (set substitute-path, so list, frame and bt show source lines), then prints
a short summary and the triage report.  A dump opened before is let go (its server exits).
-v also prints every gdb command it ran; kdump open --help lists the options."""

    def __init__(self) -> None:
        super().__init__("kdump open", gdb.COMMAND_DATA, gdb.COMPLETE_FILENAME)

    def invoke_uncaught(self, arg: str, from_tty: bool) -> None:
        args = parse_open_args(gdb.string_to_argv(arg))
        if args.help:
            gdb.write(open_help())
            return
        with _no_pager():
            s = open_session(args.dump, args.vmlinux, args.debug_dirs)
            gdb.write(open_text(s, args.verbose) + "\n\n")
            gdb.write(triage_text(s) + "\n")


@contextlib.contextmanager
def _no_pager() -> Iterator[None]:
    """gdb's pager off while kdump open loads and prints (a screenful of report is not a
    question to answer), restored after."""
    was = gdb.parameter("pagination")
    gdb.execute("set pagination off", False, True)
    try:
        yield
    finally:
        if was:
            gdb.execute("set pagination on", False, True)


class KdumpTriage(_Command):
    """Print the triage report of the open dump (the same text as `kdumpext triage`)."""

    def __init__(self) -> None:
        super().__init__("kdump triage", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke_uncaught(self, arg: str, from_tty: bool) -> None:
        gdb.write(triage_text(session()) + "\n")


class KdumpFault(_Command):
    """Print the verdict on the fault: bad pointer, member, access (the report's verdict block)."""

    def __init__(self) -> None:
        super().__init__("kdump fault", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke_uncaught(self, arg: str, from_tty: bool) -> None:
        gdb.write(fault_text(session()) + "\n")


class KdumpExplain(_Command):
    """Say what an address is: kdump explain ADDR|EXPR [+ OFFSET]

EXPR is evaluated by gdb.  The answer names the kind of address (NULL + off, ERR_PTR,
poison, user, kernel), its symbol, slab object, task, direct-map place and whether the dump
holds it: the same text as `explain` in drgn.  For a struct pointer plus a constant
(`kdump explain cmd->dev + 0x240`) the constant is a BYTE offset and the member of the
pointed-to type at that offset is named; a struct pointer alone names the member at 0."""

    def __init__(self) -> None:
        super().__init__("kdump explain", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke_uncaught(self, arg: str, from_tty: bool) -> None:
        gdb.write(explain_text(session(), arg) + "\n")


class KdumpTasks(_Command):
    """List the dump's tasks: pid, comm, CPU it was running on, state, task_struct address."""

    def __init__(self) -> None:
        super().__init__("kdump tasks", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke_uncaught(self, arg: str, from_tty: bool) -> None:
        gdb.write(tasks_text(session()) + "\n")


class KdumpTaskFunction(gdb.Function):
    """$kdump_task(PID): the task_struct of PID in the open dump, as a `struct task_struct *`."""

    def __init__(self) -> None:
        super().__init__("kdump_task")

    def invoke(self, pid: "gdb.Value") -> "gdb.Value":
        try:
            addr = task_address(session(), int(pid))
        except KdumpextError as e:
            raise gdb.GdbError(str(e)) from None
        return gdb.Value(addr).cast(gdb.lookup_type("struct task_struct").pointer())


class KernelStackEnd:
    """Frame filter: `bt` ends where the kernel stack does, not in user-space values after the syscall entry.

    gdb has no unwind info for the entry code, so past ``entry_SYSCALL_64`` (or past
    ``ret_from_fork``) it reads the saved user registers as return addresses and prints
    a dozen ``?? ()`` frames.  Kernel code lives in the top half of the address space: the
    first frame after #0 whose pc is not there ends the backtrace (``bt -no-filters``
    shows everything).  Active only while a dump is open.
    """

    def __init__(self) -> None:
        self.name = "kdumpext-kernel-stack-end"
        self.priority = 100
        self.enabled = True
        gdb.frame_filters[self.name] = self

    def filter(self, frames: Iterator[FrameDecorator]) -> Iterator[FrameDecorator]:
        if _session is None:
            return frames
        return _kernel_frames(frames)


def _kernel_frames(frames: Iterable[FrameDecorator]) -> Iterator[FrameDecorator]:
    for i, frame in enumerate(frames):
        pc = frame.address()
        if i > 0 and (pc is None or int(pc) < 1 << 63):
            return
        yield _NoSymbol(frame) if i == 0 else _SafeArgs(frame)


class _ArgValue:
    """A frame argument for gdb's printing whose value, when it cannot be read (an argument DWARF
    locates in memory through a bad pointer, ``inode = filp->f_inode`` with ``filp`` an
    ERR_PTR), prints as gdb prints unreadable memory instead of a Python exception."""

    def __init__(self, frame: "gdb.Frame", sym: Any) -> None:
        self._frame, self._sym = frame, sym

    def symbol(self) -> Any:
        return self._sym

    def value(self) -> Any:
        if not isinstance(self._sym, gdb.Symbol):
            return None
        try:
            v = self._frame.read_var(self._sym)
            v.fetch_lazy()
            return v
        except gdb.MemoryError as e:
            return f"<error: {e}>"
        except (gdb.error, ValueError, RuntimeError):
            return None


class _SafeArgs(FrameDecorator):
    """Every frame's arguments through :class:`_ArgValue`."""

    def frame_args(self) -> Any:
        args = super().frame_args()
        if args is None:
            return None
        frame = self.inferior_frame()
        return [_ArgValue(frame, a.symbol()) for a in args]


class _NoSymbol(_SafeArgs):
    """``#0 0x0 in ?? ()`` as gdb prints it unfiltered (a decorator left alone prints ``in  ()``)."""

    def function(self) -> Union[str, int, None]:
        func = super().function()
        if isinstance(func, int):
            found = gdb.execute(f"info symbol {func:#x}", False, True)
            if found.startswith("No symbol"):
                return "??"
        return func


class _FrameId:
    """What ``PendingFrame.create_unwind_info`` wants: an object with ``sp`` and ``pc``."""

    def __init__(self, sp: "gdb.Value", pc: "gdb.Value") -> None:
        self.sp, self.pc = sp, pc


class ExceptionFrameUnwinder(Unwinder):
    """Unwinder: step over the kernel's exception entry (``pt_regs``) where gdb's CFI ends,
    and over arm64 return addresses signed with pointer authentication.

    gdb has no unwind info for ``asm_exc_*``: after a WARN() or any panic taken inside
    an exception handler, ``bt`` would stop there.  drgn unwinds it with ORC
    (:func:`kdumpext.gdbcore.exception_steps`); this hands gdb the interrupted
    context's registers for exactly those frames and leaves every other frame to gdb.

    On an arm64 kernel with pointer authentication (VMCOREINFO's KERNELPACMASK) the return
    addresses saved on the stack carry a PAC, which gdb 13 strips as if they were user
    addresses (``0x0000dde109a64608 [PAC] in ?? ()``): there every frame of a thread is
    unwound by drgn (:func:`kdumpext.gdbcore.unwind_steps`), once per thread, when gdb first
    unwinds it.
    """

    #: the registers handed over, by architecture (gdb's names, which are drgn's)
    _REGS = {
        "x86_64": ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
                   "r14", "r15", "rip"),
        "arm64": tuple(f"x{n}" for n in range(31)) + ("sp", "pc"),
    }

    def __init__(self) -> None:
        super().__init__("kdumpext-exception-frames")

    def __call__(self, pending_frame: "gdb.PendingFrame") -> Optional["gdb.UnwindInfo"]:
        s = _session
        if s is None or not (s.steps or s.pac_mask):
            return None
        from .arch import arch_of

        arch = arch_of(s.opened.prog)
        try:
            pc = int(pending_frame.read_register(arch.pc))
            sp = int(pending_frame.read_register(arch.sp))
        except (gdb.error, ValueError):
            return None
        regs = s.steps.get((pc, sp))
        thread = gdb.selected_thread()
        if regs is None and s.pac_mask and thread is not None:
            regs = s.thread_steps(thread.ptid[1]).get((pc, sp))
        if regs is None:
            return None
        u64 = gdb.lookup_type("unsigned long")
        info = pending_frame.create_unwind_info(_FrameId(gdb.Value(sp).cast(u64), gdb.Value(pc).cast(u64)))
        for name in self._REGS.get(arch.name, ()):
            if name in regs:
                info.add_saved_register(name, gdb.Value(regs[name]).cast(u64))
        if s.pac_mask:  # the same in every frame (gdb 13 asks the caller's frame for them)
            for name in ("pauth_dmask", "pauth_cmask"):
                info.add_saved_register(name, gdb.Value(s.pac_mask).cast(u64))
        return info


KdumpPrefix()
KdumpOpen()
KdumpTriage()
KdumpFault()
KdumpExplain()
KdumpTasks()
KdumpTaskFunction()
KernelStackEnd()
register_unwinder(None, ExceptionFrameUnwinder(), replace=True)
