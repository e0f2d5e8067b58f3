"""The exception tree: every failure a user can act on, each with a one-line message."""

from __future__ import annotations

__all__ = [
    "KdumpextError",
    "NotADumpError",
    "TruncatedDumpError",
    "DamagedDumpError",
    "DebugInfoMismatch",
    "MissingDebugInfo",
    "UnusableDebugInfo",
    "MemoryNotInDump",
    "NoOopsError",
    "ReleaseMismatch",
    "UsageError",
    "CacheLimitError",
    "EXIT_CODES",
]


class KdumpextError(Exception):
    """Base of every error kdumpext reports as one line (``str(err)``).

    ``exit_code`` is what the CLI exits with; see :data:`EXIT_CODES`.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(KdumpextError):
    """A command was called with arguments that cannot work (bad path, bad option)."""

    exit_code = 2


class NotADumpError(KdumpextError):
    """The file is not a kernel crash dump in any format we read."""

    exit_code = 3

    def __init__(self, path: str, why: str = "") -> None:
        super().__init__(f"{path}: not a kernel crash dump" + (f" ({why})" if why else ""))
        self.path = path


class TruncatedDumpError(KdumpextError):
    """The dump's header is valid but its data stops early (copy interrupted, disk full)."""

    exit_code = 4

    def __init__(self, path: str, why: str = "") -> None:
        super().__init__(f"{path}: dump is truncated or damaged" + (f" ({why})" if why else ""))
        self.path = path


class DamagedDumpError(TruncatedDumpError):
    """A dump header field (or VMCOREINFO, or a note) holds a value no dump writer writes.

    Same exit status and message as :class:`TruncatedDumpError`; ``why`` names the field.
    """


class DebugInfoMismatch(KdumpextError):
    """A vmlinux (or module) was given or found whose build-id is not the dump's."""

    exit_code = 5

    def __init__(self, path: str, want: str, got: str) -> None:
        super().__init__(
            f"{path}: build-id {got or 'none'} does not match the dump's kernel (build-id {want})"
        )
        self.path, self.want, self.got = path, want, got


class MissingDebugInfo(KdumpextError):
    """No vmlinux with debug info could be found for the dump's kernel."""

    exit_code = 6

    def __init__(self, release: str, build_id: str, searched: "list[str]") -> None:
        where = ", ".join(searched) if searched else "nowhere"
        super().__init__(
            f"no vmlinux for {release} (build-id {build_id or 'unknown'}); looked in {where}; "
            "give one with --vmlinux or --debug-dir, or set KDUMPEXT_DEBUG_PATH"
        )
        self.release, self.build_id, self.searched = release, build_id, searched


class UnusableDebugInfo(MissingDebugInfo):
    """A vmlinux with the dump's build-id was found, but its debug info cannot be read (cut short, garbled)."""

    def __init__(self, path: str, why: str = "") -> None:
        KdumpextError.__init__(
            self, f"{path}: cannot use as vmlinux" + (f" ({why})" if why else "")
            + "; give a whole copy with --vmlinux or --debug-dir")
        self.release, self.build_id, self.searched = "", "", [path]
        self.path = path


class MemoryNotInDump(KdumpextError):
    """A page the analysis needs was not saved in the dump (excluded by makedumpfile -d)."""

    exit_code = 7

    def __init__(self, address: int, what: str = "") -> None:
        super().__init__(
            f"memory at {address:#x}{' (' + what + ')' if what else ''} is not in the dump "
            "(page excluded by makedumpfile's dump level, or never present)"
        )
        self.address = address


class NoOopsError(KdumpextError):
    """A log with neither an oops (BUG, page fault, GPF) nor a ``Kernel panic`` line in it."""

    exit_code = 3

    def __init__(self, path: str, hint: str = "") -> None:
        super().__init__(f"{path}: no oops, BUG or kernel panic message in this log" + (f" ({hint})" if hint else ""))
        self.path = path


class ReleaseMismatch(DebugInfoMismatch):
    """A vmlinux whose ``init_uts_ns`` release is not the one the oops' ``CPU:`` line names.

    The oops text has no build-id, so the release string is what a vmlinux is checked by.
    """

    def __init__(self, path: str, want: str, got: str) -> None:
        KdumpextError.__init__(
            self, f"{path}: kernel release {got or 'unknown'} does not match the oops' release {want}")
        self.path, self.want, self.got = path, want, got


class CacheLimitError(KdumpextError):
    """Something to be cached would not fit: larger than the cache's cap (``KDUMPEXT_CACHE_MAX``)
    or its free disk space (an input that unpacks to more than that, e.g. a decompression bomb)."""

    exit_code = 1


#: CLI exit status per error class; documented in README.md.
EXIT_CODES = {
    cls.__name__: cls.exit_code
    for cls in (
        KdumpextError,
        UsageError,
        NotADumpError,
        TruncatedDumpError,
        DamagedDumpError,
        DebugInfoMismatch,
        MissingDebugInfo,
        UnusableDebugInfo,
        MemoryNotInDump,
        NoOopsError,
        ReleaseMismatch,
        CacheLimitError,
    )
}
