"""The package's shape: no import cycles between its modules (lazy, function-level imports included), no long
modules, notebooks that stay thin."""
import ast
from pathlib import Path

from conftest import REPO


def import_graph(root: Path) -> dict[str, set[str]]:
    """``module -> modules of the package it imports``, module level and inside functions. A package is its
    ``__init__``: importing ``a.b.c`` runs ``a.b``'s ``__init__`` first, so the edge goes to ``a.b`` as well (a
    package importing its own submodules is an edge too; a submodule's own parent packages are not, as Python
    is already importing them)."""
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
            for c in candidates:
                parts = c.split(".")
                for i in range(2, len(parts) + 1):
                    m = ".".join(parts[:i])
                    if m in modules and m != name and not name.startswith(m + "."):
                        graph[name].add(m)
    return graph


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph collapsed to the package's first level (``qcrdkit.judge``, ``qcrdkit.core``, ...)."""
    def top(m):
        return ".".join(m.split(".")[:2])
    out: dict[str, set[str]] = {}
    for m, targets in graph.items():
        out.setdefault(top(m), set()).update(top(t) for t in targets if top(t) != top(m))
    return out


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


def test_cycle_finder_finds_a_cycle_through_a_packages_init(tmp_path):
    """The shape of the cycle an earlier layout had: ``x/__init__`` re-exports ``x.p``, which imports ``y.r``,
    which imports from ``x`` (the package, so its ``__init__``)."""
    pkg = tmp_path / "pkg"
    for folder in (pkg, pkg / "x", pkg / "y"):
        folder.mkdir()
        (folder / "__init__.py").write_text("")
    (pkg / "x" / "__init__.py").write_text("from .p import f\n")
    (pkg / "x" / "p.py").write_text("def f():\n    from ..y.r import g\n")
    (pkg / "y" / "r.py").write_text("from ..x import f\n")
    graph = import_graph(pkg)
    assert cycles(graph) == [["pkg.x", "pkg.x.p", "pkg.y.r"]]
    assert cycles(package_graph(graph)) == [["pkg.x", "pkg.y"]]


def test_qcrdkit_has_no_import_cycles_between_modules_or_packages():
    graph = import_graph(REPO / "qcrdkit")
    assert cycles(graph) == []
    assert cycles(package_graph(graph)) == []


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


#: function defaults named like a stage parameter whose value no stage has, because they are another thing of that
#: name: inference batch sizes, display limits, the model name a record carries, a request's seed, ...
HOMONYMS = {
    "backbone": {"model.py:__init__=''", "model.py:judge_from_student='student'"},     # what a saved judge records
    "batch_size": {f"{f}=64" for f in ("models.py:generate_texts", "online.py:score", "scoring.py:score_items",
                                       "scoring.py:score_rationales")},                # inference batches
    "cache_dir": {"llm_judge.py:judge_client=None"},               # the LLM judge's cache (stage 04: llm_judge_cache_dir)
    "limit": {"explorer.py:rows_html=20", "widgets.py:__init__=20"},                   # rows shown
    "model": {"importers.py:import_dss_llm='palm-540b (DSS)'", "importers.py:import_jsonl='imported'"},  # a record's
    "progress": {"scoring.py:score_items=False", "scoring.py:score_rationales=False"},  # inside a stage's own bar
    "run_dir": {"dashboard.py:show_run=None"},                     # None: the newest run
    "seed": {"synthetic.py:complete=None"},                        # a request's seed
    "splits": {"items.py:judge_items=None"},                       # None: every record given
    "steps": {"base.py:__init__=0", "online.py:update=1"},         # a callback's count; optimizer steps per update
    "temperature": {"importers.py:import_jsonl=None", "models.py:generate_texts=None"},  # unknown; greedy
}


def test_no_function_default_restates_a_stage_parameter_with_another_value():
    """A library function's default named like a stage parameter reads the stage's (``JudgeStageConfig.heldout_fraction``)
    or has its value; another value is a second declaration that disagrees, unless it is a known homonym."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(REPO / "bench" / "parameter_declarations.py")], capture_output=True,
                         text=True, check=True).stdout
    found: dict[str, set] = {}
    for line in out.splitlines():
        if line.strip().startswith("other value: "):
            name, where = line.strip().removeprefix("other value: ").split(": ", 1)
            found.setdefault(name, set()).add(where.removesuffix(" (other value)"))
    extra = {n: sorted(w - HOMONYMS.get(n, set())) for n, w in found.items() if w - HOMONYMS.get(n, set())}
    assert not extra, f"function defaults that disagree with the stage: {extra}"


def test_no_internal_issue_numbers_in_what_users_read():
    """The tracker's numbers mean nothing to a user: none in the package, the docs, the Makefile, bench/ or params/."""
    import re
    import subprocess

    files = subprocess.run(["git", "ls-files", "qcrdkit", "docs", "bench", "params", "Makefile", "README.md"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"\bissues? ?#?\d+|(?<![#\w&:])#\d{1,3}\b(?![#'\";\w])", re.IGNORECASE)
    found = [f"{f}:{i}: {line.strip()[:80]}" for f in files if f.endswith((".py", ".md", ".yaml", ".ipynb")) or
             f == "Makefile" for i, line in enumerate((REPO / f).read_text().splitlines(), 1) if pattern.search(line)]
    assert not found


def test_every_notebook_cell_has_an_id():
    """nbformat 4.5 cells carry ids (a cell added without one warns on every run, and will be an error)."""
    import json

    for path in sorted((REPO / "qcrdkit" / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        missing = [i for i, c in enumerate(cells) if not c.get("id")]
        assert not missing, f"{path.name}: cells {missing} have no id"
        assert len({c["id"] for c in cells}) == len(cells), f"{path.name}: duplicate cell ids"
