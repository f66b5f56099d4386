"""Turning existing rationale dumps into the kit's sample records.

* :func:`import_dss_llm` — the Distilling Step-by-Step PaLM files
  (``<task>/llm/<split>_CoT_<i>.json``: JSON lists of raw few-shot completions aligned by
  position with the rows of ``<task>_<split>.json``; one completion per example, running on into
  the next few-shot example, which the task's parser cuts off).
* :func:`import_jsonl` — a generic JSON Lines dump with several rationales per question:
  ``{"id": ..., "rationales": ["...", ...]}`` (``outputs`` / ``completions`` also accepted), or one
  rationale per line ``{"id": ..., "rationale": "...", "sample_index": 0}`` (``text`` also
  accepted). Lines may carry ``input``/``question`` instead of an ``id`` known to the task.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import DataFormatError
from ..io import iter_jsonl
from ..tasks.base import Example, Task
from .records import make_record


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


def import_jsonl(task: Task, path: str | Path, split: str, examples: list[Example],
                 model: str = "imported", temperature: float | None = None) -> list[dict]:
    """Sample records from a generic JSONL dump (see module doc for the accepted layouts)."""
    by_id = {ex.id: ex for ex in examples}
    by_input = {ex.input.strip(): ex for ex in examples}
    next_index: dict[str, int] = {}
    records = []
    for lineno, line in iter_jsonl(path):
        ex = by_id.get(str(line.get("id"))) if "id" in line else None
        if ex is None:
            text = line.get("input") or line.get("question")
            ex = by_input.get(text.strip()) if isinstance(text, str) else None
        if ex is None:
            raise DataFormatError(path, lineno, f"no question of {task.name}/{split} with id {line.get('id')!r} "
                                  "(or matching input/question text)")
        texts = line.get("rationales") or line.get("outputs") or line.get("completions")
        if texts is None:
            single = line.get("rationale", line.get("text"))
            if not isinstance(single, str):
                raise DataFormatError(path, lineno, "needs 'rationales' (a list) or 'rationale'/'text' (a string)")
            texts = [single]
            start = int(line.get("sample_index", next_index.get(ex.id, 0)))
        else:
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise DataFormatError(path, lineno, "'rationales' must be a list of strings")
            start = next_index.get(ex.id, 0)
        for offset, text in enumerate(texts):
            records.append(make_record(task, ex, split=split, sample_index=start + offset, raw=text,
                                       temperature=line.get("temperature", temperature), model=line.get("model", model),
                                       source="jsonl_import"))
        next_index[ex.id] = start + len(texts)
    if not records:
        raise DataFormatError(path, None, "no rationales in file")
    return records
