"""Dependencies point one way: gui -> assistant -> models, research beside them and never imported
by the product, and no import cycle among the project's modules (checked on the source, statically:
module-level and function-level imports alike)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The installed packages and the research code beside them (research/ is not installed).
PACKAGES = ("models", "assistant", "gui", "research")
FORBIDDEN = {
    "models": {"assistant", "gui", "research", "PySide6"},
    "assistant": {"gui", "research", "PySide6"},
    "gui": {"research"},
}


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upwards(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_top_level_modules(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_checker_sees_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import gui.app\nfrom PySide6 import QtCore\nfrom . import sibling\n")
    assert imported_top_level_modules(sample) == {"gui", "PySide6"}


# -- import cycles -----------------------------------------------------------------------------
def project_modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the packages (a package is its __init__)."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its source (top of the file, inside a
    function, under TYPE_CHECKING: all of them; `from pkg import mod` counts as importing pkg.mod)."""
    modules = project_modules(root, packages)

    def owner(name: str) -> str | None:  # the longest prefix of a dotted name that is a project module
        parts = name.split(".")
        while parts:
            if ".".join(parts) in modules:
                return ".".join(parts)
            parts.pop()
        return None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's package, up level - 1 more
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            edges.update(t for t in map(owner, targets) if t is not None and t != name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_among_the_project_modules():
    graph = import_graph(ROOT)
    assert "models.model_folder" in graph and "models.classification" in graph["models.model_folder"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_checker_finds_function_level_and_relative_cycles(tmp_path):
    package = tmp_path / "models"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from models.b import thing\n")
    (package / "b.py").write_text("def thing():\n    from . import c\n")
    (package / "c.py").write_text("import numpy\n")
    graph = import_graph(tmp_path, ("models",))
    assert graph["models.a"] == {"models.b"} and graph["models.b"] == {"models.c"} and find_cycle(graph) is None
    (package / "c.py").write_text("def later():\n    import models.a\n")
    assert find_cycle(import_graph(tmp_path, ("models",))) == ["models.a", "models.b", "models.c", "models.a"]


def test_research_is_not_an_installed_package():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(included) == ["assistant*", "gui*", "models*"]
    assert not any((ROOT / package / name).exists() for package in ("models", "assistant")
                   for name in ("jsb.py", "frame_support.py", "recurrent.py", "baselines.py", "evaluation.py"))
