"""The answer reader (qcrdkit.tasks.reading): the kit's own free-form test set, the issue's forms, choices and
labels said freely, and text no reader should crash or credit on."""
import json
from pathlib import Path

import pytest

from qcrdkit.tasks import get_task
from qcrdkit.tasks.reading import Reading, main_clause, split_answer
from qcrdkit.tasks.reading_check import score_rows
from qcrdkit.teacher.collect import reading_counts
from qcrdkit.teacher.records import make_record

TEST_SET = Path(__file__).parent / "data" / "free_form" / "rationales.jsonl"


def test_the_free_form_test_set_is_read_as_a_careful_reader_reads_it():
    rows = [json.loads(line) for line in TEST_SET.open()]
    assert len(rows) >= 300 and {r["type"] for r in rows} == {"number", "choice", "label"}
    result = score_rows(rows)
    total = result["styles"]["all"]
    misses = [(r["style"], r["text"][-80:], r["read_as"], r["expected"]) for r in result["rows"]
              if (r["read_as"] is None) != (r["expected"] is None)
              or (r["read_as"] is not None and str(r["read_as"]).lower() != str(r["expected"]).lower()
                  and not (isinstance(r["expected"], (int, float)) and abs(float(r["read_as"]) - r["expected"]) < 1e-4))]
    assert total["as_expected"] >= 0.99 * total["n"], misses
    assert total["false_credit"] <= 1, misses


@pytest.mark.parametrize("text, number, rule", [
    ("12 boxes x 4 pens = 48 pens. So Maria has 48 pens.", 48, "closing"),
    ("She now has 24 books (15 + 9 = 24).", 24, "closing"),
    ("30 – 12 = 18", 18, "calculation"),
    ("a total of 15 + 9 = 24 books", 24, "calculation"),
    ("631 + 1124 = 1755. So the number of boys is 1124.", 1124, "closing"),
    ("8 x 74 = 592 inches of wood. Hence John needs 8 planks.", 8, "closing"),
    ("$$ 10 \\times 6 = 60 $$", 60, "calculation"),
    ("So it is \\boxed{60}.", 60, "marker"),
    ("**Answer: 60**", 60, "marker"),
    ("so x = 3", 3, "closing"), ("Therefore, 3 = x.", 3, "closing"),
    ("So she has twelve.", 12, "closing"),
    ("The answer is \\boxed{\\frac{3}{4}}", 0.75, "marker"),
    ("#### 72", 72, "marker"),
    ("Baker made some cakes. If he has 72 cakes left, then he made 145 + 72 cakes.", 217, "calculation"),
    ("He had 7 - 10 = -3 figures.", -3, "calculation"),
])
def test_the_forms_a_careful_reader_reads(text, number, rule):
    assert get_task("svamp").read_completion(text)[1] == Reading(float(number), rule)


def test_the_closing_clause_sets_asides_and_reasons_apart():
    clause = main_clause("Since 8 x 72 = 576, Frank took 72 days (he reads 8 pages a day), because he is slow")
    assert clause.main == "Frank took 72 days"
    assert get_task("svamp").extract_answer("The 12 bottles last 2 days, because 6 x 2 = 12.") == 2
    assert get_task("svamp").extract_answer("So he needs 6 bags. Check: 6 x 9 = 54.") == 6


@pytest.mark.parametrize("text, answer", [
    ("Salt keeps food fresh. (C)", "salt"), ("Seawater holds minerals.\nC. salt", "salt"),
    ("Sea water tastes of it. The answer is salt.", "salt"), ("It seasons food, so the best option is C.", "salt"),
    ("Of the above choices, only vinegar is sour.", "vinegar"), ("It could be (a) pepper or (c) salt.", None),
    ("We need to think about taste.", None)])
def test_choices_said_freely(text, answer):
    task = get_task("cqa")
    example = task.example_from_record({"id": "q", "question": "?", "answer": "salt",
                                        "choices": ["pepper", "sugar", "salt", "flour", "vinegar"]}, "x")
    assert task.extract_answer(text, example) == answer


@pytest.mark.parametrize("text, label", [
    ("A man cannot sleep and run at once, so the hypothesis is false.", "contradiction"),
    ("Smiling does not necessarily mean she is happy.", "neutral"),
    ("The premise does not say where he goes, so it is not possible to tell.", "neutral"),
    ("Playing a guitar is playing an instrument; the hypothesis follows from the premise.", "entailment"),
    ("The premise describes a man with a hat.", None)])
def test_nli_labels_said_freely(text, label):
    assert get_task("anli1").extract_answer(text) == label


@pytest.mark.parametrize("text", [
    "The answer is 1" + "0" * 400, "The answer is " + "-" * 3000 + "1", "(" * 5000 + "1", "9" * 200_000,
    "So he has " + "1 + " * 30_000 + "1 = 2 apples.", "x = " * 20_000, "", "\x00\ufffd\u202e", "\\boxed{" * 3000,
    ("Tom has 3 apples, so 3 + 4 = 7 apples. " * 3000)])
def test_any_text_gives_a_reading_and_none_raises(text):
    for name in ("svamp", "cqa", "anli1"):
        reading = get_task(name).read_completion(text)[1]
        assert isinstance(reading, Reading)


def test_a_huge_number_is_unread_not_an_overflow():
    assert get_task("svamp").extract_answer("The answer is 1" + "0" * 400) is None
    assert split_answer("So \\boxed{\\frac{1}{2}} it is")[1] == "\\frac{1}{2}"


def test_stage_01_records_how_each_answer_was_read():
    task = get_task("arith", n_train=3)
    examples = task.load("train")
    texts = ["Tom has 3 apples. The answer is 7.", "So he has 3 + 4 = 7 apples.", "He has some apples."]
    records = [make_record(task, ex, split="train", sample_index=i, raw=text, temperature=0.7, model="m", source="s")
               for ex in examples for i, text in enumerate(texts)]
    assert [r["read_by"] for r in records[:3]] == ["marker", "calculation", "unread"]
    counts = reading_counts(records)["train"]
    assert counts == {"samples": 9, "read_rate": round(6 / 9, 4), "by_rule": {"marker": 3, "calculation": 3, "unread": 3}}


def test_the_llm_reader_reads_what_the_rules_leave_unread_cached_and_counted(tmp_path):
    """answer_reader llm against the synthetic endpoint (its reply: the last number written, in digits or words):
    only unread records are sent, a reply is read by the task's own parser, a second pass is served by the cache."""
    from dataclasses import replace

    from qcrdkit.core.stages import TeacherSamplingConfig
    from qcrdkit.teacher.answer_reader import read_unread, reader_client

    task = get_task("arith", n_train=3)
    examples = {ex.id: ex for ex in task.load("train")}
    ex = next(iter(examples.values()))
    gold = int(ex.answer)
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
             "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
    texts = [f"Tom has 3 apples. The answer is {gold}.", f"Tom keeps counting until he gets {words[gold]} and",
             "No idea at all"]
    def fresh():
        return [make_record(task, ex, split="train", sample_index=i, raw=t, temperature=0.7, model="m", source="s")
                for i, t in enumerate(texts)]
    records = fresh()
    assert [r["read_by"] for r in records] == ["marker", "unread", "unread"]
    stage = replace(TeacherSamplingConfig(), answer_reader="llm", cache_dir=str(tmp_path / "cache"), progress=False)
    with reader_client(stage) as client:
        counts = read_unread(task, records, examples, client)
    assert counts == {"sent": 2, "read": 1, "cache_hits": 0}
    assert records[1]["answer"] == gold and records[1]["read_by"] == "llm" and records[1]["correct"]
    assert records[2]["answer"] is None and records[2]["read_by"] == "unread"
    again = fresh()
    with reader_client(stage) as client:
        assert read_unread(task, again, examples, client) == {"sent": 2, "read": 1, "cache_hits": 2}


def test_an_import_needs_the_llm_readers_endpoint_named():
    from dataclasses import replace

    from qcrdkit.core.errors import ConfigError
    from qcrdkit.core.stages import TeacherSamplingConfig
    from qcrdkit.teacher.answer_reader import reader_client

    stage = replace(TeacherSamplingConfig(), teacher="jsonl_import", answer_reader="llm")
    with pytest.raises(ConfigError, match="reader_base_url"):
        with reader_client(stage):
            pass


def test_a_run_made_before_the_reader_settings_is_refused_saying_so():
    """Samples read by an older reader are not reused silently: the rerun names the settings they lack."""
    from qcrdkit.core.provenance import differences

    saved = {"settings": {"k": 5}, "inputs": {}}
    assert differences(saved, {"k": 5, "answer_reader": "rules"}, {}) == [
        'answer_reader: not recorded (made before this setting existed) → "rules"']
