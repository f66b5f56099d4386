"""Judge throughput on this machine: seconds and peak memory per pretraining step of 8 questions, and
rationales scored per second, per backbone and per batching.

Two data sets:

* ``arith`` — the demo's questions with K synthetic-teacher rationales each (short texts);
* ``dss`` (default) — real rationales: the Distilling Step-by-Step PaLM completions of SVAMP train
  (from ``QCRD_DSS_DATA``), each question given K rationales (its completion and K - 1 augmented
  copies), the shape of a hosted-teacher run with K samples a question.

Batching: ``all`` (every rationale of the step's questions in one batch: K x 8 rationales) or
``--per-question N`` (the judge's ``rationales_per_question``: N of each question's rationales a step,
positives and negatives in turn), both with ``group_by_length``. Each configuration runs in its own
process, so its peak resident memory (``ru_maxrss``) is its own.

Usage: ``python bench/discriminator_throughput.py [--data dss|arith] [--backbones minilm t5-mini]
[--per-question all 2] [--steps 5]``. Prints a table and, as its last line, JSON of the rows.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def dss_items(k: int, n_questions: int) -> list[dict]:
    from qcrdkit import judge as D
    from qcrdkit.teacher.consistency import apply_split
    from qcrdkit.judge.augment import augment_text, corpus_vocabulary
    from qcrdkit.tasks import get_task
    from qcrdkit.teacher.importers import import_dss_llm
    import random

    data = os.environ.get("QCRD_DSS_DATA", "../shared/data/dss")
    task = get_task("svamp")
    examples = task.load("train", data_dir=data)[:n_questions]
    records = apply_split(import_dss_llm(task, data, "train", examples), task, "ground_truth")
    items = D.judge_items(records)
    vocabulary = corpus_vocabulary([it["rationale"] for it in items])
    out = []
    for it in items:
        rng = random.Random(it["key"])
        out.append(it)
        for j in range(k - 1):
            op = ["mask", "replace", "number", "operator"][j % 4]
            out.append({**it, "key": f"{it['key']}+{j}", "label": 0,
                        "rationale": augment_text(it["rationale"], op, rng, vocabulary=vocabulary)})
    return out


def arith_items(k: int, n_questions: int) -> list[dict]:
    from qcrdkit import judge as D
    from qcrdkit.teacher.consistency import apply_split
    from qcrdkit.tasks import get_task
    from qcrdkit.teacher.records import make_record
    from qcrdkit.teacher.sampling import teacher_prompts
    from qcrdkit.teacher.synthetic import SyntheticTeacher

    task = get_task("arith", n_train=n_questions, n_valid=1, n_test=1, min_steps=1, max_steps=2, seed=0)
    teacher, examples = SyntheticTeacher(), task.load("train")
    prompts, records = teacher_prompts(task, examples), []
    for ex in examples:
        for i, raw in enumerate(teacher.complete(prompts[ex.id][-1]["content"], n=k, temperature=0.7, seed=0)):
            records.append(make_record(task, ex, split="train", sample_index=i, raw=raw, temperature=0.7,
                                       model="synthetic", source="synthetic"))
    return D.judge_items(apply_split(records, task))


def measure(data: str, backbone: str, per_question: int | None, k: int, steps: int, batch_questions: int) -> dict:
    """One configuration, in this process."""
    import torch
    from transformers import set_seed

    from qcrdkit import judge as D

    items = (dss_items if data == "dss" else arith_items)(k, max(64, batch_questions * (steps + 1)))
    set_seed(0)
    model, tok = D.build_judge(backbone)
    model.to(D.default_device())
    with tempfile.TemporaryDirectory() as out:
        def run(n):
            args = D.JudgeTrainingConfig(
                output_dir=out, max_steps=n, per_device_train_batch_size=batch_questions,
                rationales_per_question=per_question, group_by_length=True,
                learning_rate=D.default_learning_rate(model), eval_strategy="no", save_strategy="no",
                logging_strategy="no", disable_tqdm=True)
            t = time.perf_counter()
            D.train_judge(model, tok, items, None, args, resume=False)
            return time.perf_counter() - t
        run(1)                                                               # warm-up
        step_s = run(steps) / steps
    qs, rs = [i["question"] for i in items[:256]], [i["rationale"] for i in items[:256]]
    t = time.perf_counter()
    D.score_rationales(model, tok, qs, rs, batch_size=64)
    scored_per_s = len(qs) / (time.perf_counter() - t)
    tokens = D.encode_pairs(tok, qs, rs, model.config.max_pair_length)["attention_mask"].sum(1).float().mean()
    return {"data": data, "backbone": backbone, "rationales_per_question": per_question or "all", "k": k,
            "threads": torch.get_num_threads(), "mean_tokens": round(float(tokens), 1),
            "rationales_per_step": batch_questions * min(k, per_question or k),
            "seconds_per_step": round(step_s, 2), "scored_per_s": round(scored_per_s, 1),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", choices=["dss", "arith"], default="dss")
    ap.add_argument("--backbones", nargs="+", default=["minilm"])
    ap.add_argument("--per-question", nargs="+", default=["all", "2"], help="'all' or a number, one run each")
    ap.add_argument("--k", type=int, default=10, help="rationales per question")
    ap.add_argument("--steps", type=int, default=5, help="timed pretraining steps (after one warm-up step)")
    ap.add_argument("--batch-questions", type=int, default=8)
    ap.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.single:          # one configuration in this process: print its row
        per_q = None if args.per_question[0] == "all" else int(args.per_question[0])
        print(json.dumps(measure(args.data, args.backbones[0], per_q, args.k, args.steps, args.batch_questions)))
        return 0
    rows = []
    print("| data | backbone | rationales / question / step | rationales / step | mean tokens | s / step | "
          "peak RSS (GB) | scored / s |")
    print("|---|---|---|---|---|---|---|---|")
    for backbone in args.backbones:
        for per_q in args.per_question:
            out = subprocess.run([sys.executable, __file__, "--single", "--data", args.data, "--backbones", backbone,
                                  "--per-question", per_q, "--k", str(args.k), "--steps", str(args.steps),
                                  "--batch-questions", str(args.batch_questions)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(f"| {r['data']} | {r['backbone']} | {r['rationales_per_question']} | {r['rationales_per_step']} | "
                  f"{r['mean_tokens']} | {r['seconds_per_step']} | {r['peak_rss_gb']} | {r['scored_per_s']} |",
                  flush=True)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
