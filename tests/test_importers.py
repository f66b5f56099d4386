import json

import pytest

from qcrdkit.consistency import consistency_stats
from qcrdkit.errors import DataFormatError
from qcrdkit.tasks import get_task
from qcrdkit.teacher import CompletionCache, SyntheticTeacherServer, TeacherClient, TeacherConfig
from qcrdkit.teacher.batch import export_batch, import_batch_results
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
    assert stats["unparseable_fraction"] < 0.03
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
    records = import_jsonl(task, path, "train", exs, model="my-llm")
    assert [(r["id"], r["sample_index"], r["correct"]) for r in records] == [
        (exs[0].id, 0, True), (exs[0].id, 1, False), (exs[1].id, 0, True), (exs[1].id, 1, False)]
    path.write_text(json.dumps({"id": "nope", "rationales": ["a"]}) + "\n")
    with pytest.raises(DataFormatError, match=r"dump\.jsonl:1: no question"):
        import_jsonl(task, path, "train", exs)


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
