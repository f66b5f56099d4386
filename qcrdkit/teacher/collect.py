"""Stage 01 in one call per source: where the teacher samples come from.

``source``:
  * ``"synthetic"`` — the embedded offline teacher (``arith`` only), started on a loopback port
    and sampled through the same ``openai`` client path as any hosted model;
  * ``"openai"`` — any OpenAI-compatible endpoint (``base_url``; ``None`` = OpenAI);
  * ``"dss_import"`` — the Distilling Step-by-Step PaLM completions under ``data_dir``;
  * ``"jsonl_import"`` — a generic JSONL dump at ``import_path``.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import asdict
from pathlib import Path

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.stages import TeacherSamplingConfig as Stage01
from qcrdkit.tasks.base import Example, Task
from qcrdkit.teacher.cache import CompletionCache
from qcrdkit.teacher.client import TeacherClient, TeacherConfig
from qcrdkit.teacher.importers import import_dss_llm, import_jsonl
from qcrdkit.teacher.prompts import STOP_SEQUENCES, load_template
from qcrdkit.teacher.sampling import sample_teacher
from qcrdkit.teacher.synthetic import MODEL_NAME, SyntheticTeacherServer

SOURCES = ("synthetic", "openai", "dss_import", "jsonl_import")


@contextlib.contextmanager
def endpoint(source: str, base_url: str | None, api_key_env: str | None):
    """``(base_url, cache_namespace, api_key_env)`` of an OpenAI-compatible endpoint: for
    ``"synthetic"`` the embedded server, started on a loopback port for the ``with`` block."""
    if source == "synthetic":
        with SyntheticTeacherServer() as server:
            yield server.url, f"synthetic://{MODEL_NAME}", None
    elif source == "openai":
        yield base_url, None, api_key_env
    else:
        raise ConfigError(f"an endpoint is 'synthetic' or 'openai', got {source!r}")


def collect_teacher_samples(task: Task, examples: dict[str, list[Example]], *, cache_dir: str | Path | None,
                            source: str = Stage01.teacher, base_url: str | None = Stage01.base_url, model: str = Stage01.model,
                            api_key_env: str | None = Stage01.api_key_env, k: int = Stage01.k, temperature: float = Stage01.temperature,
                            max_tokens: int = Stage01.max_tokens, seed: int | None = Stage01.seed, concurrency: int = Stage01.concurrency,
                            timeout: float = Stage01.timeout, max_retries: int = 5, prompt_template: str | Path | None = None,
                            data_dir: str | Path | None = None, import_path: str | Path | None = None,
                            other_examples: dict[str, list[Example]] | None = None, strict_import: bool = False,
                            allow_test_overlap: bool = False, progress: bool = True) -> tuple[list[dict], dict]:
    """Sample records for every split in ``examples``, and a provenance dict (no secrets). The defaults are stage
    01's (:class:`~qcrdkit.core.stages.TeacherSamplingConfig`); ``cache_dir`` is given (``None``: no cache).

    ``jsonl_import`` reads ``import_path`` once for all splits (:func:`import_jsonl`; ``other_examples``:
    the task's splits not sampled, for routing and the test-leakage check;
    ``strict_import``: an unmatched line is an error; ``allow_test_overlap``: route lines that
    overlap the test split there instead of refusing). Every source: a split with more than
    :data:`UNPARSEABLE_WARNING` of its samples unparseable is warned about (they become negatives)."""
    if source not in SOURCES:
        raise ConfigError(f"teacher must be one of {SOURCES}, got {source!r}")
    t0 = time.perf_counter()
    provenance: dict = {"source": source, "task": task.name, "splits": {s: len(v) for s, v in examples.items()}}
    records: list[dict] = []
    if source == "dss_import":
        if data_dir is None:
            raise ConfigError("teacher='dss_import' needs data_dir (the DSS data folder)")
        for split, exs in examples.items():
            records += import_dss_llm(task, data_dir, split, exs)
    elif source == "jsonl_import":
        if import_path is None:
            raise ConfigError("teacher='jsonl_import' needs import_path (a JSONL file of rationales)")
        records, provenance["import"] = import_jsonl(task, import_path, examples, temperature=temperature,
                                                     other_examples=other_examples, strict=strict_import,
                                                     allow_test_overlap=allow_test_overlap)
        provenance["import_path"] = str(import_path)
        imported = provenance["import"]
        print(f"imported {import_path}: " + "; ".join(
            f"{s} {v['questions']}/{v['of_questions']} questions, {v['rationales']} rationales"
            for s, v in imported["by_split"].items())
            + (f"; unmatched lines {imported['unmatched']}" if imported["unmatched"] else "")
            + (f"; {len(imported['test_overlap'])} test-overlap lines routed to test (analysis only)"
               if imported["test_overlap"] else ""))
    else:
        if source == "synthetic" and task.name != "arith":
            raise ConfigError(f"the synthetic teacher only answers 'arith' questions, not {task.name!r}; "
                              "use teacher='openai' with a base_url, or 'dss_import'")
        template = load_template(task.name, prompt_template)
        cache = CompletionCache(cache_dir) if cache_dir is not None else None
        with endpoint(source, base_url, api_key_env) as (base_url, namespace, api_key_env):
            config = TeacherConfig(model=model, base_url=base_url, temperature=temperature, k=k, max_tokens=max_tokens,
                                   seed=seed, concurrency=concurrency, timeout=timeout, max_retries=max_retries,
                                   api_key_env=api_key_env, stop=STOP_SEQUENCES, cache_namespace=namespace)
            client = TeacherClient(config, cache, progress=progress)
            counts: dict = {}
            for split, exs in examples.items():
                records += sample_teacher(task, exs, client, split=split, template=template)
                counts = _add_counts(counts, client.last_stats.record())
        # requests (logical calls), attempts sent (retries included), retries and their causes
        provenance.update(teacher=asdict(config), **counts,
                          cache_dir=None if cache_dir is None else str(cache_dir),
                          prompt_template=str(prompt_template) if prompt_template else f"builtin:{task.name}")
    provenance["unparseable"] = warn_unparseable(records, source)
    provenance["reading"] = reading_counts(records)
    provenance["seconds"] = round(time.perf_counter() - t0, 2)
    return records, provenance


def _add_counts(total: dict, more: dict) -> dict:
    """Sum two :meth:`SampleStats.record` dicts (numbers added, cause counts merged)."""
    out = dict(total)
    for key, value in more.items():
        if isinstance(value, dict):
            merged = dict(out.get(key, {}))
            for cause, n in value.items():
                merged[cause] = merged.get(cause, 0) + n
            out[key] = merged
        else:
            out[key] = out.get(key, 0) + value
    return out


def other_splits(task: Task, sampled: list[str], data_dir: str | Path | None = None) -> dict[str, list[Example]]:
    """The task's splits not in ``sampled`` that load (an imported dump is routed to them and checked
    against their test questions); a split the data lacks is left out."""
    from qcrdkit.tasks.base import SPLITS

    out = {}
    for split in SPLITS:
        if split not in sampled:
            try:
                out[split] = task.load(split, data_dir=data_dir)
            except (FileNotFoundError, ConfigError):
                pass
    return out


#: share of a split's samples without a parseable answer above which stage 01 warns
UNPARSEABLE_WARNING = 0.10


def reading_counts(records: list[dict]) -> dict[str, dict]:
    """Per split: the share of samples whose answer was read (``read_rate``) and how many each rule of
    :mod:`qcrdkit.tasks.reading` read (``by_rule``; ``unread`` counts the rest)."""
    from qcrdkit.tasks.reading import RULES

    out = {}
    for split in sorted({r["split"] for r in records}):
        part = [r for r in records if r["split"] == split]
        by_rule = {rule: sum(r.get("read_by", "unread" if r["answer"] is None else "marker") == rule for r in part)
                   for rule in RULES}
        out[split] = {"samples": len(part), "read_rate": round(1 - by_rule["unread"] / len(part), 4),
                      "by_rule": {rule: n for rule, n in by_rule.items() if n}}
    return out


def warn_unparseable(records: list[dict], source: str, after_llm: bool = False) -> dict[str, float]:
    """Share of unparseable samples per split; a loud warning for each split above
    :data:`UNPARSEABLE_WARNING` (an unparseable sample can never agree with the majority, so it
    becomes a negative); ``after_llm``: the LLM reader has already been asked (the warning does not suggest it)."""
    import warnings

    shares = {}
    for split in sorted({r["split"] for r in records}):
        part = [r for r in records if r["split"] == split]
        shares[split] = round(sum(r["answer"] is None for r in part) / len(part), 4)
        if shares[split] > UNPARSEABLE_WARNING:
            example = next(r for r in part if r["answer"] is None)
            message = (f"WARNING: {100 * shares[split]:.1f} % of the {split} samples ({source}) have no answer the "
                       f"kit can read; they all become negatives ("
                       + ("even after the LLM reader" if after_llm else "answer_reader: llm sends them to an LLM")
                       + f"; docs/guide.md, \"How answers are read\"). First: {example['raw'][-160:]!r}")
            print(message)
            warnings.warn(message, stacklevel=2)
    return shares
