"""The package's shape: no import cycles between its modules (lazy, function-level imports included), no long
modules, notebooks that stay thin."""
import ast
from pathlib import Path

from conftest import REPO


def import_graph(root: Path) -> dict[str, set[str]]:
    """``module -> modules of the package it imports`` (module level and inside functions)."""
    modules = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                candidates = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            # a package importing its own submodules (its __init__ re-exporting them) is not a cycle
            graph[name] |= {c for c in candidates if c in modules and c != name and not c.startswith(name + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_lazy_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from . import a\n")
    (pkg / "a.py").write_text("from .b import f\n")
    (pkg / "b.py").write_text("def f():\n    from .a import g\n")
    assert cycles(import_graph(pkg)) == [["pkg.a", "pkg.b"]]


def test_qcrdkit_has_no_import_cycles():
    assert cycles(import_graph(REPO / "qcrdkit")) == []


def test_modules_and_notebook_cells_stay_small():
    """No module over 400 lines; outside its parameter cell, no notebook code cell over 15 lines (comments and blank
    lines not counted): a notebook calls the library and shows what it returns."""
    import json

    long_modules = {str(p.relative_to(REPO)): n for p in (REPO / "qcrdkit").rglob("*.py")
                    if (n := len(p.read_text().splitlines())) > 400}
    assert not long_modules
    long_cells = {}
    for path in sorted((REPO / "qcrdkit" / "notebooks").glob("0*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
                continue
            lines = [line for line in "".join(cell["source"]).splitlines()
                     if line.strip() and not line.strip().startswith("#")]
            if len(lines) > 15:
                long_cells[f"{path.name} cell {i}"] = len(lines)
    assert not long_cells


def test_parameters_are_not_declared_again_by_hand():
    """bench/parameter_declarations.py: beside a parameter's stages.py field and its notebook parameter-cell line,
    at most the five known second places (two homonyms, ``qcrd train --seed``, notebook 04's two hand-offs of
    ``case_temperature``); a library default or a notebook renaming added again fails here."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(REPO / "bench" / "parameter_declarations.py")], capture_output=True,
                         text=True, check=True).stdout
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts.get("library field", 0) + counts.get("cli default", 0) + counts.get("notebook rename", 0) <= 5
