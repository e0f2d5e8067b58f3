"""The drgn front-end: a drgn plugin (``%triage``, ``%fault``, ``%explain``) and a Python API for drgn scripts.

Installing kdumpext extends drgn through the ``drgn.plugins`` entry point
``kdumpext = kdumpext.drgn`` (setup.cfg).  drgn imports this module when it sets
up its first :class:`drgn.Program` unless ``DRGN_DISABLE_PLUGINS`` matches
``kdumpext`` (``DRGN_PLUGINS=kdumpext`` enables it again), and then calls
:func:`drgn_prog_set` for every program.  Importing the module registers the
commands ``triage``, ``fault`` and ``explain`` in drgn's default command
namespace for Linux kernel programs: ``%triage`` at the drgn prompt,
``drgn.commands.run_command(prog, "triage")`` in a script.  When drgn's crash
mode is loaded too (the ``crash_commands`` plugin), they are also crash
commands: ``%crash triage``, or plain ``triage`` at the ``%crash>`` prompt of
``drgn-crash``.

Module debug info: :func:`drgn_prog_set` registers a debug info finder named
``kdumpext``, enabled right after drgn's ``standard`` finder, that looks in the
directories of ``$KDUMPEXT_DEBUG_PATH`` (read when the finder runs) for what a
module still lacks: ``NAME.ko``, ``NAME.ko.debug`` (also ``.xz``/``.gz``/``.bz2``,
dashes and underscores alike, build-ids checked) and ``vmlinux``.  Files given
with drgn's ``-s`` are tried before any finder, so ``-s`` keeps working, and
``--no-symbols-by kdumpext`` turns the search off.  drgn takes ``-s scst.ko.xz``
but cannot read it (the module would silently go without debug info): the hook
replaces each compressed file given to ``drgn`` or ``drgn-crash`` by an unpacked
copy in kdumpext's cache, and says in one line when it cannot.  The hook and the
finder run while drgn starts and never raise.

On opening a crashed kernel interactively, kdumpext prints **a one-line hint**
(on stderr, like drgn's own version line) that points at ``%triage``; it does
not print the verdict.  Reasons: the hook runs before drgn has loaded any debug
info, so no verdict exists yet; drgn's convention is a quiet, fast start (the
banner, then the prompt), and analysis runs when asked for (``%crash`` prints
its ``sys`` summary only when entered); a verdict would push the banner off the
screen and add the decode and DWARF time to every start.  The hint is printed
only for the program of an interactive ``drgn`` session (what ``drgn.cli``
itself decided: no ``-e``, no script, stdin a terminal) or of a ``drgn-crash``
session reading a terminal, once per program, and only when VMCOREINFO says the
kernel crashed (``CRASHTIME``).  drgn has no public flag for "interactive", so
the hook looks for drgn's ``_main`` frame that is setting up this very program
and reads its decision; if drgn changes that, the hint silently stops, nothing
else does.

Python API (the same engine as ``kdumpext triage``)::

    from kdumpext.drgn import triage, explain_fault, explain_address
    report = triage(prog)             # TriageReport; print(report) is the text report
    report.verdict.crash_class        # "null-deref"; report.to_dict() is the JSON
    explain_fault(prog.crashed_thread().stack_trace()[0])   # FaultVerdict
    explain_address(prog, "0+0x240", type="struct scst_device")  # AddressInfo
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import sys
import types
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, List, Optional, Sequence, Tuple, Union

import drgn

from .errors import DebugInfoMismatch, KdumpextError
from .identify import identify
from .locate import DEBUG_PATH_ENV, SearchPath, find_module_file, find_vmlinux
from .identify import AddressInfo
from .model import DumpInfo, Frame, Report, Verdict
from .report import SCHEMA, render_text, render_verdict, to_json_dict, verdict_dict

if TYPE_CHECKING:  # pragma: no cover
    import argparse

__all__ = [
    "FINDER_NAME",
    "TriageReport",
    "FaultVerdict",
    "AddressInfo",
    "triage",
    "explain_fault",
    "explain_address",
    "parse_address",
    "unpack_given_files",
    "drgn_prog_set",
]

#: Name of the debug info finder this plugin registers.
FINDER_NAME = "kdumpext"

_log = logging.getLogger("kdumpext")
_CACHE_HINTED = "kdumpext.hinted"


# -- result types ------------------------------------------------------------------


class TriageReport(Report):
    """A :class:`~kdumpext.model.Report` whose ``str()`` is the text report of ``kdumpext triage``.

    The fields are the report's; :meth:`to_dict` is the JSON document (schema
    ``kdumpext.triage/1``), whose keys are these fields' (``backtrace`` is
    :attr:`frames`; ``bucket`` is the verdict's).
    """

    schema: ClassVar[str] = SCHEMA

    @classmethod
    def of(cls, report: Report) -> "TriageReport":
        """The same report as a :class:`TriageReport` (its verdict a :class:`FaultVerdict`)."""
        values = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
        values["verdict"] = FaultVerdict.of(report.verdict)
        return cls(**values)

    def __str__(self) -> str:
        return render_text(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Report):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in dataclasses.fields(Report))

    # unhashable, like the Report dataclass; typeshed declares object.__hash__ a method, so
    # mypy rejects the None that Python documents for this (typeshed's own classes ignore it too)
    __hash__ = None  # type: ignore[assignment]

    @property
    def backtrace(self) -> List[Frame]:
        """The frames, innermost first (the JSON's ``backtrace``)."""
        return self.frames

    @property
    def bucket(self) -> str:
        """The verdict's bucket id, ``class:function:struct.member``."""
        return self.verdict.bucket

    def to_dict(self) -> Dict[str, Any]:
        """The JSON document as a dict (schema ``kdumpext.triage/1``)."""
        return to_json_dict(self)

    def to_json(self) -> str:
        """The JSON document, indented as ``kdumpext triage --json`` prints it."""
        return json.dumps(to_json_dict(self), indent=2)


class FaultVerdict(Verdict):
    """A :class:`~kdumpext.model.Verdict` whose ``str()`` is the verdict block (FAULT / NULL / ACCESS ...).

    :meth:`to_dict` is the JSON ``verdict`` object; it flattens :attr:`member`
    into ``struct``, ``type``, ``member``, ``offset``, ``member_size``,
    ``member_type``, and names :attr:`crash_class` ``class``.
    """

    @classmethod
    def of(cls, verdict: Verdict) -> "FaultVerdict":
        """The same verdict as a :class:`FaultVerdict`."""
        if isinstance(verdict, FaultVerdict):
            return verdict
        return cls(**{f.name: getattr(verdict, f.name) for f in dataclasses.fields(verdict)})

    def __str__(self) -> str:
        return render_verdict(self)

    def __eq__(self, other: object) -> bool:
        # equal to the plain Verdict it was made from (dataclass __eq__ wants the same class)
        if not isinstance(other, Verdict):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in dataclasses.fields(Verdict))

    __hash__ = None  # type: ignore[assignment]  # mutable, like Verdict (see TriageReport.__hash__)

    def to_dict(self) -> Dict[str, Any]:
        """The JSON ``verdict`` object (schema ``kdumpext.triage/1``)."""
        return verdict_dict(self)

    @property
    def struct(self) -> Optional[str]:
        """``scst_device`` for a member of ``struct scst_device``; None without a member."""
        return self.member.type_name.split()[-1] if self.member is not None else None


# -- Python API ----------------------------------------------------------------------


def _is_linux_kernel(prog: drgn.Program) -> bool:
    return bool(prog.flags & drgn.ProgramFlags.IS_LINUX_KERNEL)


def _check_crash_dump(prog: drgn.Program) -> None:
    """:raises KdumpextError: ``prog`` is not a kernel crash dump with vmlinux debug info."""
    if not _is_linux_kernel(prog):
        raise KdumpextError("not a Linux kernel program: kdumpext explains kernel crash dumps")
    if prog.flags & drgn.ProgramFlags.IS_LIVE:
        raise KdumpextError("this is a running kernel, not a crash dump: nothing crashed to explain")
    try:
        main = prog.main_module()
    except LookupError:
        main = None
    if main is None or main.wants_debug_file():
        build_id = main.build_id.hex() if main is not None and main.build_id else "unknown"
        raise KdumpextError(
            f"no debug info for the kernel (vmlinux with build-id {build_id}); start drgn with -s VMLINUX, "
            f"or put it in a directory named in ${DEBUG_PATH_ENV}")


def _dump_info(prog: drgn.Program) -> DumpInfo:
    """What the already opened program says about its dump (as ``open_dump`` fills it)."""
    from .dump import sniff

    path = prog.core_dump_path or ""
    fmt = ""
    if path:
        try:
            fmt = str(sniff(path))
        except KdumpextError:
            pass
    info = DumpInfo(path=path, format=fmt)
    try:
        info.release = prog["UTS_RELEASE"].string_().decode()
    except (KeyError, LookupError, drgn.FaultError):
        pass
    try:
        main = prog.main_module()
        info.build_id = main.build_id.hex() if main.build_id else ""
        info.vmlinux = main.debug_file_path or ""
    except LookupError:
        pass
    try:
        loaded = [mod for mod, _new in prog.loaded_modules()]
    except (drgn.FaultError, LookupError, ValueError):
        loaded = list(prog.modules())
    for mod in loaded:
        if not isinstance(mod, drgn.RelocatableModule):
            continue
        info.modules.append(mod.name)
        if mod.wants_debug_file():
            info.modules_missing_debuginfo.append(mod.name)
    return info


def triage(prog: drgn.Program, *, intel: bool = False) -> TriageReport:
    """Explain the crash of a kernel dump opened in drgn (with its debug info loaded).

    The same report as ``kdumpext triage``: ``str()`` is its text,
    :meth:`TriageReport.to_dict` its JSON.

    :param intel: Intel syntax for instructions.
    :raises KdumpextError: not a kernel crash dump, or no vmlinux debug info.
    """
    from .triage import triage_program

    _check_crash_dump(prog)
    info = _dump_info(prog)
    return TriageReport.of(triage_program(prog, info, intel))


def _prog_of(frame: drgn.StackFrame, prog: Optional[drgn.Program]) -> drgn.Program:
    if prog is not None:
        return prog
    # A StackFrame does not point back at its program, but its variables do.
    try:
        for name in frame.locals():
            return frame[name].prog_
    except (LookupError, ValueError):
        pass
    try:
        return drgn.get_default_prog()
    except drgn.NoDefaultProgramError:
        raise ValueError("cannot tell which program the frame belongs to; pass prog=") from None


def explain_fault(frame: drgn.StackFrame, prog: Optional[drgn.Program] = None, *,
                  intel: bool = False) -> FaultVerdict:
    """Explain the access that faulted in ``frame``.

    For the crashed thread's faulting frame (the one ``triage`` explains) this is
    exactly ``triage(prog).verdict``.  For another frame that was interrupted
    (``frame.interrupted``, e.g. a nested fault) it explains the memory access of
    the instruction at ``frame.pc`` with that frame's registers.

    :param frame: a frame of a :class:`drgn.StackTrace`.
    :param prog: the frame's program; default: the program of the frame's
        variables, else drgn's default program.
    :raises ValueError: ``frame`` was not interrupted, so its pc is a return
        address and no instruction of its faulted.
    :raises KdumpextError: see :func:`triage`.
    """
    from .context import CrashContext
    from .triage import explain_frame, frames_of

    prog = _prog_of(frame, prog)
    report = triage(prog, intel=intel)
    # The frame the engine explains: the first that took the exception, else #0.
    fault = next((f for f in report.frames if f.exception), report.frames[0] if report.frames else None)
    if fault is not None and (fault.pc, fault.sp) == (frame.pc, frame.sp):
        return FaultVerdict.of(report.verdict)
    if not frame.interrupted:
        name = frame.name or f"{frame.pc:#x}"
        raise ValueError(f"frame {name} was not interrupted: its pc is a return address, not a faulting instruction")
    frames = frames_of(prog, [frame])
    if frames[0].inlined:
        try:
            sym = frame.symbol()
            frames.append(dataclasses.replace(frames[0], index=1, function=sym.name, offset=frame.pc - sym.address,
                                              inlined=False))
        except LookupError:
            pass
    regs = {k: int(v) for k, v in frame.registers().items()}
    ctx = CrashContext(task=None, thread=None, oops=None, dmesg="")
    return FaultVerdict.of(explain_frame(prog, ctx, frames, 0, regs, intel))


_ADDR_RE = re.compile(r"^\s*(?P<base>[^+\-\s][^+\-]*?)\s*(?:(?P<sign>[+\-])\s*(?P<off>\S+))?\s*$")


def _number(text: str) -> Optional[int]:
    """Hexadecimal, ``0x`` optional (as crash takes addresses); None if not a number."""
    t = text.strip().lower()
    if t.startswith("0x"):
        t = t[2:]
    if not t or any(c not in "0123456789abcdef" for c in t):
        return None
    return int(t, 16)


def parse_address(prog: drgn.Program, text: str) -> Tuple[int, Optional[int], int]:
    """``(address, pointer, offset)`` for ``ADDR``, ``PTR+OFF``, ``PTR-OFF``, ``SYMBOL[+OFF]``.

    Numbers are hexadecimal with or without ``0x``; ``pointer`` is None when no
    offset was written.

    :raises ValueError: not an address, or an unknown symbol.
    """
    m = _ADDR_RE.match(text)
    if m is None:
        raise ValueError(f"not an address: {text!r} (want ADDR, PTR+OFF or SYMBOL+OFF, in hex)")
    base_text, sign, off_text = m.group("base"), m.group("sign"), m.group("off")
    base = _number(base_text)
    if base is None:
        try:
            base = prog.symbol(base_text.strip()).address
        except LookupError:
            raise ValueError(f"not an address or a symbol: {base_text.strip()!r}") from None
    if sign is None:
        return base, None, 0
    off = _number(off_text or "")
    if off is None:
        raise ValueError(f"not a hexadecimal offset: {off_text!r}")
    if sign == "-":
        off = -off
    return (base + off) & 0xFFFF_FFFF_FFFF_FFFF, base, off


def explain_address(prog: drgn.Program, addr: Union[int, str], *,
                    type: Union[str, drgn.Type, None] = None) -> AddressInfo:
    """Say what an address is: :func:`kdumpext.identify.identify` of ``addr``.

    ``addr`` is an int or a string as :func:`parse_address` reads it
    (``0xffff888003a1c000+0x240``, ``0+0x240``, ``jiffies``); ``PTR+OFF`` is the
    address reached through pointer ``PTR``, so ``0+0x240`` is ``NULL + 0x240`` and
    ``type`` is what ``PTR`` points to.  The answer (kind of pointer, symbol,
    module, slab object, task or page, the member reached) is the engine's, and
    ``str()`` of it is what ``%explain`` and gdb's ``kdump explain`` print.

    :param type: C type the pointer points to: ``struct scst_device``,
        ``scst_device`` or ``struct scst_device *``.
    :raises ValueError: ``addr`` is not an address.
    :raises KdumpextError: ``type`` is unknown.
    """
    if isinstance(addr, str):
        address, pointer, offset = parse_address(prog, addr)
    else:
        address, pointer, offset = addr, None, 0
    return identify(prog, address, pointer, offset, type=type)


# -- the debug info finder -----------------------------------------------------------


def _debug_path() -> List[str]:
    return [d for d in os.environ.get(DEBUG_PATH_ENV, "").split(":") if d]


def _find_in_debug_path(modules: Sequence[drgn.Module]) -> None:
    """drgn debug info finder: modules (and vmlinux) that still want debug info, from $KDUMPEXT_DEBUG_PATH.

    Never raises: it runs inside drgn's ``load_debug_info`` at start-up, where an exception
    would end drgn with a traceback; a failure is one warning line.
    """
    try:
        _find_in_debug_path_uncaught(modules)
    except Exception as e:  # noqa: BLE001 - a finder must not break drgn's start
        _log.warning("kdumpext: searching $%s failed: %s", DEBUG_PATH_ENV, " ".join(str(e).split()))


def _find_in_debug_path_uncaught(modules: Sequence[drgn.Module]) -> None:
    dirs = _debug_path()
    wanting = [m for m in modules if m.wants_debug_file()]
    if not dirs or not wanting:
        return
    search = SearchPath([os.path.abspath(d) for d in dirs])
    prog = wanting[0].prog
    try:
        release = prog["UTS_RELEASE"].string_().decode()
    except (KeyError, LookupError, drgn.FaultError):
        release = ""
    for mod in wanting:
        build_id = mod.build_id.hex() if mod.build_id else ""
        path: Optional[str] = None
        try:
            if isinstance(mod, drgn.MainModule):
                path = find_vmlinux(search, release, build_id)
            elif isinstance(mod, drgn.RelocatableModule):
                path = find_module_file(search, release, mod.name, build_id)
        except DebugInfoMismatch as e:  # a vmlinux is there, but not this kernel's
            _log.warning("%s", e)
            continue
        except KdumpextError as e:
            _log.debug("%s: %s", mod.name, e)
            continue
        if path is not None:
            _log.debug("%s: trying %s", mod.name, path)
            mod.try_file(path)


def _register_finder(prog: drgn.Program) -> None:
    if FINDER_NAME in prog.registered_debug_info_finders():
        return
    enabled = prog.enabled_debug_info_finders()
    index = enabled.index("standard") + 1 if "standard" in enabled else -1
    prog.register_debug_info_finder(FINDER_NAME, _find_in_debug_path, enable_index=index)


# -- compressed files given to drgn ------------------------------------------------------


def _drgn_main_locals(prog: drgn.Program) -> Tuple[str, Dict[str, Any]]:
    """``("drgn"|"crash", locals)`` of drgn's (or drgn-crash's) ``_main`` frame that is setting
    up ``prog``; ``("", {})`` when ``prog`` was made some other way (a script, the API)."""
    frame: Optional[types.FrameType] = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_main" and frame.f_locals.get("prog") is prog:
            module = frame.f_globals.get("__name__")
            if module == "drgn.cli":
                return "drgn", frame.f_locals
            if module == "drgn.internal.crashcli":
                return "crash", frame.f_locals
        frame = frame.f_back
    return "", {}


def _given_file_lists(session: str, where: Dict[str, Any]) -> List[List[str]]:
    """The lists of debug files the user gave drgn (``-s``, ``--extra-symbols``; drgn-crash's
    vmlinux), which drgn loads right after this hook."""
    if session == "drgn":
        args = where.get("args")
        lists = [getattr(args, "symbols", None), getattr(args, "extra_symbols", None)]
    elif session == "crash":
        lists = [where.get("debug_info_paths")]
    else:
        lists = []
    return [files for files in lists if isinstance(files, list)]


def unpack_given_files(files: List[str]) -> List[str]:
    """Replace, in ``files``, each compressed debug file (``scst.ko.xz``, ``vmlinux.gz``: drgn
    accepts the name but cannot read it, and the module silently goes without debug info) by
    an uncompressed copy in kdumpext's cache (:func:`kdumpext.locate.unpacked`).

    :return: one warning line per file that could not be unpacked (it is left as it was).
    """
    from .locate import COMPRESSED, unpacked

    warnings = []
    for i, path in enumerate(files):
        if not isinstance(path, str) or os.path.splitext(path)[1] not in COMPRESSED:
            continue
        try:
            files[i] = unpacked(path)
            _log.debug("kdumpext: %s: using the unpacked copy %s", path, files[i])
        except Exception as e:  # noqa: BLE001 - a plugin hook must not break drgn
            folder = os.path.dirname(os.path.abspath(path))
            warnings.append(f"kdumpext: drgn cannot read {os.path.basename(path)} and it could not be unpacked "
                            f"({' '.join(str(e).split())}); unpack it (xz -dk {path}) or let kdumpext find it: "
                            f"{DEBUG_PATH_ENV}={folder}")
    return warnings


# -- the hint ---------------------------------------------------------------------------


def _isatty(f: Any) -> bool:
    try:
        return bool(os.isatty(f.fileno()))
    except (AttributeError, OSError, ValueError):
        return False


def _interactive_session(session: str, where: Dict[str, Any]) -> str:
    """``drgn`` or ``crash`` when the program is being set up by an interactive drgn or
    drgn-crash (``session`` and ``where`` from :func:`_drgn_main_locals`), else "".

    drgn decides "interactive" in ``drgn.cli._main`` (no ``-e``, no script, stdin a
    terminal) before it creates the program; drgn-crash always prompts, so there
    it is stdin being a terminal.
    """
    if session == "drgn":
        return "drgn" if where.get("interactive") is True else ""
    if session == "crash":
        return "crash" if _isatty(sys.stdin) else ""
    return ""


def _crashed(prog: drgn.Program) -> bool:
    """VMCOREINFO has ``CRASHTIME``: the kernel wrote it from crash_kexec(), so this dump is a crash."""
    try:
        vmcoreinfo = prog["VMCOREINFO"].string_()
    except (KeyError, LookupError, drgn.FaultError, ValueError):
        return False
    return b"\nCRASHTIME=" in b"\n" + vmcoreinfo


def _hint(session: str) -> str:
    if session == "crash":
        return ("kdumpext: this kernel crashed; 'triage' explains the crash "
                "('fault' for the verdict, 'explain ADDR'; --help)")
    return ("kdumpext: this kernel crashed; %triage explains the crash "
            "(%fault for the verdict, %explain ADDR; --help)")


def drgn_prog_set(prog: drgn.Program) -> None:
    """drgn plugin hook, called whenever a program's target is set.

    For a Linux kernel core dump: register the ``kdumpext`` debug info finder,
    join drgn's crash mode if it is loaded, give drgn uncompressed copies of the
    compressed debug files it was given (``-s scst.ko.xz``), and print the one-line
    hint for an interactive session.  Cheap (an unpacked copy is made once), and
    never raises: at most one line per problem.
    """
    try:
        if not _is_linux_kernel(prog):
            return
        _register_crash_commands()
        if prog.flags & drgn.ProgramFlags.IS_LIVE:
            return
        _register_finder(prog)
        launcher, where = _drgn_main_locals(prog)
        for files in _given_file_lists(launcher, where):
            for warning in unpack_given_files(files):
                print(warning, file=sys.stderr, flush=True)
        session = _interactive_session(launcher, where)
        if session and not prog.cache.get(_CACHE_HINTED) and _crashed(prog):
            prog.cache[_CACHE_HINTED] = True
            print(_hint(session), file=sys.stderr, flush=True)
    except Exception as e:  # noqa: BLE001 - a plugin hook must not break drgn
        _log.warning("kdumpext plugin: %s", " ".join(str(e).split()))


# -- commands --------------------------------------------------------------------------


def _print_json(d: Dict[str, Any]) -> None:
    json.dump(d, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _help(args: "argparse.Namespace", parser: "argparse.ArgumentParser") -> bool:
    if args.help:
        sys.stdout.write(parser.format_help())
        return True
    return False


def _cmd_triage(prog: drgn.Program, name: str, args: "argparse.Namespace", *,
                parser: "argparse.ArgumentParser", **kwargs: Any) -> None:
    if _help(args, parser):
        return
    report = triage(prog, intel=args.intel)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(render_text(report, evidence=not args.no_evidence))


def _cmd_fault(prog: drgn.Program, name: str, args: "argparse.Namespace", *,
               parser: "argparse.ArgumentParser", **kwargs: Any) -> None:
    if _help(args, parser):
        return
    report = triage(prog, intel=args.intel)
    if args.json:
        _print_json(verdict_dict(report.verdict))
    else:
        print(render_verdict(report.verdict))
        for w in report.warnings:
            print(f"warning: {w}")


def _cmd_explain(prog: drgn.Program, name: str, args: "argparse.Namespace", *,
                 parser: "argparse.ArgumentParser", **kwargs: Any) -> None:
    from drgn.commands import CommandArgumentError

    if _help(args, parser):
        return
    if args.address is None:
        raise CommandArgumentError(f"{name}: the following arguments are required: ADDR")
    try:
        info = explain_address(prog, args.address, type=args.type)
    except ValueError as e:
        raise CommandArgumentError(f"{name}: {e}") from None
    if args.json:
        _print_json(info.to_dict())
    else:
        print(info)


def _arguments() -> Dict[str, Tuple[str, str, Tuple[Any, ...], Callable[..., None]]]:
    """name -> (description, long description, arguments, function)."""
    from drgn.commands import argument

    help_ = argument("-h", "--help", action="store_true", help="show this help")
    json_ = argument("--json", action="store_true", help="print JSON (the report's schema is kdumpext.triage/1)")
    intel = argument("--intel", action="store_true", help="Intel syntax for instructions")
    return {
        "triage": (
            "explain the crash: dump, task, backtrace, verdict (kdumpext)",
            "Print the report of 'kdumpext triage' for this crash dump: which pointer was bad, "
            "which member the faulting instruction accessed, and the evidence.",
            (help_, json_, intel,
             argument("--no-evidence", action="store_true", help="leave out the EVIDENCE block")),
            _cmd_triage,
        ),
        "fault": (
            "the crash verdict: faulting instruction, bad pointer, member (kdumpext)",
            "Print only the verdict block of 'triage': FAULT, the bad pointer, ACCESS, VERDICT.",
            (help_, json_, intel),
            _cmd_fault,
        ),
        "explain": (
            "say what an address is: bad-pointer kind, symbol, slab object, member (kdumpext)",
            "ADDR is hexadecimal (0x optional), PTR+OFF (the access OFF bytes past pointer PTR, "
            "e.g. 0+0x240 for NULL+0x240) or SYMBOL[+OFF].  With --type, name the member of that "
            "type at the offset (from PTR, else from the start of the object holding ADDR).",
            (help_, json_,
             argument("--type", "-t", metavar="TYPE",
                      help="C type PTR points to, e.g. 'struct scst_device' or scst_device"),
             argument("address", metavar="ADDR", nargs="?", help="the address")),
            _cmd_explain,
        ),
    }


def _register(decorator: Callable[..., Callable[[Any], Any]]) -> None:
    for name, (description, long_description, arguments, func) in _arguments().items():
        decorator(name=name, description=description, long_description=long_description,
                  arguments=arguments)(func)


def _register_default_commands() -> None:
    try:
        from drgn.commands.linux import linux_kernel_command
    except ImportError:  # drgn before commands (0.0.31): the Python API still works
        return
    _register(linux_kernel_command)


_crash_registered = False


def _register_crash_commands() -> None:
    """Add our commands to drgn's crash mode, if that is loaded (never load it ourselves:
    ``DRGN_DISABLE_PLUGINS=crash_commands`` must keep ``%crash`` away)."""
    global _crash_registered
    if _crash_registered:
        return
    for name in ("drgn.commands.crash", "drgn.commands._crash.common"):
        module = sys.modules.get(name)
        crash_command = getattr(module, "crash_command", None)
        if crash_command is not None:
            _crash_registered = True
            _register(lambda **kw: crash_command(enabled=_is_linux_kernel, **kw))
            return


def _display_as_str() -> None:
    """At the drgn prompt, show our results with ``str()`` (drgn.cli.display_str)."""
    cli = sys.modules.get("drgn.cli")
    display_str = getattr(cli, "display_str", None)
    if display_str is not None:
        for cls in (TriageReport, FaultVerdict, AddressInfo):
            display_str(cls)


_register_default_commands()
_register_crash_commands()
_display_as_str()
