"""The crash front-end: ``kdumpext crash-extension`` builds crash's ``triage``/``fault``/``explain`` extension and answers it.

The extension (``crashext.c``, shipped in the package) is thin: each of its commands runs
``kdumpext crash-extension --run COMMAND`` in this package's Python with the dump crash
opened, the vmlinux it loaded and the module debug files loaded with ``mod -s``/``mod -S``,
and copies the output into crash's.  This module builds it (the system C compiler against
crash's installed ``defs.h``, crash's target macro for the architecture of the ``crash`` on
``$PATH``) into kdumpext's cache, once per Python, package and target: the path stays the
same, so ``extend PATH`` in ``~/.crashrc`` keeps working, and the library is rebuilt in
place when the C source, the header, the compiler or the target change (the build's stamp
is compiled into it).  With ``--run`` it answers the extension's commands with the engine:
:func:`kdumpext.triage.triage` and :func:`kdumpext.identify.identify`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import BinaryIO, Dict, Iterator, List, Optional, Sequence, Tuple

from .errors import KdumpextError, UsageError

__all__ = [
    "SOURCE",
    "LIBRARY",
    "HEADERS",
    "CACHE_KIND",
    "BUILD_MARKER",
    "Target",
    "TARGETS",
    "target_for_machine",
    "c_string",
    "source_stamp",
    "build_stamp",
    "compile_command",
    "compiler_problem",
    "is_current",
    "find_header",
    "find_compiler",
    "crash_target",
    "build",
    "module_dirs",
    "add_arguments",
    "run",
]

#: The extension's C source, shipped in the package (setup.cfg's package_data).
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crashext.c")
#: The library's file name, as ``extend`` lists it.
LIBRARY = "kdumpext.so"
#: Where crash's extension header is installed: Debian and Ubuntu's ``crash``, Fedora and
#: RHEL's ``crash-devel``; then a ``make install`` from source.
HEADERS = ("/usr/include/crash/defs.h", "/usr/local/include/crash/defs.h")
#: The cache directory (a kind of :mod:`kdumpext.cache` entry) the library is built into.
CACHE_KIND = "crash-extension"
#: What precedes the build stamp in the library (``kdumpext_crash_build`` in crashext.c).
BUILD_MARKER = b"kdumpext-crash-extension-build "

_SUGGEST_HEADER = ("install crash (Debian, Ubuntu: apt install crash) or crash-devel "
                   "(Fedora, RHEL: dnf install crash-devel)")
_SUGGEST_CC = "install gcc (Debian, Ubuntu: apt install gcc; Fedora, RHEL: dnf install gcc)"
#: Headers defs.h includes that a bare compiler may lack -> the packages that have them.
_HEADER_PACKAGES: Dict[str, str] = {
    "zlib.h": "zlib1g-dev (Debian, Ubuntu) or zlib-devel (Fedora, RHEL)",
    "stdio.h": "libc6-dev (Debian, Ubuntu) or glibc-devel (Fedora, RHEL)",
}


@dataclass(frozen=True)
class Target:
    """One of crash's build targets: the macro defs.h is read with and the flags that go with it
    (crash's configure.c: ``TARGET`` and ``TARGET_CFLAGS`` of a native build)."""

    name: str  #: ``X86_64``, ``ARM64``, ...
    cflags: Tuple[str, ...] = ()


#: crash's native targets, by name.
TARGETS: Dict[str, Target] = {t.name: t for t in (
    Target("X86_64"),
    Target("X86", ("-D_FILE_OFFSET_BITS=64",)),
    Target("ARM64"),
    Target("ARM", ("-D_FILE_OFFSET_BITS=64",)),
    Target("PPC64", ("-m64",)),
    Target("S390X"),
    Target("RISCV64"),
    Target("LOONGARCH64"),
    Target("SPARC64"),
)}

#: ELF ``e_machine`` -> target name.
_BY_MACHINE = {62: "X86_64", 3: "X86", 183: "ARM64", 40: "ARM", 21: "PPC64", 22: "S390X", 243: "RISCV64",
               258: "LOONGARCH64", 43: "SPARC64"}
#: ``uname -m`` -> target name (when the crash binary cannot tell).
_BY_UNAME = {"x86_64": "X86_64", "i386": "X86", "i686": "X86", "aarch64": "ARM64", "armv7l": "ARM",
             "ppc64le": "PPC64", "ppc64": "PPC64", "s390x": "S390X", "riscv64": "RISCV64",
             "loongarch64": "LOONGARCH64", "sparc64": "SPARC64"}


def target_for_machine(machine: int = 0, uname: str = "") -> Optional[Target]:
    """crash's target for ELF ``e_machine`` ``machine`` (62: ``X86_64``), else for the
    ``uname -m`` name ``uname``; None when neither is known."""
    name = _BY_MACHINE.get(machine) or _BY_UNAME.get(uname)
    return TARGETS[name] if name else None


def c_string(text: str) -> str:
    """``text`` as a C string literal (for ``-DNAME=...``): quotes, backslashes and bytes outside
    printable ASCII escaped (UTF-8, in octal)."""
    out = []
    for byte in text.encode():
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def source_stamp(source: bytes) -> str:
    """The C source's stamp, 16 hex digits: compiled into the library, passed with each command."""
    return hashlib.sha256(source).hexdigest()[:16]


def build_stamp(source: bytes, header: bytes, target: Target, python: str, root: str, compiler: Sequence[str]) -> str:
    """What a build is made from, as 32 hex digits: the C source, crash's header, the target, the
    Python and package directory compiled in, the compiler command."""
    h = hashlib.sha256()
    for part in (source, header, json.dumps([target.name, list(target.cflags), python, root, list(compiler)]).encode()):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:32]


def compile_command(compiler: Sequence[str], source: str, header: str, target: Target, python: str, root: str,
                    stamp: str, output: str, source_id: str = "") -> List[str]:
    """The compiler command that builds the extension: crash's extensions/Makefile line
    (``gcc -Wall -g -shared -rdynamic -fPIC -D$(TARGET) $(TARGET_CFLAGS)``), ``-I`` the
    header's directory, and the Python, package root, build stamp and ``source_id``
    (:func:`source_stamp`) compiled in."""
    return [*compiler, "-Wall", "-g", "-shared", "-rdynamic", "-fPIC", f"-D{target.name}", *target.cflags,
            f"-I{os.path.dirname(header)}",
            f"-DKDUMPEXT_PYTHON={c_string(python)}", f"-DKDUMPEXT_ROOT={c_string(root)}",
            f"-DKDUMPEXT_BUILD={c_string(stamp)}", f"-DKDUMPEXT_SOURCE={c_string(source_id)}",
            "-o", output, source]


def compiler_problem(stderr: str) -> str:
    """One line out of a failed compile's messages: the first error, and for a missing header
    the package that has it."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    first = next((line for line in lines if "error:" in line), lines[0] if lines else "no message")
    for header, package in _HEADER_PACKAGES.items():
        if f"{header}: No such file" in first:
            return f"{first}; install {package}"
    return first


def is_current(data: bytes, stamp: str) -> bool:
    """Whether the library ``data`` was built with ``stamp`` (:func:`build_stamp`)."""
    return BUILD_MARKER + stamp.encode() + b"\0" in data


def find_header(candidates: Sequence[str] = HEADERS) -> str:
    """crash's ``defs.h``.

    :raises KdumpextError: not installed (the message names the package).
    """
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise KdumpextError(f"crash's extension header is missing (looked for {', '.join(candidates)}): "
                        f"{_SUGGEST_HEADER}")


def find_compiler() -> List[str]:
    """The C compiler command: ``$CC`` (split as a shell would), else ``cc``, ``gcc`` or ``clang``.

    :raises KdumpextError: none is installed (the message names the package).
    """
    given = shlex.split(os.environ.get("CC", ""))
    if given:
        path = shutil.which(given[0])
        if path is None:
            raise KdumpextError(f"$CC is {given[0]}, which is not installed: {_SUGGEST_CC}, or unset CC")
        return [path] + given[1:]
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path is not None:
            return [path]
    raise KdumpextError(f"no C compiler (cc, gcc or clang; or $CC) to build the crash extension: {_SUGGEST_CC}")


def crash_target(name: Optional[str] = None) -> Target:
    """The target to build for: ``name`` (``ARM64``), else that of the ``crash`` on ``$PATH``
    (its ELF machine), else this machine's.

    :raises UsageError: ``name`` is not a target crash has.
    :raises KdumpextError: the architecture is not one crash supports.
    """
    from .locate import elf_machine

    if name:
        if name.upper() not in TARGETS:
            raise UsageError(f"--target {name}: not one of crash's targets ({', '.join(TARGETS)})")
        return TARGETS[name.upper()]
    crash = shutil.which("crash")
    target = target_for_machine(elf_machine(crash) if crash else 0, os.uname().machine)
    if target is None:
        raise KdumpextError(f"cannot tell crash's target for this machine ({os.uname().machine}); give --target")
    return target


def _package_root() -> str:
    """The directory holding the ``kdumpext`` package (put first on the child's ``sys.path``)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(force: bool = False, target_name: Optional[str] = None, python: Optional[str] = None) -> str:
    """The extension for this Python and package, built into kdumpext's cache when missing or
    out of date (or ``force``); its path.

    :param python: the interpreter its commands run (default: this one, ``sys.executable``
        as started, a venv's ``bin/python`` unresolved).
    :raises KdumpextError: no ``defs.h``, no compiler, or the compile failed (one line each).
    """
    from . import cache

    header = find_header()
    target = crash_target(target_name)
    compiler = find_compiler()
    python = python or sys.executable
    root = _package_root()
    with open(SOURCE, "rb") as f:
        source = f.read()
    with open(header, "rb") as f:
        stamp = build_stamp(source, f.read(), target, python, root, compiler)
    store = cache.Store(CACHE_KIND)
    key = cache.make_key("crash-extension/1", python, root, target.name)
    path = store.lookup(key, LIBRARY)
    if path is not None and not force:
        with open(path, "rb") as f:
            if is_current(f.read(), stamp):
                return path

    def write(out: BinaryIO) -> None:
        with tempfile.TemporaryDirectory(prefix="kdumpext-crash-build-") as tmp:
            built = os.path.join(tmp, LIBRARY)
            cmd = compile_command(compiler, SOURCE, header, target, python, root, stamp, built, source_stamp(source))
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise KdumpextError(f"{compiler[0]}: cannot build the crash extension ({e})") from None
            if done.returncode != 0:
                raise KdumpextError(f"{compiler[0]} failed to build the crash extension against {header}: "
                                    f"{compiler_problem(done.stderr)}")
            with open(built, "rb") as f:
                shutil.copyfileobj(f, out)

    path, _written = store.fill(key, LIBRARY, write, what=f"crash extension ({target.name}) running {python}",
                                replace=True)
    return path


@contextlib.contextmanager
def module_dirs(files: Sequence[str]) -> Iterator[List[str]]:
    """A directory holding (links to) exactly ``files``, the module debug files crash loaded, as
    a ``--debug-dir`` list (empty without files): kdumpext searches directories, and the
    files' own may be large trees (a home directory).  Removed afterwards."""
    present = [os.path.abspath(f) for f in files if os.path.isfile(f)]
    if not present:
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="kdumpext-crash-modules-") as tmp:
        for i, path in enumerate(present):
            os.mkdir(os.path.join(tmp, str(i)))  # one each: two modules' files may share a name
            os.symlink(path, os.path.join(tmp, str(i), os.path.basename(path)))
        yield [tmp]


# --- the command ---------------------------------------------------------------------------


def _address(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``kdumpext crash-extension`` (and, hidden, those the extension passes)."""
    p.description = (
        "Build kdumpext's extension for the crash utility (the system C compiler against crash's installed "
        "defs.h, for the architecture of the crash on $PATH) into kdumpext's cache, unless it is there and "
        "current, and print its path. In crash, 'extend PATH' (or that line in ~/.crashrc) adds the commands "
        "triage, fault and explain ADDR|EXPR; 'help triage' describes them. They run kdumpext in this "
        "Python ($KDUMPEXT_PYTHON overrides it when crash loads the extension) on the dump crash opened, "
        "with the vmlinux and module debug files crash loaded.")
    p.add_argument("--force", action="store_true", help="build it again even when the cached build is current")
    p.add_argument("--target", metavar="TARGET",
                   help=f"crash's build target: {', '.join(TARGETS)} (default: the architecture of the crash on "
                        "$PATH; give it for a crash built for another one, e.g. ARM64 on x86-64)")
    hidden = argparse.SUPPRESS  # what the extension passes when it runs a command
    p.add_argument("--run", choices=("triage", "fault", "explain"), help=hidden)
    p.add_argument("--dump", help=hidden)
    p.add_argument("--vmlinux", help=hidden)
    p.add_argument("--module-file", action="append", default=[], help=hidden)
    p.add_argument("--json", action="store_true", help=hidden)
    p.add_argument("--intel", action="store_true", help=hidden)
    p.add_argument("--no-evidence", action="store_true", help=hidden)
    p.add_argument("--address", type=_address, help=hidden)
    p.add_argument("--pointer", type=_address, help=hidden)
    p.add_argument("--type", help=hidden)
    p.add_argument("--source-stamp", help=hidden)
    p.epilog = ("In crash: 'extend PATH' once, or put it in ~/.crashrc: echo \"extend $(kdumpext crash-extension)\" "
                ">> ~/.crashrc (crash itself does not expand $(...)).")


def _answer(args: argparse.Namespace) -> int:
    """One command of the extension: print what ``triage``, ``fault`` or ``explain`` prints in drgn."""
    from .report import render_text, render_verdict, to_json_dict, verdict_dict

    if not args.dump:
        raise UsageError("--run needs --dump (the crash extension passes it)")
    if args.source_stamp is not None:
        with open(SOURCE, "rb") as f:
            if source_stamp(f.read()) != args.source_stamp:
                print("kdumpext: this crash extension was built from another kdumpext: run `kdumpext "
                      "crash-extension` and extend it again (in a new crash session)", file=sys.stderr)
    with module_dirs(args.module_file) as dirs:
        if args.run == "explain":
            return _explain(args, dirs)
        from .triage import triage

        report = triage(args.dump, args.vmlinux, dirs, intel=args.intel)
    if args.run == "triage":
        text = json.dumps(to_json_dict(report), indent=2) if args.json else \
            render_text(report, evidence=not args.no_evidence)
    elif args.json:
        text = json.dumps(verdict_dict(report.verdict), indent=2)
    else:
        text = "\n".join([render_verdict(report.verdict)] + [f"warning: {w}" for w in report.warnings])
    print(text)
    return 0


def _explain(args: argparse.Namespace, dirs: List[str]) -> int:
    from .dump import open_dump
    from .identify import identify
    from .model import MASK64

    if args.address is None:
        raise UsageError("explain needs --address (the crash extension passes it)")
    offset = 0
    if args.pointer is not None:  # PTR+OFF or PTR-OFF: a signed offset
        offset = ((args.address - args.pointer + (1 << 63)) & MASK64) - (1 << 63)
    opened = open_dump(args.dump, args.vmlinux, dirs)
    info = identify(opened.prog, args.address, args.pointer, offset, type=args.type.strip() if args.type else None)
    print(json.dumps(info.to_dict(), indent=2) if args.json else str(info))
    return 0


def run(args: argparse.Namespace) -> int:
    """``kdumpext crash-extension``: build (if needed) and print the library's path; with ``--run``,
    answer one of the extension's commands."""
    if args.run:
        return _answer(args)
    print(build(force=args.force, target_name=args.target))
    return 0
