"""Files the plugin installer (``runner.plugins``) adds to a finished venv when a plugin's
definition asks for them: the collections aliases hook and a missing console script."""

from __future__ import annotations

from pathlib import Path

# ``collections_aliases``: site.py executes a .pth file's ``import`` lines at every start-up of
# the venv's Python, so the aliases exist before the plugin's code runs, in that venv only. A .pth
# of our own name rather than a sitecustomize.py: only the first sitecustomize on sys.path runs
# (the base Python's or a package's would shadow ours, or ours theirs). The work is in a module
# because a .pth line runs inside a site.py function, where a comprehension cannot see its names.
ALIASES_PTH = "lockstitch-collections-aliases.pth"
ALIASES_MODULE = "_lockstitch_collections_aliases"
_ALIASES_CODE = """\
\"\"\"Written by Lockstitch: the collections aliases Python 3.10 removed, for this venv's plugin.\"\"\"

import collections
import collections.abc

for _name in collections.abc.__all__:
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))
"""


def write_collections_aliases(venv: Path) -> bool:
    """Install the aliases hook in the venv's site-packages; False when it has no single one."""
    found = sorted((venv / "lib").glob("python*/site-packages"))
    if len(found) != 1:
        return False
    (found[0] / f"{ALIASES_MODULE}.py").write_text(_ALIASES_CODE, encoding="utf-8")
    (found[0] / ALIASES_PTH).write_text(f"import {ALIASES_MODULE}\n", encoding="utf-8")
    return True


def write_entry_point(venv: Path, executable: str, entry_point: str) -> None:
    """``bin/<executable>`` calling ``module:callable``, as pip writes a declared console script."""
    # The model's pattern keeps both parts dotted Python names, so nothing but an import and a
    # call can come out of them; the script stays in bin/.
    if Path(executable).name != executable:
        raise ValueError(f"executable {executable!r} is not a file name")
    module, qualname = entry_point.split(":")
    script = venv / "bin" / executable
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\n"
        f"# Written by Lockstitch (PluginDef.entry_point): the package declares no console script.\n"
        f"import sys\nfrom {module} import {qualname.split('.')[0]}\n\nsys.exit({qualname}())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
