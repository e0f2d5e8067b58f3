"""Static checks on the package: who may import whom (read with ast, nothing imported), and mypy clean."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import subprocess
import sys
from typing import Dict, Iterator, List, Tuple

from conftest import need

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "kdumpext"

#: The thin front-ends over the engine (STYLE.md): the only modules another front-end
#: may import, and that the engine may never import.
FRONT_ENDS = ("kdumpext.gdb", "kdumpext.drgn", "kdumpext.cli", "kdumpext.batch")


def _sources() -> List[Tuple[str, str, ast.Module]]:
    """(module name, path relative to the repository, AST) of every kdumpext/*.py."""
    out = []
    pkg_dir = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(pkg_dir)):
        if not name.endswith(".py"):
            continue
        path = os.path.join(pkg_dir, name)
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
        module = PACKAGE if name == "__init__.py" else f"{PACKAGE}.{name[:-3]}"
        out.append((module, os.path.relpath(path, ROOT), tree))
    return out


def _resolve(module: str, is_package: bool, level: int, name: str) -> str:
    """The absolute name of ``from <level dots><name>`` written in ``module``."""
    if level == 0:
        return name
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        parts = parts[: -(level - 1)]
    return ".".join(parts + ([name] if name else []))


def _is_import_module(call: ast.Call) -> bool:
    """``importlib.import_module(...)``, ``import_module(...)`` or ``__import__(...)``."""
    f = call.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    return name in ("import_module", "__import__")


def _imports(module: str, is_package: bool, tree: ast.Module) -> Iterator[Tuple[int, str]]:
    """(line, absolute module name) of every import anywhere in ``tree``, inside functions too.

    ``from X import a`` yields X and X.a (``a`` may be a submodule).  A call to
    ``importlib.import_module`` or ``__import__`` yields every string constant in its
    first argument, resolved against the package the way ``__package__`` would be.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module or "")
            yield node.lineno, base
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and _is_import_module(node) and node.args:
            for const in ast.walk(node.args[0]):
                if isinstance(const, ast.Constant) and isinstance(const.value, str) and const.value:
                    text = const.value
                    dots = len(text) - len(text.lstrip("."))
                    yield node.lineno, _resolve(module, is_package, dots, text[dots:])


def _under(name: str, top: str) -> bool:
    """``name`` is module ``top`` or something inside it."""
    return name == top or name.startswith(top + ".")


def test_sources_found() -> None:
    modules = {m for m, _, _ in _sources()}
    assert {"kdumpext.model", "kdumpext.triage", *FRONT_ENDS} <= modules


def test_model_imports_nothing_of_the_package() -> None:
    """model.py holds the plain dataclasses everything else builds on: it depends on nothing here."""
    bad: Dict[int, str] = {}  # line -> the first name imported there (``from .x import a`` also yields x.a)
    for module, path, tree in _sources():
        if module == "kdumpext.model":
            for line, name in _imports(module, False, tree):
                if _under(name, PACKAGE):
                    bad.setdefault(line, f"{path}:{line}: imports {name}")
    assert not bad, "kdumpext/model.py must import nothing of kdumpext:\n" + "\n".join(bad[k] for k in sorted(bad))


def test_engine_imports_no_front_end() -> None:
    """The engine serves gdb, drgn, the CLI and batch; none of them may leak back into it."""
    bad = []
    for module, path, tree in _sources():
        if module in FRONT_ENDS:
            continue
        for line, name in _imports(module, module == PACKAGE, tree):
            hit = next((fe for fe in FRONT_ENDS if _under(name, fe)), None)
            if hit is not None:
                bad.append(f"{path}:{line}: imports the front-end {hit}")
    assert not bad, "the engine must not import a front-end:\n" + "\n".join(sorted(set(bad)))


def test_only_the_gdb_front_end_imports_gdb() -> None:
    """``gdb`` exists only inside gdb's own Python: everything but kdumpext/gdb.py must run without it."""
    bad = []
    for module, path, tree in _sources():
        if module == "kdumpext.gdb":
            continue
        for line, name in _imports(module, module == PACKAGE, tree):
            if _under(name, "gdb"):
                bad.append(f"{path}:{line}: imports {name}")
    assert not bad, "only kdumpext/gdb.py may import gdb:\n" + "\n".join(sorted(set(bad)))


def test_no_per_module_strict_in_mypy_config() -> None:
    """``strict = True`` in a [mypy-...] section silently makes the whole run strict (mypy applies it globally)."""
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    bad = [s for s in cfg.sections() if s.startswith("mypy-") and cfg.has_option(s, "strict")]
    assert not bad, f"setup.cfg [{', '.join(bad)}]: spell out the strict flags instead of strict = True"


def test_mypy_clean() -> None:
    """``python -m mypy kdumpext`` with setup.cfg's [mypy] configuration reports nothing."""
    need(importlib.util.find_spec("mypy") is not None,
         "mypy is not installed (README's set-up command installs it with the test extras)")
    proc = subprocess.run([sys.executable, "-m", "mypy", PACKAGE], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, "mypy kdumpext:\n" + proc.stdout
