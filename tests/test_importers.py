import json

import pytest


from qcrdkit.teacher.consistency import consistency_stats
from qcrdkit.core.errors import DataFormatError
from qcrdkit.tasks import get_task
from qcrdkit.tasks.numeric import format_number
from qcrdkit.tasks.reading import Reading
from qcrdkit.teacher import CompletionCache, SyntheticTeacherServer, TeacherClient, TeacherConfig
from qcrdkit.teacher.batch_api import export_batch, import_batch_results
from qcrdkit.teacher.importers import import_dss_llm, import_jsonl
from qcrdkit.teacher.sampling import teacher_prompts


@pytest.mark.parametrize("name, split, n, acc_range", [
    ("svamp", "train", 720, (0.65, 0.85)), ("svamp", "valid", 80, (0.6, 0.95)), ("svamp", "test", 200, (0.65, 0.9)),
    ("cqa", "train", 8766, (0.7, 0.82)), ("cqa", "test", 1221, (0.7, 0.85)),
    ("anli1", "valid", 1000, (0.55, 0.75)), ("anli1", "test", 1000, (0.55, 0.75)),
    ("esnli", "valid", 9842, (0.65, 0.8)), ("esnli", "test", 9824, (0.65, 0.8))])
def test_dss_palm_completions_import_and_parse(dss_dir, name, split, n, acc_range):
    task = get_task(name)
    examples = task.load(split, data_dir=dss_dir)
    records = import_dss_llm(task, dss_dir, split, examples)
    assert len(records) == n
    stats = consistency_stats(records, task)
    assert acc_range[0] <= stats["teacher_accuracy"] <= acc_range[1]
    assert stats["unparseable_fraction"] < 0.04      # SVAMP train: 3.3 % (24 malformed expressions)
    for r in records[:50]:                       # cut at the next few-shot example, answer split off
        assert "\nQ:" not in r["rationale"] and "\nPremise:" not in r["rationale"]
        assert "answer is" not in r["rationale"].lower()[-40:]


def test_dss_completion_count_mismatch_is_reported(tmp_path, dss_dir):
    (tmp_path / "svamp" / "llm").mkdir(parents=True)
    (tmp_path / "svamp" / "svamp_test.json").write_text((dss_dir / "svamp" / "svamp_test.json").read_text())
    (tmp_path / "svamp" / "llm" / "test_CoT_0.json").write_text(json.dumps(["The answer is 1."] * 3))
    task = get_task("svamp")
    with pytest.raises(DataFormatError, match="3 completions .* but 200 rows"):
        import_dss_llm(task, tmp_path, "test", task.load("test", data_dir=tmp_path))


def test_generic_jsonl_import(tmp_path):
    task = get_task("arith", n_train=3)
    exs = task.load("train")
    gold = [int(e.answer) for e in exs]
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": exs[0].id, "rationales": [f"x. The answer is {gold[0]}.", "The answer is -1."]}),
        json.dumps({"input": exs[1].input, "rationale": f"So the answer is {gold[1]}."}),
        json.dumps({"id": exs[1].id, "text": "no idea"}),
    ]) + "\n")
    records, report = import_jsonl(task, path, {"train": exs}, model="my-llm")
    assert [(r["id"], r["sample_index"], r["correct"]) for r in records] == [
        (exs[0].id, 0, True), (exs[0].id, 1, False), (exs[1].id, 0, True), (exs[1].id, 1, False)]
    assert report["by_split"]["train"] == {"lines": 3, "questions": 2, "rationales": 4, "of_questions": 3}
    # a line matching no question: counted, or with strict an error naming file and line
    path.write_text(json.dumps({"id": exs[0].id, "rationale": "1"}) + "\n" + json.dumps({"id": "nope", "rationales": ["a"]}) + "\n")
    assert import_jsonl(task, path, {"train": exs})[1]["unmatched"] == {"?": 1}
    with pytest.raises(DataFormatError, match=r"dump\.jsonl:2: no question"):
        import_jsonl(task, path, {"train": exs}, strict=True)
    path.write_text(json.dumps({"id": exs[0].id}) + "\n")
    with pytest.raises(DataFormatError, match=r"dump\.jsonl:1: needs 'rationales'"):
        import_jsonl(task, path, {"train": exs})


def svamp_dump_line(ex, split, rationale):
    """A line as a public GPT-3.5 dump writes it: body and question joined by a space, 10 rationales
    ending with "= N more ..." instead of "The answer is N"."""
    return json.dumps({"question": " ".join(ex.input.split("\n")), "split": split, "rationales": [rationale] * 10})


def test_real_style_dump_matches_routes_splits_and_refuses_test_leakage(tmp_path, dss_dir):
    from qcrdkit.core.errors import DataLeakError
    from qcrdkit.tasks.numeric import format_number

    task = get_task("svamp")
    train, valid, test = (task.load(s, data_dir=dss_dir) for s in ("train", "valid", "test"))
    assert "\n" in train[0].input            # the kit's data: body newline question

    def natural(ex):
        return f"First we work it out: {format_number(ex.answer)} + 0 = {format_number(ex.answer)} more wrappers"

    lines = [svamp_dump_line(ex, "train", natural(ex)) for ex in train[:30]] + \
            [svamp_dump_line(ex, "train", natural(ex)) for ex in valid[:5]] + \
            [svamp_dump_line(ex, "test", natural(ex)) for ex in test[:4]] + \
            [json.dumps({"question": "A question from elsewhere?", "split": "train", "rationales": ["= 3"]})]
    path = tmp_path / "gpt35.jsonl"
    path.write_text("\n".join(lines) + "\n")
    # one file, several splits: each line goes to the split its question is in; "= N more" parses
    records, report = import_jsonl(task, path, {"train": train, "valid": valid}, other_examples={"test": test})
    assert report["by_split"]["train"]["questions"] == 30 and report["by_split"]["valid"]["questions"] == 5
    assert report["by_split"]["train"]["rationales"] == 300 and report["unmatched"] == {"train": 1}
    assert report["other_splits"] == 4 and not report["test_overlap"]          # test lines, test not imported
    assert all(r["answer"] is not None and r["correct"] for r in records)
    # the dump files test questions under train: refused, with the count; or routed to test for analysis
    leaky = lines + [svamp_dump_line(ex, "train", natural(ex)) for ex in test[4:10]]
    path.write_text("\n".join(leaky) + "\n")
    with pytest.raises(DataLeakError, match=r"gpt35\.jsonl: 6 line\(s\) would put rationales of the kit's test"):
        import_jsonl(task, path, {"train": train}, other_examples={"test": test})
    records, report = import_jsonl(task, path, {"train": train, "test": test}, allow_test_overlap=True)
    assert len(report["test_overlap"]) == 6 and report["by_split"]["test"]["questions"] == 10
    assert {r["split"] for r in records if r.get("analysis_only")} == {"test"}
    assert not any(r["split"] == "train" and r["id"] in {ex.id for ex in test} for r in records)


def test_unparseable_share_warns_loudly(capsys):
    from qcrdkit.teacher.collect import warn_unparseable

    rows = [{"split": "train", "answer": None if i < 2 else 1.0, "raw": f"r{i}"} for i in range(10)] + \
           [{"split": "test", "answer": 1.0, "raw": "x"}]
    with pytest.warns(UserWarning, match=r"20\.0 % of the train samples"):
        shares = warn_unparseable(rows, "jsonl_import")
    assert shares == {"test": 0.0, "train": 0.2} and "WARNING" in capsys.readouterr().out


def test_numeric_fallback_answer_without_marker():
    task = get_task("svamp")
    assert task.parse_completion("He had 12 - 4 = 8. Then 8 * 4 = 32 more wrappers")[1] == 32.0
    assert task.parse_completion("So the answer is 7. Earlier 3 = 3")[1] == 7.0      # a marker wins
    assert task.parse_completion("no numbers at all")[1] is None
    assert get_task("cqa").parse_completion("no marker here")[1] is None            # not numeric: no fallback


def test_batch_export_then_import_fills_the_cache(tmp_path):
    task = get_task("arith", n_train=5)
    prompts = teacher_prompts(task, task.load("train"))
    cfg = TeacherConfig(model="synthetic-arith", base_url="http://127.0.0.1:1/v1", k=2, api_key_env=None,
                        cache_namespace="batch-test")
    cache = CompletionCache(tmp_path / "cache")
    counts = export_batch(cfg, prompts, cache, tmp_path / "batch")
    assert counts == {"requests": 5, "skipped_cached": 0}
    lines = [json.loads(x) for x in (tmp_path / "batch" / "requests.jsonl").read_text().splitlines()]
    assert lines[0]["url"] == "/v1/chat/completions" and lines[0]["body"]["n"] == 2
    # play the Batch API: answer every request with the synthetic teacher
    with SyntheticTeacherServer() as server:
        out = []
        for i, line in enumerate(lines):
            status, body = server._respond_with_teacher(line["body"])
            out.append({"id": f"batch_req_{i}", "custom_id": line["custom_id"],
                        "response": {"status_code": status, "body": body}, "error": None})
    out[-1] = {**out[-1], "response": {"status_code": 500, "body": {"error": "x"}}}
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(o) for o in out) + "\n")
    summary = import_batch_results(tmp_path / "results.jsonl", tmp_path / "batch" / "manifest.json", cache)
    assert summary["imported"] == 8 and summary["failed"] == 1
    assert export_batch(cfg, prompts, cache, tmp_path / "batch2") == {"requests": 1, "skipped_cached": 4}
    # the interactive client now only needs the one prompt the batch failed on
    with SyntheticTeacherServer() as server:
        client = TeacherClient(TeacherConfig(**{**cfg.__dict__, "base_url": server.url}), cache, progress=False)
        client.sample(prompts)
    assert server.requests == 1 and client.last_stats.cache_hits == 8


def test_text_without_an_answer_statement_is_read_by_its_closing_statement_and_noise_is_not():
    """Text without an answer statement gives what its closing statement states, a wrong calculation as written;
    sampled noise that happens to end in "= <gold>" reads nothing (and so earns no credit)."""
    task = get_task("svamp")
    read = lambda text: task.read_completion(text)[1]                     # noqa: E731
    assert read("Leo has 4 apples. 4 + 1 = 5 apples in all").answer == 5.0
    assert read("$4,089 + $4,176 = $8,265").answer == 8265.0            # currency and thousands separators
    assert read("(3 + 4) * 2 = 14 books").answer == 14.0 and read("7 - 10 = -3").answer == -3.0
    assert read("4 - 1 = 13. Paul has 13 - 1 = 12 in all").answer == 12.0   # an earlier slip: the last step holds
    assert read("So he has 2 + 2 = 7 apples.") == Reading(7.0, "calculation")   # wrong, read as written
    assert read("apples = 7").answer == 7.0                                # a name and its value
    for noise in ("3 + 4 = 7 . 7 * 2 = 9 = 14", "hat 5 5 cats 9 ( = 7", "+ + = 7 books",
                  "gives -143.: starts with st Now 46 eggs sale. 240. -1.5. -0.77ma has 2 19 behi with. 8."):
        assert read(noise) == Reading(), noise
    task = get_task("arith", n_train=5)
    example = task.load("train")[0]
    gold = format_number(example.answer)
    assert task.rationale_outcome(f"bought cats + the 3 = {gold}", example) == (None, False)
