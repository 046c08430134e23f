"""firmware_profiles imports only shared, msgspec and the standard library, and does no bus I/O."""

import ast
import sys
from pathlib import Path

import firmware_profiles

PACKAGE_DIR = Path(firmware_profiles.__file__).parent
ALLOWED_ROOTS = {"firmware_profiles", "shared", "msgspec", "__future__"}
# Standard-library modules that would mean I/O, a clock or concurrency inside pure decoding.
FORBIDDEN_STDLIB = {"asyncio", "socket", "sqlite3", "subprocess", "os", "time", "threading", "datetime"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_shared_msgspec_and_pure_stdlib_are_imported() -> None:
    offenders = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        roots = _imported_roots(path)
        bad = {root for root in roots if root not in ALLOWED_ROOTS and root not in sys.stdlib_module_names}
        bad |= roots & FORBIDDEN_STDLIB
        if bad:
            offenders[str(path.relative_to(PACKAGE_DIR))] = sorted(bad)
    assert offenders == {}


def test_every_packaged_profile_file_is_shipped_beside_an_init() -> None:
    # Without data/__init__.py setuptools would not ship the TOML files as package data.
    data = PACKAGE_DIR / "data"
    assert (data / "__init__.py").is_file()
    assert len(list(data.glob("*.toml"))) == len(firmware_profiles.load_packaged_profiles())
