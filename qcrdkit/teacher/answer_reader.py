"""The LLM reader (``answer_reader: llm``): the rationales the rules of :mod:`qcrdkit.tasks.reading` leave unread
are sent to an OpenAI-compatible endpoint with a short extraction prompt (:func:`~qcrdkit.tasks.reading.reader_prompt`),
one request each at temperature 0, cached like teacher samples; a reply the task can read
(:meth:`Task.parse_answer_text <qcrdkit.tasks.base.Task.parse_answer_text>`) becomes the record's answer, marked
``read_by: llm``. Offline, the synthetic endpoint answers the prompt (:func:`qcrdkit.teacher.synthetic.reader_reply`).
"""
from __future__ import annotations

import contextlib

from qcrdkit.core.errors import ConfigError
from qcrdkit.tasks.base import Example, Task
from qcrdkit.tasks.reading import reader_prompt, reply_is_none

#: the teachers whose own endpoint reads when ``reader_base_url`` is None
TEACHER_ENDPOINTS = ("synthetic", "openai")


@contextlib.contextmanager
def reader_client(stage):
    """A :class:`~qcrdkit.teacher.TeacherClient` for reading (one reply a prompt, temperature 0) on the stage's
    reader endpoint: ``reader_base_url`` (``"synthetic"``: the embedded endpoint), or when it is None the
    teacher's own endpoint; ``reader_model`` (None: the teacher's ``model``)."""
    from qcrdkit.teacher import CompletionCache, TeacherClient, TeacherConfig
    from qcrdkit.teacher.collect import endpoint

    if stage.reader_base_url is None and stage.teacher not in TEACHER_ENDPOINTS:
        raise ConfigError(f"answer_reader 'llm' with teacher {stage.teacher!r} needs reader_base_url (an "
                          "OpenAI-compatible endpoint, or 'synthetic' for the embedded one): an import has no endpoint")
    if stage.reader_base_url == "synthetic" or (stage.reader_base_url is None and stage.teacher == "synthetic"):
        name, url = "synthetic", None
    else:
        name, url = "openai", stage.reader_base_url or stage.base_url
    with endpoint(name, url, stage.api_key_env) as (url, namespace, key_env):
        config = TeacherConfig(model=stage.reader_model or stage.model, base_url=url, temperature=0.0, k=1,
                               max_tokens=32, seed=stage.seed, concurrency=stage.concurrency, timeout=stage.timeout,
                               api_key_env=key_env, cache_namespace=namespace)
        yield TeacherClient(config, CompletionCache(stage.cache_dir) if stage.cache_dir else None,
                            progress=stage.progress)


def read_unread(task: Task, records: list[dict], examples: dict[str, Example], client) -> dict:
    """Send every unread record with text to ``client``; fill ``answer``, ``read_by`` (``llm``) and ``correct``
    where the reply names an answer the task reads. Returns the counts: ``sent``, ``read`` (of them),
    ``cache_hits``."""
    unread = [r for r in records if r["answer"] is None and (r.get("raw") or "").strip()]
    if not unread:
        return {"sent": 0, "read": 0, "cache_hits": 0}
    prompts = {str(i): [{"role": "user", "content": reader_prompt(r["question"], r.get("rationale") or r["raw"])}]
               for i, r in enumerate(unread)}
    replies = client.sample(prompts, desc="LLM reader")
    read = 0
    for i, record in enumerate(unread):
        reply = replies[str(i)][0]["text"]
        example = examples.get(record["id"])
        answer = None if reply_is_none(reply) else task.parse_answer_text(reply, example)
        if answer is not None:
            record.update(answer=answer, read_by="llm",
                          correct=bool(example is not None and task.is_correct(answer, example)))
            read += 1
    return {"sent": len(unread), "read": read, "cache_hits": client.last_stats.cache_hits}
