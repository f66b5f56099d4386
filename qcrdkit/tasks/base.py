"""What every task is: how its examples look, how answers are pulled out of free text and scored.

A task lives in one module of this package and registers itself with :func:`register_task`;
adding a dataset touches that one module. Each task answers four questions:

* ``load(split, ...)``  -> list of :class:`Example` (from a DSS-layout directory, the HF hub,
  or a generator)
* ``extract_answer(text, example)`` -> the answer a free-text completion commits to, or ``None``
* ``answer_key(answer)`` -> a hashable form used to count votes (self-consistency)
* ``is_correct(answer, example)`` -> whether an extracted answer matches the gold one
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

from qcrdkit.core.errors import ConfigError, DataFormatError
from qcrdkit.core.io import iter_jsonl
from qcrdkit.tasks.reading import ANSWER_MARKERS, UNREAD, Reading, looks_garbled, split_answer  # noqa: F401 (the tasks' API)

SPLITS = ("train", "valid", "test")


@dataclass
class Example:
    """One question of a task.

    ``input`` is the formatted question text both the teacher and the student read;
    ``label`` the gold label as text (SVAMP: an equation, CQA: the answer text, NLI: the label
    word); ``answer`` the canonical gold answer that predictions are compared to (a float for
    arithmetic tasks, a string otherwise); ``rationale`` a gold rationale where the task has one.
    """

    id: str
    input: str
    label: str
    answer: Any
    rationale: str | None = None
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Example":
        return cls(**{k: d[k] for k in ("id", "input", "label", "answer")},
                   rationale=d.get("rationale"), meta=d.get("meta") or {})


def question_key(text: str) -> str:
    """A question's text with all whitespace runs made one space and the ends stripped: how rationale
    dumps written elsewhere are matched to the kit's questions (one dump joins SVAMP's body and
    question with a space where the kit's data has a newline)."""
    return " ".join(text.split())


def cut_at_next_example(text: str, stops: tuple[str, ...]) -> str:
    """Cut a few-shot completion where it starts writing the next example (``Q:``, ``Premise:``)."""
    cut = len(text)
    for stop in stops:
        idx = text.find(stop)
        # a stop at position 0 is the completion's own first line, not a following example
        if idx > 0:
            cut = min(cut, idx)
    return text[:cut].rstrip()


# --------------------------------------------------------------------------- the registry

_REGISTRY: dict[str, Callable[..., "Task"]] = {}


def register_task(name: str):
    """Class decorator: register a task under ``name``; a second task with the same name is an error."""
    def deco(cls):
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ConfigError(f"task {name!r} is already registered (by {_REGISTRY[name].__module__}."
                              f"{_REGISTRY[name].__qualname__}); pick another name")
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return deco


def task_names() -> list[str]:
    return sorted(_REGISTRY)


def get_task(name: str, **options) -> "Task":
    """Return the task registered under ``name`` (options go to its constructor).

    One option every task takes: ``questions_per_split`` — only the first N questions of each split
    (``qcrd check``'s tiny run; the split files are read as the real run reads them)."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(task_names())}") from None
    limit = options.pop("questions_per_split", None)
    task = cls(**options)
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ConfigError(f"task option questions_per_split must be an integer >= 1, got {limit!r}")
        load = task.load

        def first_questions(split, *args, **kwargs):
            return load(split, *args, **kwargs)[:limit]

        task.load = first_questions
        task.questions_per_split = limit
    return task


class Task:
    """Base class: shared loading of the Distilling Step-by-Step file layout."""

    name: ClassVar[str] = "task"
    #: fields every line of ``<task>_<split>.json`` must have
    required_fields: ClassVar[tuple[str, ...]] = ()
    #: splits present in the DSS layout; a missing valid split is carved from train
    valid_from_train: ClassVar[bool] = False
    #: strings that begin the next few-shot example in a raw completion
    example_stops: ClassVar[tuple[str, ...]] = ("\nQ:", "\n\nQ:")
    #: numeric answers are compared with a tolerance
    numeric: ClassVar[bool] = False

    # ---- loading -----------------------------------------------------------------------
    def load(self, split: str, data_dir: str | Path | None = None, source: str = "auto") -> list[Example]:
        """Load one split. ``source``: ``"dir"`` (DSS layout under ``data_dir``), ``"hub"``
        (the Hugging Face hub through ``datasets``) or ``"auto"`` (dir when given, else hub)."""
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
        if source == "auto":
            source = "dir" if data_dir is not None else "hub"
        if source == "dir":
            if data_dir is None:
                raise ConfigError(f"task {self.name!r}: data_dir is required with source='dir'")
            return self._load_split_dir(Path(data_dir), split)
        if source == "hub":
            return self._load_split_hub(split)
        raise ConfigError(f"source must be 'auto', 'dir' or 'hub', got {source!r}")

    def _split_file(self, data_dir: Path, split: str) -> Path:
        task_dir = data_dir / self.name if (data_dir / self.name).is_dir() else data_dir
        return task_dir / f"{self.name}_{split}.json"

    def _load_split_dir(self, data_dir: Path, split: str) -> list[Example]:
        path = self._split_file(data_dir, split)
        has_valid_file = self._split_file(data_dir, "valid").exists()
        if split in ("train", "valid") and self.valid_from_train and not has_valid_file:
            train = self._read_file(self._split_file(data_dir, "train"), "train")
            return carve_valid(train)[split]     # train minus the carved valid, or the valid
        if not path.exists():
            raise FileNotFoundError(
                f"{path}: no {split} split for task {self.name!r} in {data_dir}"
                + (" (the DSS data has no train split for this task)" if split == "train" else ""))
        return self._read_file(path, split)

    def _read_file(self, path: Path, split: str) -> list[Example]:
        examples = []
        for lineno, record in iter_jsonl(path):
            missing = [f for f in self.required_fields if f not in record]
            if missing:
                raise DataFormatError(path, lineno, f"missing field(s) {missing} for task {self.name!r}")
            try:
                ex = self.example_from_record(record, f"{self.name}-{split}-{lineno - 1}")
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                raise DataFormatError(path, lineno, f"bad {self.name} record: {exc}") from None
            examples.append(ex)
        return examples

    def _load_split_hub(self, split: str) -> list[Example]:
        raise ConfigError(f"task {self.name!r} cannot be loaded from the hub; pass data_dir")

    def example_from_record(self, record: dict, default_id: str) -> Example:
        raise NotImplementedError

    # ---- answers -----------------------------------------------------------------------
    def read_completion(self, text: str, example: Example | None = None) -> tuple[str, Reading]:
        """``(rationale, reading)`` of a raw completion, in the order of :mod:`qcrdkit.tasks.reading`: the
        answer of its last explicit answer statement (``marker``; a statement that names no readable answer
        leaves it unread), else what its closing statement states (:meth:`closing_answer`), else unread; sampled
        noise (:meth:`is_noise`) is unread whatever it ends with. Any
        text gives a reading; none raises."""
        text = cut_at_next_example(text, self.example_stops)
        rationale, answer_text = split_answer(text)
        if self.is_noise(text, explicit=answer_text is not None):
            return rationale, UNREAD
        if answer_text is None:
            return rationale, self.closing_answer(rationale, example)
        answer = self.parse_answer_text(answer_text, example)
        return rationale, UNREAD if answer is None else Reading(answer, "marker")

    def parse_completion(self, text: str, example: Example | None = None) -> tuple[str, Any]:
        """``(rationale, answer)`` of a raw completion; ``answer`` is ``None`` when unread
        (:meth:`read_completion`)."""
        rationale, reading = self.read_completion(text, example)
        return rationale, reading.answer

    def is_noise(self, text: str, explicit: bool = False) -> bool:
        """Text no writer wrote, from which nothing is read: without an explicit answer statement, text that
        :func:`~qcrdkit.tasks.reading.looks_garbled` (an explicit statement is trusted: names such as ``A6X``
        are not noise there)."""
        return not explicit and looks_garbled(text)

    def closing_answer(self, text: str, example: Example | None = None) -> Reading:
        """The answer a completion without an explicit answer statement commits to in its closing statement
        (step 2 of :mod:`qcrdkit.tasks.reading`); the base class reads none."""
        return UNREAD

    def extract_answer(self, text: str, example: Example | None = None) -> Any:
        return self.parse_completion(text, example)[1]

    def parse_answer_text(self, answer_text: str, example: Example | None) -> Any:
        raise NotImplementedError

    def answer_key(self, answer: Any) -> Any:
        """Hashable form of an answer, used to count self-consistency votes."""
        return None if answer is None else str(answer).strip().lower()

    def is_correct(self, answer: Any, example: Example) -> bool:
        return answer is not None and self.answer_key(answer) == self.answer_key(example.answer)

    def answer_to_text(self, answer: Any) -> str:
        """How an answer is written as text."""
        return str(answer)

    def rationale_answer(self, rationale: str, example: Example | None = None) -> Any:
        """The answer a rationale alone commits to (a student's ``<Explain>`` output, which
        usually stops before the answer): its stated answer; ``None`` when it states none."""
        return self.extract_answer(rationale, example)

    def rationale_outcome(self, rationale: str, example: Example) -> tuple[Any, bool]:
        """``(answer, correct)``: the answer a rationale reaches (:meth:`rationale_answer`) and
        whether it is right — how a student's rationale is scored everywhere in the kit."""
        answer = self.rationale_answer(rationale, example)
        return answer, answer is not None and bool(self.is_correct(answer, example))

    # ---- the student's label task ------------------------------------------------------------
    def label_target(self, example: Example) -> str:
        """What a student's ``<Predict>`` task outputs: the gold label (SVAMP/arith: the equation)."""
        return example.label

    def parse_label(self, text: str, example: Example | None = None) -> Any:
        """The answer a student's predicted label commits to (``None`` if unreadable)."""
        return self.parse_answer_text(text, example) if text.strip() else None


def pick_questions(examples: Sequence, n: int | None, seed: int = 0) -> list:
    """``n`` examples drawn without replacement by ``seed`` (all for ``None`` or more than there are), in
    their original order."""
    import random

    if n is None or n >= len(examples):
        return list(examples)
    keep = set(random.Random(seed).sample(range(len(examples)), n))
    return [ex for i, ex in enumerate(examples) if i in keep]


def carve_valid(train: list[Example], fraction: float = 0.1, seed: int = 0) -> dict[str, list[Example]]:
    """Split train into train/valid the way Distilling Step-by-Step does
    (``datasets.Dataset.train_test_split(test_size=0.1, seed=0)``), so indices match DSS."""
    from datasets import Dataset

    idx = Dataset.from_dict({"i": list(range(len(train)))}).train_test_split(test_size=fraction, seed=seed)
    return {"train": [train[i] for i in idx["train"]["i"]], "valid": [train[i] for i in idx["test"]["i"]]}
