"""How many places declare each stage parameter (a default written down, or a name translated by hand).

A parameter is a field of a stage config in ``qcrdkit/core/stages.py``. A place that declares it is one of:

* ``stage field``      its field in ``stages.py`` (the one declaration there should be);
* ``library field``    a field of the same name in another dataclass of ``qcrdkit/`` with its own default
                       (a field made by ``declared(...)`` reads the stage's and does not count);
* ``function default`` a parameter of the same name with a default in a ``qcrdkit/`` function signature, in
                       three kinds: ``reads the stage`` (``TrainingStageConfig.judge_lr``: no second value),
                       ``same value`` (a literal equal to a stage's default of that name: homonyms included, a
                       ``seed=0`` of another function is not the stage's), ``other value`` (a literal no stage
                       has for that name: a second default that disagrees, which the layout test allows none of);
                       listed apart and not in the total;
* ``cli default``      an ``add_argument("--name", default=...)`` in ``qcrdkit/cli/commands.py``;
* ``notebook cell``    an assignment in a notebook's ``parameters`` cell (papermill injects there: a second
                       spelling the suite checks equal to ``stages.py``);
* ``notebook rename``  a notebook cell outside the parameter cell that hands the parameter on under another
                       name (``max_steps=steps`` or ``{"max_steps": steps}``).

Usage: ``python bench/parameter_declarations.py [--tree DIR] [--by-name]`` — ``--tree`` counts another checkout,
e.g. an older commit (``git worktree add --detach ../qcrdkit-old <commit>``).
"""
from __future__ import annotations

import argparse
import ast
import json
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _is_stage_class(cls: ast.ClassDef) -> bool:
    """A stage config: a class of ``stages.py`` that names its stage (``stage = "03_training"``)."""
    return any(isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "stage" for t in n.targets)
               for n in cls.body)


def stage_parameters(tree: Path) -> set[str]:
    """Field names of the stage configs of ``qcrdkit/core/stages.py``."""
    path = tree / "qcrdkit" / "core" / "stages.py"
    module = ast.parse((path if path.exists() else tree / "qcrdkit" / "stages.py").read_text())   # older trees
    return {node.target.id for cls in module.body if isinstance(cls, ast.ClassDef) and _is_stage_class(cls)
            for node in cls.body if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}


def stage_defaults(tree: Path) -> dict[str, list]:
    """``{parameter: [its default in each stage that declares it]}`` read from ``stages.py`` (literals only)."""
    path = tree / "qcrdkit" / "core" / "stages.py"
    module = ast.parse((path if path.exists() else tree / "qcrdkit" / "stages.py").read_text())
    out: dict[str, list] = defaultdict(list)
    for cls in module.body:
        if not (isinstance(cls, ast.ClassDef) and _is_stage_class(cls)):
            continue
        for node in cls.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(node.value, ast.Call):
                for k in node.value.keywords:
                    value = k.value.body if k.arg == "default_factory" and isinstance(k.value, ast.Lambda) else k.value
                    if k.arg in ("default", "default_factory"):
                        try:
                            out[node.target.id].append(ast.literal_eval(value))
                        except ValueError:
                            pass
    return out


def default_kind(value: ast.expr, name: str, defaults: dict) -> str:
    """``reads the stage`` | ``same value`` | ``other value`` | ``expression`` (see the module doc)."""
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) \
            and value.attr == name:
        return "reads the stage"
    try:
        literal = ast.literal_eval(value)
    except ValueError:
        return "expression"
    return "same value" if any(literal == d and type(literal) is type(d) for d in defaults.get(name, [])) else "other value"


def _is_declared(value) -> bool:
    return isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", None)) == "declared"


def python_places(path: Path, names: set[str], places: dict, defaults: dict | None = None) -> None:
    module = ast.parse(path.read_text())
    is_stages = path.name == "stages.py"
    for node in ast.walk(module):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value is not None \
                        and item.target.id in names and not _is_declared(item.value):
                    kind = "stage field" if is_stages and _is_stage_class(node) else "library field"
                    places[item.target.id].append((kind, f"{path.name}:{node.name}"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = args.posonlyargs + args.args
            with_default = list(zip(positional[len(positional) - len(args.defaults):], args.defaults)) + \
                [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            for arg, value in with_default:
                if arg.arg in names:
                    kind = default_kind(value, arg.arg, defaults or {})
                    places[arg.arg].append(("function default", f"{path.name}:{node.name}={ast.unparse(value)} ({kind})"))
        elif path.name in ("cli.py", "commands.py") and isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            flags = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if any(k.arg == "default" for k in node.keywords):
                for flag in flags:
                    name = flag.lstrip("-").replace("-", "_")
                    if flag.startswith("--") and name in names:
                        places[name].append(("cli default", f"{path.name}:{flag}"))


def notebook_places(path: Path, names: set[str], places: dict) -> None:
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        try:
            module = ast.parse("".join(cell["source"]))
        except SyntaxError:          # IPython magics
            continue
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            for node in module.body:
                if isinstance(node, (ast.Assign, ast.AnnAssign)):
                    for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                        if isinstance(target, ast.Name) and target.id in names:
                            places[target.id].append(("notebook cell", path.name))
            continue
        for node in ast.walk(module):
            if isinstance(node, ast.keyword) and isinstance(node.value, ast.Name) and node.value.id in names \
                    and node.arg and node.arg != node.value.id:
                places[node.value.id].append(("notebook rename", f"{path.name}:{node.arg}"))
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if isinstance(key, ast.Constant) and isinstance(value, ast.Name) and value.id in names \
                            and key.value != value.id:
                        places[value.id].append(("notebook rename", f"{path.name}:{key.value}"))


def count(tree: Path) -> tuple[set[str], dict[str, list]]:
    names, defaults = stage_parameters(tree), stage_defaults(tree)
    places: dict[str, list] = defaultdict(list)
    for path in sorted((tree / "qcrdkit").rglob("*.py")):
        python_places(path, names, places, defaults)
    for path in sorted((tree / "qcrdkit" / "notebooks").glob("*.ipynb")):
        notebook_places(path, names, places)
    return names, places


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=str(REPO), help="the checkout to count (default: this one)")
    parser.add_argument("--by-name", action="store_true", help="list every parameter's places")
    args = parser.parse_args()
    names, places = count(Path(args.tree))
    kinds = Counter(kind for where in places.values() for kind, _ in where)
    function_kinds = Counter(w.rsplit(" (", 1)[1].rstrip(")") for where in places.values() for k, w in where
                             if k == "function default")
    others = sorted(f"{n}: {w}" for n, where in places.items() for k, w in where
                    if k == "function default" and w.endswith("(other value)"))
    places = {n: [(k, w) for k, w in where if k != "function default"] for n, where in places.items()}
    per_name = [len(places.get(n, [])) for n in names]
    print(f"{args.tree}: {len(names)} stage parameters, {sum(per_name)} places declare them "
          f"({sum(per_name) / len(names):.2f} per parameter; most: {max(per_name)})")
    for kind in ("stage field", "library field", "cli default", "notebook cell", "notebook rename"):
        print(f"  {kind:17} {kinds.get(kind, 0)}")
    print(f"  (not counted: {kinds.get('function default', 0)} function defaults of the same names, homonyms included: "
          + ", ".join(f"{v} {k}" for k, v in sorted(function_kinds.items())) + ")")
    for line in others:
        print(f"    other value: {line}")
    if args.by_name:
        for name in sorted(names, key=lambda n: (-len(places.get(n, [])), n)):
            print(f"{name:28} {len(places.get(name, [])):2}  " + ", ".join(f"{k} ({w})" for k, w in places.get(name, [])))
    print(json.dumps({"parameters": len(names), "places": sum(per_name), **{k: v for k, v in kinds.items()},
                      **{f"function default, {k}": v for k, v in function_kinds.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
