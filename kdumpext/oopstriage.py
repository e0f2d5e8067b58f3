"""Explain a crash from the kernel's oops text (dmesg.<stamp>, vmcore-dmesg.txt) when the dump cannot be opened."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple

from .arch import arch_named, arch_of
from .context import CrashContext, CrashSource, decode_taint
from .errors import KdumpextError, NoOopsError, ReleaseMismatch, UsageError
from .locate import SearchPath, elf_machine, find_module_file, find_vmlinux, regular_file
from .model import DumpInfo, Frame, Registers, Report, TaskInfo, Verdict
from .oops import Oops, TraceEntry, iter_lines, panic_line, parse_oops, parse_panic, strip_timestamps
from .triage import assemble_report, explain_crash

if TYPE_CHECKING:  # pragma: no cover
    import drgn

__all__ = [
    "TEXT_FORMAT",
    "read_log",
    "kernel_part",
    "parse_log",
    "log_uptime",
    "modules_linked_in",
    "frames_from_oops",
    "explain_oops",
    "log_source",
    "TextProgram",
    "report_from_text",
    "oops_report",
]

#: ``DumpInfo.format`` of a report made from log text rather than from a dump.
TEXT_FORMAT = "oops text"

_PAGE = 4096
_MODULE_AREA = 0xFFFF_FFFF_C000_0000  # where the synthetic module layout starts (MODULES_VADDR)
_MODULE_STRIDE = 0x100_0000
_SHF_ALLOC = 0x2


# --- reading and cutting the log (pure) ---------------------------------------------

_OPENERS: Dict[str, Any] = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}


#: How much of a kernel log is read: its tail, where the oops is (a log buffer is 128 KiB to a few MiB).
_LOG_TAIL = 32 << 20
#: How much a compressed log may unpack to before it is taken as damaged (a decompression bomb).
_LOG_UNPACKED_MAX = 512 << 20


def _tail(f: Any, limit: int) -> bytes:
    """The last :data:`_LOG_TAIL` bytes of stream ``f``, reading at most ``limit`` bytes of it.

    :raises ValueError: the stream is longer than ``limit``.
    """
    kept = b""
    total = 0
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            return kept
        total += len(chunk)
        if total > limit:
            raise ValueError(f"unpacks to more than {limit >> 20} MiB: not a kernel log")
        kept = (kept + chunk)[-_LOG_TAIL:]


def read_log(path: str) -> str:
    """The text of a kernel log file (also ``.xz``/``.gz``/``.bz2``), undecodable bytes replaced.

    :raises UsageError: the file cannot be read.
    """
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory; give the log file (dmesg.<stamp>, vmcore-dmesg.txt)")
    regular_file(path, "log file (dmesg.<stamp>, vmcore-dmesg.txt)")
    opener = _OPENERS.get(os.path.splitext(path)[1])
    try:
        if opener is not None:
            with opener(path, "rb") as f:
                data = _tail(f, _LOG_UNPACKED_MAX)
        else:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > _LOG_TAIL:
                    f.seek(size - _LOG_TAIL)  # the oops is at the end of a log; a huge one is cut
                data = f.read(_LOG_TAIL)
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory; give the log file (dmesg.<stamp>, vmcore-dmesg.txt)") from None
    except (OSError, EOFError, lzma.LZMAError, ValueError) as e:
        raise UsageError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    return data.decode(errors="replace")


_USER_RIP = re.compile(r"^RIP: 0033:")
# the lines show_regs() prints for the user-mode registers after the kernel's call trace
_USER_REGS = re.compile(r"^(?:Code|RSP|RAX|RDX|RBP|R10|R13|FS|CS|CR2: [0-9a-f]+ CR3|DR[0-7]|PKRU): ")


def kernel_part(text: str) -> str:
    """``text`` without the user-mode register blocks (``RIP: 0033:...`` and what follows).

    A syscall's oops prints the user registers after the call trace, with their own
    ``Code:`` line; when the kernel's ``Code:`` was "Unable to access opcode bytes",
    that user ``Code:`` must not be taken for the kernel's.
    """
    if "RIP: 0033:" not in text:
        return text
    out: List[str] = []
    skipping = False
    for line in iter_lines(text):
        bare = strip_timestamps(line).strip()
        if _USER_RIP.match(bare):
            skipping = True
            continue
        if skipping and _USER_REGS.match(bare):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out)


def _dump_hint(path: str) -> str:
    """``it is a crash dump: kdumpext triage PATH`` when the file is one ("" otherwise)."""
    from .dump import sniff
    from .errors import KdumpextError

    try:
        sniff(path)
    except (KdumpextError, OSError):
        return ""
    return f"it is a crash dump: kdumpext triage {path}"


def parse_log(text: str) -> Optional[Oops]:
    """The first oops of a kernel log, or for a plain ``panic()`` its message and call trace.

    :func:`kdumpext.oops.parse_oops` reads the oops; a log with only a
    ``Kernel panic - not syncing:`` line (``panic()`` called directly, e.g. by sysrq)
    gets an :class:`Oops` with an empty title, ``panic`` set and the trace printed
    after it.  None when the log has neither.
    """
    text = kernel_part(text)
    oops = parse_oops(text)  # stops where panic() starts its own report
    if oops is not None:
        oops.panic = oops.panic or panic_line(text)
        return oops
    return parse_panic(text)


_STAMP = re.compile(r"^\s*(?:<\d+>)?\[\s*(\d+\.\d+)\]")


def log_uptime(text: str, title: str) -> Optional[float]:
    """Seconds since boot printed before the first line containing ``title`` (None if no stamp)."""
    if not title:
        return None
    for line in iter_lines(text):
        if title in line:
            m = _STAMP.match(line)
            return float(m.group(1)) if m else None
    return None


_MODULES = re.compile(r"Modules linked in:(.*)")


def modules_linked_in(text: str) -> List[str]:
    """Module names of the first ``Modules linked in:`` line (``kdx(O)`` -> ``kdx``)."""
    for line in iter_lines(text):
        m = _MODULES.search(line)
        if m:
            return [w.split("(")[0] for w in m.group(1).split() if w and not w.startswith("[")]
    return []


# --- frames and the verdict ---------------------------------------------------------

#: ``(function, module, offset) -> address``, None when unknown.
Resolver = Callable[[str, str, int], Optional[int]]


def frames_from_oops(oops: Oops, resolve: Optional[Resolver] = None) -> List[Frame]:
    """The oops' RIP and the reliable lines of its call trace as :class:`Frame` records.

    Frame 0 is the exception frame when the oops has a ``RIP:`` line.  ``pc`` is what
    ``resolve`` gives for ``function+offset`` (with a vmlinux), else the bare RIP the
    kernel printed, else 0.  ``? `` lines (stale stack words) are left out, and for a
    plain panic the frames of ``dump_stack()`` above ``panic()`` too.  For a stall whose
    trace shows the detector's own path (``oops.interrupted``), only the interrupted code's
    frames are given: the stalled code, not the timer interrupt that reported it.
    """
    frames: List[Frame] = []
    if (oops.rip_function or oops.rip_address is not None) and not oops.rip_foreign:
        pc = oops.rip_address or 0
        if oops.rip_function and resolve is not None:
            pc = resolve(oops.rip_function, oops.rip_module, oops.rip_offset) or pc
        frames.append(Frame(0, pc, oops.rip_function, oops.rip_offset, oops.rip_module, exception=True,
                            sp=oops.registers.get(arch_named(oops.arch).sp, 0)))
    entries = [e for e in oops.trace[oops.interrupted or 0:] if e.reliable]
    if frames and entries and oops.arch == "arm64" and (entries[0].function, entries[0].offset) == \
            (oops.rip_function, oops.rip_offset):
        entries = entries[1:]  # arm64's call trace starts at the pc's own frame
    if frames and oops.lr_function and oops.lr_function != frames[0].function and \
            not (entries and entries[0].function == oops.lr_function):
        # arm64's trace follows frame records from x29: a function that saved none (a leaf such
        # as memcpy or strlen, or a call through a bad pointer, ``pc : 0x0``) leaves its caller
        # out, and that caller is in lr (the same rule as a dump's, triage._caller_in_link_register)
        entries.insert(0, TraceEntry(oops.lr_function, oops.lr_offset, 0, oops.lr_module))
    if not frames or not oops.title:  # a plain panic: its trace from panic() on (not dump_stack)
        names = [e.function for e in entries]
        for name in ("panic", "vpanic"):
            if name in names:
                entries = entries[names.index(name):]
                break
    for e in entries:
        where = resolve(e.function, e.module, e.offset) if resolve is not None else None
        frames.append(Frame(len(frames), where or 0, e.function, e.offset, e.module))
    return frames


def _empty_program(arch: str = "x86_64") -> "drgn.Program":
    """A program with no memory and no debug info, of the oops' architecture (``Oops.arch``)."""
    import drgn

    if arch == "arm":
        return drgn.Program(drgn.Platform(drgn.Architecture.ARM, drgn.PlatformFlags.IS_LITTLE_ENDIAN))
    which = drgn.Architecture.AARCH64 if arch == "arm64" else drgn.Architecture.X86_64
    return drgn.Program(drgn.Platform(which, drgn.PlatformFlags.IS_64_BIT | drgn.PlatformFlags.IS_LITTLE_ENDIAN))


def explain_oops(oops: Oops, prog: Optional["drgn.Program"] = None, frames: Optional[List[Frame]] = None,
                 intel: bool = False, code_from: str = "") -> Verdict:
    """The verdict for an oops read from text, by the engine's :func:`~kdumpext.triage.explain_crash`.

    Without ``prog`` (no vmlinux) the engine works on an empty program: the faulting
    instruction comes from the ``Code:`` bytes (``<..>`` marks it), the registers from the
    oops, and the bad pointer is classified from base register + displacement; what needs
    debug info (the variable, the member) stays undecided.  With ``prog`` (see
    :class:`TextProgram`) the engine reads the function's code and DWARF as for a dump.
    """
    if frames is None:
        frames = frames_from_oops(oops)
    ctx = CrashContext(task=None, thread=None, oops=oops, dmesg="", memory=code_from or "oops Code: line")
    return explain_crash(prog if prog is not None else _empty_program(oops.arch), ctx, frames,
                         _registers(oops, frames), intel)


def _registers(oops: Oops, frames: List[Frame]) -> Registers:
    """The oops' registers, with ``rip`` the exception frame's pc (0 when unknown)."""
    regs: Registers = dict(oops.registers)
    if frames and frames[0].exception:
        regs[arch_named(oops.arch).pc] = frames[0].pc
    return regs


# --- debug info without a dump -------------------------------------------------------


def _pread_reader(fd: int, file_offset: int, start: int) -> Callable[[int, int, int, bool], bytes]:
    def read(address: int, count: int, offset: int, physical: bool) -> bytes:
        return os.pread(fd, count, file_offset + (address - start))
    return read


def _bytes_reader(data: bytes, start: int) -> Callable[[int, int, int, bool], bytes]:
    def read(address: int, count: int, offset: int, physical: bool) -> bytes:
        return data[address - start:address - start + count]
    return read


class TextProgram:
    """A drgn program with no dump behind it: vmlinux and module files mapped where they run.

    The vmlinux sits at its link addresses (KASLR does not matter: the oops prints
    ``function+offset``); each module's sections are laid out from a made-up base in the
    module area, since the oops never says where a module was loaded.  Memory reads are
    served from the files' bytes, so the engine's :class:`~kdumpext.explain.FunctionCode`
    decodes functions and reads their DWARF as it does for a dump.  A module's code sections
    get their relocations applied against this layout and the vmlinux's symbols, as the
    module loader does, so its calls name their targets (the kernel's functions, retpoline
    thunks); its data sections are read as the file has them.

    :param platform: the kernel's; x86-64 by default.
    """

    def __init__(self, platform: Optional["drgn.Platform"] = None) -> None:
        import drgn

        self.prog = drgn.Program(platform) if platform is not None else _empty_program()
        self.vmlinux = ""
        self.modules: Dict[str, str] = {}  # module name -> file
        self._fds: List[int] = []
        self._next_base = _MODULE_AREA
        self._ranges: Dict[str, Tuple[int, int]] = {}  # module name ("" for vmlinux) -> address range

    def _open(self, path: str) -> int:
        fd = os.open(path, os.O_RDONLY)
        self._fds.append(fd)
        return fd

    def close(self) -> None:
        """Close the files mapped into the program."""
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds.clear()

    def add_vmlinux(self, path: str) -> None:
        """Map ``path`` (an uncompressed vmlinux) at its link addresses and load its debug info."""
        from elftools.elf.elffile import ELFFile

        fd = self._open(path)
        with open(path, "rb") as f:
            elf = ELFFile(f)
            # the kernel image's segments (not the per-CPU one, linked at 0)
            loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_memsz"]
                     and s["p_vaddr"] >= 1 << 63]
            sections = [(s["sh_addr"], s["sh_size"], s["sh_offset"]) for s in elf.iter_sections()
                        if s["sh_flags"] & _SHF_ALLOC and s["sh_type"] == "SHT_PROGBITS" and s["sh_addr"]]
        if not loads:
            raise KdumpextError(f"{path}: no loadable segments; not a vmlinux")
        # the module for the kernel image is an "extra" one: drgn's main module wants a
        # dump (or a live kernel) to find vmlinux's place; "" keeps it out of site names.
        mod = self.prog.extra_module("", create=True)
        lo = min(s["p_vaddr"] for s in loads)
        hi = max(s["p_vaddr"] + s["p_memsz"] for s in loads)
        mod.address_range = (lo, hi)
        mod.try_file(path, force=True)
        self._ranges[""] = (lo, hi)
        for addr, size, off in sections:
            self.prog.add_memory_segment(addr, size, _pread_reader(fd, off, addr))
        self.vmlinux = path

    def release(self) -> str:
        """``init_uts_ns.name.release`` as the vmlinux file holds it ("" if unreadable)."""
        import drgn

        try:
            return self.prog["init_uts_ns"].name.release.string_().decode(errors="replace")
        except (KeyError, LookupError, drgn.FaultError, AttributeError, ValueError):
            return ""

    def add_module(self, name: str, path: str) -> None:
        """Lay out module file ``path`` (a ``.ko``) as module ``name`` and load its debug info."""
        from elftools.elf.elffile import ELFFile

        arch, machine = arch_of(self.prog), elf_machine(path)
        if machine not in (arch.elf_machine, 0):
            raise ValueError(f"ELF machine {machine}, the oops is {arch.name}'s ({arch.elf_machine})")
        fd = self._open(path)
        base = self._next_base
        self._next_base += _MODULE_STRIDE
        mod = self.prog.relocatable_module(name, base, create=True)
        addr = base
        with open(path, "rb") as f:
            elf = ELFFile(f)
            placed: Dict[int, int] = {}  # section index -> address
            for i, s in enumerate(elf.iter_sections()):
                if not s["sh_flags"] & _SHF_ALLOC or not s["sh_size"]:
                    continue
                align = max(int(s["sh_addralign"]), 1)
                addr = (addr + align - 1) // align * align
                mod.section_addresses[s.name] = addr
                placed[i] = addr
                addr += s["sh_size"]
            code = _relocated_code(elf, placed, self._symbol_address)
            for i, s in enumerate(elf.iter_sections()):
                if i not in placed or s["sh_type"] != "SHT_PROGBITS":
                    continue
                at = placed[i]
                if i in code:
                    self.prog.add_memory_segment(at, s["sh_size"], _bytes_reader(bytes(code[i]), at))
                else:
                    self.prog.add_memory_segment(at, s["sh_size"], _pread_reader(fd, s["sh_offset"], at))
        mod.address_range = (base, max(addr, base + 1))
        self._ranges[name] = mod.address_range
        mod.try_file(path, force=True)
        self.modules[name] = path

    def _symbol_address(self, name: str) -> Optional[int]:
        """Where the kernel (or a module mapped before) has symbol ``name``."""
        try:
            return int(self.prog.symbol(name).address)
        except (LookupError, ValueError):
            return None

    def address_of(self, function: str, module: str, offset: int) -> Optional[int]:
        """The address of ``function+offset`` in ``module`` ("" for vmlinux), None if unknown."""
        where = self._ranges.get(module)
        if where is None:
            return None
        try:
            syms = self.prog.symbols(function)
        except (LookupError, ValueError):
            return None
        fits = [s for s in syms if where[0] <= s.address < where[1] and (not s.size or offset < s.size)]
        return fits[0].address + offset if fits else None

    def add_bytes(self, address: int, data: bytes) -> None:
        """Lay ``data`` over memory at ``address`` (the oops' ``Code:`` bytes win over the file's)."""
        if data:
            self.prog.add_memory_segment(address, len(data), _bytes_reader(bytes(data), address))

    def read(self, address: int, size: int) -> bytes:
        """Bytes from the mapped files, b"" if not mapped."""
        import drgn

        try:
            return self.prog.read(address, size)
        except drgn.FaultError:
            return b""


_SHF_EXECINSTR = 0x4


def _relocated_code(elf: Any, placed: Dict[int, int],
                    external: Callable[[str], Optional[int]]) -> Dict[int, bytearray]:
    """A module's code sections (x86-64 or arm64) with their relocations applied as the module loader would, at
    the addresses ``placed`` gives (section index -> address): a call to ``kfree`` or to a
    retpoline thunk then names its target, as in a dump.  Undefined symbols are looked up
    with ``external``; a relocation that cannot be resolved is left as it is in the file."""
    from .dwarf import relocate_aarch64, relocate_x86_64

    relocate = {"EM_X86_64": relocate_x86_64, "EM_AARCH64": relocate_aarch64}.get(elf.header["e_machine"])
    if relocate is None:
        return {}
    out: Dict[int, bytearray] = {}
    for rel in elf.iter_sections():
        if rel["sh_type"] != "SHT_RELA":
            continue
        target = int(rel["sh_info"])
        if target not in placed or not elf.get_section(target)["sh_flags"] & _SHF_EXECINSTR:
            continue
        data = out.setdefault(target, bytearray(elf.get_section(target).data()))
        symtab = elf.get_section(rel["sh_link"])
        base = placed[target]
        for r in rel.iter_relocations():
            kind, off = r["r_info_type"], r["r_offset"]
            sym = symtab.get_symbol(r["r_info_sym"])
            shndx = sym["st_shndx"]
            if shndx == "SHN_UNDEF":
                s = external(sym.name)
            elif isinstance(shndx, int) and shndx in placed:
                s = placed[shndx] + sym["st_value"]
            else:
                s = None
            if s is None:
                continue
            # a type not handled or a value that does not fit: left as the file has it
            relocate(data, off, kind, s + r["r_addend"], base + off)
    return out


def _same_instructions(file_bytes: bytes, code: bytes, address: int) -> bool:
    """Whether the file's code and the oops' Code: bytes are the same instructions (mnemonics and
    lengths) at the faulting one and the two after it: they differ where relocations put addresses
    and where the kernel patched the code at boot (return thunks, sealed endbr64), not there."""
    from .decode import DecodeError, decode_all

    if not file_bytes or len(file_bytes) != len(code):
        return False
    try:
        a, b = decode_all(file_bytes, address)[:3], decode_all(code, address)[:3]
    except DecodeError:
        return False
    return len(a) == len(b) == 3 and all(x.mnemonic == y.mnemonic and x.size == y.size for x, y in zip(a, b))


def _same_code(file_bytes: bytes, code: bytes) -> bool:
    """Whether a file's bytes are the code the oops printed, up to relocations and patching."""
    if not file_bytes or len(file_bytes) != len(code):
        return False
    same = sum(a == b for a, b in zip(file_bytes, code))
    return same >= 0.6 * len(code)


def _debug_program(oops: Oops, search: SearchPath, vmlinux: Optional[str], find: bool,
                   warnings: List[str], missing: List[str]) -> Optional[TextProgram]:
    """A :class:`TextProgram` with the vmlinux and the modules the oops' frames name.

    A ``vmlinux`` given by the user must exist and be of the oops' release; one found on
    the search path is passed over (with a warning) when it is not.
    """
    from elftools.common.exceptions import ELFError

    release = oops.release
    path = ""
    if vmlinux:
        path = find_vmlinux(search, release, "", vmlinux)  # MissingDebugInfo if absent
    elif find and not release:
        warnings.append("the oops names no kernel release (no 'CPU: ... Comm:' line): no vmlinux looked for")
        return None
    elif find:
        try:
            path = find_vmlinux(search, release, "", machine=arch_named(oops.arch).elf_machine)
        except KdumpextError as e:
            warnings.append(f"no vmlinux: {e}")
            return None
    else:
        return None
    tp = TextProgram(_empty_program(oops.arch).platform)
    try:
        tp.add_vmlinux(path)
    except (OSError, ValueError, ELFError, KdumpextError) as e:
        tp.close()
        if vmlinux:
            raise KdumpextError(f"{vmlinux}: cannot use as vmlinux ({e})") from None
        warnings.append(f"{path}: cannot use as vmlinux ({e}); not used")
        return None
    got = tp.release()
    if release and got != release:
        tp.close()
        if vmlinux:
            raise ReleaseMismatch(vmlinux, release, got)
        warnings.append(f"{path}: kernel release {got or 'unknown'} is not the oops' {release}; not used")
        return None
    names: List[str] = []
    for name in [oops.rip_module] + [e.module for e in oops.trace if e.reliable]:
        if name and name not in names:
            names.append(name)
    for name in names:
        tried: List[str] = []
        while True:
            # the next file of that name when one cannot be used (another architecture's build
            # in the same tree, a damaged copy)
            file = find_module_file(search, release, name, exclude=tried, machine=arch_named(oops.arch).elf_machine)
            if file is None:
                missing.append(name)
                break
            try:
                tp.add_module(name, file)
                break
            except (OSError, ValueError, ELFError) as e:
                warnings.append(f"{file}: cannot use for module {name} ({e})")
                tried.append(file)
    if tp.modules:
        warnings.append("module debug info matched by name and release only (an oops has no build-id): "
                        + ", ".join(sorted(tp.modules)))
    return tp


def report_from_text(text: str, path: str, vmlinux: Optional[str] = None, debug_dirs: Iterable[str] = (),
                     intel: bool = False, find_debug_info: bool = True, why: str = "") -> Report:
    """A :class:`~kdumpext.model.Report` for the oops in ``text`` (read from ``path``).

    ``dump.format`` is :data:`TEXT_FORMAT` and the first warning says the report comes from
    text (and ``why``, e.g. the reason the dump could not be opened).  With a vmlinux
    (``vmlinux``, or found for the oops' release on ``debug_dirs`` + the log's directory
    when ``find_debug_info``) and module files, the engine names the pointer and member.
    The report is assembled as a dump's is (:func:`kdumpext.triage.assemble_report`).

    :raises NoOopsError: the text has no oops and no panic.
    :raises MissingDebugInfo, ReleaseMismatch: ``vmlinux`` is missing or of another release.
    """
    oops = parse_log(text)
    if oops is None:
        raise NoOopsError(path, _dump_hint(path))
    warnings = ["explained from the kernel log text, not from a dump" + (f": {why}" if why else "")]
    missing: List[str] = []
    search = SearchPath.build(debug_dirs, path, vmlinux)
    tp = _debug_program(oops, search, vmlinux, find_debug_info, warnings, missing)
    try:
        return assemble_report(log_source(oops, text, path, tp, warnings, missing), intel)
    finally:
        if tp is not None:
            tp.close()


def log_source(oops: Oops, text: str, path: str, tp: Optional[TextProgram], warnings: List[str],
               missing: List[str]) -> CrashSource:
    """The crash as the log ``text`` (from ``path``) tells it: the oops' frames, placed in ``tp``'s
    layout of the vmlinux and modules when there is one (``missing``: the modules without a
    debug file), its registers, and its ``Code:`` bytes laid over the file's code."""
    frames = frames_from_oops(oops, tp.address_of if tp is not None else None)
    code_from = ""
    if tp is not None and frames:
        code_from = _map_code(tp, oops, frames[0], warnings)
        frames = _with_sources(tp, frames)
    if tp is not None and tp.modules:
        warnings.append("module addresses are kdumpext's own layout of " + ", ".join(sorted(tp.modules))
                        + " (the oops does not say where a module was loaded)")
    info = DumpInfo(path=path, format=TEXT_FORMAT, release=oops.release, vmlinux=tp.vmlinux if tp else "",
                    uptime=log_uptime(text, oops.title or oops.panic),
                    panic_message=f"Kernel panic - not syncing: {oops.panic}" if oops.panic else "",
                    oops=oops.title, taint=oops.taint, taint_flags=decode_taint(oops.taint),
                    modules=modules_linked_in(text), modules_missing_debuginfo=missing)
    task = TaskInfo(oops.pid, oops.comm, oops.cpu if oops.cpu is not None else -1) if oops.pid is not None else None
    ctx = CrashContext(task=task, thread=None, oops=oops, dmesg=text, memory=code_from or "oops Code: line",
                       missing_debug=_missing_debug(tp, frames))
    prog = tp.prog if tp is not None else _empty_program(oops.arch)
    return CrashSource(prog, info, ctx, frames, _registers(oops, frames), warnings, from_dump=False)


def _missing_debug(tp: Optional[TextProgram], frames: List[Frame]) -> str:
    """What the faulting code lacks to be named: no vmlinux at all, or the faulting frame's (for
    a bad call, its caller's) debug file (its pc then stays unknown, 0)."""
    if tp is None:
        return "no vmlinux"
    if not frames or not frames[0].exception:
        return ""
    f = frames[0] if frames[0].function else frames[1] if len(frames) > 1 else None
    if f is not None and f.function and not f.pc:
        return f"no debug info for {f.module or 'vmlinux'}"
    return ""


def _map_code(tp: TextProgram, oops: Oops, frame: Frame, warnings: List[str]) -> str:
    """Lay the oops' ``Code:`` bytes over the file's at the faulting pc; where the code at pc comes from."""
    owner = f"{frame.module}.ko" if frame.module else "vmlinux"
    if not frame.pc or not frame.function:
        return ""
    if not oops.code or oops.code_fault_index is None:
        return owner
    start = frame.pc - oops.code_fault_index
    if _same_code(tp.read(start, len(oops.code)), oops.code) or \
            _same_instructions(tp.read(frame.pc, len(oops.code) - oops.code_fault_index),
                               oops.code[oops.code_fault_index:], frame.pc):
        # the file's code, relocated for this layout: its calls name their targets, where the
        # Code: bytes' displacements are relative to where the module really was
        return f"{owner}, the same code as the oops' Code: line"
    warnings.append(f"the oops' Code: bytes differ from {owner}'s code at {frame.site}: another build? "
                    "the faulting instruction is taken from the Code: bytes")
    tp.add_bytes(start, oops.code)
    return "oops Code: line"


def _with_sources(tp: TextProgram, frames: List[Frame]) -> List[Frame]:
    """The frames with their file:line (the call's line for the callers), each preceded by the
    functions inlined there, innermost first, as drgn gives a dump's frames: an access inside an
    inlined ``spin_lock_irqsave()`` is then the lock routine's, from a log as from a dump."""
    from .program import DrgnView

    view = DrgnView(tp.prog)
    out: List[Frame] = []
    for f in frames:
        where = f.pc if f.exception else f.pc - 1
        try:
            locs = list(tp.prog.source_location(where)) if f.pc else []
        except (LookupError, ValueError):
            locs = []
        inlined = view.inlined_at(where) if len(locs) > 1 else []
        if len(inlined) == len(locs) - 1:  # DWARF's chain and drgn's lines agree: one per call
            out += [Frame(0, f.pc, name, f.offset, f.module, loc.filename, loc.line, True, f.exception, f.sp)
                    for name, loc in zip(inlined, locs)]
        if locs:
            f.file, f.line = locs[-1].filename, locs[-1].line
        out.append(f)
    for n, f in enumerate(out):
        f.index = n
    return out


def oops_report(path: str, vmlinux: Optional[str] = None, intel: bool = False, debug_dirs: Iterable[str] = (),
                find_debug_info: bool = True, why: str = "") -> Report:
    """Read the log at ``path`` and explain its first oops (``kdumpext oops FILE``).

    :raises UsageError: unreadable file.  See :func:`report_from_text` for the rest.
    """
    return report_from_text(read_log(path), path, vmlinux, debug_dirs, intel, find_debug_info, why)
