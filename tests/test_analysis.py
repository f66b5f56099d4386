"""Analysis functions: accuracy over seeds and the paired bootstrap difference."""
import pytest

from qcrdkit.analysis import accuracy_by_method, paired_difference
from qcrdkit.errors import ConfigError


def test_accuracy_by_method_over_seeds():
    rows = [{"task": "arith", "method": "dss", "test_accuracy": a} for a in (0.1, 0.2, 0.3)] + \
           [{"task": "arith", "method": "qcrd", "test_accuracy": 0.5}]
    table = accuracy_by_method(rows)
    assert table[("arith", "dss")] == pytest.approx({"mean": 0.2, "std": 0.1, "n": 3})
    assert table[("arith", "qcrd")] == {"mean": 0.5, "std": 0.0, "n": 1}


def rows(flags, prefix="q"):
    return [{"id": f"{prefix}{i}", "correct": c} for i, c in enumerate(flags)]


def test_paired_difference_by_hand_and_interval():
    a = rows([True] * 60 + [False] * 40)
    b = rows([True] * 40 + [False] * 60)
    res = paired_difference(a, b)
    assert res["difference"] == pytest.approx(0.2) and res["n"] == 100
    assert res["low"] < 0.2 < res["high"]            # per-question diffs: 20 ones, 80 zeros
    assert 0.1 < res["low"] and res["high"] < 0.3    # binomial sd of the mean ≈ 0.04
    same = paired_difference(a, a)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0, "confidence": 0.95, "n": 100}
    assert paired_difference(a, b[:10])["n"] == 10   # only shared questions count
    with pytest.raises(ConfigError, match="at least 2 shared questions"):
        paired_difference(a, rows([True], prefix="x"))
