"""Discriminator throughput on this machine: rationales scored per second and pretraining steps
per second, for the MiniLM backbone and the T5 encoders built from a config.

The data are ``arith`` questions with rationales from the synthetic teacher (the lengths of the
demo). Scoring: ``score_rationales`` over ``--score`` rationales, batch 64, after one warm-up
batch. Pretraining: ``DiscriminatorTrainer`` for ``--steps`` steps of ``--batch-questions``
questions (each with its K teacher samples), no evaluation or checkpoints, after a warm-up step.

Usage: ``python bench/discriminator_throughput.py [--backbones minilm t5-tiny t5-mini --steps 10]``
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import set_seed  # noqa: E402

from qcrdkit import judge as D  # noqa: E402
from qcrdkit.consistency import apply_split  # noqa: E402
from qcrdkit.tasks import get_task  # noqa: E402
from qcrdkit.teacher.sampling import teacher_prompts  # noqa: E402
from qcrdkit.teacher.records import make_record  # noqa: E402
from qcrdkit.teacher.synthetic import SyntheticTeacher  # noqa: E402


def arith_items(n_questions: int, k: int, seed: int = 0) -> list[dict]:
    task = get_task("arith", n_train=n_questions, n_valid=1, n_test=1, min_steps=1, max_steps=2, seed=seed)
    teacher = SyntheticTeacher()
    records = []
    examples = task.load("train")
    prompts = teacher_prompts(task, examples)
    for ex in examples:
        prompt = prompts[ex.id][-1]["content"]
        for i, raw in enumerate(teacher.complete(prompt, n=k, temperature=0.7, seed=seed)):
            records.append(make_record(task, ex, split="train", sample_index=i, raw=raw, temperature=0.7,
                                       model="synthetic", source="synthetic"))
    apply_split(records, task)
    return D.judge_items(records)


def bench_backbone(backbone: str, items: list[dict], n_score: int, steps: int, batch_questions: int) -> dict:
    set_seed(0)
    model, tok = D.build_discriminator(backbone)
    model.to(D.default_device())
    qs, rs = [i["question"] for i in items[:n_score]], [i["rationale"] for i in items[:n_score]]
    D.score_rationales(model, tok, qs[:64], rs[:64])                       # warm-up
    t0 = time.perf_counter()
    D.score_rationales(model, tok, qs, rs, batch_size=64)
    score_s = time.perf_counter() - t0
    tokens = D.encode_pairs(tok, qs[:256], rs[:256], model.config.max_pair_length)["attention_mask"].sum(1).float().mean()

    with tempfile.TemporaryDirectory() as out:
        def run(n):
            args = D.DiscriminatorTrainingConfig(output_dir=out, max_steps=n, per_device_train_batch_size=batch_questions,
                                                 learning_rate=D.default_learning_rate(model), eval_strategy="no",
                                                 save_strategy="no", logging_strategy="no", disable_tqdm=True)
            t = time.perf_counter()
            D.pretrain_discriminator(model, tok, items, None, args, resume=False)
            return time.perf_counter() - t
        run(1)                                                              # warm-up
        train_s = run(steps)
    return {"backbone": backbone, "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
            "mean_tokens": float(tokens), "scored_per_s": n_score / score_s, "steps_per_s": steps / train_s,
            "rationales_per_step": batch_questions * k_of(items)}


def k_of(items: list[dict]) -> int:
    return max(1, round(len(items) / len({i["id"] for i in items})))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbones", nargs="+", default=["minilm", "t5-tiny", "t5-mini"])
    ap.add_argument("--score", type=int, default=512, help="rationales to score")
    ap.add_argument("--steps", type=int, default=10, help="pretraining steps to time")
    ap.add_argument("--batch-questions", type=int, default=8, help="questions per step (each with K rationales)")
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    items = arith_items(max(args.score // args.k + 1, 64), args.k)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {D.default_device()}; "
          f"{len(items)} arith rationales (K={args.k}); {args.batch_questions} questions per step")
    print("| backbone | params (M) | mean tokens | rationales scored / s | pretraining steps / s | rationales / step |")
    print("|---|---|---|---|---|---|")
    for backbone in args.backbones:
        r = bench_backbone(backbone, items, min(args.score, len(items)), args.steps, args.batch_questions)
        print(f"| {r['backbone']} | {r['params_M']:.1f} | {r['mean_tokens']:.0f} | {r['scored_per_s']:.1f} | "
              f"{r['steps_per_s']:.3f} | {r['rationales_per_step']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
