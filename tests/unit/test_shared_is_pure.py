"""``shared/`` is the pure domain: no I/O, no event loop, no database, no clock reads.

Both the gateway and the cloud run this code and the cloud re-rates the gateway's charges with it,
so a hidden clock read or file access would make the two sides disagree. Two checks: a static scan
of every module's imports and calls, and a fresh interpreter that imports all of ``shared`` and
must not have pulled in an I/O library by any route.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

SHARED = REPO_ROOT / "shared"

FORBIDDEN_MODULES = {
    "asyncio", "sqlite3", "sqlite_utils", "sqlalchemy", "psycopg", "httpx", "aiomqtt", "aiocoap",
    "pymodbus", "litestar", "dramatiq", "socket", "subprocess", "threading", "multiprocessing",
    "os", "pathlib", "io", "time", "urllib", "http", "ssl", "shutil", "tempfile", "logging", "random",
}  # fmt: skip
ALLOWED_THIRD_PARTY = {"msgspec", "holidays", "shared"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}
FORBIDDEN_CALLS = {"open", "input", "print", "exec", "eval", "uuid1", "uuid4"}


def shared_modules() -> list[Path]:
    return sorted(SHARED.rglob("*.py"))


def imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def called_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return names


@pytest.mark.parametrize("path", shared_modules(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_module_imports_nothing_that_does_io(path: Path) -> None:
    roots = imported_roots(ast.parse(path.read_text(), filename=str(path)))
    forbidden = roots & FORBIDDEN_MODULES
    assert not forbidden, f"{path.relative_to(REPO_ROOT)} imports {sorted(forbidden)}"
    third_party = {r for r in roots if r not in sys.stdlib_module_names} - ALLOWED_THIRD_PARTY
    assert not third_party, f"{path.relative_to(REPO_ROOT)} imports non-stdlib {sorted(third_party)}"


@pytest.mark.parametrize("path", shared_modules(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_module_reads_no_clock_and_opens_nothing(path: Path) -> None:
    calls = called_names(ast.parse(path.read_text(), filename=str(path)))
    offending = calls & (CLOCK_CALLS | FORBIDDEN_CALLS)
    assert not offending, f"{path.relative_to(REPO_ROOT)} calls {sorted(offending)}: pass time and data in"


def test_importing_all_of_shared_pulls_in_no_io_library() -> None:
    modules = [
        ".".join(p.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in shared_modules()
    ]
    probe = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = set(json.loads(subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout))  # fmt: skip
    io_libraries = {"asyncio", "sqlite3", "sqlalchemy", "psycopg", "httpx", "pymodbus", "litestar",
                    "aiomqtt", "aiocoap", "dramatiq", "sqlite_utils"}  # fmt: skip
    assert not loaded & io_libraries, f"importing shared loads {sorted(loaded & io_libraries)}"
