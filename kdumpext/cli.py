"""The ``kdumpext`` command: triage, oops, batch, buckets, gdb-core, gdbserver, crash-extension, cache (thin: parse, call the engine, print)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from types import ModuleType
from typing import TYPE_CHECKING, Callable, Dict, List, NoReturn, Optional, Tuple

from .errors import KdumpextError, UsageError
from .options import EXIT_STATUS, add_debug_args, epilog

if TYPE_CHECKING:  # pragma: no cover
    from .known import KnownMatch

__all__ = ["main", "build_parser"]


#: name -> (help, description, examples) of each subcommand; batch, gdb-core, gdbserver, crash-extension and cache get their
#: arguments (and may set their own description and notes) from their modules' ``add_arguments``.
_COMMANDS: Dict[str, Tuple[str, str, Tuple[str, ...]]] = {
    "triage": (
        "explain one crash dump",
        "Explain one kernel crash dump: the crashed task, the backtrace, the faulting instruction, "
        "which pointer was bad and which member it was used to reach, with the evidence.",
        ("kdumpext triage /var/crash/202611261148/dump.202611261148",
         "kdumpext triage sample-dumps/scst-null-dev/*/dump.* --debug-dir sample-dumps/build",
         "kdumpext triage vmcore --vmlinux /usr/lib/debug/boot/vmlinux-6.1.0-18-amd64 --json"),
    ),
    "oops": (
        "explain an oops from kernel log text (dmesg.<stamp>, vmcore-dmesg.txt)",
        "Explain an oops, BUG or panic from kernel log text when there is no (usable) dump: RIP, "
        "registers, the Code: bytes and the call trace; with the vmlinux and modules, the same DWARF "
        "explanation as for a dump.",
        ("kdumpext oops /var/crash/202611261148/dmesg.202611261148",
         "kdumpext oops sample-dumps/scst-null-dev/*/dmesg.* --debug-dir sample-dumps/build",
         "journalctl -k -b -1 > log.txt && kdumpext oops log.txt --vmlinux vmlinux"),
    ),
    "batch": (
        "triage every dump under directories; bucket them",
        "Triage every crash dump under the given directories and group them by bucket.",
        ("kdumpext batch /var/crash",
         "kdumpext batch sample-dumps/ --format markdown --out report.md",
         "kdumpext batch /srv/crashes --jobs 4 --debug-dir /srv/debug --format jsonl"),
    ),
    "buckets": (
        "list the crash history's buckets (what batch recorded), most recently seen first",
        "List the buckets of the crash history that kdumpext batch records.",
        ("kdumpext buckets",
         "kdumpext buckets --since 7d --known known.toml",
         "kdumpext buckets --db /srv/crash/history.sqlite --json"),
    ),
    "gdb-core": (
        "write a gdb-readable ELF core of a dump (an export; gdb itself can read the dump via gdbserver)",
        "Write a gdb-readable ELF core of a kernel dump (its memory, kernel and module text, one "
        "thread per task) and print the gdb commands that load it with vmlinux and the modules: an "
        "export for tools that want a core file; gdb reads a dump without one through `kdumpext gdbserver`.",
        ("kdumpext gdb-core /var/crash/202611261148/dump.202611261148 -o dump.core",
         "kdumpext gdb-core sample-dumps/scst-null-dev/*/dump.* --debug-dir sample-dumps/build -o /tmp/scst.core"),
    ),
    "gdbserver": (
        "serve a dump to gdb over the remote protocol (target remote | kdumpext gdbserver DUMP)",
        "Serve a kernel dump to gdb over the GDB remote protocol, read-only: memory is read lazily from "
        "the dump, every task is a thread with its registers.",
        ("kdumpext gdbserver /var/crash/202611261148/dump.202611261148 --gdb-commands > dump.gdb && gdb -q -x dump.gdb",
         "(gdb) target remote | kdumpext gdbserver DUMP    (after symbol-file -o KASLR_OFFSET vmlinux)",
         "kdumpext gdbserver DUMP --listen 1234    (then in gdb: target remote 127.0.0.1:1234)"),
    ),
    "crash-extension": (
        "build the crash extension (triage, fault, explain inside crash); print its path",
        "Build kdumpext's extension for the crash utility and print its path.",
        ("kdumpext crash-extension    (then in crash: extend PATH)",
         "echo \"extend $(kdumpext crash-extension)\" >> ~/.crashrc"),
    ),
    "cache": (
        "list, prune or clear kdumpext's cache",
        "List, prune or clear kdumpext's cache (unpacked files, gdb cores, batch results).",
        ("kdumpext cache --list", "kdumpext cache --prune", "kdumpext cache --clear"),
    ),
}

#: Subcommands implemented in modules of their own (``add_arguments(p)``, ``run(args) -> int``).
_FRONTENDS = {"batch": ".batch", "buckets": ".bucketscmd", "gdb-core": ".gdbcore", "gdbserver": ".gdbserver", "crash-extension": ".crashext",
              "cache": ".cachecmd"}


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as kdumpext prints errors: the usage on one line, then
    ``kdumpext: [COMMAND: ]what was wrong``; exit status 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.split(None, 1)[1:]
        where = f"{command[0]}: " if command else ""
        self.exit(2, f"{' '.join(self.format_usage().split())}\nkdumpext: {where}{message}\n")


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser of every subcommand.

    ``command``: the subcommand about to run, when known; the front-end modules of the
    others (batch, gdb-core, cache) are then not imported, which keeps a single triage quick.
    Each subcommand's parser is its namespace's ``_parser`` (for errors in its own words).
    """
    from . import __version__

    parser = _Parser(
        prog="kdumpext",
        description="Explain Linux kernel crash dumps: which pointer was bad, which member was accessed.",
        epilog=epilog(["kdumpext triage sample-dumps/scst-null-dev/*/dump.* --debug-dir sample-dumps/build",
                       "kdumpext batch /var/crash",
                       "kdumpext COMMAND --help        (each command's options and examples)"],
                      EXIT_STATUS + "."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kdumpext {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    for name, (helptext, description, examples) in _COMMANDS.items():
        wanted = command in (None, name)
        p = sub.add_parser(name, help=helptext, add_help=wanted, description=description,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(_parser=p)
        if name == "triage":
            p.add_argument("dump", help="vmcore / dump.<stamp> (kdump-compressed, ELF or flattened; .xz/.gz too)")
            add_debug_args(p)
            p.add_argument("--json", action="store_true", help="print JSON (schema kdumpext.triage/1)")
            p.add_argument("--intel", action="store_true", help="Intel syntax for instructions")
            p.add_argument("--no-evidence", action="store_true", help="leave out the EVIDENCE block")
            p.add_argument("--cpus", action="store_true",
                           help="also what every other CPU was running: its task and the top of its stack")
            p.add_argument("--known", metavar="FILE",
                           help="known issues (TOML, as for batch): say whether the bucket is a known bug, and "
                                "when it recurs on a release that should have the fix (default: "
                                "$KDUMPEXT_KNOWN_ISSUES when set)")
            p.set_defaults(func=_triage)
        elif name == "oops":
            p.add_argument("file", help="a file with the oops text")
            add_debug_args(p, "resolve functions, source lines and types with this vmlinux (the oops names "
                              "its release); its directory is searched for module debug info too")
            p.add_argument("--json", action="store_true", help="print JSON")
            p.add_argument("--intel", action="store_true", help="Intel syntax for instructions")
            p.set_defaults(func=_oops)
        elif wanted:
            mod = _frontend(name)
            if mod is not None:
                mod.add_arguments(p)
                p.set_defaults(func=mod.run)
            else:
                p.set_defaults(func=_unavailable(name))
        # the module's add_arguments may have set its own description and notes: keep them
        p.description = textwrap.fill(p.description or description, 90)
        p.epilog = epilog(examples, p.epilog or "")
    return parser


def _frontend(name: str) -> Optional[ModuleType]:
    """The module implementing subcommand ``name`` (``add_arguments``, ``run``), if present."""
    import importlib

    try:
        return importlib.import_module(_FRONTENDS[name], __package__)
    except ImportError:
        return None


def _unavailable(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise UsageError(f"'{name}' is not available in this installation")
    return run


def _triage(args: argparse.Namespace) -> int:
    from .known import known_issues
    from .report import render_text, to_json_dict
    from .triage import triage

    known = known_issues(args.known)  # a bad file is said before the dump is opened
    report = triage(args.dump, args.vmlinux, args.debug_dir, intel=args.intel, cpus=args.cpus)
    match = known.match(report.verdict.bucket, report.dump.release) if known is not None else None
    if args.json:
        doc = to_json_dict(report)
        if known is not None:
            doc["known"] = match.to_dict() if match is not None else None
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(render_text(report, evidence=not args.no_evidence,
                          known=_known_lines(match, known.path) if known is not None else ""))
    return 0


def _known_lines(match: "Optional[KnownMatch]", path: str) -> str:
    """``KNOWN    scst detach race (fixed in 6.1.60)`` and its link; ``NEW  not in FILE``."""
    if match is None:
        return f"NEW      not in the known issues ({path})"
    lines = ["KNOWN    " + match.text()[len("known: "):]]
    lines += [f"         {x}" for x in (match.issue.link, match.issue.note) if x]
    return "\n".join(lines)


def _oops(args: argparse.Namespace) -> int:
    from .oopstriage import oops_report
    from .report import render_text, to_json_dict

    report = oops_report(args.file, args.vmlinux, intel=args.intel, debug_dirs=args.debug_dir)
    if args.json:
        json.dump(to_json_dict(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(render_text(report))
    return 0


def _lazy_drgn_linux_helpers() -> None:
    """Let ``from drgn.helpers.linux.X import y`` load only module X, in this process.

    ``drgn/helpers/linux/__init__.py`` imports every helper module (about 45 ms, an eighth of
    a triage, more than the analysis itself); the CLI uses five of them.  A stand-in package
    with the same ``__path__`` loads submodules on demand and still answers a package-level
    name (``from drgn.helpers.linux import list_for_each``) by importing the modules then.
    Only the CLI does this: inside drgn or gdb the real package is left alone.
    """
    if "drgn.helpers.linux" in sys.modules:
        return
    try:
        import drgn.helpers
    except ImportError:
        return
    import types

    path = os.path.join(os.path.dirname(os.path.abspath(drgn.helpers.__file__)), "linux")
    pkg = types.ModuleType("drgn.helpers.linux", "drgn's Linux helpers, submodules loaded on demand (kdumpext CLI)")
    pkg.__path__ = [path]
    pkg.__package__ = "drgn.helpers.linux"

    def __getattr__(name: str) -> object:
        import importlib
        import pkgutil

        for info in pkgutil.iter_modules([path]):
            sub = importlib.import_module(f"drgn.helpers.linux.{info.name}")
            if name in getattr(sub, "__all__", ()):
                return getattr(sub, name)
        raise AttributeError(f"module 'drgn.helpers.linux' has no attribute {name!r}")

    setattr(pkg, "__getattr__", __getattr__)
    sys.modules["drgn.helpers.linux"] = pkg
    setattr(drgn.helpers, "linux", pkg)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``kdumpext`` console script; returns the exit status."""
    # drgn loads installed plugins (ours included) when a Program is made; the CLI
    # needs none of them and must not depend on what else is installed.
    os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")
    _lazy_drgn_linux_helpers()
    words = sys.argv[1:] if argv is None else argv
    command = next((w for w in words if not w.startswith("-")), None)
    parser = build_parser(command)
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse leaves what a subcommand did not know to the top-level parser, whose usage
        # would not say what the subcommand takes: report it in the subcommand's words
        getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except KdumpextError as e:
        print(f"kdumpext: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("kdumpext: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # noqa: BLE001 - one line, never a traceback, unless asked for
        if os.environ.get("KDUMPEXT_DEBUG"):
            raise
        print(f"kdumpext: internal error: {type(e).__name__}: {e} (KDUMPEXT_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
