"""``qcrd run``: execute the ordered notebooks with papermill into one run directory.

A params file (YAML) names the run, its stages, parameters shared by every stage and
per-stage parameters::

    run_id: demo                    # outputs/runs/<run_id>; omitted: a timestamped id
    outputs_dir: outputs
    stages: [01_teacher_sampling, 02_judge]
    common: {task: arith, seed: 0}  # passed to every stage
    01_teacher_sampling: {k: 5, temperature: 0.7}
    02_judge: {backbone: minilm, steps: 500}

``--set key=value`` overrides any of it (dotted keys reach into sections:
``--set 01_teacher_sampling.k=3``, ``--set common.seed=1``, ``--set run_id=sweep-1``);
values are read as YAML scalars. ``run_dir`` is filled in for every stage.

``base: demo.yaml`` (a path relative to the file) starts from another params file; this file's
sections are merged into it key by key. ``qcrd run --base OTHER.yaml`` replaces the file's own
base: ``qcrd run --params params/sweep-temperature.yaml --base params/bench.yaml`` runs the
temperature sweep on the benchmark's run instead of the demo's.

A **sweep** runs one stage once per variant, in the same run directory::

    sweep:
      stage: 03_training
      variants:                       # name -> that stage's parameters for this variant
        maxmin: {scheme: maxmin}
        mean: {scheme: mean}

Stages before the swept one run once, the swept stage once per variant (each variant's name
becomes the stage's ``tag``, so the students are ``students/<method>-<variant>``; executed
notebook ``notebooks/<stage>-<variant>.ipynb``), the stages after it once at the end (04 then
tabulates the sweep).
"""
from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

import yaml

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.stages import JUDGE, STAGES_BY_NAME, stage_names

#: the stage notebooks ship inside the package (``notebooks/`` at the repository root links here), so a
#: non-editable ``pip install`` runs ``qcrd run`` too
NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
#: older stage names a params file (or ``--set``) may still use
STAGE_ALIASES = {"02_discriminator": JUDGE}


def _stage_name(name):
    return STAGE_ALIASES.get(name, name) if isinstance(name, str) else name


def _renamed_stages(params: dict, where) -> dict:
    """A params mapping with older stage names (:data:`STAGE_ALIASES`) read as today's: its sections, its
    ``stages`` list, its sweep's ``stage``. Both names of one stage in one file is an error."""
    out = {}
    for old, new in STAGE_ALIASES.items():
        if old in params and new in params:
            raise ConfigError(f"{where}: both {old!r} and {new!r}; {old} is the older name of {new}")
    for key, value in params.items():
        out[_stage_name(key)] = value
    if isinstance(out.get("stages"), list):
        out["stages"] = [_stage_name(s) for s in out["stages"]]
    if isinstance(out.get("sweep"), dict) and "stage" in out["sweep"]:
        out["sweep"] = {**out["sweep"], "stage": _stage_name(out["sweep"]["stage"])}
    return out
#: the kernel's own log stays quiet: its "Kernel is running over TCP without encryption" warning (a local kernel on
#: loopback) and the "KeyboardInterrupt caught in kernel" its shutdown logs; a cell's error reaches `qcrd run` as
#: the cell's output, not through this log
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
#: task_options that are paths when such a file or folder exists (task jsonl)
TASK_OPTION_PATHS = ("train", "valid", "test", "dataset")


#: errors by which a stage refuses to overwrite what a run holds (qcrdkit.core.provenance)
REFUSALS = ("ArtifactConflict",)


class StageFailed(Exception):
    """A stage did not run through; ``notebook`` is its executed notebook (``None`` for a refusal, which keeps
    nothing: a refused stage changes nothing on disk)."""

    def __init__(self, stage: str, notebook: Path | None, detail: str):
        self.stage, self.notebook, self.detail = stage, notebook, detail
        where = f"executed notebook: {notebook}" if notebook else "refused: nothing was written"
        super().__init__(f"stage {stage} failed: {detail}\n  {where}")


def parse_override(item: str) -> tuple[list[str], object]:
    if "=" not in item:
        raise ConfigError(f"--set expects key=value, got {item!r}")
    from qcrdkit.core.guards import check_plain

    key, raw = item.split("=", 1)
    if not key:
        raise ConfigError(f"--set expects key=value, got {item!r}")
    try:
        value = yaml.safe_load(raw) if raw != "" else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: not a YAML value ({str(exc).splitlines()[0]})") from None
    check_plain(value, "--set", key)
    from qcrdkit.core.guards import check_key_names

    check_key_names({key.split(".")[-1]: value}, f"--set {key}")
    return key.split("."), value


def merge_params(base: dict, top: dict) -> dict:
    """``top`` over ``base``: sections (mappings) merge key by key, anything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_params(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_params_file(path: Path, seen: tuple = (), base_file: Path | None = None) -> dict:
    if not path.exists():
        raise ConfigError(f"params file {path} not found")
    if path.resolve() in seen:
        raise ConfigError(f"{path}: 'base' files include each other")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    from qcrdkit.core.guards import check_key_names, check_plain

    check_plain(params, str(path))
    check_key_names(params, str(path))
    params = _renamed_stages(params, path)
    base = params.pop("base", None)
    base_path = base_file if base_file is not None else path.parent / str(base) if base is not None else None
    if base_path is not None:
        params = merge_params(_read_params_file(base_path, seen + (path.resolve(),)), params)
    return params


def load_params(path: str | Path, overrides: list[str] = (), base: str | Path | None = None) -> dict:
    """The params file (with its ``base`` chain; ``base`` given here replaces the one the file
    names, e.g. a sweep file applied to another run's settings), then the ``--set`` overrides."""
    path = Path(path)
    params = _read_params_file(path, base_file=Path(base) if base is not None else None)
    for item in overrides:
        keys, value = parse_override(item)
        keys[0] = _stage_name(keys[0])
        if keys == ["stages"] and isinstance(value, list) or keys == ["sweep", "stage"]:
            value = [_stage_name(s) for s in value] if isinstance(value, list) else _stage_name(value)
        node = params
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item}: {k} is not a section")
        node[keys[-1]] = value
    stages = params.get("stages", stage_names())
    unknown = [s for s in stages if s not in STAGES_BY_NAME]
    if unknown:
        raise ConfigError(f"{path}: unknown stage(s) {unknown}; known: {stage_names()}")
    params["stages"] = stages
    _check_names(params, path)
    sweep = params.get("sweep")
    if sweep is not None:
        if not isinstance(sweep, dict) or sweep.get("stage") not in stages or not isinstance(sweep.get("variants"), dict) \
                or not sweep["variants"]:
            raise ConfigError(f"{path}: sweep needs 'stage' (one of the run's stages {stages}) and 'variants' "
                              "(a mapping: variant name -> that stage's parameters)")
        for name, variant in sweep["variants"].items():
            if not isinstance(variant, dict):
                raise ConfigError(f"{path}: sweep variant {name!r} must be a mapping of parameters")
    return params


def _check_names(params: dict, where) -> None:
    """``run_id``, the sweep's variant names and the stages' tags are names (:func:`qcrdkit.core.guards.check_run_name`):
    they become folders and files of the run."""
    from qcrdkit.core.guards import check_run_name

    if params.get("run_id") is not None:
        check_run_name(params["run_id"], "run_id", str(where))
    sweep = params.get("sweep")
    if isinstance(sweep, dict) and isinstance(sweep.get("variants"), dict):
        for name in sweep["variants"]:
            check_run_name(name, "sweep variant", str(where))
    for stage in STAGES_BY_NAME:
        tag = (params.get(stage) or {}).get("tag") if isinstance(params.get(stage), dict) else None
        if tag is not None:
            check_run_name(tag, f"{stage}.tag", str(where))


def stage_parameters(params: dict, stage: str, run_dir: Path, cwd: Path, declared: set[str] | None = None,
                     notebook_defaults: dict | None = None) -> dict:
    """The parameters papermill injects into one stage.

    With ``declared`` (the notebook's parameters cell), ``common`` keys the notebook does not
    declare are left out, and a stage-section key it does not declare is an error.
    """
    common = copy.deepcopy(params.get("common") or {})
    own = copy.deepcopy(params.get(stage) or {})
    if declared is not None:
        unknown = sorted(set(own) - declared)
        if unknown:
            raise ConfigError(f"{stage}: unknown parameter(s) {unknown}; the notebook declares {sorted(declared)}")
        common = {k: v for k, v in common.items() if k in declared}
    out = {**common, **own}
    record = STAGES_BY_NAME[stage]
    for key in record.path_parameters:
        if isinstance(out.get(key), str):
            out[key] = str((cwd / out[key]).resolve())
        elif isinstance(out.get(key), list):
            out[key] = [str((cwd / p).resolve()) if isinstance(p, str) else p for p in out[key]]
    for key in record.maybe_path_parameters:
        if isinstance(out.get(key), str) and (cwd / out[key]).exists():
            out[key] = str((cwd / out[key]).resolve())
    options = out.get("task_options")
    if isinstance(options, dict):           # task jsonl: its files, relative to where `qcrd run` starts
        for key in TASK_OPTION_PATHS:
            if isinstance(options.get(key), str) and (cwd / options[key]).exists():
                options[key] = str((cwd / options[key]).resolve())
    # a relative path default of the notebook (``outputs/cache/teacher``) is relative to the project folder:
    # the folder `qcrd run` starts in (the kernel runs in the run's folder, and gets $QCRD_PROJECT_DIR too)
    for key in record.path_parameters:
        default = (notebook_defaults or {}).get(key)
        if key not in out and isinstance(default, str) and not Path(default).is_absolute():
            out[key] = str((cwd / default).resolve())
    out["run_dir"] = str(run_dir)
    return out


def _literal(text: str):
    """A notebook parameter's default as a value (papermill reports it as source text)."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _last_started_cell(notebook: Path) -> str:
    """``cell N (`first line`)``: the last cell of an executed notebook that papermill started."""
    import nbformat

    try:
        cells = nbformat.read(str(notebook), as_version=4).cells
    except (OSError, ValueError):
        return "an unknown cell (the executed notebook was not written)"
    started = [(i, c) for i, c in enumerate(cells) if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    if not started:
        return "its first cell"
    index, cell = started[-1]
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index} (`{first[:70]}`)"


@dataclass
class RunResult:
    run_dir: Path
    seconds: dict


def run_pipeline(params: dict, *, cwd: str | Path | None = None, kernel_name: str = "python3",
                 log_output: bool = False, on_stage: Callable[..., None] | None = None) -> RunResult:
    """Run each stage's notebook into ``<outputs>/runs/<run_id>/notebooks/``; raise :class:`StageFailed`.

    ``on_stage(event, name, seconds)``: told ``"start"`` before and ``"end"`` (with its seconds)
    after each stage (or sweep variant) — how `qcrd run` prints where it is."""
    cwd = Path(cwd or Path.cwd()).resolve()
    run_dir, plan = plan_run(params, cwd)          # every stage's (and variant's) parameters checked first
    sweep = params.get("sweep") or {}
    (run_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    params_file = run_dir / "sweeps" / time.strftime("%Y%m%d-%H%M%S.yaml") if sweep else run_dir / "params.yaml"
    seconds = {}
    from qcrdkit.core.paths import PROJECT_ENV

    previous_project = os.environ.get(PROJECT_ENV)
    os.environ[PROJECT_ENV] = str(cwd)          # the kernels resolve relative paths against where `qcrd run` started
    try:
        _execute_plan(plan, run_dir, kernel_name, log_output, on_stage, seconds)
        # the run's record, once every stage finished: a refused or failed run leaves the last one as it was
        from qcrdkit.core.io import atomic_write_text

        atomic_write_text(params_file, yaml.safe_dump(params, sort_keys=False))
    finally:
        if previous_project is None:
            os.environ.pop(PROJECT_ENV, None)
        else:
            os.environ[PROJECT_ENV] = previous_project
    return RunResult(run_dir=run_dir, seconds=seconds)


def run_folder(params: dict, cwd: Path) -> Path:
    """``<outputs_dir>/runs/<run_id>``: the one place that decides where a run lives (``run_id`` a name;
    omitted: a timestamped one)."""
    from qcrdkit.core.guards import check_run_name

    run_id = check_run_name(params.get("run_id") or time.strftime("run-%Y%m%d-%H%M%S"))
    return (Path(cwd) / params.get("outputs_dir", "outputs") / "runs" / run_id).resolve()


def plan_run(params: dict, cwd: Path) -> tuple[Path, list[tuple[str, str, dict]]]:
    """The run folder and the plan ``[(stage, name, parameters)]``: what papermill will inject into each stage
    (or sweep variant), with every parameter's type checked (:class:`ConfigError` naming it)."""
    import papermill as pm

    from qcrdkit.core.guards import check_key_names, check_plain

    check_plain(params, "the run's parameters")
    check_key_names(params, "the run's parameters")
    _check_names(params, "the run's parameters")
    run_dir = run_folder(params, cwd)
    plan = []
    sweep = params.get("sweep") or {}
    for stage in params["stages"]:
        inspected = pm.inspect_notebook(str(NOTEBOOK_DIR / f"{stage}.ipynb"))
        declared = set(inspected)
        defaults = {k: _literal(v["default"]) for k, v in inspected.items()}
        if stage != sweep.get("stage"):
            plan.append((stage, stage, stage_parameters(params, stage, run_dir, cwd, declared, defaults)))
            continue
        if "tag" not in declared:
            raise ConfigError(f"sweep: stage {stage} has no 'tag' parameter to tell its variants apart")
        for name, variant in sweep["variants"].items():
            varied = merge_params(params, {stage: {**variant, "tag": str(name)}})
            plan.append((stage, f"{stage}-{name}", stage_parameters(varied, stage, run_dir, cwd, declared, defaults)))
    from qcrdkit.core.stage_parameters import check_types

    for stage, _, parameters in plan:
        check_types(stage, parameters)
    return run_dir, plan


def _keep_failed(running: Path, failed: Path) -> Path:
    """The executed notebook of a stage that did not run through, kept as ``<name>.failed.ipynb``."""
    if running.exists():
        os.replace(running, failed)
    return failed


def _execute_one(pm, source: Path, output: Path, parameters: dict, kernel_name: str, run_dir: Path,
                 log_output: bool) -> None:
    pm.execute_notebook(str(source), str(output), parameters=parameters, kernel_name=kernel_name,
                        cwd=str(run_dir / "notebooks"), log_output=log_output, progress_bar=False,
                        extra_arguments=KERNEL_ARGUMENTS)


def _execute_plan(plan: list, run_dir: Path, kernel_name: str, log_output: bool,
                  on_stage: Callable[..., None] | None, seconds: dict) -> None:
    import papermill as pm
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    for stage, name, parameters in plan:
        source = NOTEBOOK_DIR / f"{stage}.ipynb"
        # executed beside the last good notebook, which it replaces only when it ran through; a refused or failed
        # one is kept as <name>.failed.ipynb
        final = run_dir / "notebooks" / f"{name}.ipynb"
        running = final.with_name(f".{name}.running.ipynb")
        target = final.with_name(f"{name}.failed.ipynb")
        t0 = time.perf_counter()
        if on_stage:
            on_stage("start", name, None)
        try:
            _execute_one(pm, source, running, parameters, kernel_name, run_dir, log_output)
        except PapermillExecutionError as exc:
            detail = f"cell {exc.cell_index} (execution count {exc.exec_count}): {exc.ename}: {exc.evalue}"
            if exc.ename in REFUSALS:                    # nothing computed, nothing kept
                running.unlink(missing_ok=True)
                raise StageFailed(name, None, detail) from None
            raise StageFailed(name, _keep_failed(running, target), detail) from None
        except DeadKernelError:
            _keep_failed(running, target)
            raise StageFailed(name, target, f"the kernel died in {_last_started_cell(target)}: it was killed "
                              "(out of memory is the usual cause: check free memory, or lower batch_size / the "
                              "number of questions) or crashed. What the stage wrote before is kept; "
                              "run again to resume") from None
        except BaseException:              # Ctrl-C, SIGTERM, papermill's own errors: the failed notebook is kept
            _keep_failed(running, target)
            raise
        os.replace(running, final)
        target.unlink(missing_ok=True)
        seconds[name] = round(time.perf_counter() - t0, 1)
        if on_stage:
            on_stage("end", name, seconds[name])
