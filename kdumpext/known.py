"""Known issues: the team's file of buckets already understood (title, link, fixed-in release), and kernel release order.

The file is TOML, one ``[[issue]]`` table per known bug::

    [[issue]]
    bucket = "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats"
    title = "scst detach race"
    link = "https://bugs.example.com/4711"
    fixed_in = "6.1.60"                    # or a list: ["6.1.60", "6.6.5", "6.1.0-13"]
    note = "cmd->dev cleared by scst_unregister_device() while a command is in flight"

``bucket`` is a bucket id as ``kdumpext batch`` prints it, or a pattern: ``*`` stands for
any characters, ``?`` for one (``null-deref:scst_*``, ``*:kdx_ring.stats[?]``); everything
else is literal, the brackets of a member path (``stats[2]``) included.  An exact id wins
over a pattern, and patterns are tried in the file's order.

Release order (:func:`has_fix`): a release's *branch* is its major.minor.  Within a branch,
upstream releases compare by sublevel (6.1.60 < 6.1.192; 6.7-rc3 < 6.7); distribution
releases whose first part after ``-`` is a number -- Debian's and Ubuntu's ABI (6.1.0-57-amd64,
6.8.0-45-generic), RHEL's build (5.14.0-427.13.1.el9_4) -- compare by that number, only with
releases of the same kind: Debian's 6.1.0-57 says nothing of the upstream 6.1.x it carries, so
it is never compared with 6.1.60 (list both, ``["6.1.60", "6.1.0-13"]``, to cover both).  A
release of a later branch than every ``fixed_in`` listed is taken to have the fix; one of an
earlier branch than all of them predates it; otherwise it cannot be told.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .errors import UsageError

__all__ = ["ENV", "KnownIssue", "KnownMatch", "KnownIssues", "KnownIssuesError", "Release", "parse_release",
           "release_key", "has_fix", "parse_known", "load_known", "known_issues"]

#: Environment variable naming the known-issues file when ``--known`` is not given.
ENV = "KDUMPEXT_KNOWN_ISSUES"

_KEYS = ("bucket", "title", "link", "fixed_in", "note")


class KnownIssuesError(UsageError):
    """A known-issues file that cannot be read or is not what this module reads (one line: file, where, what)."""


# --- kernel releases --------------------------------------------------------------------------

_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+))?(?:-(\d+(?:\.\d+)*))?")


@dataclass(frozen=True)
class Release:
    """A kernel release as ``uname -r`` spells it, split for comparison.

    ``build`` is a distribution's number after the ``-`` (Debian/Ubuntu ABI ``57``, RHEL
    ``427.13.1``); empty for an upstream release (``6.1.192``, ``6.1.60-cloud+``).
    """

    text: str
    major: int
    minor: int
    sublevel: int
    rc: Optional[int] = None
    build: Tuple[int, ...] = ()

    @property
    def branch(self) -> Tuple[int, int]:
        """``(6, 1)`` for 6.1.x."""
        return (self.major, self.minor)

    @property
    def distro(self) -> bool:
        """A distribution's release numbering (a build or ABI number after the ``-``)."""
        return bool(self.build)


def parse_release(text: str) -> Optional[Release]:
    """``"6.1.0-57-amd64"`` -> ``Release(6, 1, 0, build=(57,))``; None when it is no kernel release."""
    m = _RELEASE.match(text.strip())
    if not m:
        return None
    build = tuple(int(x) for x in m.group(5).split(".")) if m.group(5) else ()
    return Release(text.strip(), int(m.group(1)), int(m.group(2)), int(m.group(3) or 0),
                   int(m.group(4)) if m.group(4) else None, build)


def _order(r: Release) -> Tuple[Any, ...]:
    """Sort key inside a branch, for releases of one kind (both upstream, or both distribution)."""
    rc = r.rc if r.rc is not None else float("inf")  # 6.7-rc3 comes before 6.7
    return (r.sublevel, rc, r.build)


def release_key(text: str) -> Tuple[Any, ...]:
    """A sort key putting releases in version order (6.1.60 before 6.1.192); unparsable ones last, by name."""
    r = parse_release(text)
    if r is None:
        return (1, (), text)
    return (0, (r.major, r.minor) + _order(r), text)


def has_fix(release: str, fixed_in: Sequence[str]) -> Optional[bool]:
    """Whether a kernel ``release`` should carry a fix released in ``fixed_in`` (one per branch).

    True: it should (a crash on it is a recurrence); False: it predates the fix; None: cannot
    be told (no ``fixed_in``, a release not parsed, another branch between those listed, or a
    distribution release and an upstream one of the same branch; see the module's notes).
    """
    r = parse_release(release)
    fixes = [f for f in (parse_release(x) for x in fixed_in) if f is not None]
    if r is None or not fixes:
        return None
    same = [f for f in fixes if f.branch == r.branch]
    if same:
        kind = [f for f in same if f.distro == r.distro]
        if not kind:
            return None
        return any(_order(r) >= _order(f) for f in kind)
    branches = [f.branch for f in fixes]
    if r.branch > max(branches):
        return True
    if r.branch < min(branches):
        return False
    return None


# --- the file -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownIssue:
    """One entry of the known-issues file."""

    bucket: str  #: a bucket id or a pattern
    title: str
    link: str = ""
    fixed_in: Tuple[str, ...] = ()
    note: str = ""

    @property
    def fixed_text(self) -> str:
        """``6.1.60`` / ``6.1.60, 6.6.5``; "" when no fix is known."""
        return ", ".join(self.fixed_in)


@dataclass(frozen=True)
class KnownMatch:
    """A crash's bucket found in the known issues, and what its release says about the fix."""

    issue: KnownIssue
    release: str
    #: :func:`has_fix` of the crash's release: True means the bug recurs where it should be fixed
    fixed: Optional[bool] = None

    @property
    def recurs(self) -> bool:
        """A known-fixed bug crashed a release that should have the fix."""
        return self.fixed is True

    def text(self) -> str:
        """``known: scst detach race (fixed in 6.1.60)``, plus the recurrence when there is one."""
        i = self.issue
        out = f"known: {i.title}"
        if i.fixed_in:
            out += f" (fixed in {i.fixed_text})"
        if self.recurs:
            out += f"; RECURS on {self.release}, which should have the fix"
        return out

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form (``known`` of a batch row or bucket, of ``triage --json``)."""
        i = self.issue
        return {"title": i.title, "link": i.link or None, "fixed_in": list(i.fixed_in), "note": i.note or None,
                "pattern": i.bucket, "release": self.release or None, "has_fix": self.fixed, "recurs": self.recurs,
                "text": self.text()}


def _pattern(text: str) -> "re.Pattern[str]":
    """``*`` any characters, ``?`` one; the rest literal (unlike fnmatch, ``[2]`` is not a class)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text), re.S)


class KnownIssues:
    """The entries of one known-issues file, and the lookup of a bucket among them."""

    def __init__(self, issues: Sequence[KnownIssue], path: str = "") -> None:
        self.issues = list(issues)
        self.path = path
        self._exact: Dict[str, KnownIssue] = {}
        self._patterns: List[Tuple["re.Pattern[str]", KnownIssue]] = []
        for i in self.issues:
            self._exact.setdefault(i.bucket, i)
            if "*" in i.bucket or "?" in i.bucket:
                self._patterns.append((_pattern(i.bucket), i))

    def find(self, bucket: str) -> Optional[KnownIssue]:
        """The entry for ``bucket``: its exact id, else the first pattern that matches; None for a new bug."""
        if not bucket:
            return None
        hit = self._exact.get(bucket)
        if hit is not None:
            return hit
        return next((i for p, i in self._patterns if p.fullmatch(bucket)), None)

    def match(self, bucket: str, release: str = "") -> Optional[KnownMatch]:
        """:meth:`find`, with what ``release`` (the crashed kernel's) says about the fix."""
        issue = self.find(bucket)
        if issue is None:
            return None
        return KnownMatch(issue, release, has_fix(release, issue.fixed_in) if release else None)


def _text(entry: Dict[str, Any], key: str, where: str, required: bool = False) -> str:
    value = entry.get(key)
    if value is None:
        if required:
            raise KnownIssuesError(f"{where}: no {key} (each [[issue]] needs bucket and title)")
        return ""
    if not isinstance(value, str):
        raise KnownIssuesError(f"{where}: {key} must be a string, not {type(value).__name__}")
    if required and not value.strip():
        raise KnownIssuesError(f"{where}: {key} is empty")
    return value.strip()


def _issue(entry: Any, where: str) -> KnownIssue:
    if not isinstance(entry, dict):
        raise KnownIssuesError(f"{where}: not a table (write [[issue]] and key = value lines)")
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise KnownIssuesError(f"{where}: unknown key {unknown[0]!r} (the keys are {', '.join(_KEYS)})")
    fixed = entry.get("fixed_in", ())
    if isinstance(fixed, str):
        fixed = [fixed] if fixed.strip() else []
    if not isinstance(fixed, (list, tuple)) or not all(isinstance(x, str) for x in fixed):
        raise KnownIssuesError(f"{where}: fixed_in must be a release (\"6.1.60\") or a list of them")
    for x in fixed:
        if parse_release(x) is None:
            raise KnownIssuesError(f"{where}: fixed_in {x!r} is not a kernel release (e.g. 6.1.60, 6.1.0-13)")
    return KnownIssue(_text(entry, "bucket", where, True), _text(entry, "title", where, True),
                      _text(entry, "link", where), tuple(x.strip() for x in fixed), _text(entry, "note", where))


def parse_known(text: str, path: str = "known issues") -> KnownIssues:
    """The known issues in TOML ``text`` (``[[issue]]`` tables; see the module's notes).

    :raises KnownIssuesError: not TOML, or an entry without bucket or title, with an unknown
        key, or with a ``fixed_in`` that is no kernel release.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - setup.cfg installs tomli there
        import tomli as tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise KnownIssuesError(f"{path}: not valid TOML: {e}") from None
    extra = sorted(set(doc) - {"issue"})
    if extra:
        raise KnownIssuesError(f"{path}: unexpected {extra[0]!r} (write each known bug as an [[issue]] table)")
    entries = doc.get("issue", [])
    if not isinstance(entries, list):
        raise KnownIssuesError(f"{path}: 'issue' must be an array of tables: write [[issue]], not [issue]")
    return KnownIssues([_issue(e, f"{path}: issue {n}") for n, e in enumerate(entries, 1)], path)


def load_known(path: str) -> KnownIssues:
    """The known issues in file ``path``.

    :raises KnownIssuesError: the file cannot be read or is not a known-issues file.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise KnownIssuesError(f"{path}: cannot read the known-issues file: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KnownIssuesError(f"{path}: not a text file (a known-issues file is UTF-8 TOML)") from None
    return parse_known(text, path)


def known_issues(path: Optional[str]) -> Optional[KnownIssues]:
    """The known issues of ``--known PATH``, else of ``$KDUMPEXT_KNOWN_ISSUES``; None when neither is set."""
    path = path or os.environ.get(ENV, "").strip() or None
    return load_known(path) if path else None

