"""Imports point inward (STYLE.md §1): domain/ and protocol/ never import a framework, the store
or the web layer, and domain/ never imports protocol/. Checked on the AST of every module, so an
import inside a function or under TYPE_CHECKING counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import keystead

PACKAGE_ROOT = Path(keystead.__file__).parent
FRAMEWORKS = ("sqlalchemy", "starlette", "fastapi", "jinja2", "alembic", "uvicorn", "typer")
OUTER_LAYERS = ("keystead.store", "keystead.web", "keystead.cli")
FORBIDDEN = {
    "domain": (*FRAMEWORKS, *OUTER_LAYERS, "keystead.protocol"),
    "protocol": (*FRAMEWORKS, *OUTER_LAYERS),
}
IMPORT_FUNCTIONS = frozenset({"import_module", "__import__"})
# The web layer reads and writes through use cases and ports: it never names a table, builds
# SQL or wires a store. Only the composition root imports the store; elsewhere the connection
# is a type handed from runtime to runtime's factories.
WEB_COMPOSITION_ROOT = ("runtime.py", "use_cases.py", "outside_parts.py")
WEB_FORBIDDEN = ("keystead.store", "sqlalchemy")
WEB_ALLOWED = ("sqlalchemy.ext.asyncio", "sqlalchemy.ext.asyncio.AsyncConnection")


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, *, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every module ``source`` imports, with relative imports resolved, and its line."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in IMPORT_FUNCTIONS and isinstance(first, ast.Constant) and isinstance(
                    first.value, str):
                found.append((node.lineno, first.value))
    return found


def violations(path: Path, forbidden: tuple[str, ...], *, root: Path = PACKAGE_ROOT
               ) -> list[str]:
    found = imported_modules(path.read_text(), module=module_name(path, root),
                             is_package=path.name == "__init__.py")
    return [f"{path.relative_to(root)}:{line} imports {name}" for line, name in found
            if any(name == bad or name.startswith(f"{bad}.") for bad in forbidden)]


def modules_of(layer: str) -> list[Path]:
    return sorted((PACKAGE_ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layering_inner_layers_import_no_framework_store_or_web(layer: str) -> None:
    modules = modules_of(layer)
    assert len(modules) >= 3, f"no modules found under {layer}/"
    problems = [problem for path in modules for problem in violations(path, FORBIDDEN[layer])]
    assert problems == []


def test_layering_web_builds_no_sql() -> None:
    modules = [path for path in modules_of("web") if path.name not in WEB_COMPOSITION_ROOT
               or path.parent != PACKAGE_ROOT / "web"]
    assert len(modules) >= 20, "no modules found under web/"
    problems = [problem for path in modules for problem in violations(path, WEB_FORBIDDEN)
                if not problem.endswith(WEB_ALLOWED)]
    assert problems == []


@pytest.mark.parametrize(("source", "module", "is_package", "expected"), [
    pytest.param("import sqlalchemy.ext.asyncio\n", "keystead.domain.x", False,
                 "sqlalchemy.ext.asyncio", id="plain-import"),
    pytest.param("from starlette.requests import Request\n", "keystead.protocol.x", False,
                 "starlette.requests", id="from-import"),
    pytest.param("def f():\n    import jinja2\n", "keystead.domain.x", False, "jinja2",
                 id="inside-a-function"),
    pytest.param("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                 "    from keystead.store.tables import clients\n", "keystead.domain.x", False,
                 "keystead.store.tables", id="type-checking-only"),
    pytest.param("from ...store import tables\n", "keystead.protocol.grants", True,
                 "keystead.store", id="relative-from-a-package"),
    pytest.param("from ..web import app\n", "keystead.protocol.server", False,
                 "keystead.web", id="relative-from-a-module"),
    pytest.param("from .. import web\n", "keystead.protocol.server", False, "keystead.web",
                 id="relative-bare"),
    pytest.param("import importlib\nimportlib.import_module('fastapi')\n",
                 "keystead.domain.x", False, "fastapi", id="import-module-call"),
])
def test_layering_checker_sees_every_kind_of_import(source: str, module: str,
                                                    is_package: bool, expected: str) -> None:
    names = [name for _line, name in imported_modules(source, module=module,
                                                      is_package=is_package)]
    assert expected in names


def test_layering_checker_flags_a_violation(tmp_path: Path) -> None:
    fake_root = tmp_path / "keystead"
    (fake_root / "domain").mkdir(parents=True)
    bad = fake_root / "domain" / "leaky.py"
    bad.write_text("from keystead.web.presenters import iso\nimport json\n")
    assert violations(bad, FORBIDDEN["domain"], root=fake_root) == [
        "domain/leaky.py:1 imports keystead.web.presenters",
        "domain/leaky.py:1 imports keystead.web.presenters.iso"]


def test_layering_allowed_imports_are_not_flagged(tmp_path: Path) -> None:
    fake_root = tmp_path / "keystead"
    (fake_root / "protocol").mkdir(parents=True)
    fine = fake_root / "protocol" / "fine.py"
    fine.write_text("from keystead.domain.clients import Client\nimport sqlalchemy_utils_x\n"
                    "from keystead.protocol.errors import OAuthError\n")
    assert violations(fine, FORBIDDEN["protocol"], root=fake_root) == []
