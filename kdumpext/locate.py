"""Find the debug info a dump needs: vmlinux and module files, by build-id and release."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterable, List, Optional, Tuple

from .cache import cache_dir
from .errors import DebugInfoMismatch, KdumpextError, MissingDebugInfo, TruncatedDumpError, UsageError

__all__ = [
    "COMPRESSED",
    "COMPRESSION_SUFFIXES",
    "strip_compression",
    "DEBUG_PATH_ENV",
    "SearchPath",
    "cache_dir",
    "file_build_id",
    "unpacked",
    "find_vmlinux",
    "find_module_file",
]

#: Colon-separated directories every front-end searches for debug info.
DEBUG_PATH_ENV = "KDUMPEXT_DEBUG_PATH"

#: Containers kdumpext unpacks by itself (suffix -> opener); dump.py sniffs them by magic.
COMPRESSED: Dict[str, Callable[..., Any]] = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}


def regular_file(path: str, what: str = "file") -> str:
    """``path`` when it is a regular file (links followed); a FIFO, device or socket is refused
    at once, before anything opens it (reading one could block forever or never end).

    :raises UsageError: ``path`` is not a regular file (or does not exist).
    """
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{path}: is a directory; give the {what}")
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise UsageError(f"{path}: is {kind}, not a regular file; give the {what}")
    return path


def unpacked(path: str) -> str:
    """Return a readable uncompressed copy of ``path`` (xz, gzip or bzip2, told by its magic
    bytes, whatever its name).

    An uncompressed file is returned as it is.  A compressed one is unpacked once into the
    cache (:mod:`kdumpext.cache`, kind ``unpacked``: keyed by path, inode, size and mtime,
    under a lock, written atomically, held while this process runs); the input is never
    written to.  Unpacking stops at the cache's cap, at the free space of its filesystem,
    and, for a dump, a little past the size its header promises (a decompression bomb
    ends there, not when the disk is full).

    :raises KdumpextError: zstd-compressed (unpack it first), or damaged.
    :raises CacheLimitError: it unpacks to more than the cap or the free space allows.
    :raises TruncatedDumpError: a dump inside unpacks to far more than its header promises.
    """
    from . import cache

    container = _container_of(path)
    if container is None:
        return path
    name = os.path.basename(path)
    stripped = strip_compression(name, ("." + container,))
    if container == "zst":
        raise KdumpextError(f"{path}: zstd-compressed; unpack it first (zstd -d)")
    store = cache.Store("unpacked")
    key = cache.make_key("unpacked/1", cache.file_stamp(path))
    out = store.lookup(key, stripped)
    if out is not None:
        return out
    opener = COMPRESSED["." + container]
    try:
        out, _new = store.fill(key, stripped, lambda f: _unpack(path, opener, f, store.directory),
                               what=os.path.abspath(path),
                               source=os.path.abspath(path))
    except (EOFError, lzma.LZMAError, zlib.error) as e:
        raise KdumpextError(f"{path}: cannot unpack ({e})") from None
    except OSError as e:
        if isinstance(e, (FileNotFoundError, PermissionError)) and e.filename == path:
            raise KdumpextError(f"{path}: {e.strerror}") from None
        raise KdumpextError(f"{path}: cannot unpack ({e})") from None
    return out


#: Magic bytes of the containers :func:`unpacked` opens (dump.py's ``_CONTAINERS``) and of zstd.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _container_of(path: str) -> Optional[str]:
    """``xz``, ``gz``, ``bz2`` or ``zst`` from the first bytes of ``path``; None for anything else."""
    from .dump import _CONTAINERS

    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if head.startswith(_ZSTD_MAGIC):
        return "zst"
    for magic, container in _CONTAINERS.items():
        if head.startswith(magic):
            return container
    return None


#: How far past the size a dump's headers promise its unpacked data may go before it is
#: taken for garbage: ``_PROMISE_SLACK`` bytes plus a sixteenth.
_PROMISE_SLACK = 64 << 20
_CHUNK = 1 << 20


def _unpack(path: str, opener: Callable[..., Any], dst: IO[bytes], where: str) -> None:
    """Stream the unpacked ``path`` into ``dst``, within the cache's cap, the free space of
    ``where``'s filesystem and, for a dump, what its headers promise."""
    from . import cache
    from .dump import _sniff_bytes

    cap = cache.limit()
    free = cache.free_space(where)
    budget, reason = (cap, "cap") if cap <= free else (free, "free")
    kind = ""
    promise: Optional[int] = None
    check_at = 1 << 20
    total = 0
    with opener(path, "rb") as src:
        while True:
            block = src.read(_CHUNK)
            if not block:
                return
            if total == 0:
                kind = _sniff_bytes(block[:64])
            total += len(block)
            if total > budget:
                break
            dst.write(block)
            if kind in ("kdump-compressed", "elf") and promise is None and total >= check_at:
                check_at *= 4
                promise = _promised_size(dst, kind)
                if promise is not None and promise + _PROMISE_SLACK + promise // 16 < budget:
                    budget, reason = promise + _PROMISE_SLACK + promise // 16, "promise"
    if reason == "promise":
        raise TruncatedDumpError(path, f"it unpacks to more than {cache.human_size(budget)}, far past the "
                                       f"{cache.human_size(promise or 0)} its headers promise")
    if reason == "cap":
        raise cache.CacheLimitError(
            f"{path}: unpacks to more than the cache's limit of {cache.human_size(cap)}; raise it "
            f"({cache.MAX_ENV}=8G, say) or unpack the file yourself")
    raise cache.CacheLimitError(
        f"{path}: unpacks to more than the {cache.human_size(free)} free where the cache is ({where}); free "
        "some space (kdumpext cache --prune) or point KDUMPEXT_CACHE_DIR elsewhere")


def _promised_size(f: IO[bytes], kind: str) -> Optional[int]:
    """How big the dump being written to ``f`` says it is, from its headers; None while they
    are not all written yet (or make no sense).  ``f``'s position is kept."""
    pos = f.tell()
    f.flush()

    def read(offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > pos:
            return b""
        f.seek(offset)
        return f.read(n)

    try:
        return _kdump_promise(read) if kind == "kdump-compressed" else _elf_promise(read)
    finally:
        f.seek(pos)


def _kdump_promise(read: Callable[[int, int], bytes]) -> Optional[int]:
    """End of the furthest page's data in a kdump-compressed image (``read(offset, n)``: the
    bytes there, b"" when not yet there); None when not known yet."""
    from .dump import dumpable_bitmap, kdump_geometry

    geo = kdump_geometry(read(0, 464))
    if geo is None:
        return None
    block_size, sub_hdr_size, half = geo
    bitmap = dumpable_bitmap(read) if half else b""
    if bitmap is None:
        return None
    npages = bin(int.from_bytes(bitmap, "little")).count("1")
    desc_off = block_size * (1 + sub_hdr_size) + 2 * half
    table = read(desc_off, npages * 24)
    if len(table) < npages * 24:
        return None
    furthest = desc_off + npages * 24
    for i in range(npages):  # {int64 offset; uint32 size; uint32 flags; uint64 page_flags}
        off, size = struct.unpack_from("<qI", table, i * 24)
        furthest = max(furthest, off + size)
    return furthest


def _elf_promise(read: Callable[[int, int], bytes]) -> Optional[int]:
    """End of the furthest segment of an ELF core (see :func:`_kdump_promise`)."""
    hdr = read(0, 64)
    if len(hdr) < 64:
        return None
    phoff, = struct.unpack_from("<Q", hdr, 32)
    phentsize, phnum = struct.unpack_from("<HH", hdr, 54)
    if phentsize < 56 or phnum == 0:
        return None
    table = read(phoff, phentsize * phnum)
    if len(table) < phentsize * phnum:
        return None
    want = 0
    for i in range(phnum):
        _t, _fl, off, _va, _pa, filesz = struct.unpack_from("<IIQQQQ", table, i * phentsize)
        want = max(want, off + filesz)
    return want


def file_build_id(path: str) -> str:
    """The GNU build-id of an ELF file as hex, "" if it has none or is not ELF.

    Reads only the note sections/segments, so it is cheap even for a 600 MB vmlinux.
    """
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            for sec in elf.iter_sections():
                if sec.header["sh_type"] != "SHT_NOTE":
                    continue
                notes: Any = sec  # a NoteSection
                for note in notes.iter_notes():
                    # only the GNU owner's type 3 is a build-id: Debian's vmlinux also carries
                    # a Xen note whose type number is 3 too
                    if note["n_name"] == "GNU" and note["n_type"] == "NT_GNU_BUILD_ID":
                        return str(note["n_desc"])
    except (ELFError, OSError, ValueError):
        return ""
    return ""


@dataclass
class SearchPath:
    """Where to look, in order: explicit dirs, $KDUMPEXT_DEBUG_PATH, the dump's directory."""

    dirs: List[str] = field(default_factory=list)
    searched: List[str] = field(default_factory=list)  # what was looked at, for messages
    _module_index: Dict[str, Dict[str, List[str]]] = field(default_factory=dict, repr=False)
    _vmlinux_index: Dict[str, List[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, debug_dirs: Iterable[str] = (), dump_path: Optional[str] = None,
              vmlinux: Optional[str] = None) -> "SearchPath":
        """The standard search path for a dump (see README.md, "Finding debug info").

        A vmlinux given by hand usually has its modules beside it: its directory comes
        after the explicit ones and ``$KDUMPEXT_DEBUG_PATH``, before the dump's.

        :raises UsageError: a directory given in ``debug_dirs`` is not one.
        """
        dirs = [os.path.abspath(d) for d in debug_dirs]
        for given, d in zip(debug_dirs, dirs):
            if not os.path.isdir(d):
                raise UsageError(f"{given}: no such directory (--debug-dir)")
        dirs += [d for d in os.environ.get(DEBUG_PATH_ENV, "").split(":") if d]
        if vmlinux and os.path.isdir(os.path.dirname(os.path.abspath(vmlinux))):
            dirs.append(os.path.dirname(os.path.abspath(vmlinux)))
        if dump_path:
            dirs.append(os.path.dirname(os.path.abspath(dump_path)))
        seen: List[str] = []
        for d in dirs:
            if d not in seen:
                seen.append(d)
        return cls(seen)

    def module_dirs(self, release: str) -> List[str]:
        """Directories searched (recursively) for module debug info."""
        return self.dirs + [
            f"/usr/lib/debug/lib/modules/{release}",
            f"/lib/modules/{release}",
        ]

    def _walk(self, top: str) -> None:
        """Index ``top`` once: module files by name, and every vmlinux file."""
        modules: Dict[str, List[str]] = {}
        vmlinuxes: List[str] = []
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                mod = _module_name_of(name)
                if mod:
                    modules.setdefault(mod, []).append(os.path.join(root, name))
                elif _is_vmlinux_name(name):
                    vmlinuxes.append(os.path.join(root, name))
        self._module_index[top] = modules
        self._vmlinux_index[top] = vmlinuxes

    def _index(self, top: str) -> Dict[str, List[str]]:
        """Module file name (dashes as underscores, suffix stripped) -> its paths under ``top``, in
        walk order (a tree of two builds, e.g. two architectures' corpora, has one of each)."""
        if top not in self._module_index:
            self._walk(top)
        return self._module_index[top]

    def vmlinux_files(self) -> List[str]:
        """Files named ``vmlinux``, ``vmlinux-*`` (also compressed) anywhere under the search dirs."""
        out: List[str] = []
        for d in self.dirs:
            if os.path.isdir(d):
                if d not in self._vmlinux_index:
                    self._walk(d)
                out += self._vmlinux_index[d]
        return out


_MODULE_SUFFIXES = tuple(base + comp for base in (".ko.debug", ".ko") for comp in ("",) + tuple(COMPRESSED))


#: Compression suffixes a dump or debug file name may carry (zstd: named, not unpacked).
COMPRESSION_SUFFIXES = tuple(COMPRESSED) + (".zst",)


def strip_compression(name: str, suffixes: Tuple[str, ...] = COMPRESSION_SUFFIXES) -> str:
    """``dump.202611261148.xz`` -> ``dump.202611261148`` (one of ``suffixes`` removed)."""
    for suffix in suffixes:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_vmlinux_name(filename: str) -> bool:
    base = strip_compression(filename, tuple(COMPRESSED))  # only what unpacked() can open
    return base == "vmlinux" or (base.startswith("vmlinux-") and not base.endswith((".ko", ".debug")))


def _module_name_of(filename: str) -> str:
    """``nf-conntrack.ko.xz`` -> ``nf_conntrack``; "" if not a module file name."""
    for suffix in _MODULE_SUFFIXES:
        if filename.endswith(suffix):
            return filename[: -len(suffix)].replace("-", "_")
    return ""


def _vmlinux_candidates(search: SearchPath, release: str, build_id: str) -> List[str]:
    names = [f"vmlinux-{release}", "vmlinux"]
    out: List[str] = []
    for d in search.dirs:
        for n in names:
            for comp in ("",) + tuple(COMPRESSED):
                out.append(os.path.join(d, n + comp))
        if build_id:
            out.append(os.path.join(d, ".build-id", build_id[:2], build_id[2:] + ".debug"))
    # then any vmlinux deeper down those directories (a crash tree that keeps its debug
    # info beside the dumps); the build-id decides
    out += [p for p in search.vmlinux_files() if p not in out]
    out += [
        f"/usr/lib/debug/boot/vmlinux-{release}",
        f"/usr/lib/debug/lib/modules/{release}/vmlinux",
        f"/boot/vmlinux-{release}",
        f"/lib/modules/{release}/build/vmlinux",
    ]
    if build_id:
        out.append(f"/usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug")
    return out


def elf_machine(path: str) -> int:
    """The ELF header's ``e_machine`` of ``path`` (62 x86-64, 183 arm64); 0 for a file that is no
    little-endian ELF file."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return 0
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[5] != 1:
        return 0
    return int.from_bytes(head[18:20], "little")


def find_vmlinux(search: SearchPath, release: str, build_id: str, given: Optional[str] = None,
                 machine: int = 0) -> str:
    """Path of an (uncompressed) vmlinux whose build-id is ``build_id``.

    Without a build-id (an oops log names none), ``machine`` (an ELF ``e_machine``) passes over
    a vmlinux of another architecture of the same release.

    :raises DebugInfoMismatch: ``given`` (or the only candidates found) has another build-id.
    :raises MissingDebugInfo: nothing was found.
    """
    if given:
        regular_file(given, "vmlinux")  # a path the user named that is not there is a usage error (2)
        path = unpacked(given)
        got = file_build_id(path)
        if build_id and got != build_id:
            raise DebugInfoMismatch(given, build_id, got)
        return path
    mismatched: List[Tuple[str, str]] = []
    for cand in _vmlinux_candidates(search, release, build_id):
        if not os.path.isfile(cand):
            continue
        search.searched.append(cand)
        path = unpacked(cand)
        if machine and not build_id and elf_machine(path) not in (machine, 0):
            continue
        got = file_build_id(path)
        if not build_id or got == build_id:
            return path
        mismatched.append((cand, got))
    if mismatched:
        raise DebugInfoMismatch(mismatched[0][0], build_id, mismatched[0][1])
    where = search.dirs + ["/usr/lib/debug/boot", f"/usr/lib/debug/lib/modules/{release}", "/boot",
                           f"/lib/modules/{release}/build"]
    raise MissingDebugInfo(release, build_id, where)


def find_module_file(search: SearchPath, release: str, name: str, build_id: str = "",
                     exclude: Iterable[str] = (), machine: int = 0) -> Optional[str]:
    """Path of the debug info for module ``name`` (``NAME.ko``, ``NAME.ko.debug``, ...).

    Dashes and underscores are alike.  When ``build_id`` is given, a file with another
    build-id is passed over, and so is any in ``exclude`` (files found before that could not
    be used: the next directory may hold a whole copy); ``machine`` (an ELF ``e_machine``)
    passes over another architecture's build of it.  None when nothing fits.
    """
    want = name.replace("-", "_")
    passed = set(exclude)
    for top in search.module_dirs(release):
        if not os.path.isdir(top):
            continue
        for cand in search._index(top).get(want, []):
            if not os.path.isfile(cand) or cand in passed:  # a FIFO named like a module is never opened
                continue
            path = unpacked(cand)
            if path in passed:
                continue
            if build_id and file_build_id(path) not in (build_id, ""):
                continue
            if machine and elf_machine(path) not in (machine, 0):
                continue
            return path
    return None
