"""Stage 02's judge, made from its parameters: a student preset's encoder with the run's student tokenizer
(``scratch-*``: the paper's set-up, the judge is the student's own encoder architecture) or a pretrained
backbone (``minilm``, ``t5-tiny`` …, a Hugging Face name or folder; :func:`qcrdkit.judge.build_judge`)."""
from __future__ import annotations

from pathlib import Path

from qcrdkit.core.stages import JudgeStageConfig
from qcrdkit.judge.model import QualityJudge, build_judge, judge_from_student, freeze_bottom_layers


def preset_judge(run_dir: str | Path, preset: str, *, tokenizer: str = JudgeStageConfig.tokenizer,
                 vocab_size: int = JudgeStageConfig.vocab_size, max_length: int | None = None,
                 answer_input: str | bool = JudgeStageConfig.answer_input) -> tuple[QualityJudge, object]:
    """A judge with a student preset's encoder (random init) and the run's student tokenizer (trained on the
    run's corpus the first time, shared with stage 03). Costs the student's encoder per score."""
    from qcrdkit.students.models import build_student
    from qcrdkit.students.models import run_student_tokenizer

    tok = run_student_tokenizer(run_dir, preset, tokenizer, vocab_size)
    student, tok = build_student(preset, tokenizer=tok)
    return judge_from_student(student, tok, max_length=max_length or 256, pretrained=False, backbone=preset,
                              answer_input=answer_input)


def build_stage_judge(run_dir: str | Path, stage: JudgeStageConfig) -> tuple[QualityJudge, object, int]:
    """``(judge, tokenizer, trainable parameters)`` as stage 02's ``backbone``, ``tokenizer``, ``vocab_size``,
    ``max_length``, ``answer_input`` and ``freeze_layers`` ask."""
    from qcrdkit.students.models import STUDENT_PRESETS

    if stage.backbone in STUDENT_PRESETS:
        model, tok = preset_judge(run_dir, stage.backbone, tokenizer=stage.tokenizer, vocab_size=stage.vocab_size,
                                  max_length=stage.max_length, answer_input=stage.answer_input)
    else:
        model, tok = build_judge(stage.backbone, max_length=stage.max_length, answer_input=stage.answer_input)
    return model, tok, freeze_bottom_layers(model, stage.freeze_layers)
