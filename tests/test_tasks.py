import json
from pathlib import Path

import pytest

from qcrdkit.core.errors import ConfigError, DataFormatError
from qcrdkit.tasks import get_task, split_answer, task_names
from qcrdkit.tasks.numeric import parse_number, safe_eval


# ----------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("expr, value", [("( 84.0 / 2.0 )", 42.0), ("( 10.0 - ( 6.0 + 3.0 ) )", 1.0),
                                         ("-3 + 5", 2.0), ("2*3/4", 1.5)])
def test_safe_eval_arithmetic(expr, value):
    assert safe_eval(expr) == pytest.approx(value)


@pytest.mark.parametrize("expr", ["__import__('os')", "2 ** 100000", "x + 1", "1 / 0", "(1,2)", "open('f')"])
def test_safe_eval_rejects_anything_else(expr):
    with pytest.raises(ValueError):
        safe_eval(expr)


@pytest.mark.parametrize("text, value", [
    ("(84 / 2).", 42.0), ("42 apples.", 42.0), ("$1,200 in total.", 1200.0), ("7 x 36", 252.0),
    ("-3", -3.0), ("12.5.", 12.5), ("5 - 3 = 2", 2.0), ("twelve", None), ("", None)])
def test_parse_number(text, value):
    assert parse_number(text) == (pytest.approx(value) if value is not None else None)


@pytest.mark.parametrize("text, rationale, answer", [
    ("3 + 4 = 7. The answer is 7.", "3 + 4 = 7.", "7."),
    ("Reasoning. So the answer is (c) tv.", "Reasoning.", "(c) tv."),
    ("Because. Answer: neutral", "Because.", "neutral"),
    ("No conclusion here.", "No conclusion here.", None)])
def test_split_answer(text, rationale, answer):
    assert split_answer(text) == (rationale, answer)


#: answers after "The answer is" in the DSS PaLM completions (svamp/llm/*_CoT_*.json) that a reader
#: cannot evaluate: a variable, a pair, two expressions, words inside the expression, cut off
MALFORMED_DSS_SVAMP = ["(2 * x).", "(175, 5).", "(some - 8).", "((28 - 13) and (28 - 15)).", "(7x = 14).",
                       "((491 - 21", "(54 - (some - 28)).", "((8 action figures + 10 cabinets) * 4 shelves).",
                       "(14, 21).", "(7 + x - 10)."]


@pytest.mark.parametrize("text", MALFORMED_DSS_SVAMP)
def test_a_malformed_expression_from_the_dss_files_is_unparseable(text):
    assert parse_number(text) is None
    assert get_task("svamp").parse_label(text) is None          # the student's label parser agrees


@pytest.mark.parametrize("text, value", [("8 (10 - 2).", 8.0), ("42 (apples).", 42.0), ("1.5 (or 3/2)", 1.5)])
def test_a_number_followed_by_an_aside_is_that_number(text, value):
    assert parse_number(text) == value


# ----------------------------------------------------------------------------- extraction per task
def test_svamp_extraction_and_scoring():
    task = get_task("svamp")
    ex = task.example_from_record({"input": "q", "label": "( 84.0 / 2.0 )"}, "x")
    assert ex.answer == 42.0
    assert task.is_correct(task.extract_answer("84 / 2 = 42. The answer is (84 / 2).\n\nQ: next"), ex)
    assert task.is_correct(task.extract_answer("So the answer is 42 points."), ex)
    assert task.extract_answer("Answer: $1,234.") == 1234.0
    assert not task.is_correct(task.extract_answer("The answer is 41."), ex)
    assert task.extract_answer("I do not know.") is None
    assert task.answer_key(42.00000001) == task.answer_key(42.0)


def test_cqa_extraction_with_letters_and_text():
    task = get_task("cqa")
    ex = task.example_from_record({"id": "q1", "question": "Where?", "choices": ["a b", "train station", "zoo", "park", "sea"],
                                   "answer": "train station"}, "x")
    assert ex.input.splitlines()[1:3] == ["Answer Choices:", "(a) a b"]
    assert task.extract_answer("Reason. So the answer is (b) train station.", ex) == "train station"
    assert task.extract_answer("So the answer is (b).", ex) == "train station"
    assert task.extract_answer("Answer: b", ex) == "train station"
    assert task.extract_answer("The answer is Train Station.", ex) == "train station"
    assert task.extract_answer("So the answer is either (b) train station or (c) zoo.", ex) is None
    assert task.is_correct("Train station", ex)


def cqa_example(choices, answer):
    return get_task("cqa").example_from_record({"id": "q", "question": "?", "choices": choices, "answer": answer}, "x")


@pytest.mark.parametrize("answer_text, choices, gold", [
    # real answers and options of the DSS CQA completions (cqa/llm/*_CoT_*.json), each naming two or more options
    ("(d) soccer game or (e) hockey game.", ["sporting event", "head ball", "stadium", "soccer game", "hockey game"],
     "soccer game"),
    ("either (c) giggling or (d) laughing.", ["itchiness", "nausea", "giggling", "laughing", "yelling"], "giggling"),
    ("(a) poisonous gas, (b) homicide, (d) nuclear weapons, or (e) cyanide.",
     ["poisonous gas", "homicide", "cinder", "nuclear weapons", "cyanide"], "homicide"),
    ("(a) listen to music and (b) watch television.",
     ["listen to music", "watch television", "play chess", "walk", "play basketball"], "listen to music"),
    ("either (d) doctor's office or (e) vet's office.", ["hospital", "school", "obituary", "doctor's office", "vets office"],
     "doctor's office"),
])
def test_a_cqa_hedge_naming_two_options_is_unparseable(answer_text, choices, gold):
    task = get_task("cqa")
    assert task.parse_answer_text(answer_text, cqa_example(choices, gold)) is None
    assert task.parse_answer_text(answer_text, None) is None


def test_a_cqa_letter_whose_text_names_another_option_is_unparseable():
    """From the DSS test completions: "(e) wait for orders." where (e) is "follow instructions" and
    "wait for orders" is option (d) (credited as (e) before)."""
    task = get_task("cqa")
    choices = ["fight enemy", "go to war", "fight for freedom", "wait for orders", "follow instructions"]
    ex = cqa_example(choices, "wait for orders")
    assert task.parse_answer_text("(e) wait for orders.", ex) is None
    assert task.parse_answer_text("(e) follow instructions.", ex) == "follow instructions"
    assert task.parse_answer_text("(e) surely the instructions.", ex) == "follow instructions"   # names no option
    assert task.parse_answer_text("(d).", ex) == "wait for orders"


def test_dss_teacher_accuracy_under_the_exact_rules(dss_dir):
    """Measured on the DSS files: CQA train 8766 completions, 6617 credited, 258 unread; SVAMP train 720,
    532 credited, 19 unread (24 before the closing-statement reader: five completions without a readable
    answer statement now read what their last sentence states, none of them right; one ending "26 * x = 37.
    x = 37 / 26. x = 1.42…" reads as the value it states for x, 1.42…, which is wrong)."""
    from qcrdkit.teacher.importers import import_dss_llm

    for name, credited, unparseable in (("cqa", 6617, 258), ("svamp", 532, 19)):
        task = get_task(name)
        records = import_dss_llm(task, dss_dir, "train", task.load("train", data_dir=dss_dir))
        assert (sum(r["correct"] for r in records), sum(r["answer"] is None for r in records)) == (credited, unparseable)


@pytest.mark.parametrize("name", ["anli1", "esnli"])
def test_nli_extraction(name):
    task = get_task(name)
    ex = task.example_from_record({"premise": "p", "hypothesis": "h", "label": 2}, "x")
    assert ex.answer == "contradiction" and ex.input == "Premise: p\nHypothesis: h"
    assert task.extract_answer("It conflicts. So the answer is contradiction.\n\nPremise: more", ex) == "contradiction"
    assert task.extract_answer("Because.\nAnswer: Entailment\n\nPremise: x") == "entailment"
    assert task.extract_answer("The answer is: neutral.") == "neutral"
    assert task.extract_answer("Hard to say.") is None


# ----------------------------------------------------------------------------- bad input
def test_unknown_task_lists_known_ones():
    with pytest.raises(ConfigError) as err:
        get_task("gsm8k")
    for name in ("svamp", "cqa", "anli1", "esnli", "arith"):
        assert name in str(err.value)
    assert set(task_names()) >= {"svamp", "cqa", "anli1", "esnli", "arith"}


def test_malformed_line_names_file_and_line(tmp_path):
    d = tmp_path / "svamp"
    d.mkdir()
    good = json.dumps({"input": "q", "label": "( 1.0 + 2.0 )"})
    (d / "svamp_test.json").write_text(f"{good}\n{good}\n{{not json\n")
    with pytest.raises(DataFormatError, match=r"svamp_test\.json:3: not valid JSON"):
        get_task("svamp").load("test", data_dir=tmp_path)
    (d / "svamp_test.json").write_text(f"{good}\n" + json.dumps({"input": "q"}) + "\n")
    with pytest.raises(DataFormatError, match=r"svamp_test\.json:2: missing field"):
        get_task("svamp").load("test", data_dir=tmp_path)
    (d / "svamp_test.json").write_text(json.dumps({"input": "q", "label": "( import os )"}) + "\n")
    with pytest.raises(DataFormatError, match=r"svamp_test\.json:1: bad svamp record"):
        get_task("svamp").load("test", data_dir=tmp_path)


def test_hub_loading_fails_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="HF_HUB_OFFLINE=1"):
        get_task("anli1").load("test")


def test_hub_rows_go_through_the_same_record_parser():
    from datasets import Dataset
    from qcrdkit.tasks.hub import examples_from_rows

    rows = Dataset.from_list([{"Body": "Tom has 3 apples.", "Question": "How many?", "Equation": "( 3.0 + 0.0 )",
                               "ID": "chal-1"}])
    [ex] = examples_from_rows(get_task("svamp"), rows, "test")
    assert ex.input == "Tom has 3 apples.\nHow many?" and ex.answer == 3.0 and ex.id == "chal-1"


# ----------------------------------------------------------------------------- the real DSS files
def test_dss_splits_load_with_valid_carved_from_train(dss_dir):
    svamp = get_task("svamp")
    train, valid, test = (svamp.load(s, data_dir=dss_dir) for s in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (720, 80, 200)        # the paper's Table 1
    assert not {e.id for e in train} & {e.id for e in valid}
    assert [e.id for e in svamp.load("valid", data_dir=dss_dir)] == [e.id for e in valid]   # fixed seed
    cqa = get_task("cqa")
    assert (len(cqa.load("train", data_dir=dss_dir)), len(cqa.load("valid", data_dir=dss_dir))) == (8766, 975)
    assert len(get_task("anli1").load("valid", data_dir=dss_dir)) == 1000
    assert len(get_task("esnli").load("test", data_dir=dss_dir)) == 9824
    with pytest.raises(FileNotFoundError, match="no train split"):
        get_task("anli1").load("train", data_dir=dss_dir)


def test_numeric_answers_written_the_way_gpt_class_models_write_them():
    """A fixture of rationales in the forms hosted chat models use (currency, thousands separators,
    "3 = x" endings, "a total of N <noun>", "N in total", markdown answer lines, rounded division),
    each with the reading it must give: wrong arithmetic is read as written; student-style noise is unread."""
    task = get_task("svamp")
    rows = [json.loads(line) for line in (Path(__file__).parent / "data" / "gpt_style_numeric.jsonl").open()]
    assert len(rows) >= 20
    for row in rows:
        answer = task.parse_completion(row["text"])[1]
        assert answer == row["read"], (row["text"], answer, row.get("why"))
