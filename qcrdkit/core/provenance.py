"""What produced an artifact, so that a rerun reuses it only when it is provably current.

Every finished artifact of a run (the teacher's samples, the judge, the run's student tokenizer, each
student) keeps ``provenance.json`` beside it::

    {"artifact": "judge", "settings": {...the parameters that decide it...},
     "inputs": {"teacher/samples.jsonl": "3f2a…", "task.json": "91c0…"}}

``inputs`` are fingerprints (SHA-256 of the bytes, first 16 hex digits) of the files it read. A stage
that finds its artifact already there compares the record with what it would produce now
(:func:`decide`):

* the same settings and inputs → ``"reuse"``: nothing is recomputed;
* nothing finished there → ``"new"``;
* anything different → :class:`ArtifactConflict` naming each difference (``steps: 400 → 20``,
  ``input teacher/samples.jsonl changed``) — a finished artifact is never overwritten by another
  configuration — unless the caller passes ``replace=True``: then ``"replace"``, and
  :func:`move_aside` keeps the old one under ``<run>/replaced/<time>/`` (nothing computed is lost).

Downstream readers check the same records: :func:`stale_inputs` tells whether an artifact still
matches the run's current files (stage 04 leaves out students trained on other teacher samples).
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Iterable

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.io import read_json, write_json

RECORD = "provenance.json"


class ArtifactConflict(ConfigError):
    """A finished artifact was produced by another configuration (or from other inputs)."""

    def __init__(self, folder: Path, what: str, differences: list[str], hint: str = ""):
        self.folder, self.differences = folder, differences
        listed = "; ".join(differences)
        super().__init__(f"{folder}: {what} there was made with other settings or inputs ({listed}). "
                         f"It is kept as it is: {hint or 'use another run_id'}, or pass replace=True "
                         "(qcrd run --replace) to move it aside to <run>/replaced/ and compute it again")


def file_fingerprint(path: str | Path) -> str | None:
    """SHA-256 of a file's bytes (16 hex digits); of a folder, of its files' names and bytes;
    ``None`` when the path does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and p.name != RECORD)
    for f in files:
        if path.is_dir():
            digest.update(str(f.relative_to(path)).encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def fingerprints(run_dir: str | Path, names: Iterable[str]) -> dict[str, str | None]:
    """``{relative path: fingerprint}`` of files under ``run_dir`` (``None``: absent)."""
    return {name: file_fingerprint(Path(run_dir) / name) for name in names}


def normalise(value):
    """Settings as JSON reads them back (tuples become lists, keys strings), so records compare."""
    return json.loads(json.dumps(value, default=str))


def read_record(folder: str | Path) -> dict | None:
    path = Path(folder) / RECORD
    return read_json(path) if path.exists() else None


def write_record(folder: str | Path, artifact: str, settings: dict, inputs: dict) -> dict:
    record = {"artifact": artifact, "settings": normalise(settings), "inputs": normalise(inputs),
              "written": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(Path(folder) / RECORD, record)
    return record


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _setting_differences(old: dict, new: dict, prefix: str = "", names: dict | None = None) -> list[str]:
    """``key: old → new`` per differing setting; nested mappings (a student's config) key by key. ``names``: the
    parameter a user wrote for a recorded setting (``{"config.max_steps": "steps"}``), used in its place."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<unset>"), new.get(key, "<unset>")
        if a == b:
            continue
        label = (names or {}).get(f"{prefix}{key}", f"{prefix}{key}")
        if isinstance(a, dict) and isinstance(b, dict):
            out += _setting_differences(a, b, f"{prefix}{key}.", names)
        elif key not in old:
            out.append(f"{label}: not recorded (made before this setting existed) → {_short(b)}")
        else:
            out.append(f"{label}: {_short(a)} → {_short(b)}")
    return out


def differences(saved: dict | None, settings: dict, inputs: dict, names: dict | None = None) -> list[str]:
    """What differs between a saved record and the settings and inputs of now, one phrase each (``names``: see
    :func:`_setting_differences`)."""
    if saved is None:
        return ["no record of what produced it (made by an older qcrdkit)"]
    settings, inputs = normalise(settings), normalise(inputs)
    out = _setting_differences(saved.get("settings", {}), settings, names=names)
    old_inputs = saved.get("inputs", {})
    for key in sorted(set(old_inputs) | set(inputs)):
        if old_inputs.get(key) != inputs.get(key):
            if inputs.get(key) is None:
                out.append(f"input {key} is gone")
            elif old_inputs.get(key) is None:
                out.append(f"input {key} was not read then")
            else:
                out.append(f"input {key} changed")
    return out


def decide(folder: str | Path, artifact: str, settings: dict, inputs: dict, *, finished: bool,
           replace: bool = False, what: str | None = None, hint: str = "",
           names: dict | None = None) -> tuple[str, list[str]]:
    """``("reuse" | "new" | "replace", differences)`` for an artifact folder (see module doc);
    raises :class:`ArtifactConflict` for a finished artifact that differs, unless ``replace``.

    ``finished``: whether the folder holds a finished artifact (its own files say so)."""
    folder = Path(folder)
    if not finished:
        return "new", []
    diff = differences(read_record(folder), settings, inputs, names)
    if not diff:
        return "reuse", []
    if not replace:
        raise ArtifactConflict(folder, what or f"the {artifact}", diff, hint)
    return "replace", diff


def move_aside(run_dir: str | Path, path: str | Path) -> Path | None:
    """Move ``path`` to ``<run>/replaced/<time>/<its path relative to the run>``; return where it went (``None``
    if there was nothing). Only a path inside the run moves (:func:`qcrdkit.core.guards.move_inside`): a symlink moves
    as a link, its target stays where it is."""
    from qcrdkit.core.guards import move_inside

    run_dir, path = Path(run_dir).resolve(), Path(path)
    path = path.parent.resolve() / path.name
    if not (path.exists() or path.is_symlink()):
        return None
    relative = path.relative_to(run_dir) if run_dir in path.parents else Path(path.name)
    target = run_dir / "replaced" / time.strftime("%Y%m%d-%H%M%S") / relative
    n = 1
    while target.exists() or target.is_symlink():
        target = target.with_name(f"{path.name}.{n}")
        n += 1
    return move_inside(run_dir, path, target)


def stale_inputs(folder: str | Path, run_dir: str | Path) -> list[str]:
    """The inputs of an artifact's record that no longer match the run's files (``[]``: current;
    an artifact without a record is reported as such)."""
    saved = read_record(folder)
    if saved is None:
        return ["no record of what produced it"]
    recorded = saved.get("inputs", {})
    now = fingerprints(run_dir, [k for k in recorded if not k.startswith("/")])
    now.update({k: file_fingerprint(k) for k in recorded if k.startswith("/")})
    return [k for k in sorted(recorded) if recorded[k] != now.get(k)]


def checkpoint_differences(folder: str | Path, artifact: str, settings: dict, inputs: dict, *,
                           replace: bool = False, names: dict | None = None) -> list[str]:
    """What differs between an unfinished run's checkpoints in ``folder`` and ``settings``/``inputs`` (``[]``:
    none there, or the same configuration, which resumes); a difference is an :class:`ArtifactConflict` unless
    ``replace``. Reads only."""
    folder = Path(folder)
    if not (folder.is_dir() and any(p.name != RECORD and not p.name.startswith(".") for p in folder.iterdir())):
        return []
    diff = differences(read_record(folder), settings, inputs, names)
    if diff and not replace:
        raise ArtifactConflict(folder, f"an unfinished {artifact}'s checkpoints", diff)
    return diff


def claim_checkpoints(run_dir: str | Path, folder: str | Path, artifact: str, settings: dict, inputs: dict, *,
                      replace: bool = False) -> None:
    """Resume only into the same configuration: a checkpoints folder left by an unfinished run of other
    settings or inputs is a conflict (moved aside with ``replace``); then the folder records this one."""
    folder = Path(folder)
    diff = checkpoint_differences(folder, artifact, settings, inputs, replace=replace)
    if diff:
        move_aside(run_dir, folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_record(folder, f"{artifact} checkpoints", settings, inputs)
