"""task: jsonl — your own questions from JSONL/CSV files or a `datasets` folder, four answer types."""
import csv
import json

import pytest

from conftest import REPO
from qcrdkit.core.errors import ConfigError, DataFormatError
from qcrdkit.tasks import get_task

OWN = REPO / "tests" / "data" / "own_task"


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_number_task_from_jsonl_and_csv_with_carved_valid():
    task = get_task("jsonl", train=str(OWN / "questions_train.jsonl"), test=str(OWN / "questions_test.csv"),
                    id_field="qid", answer_type="number")
    train, valid, test = (task.load(s) for s in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (54, 6, 20)              # 10 % of 60 carved for valid
    assert not {e.id for e in train} & {e.id for e in valid}
    ex = test[0]
    assert ex.id == "te0" and ex.answer == 6.0 and ex.label == "6"
    assert task.is_correct(task.extract_answer("3 * 2 = 6 beads in all", ex), ex)          # fallback: last result
    assert task.extract_answer("So the answer is 6.", ex) == 6.0 and not task.is_correct(5.0, ex)


def test_choice_label_and_text_answers(tmp_path):
    choice = get_task("jsonl", train=write_jsonl(tmp_path / "c.jsonl", [
        {"question": "Where do fish live?", "options": ["sky", "water", "desert"], "answer": "b"},
        {"question": "What is hot?", "options": {"a": "ice", "b": "fire"}, "answer": "fire"}]),
        test=str(tmp_path / "c.jsonl"), valid=str(tmp_path / "c.jsonl"), answer_type="choice", options_field="options")
    fish, fire = choice.load("test")
    assert fish.answer == "water" and "Answer Choices:\n(a) sky\n(b) water\n(c) desert" in fish.input
    assert choice.extract_answer("Fish swim. So the answer is (b).", fish) == "water"
    assert choice.extract_answer("The answer is water.", fish) == "water" and fire.answer == "fire"
    assert choice.extract_answer("The answer is (d).", fish) is None

    rows = [{"premise": "p", "answer": "entailment"}, {"premise": "q", "answer": "contradiction"}]
    label = get_task("jsonl", train=write_jsonl(tmp_path / "l.jsonl", rows), test=str(tmp_path / "l.jsonl"),
                     valid=str(tmp_path / "l.jsonl"), question_field="premise", answer_type="label")
    ex = label.load("test")[1]
    assert label.extract_answer("So the answer is Contradiction, clearly.", ex) == "contradiction"
    assert label.is_correct("contradiction", ex) and label.extract_answer("The answer is maybe.", ex) is None

    text = get_task("jsonl", train=write_jsonl(tmp_path / "t.jsonl", [{"question": "Capital of France?", "answer": "Paris"}] * 2),
                    test=str(tmp_path / "t.jsonl"), valid=str(tmp_path / "t.jsonl"), answer_type="text", id_field=None)
    ex = text.load("test")[0]
    assert text.is_correct(text.extract_answer("It is in France. The answer is the  paris.", ex), ex)
    assert not text.is_correct("Lyon", ex)


def test_bad_records_name_file_line_and_field(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"question": "ok?", "answer": 1}, {"question": "no answer?"}])
    task = get_task("jsonl", train=path, test=path, valid=path, answer_type="number")
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:2: missing field 'answer'"):
        task.load("test")
    path = write_jsonl(tmp_path / "typed.jsonl", [{"question": ["a list"], "answer": 1}])
    with pytest.raises(DataFormatError, match=r"typed\.jsonl:1: field 'question' should be str, got list"):
        get_task("jsonl", train=path, test=path, valid=path).load("test")
    path = write_jsonl(tmp_path / "nan.jsonl", [{"question": "q", "answer": "many"}])
    with pytest.raises(DataFormatError, match=r"nan\.jsonl:1: field 'answer' should be a number, got 'many'"):
        get_task("jsonl", train=path, test=path, valid=path, answer_type="number").load("test")
    with (tmp_path / "bad.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerows([["question", "answer"], ["a?", "1"], ["multi\nline?", ""]])
    with pytest.raises(DataFormatError, match=r"bad\.csv:3: missing field 'answer'"):      # the line the row starts on
        get_task("jsonl", train=str(tmp_path / "bad.csv"), test=str(tmp_path / "bad.csv"), valid=path).load("test")
    with pytest.raises(ConfigError, match="answer_type must be one of"):
        get_task("jsonl", train=path, test=path, answer_type="float")
    with pytest.raises(ConfigError, match="needs task_options.train and task_options.test"):
        get_task("jsonl", train=path)
    with pytest.raises(ConfigError, match="options_field is required"):
        get_task("jsonl", train=path, test=path, answer_type="choice")


def test_local_folder_through_datasets(tmp_path):
    folder = tmp_path / "mydata"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", [{"q": f"What is {i} + 1?", "a": i + 1} for i in range(20)])
    write_jsonl(folder / "test.jsonl", [{"q": "What is 9 + 9?", "a": 18}])
    task = get_task("jsonl", dataset=str(folder), question_field="q", answer_field="a", answer_type="number")
    assert [e.answer for e in task.load("test")] == [18.0]
    assert len(task.load("train")) == 18 and len(task.load("valid")) == 2
    with pytest.raises(ConfigError, match="could not be loaded through datasets"):
        get_task("jsonl", dataset=str(tmp_path / "nothere"), answer_type="number").load("test")


def test_register_task_rejects_a_duplicate_name():
    from qcrdkit.tasks import register_task

    with pytest.raises(ConfigError, match="task 'jsonl' is already registered"):
        @register_task("jsonl")
        class Another:        # noqa: F841
            pass
