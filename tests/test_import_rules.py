"""The layering rules: Qt only in app.ui and main.py, core_model never imports app."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "qtpy")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("core_model", "app/project", "app/services"), ids=str)
def test_no_qt_below_ui(path):
    qt = sorted(m for m in imported_modules(path) if m.split(".")[0] in QT_MODULES)
    assert not qt, f"{path.relative_to(REPO)} imports Qt modules {qt}"


@pytest.mark.parametrize("path", python_files("core_model"), ids=str)
def test_core_does_not_import_app(path):
    app_imports = sorted(m for m in imported_modules(path) if m.split(".")[0] == "app")
    assert not app_imports, f"{path.relative_to(REPO)} imports {app_imports}"
