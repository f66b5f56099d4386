"""LLM judge (§5.4): the paper's prompt, reading verdicts, both orders, the synthetic arith judge."""
import pytest

from qcrdkit.core.errors import ConfigError
from qcrdkit.analysis.llm_judge import (JUDGE_INSTRUCTION, VERDICTS, combine_orders, count_outcomes, judge_client, judge_pairs,
                               judge_prompt, pairwise_items, parse_verdict, read_judge_prompt)
from qcrdkit.tasks import get_task
from qcrdkit.teacher.synthetic import explanation_is_sound, judge_arith_reply


def test_prompt_is_the_papers_and_reads_back():
    prompt = judge_prompt("svamp", "Tom has 5 apples...", "8", "5 + 3 = 8.", "5 - 3 = 2.")
    assert prompt.startswith("There is an input pair of a question and an answer of a math word problem task, "
                             "and we provide you two explanations. You need judge which explanation is better.")
    assert JUDGE_INSTRUCTION.format(taskname="math word problem") in prompt
    assert read_judge_prompt(prompt) == {"question": "Tom has 5 apples...", "answer": "8", "first": "5 + 3 = 8.",
                                         "second": "5 - 3 = 2."}
    assert read_judge_prompt("Q: Tom has 5 apples.\nA:") is None


@pytest.mark.parametrize("reply, verdict", [
    ("Explanation 1 is better.", "first"), ("Explanation 2 is better", "second"),
    ("Explanation 2 is better than Explanation 1 because it adds correctly.", "second"),
    ("The better explanation is Explanation 1.", "first"), ("The first explanation is better.", "first"),
    ("2", "second"), ("(1)", "first"), ("Both are good.", "both_good"), ("Both explanations are correct", "both_good"),
    ("Both are bad.", "both_bad"), ("Neither explanation is right.", "both_bad"),
    ("Both are good, but explanation 2 is better", "second"),
    ("Explanation 1 is better. No, explanation 2 is better.", None), ("I cannot tell.", None), ("", None),
])
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) == verdict and (verdict is None or verdict in VERDICTS)


def test_both_orders_cancel_position_bias():
    assert combine_orders("first", "second") == "a_better"       # A first wins, and A second wins
    assert combine_orders("second", "first") == "b_better"
    assert combine_orders("first", "first") == "undecided"       # always the first position: bias, no verdict
    assert combine_orders("both_good", "both_good") == "both_good"
    assert combine_orders("both_bad", "both_bad") == "both_bad"
    assert combine_orders("both_good", "second") == "undecided"
    assert combine_orders(None, "second") == "undecided"
    assert count_outcomes(["a_better", "a_better", "undecided"]) == {"a_better": 2, "both_good": 0, "b_better": 0,
                                                                     "both_bad": 0, "undecided": 1}
    with pytest.raises(ValueError, match="unknown outcome"):
        count_outcomes(["draw"])


def test_synthetic_judge_checks_arithmetic():
    assert explanation_is_sound("Tom has 5. He gets 3 more, so 5 + 3 = 8. Then 8 * 2 = 16.", 16)
    assert not explanation_is_sound("5 + 3 = 9. Then 9 * 2 = 18.", 18)          # a wrong step
    assert not explanation_is_sound("5 + 3 = 8.", 16)                            # stops before the answer
    assert not explanation_is_sound("Tom has many apples.", 5)                   # no calculation
    good, bad = "So 5 + 3 = 8.", "So 5 - 3 = 2."
    assert judge_arith_reply(judge_prompt("arith", "q", "8", good, bad)) == "Explanation 1 is better."
    assert judge_arith_reply(judge_prompt("arith", "q", "8", bad, good)) == "Explanation 2 is better."
    assert judge_arith_reply(judge_prompt("arith", "q", "8", good, good)) == "Both are good."
    assert judge_arith_reply(judge_prompt("arith", "q", "8", bad, bad)) == "Both are bad."
    assert judge_arith_reply("Q: Tom has 5 apples. How many?\nA:") is None


def test_judge_pairs_through_the_openai_client_on_the_synthetic_endpoint(tmp_path):
    task = get_task("arith", n_train=2, n_valid=1, n_test=6, seed=3)
    examples = task.load("test")
    right = {ex.id: f"So {ex.answer:g} + 0 = {ex.answer:g}." for ex in examples}
    wrong = {ex.id: f"So {ex.answer:g} + 1 = {ex.answer:g}." for ex in examples}
    mixed = {ex.id: (right if i % 2 else wrong)[ex.id] for i, ex in enumerate(examples)}
    items = pairwise_items(task, examples, right, mixed)
    assert items[0]["answer"] == task.answer_to_text(examples[0].answer)
    with judge_client("synthetic", "arith", model="synthetic-arith", cache_dir=tmp_path / "cache",
                      progress=False) as client:
        rows = judge_pairs(client, "arith", items)
        assert client.last_stats.requests == 12                     # 6 questions x 2 orders
        again = judge_pairs(client, "arith", items)                  # cached: no new requests
        assert client.last_stats.requests == 0 and again == rows
    assert [r["outcome"] for r in rows] == ["a_better", "both_good"] * 3
    assert rows[0]["reply_a_first"] == "Explanation 1 is better." and rows[0]["reply_b_first"] == "Explanation 2 is better."


def test_judge_client_errors():
    with pytest.raises(ConfigError, match="synthetic judge checks arithmetic of 'arith' rationales only"):
        with judge_client("synthetic", "cqa", model="m"):
            pass
    with pytest.raises(ConfigError, match="needs an API key: set the environment variable QCRD_NO_SUCH_KEY"):
        with judge_client("openai", "cqa", model="gpt-3.5-turbo", base_url="https://example.invalid/v1",
                          api_key_env="QCRD_NO_SUCH_KEY"):
            pass
    with judge_client("synthetic", "arith", model="m", progress=False) as client:
        with pytest.raises(ConfigError, match="no items"):
            judge_pairs(client, "arith", [])
