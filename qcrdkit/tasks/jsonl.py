"""Your own questions without code: ``task: jsonl``.

``task_options`` say where the questions are and which fields hold what::

    task: jsonl
    task_options:
      train: data/my_train.jsonl        # JSONL or CSV; paths relative to where `qcrd run` starts
      test: data/my_test.csv
      valid: null                       # optional: else 10 % carved from train (seed 0)
      # or instead of paths: dataset: <a Hugging Face dataset name or a local folder> (through `datasets`)
      question_field: question
      answer_field: answer
      id_field: null                    # optional: else "<split>-<row>"
      answer_type: number               # number | choice | label | text
      options_field: null               # choice: the field with the options (a list, or {letter: text})
      labels: null                      # label: the fixed label set (else: every label seen in train)

How answers are read and scored, per ``answer_type``:

* ``number`` — the first number or arithmetic expression after "The answer is"; without that statement
  the number the closing sentence states (:mod:`qcrdkit.tasks.reading`); equal within 1e-6 relative;
* ``choice`` — a letter ``(b)`` or an option's text; without a statement, the one option the closing sentence
  names; the question shows its options as ``Answer Choices: (a) ... (b) ...``;
* ``label`` — the first label of the set named in the answer (case-insensitive); without a statement, the one
  label the closing sentence names;
* ``text`` — exact match after normalising (lower case, punctuation, articles a/an/the and extra
  whitespace removed).

Every record is checked when a split loads, before anything is written: a missing or mistyped field
stops with ``file:line`` (CSV: the line; a dataset: its split and row) and names the field.
"""
from __future__ import annotations

import csv
import io
import math
import re
import string
from pathlib import Path
from typing import Any

from qcrdkit.core.errors import ConfigError, DataFormatError
from qcrdkit.core.io import iter_jsonl
from qcrdkit.tasks.base import SPLITS, Example, Task, carve_valid, register_task
from qcrdkit.tasks.choice import LETTERS, closing_choice, first_sentence, parse_choice
from qcrdkit.tasks.numeric import (closing_number, format_number, mostly_unwritten, number_key, numbers_equal, parse_number,
                      question_numbers)
from qcrdkit.tasks.reading import UNREAD, Reading, is_aside, sentences

ANSWER_TYPES = ("number", "choice", "label", "text")
def normalise_text(text: str) -> str:
    """Lower case, punctuation and the articles a/an/the removed, whitespace collapsed."""
    text = "".join(ch for ch in str(text).lower() if ch not in string.punctuation)
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


#: the longest CSV field read (Python's csv module stops at 128 KB by default)
CSV_FIELD_LIMIT = 16 * 2**20


def read_rows(path: Path) -> list[tuple[int, dict]]:
    """``(line, record)`` of a JSONL or CSV file (CSV: the line where the row starts; a UTF-8 byte-order mark is
    accepted). Text that is not UTF-8, a malformed CSV row or a field over :data:`CSV_FIELD_LIMIT` is a
    :class:`DataFormatError` naming file and line."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found (task_options of task 'jsonl')")
    if path.suffix.lower() != ".csv":
        return list(iter_jsonl(path))
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, data[:exc.start].count(b"\n") + 1, "not UTF-8 text") from None
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, line = [], 1
    try:
        reader.fieldnames                          # the header line
        line = reader.line_num + 1
        for row in reader:
            rows.append((line, dict(row)))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise DataFormatError(path, line, f"not a CSV row ({exc})") from None
    return rows


def data_number(raw) -> float | None:
    """A gold answer given as a number: ``2.5e3`` is 2500, ``1,200`` and ``$3`` are read as written; ``NaN`` and
    infinities are no number (``None``)."""
    try:
        value = float(raw) if not isinstance(raw, str) else float(raw.strip())
    except ValueError:
        return parse_number(str(raw))
    return value if math.isfinite(value) else None


@register_task("jsonl")
class JsonlTask(Task):
    """Questions and answers from your own JSONL/CSV files or a ``datasets`` dataset (module doc)."""

    example_stops = ("\nQ:", "\n\nQ:")

    def __init__(self, train: str | None = None, test: str | None = None, valid: str | None = None,
                 dataset: str | None = None, dataset_config: str | None = None, question_field: str = "question",
                 answer_field: str = "answer", id_field: str | None = None, answer_type: str = "text",
                 options_field: str | None = None, labels: list[str] | None = None, valid_fraction: float = 0.1):
        if answer_type not in ANSWER_TYPES:
            raise ConfigError(f"task_options.answer_type must be one of {ANSWER_TYPES}, got {answer_type!r}")
        if answer_type == "choice" and not options_field:
            raise ConfigError("task_options.options_field is required with answer_type 'choice' "
                              "(the field holding each question's options)")
        if dataset is None and (train is None or test is None):
            raise ConfigError("task 'jsonl' needs task_options.train and task_options.test (paths to JSONL or CSV "
                              "files), or task_options.dataset (a Hugging Face dataset name or a local folder)")
        if isinstance(valid_fraction, bool) or not isinstance(valid_fraction, (int, float)) \
                or not 0 < valid_fraction < 1:
            raise ConfigError(f"task_options.valid_fraction must be a number between 0 and 1 (the share of train "
                              f"questions held out as valid when there is no valid file), got {valid_fraction!r}")
        if labels is not None and (not isinstance(labels, list) or not all(isinstance(x, str) for x in labels)):
            raise ConfigError(f"task_options.labels must be a list of strings, got {labels!r}")
        self.paths = {"train": train, "valid": valid, "test": test}
        self.dataset, self.dataset_config = dataset, dataset_config
        self.question_field, self.answer_field, self.id_field = question_field, answer_field, id_field
        self.answer_type, self.options_field, self.valid_fraction = answer_type, options_field, valid_fraction
        self.labels = labels
        self.numeric = answer_type == "number"
        self._label_set: list[str] | None = labels

    # ---- loading -------------------------------------------------------------------------
    def load(self, split: str, data_dir=None, source: str = "auto") -> list[Example]:
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
        if self.answer_type == "label" and self._label_set is None and split != "train":
            self.load("train")                     # the label set comes from train
        if self.dataset is not None:
            return self._load_dataset(split)
        if split in ("train", "valid") and self.paths["valid"] is None:
            train = self._read(Path(self.paths["train"]), "train")
            return carve_valid(train, fraction=self.valid_fraction)[split]
        return self._read(Path(self.paths[split]), split)

    def _read(self, path: Path, split: str) -> list[Example]:
        rows = read_rows(path)
        if split == "train" and self.answer_type == "label" and self._label_set is None:
            self._label_set = sorted({str(r.get(self.answer_field)).strip() for _, r in rows
                                      if r.get(self.answer_field) not in (None, "")})
        return self._examples([(f"{path}", line, row) for line, row in rows], split)

    def _load_dataset(self, split: str) -> list[Example]:
        import datasets

        try:
            loaded = datasets.load_dataset(self.dataset, self.dataset_config)
        except Exception as exc:
            raise ConfigError(f"task_options.dataset {self.dataset!r} could not be loaded through datasets "
                              f"({type(exc).__name__}: {str(exc)[:200]})") from exc
        valid_name = next((n for n in ("validation", "valid", "dev") if n in loaded), None)
        if split in ("train", "valid") and valid_name is None and "train" in loaded:     # valid carved from train
            return carve_valid(self._load_dataset_split(loaded, "train", "train"), fraction=self.valid_fraction)[split]
        name = valid_name if split == "valid" else split
        if name not in loaded:
            raise ConfigError(f"task_options.dataset {self.dataset!r} has no {split} split (it has {list(loaded)})")
        return self._load_dataset_split(loaded, name, split)

    def _load_dataset_split(self, loaded, name: str, split: str) -> list[Example]:
        rows = [dict(r) for r in loaded[name]]
        if split == "train" and self.answer_type == "label" and self._label_set is None:
            self._label_set = sorted({str(r.get(self.answer_field)).strip() for r in rows})
        return self._examples([(f"{self.dataset}:{name}", i, r) for i, r in enumerate(rows)], split)

    def _examples(self, rows: list[tuple[str, int, dict]], split: str) -> list[Example]:
        examples, seen = [], set()
        for where, line, record in rows:
            ex = self._example(where, line, record, split)
            if ex.id in seen:
                raise DataFormatError(where, line, f"duplicate id {ex.id!r} (field {self.id_field!r})")
            seen.add(ex.id)
            examples.append(ex)
        if not examples:
            raise DataFormatError(rows[0][0] if rows else self.paths.get(split), None, f"no {split} records")
        return examples

    def _field(self, where, line, record: dict, name: str, kinds=(str,)):
        if name not in record or record[name] is None or record[name] == "":
            raise DataFormatError(where, line, f"missing field {name!r} (has {sorted(record)})")
        value = record[name]
        if not isinstance(value, kinds):
            raise DataFormatError(where, line, f"field {name!r} should be {' or '.join(k.__name__ for k in kinds)}, "
                                  f"got {type(value).__name__} {value!r}")
        return value

    def _example(self, where, line, record: dict, split: str) -> Example:
        question = self._field(where, line, record, self.question_field).strip()
        raw = self._field(where, line, record, self.answer_field, (str, int, float))
        if isinstance(raw, bool):
            raise DataFormatError(where, line, f"field {self.answer_field!r} is {raw}; an answer is text or a number")
        ex_id = str(self._field(where, line, record, self.id_field, (str, int))) if self.id_field else f"{split}-{line}"
        meta: dict = {}
        if self.answer_type == "number":
            answer = data_number(raw)
            if answer is None:
                raise DataFormatError(where, line, f"field {self.answer_field!r} should be a number, got {raw!r}")
            label = format_number(answer)
        elif self.answer_type == "choice":
            options = self._field(where, line, record, self.options_field, (list, dict, str))
            if isinstance(options, str):               # CSV: options separated by |
                options = [o.strip() for o in options.split("|")]
            options = list(options.values()) if isinstance(options, dict) else [str(o) for o in options]
            if len(options) < 2 or len(options) > len(LETTERS):
                raise DataFormatError(where, line, f"field {self.options_field!r} needs 2-26 options, got {len(options)}")
            raw = str(raw).strip()
            letter = raw.strip("()").lower()
            if len(letter) == 1 and letter in LETTERS[:len(options)]:
                answer = options[LETTERS.index(letter)]
            elif any(normalise_text(o) == normalise_text(raw) for o in options):
                answer = next(o for o in options if normalise_text(o) == normalise_text(raw))
            else:
                raise DataFormatError(where, line, f"field {self.answer_field!r}: {raw!r} is neither an option nor "
                                      f"an option letter of {options}")
            question = "\n".join([question, "Answer Choices:"] + [f"({LETTERS[i]}) {o}" for i, o in enumerate(options)])
            label, meta = answer, {"choices": options}
        elif self.answer_type == "label":
            raw = str(raw).strip()
            if self._label_set is not None and raw not in self._label_set:
                raise DataFormatError(where, line, f"field {self.answer_field!r}: {raw!r} is not one of the labels "
                                      f"{self._label_set}")
            answer = label = raw
        else:
            answer = label = str(raw).strip()
        return Example(id=ex_id, input=question, label=label, answer=answer, meta=meta)

    # ---- answers -------------------------------------------------------------------------
    def parse_answer_text(self, answer_text: str, example: Example | None) -> Any:
        if self.answer_type == "number":
            return parse_number(answer_text)
        first = first_sentence(answer_text)
        if self.answer_type == "choice":
            return parse_choice(answer_text, (example.meta.get("choices") if example else None) or [], normalise_text)
        if self.answer_type == "label":
            text = normalise_text(first)
            hits = [(m.start(), lab) for lab in (self._label_set or [])
                    for m in [re.search(rf"\b{re.escape(normalise_text(lab))}\b", text)] if m]
            return min(hits)[1] if hits else None
        text = first.strip().rstrip(".").strip()
        return text or None

    def is_noise(self, text: str, explicit: bool = False) -> bool:
        return super().is_noise(text, explicit) or (self.answer_type == "number" and mostly_unwritten(text))

    def closing_answer(self, text: str, example: Example | None = None) -> Reading:
        """The closing statement's answer (step 2 of :mod:`qcrdkit.tasks.reading`): a number, an option, or the
        one label of the set the last sentence naming labels names; free text answers have no closing rule."""
        if self.answer_type == "number":
            return closing_number(text, question_numbers(example))
        if self.answer_type == "choice":
            return closing_choice(text, (example.meta.get("choices") if example else None) or [], normalise_text)
        if self.answer_type == "label":
            for sentence in reversed(sentences(text)):
                named = {lab for lab in (self._label_set or [])
                         if re.search(rf"\b{re.escape(normalise_text(lab))}\b", normalise_text(sentence))}
                if named and not is_aside(sentence):
                    return Reading(named.pop(), "closing") if len(named) == 1 else UNREAD
        return UNREAD

    def answer_key(self, answer: Any):
        if answer is None:
            return None
        return number_key(answer) if self.answer_type == "number" else normalise_text(answer)

    def is_correct(self, answer: Any, example: Example) -> bool:
        if answer is None:
            return False
        if self.answer_type == "number":
            return numbers_equal(float(answer), float(example.answer))
        return self.answer_key(answer) == self.answer_key(example.answer)

    def answer_to_text(self, answer: Any) -> str:
        return format_number(answer) if self.answer_type == "number" else str(answer)
