"""Negative augmentation (appendix A.3): balancing, reproducibility, and each operation."""
import random
import re

import pytest

from qcrdkit.judge.augment import (ALL_OPS, AUGMENTED, augment_negatives, augmentation_summary, corpus_vocabulary, mask_words,
                             perturb_number, replace_words, swap_operator)


def item(qid, j, label, text):
    return {"key": f"{qid}#{j}", "id": qid, "split": "train", "question": f"question {qid}", "rationale": text,
            "label": label, "source": "teacher positive" if label else "teacher negative"}


ITEMS = [
    item("a", 0, 1, "Tom has 5 apples. He gets 3 more, so 5 + 3 = 8."),
    item("a", 1, 1, "Tom starts with 5 apples and adds 3: 5 + 3 = 8 apples."),
    item("a", 2, 1, "Adding 3 gives 5 + 3 = 8 apples."),
    item("a", 3, 0, "Tom has 5 apples. 5 - 3 = 2."),
    item("b", 0, 1, "There are 12 cookies shared by 4 kids, so 12 / 4 = 3."),
    item("c", 0, 0, "I am not sure."),                      # only a negative: nothing to balance
    item("d", 0, 1, "Half of 10 is 10 / 2 = 5."),
    item("d", 1, 0, "Half of 10 is 10 * 2 = 20."),            # balanced already
]


def test_balances_each_question_from_its_positives():
    aug = augment_negatives(ITEMS, seed=0, arithmetic=True)
    per_q = {q: sum(a["id"] == q for a in aug) for q in "abcd"}
    assert per_q == {"a": 2, "b": 1, "c": 0, "d": 0}          # max(0, positives - negatives)
    by_key = {it["key"]: it for it in ITEMS}
    for a in aug:
        src = by_key[a["key"].split("+")[0]]
        assert a["label"] == 0 and a["source"] == AUGMENTED and a["augment"] in ALL_OPS
        assert src["label"] == 1 and a["rationale"] != src["rationale"] and a["question"] == src["question"]
    assert augmentation_summary(ITEMS, aug) == {
        "augmented": 3, "negatives_total": 6, "fraction_of_negatives": 0.5,
        "by_operation": dict(__import__("collections").Counter(a["augment"] for a in aug))}


def test_reproducible_by_seed_and_independent_of_order():
    a1 = augment_negatives(ITEMS, seed=7, arithmetic=True)
    a2 = augment_negatives(list(reversed(ITEMS)), seed=7, arithmetic=True,
                           vocabulary=corpus_vocabulary([it["rationale"] for it in ITEMS]))
    assert sorted((a["key"], a["rationale"]) for a in a1) == sorted((a["key"], a["rationale"]) for a in a2)
    texts = {seed: sorted(a["rationale"] for a in augment_negatives(ITEMS * 1, seed=seed, arithmetic=True))
             for seed in range(6)}
    assert len({tuple(t) for t in texts.values()}) > 1         # the seed matters


def test_arithmetic_operations_only_for_arithmetic_tasks():
    many = [item(f"q{i}", 0, 1, f"Sam has {i + 2} cards. He gets 3, so {i + 2} + 3 = {i + 5}.") for i in range(60)]
    text_only = augment_negatives(many, seed=0, arithmetic=False, ops=ALL_OPS)
    assert {a["augment"] for a in text_only} == {"mask", "replace", "repeat", "drop"}
    arith = augment_negatives(many, seed=0, arithmetic=True, ops=ALL_OPS)
    assert {"number", "operator", "result"} <= {a["augment"] for a in arith}
    default = augment_negatives(many, seed=0, arithmetic=True)
    assert {a["augment"] for a in default} == {"mask", "replace", "number", "operator"}
    only_numbers = augment_negatives(many, seed=0, arithmetic=True, ops=["number"])
    assert {a["augment"] for a in only_numbers} == {"number"}
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment_negatives(many, ops=["shuffle"])


def test_perturb_number_changes_exactly_one_number():
    text = "Sam has 12 cards, gets 3, so 12 + 3 = 15."
    for seed in range(20):
        new = perturb_number(text, random.Random(seed))
        old_nums, new_nums = re.findall(r"\d+", text), re.findall(r"\d+", new)
        assert len(old_nums) == len(new_nums)
        assert sum(a != b for a, b in zip(old_nums, new_nums)) == 1
        assert all(int(n) >= 0 for n in new_nums)
    assert perturb_number("no numbers here", random.Random(0)) == "no numbers here"
    assert re.fullmatch(r"x = \d+\.\d", perturb_number("x = 2.5", random.Random(1)))


def test_swap_operator_between_numbers_only():
    text = "well-known: 7 * 6 = 42 and 3-1 = 2"
    seen = set()
    for seed in range(30):
        new = swap_operator(text, random.Random(seed))
        assert new.startswith("well-known: ")                  # a hyphen between words is not an operator
        assert new != text
        seen.add(new)
    assert any("7 + 6" in s or "7 - 6" in s or "7 / 6" in s for s in seen)
    assert any(re.search(r"3[+*/]1", s) for s in seen)
    assert swap_operator("x equals y", random.Random(0)) == "x equals y"


def test_mask_and_replace_touch_the_stated_fraction_of_words():
    text = "one two three four five six seven eight nine ten"
    masked = mask_words(text, random.Random(0), rate=0.3, mask_token="[MASK]")
    assert masked.split().count("[MASK]") == 3 and len(masked.split()) == 10
    replaced = replace_words(text, random.Random(0), ["alpha", "beta"], rate=0.2)
    assert sum(w in ("alpha", "beta") for w in replaced.split()) == 2
    assert mask_words("", random.Random(0)) == ""


def test_structural_and_result_operations():
    from qcrdkit.judge.augment import change_result, drop_sentence, repeat_sentence

    text = "He pays 2.5 dollars. So 3 * 2.5 = 7.5. Then 7.5 + 1 = 8.5."
    for seed in range(10):
        rng = random.Random(seed)
        repeated = repeat_sentence(text, rng)
        parts = re.split(r"(?<=\.) ", repeated)
        assert len(parts) == 4 and any(a == b for a, b in zip(parts, parts[1:]))     # one sentence twice in a row
        dropped = drop_sentence(text, rng)
        assert dropped.startswith("He pays 2.5 dollars.") and len(re.split(r"(?<=\.) ", dropped)) == 2   # 2.5 kept
        changed = change_result(text, rng)
        results = re.findall(r"= (\S+?)\.?(?: |$)", changed)
        assert sum(a != b for a, b in zip(results, ["7.5", "8.5"])) == 1 and changed.count("2.5") == 2
    assert drop_sentence("One sentence only.", random.Random(0)) == "One sentence only."
    assert change_result("no calculation", random.Random(0)) == "no calculation"
