import pytest

from qcrdkit.teacher.consistency import apply_split, consistency_stats, majority_vote, self_consistency_split
from qcrdkit.core.errors import ConfigError
from qcrdkit.tasks import get_task


def test_majority_vote_and_deterministic_tie_break():
    assert majority_vote([3, 5, 3, None, 5, 3]) == 3
    assert majority_vote([5, 3, 3, 5]) == 5            # tie: the answer voted first wins
    assert majority_vote([None, 7, 8]) == 7
    assert majority_vote([None, None]) is None


def test_split_modes():
    keys, correct = [4, 4, 9, None, 4], [False, False, True, False, False]
    assert self_consistency_split(keys, "majority") == [True, True, False, False, True]
    assert self_consistency_split(keys, "ground_truth", correct) == [False, False, True, False, False]
    assert self_consistency_split([None, None], "majority") == [False, False]
    with pytest.raises(ConfigError):
        self_consistency_split(keys, "vote")


def _rec(qid, i, answer, gold):
    return {"id": qid, "sample_index": i, "answer": answer, "correct": answer is not None and answer == gold}


def test_stats_by_hand():
    task = get_task("svamp")
    records = ([_rec("a", i, x, 5.0) for i, x in enumerate([5.0, 5.0, 4.0])]          # majority right
               + [_rec("b", i, x, 2.0) for i, x in enumerate([7.0, 7.0, None])]       # majority wrong, one unparseable
               + [_rec("c", i, x, 1.0) for i, x in enumerate([1.0, 1.0, 1.0])])       # all right
    s = consistency_stats(records, task)
    assert s["questions"] == 3 and s["samples"] == 9
    assert s["teacher_accuracy"] == pytest.approx(5 / 9)
    assert s["sc_accuracy"] == pytest.approx(2 / 3)
    assert s["unparseable"] == 1
    assert s["majority"]["mean_positives"] == pytest.approx((2 + 2 + 3) / 3)
    assert s["ground_truth"]["mean_positives"] == pytest.approx((2 + 0 + 3) / 3)
    assert s["ground_truth"]["frac_only_positive"] == pytest.approx(1 / 3)
    assert s["ground_truth"]["frac_only_negative"] == pytest.approx(1 / 3)
    assert s["majority"]["frac_only_negative"] == 0
    apply_split(records, task, "majority")
    assert [r["positive"] for r in records if r["id"] == "b"] == [True, True, False]
    assert all(r["majority_answer"] == 7.0 and r["majority_correct"] is False for r in records if r["id"] == "b")


def test_stats_refuse_empty():
    with pytest.raises(ConfigError):
        consistency_stats([], get_task("svamp"))
