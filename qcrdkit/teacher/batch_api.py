"""OpenAI Batch API round trip, for sampling jobs too large to run interactively.

1. :func:`export_batch` writes ``requests.jsonl`` (one ``POST /v1/chat/completions`` line per
   prompt whose samples are not all cached yet, with ``n=K``) and ``manifest.json`` mapping
   each ``custom_id`` to the cache keys of its K samples.
2. Upload ``requests.jsonl`` with the Batch API yourself (``client.files.create`` +
   ``client.batches.create``) and download the output file when it is done.
3. :func:`import_batch_results` files every returned choice into the completion cache.
   Sampling the same prompts with the same :class:`TeacherConfig` then makes no requests.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

from qcrdkit.core.errors import DataFormatError
from qcrdkit.core.io import iter_jsonl, read_json, write_json, write_jsonl
from qcrdkit.teacher.cache import CompletionCache, completion_key
from qcrdkit.teacher.client import TeacherConfig


def export_batch(config: TeacherConfig, prompts: dict[str, list[dict]], cache: CompletionCache,
                 out_dir: str | Path) -> dict:
    """Write ``requests.jsonl`` and ``manifest.json`` into ``out_dir``; returns counts."""
    out_dir = Path(out_dir)
    lines, manifest = [], {}
    fields = config.cache_fields()
    for pid, messages in prompts.items():
        keys = [completion_key({**fields, "messages": messages}, i) for i in range(config.k)]
        if all(k in cache for k in keys):
            continue
        custom_id = "qcrd-" + hashlib.sha256("".join(keys).encode()).hexdigest()[:40]
        body = {"model": config.model, "messages": messages, "temperature": config.temperature,
                "max_tokens": config.max_tokens, "n": config.k}
        if config.seed is not None:
            body["seed"] = config.seed
        if config.stop:
            body["stop"] = config.stop
        lines.append({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})
        manifest[custom_id] = {"prompt_id": pid, "keys": keys}
    write_jsonl(out_dir / "requests.jsonl", lines)
    write_json(out_dir / "manifest.json", {"config": {**fields}, "requests": manifest})
    return {"requests": len(lines), "skipped_cached": len(prompts) - len(lines)}


def import_batch_results(results_path: str | Path, manifest_path: str | Path, cache: CompletionCache) -> dict:
    """File a Batch API output file into the cache. Returns ``{"imported", "failed", "errors"}``."""
    manifest = read_json(manifest_path)["requests"]
    imported, errors = 0, []
    for lineno, line in iter_jsonl(results_path):
        custom_id = line.get("custom_id")
        if custom_id not in manifest:
            raise DataFormatError(results_path, lineno, f"custom_id {custom_id!r} is not in {manifest_path}")
        response = line.get("response") or {}
        if line.get("error") or response.get("status_code") != 200:
            errors.append({"line": lineno, "custom_id": custom_id, "error": line.get("error") or response.get("body")})
            continue
        body = response.get("body") or {}
        keys = manifest[custom_id]["keys"]
        for choice in sorted(body.get("choices", []), key=lambda c: c.get("index", 0))[: len(keys)]:
            i = int(choice.get("index", 0))
            entry = {"text": (choice.get("message") or {}).get("content") or "",
                     "finish_reason": choice.get("finish_reason"), "sample_index": i,
                     "request": {"batch_custom_id": custom_id, "response_model": body.get("model"),
                                 "imported": int(time.time())}}
            cache.put(keys[i], entry)
            imported += 1
    return {"imported": imported, "failed": len(errors), "errors": errors}
