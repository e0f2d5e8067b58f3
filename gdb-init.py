"""Load kdumpext into stock gdb: `gdb -q -x gdb-init.py` or `(gdb) source /path/to/gdb-init.py`.

gdb runs this in its own embedded Python (Debian: the system python3), not in a venv.  It
puts this checkout and the site-packages of a venv of the same Python version on sys.path,
so that kdumpext and its dependencies (drgn, pyelftools, capstone, tabulate) import, then
loads the `kdump` commands.  Where it looks, in order:

  $KDUMPEXT_VENV, $VIRTUAL_ENV, ./.venv and ./venv next to this file (site-packages of the
  venv's lib/pythonX.Y matching gdb's Python), then the user site.

When something is missing it prints one line saying what to run, and loads nothing: in a
checkout, `bash .ci/setup` (it makes the .venv this script loads); for a copy of this file
elsewhere, a venv of gdb's Python version named by KDUMPEXT_VENV.  Not `pip install --user`:
Debian 12's Python is externally managed (PEP 668) and refuses it.
"""

import inspect
import os
import site
import sys


def _kdumpext_here() -> str:
    return os.path.dirname(os.path.abspath(inspect.currentframe().f_code.co_filename))  # type: ignore[union-attr]


def _kdumpext_setup_path() -> None:
    here = _kdumpext_here()
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    venvs = [os.path.expanduser(os.environ.get("KDUMPEXT_VENV", "")), os.environ.get("VIRTUAL_ENV", ""),
             os.path.join(here, ".venv"), os.path.join(here, "venv")]
    dirs = []
    for venv in venvs:
        if venv:
            for lib in ("lib", "lib64"):
                d = os.path.join(venv, lib, version, "site-packages")
                if os.path.isdir(d) and d not in dirs:
                    dirs.append(d)
    user = site.getusersitepackages() if site.ENABLE_USER_SITE else ""
    if user and os.path.isdir(user) and user not in dirs:
        dirs.append(user)
    before = list(sys.path)
    for d in dirs:
        site.addsitedir(d)  # also runs the .pth files (an editable install of kdumpext is one)
    added = [p for p in sys.path if p not in before]
    rest = [p for p in sys.path if p in before and p != here]
    # this checkout first, then the venvs (their versions win over the system's), then the rest
    front = [here] if os.path.isdir(os.path.join(here, "kdumpext")) else []
    sys.path[:] = front + added + rest


def _kdumpext_missing() -> list:
    import importlib.util

    missing = []
    for module, package in (("kdumpext", "kdumpext"), ("drgn", "drgn"), ("elftools", "pyelftools"),
                            ("capstone", "capstone"), ("tabulate", "tabulate")):
        try:
            if importlib.util.find_spec(module) is None:
                missing.append(package)
        except (ImportError, ValueError):
            missing.append(package)
    return missing


def _kdumpext_advice(missing: list) -> str:
    """What to run so that the next gdb finds everything (one line; works on Debian 12)."""
    here = _kdumpext_here()
    setup = os.path.join(here, ".ci", "setup")
    if os.path.isfile(setup):  # a checkout: its set-up makes the .venv this script loads
        return f"run `bash {setup}` (it makes {os.path.join(here, '.venv')}, which gdb-init.py loads), then restart gdb"
    py = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    venv = "~/.local/share/kdumpext-venv"
    # a checkout's install brings the dependencies along
    what = "/path/to/kdumpext-checkout" if "kdumpext" in missing else " ".join(missing)
    return (f"make a venv of gdb's Python (Debian: apt-get install python3-venv) and pip install into it: "
            f"`{py} -m venv {venv} && {venv}/bin/pip install {what}`, then start gdb with KDUMPEXT_VENV={venv}")


def _kdumpext_load() -> None:
    try:
        import gdb  # noqa: F401
    except ImportError:
        print("gdb-init.py: load this from gdb: gdb -q -x gdb-init.py, or (gdb) source gdb-init.py")
        return
    _kdumpext_setup_path()
    missing = _kdumpext_missing()
    if missing:
        print(f"kdumpext: gdb's Python ({sys.version.split()[0]}) cannot import {', '.join(missing)}: "
              + _kdumpext_advice(missing))
        return
    try:
        import kdumpext.gdb  # noqa: F401  (registers the kdump commands)
    except ImportError as e:
        print(f"kdumpext: cannot load kdumpext.gdb in gdb's Python ({sys.version.split()[0]}): {e}")
        return
    print("kdumpext loaded: kdump open DUMP [VMLINUX] [--debug-dir DIR] [-v]; help kdump lists the commands")


_kdumpext_load()
