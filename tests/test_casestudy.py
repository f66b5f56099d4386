"""Temperature case study (Fig. 5) and quality-score rows (Fig. 6): pure functions and the widget."""
import pytest

from qcrdkit.analysis import casestudy
from qcrdkit.analysis.casestudy import TemperatureStudy, mean_scores, pick_questions, teacher_score_rows
from qcrdkit.judge import build_judge
from qcrdkit.core.errors import ConfigError
from qcrdkit.students import build_student
from qcrdkit.tasks import get_task
from qcrdkit.analysis.widgets import render_samples_html, temperature_widget

TASK = get_task("arith", n_train=50, n_valid=1, n_test=5, seed=1)
EXAMPLES = TASK.load("test")


@pytest.fixture(scope="module")
def student():
    return build_student("scratch-tiny", corpus=[ex.input for ex in TASK.load("train")], vocab_size=300)


def fake_generate(model, tokenizer, inputs, *, max_new_tokens, temperature, num_return_sequences):
    """Right at low temperature, a wrong step above 1; the temperature is written into the text."""
    out = []
    for text in inputs:
        ex = next(e for e in EXAMPLES if text.endswith(e.input))
        value = ex.answer if (temperature or 0) <= 1 else ex.answer + 1
        out.append([f"At τ {temperature}: so {value:g} + 0 = {value:g}." for _ in range(num_return_sequences)])
    return out


def test_study_reads_answers_marks_correctness_and_caches(monkeypatch):
    calls = []
    monkeypatch.setattr(casestudy, "generate_texts", lambda *a, **kw: calls.append(kw["temperature"]) or fake_generate(*a, **kw))
    study = TemperatureStudy(None, None, TASK, EXAMPLES, samples_per_temperature=2)
    q = EXAMPLES[0]
    greedy = study.samples(q.id, 0)
    assert len(greedy) == 1 and greedy[0]["correct"] and greedy[0]["answer"] == TASK.answer_to_text(q.answer)
    assert calls == [None]                                   # temperature 0 is greedy decoding
    hot = study.samples(q.id, 1.5)
    assert len(hot) == 2 and not any(s["correct"] for s in hot) and hot[0]["score"] is None
    assert study.samples(q.id, 1.5) is hot and calls == [None, 1.5]      # cached
    rows = study.score_rows([1.5, 0.7])                      # only the missing cells are sampled, in one call each
    assert calls == [None, 1.5, 1.5, 0.7]
    assert {r["source"] for r in rows} == {"student τ=1.5", "student τ=0.7"} and len(rows) == 2 * 5 * 2
    with pytest.raises(ConfigError, match="unknown question"):
        study.samples("nope", 0.7)
    with pytest.raises(ConfigError, match="temperature must be >= 0"):
        study.samples(q.id, -1)


def test_study_on_a_real_student_is_seeded_and_scored(student):
    model, tok = student
    judge, judge_tok = build_judge("t5-tiny", max_length=64)
    make = lambda: TemperatureStudy(model, tok, TASK, EXAMPLES, judge=judge, judge_tokenizer=judge_tok,
                                    samples_per_temperature=3, max_new_tokens=12)
    a, b = make(), make()
    first = a.samples(EXAMPLES[1].id, 1.5)
    assert [s["rationale"] for s in first] == [s["rationale"] for s in b.samples(EXAMPLES[1].id, 1.5)]
    assert all(0 <= s["score"] <= 1 for s in first) and len(first) == 3
    assert a.generate_calls == 1


def test_widget_callbacks_rerender_the_view(monkeypatch):
    monkeypatch.setattr(casestudy, "generate_texts", fake_generate)
    study = TemperatureStudy(None, None, TASK, EXAMPLES, samples_per_temperature=2)
    widget = temperature_widget(study, temperature=0.7, question_ids=[ex.id for ex in EXAMPLES[:3]])
    assert "data-temperature='0.7'" in widget.view.value and "✓" in widget.view.value
    assert len(widget.question.options) == 3
    widget.slider.value = 1.8                                # the slider's observer re-samples and re-renders
    assert "data-temperature='1.8'" in widget.view.value and "τ=1.8" in widget.view.value and "✗" in widget.view.value
    widget.question.value = EXAMPLES[2].id
    assert EXAMPLES[2].input.split(".")[0] in widget.view.value
    widget.slider.value = 0.0
    assert "greedy (τ=0)" in widget.view.value and widget.view.value.count("<tr><td>") == 1


def test_render_escapes_text():
    html = render_samples_html("Is 1 < 2?", "yes", 0.7, [{"index": 0, "rationale": "<b>x</b>", "answer": None,
                                                          "correct": False, "score": 0.25}])
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "Is 1 &lt; 2?" in html and "0.250" in html


def test_pick_questions_and_teacher_rows(tmp_path):
    picked = pick_questions(EXAMPLES, 3, seed=0)
    assert len(picked) == 3 and picked == pick_questions(EXAMPLES, 3, seed=0)
    assert [e for e in EXAMPLES if e in picked] == picked                 # original order kept
    assert pick_questions(EXAMPLES, None) == EXAMPLES == pick_questions(EXAMPLES, 99)
    with pytest.raises(ConfigError, match="run stage 02"):
        teacher_score_rows(tmp_path)
    (tmp_path / "judge").mkdir()
    (tmp_path / "judge" / "scores.jsonl").write_text(
        '{"id": "q1", "source": "teacher positive", "score": 0.9}\n{"id": "q1", "source": "augmented negative", "score": 0.1}\n'
        '{"id": "q2", "source": "teacher negative", "score": 0.3}\n')
    rows = teacher_score_rows(tmp_path)
    assert [r["source"] for r in rows] == ["teacher positive", "teacher negative"]
    table = {r["source"]: r for r in mean_scores(rows + [{"source": "s", "score": 0.2, "correct": True},
                                                         {"source": "s", "score": 0.4, "correct": False}])}
    assert table["s"] == {"source": "s", "n": 2, "mean_score": 0.3, "std_score": 0.1, "answer_correct": 0.5}
    assert table["teacher positive"]["answer_correct"] is None
