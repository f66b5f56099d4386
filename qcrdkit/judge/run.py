"""Stage 02 on a run directory, from its parameters (:class:`qcrdkit.core.stages.JudgeStageConfig`): the
functions notebook 02 calls, in its order.

===========================  ==========================================================================
:func:`judge_data`            the teacher's rationales as judge items: split by question (train / held-out),
                              augmented negatives, the answer input of each
:func:`pretrain_judge`        the judge pretrained with these settings on these samples, reused; else
                              pretrained (resuming from its checkpoints)
:func:`evaluate_judge`        held-out (and ``test_split``) scores, metrics, the right/wrong ranking beside
                              trivial scorers; writes ``<run>/judge/`` and records what made it
:func:`score_teacher_rationales`  every teacher rationale's score, for the explorers (``teacher_scores.jsonl``)
===========================  ==========================================================================
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from qcrdkit.core.guards import remove_inside
from qcrdkit.core.io import read_json, write_jsonl
from qcrdkit.core.stages import JUDGE, JudgeStageConfig, deciding_settings
from qcrdkit.judge.augment import augment_negatives, augmentation_summary, corpus_vocabulary
from qcrdkit.judge.items import judge_items, mark_answer_signals, split_by_question, subsample_questions
from qcrdkit.judge.pretraining import check_training_items, judge_training_config, train_judge
from qcrdkit.judge.scoring import evaluation_report, score_items

STAGE = JUDGE


@dataclass
class JudgeData:
    """What stage 02 trains and evaluates the judge on (items: :func:`qcrdkit.judge.judge_items`)."""

    task: object
    records: list            # the teacher's samples (every split)
    examples: dict           # {id: Example} over the samples' splits
    train: list              # teacher items of the train questions
    heldout: list            # teacher items of the held-out questions
    augmented_train: list    # negatives made from ``train`` (empty without ``augment``)
    augmented_heldout: list
    augmentation: dict       # augmentation_summary of the train part
    counts: dict             # check_training_items of train + augmented_train


def judge_data(run_dir: str | Path, stage: JudgeStageConfig, mask_token: str | None = None) -> JudgeData:
    """The teacher's rationales of ``stage.splits`` as judge items, split by question (``heldout_fraction``,
    ``seed``), with augmented negatives (``augment``, ``augment_ops``, ``augment_rate``; ``mask_token``: the
    judge tokenizer's) and every item's answer input (``answer_input``; an augmented text is measured against
    the teacher's own samples). Raises :class:`qcrdkit.core.errors.ConfigError` when they cannot train a judge."""
    from qcrdkit.core.rundir import read_teacher_samples, teacher_samples_path
    from qcrdkit.tasks import load_examples, load_task

    task, _ = load_task(run_dir)
    records = read_teacher_samples(run_dir)
    examples = load_examples(run_dir, sorted({r["split"] for r in records}))
    items = mark_answer_signals(judge_items(records, stage.splits, path=teacher_samples_path(run_dir)), task,
                                stage.answer_input, examples)
    train, heldout = split_by_question(items, stage.heldout_fraction, stage.seed)
    vocabulary = corpus_vocabulary([it["rationale"] for it in train])

    def augmented(part):
        if not stage.augment:
            return []
        return augment_negatives(part, seed=stage.seed, ops=stage.augment_ops, arithmetic=task.numeric,
                                 rate=stage.augment_rate, mask_token=mask_token or "[MASK]", vocabulary=vocabulary)

    aug_train, aug_heldout = augmented(train), augmented(heldout)
    mark_answer_signals(aug_train + aug_heldout, task, stage.answer_input, examples, peers=train + heldout)
    return JudgeData(task, records, examples, train, heldout, aug_train, aug_heldout,
                     augmentation_summary(train, aug_train), check_training_items(train + aug_train, stage.objective))


@dataclass
class PretrainedJudge:
    model: object
    tokenizer: object
    history: list            # the Trainer's log history (loss, held-out AUC)
    steps: int
    train_seconds: float | None
    reused: bool             # True: a judge pretrained earlier with these settings on these samples
    settings: dict           # the stage's deciding settings (what provenance.json records)
    folder: Path | None = None   # where it is written: <run>/judge, or <run>/.staging/judge for a replacement


def pretrain_judge(run_dir: str | Path, stage: JudgeStageConfig, model, tokenizer,
                   data: JudgeData) -> PretrainedJudge:
    """The judge of ``<run>/judge/`` when it was pretrained with exactly these settings on the run's
    current teacher samples; else ``model`` pretrained (``judge_training_config``; resumes from checkpoints of
    the same configuration). One made with other settings is kept and this raises
    :class:`qcrdkit.core.provenance.ArtifactConflict` naming the differences, unless ``stage.replace``."""
    from qcrdkit.core.rundir import claim_judge, judge_dir
    from qcrdkit.judge.model import load_run_judge

    settings = deciding_settings(STAGE, asdict(stage))
    decision, out_dir = claim_judge(run_dir, settings, replace=stage.replace)
    if decision == "reuse":
        model, tokenizer = load_run_judge(run_dir)
        finished = read_json(out_dir / "metrics.json")
        return PretrainedJudge(model, tokenizer, read_json(out_dir / "history.json"), finished["steps"],
                               finished.get("train_seconds"), True, settings, out_dir)
    args = judge_training_config(stage, output_dir=out_dir / "checkpoints", model=model)
    eval_items = subsample_questions(data.heldout + data.augmented_heldout, stage.eval_questions, stage.seed)
    trainer = train_judge(model, tokenizer, data.train + data.augmented_train, eval_items, args)
    history = trainer.state.log_history
    return PretrainedJudge(model, tokenizer, history, trainer.state.global_step,
                           round(history[-1].get("train_runtime", 0), 1), False, settings, out_dir)


def evaluate_judge(run_dir: str | Path, stage: JudgeStageConfig, judge: PretrainedJudge,
                   data: JudgeData) -> tuple[dict, list[dict]]:
    """``(metrics, held-out rows)``: the judge's scores of the held-out rationales (teacher and augmented) and of
    ``stage.test_split``; :func:`evaluation_report` of each; ``ranking`` — right vs wrong (gold answer) held-out
    teacher rationales, the judge beside shorter-first and agreement (:func:`qcrdkit.judge.ranking.ranking_aucs`);
    ``sides_differ`` — held-out rationales whose self-consistency side is not their gold-answer side. Writes
    ``<run>/judge/`` (the judge unless reused, metrics, scores, history), then records its provenance
    and removes the finished pretraining's checkpoints."""
    from qcrdkit.judge.ranking import ranking_aucs, right_wrong_rows
    from qcrdkit.core.provenance import move_aside
    from qcrdkit.core.rundir import JUDGE_FOLDER, judge_dir, record_judge, swap_in, teacher_samples_path
    from qcrdkit.judge.model import write_judge_artifacts

    rows = score_items(judge.model, judge.tokenizer, data.heldout + data.augmented_heldout, progress=stage.progress)
    metrics = evaluation_report(rows)
    extra_scores = {}
    if stage.test_split:
        test_items = mark_answer_signals(judge_items(data.records, [stage.test_split], path=teacher_samples_path(run_dir)),
                                         data.task, stage.answer_input, data.examples)
        test_rows = score_items(judge.model, judge.tokenizer, test_items, progress=stage.progress)
        metrics[stage.test_split] = {**evaluation_report(test_rows),
                                     "ranking": ranking_aucs(right_wrong_rows(test_items, data.records, test_rows))}
        extra_scores[stage.test_split] = test_rows
    by_record = {f"{r['id']}#{r['sample_index']}": r for r in data.records}
    metrics.update(ranking=ranking_aucs(right_wrong_rows(data.heldout, data.records, rows)),
                   sides_differ=sum(bool(by_record[it["key"]]["positive"]) != bool(by_record[it["key"]]["correct"])
                                    for it in data.heldout),
                   backbone=stage.backbone, objective=stage.objective, steps=judge.steps, train=data.counts,
                   augmentation=data.augmentation, train_seconds=judge.train_seconds, settings=judge.settings)
    folder = judge.folder or judge_dir(run_dir)
    write_judge_artifacts(run_dir, None if judge.reused else judge.model, judge.tokenizer, metrics=metrics,
                          scores=rows, history=judge.history, extra_scores=extra_scores, folder=folder)
    if not judge.reused:
        record_judge(run_dir, judge.settings, folder)         # last: what made this judge (a rerun compares it)
    remove_inside(run_dir, folder / "checkpoints")           # finished: no longer needed
    if folder != judge_dir(run_dir):                          # a replacement, complete: swapped in
        if judge_dir(run_dir).name != JUDGE_FOLDER:           # an old run's judge/ under its former name
            move_aside(run_dir, judge_dir(run_dir))
        swap_in(run_dir, [JUDGE_FOLDER])
        judge.folder = judge_dir(run_dir)
    return metrics, rows


def score_teacher_rationales(run_dir: str | Path, stage: JudgeStageConfig, judge: PretrainedJudge,
                             data: JudgeData) -> list[dict]:
    """The judge's score of every teacher rationale of the run (all splits), with ``judge_trained_on``;
    written to ``<run>/judge/teacher_scores.jsonl`` for the explorers of stages 02 and 04 (and how long it took,
    ``teacher_scores_work.json``: qcrd check's projection)."""
    import time

    from qcrdkit.core.io import write_json
    from qcrdkit.core.rundir import judge_dir, teacher_samples_path

    start = time.perf_counter()

    items = mark_answer_signals(judge_items(data.records, sorted({r["split"] for r in data.records}),
                                            path=teacher_samples_path(run_dir)), data.task, stage.answer_input,
                                data.examples)
    trained_on = {it["key"] for it in data.train}
    rows = [{"key": r["key"], "score": r["score"], "judge_trained_on": r["key"] in trained_on}
            for r in score_items(judge.model, judge.tokenizer, items, progress=stage.progress)]
    write_jsonl(judge_dir(run_dir) / "teacher_scores.jsonl", rows)
    work = judge_dir(run_dir) / "teacher_scores_work.json"
    if not work.exists():          # the first scoring's (a rerun that reuses the judge leaves its folder as it was)
        write_json(work, {"seconds": round(time.perf_counter() - start, 2), "rationales": len(rows)})
    return rows
