"""The file-system cases of bench/hostile_inputs.py: symlinks in a run, a replacement whose new input is bad, a
folder qcrd check did not make, paths outside the run, a read-only folder and a full disk (simulated: the suite
runs as root, which ignores permissions, so the failing write is monkeypatched). Each returns what its check reads.
"""
from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path
from unittest import mock

from hostile_inputs import CORPUS, Case

OPTIONS = {"n_train": 6, "n_valid": 2, "n_test": 2, "min_steps": 1, "max_steps": 1, "seed": 3}


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _stage01(run: Path, **changes):
    """Stage 01 as notebook 01 runs it, on the embedded teacher (a few seconds)."""
    from qcrdkit.core.stages import TeacherSamplingConfig
    from qcrdkit.teacher.run import sample_rationales, split_and_save, teacher_questions, with_project_paths

    stage = with_project_paths(TeacherSamplingConfig(**{"run_dir": str(run), "task_options": OPTIONS, "k": 2,
                                                        "cache_dir": str(run.parent / "cache"), "progress": False,
                                                        "greedy_rationale": False, **changes}))
    questions = teacher_questions(stage)
    return split_and_save(stage, questions, sample_rationales(stage, questions))


def symlinked_teacher_replaced(sandbox: Path) -> dict:
    run, elsewhere = sandbox / "outputs" / "runs" / "r", sandbox.parent / "elsewhere"
    _stage01(run)
    (run / "teacher").rename(elsewhere)
    (run / "teacher").symlink_to(elsewhere, target_is_directory=True)
    before = _digest(elsewhere)
    _stage01(run, temperature=0.3, replace=True)
    aside = next((run / "replaced").glob("*/teacher"))
    return {"target kept": _digest(elsewhere) == before, "link moved aside": aside.is_symlink(),
            "new teacher a folder": (run / "teacher").is_dir() and not (run / "teacher").is_symlink(),
            "nothing beside the target": not (elsewhere.parent / "replaced").exists()}


def replacement_with_a_bad_dump(sandbox: Path) -> dict:
    from qcrdkit.core.errors import DataFormatError

    run = sandbox / "outputs" / "runs" / "r"
    _stage01(run)
    before = {**_digest(run / "teacher"), "task.json": (run / "task.json").read_text()}
    try:
        _stage01(run, teacher="jsonl_import", import_path=str(CORPUS / "dump_not_utf8.jsonl"), replace=True)
        message = ""
    except DataFormatError as exc:
        message = str(exc)
    return {"refused naming the dump": "dump_not_utf8.jsonl" in message,
            "old samples and task.json as they were": {**_digest(run / "teacher"),
                                                       "task.json": (run / "task.json").read_text()} == before,
            "nothing moved aside": not (run / "replaced").exists()}


def check_keeps_a_tiny_folder_it_did_not_make(sandbox: Path) -> dict:
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.cli.preflight import fresh_tiny_folder

    folder = sandbox / "outputs" / "preflight" / "mine"
    (folder / "tiny").mkdir(parents=True)
    (folder / "tiny" / "notes.txt").write_text("mine")
    try:
        fresh_tiny_folder(folder)
        refused = False
    except ConfigError as exc:
        refused = "not made by qcrd check" in str(exc)
    made = fresh_tiny_folder(sandbox / "outputs" / "preflight" / "other")
    again = fresh_tiny_folder(sandbox / "outputs" / "preflight" / "other")     # its own: emptied and made again
    return {"refused": refused, "kept": (folder / "tiny" / "notes.txt").read_text() == "mine",
            "its own folder renewed": made == again and made.is_dir()}


def delete_outside(sandbox: Path):
    from qcrdkit.core.guards import remove_inside

    run = sandbox / "outputs" / "runs" / "r"
    run.mkdir(parents=True)
    (run / "link").symlink_to(sandbox.parent / "outside", target_is_directory=True)
    remove_inside(run, run / "link")                # the link goes, not what it points to
    return remove_inside(run, run / ".." / ".." / ".." / ".." / "outside")


def move_outside(sandbox: Path):
    from qcrdkit.core.provenance import move_aside

    run = sandbox / "outputs" / "runs" / "r"
    run.mkdir(parents=True)
    return move_aside(run, sandbox.parent / "outside" / "teacher")


def _failing_write(sandbox: Path, patch) -> dict:
    from qcrdkit.core.errors import WriteError
    from qcrdkit.core.io import write_json

    path = sandbox / "run" / "metrics.json"
    write_json(path, {"kept": True})
    try:
        with patch:
            write_json(path, {"kept": False})
        message = ""
    except WriteError as exc:
        message = str(exc)
    return {"names the file": str(path) in message, "old file kept": path.read_text().strip().endswith("}")
            and '"kept": true' in path.read_text(), "no temporary left": len(list(path.parent.iterdir())) == 1}


def read_only_folder(sandbox: Path) -> dict:
    return _failing_write(sandbox, mock.patch("tempfile.mkstemp", side_effect=PermissionError(
        errno.EACCES, "Permission denied")))


def full_disk(sandbox: Path) -> dict:
    return _failing_write(sandbox, mock.patch("os.fsync", side_effect=OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))


FILE_SYSTEM_CASES = [
    Case("run: replace through a symlinked teacher/", symlinked_teacher_replaced, expect="ok",
         check=lambda r: all(r.values())),
    Case("run: a replacement whose dump is bad", replacement_with_a_bad_dump, expect="ok",
         check=lambda r: all(r.values())),
    Case("qcrd check: a tiny/ folder it did not make", check_keeps_a_tiny_folder_it_did_not_make, expect="ok",
         check=lambda r: all(r.values())),
    Case("delete: a path outside the run", delete_outside, mentions=("refused to delete", "outside")),
    Case("move aside: a path outside the run", move_outside, mentions=("refused to move", "outside")),
    Case("write: a read-only folder", read_only_folder, expect="ok", check=lambda r: all(r.values())),
    Case("write: a full disk", full_disk, expect="ok", check=lambda r: all(r.values())),
]
