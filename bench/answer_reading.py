"""How well the kit reads the answers of free-form rationales (qcrdkit.tasks.reading), measured:

1. the kit's own test set (tests/data/free_form/rationales.jsonl, 328 rows in 30 styles): per style, the rows, how
   many are read, read as a careful reader reads them, whose right/wrong label agrees with that reading, and false
   credit (credited where the careful reading credits nothing); and, when math-verify is installed, the same for
   math-verify's own reading (``parse`` of the whole text, its last expression) on the number rows;
2. with ``--dump D --careful C``, a dump kept outside the project (``{"question", "rationales": [...]}`` lines and
   ``{"question", "gold", "careful": [...]}`` lines in the same order): read rate and right/wrong agreement;
3. with ``QCRD_DSS_DATA`` set, the DSS PaLM completions with their answer statement removed: how often the
   rationale alone is read, and read as the statement says;
4. speed: 10,000 rationales of the test set, and one 100 KB rationale, on one core.

    python bench/answer_reading.py [--dump ../heldout/dump.jsonl --careful ../heldout/careful.jsonl]

The last line is JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qcrdkit.tasks import get_task  # noqa: E402
from qcrdkit.tasks.base import cut_at_next_example, split_answer  # noqa: E402
from qcrdkit.tasks.reading_check import example_for, score_rows, task_for  # noqa: E402

TEST_SET = ROOT / "tests" / "data" / "free_form" / "rationales.jsonl"


def math_verify_scores(rows: list[dict]) -> dict | None:
    """math-verify's reading of the number rows (its default extraction: the last expression), scored alike."""
    try:
        from math_verify import parse
        from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig
    except ImportError:
        return None
    task = get_task("svamp")
    n = as_expected = read = agrees = 0
    for row in (r for r in rows if r["type"] == "number"):
        try:
            found = parse(row["text"], extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()],
                          parsing_timeout=None)
            value = float(found[0]) if found else None
        except Exception:                                           # noqa: BLE001 (what math-verify cannot read)
            value = None
        example = example_for(row)
        n += 1
        read += value is not None
        as_expected += (value is None) == (row["expected"] is None) and (
            value is None or task.answer_key(value) == task.answer_key(row["expected"]))
        right = value is not None and task.is_correct(value, example)
        agrees += right == (row["expected"] is not None and task.is_correct(row["expected"], example))
    return {"n": n, "read": read, "as_expected": as_expected, "label_agrees": agrees}


def dump_scores(dump: Path, careful: Path) -> dict:
    task = get_task("svamp")
    n = read = agrees = exact = 0
    for line, truth in zip(dump.open(), careful.open()):
        row, truth = json.loads(line), json.loads(truth)
        example = example_for({"gold": truth["gold"], "question": row["question"]})
        for text, expected in zip(row["rationales"], truth["careful"]):
            answer = task.read_completion(text, example)[1].answer
            n += 1
            read += answer is not None
            right = answer is not None and task.is_correct(answer, example)
            agrees += right == (expected is not None and task.is_correct(expected, example))
            exact += (answer is None and expected is None) or (
                answer is not None and expected is not None and task.answer_key(answer) == task.answer_key(expected))
    return {"rationales": n, "read_rate": round(read / n, 4), "label_agreement": round(agrees / n, 4),
            "read_as_careful": round(exact / n, 4)}


def dss_scores(data: str) -> dict:
    from qcrdkit.teacher.importers import dss_completions

    out = {}
    for name, split in (("svamp", "train"), ("svamp", "test"), ("cqa", "test"), ("anli1", "test"), ("esnli", "test")):
        task = get_task(name)
        examples = {ex.id: ex for ex in task.load(split, data_dir=data)}
        n = read = agrees = 0
        for qid, text in dss_completions(task, data, split).items():
            example = examples.get(qid)
            body, answer_text = split_answer(cut_at_next_example(text, task.example_stops))
            stated = task.parse_answer_text(answer_text, example) if example and answer_text else None
            if stated is None:
                continue
            reading = task.read_completion(body, example)[1]
            n += 1
            read += reading.read
            agrees += reading.read and task.answer_key(reading.answer) == task.answer_key(stated)
        out[f"{name} {split}"] = {"completions": n, "body_read": round(read / n, 4),
                                  "body_agrees_with_statement": round(agrees / n, 4)}
    return out


def speed(rows: list[dict]) -> dict:
    task = get_task("svamp")
    texts = [r["text"] for r in rows if r["type"] == "number"]
    batch = (texts * (10_000 // len(texts) + 1))[:10_000]
    start = time.process_time()
    for text in batch:
        task.read_completion(text)
    ten_thousand = time.process_time() - start
    big = ("Tom has 3 apples and buys 4 more, so 3 + 4 = 7 apples. " * 2000)[:100_000]
    start = time.process_time()
    task.read_completion(big)
    return {"seconds_10000": round(ten_thousand, 2), "ms_100kb": round(1000 * (time.process_time() - start), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", type=Path, help="a held-out dump (JSONL: question, rationales)")
    parser.add_argument("--careful", type=Path, help="its careful readings (JSONL: question, gold, careful)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in TEST_SET.open()]
    scores = score_rows(rows)["styles"]
    print(f"{'style':24} {'rows':>5} {'read':>5} {'as expected':>12} {'label agrees':>13} {'false credit':>13}")
    for style, s in sorted(scores.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        print(f"{style:24} {s['n']:5d} {s['read']:5d} {s['as_expected']:12d} {s['label_agrees']:13d} {s['false_credit']:13d}")
    result = {"test_set": scores["all"], "test_set_as_expected": round(scores["all"]["as_expected"] / scores["all"]["n"], 4)}
    mv = math_verify_scores(rows)
    if mv is not None:
        kit = score_rows([r for r in rows if r["type"] == "number"])["styles"]["all"]
        print(f"number rows: the kit reads {kit['as_expected']}/{kit['n']} as expected (label agrees {kit['label_agrees']}); "
              f"math-verify alone {mv['as_expected']}/{mv['n']} (label agrees {mv['label_agrees']})")
        result["math_verify_number_rows"], result["kit_number_rows"] = mv, kit
    if args.dump and args.careful:
        result["dump"] = dump_scores(args.dump, args.careful)
        print("held-out dump:", result["dump"])
    data = os.environ.get("QCRD_DSS_DATA")
    if data and Path(data).is_dir():
        result["dss_answer_statement_removed"] = dss_scores(data)
        for name, s in result["dss_answer_statement_removed"].items():
            print(f"DSS {name}: {s}")
    result["speed"] = speed(rows)
    print(f"speed (one core): 10,000 rationales {result['speed']['seconds_10000']} s; one 100 KB rationale "
          f"{result['speed']['ms_100kb']} ms")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
