"""Turning existing rationale dumps into the kit's sample records.

* :func:`import_dss_llm` — the Distilling Step-by-Step PaLM files
  (``<task>/llm/<split>_CoT_<i>.json``: JSON lists of raw few-shot completions aligned by
  position with the rows of ``<task>_<split>.json``; one completion per example, running on into
  the next few-shot example, which the task's parser cuts off).
* :func:`import_jsonl` — a generic JSON Lines dump with several rationales per question:
  ``{"id": ..., "rationales": ["...", ...]}`` (``outputs`` / ``completions`` also accepted), or one
  rationale per line ``{"id": ..., "rationale": "...", "sample_index": 0}`` (``text`` also
  accepted). Lines may carry ``input``/``question`` instead of an ``id`` known to the task, and a
  ``split`` (train / valid / test, as the dump files them). One file may cover several splits: it is
  read once and each line goes to the kit split its question belongs to.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from qcrdkit.core.errors import DataFormatError, DataLeakError
from qcrdkit.core.io import iter_jsonl
from qcrdkit.tasks.base import Example, Task, question_key
from qcrdkit.teacher.records import make_record


def dss_completions(task: Task, data_dir: str | Path, file_split: str) -> dict[str, str]:
    """``{example id: raw completion}`` for the rows of ``<task>_<file_split>.json``."""
    data_dir = Path(data_dir)
    task_dir = data_dir / task.name if (data_dir / task.name).is_dir() else data_dir
    rows = task._read_file(task._split_file(data_dir, file_split), file_split)
    chunks = sorted((task_dir / "llm").glob(f"{file_split}_CoT_*.json"),
                    key=lambda p: int(re.search(r"_(\d+)\.json$", p.name).group(1)))
    if not chunks:
        raise FileNotFoundError(f"{task_dir / 'llm'}: no {file_split}_CoT_<i>.json files")
    outputs: list[str] = []
    for path in chunks:
        try:
            chunk = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, exc.lineno, f"not valid JSON ({exc.msg})") from None
        if not isinstance(chunk, list) or not all(isinstance(x, str) for x in chunk):
            raise DataFormatError(path, None, "expected a JSON list of completion strings")
        outputs += chunk
    if len(outputs) != len(rows):
        raise DataFormatError(task_dir / "llm", None, f"{len(outputs)} completions in {file_split}_CoT_*.json "
                              f"but {len(rows)} rows in {task.name}_{file_split}.json")
    return {ex.id: out for ex, out in zip(rows, outputs)}


def import_dss_llm(task: Task, data_dir: str | Path, split: str, examples: list[Example],
                   model: str = "palm-540b (DSS)") -> list[dict]:
    """Sample records (one per example, ``sample_index`` 0) from the DSS PaLM completions.

    A split carved from train (SVAMP/CQA valid) reads the train files, where its rows live.
    """
    task_dir = Path(data_dir) / task.name if (Path(data_dir) / task.name).is_dir() else Path(data_dir)
    carved = split == "valid" and task.valid_from_train and not any((task_dir / "llm").glob("valid_CoT_*.json"))
    file_split = "train" if carved else split
    raw = dss_completions(task, data_dir, file_split)
    return [make_record(task, ex, split=split, sample_index=0, raw=raw[ex.id], temperature=None, model=model,
                        source="dss_import") for ex in examples]


SPLIT_NAMES = {"train": "train", "valid": "valid", "validation": "valid", "dev": "valid", "val": "valid",
               "test": "test"}


def import_jsonl(task: Task, path: str | Path, examples: dict[str, list[Example]], *, model: str = "imported",
                 temperature: float | None = None, other_examples: dict[str, list[Example]] | None = None,
                 strict: bool = False,
                 allow_test_overlap: bool = False) -> tuple[list[dict], dict]:
    """Sample records from a generic JSONL dump (layouts in the module doc), read once for all splits.

    Each line is routed to the kit's split whose question it is: by ``id``, else by its
    ``input``/``question`` text with whitespace normalised (:func:`~qcrdkit.tasks.base.question_key`).
    A line whose question is in a kit split not imported (``other_examples``: the task's other
    splits) is counted as ``other_splits``; a line matching no question at all as unmatched
    (``strict``: an error naming the line) — a dump may well cover questions the kit does not have.

    **Leakage check.** A line that the dump files under train or valid (its ``split`` field) but
    whose question is one of the kit's test questions (``examples["test"]`` or ``other_examples["test"]``),
    or a question that is in the kit's train/valid *and* test splits, would put a test question's
    rationale into training: refused with the overlap counted, unless ``allow_test_overlap``, in
    which case such lines go to the test split only. Test-split records are for analysis only
    (``"analysis_only": true``); stages 02 and 03 train on train records alone.

    Returns ``(records, report)``: ``report["by_split"]`` has matched lines, questions and
    rationales per kit split; ``report["unmatched"]`` the lines matched nowhere, per the dump's
    own split (``"?"`` when it names none); ``report["test_overlap"]`` the refused or rerouted lines.
    """
    index: dict[str, dict[str, Example]] = {}          # question key -> split -> example
    by_id: dict[str, tuple[str, Example]] = {}
    reference = {**(other_examples or {}), **examples}
    for split, exs in reference.items():
        for ex in exs:
            index.setdefault(question_key(ex.input), {})[split] = ex
            by_id[ex.id] = (split, ex)
    report = {"path": str(path), "lines": 0, "by_split": {s: {"lines": 0, "questions": 0, "rationales": 0} for s in examples},
              "unmatched": {}, "other_splits": 0, "test_overlap": []}
    next_index: dict[tuple[str, str], int] = {}
    seen: dict[tuple[str, int], int] = {}              # (question id, sample_index) -> the line that gave it
    questions: dict[str, set] = {s: set() for s in examples}
    records = []
    for lineno, line in iter_jsonl(path):
        report["lines"] += 1
        declared = SPLIT_NAMES.get(str(line.get("split", "")).lower()) if line.get("split") is not None else None
        texts = _line_rationales(path, lineno, line)
        text = line.get("input") or line.get("question")
        if "id" in line and str(line["id"]) in by_id:
            split, ex = by_id[str(line["id"])]
            found = {split: ex}
            if isinstance(text, str):
                found.update(index.get(question_key(text), {}))
        elif isinstance(text, str):
            found = index.get(question_key(text), {})
        elif "id" in line:
            found = {}
        else:
            raise DataFormatError(path, lineno, "needs 'id' (a question id of the task) or 'input'/'question' (its text)")
        if not found:
            if strict:
                raise DataFormatError(path, lineno, f"no question of {task.name} ({', '.join(reference)}) with id "
                                      f"{line.get('id')!r} or this input/question text (whitespace normalised)")
            report["unmatched"][declared or "?"] = report["unmatched"].get(declared or "?", 0) + 1
            continue
        training = [s for s in found if s in ("train", "valid")]
        if "test" in found and (training or declared in ("train", "valid")):
            report["test_overlap"].append({"line": lineno, "declared_split": declared, "kit_splits": sorted(found),
                                           "question": found["test"].input[:80]})
            found = {"test": found["test"]}
        split = declared if declared in found else next(s for s in ("train", "valid", "test") if s in found)
        if split not in examples:
            report["other_splits"] += 1
            continue
        ex = found[split]
        start = _sample_index(path, lineno, line) if "sample_index" in line and len(texts) == 1 \
            else next_index.get((split, ex.id), 0)
        line_temperature, line_model = _line_settings(path, lineno, line, temperature, model)
        for offset, rationale in enumerate(texts):
            first = seen.setdefault((ex.id, start + offset), lineno)
            if first != lineno:         # the judge and the explorer key rationales on <id>#<sample_index>
                raise DataFormatError(path, lineno, f"sample {start + offset} of question {ex.id!r} again (first at "
                                      f"line {first}); give each rationale of a question its own sample_index")
            record = make_record(task, ex, split=split, sample_index=start + offset, raw=rationale,
                                 temperature=line_temperature, model=line_model, source="jsonl_import")
            if split == "test":
                record["analysis_only"] = True
            records.append(record)
        next_index[(split, ex.id)] = start + len(texts)
        report["by_split"][split]["lines"] += 1
        report["by_split"][split]["rationales"] += len(texts)
        questions[split].add(ex.id)
    for split, ids in questions.items():
        report["by_split"][split]["questions"] = len(ids)
        report["by_split"][split]["of_questions"] = len(examples[split])
    overlap = report["test_overlap"]
    if overlap and not allow_test_overlap:
        first = overlap[0]
        raise DataLeakError(
            f"{path}: {len(overlap)} line(s) would put rationales of the kit's test questions into training "
            f"(the dump files them under train/valid, or the question is in both the kit's train/valid and test "
            f"splits); first at line {first['line']}: {first['question']!r}. Refusing: a test question's rationale "
            "must never reach the student or the judge. Remove those lines, or pass allow_test_overlap=True to "
            "route them to the test split (analysis only).")
    if not records:
        raise DataFormatError(path, None, f"no rationale matched a question of {', '.join(examples)} "
                              f"({report['lines']} lines; unmatched per the dump's split: {report['unmatched']})")
    return records, report


def _sample_index(path, lineno: int, line: dict) -> int:
    value = line["sample_index"]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataFormatError(path, lineno, f"'sample_index' must be a whole number from 0, got {value!r}")
    return value


def _line_settings(path, lineno: int, line: dict, temperature, model) -> tuple[float | None, str]:
    """The line's own ``temperature`` (a number from 0, or null) and ``model`` (text), else the defaults."""
    value = line.get("temperature", temperature)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
        raise DataFormatError(path, lineno, f"'temperature' must be a number from 0 or null, got {value!r}")
    name = line.get("model", model)
    if not isinstance(name, str):
        raise DataFormatError(path, lineno, f"'model' must be text, got {name!r}")
    return value, name


def _line_rationales(path, lineno: int, line: dict) -> list[str]:
    texts = line.get("rationales") or line.get("outputs") or line.get("completions")
    if texts is None:
        single = line.get("rationale", line.get("text"))
        if not isinstance(single, str):
            raise DataFormatError(path, lineno, "needs 'rationales' (a list) or 'rationale'/'text' (a string)")
        return [single]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise DataFormatError(path, lineno, "'rationales' must be a list of strings")
    return texts
