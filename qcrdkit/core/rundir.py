"""The run directory: one folder per run that every stage reads from and writes to (01 → 04).

```
<run>/task.json                 which task and options the run uses (written by stage 01)
<run>/teacher/samples.jsonl     stage 01: one record per teacher sample (see teacher/records.py)
<run>/teacher/greedy.jsonl      stage 01: one greedy (τ = 0) sample per question, the baselines' rationale
<run>/teacher/stats.json        stage 01: self-consistency statistics (consistency.py)
<run>/teacher/config.json       stage 01: what produced the samples (never an API key)
<run>/judge/                    stage 02: the judge (save_pretrained folder: config, weights, tokenizer);
                                runs made before it was called the judge keep it in <run>/discriminator/
<run>/judge/metrics.json        held-out ROC-AUC, accuracy at 0.5, mean scores, counts
<run>/judge/scores.jsonl        per held-out rationale: id, key, source, label, score
<run>/judge/history.json        the Trainer's log history (loss and validation curve)
<run>/judge/teacher_scores.jsonl   the final judge's score of every teacher sample (the explorer)
<run>/students/tokenizer/       stage 03: the run's student tokenizer (offline presets)
<run>/students/<name>/          stage 03: a selected student, its metrics.json, history.json, test_predictions.jsonl
<run>/students/summary.json     stage 03: every student's metrics.json (analysis.students.collect_students reads them)
<run>/report/                   stage 04: tables.md, summary.json, figures, student_samples.jsonl
<run>/notebooks/NN_*.ipynb      executed notebooks (qcrd run); the kernels run in this folder
<run>/*/provenance.json         teacher/, judge/, students/<name>/: the settings and input fingerprints
                                that made it (qcrdkit.core.provenance; a rerun reuses only an exact match)
<run>/replaced/<time>/          artifacts a ``replace`` moved aside
<run>/.staging/                 a ``replace`` in progress: the new artifact is built here and swapped in only
                                when complete (:func:`swap_in`); a failure leaves the old one as it was
```
"""
from __future__ import annotations

from pathlib import Path

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.io import read_json, read_jsonl, write_json, write_jsonl


#: where a ``replace`` builds the new artifact before it is swapped in
STAGING = ".staging"


def staging_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / STAGING


def swap_in(run_dir: str | Path, names: list[str]) -> None:
    """A finished replacement put in place: for each name (a path relative to the run), the old ``<run>/<name>``
    moved aside to ``<run>/replaced/<time>/``, then ``<run>/.staging/<name>`` renamed to ``<run>/<name>``; the
    emptied staging folders are removed."""
    from qcrdkit.core.guards import move_inside, remove_inside
    from qcrdkit.core.provenance import move_aside

    run_dir = Path(run_dir)
    staging = staging_dir(run_dir)
    for name in names:
        move_aside(run_dir, run_dir / name)
    for name in names:
        move_inside(run_dir, staging / name, run_dir / name)
        folder = (staging / name).parent
        while folder != staging.parent and folder.is_dir() and not any(folder.iterdir()):
            remove_inside(run_dir, folder)
            folder = folder.parent


def save_task_spec(run_dir: str | Path, task: str, data_dir: str | None, task_options: dict | None) -> Path:
    path = Path(run_dir) / "task.json"
    write_json(path, {"task": task, "data_dir": None if data_dir is None else str(Path(data_dir).resolve()),
                      "task_options": task_options or {}})
    return path


def teacher_samples_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / "teacher" / "samples.jsonl"


def teacher_greedy_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / "teacher" / "greedy.jsonl"


def write_teacher_artifacts(run_dir: str | Path, records: list[dict], stats: dict, config: dict,
                            greedy: list[dict] | None = None) -> Path:
    """``samples.jsonl``, ``stats.json``, ``config.json`` and, when given, ``greedy.jsonl``."""
    out = Path(run_dir) / "teacher"
    write_jsonl(out / "samples.jsonl", records)
    if greedy is not None:
        write_jsonl(out / "greedy.jsonl", greedy)
    write_json(out / "stats.json", stats)
    write_json(out / "config.json", config)
    return out


def read_teacher_samples(run_dir: str | Path) -> list[dict]:
    path = teacher_samples_path(run_dir)
    if not path.exists():
        raise ConfigError(f"{path}: not found; run stage 01 (teacher sampling) for this run_dir first")
    return read_jsonl(path)


def read_teacher_greedy(run_dir: str | Path) -> list[dict] | None:
    """Stage 01's greedy samples (``teacher/greedy.jsonl``), or ``None`` when it did not take them."""
    path = teacher_greedy_path(run_dir)
    return read_jsonl(path) if path.exists() else None


#: stage 02's folder in the run; ``OLD_JUDGE_FOLDER``: where runs made before the rename keep their judge
JUDGE_FOLDER, OLD_JUDGE_FOLDER = "judge", "discriminator"


def judge_dir(run_dir: str | Path) -> Path:
    """``<run>/judge/`` — or ``<run>/discriminator/`` for a run whose judge was made there (and none since), so
    an old run's judge, its students' records of it and its reports stay valid."""
    run_dir = Path(run_dir)
    old = run_dir / OLD_JUDGE_FOLDER
    return old if old.is_dir() and not (run_dir / JUDGE_FOLDER).exists() else run_dir / JUDGE_FOLDER


def judge_weights(run_dir: str | Path) -> str:
    """The judge's weights, relative to the run: what a QCRD student that uses the judge read (its provenance
    key)."""
    return f"{judge_dir(run_dir).name}/model.safetensors"


def judge_heldout_questions(run_dir: str | Path) -> frozenset:
    """The question ids stage 02 held out (its ``scores.jsonl``): no judge trains on them, stage 02's or the
    online one of a QCRD student, so stage 04 evaluates every judge on them."""
    path = judge_dir(run_dir) / "scores.jsonl"
    return frozenset(r["id"] for r in read_jsonl(path)) if path.exists() else frozenset()


def runs_with_students(outputs_dir: str | Path) -> list[Path]:
    """The runs under ``<outputs_dir>/runs`` with at least one trained student, oldest first (by the
    newest ``metrics.json`` in each)."""
    newest: dict[Path, float] = {}
    for metrics in Path(outputs_dir).glob("runs/*/students/*/metrics.json"):
        run = metrics.parents[2]
        newest[run] = max(newest.get(run, 0.0), metrics.stat().st_mtime)
    return sorted(newest, key=newest.get)


def resolve_run_dir(run_dir: str | Path | None, outputs_dir: str | Path = "outputs") -> Path:
    """``run_dir`` itself (a relative one against the project folder, :mod:`qcrdkit.core.paths`); for
    ``None``, ``$QCRD_RUN_DIR`` or else the newest run under ``<outputs_dir>/runs`` with trained
    students (a notebook opened by hand, or served by Voilà)."""
    import os

    from qcrdkit.core.paths import project_path

    if run_dir is None:
        run_dir = os.environ.get("QCRD_RUN_DIR")
    if run_dir is None:
        outputs = project_path(outputs_dir)
        runs = runs_with_students(outputs)
        if not runs:
            raise ConfigError(f"no run with trained students under {outputs / 'runs'}; "
                              "pass run_dir, set QCRD_RUN_DIR, or run `make demo` first")
        run_dir = runs[-1]
    run_dir = project_path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"run_dir {run_dir} does not exist")
    return run_dir


# ---- what produced each artifact (qcrdkit.core.provenance): reuse only what is current --------------------------
#: the files of stage 01 every later stage reads
TEACHER_FILES = ("task.json", "teacher/samples.jsonl", "teacher/greedy.jsonl")


def teacher_inputs(run_dir: str | Path) -> dict:
    """Fingerprints of stage 01's files (the inputs of the judge and the students)."""
    from qcrdkit.core.provenance import fingerprints

    return fingerprints(run_dir, TEACHER_FILES)


def _file_inputs(settings: dict, keys: tuple[str, ...]) -> dict:
    from qcrdkit.core.provenance import file_fingerprint

    return {str(Path(settings[k]).resolve()): file_fingerprint(settings[k]) for k in keys if settings.get(k)}


def claim_teacher(run_dir: str | Path, settings: dict, *, replace: bool = False) -> str:
    """Stage 01's decision (:func:`qcrdkit.core.provenance.decide`): ``"reuse"`` the samples already made with
    ``settings``, ``"new"``, or ``"replace"`` (the new ``teacher/`` and ``task.json`` are written to
    ``<run>/.staging/`` and swapped in when complete: :func:`swap_in`)."""
    from qcrdkit.core.provenance import decide

    run_dir = Path(run_dir)
    inputs = _file_inputs(settings, ("import_path", "prompt_template"))
    decision, _ = decide(run_dir / "teacher", "teacher samples", settings, inputs,
                         finished=teacher_samples_path(run_dir).exists(), replace=replace,
                         what="the teacher's samples", hint="use another run_id for other teacher settings")
    return decision


def record_teacher(run_dir: str | Path, settings: dict) -> dict:
    from qcrdkit.core.provenance import write_record

    return write_record(Path(run_dir) / "teacher", "teacher samples", settings,
                        _file_inputs(settings, ("import_path", "prompt_template")))


def read_teacher_stage(run_dir: str | Path) -> tuple[list[dict], list[dict] | None, dict, dict]:
    """A finished stage 01: ``(records, greedy, config, stats)``."""
    folder = Path(run_dir) / "teacher"
    return (read_teacher_samples(run_dir), read_teacher_greedy(run_dir), read_json(folder / "config.json"),
            read_json(folder / "stats.json"))


def claim_judge(run_dir: str | Path, settings: dict, *, replace: bool = False) -> tuple[str, Path]:
    """Stage 02's decision and the folder the judge is written to: ``"reuse"`` the judge pretrained with
    ``settings`` on the run's current teacher samples, ``"new"`` (checkpoints of the same configuration resume),
    or ``"replace"`` (the new judge is built in ``<run>/.staging/judge`` and swapped in when complete; an
    interrupted replacement resumes there)."""
    from qcrdkit.core.provenance import claim_checkpoints, decide

    run_dir, folder = Path(run_dir), judge_dir(run_dir)
    inputs = teacher_inputs(run_dir)
    finished = (folder / "config.json").exists() and (folder / "metrics.json").exists()
    decision, _ = decide(folder, "judge", settings, inputs, finished=finished, replace=replace,
                         what="the pretrained judge", hint="use another run_id for another judge")
    if decision == "replace":
        folder = staging_dir(run_dir) / JUDGE_FOLDER
    if decision != "reuse":
        claim_checkpoints(run_dir, folder / "checkpoints", "judge", settings, inputs, replace=replace)
    return decision, folder


def record_judge(run_dir: str | Path, settings: dict, folder: str | Path | None = None) -> dict:
    from qcrdkit.core.provenance import write_record

    return write_record(folder or judge_dir(run_dir), "judge", settings, teacher_inputs(run_dir))


# ---- what a run holds (qcrd runs) ----------------------------------------------------------------------------------
def folder_bytes(path: str | Path) -> int:
    """Bytes of a file, or of a folder's files (symlinks not followed)."""
    path = Path(path)
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def replaced_folders(run_dir: str | Path) -> list[tuple[Path, int]]:
    """``[(folder, bytes)]`` under ``<run>/replaced/``: what replacements moved aside, one per time, oldest first."""
    folder = Path(run_dir) / "replaced"
    return [(p, folder_bytes(p)) for p in sorted(folder.iterdir())] if folder.is_dir() else []


def replaced_lines(run_dir: str | Path) -> list[str]:
    """What ``<run>/replaced/`` holds, with sizes and the command that deletes it (empty when nothing)."""
    kept = replaced_folders(run_dir)
    if not kept:
        return []
    lines = [f"replaced/ keeps {len(kept)} earlier result(s), {sum(b for _, b in kept) / 2**20:.1f} MB in all "
             f"(delete with: rm -r {Path(run_dir) / 'replaced'}):"]
    return lines + [f"  {p.name}: {', '.join(sorted(c.name for c in p.iterdir()))} ({b / 2**20:.1f} MB)"
                    for p, b in kept]
