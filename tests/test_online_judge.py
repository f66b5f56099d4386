"""The online judge's data and schedule during QCRD training (qcrdkit.training.qcrd_judge), with a
stand-in judge: when it updates, the class-balanced replay buffer, outcome labels, the probe's movement."""
from types import SimpleNamespace

import pytest
import torch

from qcrdkit.core.errors import ConfigError
from qcrdkit.training.qcrd_judge import OnlineJudgeSchedule, ReplayBuffer
from qcrdkit.tasks import get_task


class StandInJudge:
    """Scores a rationale by a learnt bias per label seen; each update moves the bias toward the labels."""

    def __init__(self, answer_input="none"):
        self.bias, self.updates, self.seen, self.answer_input, self.signals = 0.5, 0, [], answer_input, []

    def score(self, questions, rationales, answer_signal=None):
        self.signals.append(answer_signal)
        return torch.tensor([self.bias + (0.1 if "=" in r else 0.0) for r in rationales])

    def update(self, questions, rationales, labels, group_ids=None, learning_rate=None, answer_signal=None):
        self.signals.append(answer_signal)
        self.seen.append((list(rationales), list(labels), learning_rate))
        self.bias += 0.01
        self.updates += 1
        return 0.3


def args(**over):
    base = dict(judge_labels="source", judge_buffer_size=4, judge_batch_size=4, judge_update_steps=3,
                judge_update_every=None, steps_per_iteration=5, judge_learning_rate=1e-4, alpha_judge=0.5,
                alpha_judge_decay=0.9,
                judge_probe_size=2, judge_student_temperature=0.7, max_target_length=32, seed=0)
    return SimpleNamespace(**{**base, **over})


def test_the_buffer_keeps_the_latest_of_each_label_and_draws_balanced_batches():
    buffer = ReplayBuffer(capacity=3, seed=0)
    for i in range(5):
        buffer.add("q", f"pos{i}", 1)
    assert not buffer.ready()
    buffer.add("q", "neg0", 0)
    assert [r for _, r, _ in buffer.items[1]] == ["pos2", "pos3", "pos4"] and buffer.ready()
    questions, rationales, labels, signals = buffer.sample(4)
    assert labels == [1, 1, 0, 0] and rationales[2:] == ["neg0", "neg0"]      # the short side drawn with replacement
    restored = ReplayBuffer(capacity=3)
    restored.load_state_dict(buffer.state_dict())
    assert restored.sample(4) == buffer.sample(4)                              # contents and random state


def test_eq2_updates_draw_whole_questions_that_hold_both_labels(tmp_path):
    buffer = ReplayBuffer(capacity=8, seed=0)
    for q, rationale, label in [("q1", "a", 1), ("q2", "b", 1), ("q1", "c", 0), ("q2", "d", 1), ("q3", "e", 0),
                                ("q3", "f", 1), ("q3", "g", 1)]:
        buffer.add(q, rationale, label)
    questions, rationales, labels, _ = buffer.sample_questions(2)
    assert len(set(questions)) == 1 and set(labels) == {0, 1}                  # one whole mixed question
    questions, rationales, labels, _ = buffer.sample_questions(100)
    assert set(questions) == {"q1", "q3"} and sorted(rationales) == ["a", "c", "e", "f", "g"]   # q2: positives only
    only_positives = ReplayBuffer(capacity=4, seed=0)
    only_positives.add("q1", "a", 1)
    only_positives.add("q2", "b", 0)
    assert only_positives.sample_questions(4)[2] == [1, 1, 0, 0]               # none mixed: balanced batches

    task = get_task("arith", n_train=5)
    examples = {ex.id: ex for ex in task.load("train")}
    judge = StandInJudge()
    judge.objective = "eq2"
    training = OnlineJudgeSchedule(judge, args(judge_batch_size=2), task, examples)
    q1, q2 = list(examples)[:2]
    training.observe([q1, q1, q2], ["first", "first", "second"], ["3 + 4 = 7", "noise", "1 + 1 = 2"], [1, 0, 1])
    training.update(None, None, iteration=0)
    assert all(sorted(rationales) == ["3 + 4 = 7", "noise"] for rationales, _, _ in judge.seen)

    from qcrdkit.training.run import online_judge_objective

    (tmp_path / "judge").mkdir()
    (tmp_path / "judge" / "metrics.json").write_text('{"objective": "eq2"}')
    assert online_judge_objective(tmp_path, SimpleNamespace(judge_objective=None)) == "eq2"    # stage 02's
    assert online_judge_objective(tmp_path, SimpleNamespace(judge_objective="bce")) == "bce"   # set: kept
    assert online_judge_objective(tmp_path / "none", SimpleNamespace(judge_objective=None)) == "bce"


def test_updates_come_at_each_iteration_with_several_steps_and_alpha3_decay_once():
    task = get_task("arith", n_train=5)
    examples = {ex.id: ex for ex in task.load("train")}
    judge = StandInJudge()
    training = OnlineJudgeSchedule(judge, args(), task, examples)
    assert [s for s in range(1, 16) if training.due(s)] == [5, 10, 15]            # when the ring advances
    assert [s for s in range(1, 7) if OnlineJudgeSchedule(judge, args(judge_update_every=2), task, examples).due(s)] == [2, 4, 6]
    assert not any(OnlineJudgeSchedule(judge, args(judge_update_every=0), task, examples).due(s) for s in range(1, 9))
    q = next(iter(examples))
    training.observe([q], ["question"], ["3 + 4 = 7"], [1])
    assert training.update(None, None, iteration=0) is None                     # one label only: no update yet
    training.observe([q, q], ["question"] * 2, ["noise", "3 + 5 = 8"], [0, 0])
    logs = training.update(None, None, iteration=2)
    assert judge.updates == 3 and {len(r) for r, _, _ in judge.seen} == {4}
    assert all(labels == [1, 1, 0, 0] for _, labels, _ in judge.seen)
    assert judge.seen[0][2] == pytest.approx(1e-4 * 0.5 * 0.81)          # α3 × 0.9^iteration scales the judge's step
    assert logs["judge_delta"] == pytest.approx(0.03) and logs["loss_judge"] == pytest.approx(0.3)
    assert logs["judge_probe_pos"] > logs["judge_probe_neg"] - 0.2


def test_the_online_judge_never_learns_from_the_questions_stage_02_held_out():
    task = get_task("arith", n_train=5)
    examples = {ex.id: ex for ex in task.load("train")}
    held, kept = list(examples)[:2]
    training = OnlineJudgeSchedule(StandInJudge(), args(), task, examples, heldout=frozenset({held}))
    training.observe([held, kept, held, kept], ["q"] * 4, ["3 + 4 = 7", "1 + 1 = 2", "noise", "noise 2"], [1, 1, 0, 0])
    assert [r for label in (1, 0) for _, r, _ in training.buffer.items[label]] == ["1 + 1 = 2", "noise 2"]
    assert list(training.recent) == [kept]                  # nor do the student's samples for the buffer


def test_outcome_labels_of_teacher_rationales_are_stage_01s_reading_and_skipped_updates_are_counted(caplog):
    task = get_task("arith", n_train=5)
    examples = {ex.id: ex for ex in task.load("train")}
    q = next(iter(examples))
    # stage 01 read the full completion (its answer statement included) as right; the stripped text reads nothing
    training = OnlineJudgeSchedule(StandInJudge(), args(judge_labels="outcome"), task, examples,
                             teacher_correct={q: {"so it is done": True}})
    training.observe([q], ["question"], ["so it is done"], [1])
    assert [r for _, r, _ in training.buffer.items[1]] == ["so it is done"]
    training.add_student_samples = lambda *a, **k: 0            # no student here: the buffer keeps one label
    assert training.update(None, None, iteration=0) is None and training.skipped == 1
    assert "skipped" in caplog.text and training.state_dict()["skipped"] == 1


def test_outcome_labels_follow_the_answer_a_rationale_reaches():
    task = get_task("arith", n_train=5)
    examples = {ex.id: ex for ex in task.load("train")}
    q, ex = next(iter(examples.items()))
    gold = int(ex.answer)
    training = OnlineJudgeSchedule(StandInJudge(), args(judge_labels="outcome"), task, examples)
    training.observe([q, q], ["x", "x"], [f"{gold} + 0 = {gold}", f"{gold} + 1 = {gold + 1}"], [0, 1])
    # labelled by the answer: the "negative" that reaches the gold answer is a 1, the wrong "positive" a 0
    assert [r for _, r, _ in training.buffer.items[1]] == [f"{gold} + 0 = {gold}"]
    assert [r for _, r, _ in training.buffer.items[0]] == [f"{gold} + 1 = {gold + 1}"]
    with pytest.raises(ConfigError, match="judge_labels='outcome'.*not task 'cqa'"):
        OnlineJudgeSchedule(StandInJudge(), args(judge_labels="outcome"), get_task("cqa"), {})


def test_a_judge_with_an_answer_input_gets_each_rationales_signal():
    task = get_task("arith", n_train=5)
    examples = {ex.id: ex for ex in task.load("train")}
    q = next(iter(examples))
    judge = StandInJudge(answer_input="answered")
    training = OnlineJudgeSchedule(judge, args(), task, examples)
    assert training.signals([q, q], ["3 + 4 = 7", "3 + 4 = 9 apples the"]) == [1.0, 0.0]   # a wrong sum reads nothing
    training.observe([q, q], ["question"] * 2, ["3 + 4 = 7", "noise words"], [1, 0])
    assert [a for *_, a in training.buffer.items[1]] == [1.0] and [a for *_, a in training.buffer.items[0]] == [0.0]
    training.update(None, None, iteration=0)
    assert judge.signals[0] == [1.0, 0.0]                                       # the probe, scored with its signals
    assert all(a is not None for a in judge.signals)
    assert OnlineJudgeSchedule(StandInJudge(), args(), task, examples).signals([q], ["3 + 4 = 7"]) is None
    # agreement: the share of the peers (the question's other rationales of the kind) reaching the same answer
    agreeing = OnlineJudgeSchedule(StandInJudge(answer_input="agreement"), args(), task, examples)
    texts = ["3 + 4 = 7", "5 + 2 = 7", "3 + 3 = 6", "noise"]
    peers = [[t for t in texts if t is not own] for own in texts]
    assert agreeing.signals([q] * 4, texts, peers) == pytest.approx([1 / 3, 1 / 3, 0.0, 0.0])
    assert agreeing.signals([q], ["3 + 4 = 7"]) == [1.0]                          # no peers: the answered bit


def test_each_rationales_answer_is_read_once_however_often_it_is_a_peer():
    task = get_task("arith", n_train=5)
    examples = {ex.id: ex for ex in task.load("train")}
    q = next(iter(examples))
    reads = []
    real = task.rationale_answer
    task.rationale_answer = lambda text, example=None: reads.append(text) or real(text, example)
    training = OnlineJudgeSchedule(StandInJudge(answer_input="agreement"), args(), task, examples)
    texts = ["3 + 4 = 7", "5 + 2 = 7", "3 + 3 = 6"]
    peers = [[t for t in texts if t is not own] for own in texts]
    first = training.signals([q] * 3, texts, peers)
    assert sorted(reads) == sorted(texts)                    # three texts, each read once (not once per peer)
    assert training.signals([q] * 3, texts, peers) == first and len(reads) == 3     # and not again next time


def test_a_rationales_peers_are_the_other_samples_of_its_source_whatever_its_label():
    from qcrdkit.training.qcrd_candidates import Candidates

    teacher = ["a = 5", "b = 5", "c = 6"]            # all the question's teacher samples: two positives, one negative
    c = Candidates(["q"], [["a = 5", "b = 5"]], [[None, None]], [["s1", "s2"]], [[None, None]], [teacher])
    assert c.peers(0, "pos", 0) == ["b = 5", "c = 6"]             # positives and negatives alike, as in stage 02
    assert c.peers(0, "neg", 1) == ["s1"]                          # a self-negative: the generator's other samples
    from_teacher = Candidates(["q"], [["a = 5"]], [[None]], [["c = 6"]], [[None]], [teacher], True)
    assert from_teacher.peers(0, "neg", 0) == ["a = 5", "b = 5"]   # teacher negatives: the teacher's other samples
