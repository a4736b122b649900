"""The sync engine's modules import each other as a tree: a phase never reaches back into the
runner that runs it (it gets a syncjobs.context.JobContext instead)."""

import ast
from pathlib import Path

import pytest

SYNCJOBS = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.sqlite


def imported_syncjobs_modules(path: Path) -> set[str]:
    """The syncjobs modules `path` imports, at run time or for type checking alike."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "syncjobs":
                names.update(alias.name for alias in node.names)
            elif node.module.startswith("syncjobs."):
                names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("syncjobs.")
            )
    return {name for name in names if (SYNCJOBS / f"{name}.py").exists()}


def test_the_engine_modules_import_each_other_without_a_cycle():
    graph = {
        path.stem: imported_syncjobs_modules(path) - {path.stem}
        for path in SYNCJOBS.glob("*.py")
        if path.stem != "__init__"
    }
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, f"import cycle: {' -> '.join((*trail, module))}"
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, (*trail, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
