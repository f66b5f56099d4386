"""Stage 04's sections, from its parameters (:class:`qcrdkit.core.stages.AnalysisStageConfig`): the functions notebook
04 calls, in its order. Each computes a section's tables and figures, adds them to ``<run>/report/``
(:class:`~qcrdkit.analysis.report.Report`) and returns them for the notebook to show.

==========================  ===========================================================================
:func:`open_analysis`        the run(s), their current students and test predictions, the report
:func:`accuracy_section`     accuracy and rationale accuracy over seeds; the paired difference of ``compare``
:func:`sweep_section`        sweeps and ablations found among the students; the training-fraction curves
:func:`sources_section`      what each rationale source teaches, beside what the students write
:func:`quality_section`      the judge's scores by source and temperature (Fig. 6), does it rank, the samples
:func:`llm_judge_section`    the pairwise LLM judge of ``compare`` (Table 7)
==========================  ===========================================================================
"""
from __future__ import annotations

import time

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qcrdkit.core.stages import ANALYSIS, AnalysisStageConfig
from qcrdkit.analysis import tables
from qcrdkit.analysis.report import Report

#: the students' fields the report's summary keeps
STUDENT_FIELDS = ("run", "name", "method", "tag", "seed", "task", "valid_accuracy", "test_accuracy",
                  "valid_rationale_accuracy", "test_rationale_accuracy", "negatives_inside_margin", "seconds_per_step",
                  "train_seconds", "steps", "best_checkpoint_step")


@dataclass
class AnalysisRun:
    run_dir: Path
    runs: list                       # run_dir and extra_run_dirs
    task: object
    spec: dict
    students: list                   # metrics.json of every current student (qcrdkit.analysis.student_results.collect_students)
    predictions: dict                # {(run, name): test predictions}
    left_out: list                   # (student folder, why): trained on inputs since replaced, or unfinished
    test_examples: list
    report: Report
    figures: dict = field(default_factory=dict)


def open_analysis(stage: AnalysisStageConfig) -> AnalysisRun:
    """The run (``run_dir``; None: ``$QCRD_RUN_DIR`` or the newest with students) and ``extra_run_dirs``, their
    current students, the task's test questions, and ``<run>/report/`` started with the runs and students."""
    from qcrdkit.core.paths import project_path
    from qcrdkit.core.rundir import resolve_run_dir
    from qcrdkit.tasks import load_task
    from qcrdkit.analysis.student_results import collect_students

    run_dir = resolve_run_dir(stage.run_dir, outputs_dir="outputs")
    runs = [run_dir] + [project_path(p) for p in stage.extra_run_dirs]
    task, spec = load_task(run_dir)
    left_out = []
    students, predictions = collect_students(runs, left_out=left_out)
    report = Report(run_dir / "report", f"QCRD report · {run_dir.name}")
    report.data("runs", [str(r) for r in runs])
    report.data("students", [{k: s.get(k) for k in STUDENT_FIELDS} for s in students])
    return AnalysisRun(run_dir, runs, task, spec, students, predictions, left_out,
                       task.load("test", data_dir=spec.get("data_dir")), report)


def accuracy_section(a: AnalysisRun, stage: AnalysisStageConfig) -> dict:
    """``{"accuracy", "rationale_accuracy"}``: mean ± std over seeds per method and task; ``"differences"``: the
    paired difference ``compare[1] − compare[0]`` per task (seed-level intervals; untagged students of the same
    seeds), and ``"difference_table"`` (None without such a pair)."""
    report = a.report
    matrix = tables.results_matrix(a.students)
    report.table("Test accuracy (%)", matrix, note="Mean ± std over seeds (n seeds); checkpoints selected on valid.")
    rationale = tables.results_matrix(a.students, key="test_rationale_accuracy")
    report.table("Rationale accuracy (%)", rationale,
                 note="The answer reached by each student's greedy rationale; mean ± std over seeds (n seeds); "
                      "– : the method learns no rationale.")
    main = [s for s in a.students if not s.get("tag")]
    report.data("rationale_accuracy", {f"{t}/{m}": v for (t, m), v in
                                       tables.accuracy_by_method(main, "test_rationale_accuracy").items()})
    report.data("negatives_inside_margin", {s["name"]: s.get("negatives_inside_margin")
                                            for s in a.students if s["method"] == "qcrd"})
    differences = tables.paired_method_differences(a.students, a.predictions, a=stage.compare[1], b=stage.compare[0],
                                                   resamples=stage.bootstrap_resamples, seed=stage.seed)
    report.data("accuracy", {f"{t}/{m}": v for (t, m), v in tables.accuracy_by_method(main).items()})
    report.data("paired_difference", differences)
    difference_table = tables.difference_table(differences) if differences else None
    if differences:
        report.table(f"Paired difference {stage.compare[1]} − {stage.compare[0]} (accuracy points)", difference_table)
    return {"accuracy": matrix, "rationale_accuracy": rationale, "differences": differences,
            "difference_table": difference_table}


def sweep_section(a: AnalysisRun, stage: AnalysisStageConfig) -> list[tuple[str, object]]:
    """``[(heading, frame)]`` of every sweep or ablation among the students (:func:`tables.sweep_tables`);
    for a training-fraction sweep also the accuracy curves and the paired ``compare`` difference against the
    fraction (``a.figures["fraction"]``, ``a.figures["fraction_difference"]``)."""
    from qcrdkit.analysis import plots

    sweeps = tables.sweep_tables(a.students)
    a.report.data("sweeps", sweeps)
    shown = []
    for table in sweeps:
        heading = f"{table['sweep']} · {table['method']} on {table['task']} ({table['run']})"
        frame = tables.sweep_frame(table)
        a.report.table(heading, frame)
        shown.append((heading, frame))
    fraction_tables = [t for t in sweeps if t["sweep"].startswith("Training-set fraction")]
    if fraction_tables:
        a.figures["fraction"] = plots.plot_fraction_curves(fraction_tables)
        a.report.figure("fraction.png", a.figures["fraction"], "Test accuracy against the share of training questions (Fig. 4)")
        diffs = tables.factor_differences(a.students, a.predictions, field="train_fraction", a=stage.compare[1],
                                          b=stage.compare[0])
        if diffs:
            a.report.data("fraction_differences", diffs)
            a.figures["fraction_difference"] = plots.plot_factor_differences(diffs, tables.METHOD_NAMES,
                                                                             xlabel="share of training questions")
            a.report.figure("fraction_difference.png", a.figures["fraction_difference"],
                            f"{stage.compare[1]} − {stage.compare[0]} against the share of training questions, paired by "
                            "seed (thick: bootstrap over seeds then questions; thin: t over seeds)")
    return shown


@dataclass
class QualityScores:
    judge_name: str                  # online (the QCRD student's final judge) | stage02
    study: object                    # the student's TemperatureStudy (samples cached per question and temperature)
    studied: list                    # the test questions it samples (kde and case-study questions)
    score_rows: list                 # teacher held-out and student rows, each with the judge's score
    score_table: object              # mean score (and answer correctness) by source
    ranking: dict                    # qcrdkit.analysis.judging.judge_rankings
    ranking_table: object
    kde: object                      # the figure


def quality_section(a: AnalysisRun, stage: AnalysisStageConfig) -> QualityScores:
    """The judge QCRD used (``student``'s final online judge, else stage 02's) scores the teacher's held-out
    rationales and the student's samples at each of ``temperatures`` (``kde_questions`` test questions,
    ``samples_per_temperature`` each): the KDE of Fig. 6, the mean scores, ``report/student_samples.jsonl`` for
    the explorer, and the right/wrong ranking of every judge beside the trivial scorers (at τ 0.7, or the first
    temperature)."""
    import pandas as pd

    from qcrdkit.core.io import write_jsonl
    from qcrdkit.students import build_student
    from qcrdkit.analysis import plots
    from qcrdkit.analysis.casestudy import TemperatureStudy, mean_scores, pick_questions
    from qcrdkit.analysis.judging import judge_rankings, rescored, run_judges, teacher_heldout_rows

    judges = run_judges(a.run_dir, stage.student)
    name = next(iter(judges))
    model, tok = build_student(str(a.run_dir / "students" / stage.student))
    studied = pick_questions(a.test_examples, max(stage.kde_questions, stage.case_questions), seed=stage.seed)
    study = TemperatureStudy(model, tok, a.task, studied, judge=judges[name][0], judge_tokenizer=judges[name][1],
                             samples_per_temperature=stage.samples_per_temperature, seed=stage.seed)
    teacher_rows = teacher_heldout_rows(a.run_dir)
    start = time.perf_counter()
    sampled = study.score_rows(stage.temperatures, [ex.id for ex in studied[:stage.kde_questions]])
    a.report.data("work_quality", {"seconds": round(time.perf_counter() - start, 2), "samples": len(sampled)})
    rows = rescored(judges[name], teacher_rows) + sampled
    kde = plots.plot_score_kde(rows, title=f"Quality scores ({name} judge): teacher and student '{stage.student}' "
                                           f"({a.task.name})")
    a.report.figure("scores_kde.png", kde, "Judge quality scores by source and sampling temperature (Fig. 6)")
    score_table = pd.DataFrame(mean_scores(rows)).set_index("source")
    score_table["answer_correct"] = score_table["answer_correct"].astype(object).where(
        score_table["answer_correct"].notna(), "–")
    a.report.table("Quality scores by source", score_table,
                   note="answer_correct: share of the student's sampled rationales whose own answer is right.")
    a.report.data("quality_scores", mean_scores(rows))
    student_rows = [r for r in rows if r["source"].startswith("student")]
    by_id = {ex.id: ex for ex in studied}
    write_jsonl(a.report.folder / "student_samples.jsonl",       # for the rationale explorer
                [{"student": stage.student, "split": "test", "judge": name, "question": by_id[r["question_id"]].input,
                  "gold": by_id[r["question_id"]].answer,
                  **{k: r.get(k) for k in ("question_id", "temperature", "index", "rationale", "answer", "correct",
                                           "score")}} for r in student_rows])
    a.report.data("student_samples_correct", {str(float(t)): float(np.mean([r["correct"] for r in student_rows
                                                                            if r["temperature"] == t]))
                                              for t in stage.temperatures})
    judged_t = 0.7 if 0.7 in stage.temperatures else stage.temperatures[0]
    ranking = judge_rankings(judges, teacher_rows, [{"label": int(r["correct"]), "question": by_id[r["question_id"]].input,
                                                     **{k: r[k] for k in ("rationale", "question_id", "answer")}}
                                                    for r in student_rows if r["temperature"] == judged_t], judged_t)
    a.report.data("judge_auc", {k: (ranking[k] or {}).get("judge") for k in ("teacher_heldout", "student_samples")})
    a.report.data("judge_ranking", ranking)
    from qcrdkit.analysis.judging import ranking_row

    ranking_table = pd.DataFrame({f"{judge} judge{ranking['reads'].get(judge, '')} · {part}": ranking_row(v)
                                  for judge, parts in ranking["by_judge"].items() for part, v in parts.items()}).T
    a.report.table("Does the judge rank? (ROC-AUC, right vs wrong rationales)", ranking_table,
                   note=f"teacher_heldout: the teacher's rationales of the questions stage 02 held out (no judge trained "
                        f"on them); student_samples: the student's τ = {judged_t:g} samples on test questions. "
                        "[95 % bootstrap interval over questions]; agreement + shorter: agreement with its ties broken "
                        "by shorter-first; lead: the judge minus the best of the three, a lead only when its interval "
                        "excludes 0. A judge that reads agreement says so in its row.")
    return QualityScores(name, study, studied, rows, score_table, ranking, ranking_table, kde)


@dataclass
class LLMJudgement:
    counts_table: object             # outcomes per student temperature (the compare pair, seed 0)
    rows: list                       # every judged pair of seed 0, both orders' replies
    figure: object
    preference_table: object = None  # (B better − A better) / pairs per seed, mean and t interval over seeds
    preference: dict = field(default_factory=dict)   # per temperature: preference_over_seeds


def sources_section(a: AnalysisRun, stage: AnalysisStageConfig) -> list[dict]:
    """``case_questions`` training questions: what each rationale source teaches and the greedy rationale each
    student of the run (seed 0) writes for it (:mod:`qcrdkit.analysis.sources`); saved to
    ``report/source_rationales.jsonl`` (the dashboard's), summed up in the report."""
    from qcrdkit.core.io import write_jsonl
    from qcrdkit.analysis.sources import (SAVED, add_student_rationales, rationale_students, source_questions,
                                          source_summary)

    rows = source_questions(a.run_dir, stage.case_questions, seed=stage.seed)
    examples = {ex.id: ex for ex in a.task.load("train", data_dir=a.spec.get("data_dir"))}
    usable = [s for s in rationale_students(a.students, a.run_dir.name) if student_problem(a, s["name"]) is None]
    add_student_rationales(rows, a.run_dir, usable, a.task, examples)
    write_jsonl(a.report.folder / SAVED, rows)
    a.report.table(f"Rationale sources ({len(rows)} training questions)", source_summary(rows),
                   note="The rationales each source teaches (stage 01's reading: right or wrong) and the greedy "
                        f"rationale each seed-0 student writes for the same questions; every one in `{SAVED}`.")
    return rows


def student_problem(a: AnalysisRun, name: str) -> str | None:
    """Why the run's student ``name`` cannot be sampled (the quality scores, the case study), or ``None``: not
    trained, unfinished, or left out for stale inputs."""
    folder = a.run_dir / "students" / name
    reason = next((why for f, why in a.left_out if Path(f) == folder), None)
    if reason:
        return f"`students/{name}` is {reason}" if reason.startswith("unfinished") else f"`students/{name}` was {reason}"
    if not (folder / "metrics.json").exists():
        trained = sorted(s["name"] for s in a.students if s["run"] == a.run_dir.name)
        return f"the run has no student `{name}`; set `student` to one of {trained}"
    return None


def missing_students(a: AnalysisRun, names) -> list[str]:
    """The names among ``names`` with no trained student folder in the run."""
    return [n for n in names if not (a.run_dir / "students" / n / "metrics.json").exists()]


def seed_pairs(a: AnalysisRun, names) -> dict[int, tuple[str, str]]:
    """``{seed: (A's folder, B's folder)}``: the ``compare`` pair (seed 0) and every other seed whose two students
    the run has (``<name>-seed<k>``, the names :func:`qcrdkit.training.student_folder_name` gives)."""
    pairs = {0: tuple(names)}
    for path in sorted((a.run_dir / "students").glob(f"{names[0]}-seed*/metrics.json")):
        seed = path.parent.name[len(names[0]) + len("-seed"):]
        if seed.isdigit() and not missing_students(a, [f"{names[1]}-seed{seed}"]):
            pairs[int(seed)] = (path.parent.name, f"{names[1]}-seed{seed}")
    return pairs


def llm_judge_section(a: AnalysisRun, stage: AnalysisStageConfig) -> LLMJudgement:
    """The two ``compare`` students' rationales at each of ``llm_judge_temperatures`` on ``llm_judge_questions``
    test questions, judged pairwise in both orders by ``llm_judge`` (cached replies; a re-run asks only what is
    missing); the same for each other seed whose two students the run has, so the preference gets an interval over
    seeds (:func:`~qcrdkit.analysis.llm_judge.preference_over_seeds`). A ``compare`` student the run lacks is a
    :class:`qcrdkit.core.errors.ConfigError` naming it."""
    import pandas as pd

    from qcrdkit.core.errors import ConfigError
    from qcrdkit.core.paths import project_path
    from qcrdkit.students import build_student
    from qcrdkit.analysis import plots
    from qcrdkit.analysis.casestudy import TemperatureStudy, pick_questions
    from qcrdkit.analysis.llm_judge import (count_outcomes, judge_client, judge_pairs, pairwise_items,
                                            preference_over_seeds)

    missing = missing_students(a, stage.compare)
    if missing:
        raise ConfigError(f"{ANALYSIS}.compare: {a.run_dir / 'students'} has no trained student {missing} "
                          f"(students there: {sorted(s['name'] for s in a.students if s['run'] == a.run_dir.name)}); "
                          "set compare to two of them, or llm_judge = None")
    judged = pick_questions(a.test_examples, stage.llm_judge_questions, seed=stage.seed + 1)
    ids = [ex.id for ex in judged]
    pairs = seed_pairs(a, stage.compare)
    counts, rows = {}, []
    with judge_client(stage.llm_judge, a.task.name, model=stage.llm_judge_model, base_url=stage.llm_judge_base_url,
                      api_key_env=stage.llm_judge_api_key_env, cache_dir=project_path(stage.llm_judge_cache_dir),
                      progress=stage.progress) as client:
        start = time.perf_counter()              # the pairs' work, after the client is up
        for seed, names in pairs.items():
            studies = [TemperatureStudy(*build_student(str(a.run_dir / "students" / name)), a.task, judged,
                                        samples_per_temperature=1, seed=stage.seed) for name in names]
            for temperature in stage.llm_judge_temperatures:
                texts = [{r["question_id"]: r["rationale"] for r in s.score_rows([temperature], ids)} for s in studies]
                judged_rows = judge_pairs(client, a.task.name, pairwise_items(a.task, judged, *texts))
                rows += [{**r, "student_temperature": temperature, "seed": seed} for r in judged_rows]
                if seed == 0:
                    counts[f"τ={temperature:g}"] = count_outcomes([r["outcome"] for r in judged_rows])
    a.report.data("work_llm_judge", {"seconds": round(time.perf_counter() - start, 2), "pairs": len(rows)})
    first, second = (tables.METHOD_NAMES.get(n, n) for n in stage.compare)
    table = pd.DataFrame(counts).T.rename(columns={"a_better": f"{first} better", "both_good": "both good",
                                                   "b_better": f"{second} better", "both_bad": "both bad"})
    a.report.table(f"LLM judge ({stage.llm_judge_model}): {first} vs {second}", table,
                   note=f"{len(judged)} test questions per student temperature, each judged in both orders; the "
                        f"students of seed 0 ({' and '.join(stage.compare)}).")
    preference = {f"τ={t:g}": preference_over_seeds({seed: [r["outcome"] for r in rows if r["seed"] == seed
                                                            and r["student_temperature"] == t] for seed in pairs})
                  for t in stage.llm_judge_temperatures}
    over_seeds = tables.preference_table(preference)
    a.report.table(f"LLM judge over seeds: ({second} better − {first} better) / pairs", over_seeds,
                   note=f"Each seed's two students judged on the same {len(judged)} questions; mean over "
                        f"{len(pairs)} seed(s) with a 95 % t interval over seeds (none from one seed).")
    a.report.data("llm_judge", {"model": stage.llm_judge_model, "endpoint": stage.llm_judge, "questions": len(judged),
                                "counts": counts, "preference_over_seeds": preference})
    figure = plots.plot_judge_counts(counts, first, second)
    a.report.figure("llm_judge.png", figure, "LLM judge outcomes (Table 7)")
    return LLMJudgement(table, [r for r in rows if r["seed"] == 0], figure, over_seeds, preference)


def judged_example(judgement: LLMJudgement, names: tuple[str, str]) -> str:
    """One judged pair (the first whose outcome is not "both good") as markdown: the question, the two
    rationales, the judge's replies in both orders."""
    first, second = (tables.METHOD_NAMES.get(n, n) for n in names)
    example = next((r for r in judgement.rows if r["outcome"] != "both_good"), judgement.rows[0])
    return (f"**Example** ({example['id']}, outcome *{example['outcome']}*): {example['question']}\n\n"
            f"- **{first}**: {example['a']}\n- **{second}**: {example['b']}\n\n"
            f"Judge, {first} first: *{example['reply_a_first']}* · {second} first: *{example['reply_b_first']}*")
