"""Only repositories query: outside the repository modules no module of ``lockstitch`` imports
SQLAlchemy's statement builders or runs a statement on a session.

import-linter cannot say this (it sees that a module imports ``sqlalchemy``, not which names),
so this test reads the source: a query written elsewhere fails here, naming its line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lockstitch

ROOT = Path(lockstitch.__file__).parent
BUILDERS = {"select", "update", "delete", "insert", "text"}
RUNS = {"execute", "scalar", "scalars", "get", "stream", "stream_scalars"}
# Repositories whose module is not called ``*repository.py`` (one table each), the lease SQL
# every leased table shares, the database plumbing, and what describes tables (models, whose
# index predicates are ``text``, and migrations).
ALLOWED = {"oauth/app_flags.py", "sources/events.py", "accounts/audit.py", "jobs/leases.py"}
ALLOWED_DIRS = ("kit/", "models/", "migrations/")


def _queries(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            if any(alias.name in BUILDERS for alias in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNS:
            target = node.func.value
            name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
            if name == "session":
                lines.append(node.lineno)
    return lines


def test_only_repositories_query() -> None:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.endswith("repository.py") or relative in ALLOWED or relative.startswith(ALLOWED_DIRS):
            continue
        found += [f"{relative}:{line}" for line in _queries(ast.parse(path.read_text()))]
    assert found == []
