"""Stage 01 on a run directory, from its parameters (:class:`qcrdkit.core.stages.TeacherSamplingConfig`): the
functions notebook 01 calls, in its order.

=============================  ======================================================================
:func:`teacher_questions`       the task's questions of ``splits`` (``limit``), and whether the run's samples
                                made with these settings are reused
:func:`sample_rationales`       K samples a question from the teacher (or an import), plus one greedy
                                (τ 0) sample a question for the baselines when the teacher can write it
:func:`split_and_save`          the self-consistency split (§3.2.1), its statistics, ``<run>/teacher/``
=============================  ======================================================================
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.stages import STAGES_BY_NAME, TEACHER_SAMPLING, TeacherSamplingConfig, deciding_settings

STAGE = TEACHER_SAMPLING
#: stage-01 parameters that are paths (relative ones: to the project folder): the run and its record's paths
PATH_PARAMETERS = ("run_dir", *STAGES_BY_NAME[TEACHER_SAMPLING].path_parameters)
#: teachers that can write a greedy (τ 0) sample; the importers bring what the dump has
GREEDY_TEACHERS = ("synthetic", "openai")
#: how answers are read: the kit's rules, or the rules and then an LLM for what they leave unread
ANSWER_READERS = ("rules", "llm")


def with_project_paths(stage: TeacherSamplingConfig) -> TeacherSamplingConfig:
    """The stage with its path parameters resolved against the project (:func:`qcrdkit.core.paths.project_path`)."""
    from qcrdkit.core.paths import project_path

    return replace(stage, **{name: None if getattr(stage, name) is None else str(project_path(getattr(stage, name)))
                             for name in PATH_PARAMETERS})


@dataclass
class TeacherQuestions:
    task: object
    examples: dict           # {split: [Example]} of the sampled splits
    other: dict | None       # jsonl_import: the task's other splits (routing, the test-leakage check)
    decision: str            # reuse | new | replace (qcrdkit.core.rundir.claim_teacher)
    settings: dict           # the deciding settings (what provenance.json records)


def teacher_questions(stage: TeacherSamplingConfig) -> TeacherQuestions:
    """The questions stage 01 samples, after deciding (:func:`qcrdkit.core.rundir.claim_teacher`) whether the run's
    samples are reused; samples made with other settings stop it, naming the differences (unless ``replace``).
    ``stage``'s paths should be resolved (:func:`with_project_paths`)."""
    from qcrdkit.core.rundir import claim_teacher
    from qcrdkit.tasks import get_task
    from qcrdkit.teacher.collect import other_splits

    if stage.answer_reader not in ANSWER_READERS:
        raise ConfigError(f"answer_reader must be one of {ANSWER_READERS}, got {stage.answer_reader!r}")
    settings = deciding_settings(STAGE, asdict(stage))
    decision = claim_teacher(stage.run_dir, settings, replace=stage.replace)
    task = get_task(stage.task, **stage.task_options)
    examples = {split: task.load(split, data_dir=stage.data_dir)[:stage.limit] for split in stage.splits}
    other = other_splits(task, stage.splits, stage.data_dir) if stage.teacher == "jsonl_import" else None
    return TeacherQuestions(task, examples, other, decision, settings)


@dataclass
class TeacherSamples:
    records: list            # one per sample: id, split, question, sample_index, rationale, answer, correct, ...
    greedy: list | None      # one greedy (τ 0) sample a question, or None
    provenance: dict         # where they came from: requests, retries, cache hits, seconds (no secrets)
    reused: bool
    stats: dict | None = None   # by split, after split_and_save (or as saved, when reused)


def sample_rationales(stage: TeacherSamplingConfig, questions: TeacherQuestions) -> TeacherSamples:
    """``k`` samples a question at ``temperature`` from ``teacher`` (every parameter of
    :func:`qcrdkit.teacher.collect.collect_teacher_samples` is the stage's own), and with ``greedy_rationale``
    one greedy sample a question from a teacher that can write one (:data:`GREEDY_TEACHERS`). Reused samples
    are read back instead."""
    from qcrdkit.core.rundir import read_teacher_stage
    from qcrdkit.teacher.collect import collect_teacher_samples

    if questions.decision == "reuse":
        records, greedy, provenance, split_info = read_teacher_stage(stage.run_dir)
        return TeacherSamples(records, greedy, provenance, True, split_info["by_split"])
    common = dict(source=stage.teacher, base_url=stage.base_url, model=stage.model, api_key_env=stage.api_key_env,
                  max_tokens=stage.max_tokens, seed=stage.seed, concurrency=stage.concurrency, timeout=stage.timeout,
                  cache_dir=stage.cache_dir, prompt_template=stage.prompt_template, progress=stage.progress)
    records, provenance = collect_teacher_samples(
        questions.task, questions.examples, k=stage.k, temperature=stage.temperature, data_dir=stage.data_dir,
        import_path=stage.import_path, other_examples=questions.other, strict_import=stage.strict_import,
        allow_test_overlap=stage.allow_test_overlap, **common)
    greedy = None
    if stage.greedy_rationale and stage.teacher in GREEDY_TEACHERS:
        greedy, greedy_provenance = collect_teacher_samples(questions.task, questions.examples, k=1, temperature=0.0,
                                                            **common)
        provenance["greedy"] = {"samples": len(greedy), "requests": greedy_provenance.get("requests", 0),
                                "correct": sum(r["correct"] for r in greedy) / max(len(greedy), 1),
                                **{k: greedy_provenance[k] for k in ("prompt_tokens", "completion_tokens", "seconds")
                                   if k in greedy_provenance}}
    if stage.answer_reader == "llm":
        read_with_llm(stage, questions, records, greedy, provenance)
    return TeacherSamples(records, greedy, provenance, False)


def read_with_llm(stage: TeacherSamplingConfig, questions: TeacherQuestions, records: list, greedy: list | None,
                  provenance: dict) -> None:
    """``answer_reader: llm``: what the rules left unread in ``records`` (and ``greedy``) goes to the reader
    endpoint (:mod:`qcrdkit.teacher.answer_reader`); its counts and the reading after it go into ``provenance``."""
    from qcrdkit.teacher.answer_reader import read_unread, reader_client
    from qcrdkit.teacher.collect import reading_counts, warn_unparseable

    examples = {ex.id: ex for exs in questions.examples.values() for ex in exs}
    with reader_client(stage) as client:
        provenance["answer_reader"] = {"model": client.config.model, "samples": read_unread(questions.task, records,
                                                                                              examples, client)}
        if greedy:
            provenance["answer_reader"]["greedy"] = read_unread(questions.task, greedy, examples, client)
    provenance["reading"] = reading_counts(records)
    provenance["unparseable"] = warn_unparseable(records, stage.teacher, after_llm=True)
    if greedy and "greedy" in provenance:
        provenance["greedy"]["correct"] = sum(r["correct"] for r in greedy) / max(len(greedy), 1)


def sampling_summary(stage: TeacherSamplingConfig, samples: TeacherSamples) -> str:
    """What :func:`sample_rationales` did, in a line or two of markdown."""
    if samples.reused:
        return (f"**Reused** the {len(samples.records)} samples already in `{Path(stage.run_dir) / 'teacher'}`, made "
                "with these settings (`replace = True`, or another `run_dir`, samples again).")
    p = samples.provenance
    lines = [f"{len(samples.records)} samples in {p['seconds']} s; {p.get('requests', 0)} requests "
             f"({p.get('retries', 0)} retries" + "".join(f", {cause} × {n}" for cause, n in p.get("retry_causes", {}).items())
             + f"), {p.get('cache_hits', 0)} cached"]
    if stage.teacher not in GREEDY_TEACHERS:
        lines[0] = f"{len(samples.records)} samples imported ({stage.teacher}) in {p['seconds']} s"
    if "greedy" in p:
        lines.append(f"{p['greedy']['samples']} greedy (τ = 0) samples, {100 * p['greedy']['correct']:.1f}% right")
    elif stage.greedy_rationale:
        lines.append(f"greedy_rationale: teacher {stage.teacher!r} imports rationales; no greedy samples "
                     "(the baselines then need rationale_source='one_sample' or 'self_consistent')")
    if "answer_reader" in p:
        sent = p["answer_reader"]["samples"]
        lines.append(f"LLM reader ({p['answer_reader']['model']}): {sent['sent']} unread samples sent, {sent['read']} "
                     f"read ({sent['cache_hits']} cached)")
    return "  \n".join(lines) + reading_summary(samples.records, p.get("reading"))


def reading_summary(records: list, reading: dict | None, show: int = 3) -> str:
    """How the samples' answers were read (per split: the read rate and each rule's count, as
    :func:`qcrdkit.teacher.collect.reading_counts` records them) and up to ``show`` unread rationales, in markdown."""
    if not reading:
        return ""
    lines = ["", "", "**How the answers were read** (docs/guide.md, \"How answers are read\"):"]
    for split, counts in reading.items():
        rules = ", ".join(f"{rule} {n}" for rule, n in counts["by_rule"].items())
        lines.append(f"- {split}: {100 * counts['read_rate']:.1f} % of {counts['samples']} read ({rules})")
    unread = [r for r in records if r["answer"] is None][:show]
    if unread:
        lines.append(f"\nUnread, the first {len(unread)} (they become negatives):")
        lines += [f"> {' '.join(r['raw'].split())[-240:]}\n" for r in unread]
    return "\n".join(lines)


def split_and_save(stage: TeacherSamplingConfig, questions: TeacherQuestions, samples: TeacherSamples) -> dict:
    """The self-consistency split (``split_mode``; marks each record ``positive``), its statistics by split, and
    ``<run>/task.json`` + ``<run>/teacher/`` written, provenance last. Reused samples: their saved statistics."""
    from qcrdkit.teacher.consistency import apply_split, consistency_stats
    from qcrdkit.core.rundir import record_teacher, save_task_spec, staging_dir, swap_in, write_teacher_artifacts

    if samples.reused:
        return samples.stats
    # a replacement is written beside the old samples and swapped in complete (a failure leaves them as they were)
    into = staging_dir(stage.run_dir) if questions.decision == "replace" else stage.run_dir
    save_task_spec(into, stage.task, stage.data_dir, stage.task_options)   # once the samples are in
    apply_split(samples.records, questions.task, stage.split_mode)
    samples.stats = {split: consistency_stats([r for r in samples.records if r["split"] == split], questions.task)
                     for split in stage.splits}
    write_teacher_artifacts(into, samples.records, {"split_mode": stage.split_mode, "by_split": samples.stats},
                            {**samples.provenance, "split_mode": stage.split_mode}, greedy=samples.greedy)
    record_teacher(into, questions.settings)      # last: what made these samples (a rerun compares it)
    if questions.decision == "replace":
        swap_in(stage.run_dir, ["teacher", "task.json"])
    return samples.stats
