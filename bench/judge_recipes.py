"""Which judge recipe ranks the student's own rationales? (try, and keep what measurably helps)

On a finished demo-like run (stages 01-03 with a QCRD student), every recipe starts from the run's stage-02 judge
and is scored on the same items: the final QCRD student's τ 0.7 samples on test questions (``--eval-questions``
questions × ``--samples`` samples, labelled right or wrong by the answer they reach; one draw, shared by every
recipe and seed). Recipes:

* ``stage02``: the judge as stage 02 left it (teacher rationales and their augmented copies only);
* ``brief-bce``: then fine-tuned on the samples of a *briefly trained student* (a DSS student of
  ``--brief-steps`` steps, ``--samples`` τ 0.7 samples on ``--train-questions`` train questions, labelled by
  outcome), binary cross-entropy;
* ``brief-rank``: the same samples and batches, the paper's eq. 2 *within each question* (its right samples
  against its wrong ones: a within-question ranking objective).

Both fine-tunes see the same batches (``--batch`` questions that have right and wrong samples), ``--steps``
steps at ``--lr`` (the online judge's rate), with the judge's answer input as stage 02 set it. Each seed trains
its own brief student and draws its own batch order; the differences between recipes are reported per seed,
with their mean and the t interval over seeds (and Holm-corrected p over the comparisons).

Usage: ``python bench/judge_recipes.py --run-dir <run with students/qcrd> [--seeds 0 1 2] [--brief-steps 150]``.
The last line is JSON: per recipe the per-seed AUCs; the trivial scorers and the QCRD student's final online judge
(the judge that trained on the student's samples during QCRD, for reference) on the evaluation items.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RECIPES = ("stage02", "brief-bce", "brief-rank")


def sample_rows(model, tokenizer, task, examples, samples: int, max_new_tokens: int) -> list[dict]:
    """``samples`` τ 0.7 samples of each example, as ranking rows (label: the answer reached is right)."""
    from qcrdkit.judge import answer_key
    from qcrdkit.students.models import explain_input, generate_texts

    texts = generate_texts(model, tokenizer, [explain_input(ex.input) for ex in examples], temperature=0.7,
                           num_return_sequences=samples, max_new_tokens=max_new_tokens)
    rows = []
    for ex, outs in zip(examples, texts):
        for text in outs:
            answer, correct = task.rationale_outcome(text, ex)
            rows.append({"question_id": ex.id, "question": ex.input, "rationale": text, "answer": answer,
                         "rationale_answer": answer_key(task, text, ex), "label": int(bool(correct))})
    return rows


def fine_tune(judge_dir: Path, rows: list[dict], objective: str, args, seed: int):
    """The stage-02 judge fine-tuned on ``rows`` with ``objective`` (bce | eq2): ``args.steps`` steps of
    ``args.batch`` questions that hold right and wrong rows, in a seeded order."""
    from qcrdkit.analysis.judging import row_signals
    from qcrdkit.judge import OnlineJudge, load_judge

    model, tokenizer = load_judge(judge_dir)
    judge = OnlineJudge(model, tokenizer, objective=objective, learning_rate=args.lr)
    signals = row_signals(rows, model.config.answer_input)
    by_question: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_question.setdefault(r["question_id"], []).append(i)
    mixed = [ids for ids in by_question.values() if len({rows[i]["label"] for i in ids}) == 2]
    if not mixed:
        raise SystemExit("no train question has both right and wrong samples of the brief student: nothing to "
                         "fine-tune on (more --brief-steps, --train-questions or --samples)")
    rng = random.Random(seed)
    for _ in range(args.steps):
        picked = [i for ids in rng.sample(mixed, min(args.batch, len(mixed))) for i in ids]
        judge.update([rows[i]["question"] for i in picked], [rows[i]["rationale"] for i in picked],
                     [rows[i]["label"] for i in picked], group_ids=[rows[i]["question_id"] for i in picked],
                     answer_signal=None if signals is None else [signals[i] for i in picked])
    return model, tokenizer, len(mixed)


def brief_student(run_dir: Path, args, seed: int, out: Path):
    """A DSS student of ``args.brief_steps`` steps on the run's data (the demo's stage-03 settings otherwise)."""
    from qcrdkit.students import build_student
    from qcrdkit.training import train_student
    sys.path.insert(0, str(REPO / "bench"))
    from step_cost import demo_training_stage

    stage = demo_training_stage([f"steps={args.brief_steps}", f"eval_every={args.brief_steps}"])
    metrics = train_student("dss", run_dir, stage, seed=seed, out_dir=out)
    model, tokenizer = build_student(str(out))
    return model, tokenizer, metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="a run with stages 01-02 and students/qcrd")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--brief-steps", type=int, default=150)
    parser.add_argument("--train-questions", type=int, default=400)
    parser.add_argument("--eval-questions", type=int, default=150)
    parser.add_argument("--samples", type=int, default=4, help="τ 0.7 samples per question")
    parser.add_argument("--steps", type=int, default=120, help="fine-tuning steps (the online judge takes 10 per "
                                                               "iteration, 12 iterations in the demo)")
    parser.add_argument("--batch", type=int, default=8, help="questions per fine-tuning step")
    parser.add_argument("--lr", type=float, default=1e-4)
    args = parser.parse_args()

    import numpy as np
    import torch
    from transformers import set_seed

    from qcrdkit.analysis.judging import rescored
    from qcrdkit.analysis.statistics import ranking_aucs, seed_t_interval
    from qcrdkit.judge import load_judge
    from qcrdkit.core.rundir import judge_dir
    from qcrdkit.tasks import load_task
    from qcrdkit.students import build_student

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    run_dir = Path(args.run_dir).resolve()
    task, spec = load_task(run_dir)
    test = task.load("test", data_dir=spec.get("data_dir"))[:args.eval_questions]
    train = task.load("train", data_dir=spec.get("data_dir"))
    set_seed(1234)
    qcrd, qcrd_tok = build_student(str(run_dir / "students" / "qcrd"))
    evaluation = sample_rows(qcrd, qcrd_tok, task, test, args.samples, 48)
    trivial = ranking_aucs([{**r, "score": 0.0} for r in evaluation])
    stage02 = load_judge(judge_dir(run_dir))
    base = ranking_aucs(rescored(stage02, evaluation))["judge"]
    online_dir = run_dir / "students" / "qcrd" / "judge"
    online = ranking_aucs(rescored(load_judge(online_dir), evaluation))["judge"] if online_dir.is_dir() else None
    trivial["online_judge"] = online
    if base is None:
        raise SystemExit(f"the QCRD student's {len(evaluation)} samples are all right or all wrong: no AUC to compare")
    print(f"evaluation: {len(evaluation)} samples of the QCRD student ({trivial['n_good']} right / "
          f"{trivial['n_bad']} wrong); shorter-first {trivial['shorter_first']:.3f}, agreement "
          f"{trivial['agreement']:.3f}, stage-02 judge {base:.3f}, the QCRD student's final online judge "
          f"{'–' if online is None else f'{online:.3f}'}", flush=True)

    results = {name: [] for name in RECIPES}
    details = []
    for seed in args.seeds:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            model, tokenizer, metrics = brief_student(run_dir, args, seed, Path(tmp) / "brief")
            rng = random.Random(seed)
            questions = rng.sample(train, min(args.train_questions, len(train)))
            set_seed(seed)
            rows = sample_rows(model, tokenizer, task, questions, args.samples, 48)
        right = float(np.mean([r["label"] for r in rows]))
        results["stage02"].append(base)
        seed_detail = {"seed": seed, "brief_test_accuracy": metrics["test_accuracy"],
                       "brief_rationale_accuracy": metrics["test_rationale_accuracy"],
                       "brief_samples": len(rows), "brief_samples_right": round(right, 3)}
        for name, objective in (("brief-bce", "bce"), ("brief-rank", "eq2")):
            set_seed(seed)
            model, tokenizer, mixed = fine_tune(judge_dir(run_dir), rows, objective, args, seed)
            auc = ranking_aucs(rescored((model, tokenizer), evaluation))["judge"]
            results[name].append(auc)
            seed_detail[name] = round(auc, 4)
        seed_detail.update(mixed_questions=mixed, seconds=round(time.perf_counter() - start, 1))
        details.append(seed_detail)
        print(json.dumps(seed_detail), flush=True)

    comparisons = [("brief-bce", "stage02"), ("brief-rank", "stage02"), ("brief-rank", "brief-bce")]
    differences = {}
    if len(args.seeds) >= 2:
        raw = {}
        for a, b in comparisons:
            d = np.array(results[a]) - np.array(results[b])
            low, high, p = seed_t_interval(d)
            raw[f"{a} - {b}"] = {"mean": round(float(d.mean()), 4), "t95": [round(low, 4), round(high, 4)], "p": p}
        from qcrdkit.analysis.statistics import holm

        for key, adjusted in zip(raw, holm([d["p"] for d in raw.values()])):      # Holm over the comparisons
            raw[key]["p_holm"], raw[key]["p"] = round(adjusted, 4), round(raw[key]["p"], 4)
        differences = raw
    print(f"\n{'recipe':12} {'mean AUC':>9}  per seed")
    for name in RECIPES:
        print(f"{name:12} {np.mean(results[name]):9.3f}  {', '.join(f'{x:.3f}' for x in results[name])}")
    for key, d in differences.items():
        print(f"{key:24} {d['mean']:+.3f} [{d['t95'][0]:+.3f}, {d['t95'][1]:+.3f}] p {d['p']:.3f} (Holm {d['p_holm']:.3f})")
    print(json.dumps({"run_dir": str(run_dir), "seeds": args.seeds, "evaluation": trivial,
                      "auc": {k: [round(x, 4) for x in v] for k, v in results.items()},
                      "differences": differences, "per_seed": details}))


if __name__ == "__main__":
    main()
