"""What a trained student writes at different sampling temperatures, and how the judge scores it
(paper §5.3 Fig. 5 and §5.5 Fig. 6). Pure of widgets: :mod:`qcrdkit.widgets` shows these.

:class:`TemperatureStudy` samples a student's ``<Explain>`` rationale for a question at a
temperature (0 = greedy), reads the answer the rationale commits to
(:meth:`Task.rationale_answer <qcrdkit.tasks.base.Task.rationale_answer>`), checks it against the
gold answer and scores the (question, rationale) pair with the run's judge. Samples are
cached per (question, temperature); a generation is seeded by the questions it samples and the
temperature, so the same calls give the same rationales.

:func:`teacher_score_rows` and :meth:`TemperatureStudy.score_rows` give the rows of the KDE
plot (one row per rationale: ``source``, ``score``).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.io import read_jsonl
from qcrdkit.core.rundir import judge_dir
from qcrdkit.students import explain_input, generate_texts
from qcrdkit.tasks.base import pick_questions  # noqa: F401  (a seeded subset of a split; also stage 03's)


def sample_seed(seed: int, question_id: str, temperature: float) -> int:
    """A generation seed fixed by (seed, question, temperature)."""
    digest = hashlib.sha256(f"{seed}|{question_id}|{temperature:.4f}".encode()).hexdigest()
    return int(digest[:8], 16)


def temperature_label(temperature: float) -> str:
    return "greedy (τ=0)" if temperature == 0 else f"τ={temperature:g}"


class TemperatureStudy:
    """Samples of one trained student at chosen temperatures, with answers, correctness and scores.

    Args:
        model, tokenizer: the student (``build_student(<run>/students/<name>)``).
        task: the run's task; ``examples``: the questions to study (e.g. the test split).
        judge, judge_tokenizer: the run's judge (``None``: no scores).
        samples_per_temperature: rationales drawn per (question, temperature) (greedy: one).
        max_new_tokens: length cap of a rationale.
    """

    def __init__(self, model, tokenizer, task, examples: Sequence, *, judge=None, judge_tokenizer=None,
                 samples_per_temperature: int = 3, max_new_tokens: int = 128, seed: int = 0):
        if not examples:
            raise ConfigError("TemperatureStudy needs at least one question")
        if samples_per_temperature < 1:
            raise ConfigError(f"samples_per_temperature must be >= 1, got {samples_per_temperature}")
        self.model, self.tokenizer, self.task = model, tokenizer, task
        self.examples = {ex.id: ex for ex in examples}
        self.judge, self.judge_tokenizer = judge, judge_tokenizer
        self.samples_per_temperature, self.max_new_tokens, self.seed = samples_per_temperature, max_new_tokens, seed
        self._cache: dict[tuple[str, float], list[dict]] = {}
        self.generate_calls = 0

    @property
    def question_ids(self) -> list[str]:
        return list(self.examples)

    def samples(self, question_id: str, temperature: float) -> list[dict]:
        """The rationales at ``temperature`` (cached): ``temperature``, ``index``, ``rationale``,
        ``answer``, ``correct``, ``score`` (``None`` without a judge)."""
        if question_id not in self.examples:
            raise ConfigError(f"unknown question {question_id!r}; the study has {len(self.examples)} questions")
        if temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {temperature}")
        key = (question_id, round(float(temperature), 4))
        if key not in self._cache:
            self._fill([question_id], float(temperature))
        return self._cache[key]

    def _fill(self, question_ids: list[str], temperature: float) -> None:
        """Sample and score the missing (question, temperature) cells, batched over questions."""
        import torch

        missing = [q for q in question_ids if (q, round(temperature, 4)) not in self._cache]
        if not missing:
            return
        n = 1 if temperature == 0 else self.samples_per_temperature
        torch.manual_seed(sample_seed(self.seed, "|".join(missing), temperature))
        texts = generate_texts(self.model, self.tokenizer, [explain_input(self.examples[q].input) for q in missing],
                               max_new_tokens=self.max_new_tokens, temperature=temperature or None,
                               num_return_sequences=n)
        self.generate_calls += 1
        pairs = [(q, i, t) for q, outs in zip(missing, texts) for i, t in enumerate(outs)]
        scores = [None] * len(pairs)
        if self.judge is not None:
            from qcrdkit.judge import answer_key, grouped_signals, score_rationales

            signal = None
            if self.judge.reads_answer_signal:             # peers: the question's other samples at this temperature
                keys = [answer_key(self.task, t, self.examples[q]) for q, _, t in pairs]
                signal = grouped_signals(keys, [q for q, _, _ in pairs], self.judge.config.answer_input)
            scores = [round(float(s), 4) for s in score_rationales(
                self.judge, self.judge_tokenizer, [self.examples[q].input for q, _, _ in pairs], [t for _, _, t in pairs],
                answer_signal=signal)]
        for q in missing:
            self._cache[(q, round(temperature, 4))] = []
        for (q, i, text), score in zip(pairs, scores):
            ex = self.examples[q]
            answer, correct = self.task.rationale_outcome(text, ex)
            self._cache[(q, round(temperature, 4))].append({
                "question_id": q, "temperature": temperature, "index": i, "rationale": text,
                "answer": None if answer is None else self.task.answer_to_text(answer),
                "correct": correct, "score": score})

    def preload(self, rows: Sequence[dict]) -> int:
        """Put samples saved earlier (stage 04's ``report/student_samples.jsonl`` rows) into the cache, so
        a dashboard shows what the report shows without sampling again; returns the cells filled."""
        cells: dict[tuple[str, float], list[dict]] = {}
        for r in rows:
            if r["question_id"] in self.examples:
                cells.setdefault((r["question_id"], round(float(r["temperature"]), 4)), []).append(
                    {k: r.get(k) for k in ("question_id", "temperature", "index", "rationale", "answer", "correct",
                                           "score")})
        for key, samples in cells.items():
            self._cache[key] = sorted(samples, key=lambda s: s["index"])
        return len(cells)

    def score_rows(self, temperatures: Sequence[float], question_ids: Sequence[str] | None = None) -> list[dict]:
        """KDE rows (``source`` = ``student τ=...``) for every question and temperature."""
        question_ids = list(question_ids or self.question_ids)
        rows = []
        for t in temperatures:
            self._fill(question_ids, float(t))
            source = f"student {temperature_label(float(t))}"
            rows += [{**s, "source": source} for q in question_ids for s in self._cache[(q, round(float(t), 4))]]
        return rows


def teacher_score_rows(run_dir: str | Path) -> list[dict]:
    """The teacher's positives and negatives on the judge's held-out questions, with the
    scores stage 02 gave them (``judge/scores_test.jsonl`` when the run scored a test
    split, else ``scores.jsonl``): rationales the judge was not trained on."""
    folder = judge_dir(run_dir)
    path = folder / "scores_test.jsonl" if (folder / "scores_test.jsonl").exists() else folder / "scores.jsonl"
    if not path.exists():
        raise ConfigError(f"{path}: not found; run stage 02 (the judge) for this run_dir first")
    return [{"source": r["source"], "score": r["score"], "question_id": r["id"], "key": r.get("key")}
            for r in read_jsonl(path) if r["source"] in ("teacher positive", "teacher negative")]


def mean_scores(rows: Sequence[dict]) -> list[dict]:
    """Per source: count, mean and std of the score, and (where known) the share of correct answers."""
    import numpy as np

    by_source: dict[str, list[dict]] = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(r)
    out = []
    for source, part in by_source.items():
        scores = np.array([r["score"] for r in part], dtype=float)
        correct = [r["correct"] for r in part if "correct" in r]
        out.append({"source": source, "n": len(part), "mean_score": round(float(scores.mean()), 4),
                    "std_score": round(float(scores.std()), 4),
                    "answer_correct": round(float(np.mean(correct)), 4) if correct else None})
    return out
