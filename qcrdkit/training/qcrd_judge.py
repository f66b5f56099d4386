"""The online judge during QCRD training (paper §3.3.1, appendix A.3): what it learns from, and when.

The paper keeps updating the discriminator "at regular intervals" while the student trains, so that it
keeps judging the rationales the student now writes. :class:`OnlineJudgeSchedule` does that:

* **When.** At the end of each iteration — when the snapshot ring advances, every ``steps_per_iteration``
  steps — or every ``judge_update_every`` steps when that is set (0: never).
* **On what.** A class-balanced replay buffer of recent (question, rationale, label) triples, the
  ``judge_buffer_size`` latest of each label: every training step adds the pairs its loss used.
* **Labels** (``judge_labels``). ``"source"``, the paper's: teacher positives 1, self-adversarial
  negatives 0. ``"outcome"``: every rationale by whether the answer it reaches is the gold answer of its
  train question (:meth:`Task.rationale_outcome`), and before each update the buffer also takes the current
  student's own samples at ``judge_student_temperature`` (0.7) on the questions of the last steps — the
  judge sees fluent student rationales, right and wrong, not only "teacher vs noisy student". Needs a task
  whose rationales' answers the kit reads exactly (numbers; jsonl ``number`` / ``choice``).
* **How much.** ``judge_update_steps`` optimizer steps on balanced batches of ``judge_batch_size`` pairs (under
  ``judge_objective`` eq2, whole questions that hold both labels: eq. 2 ranks within a question) at
  ``judge_learning_rate`` × α3 × 0.9^k after iteration k (k = 0 first: α3 = ``alpha_judge``, 0.5 in the paper):
  eq. 8's ``α3 · L_D`` involves only the judge's weights, and Adam would cancel a constant loss weight, so α3 and
  its decay scale the judge's step instead.
* **Answer input.** A judge made with an ``answer_input`` (stage 02) also reads each rationale's answer
  signal (:func:`~qcrdkit.judge.items.answer_signals`): whether the kit reads an answer from it
  (``answered``), or that answer's agreement with the other samples of its source for its question
  (``agreement``: for a teacher rationale the teacher's other samples, positives and negatives alike, as in
  stages 02 and 04; for the student's the student's other samples — under ``outcome`` labels the student then
  writes ``AGREEMENT_SAMPLES`` samples per question for the buffer). The paper's judge reads the text alone.
  :meth:`OnlineJudgeSchedule.signals` computes it for every rationale the judge scores or learns from.
* **Diagnostic.** A fixed probe set — the first ``judge_probe_size`` pairs of each label the buffer saw
  — is scored before and after each update: ``judge_delta`` (mean |Δ score|), ``judge_probe_pos`` and
  ``judge_probe_neg`` (mean scores) go into the log history, which notebook 03 plots.

The buffer, the probe set and the random state travel with the judge in each checkpoint.
"""
from __future__ import annotations

import logging
import random
from collections import deque

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.processes import gather_list
from qcrdkit.judge.items import answer_input_mode, answer_key, answer_signals
from qcrdkit.training.losses import alpha3_schedule
from qcrdkit.students.models import explain_input, generate_texts

log = logging.getLogger(__name__)
LABELS = ("source", "outcome")
#: the student's τ 0.7 samples per question added to the buffer when the judge's answer input is agreement
AGREEMENT_SAMPLES = 3


def check_outcome_labels(task) -> None:
    """``judge_labels="outcome"`` needs a task whose rationales' answers the kit reads exactly."""
    exact = getattr(task, "numeric", False) or getattr(task, "answer_type", None) in ("number", "choice")
    if not exact:
        raise ConfigError(f"judge_labels='outcome' labels rationales by the answer they reach, which the kit reads "
                          f"exactly only for numeric tasks and jsonl number/choice tasks, not task {task.name!r}; "
                          "use judge_labels='source'")


class ReplayBuffer:
    """The ``capacity`` latest (question, rationale, answer signal) of each label; balanced batches drawn from both."""

    def __init__(self, capacity: int, seed: int = 0):
        self.capacity = capacity
        self.items = {1: deque(maxlen=capacity), 0: deque(maxlen=capacity)}
        self.rng = random.Random(seed)

    def add(self, question: str, rationale: str, label: int, signal: float = 1.0) -> None:
        self.items[int(label)].append((question, rationale, float(signal)))

    def ready(self) -> bool:
        return bool(self.items[1]) and bool(self.items[0])

    def sample(self, size: int) -> tuple[list[str], list[str], list[int], list[bool]]:
        """``size`` items, half of each label (drawn with replacement when a side is short):
        questions, rationales, labels, answer signals."""
        questions, rationales, labels, signals = [], [], [], []
        for label, n in ((1, (size + 1) // 2), (0, size // 2)):
            pool = self.items[label]
            picks = self.rng.sample(list(pool), n) if len(pool) >= n else [self.rng.choice(pool) for _ in range(n)]
            questions += [q for q, _, _ in picks]
            rationales += [r for _, r, _ in picks]
            signals += [a for _, _, a in picks]
            labels += [label] * n
        return questions, rationales, labels, signals

    def sample_questions(self, size: int) -> tuple[list[str], list[str], list[int], list[bool]]:
        """Whole questions that hold rationales of both labels, in random order, until ``size`` items (at least
        one question): eq. 2 ranks a question's positives against its own negatives. :meth:`sample` when no
        question holds both."""
        by_question: dict[str, list[tuple]] = {}
        for label in (1, 0):
            for q, r, a in self.items[label]:
                by_question.setdefault(q, []).append((q, r, label, a))
        mixed = [q for q, rows in by_question.items() if len({row[2] for row in rows}) == 2]
        if not mixed:
            return self.sample(size)
        self.rng.shuffle(mixed)
        picked: list[tuple] = []
        for q in mixed:
            picked += by_question[q]
            if len(picked) >= size:
                break
        return [p[0] for p in picked], [p[1] for p in picked], [p[2] for p in picked], [p[3] for p in picked]

    def state_dict(self) -> dict:
        return {"items": {k: list(v) for k, v in self.items.items()}, "rng": self.rng.getstate()}

    def load_state_dict(self, state: dict) -> None:
        for k, values in state["items"].items():
            self.items[int(k)] = deque([tuple(x) + (1.0,) * (3 - len(x)) for x in values], maxlen=self.capacity)
        self.rng.setstate(_tuples(state["rng"]))


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


class OnlineJudgeSchedule:
    """The online judge's data and schedule in a QCRD run (see module doc)."""

    def __init__(self, judge, args, task, examples_by_id: dict, heldout: frozenset = frozenset(),
                 teacher_correct: dict | None = None):
        if args.judge_labels not in LABELS:
            raise ConfigError(f"judge_labels must be one of {LABELS}, got {args.judge_labels!r}")
        if args.judge_labels == "outcome":
            check_outcome_labels(task)
        self.judge, self.args, self.task, self.examples = judge, args, task, examples_by_id
        self.heldout = frozenset(heldout)          # stage 02's held-out questions: never learnt from
        # {question id: {teacher rationale: right?}}: stage 01's reading, the outcome label of a teacher rationale
        self.teacher_correct = teacher_correct or {}
        self.skipped = 0                           # updates due while the buffer held one label only
        self.buffer = ReplayBuffer(args.judge_buffer_size, seed=args.seed)
        self.probe: list[tuple[str, str, int, float]] = []
        self.recent = deque(maxlen=max(args.judge_batch_size, 64))     # question ids of the last steps
        self.updates = 0
        self.answer_keys: dict[tuple[str, str], object] = {}     # (question id, text) -> answer key, read once

    def answer_key(self, question_id: str, text: str):
        """The answer key the kit reads from ``text`` (:func:`~qcrdkit.judge.items.answer_key`), memoised: a
        positive is read again each time its question comes back, and once more as each peer's peer."""
        key = (question_id, text)
        if key not in self.answer_keys:
            if len(self.answer_keys) >= 200_000:
                self.answer_keys.clear()
            self.answer_keys[key] = answer_key(self.task, text, self.examples[question_id])
        return self.answer_keys[key]

    @property
    def every(self) -> int:
        a = self.args
        return a.steps_per_iteration if a.judge_update_every is None else a.judge_update_every

    def due(self, step: int) -> bool:
        """Whether the judge updates after optimizer step ``step`` (1-based)."""
        return self.every > 0 and step > 0 and step % self.every == 0

    def label(self, question_id: str, text: str, source_label: int) -> int:
        """``source``: the pair's source label; ``outcome``: right or wrong — for a teacher rationale as stage 01
        read it (its record's ``correct``: the full completion, answer statement included), for the student's
        own text by the answer it reaches."""
        if self.args.judge_labels == "source":
            return source_label
        known = self.teacher_correct.get(question_id, {}).get(text)
        if known is not None:
            return int(known)
        return int(self.task.rationale_outcome(text, self.examples[question_id])[1])

    @property
    def answer_input(self) -> str:
        return answer_input_mode(getattr(self.judge, "answer_input", "none"))

    def signals(self, question_ids: list[str], texts: list[str],
                peers: list[list[str]] | None = None) -> list[float] | None:
        """Each text's answer signal — the judge's answer input — against ``peers[i]`` (the other rationales
        of the same kind for its question; none given: no peers); ``None`` for a judge without an answer input."""
        mode = self.answer_input
        if mode == "none":
            return None
        peers = peers if peers is not None else [[] for _ in texts]
        key = self.answer_key
        keys = [key(q, t) for q, t in zip(question_ids, texts)]
        peer_keys = [[key(q, p) for p in ps] for q, ps in zip(question_ids, peers)] if mode == "agreement" else peers
        return answer_signals(keys, peer_keys, mode)

    def observe(self, question_ids: list[str], questions: list[str], texts: list[str], source_labels: list[int],
                peers: list[list[str]] | None = None) -> None:
        """The pairs one training step used (``source_labels``: 1 teacher positive, 0 negative; ``peers``: as
        for :meth:`signals`)."""
        keep = [i for i, q in enumerate(question_ids) if q not in self.heldout]
        if len(keep) < len(question_ids):                 # held out for every judge: never in the buffer
            question_ids, questions, texts, source_labels = ([xs[i] for i in keep] for xs in
                                                             (question_ids, questions, texts, source_labels))
            peers = None if peers is None else [peers[i] for i in keep]
        signals = self.signals(question_ids, texts, peers) or [1.0] * len(texts)
        rows = [(q, question, text, self.label(q, text, label), a)
                for q, question, text, label, a in zip(question_ids, questions, texts, source_labels, signals)]
        rows = gather_list(rows)             # several processes: the global batch's pairs, in process order
        for _, question, text, label, a in rows:
            self.buffer.add(question, text, label, a)
        self.recent.extend(dict.fromkeys(q for q, *_ in rows))

    def add_student_samples(self, student, tokenizer, max_new_tokens: int | None = None) -> int:
        """``outcome`` labels: the current student's samples at ``judge_student_temperature`` on the questions
        of the last steps, labelled by the answer they reach; at most ``max_new_tokens`` tokens each (default
        ``max_target_length``)."""
        ids = list(dict.fromkeys(self.recent))
        if not ids:
            return 0
        was_training = student.training
        n = AGREEMENT_SAMPLES if self.answer_input == "agreement" else 1
        texts = generate_texts(student, tokenizer, [explain_input(self.examples[q].input) for q in ids],
                               max_new_tokens=min(max_new_tokens or self.args.max_target_length,
                                                  self.args.max_target_length),
                               temperature=self.args.judge_student_temperature or None, num_return_sequences=n)
        student.train(was_training)
        rows = [(q, t, [o for j, o in enumerate(outs) if j != i]) for q, outs in zip(ids, texts)
                for i, t in enumerate(outs)]
        signals = self.signals([q for q, _, _ in rows], [t for _, t, _ in rows], [p for _, _, p in rows]) \
            or [1.0] * len(rows)
        for (q, text, _), a in zip(rows, signals):
            self.buffer.add(self.examples[q].input, text, self.label(q, text, 0), a)
        return len(rows)

    def _fix_probe(self) -> None:
        if not self.probe:
            n = self.args.judge_probe_size // 2
            self.probe = [(q, r, label, a) for label in (1, 0) for q, r, a in list(self.buffer.items[label])[:n]]

    def probe_scores(self):
        signal = [a for *_, a in self.probe] if self.answer_input != "none" else None
        return self.judge.score([p[0] for p in self.probe], [p[1] for p in self.probe], answer_signal=signal).double()

    def update(self, student, tokenizer, iteration: int, max_new_tokens: int | None = None) -> dict | None:
        """Several steps on the buffer after iteration ``iteration`` (0: the first) at the judge's learning rate
        × α3 × decay^iteration (see module doc); the diagnostics to log, or ``None`` when the buffer
        does not hold both labels yet. ``max_new_tokens``: the student samples' length cap (outcome labels)."""
        a = self.args
        if a.judge_labels == "outcome":
            self.add_student_samples(student, tokenizer, max_new_tokens)
        if not self.buffer.ready():
            self.skipped += 1
            if self.skipped == 1:
                log.warning("the online judge's update was skipped: its buffer holds %s only (every pair so far "
                            "labelled the same); skipped updates are counted in the student's metrics.json "
                            "(judge_updates_skipped)", "positives" if self.buffer.items[1] else "negatives")
            return None
        self._fix_probe()
        before = self.probe_scores()
        learning_rate = a.judge_learning_rate * alpha3_schedule(a.alpha_judge, a.alpha_judge_decay, iteration)
        losses = []
        draw = self.buffer.sample_questions if getattr(self.judge, "objective", "bce") == "eq2" else self.buffer.sample
        for _ in range(a.judge_update_steps):
            questions, rationales, labels, signals = draw(a.judge_batch_size)
            losses.append(self.judge.update(questions, rationales, labels, group_ids=questions,
                                            learning_rate=learning_rate,
                                            answer_signal=signals if self.answer_input != "none" else None))
        after = self.probe_scores()
        self.updates += 1
        positive = [p[2] == 1 for p in self.probe]
        pos = after[positive].mean() if any(positive) else float("nan")
        neg = after[[not p for p in positive]].mean() if not all(positive) else float("nan")
        return {"loss_judge": sum(losses) / len(losses), "judge_delta": float((after - before).abs().mean()),
                "judge_probe_pos": float(pos), "judge_probe_neg": float(neg), "judge_lr": learning_rate}

    def state_dict(self) -> dict:
        return {"buffer": self.buffer.state_dict(), "probe": self.probe, "recent": list(self.recent),
                "updates": self.updates, "skipped": self.skipped}

    def load_state_dict(self, state: dict) -> None:
        self.buffer.load_state_dict(state["buffer"])
        self.probe = [tuple(p) + (1.0,) * (4 - len(p)) for p in state["probe"]]
        self.recent.extend(state["recent"])
        self.updates = state["updates"]
        self.skipped = state.get("skipped", 0)
