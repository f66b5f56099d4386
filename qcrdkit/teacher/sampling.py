"""Sampling a teacher for a task's questions: prompts in, sample records out."""
from __future__ import annotations

from qcrdkit.tasks.base import Example, Task
from qcrdkit.teacher.client import TeacherClient
from qcrdkit.teacher.prompts import build_messages, load_template
from qcrdkit.teacher.records import make_record


def teacher_prompts(task: Task, examples: list[Example], template: str | None = None) -> dict[str, list[dict]]:
    template = template or load_template(task.name)
    return {ex.id: build_messages(template, ex.input) for ex in examples}


def sample_teacher(task: Task, examples: list[Example], client: TeacherClient, *, split: str,
                   template: str | None = None) -> list[dict]:
    """K sample records per example (cached completions are reused, missing ones requested)."""
    completions = client.sample(teacher_prompts(task, examples, template), desc=f"teacher {task.name}/{split}")
    cfg = client.config
    return [make_record(task, ex, split=split, sample_index=c["sample_index"], raw=c["text"],
                        temperature=cfg.temperature, model=cfg.model, source="teacher",
                        finish_reason=c.get("finish_reason"))
            for ex in examples for c in completions[ex.id]]
