"""Sampling K completions per prompt from any OpenAI-compatible chat-completions endpoint.

* One request with ``n=K`` per prompt; when a server returns fewer choices (many local servers
  ignore ``n``), the missing samples are asked for one by one, with ``seed + sample_index``.
* At most ``concurrency`` requests in flight. Retries with exponential backoff on 408/409/429,
  5xx, timeouts and connection errors come from the ``openai`` client itself (``max_retries``).
* Every completion goes to the :class:`~qcrdkit.teacher.cache.CompletionCache` as soon as it
  arrives; a re-run requests only what is missing.
* API keys are read from the environment variable named by ``api_key_env``, never passed as
  values: a hosted endpoint without its key fails before any request.

``await client.sample_async(prompts)`` inside an event loop (a notebook cell may ``await``);
``client.sample(prompts)`` anywhere else, a notebook included: it runs the async code on its own
thread and event loop, so it never calls ``asyncio.run`` on a loop that is already running.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from ..errors import ConfigError, QcrdError
from .cache import CompletionCache, completion_key

NO_KEY_PLACEHOLDER = "no-key-needed"


@dataclass
class TeacherConfig:
    """Where and how to sample the teacher.

    Attributes:
        model: model name sent to the endpoint.
        base_url: OpenAI-compatible base URL (``http://127.0.0.1:8000/v1`` for vLLM or llama.cpp);
            ``None`` means OpenAI's own API.
        temperature: sampling temperature (paper: 0.7).
        k: samples per question (paper: 5).
        max_tokens: completion length cap.
        seed: request seed (best-effort determinism on servers that honour it); ``None`` = unseeded.
        concurrency: requests in flight at once.
        timeout: seconds before a request counts as stalled (then retried).
        max_retries: retries per request on 408/409/429/5xx, timeouts and connection errors.
        api_key_env: NAME of the environment variable holding the key (never the key itself);
            ``None`` for endpoints that need no key.
        stop: stop sequences (cut where a completion starts the next few-shot example).
        cache_namespace: identity of the endpoint in cache keys; defaults to ``base_url``. Set it
            when the same model moves between URLs (e.g. the synthetic teacher's random port).
    """

    model: str
    base_url: str | None = None
    temperature: float = 0.7
    k: int = 5
    max_tokens: int = 256
    seed: int | None = 0
    concurrency: int = 8
    timeout: float = 60.0
    max_retries: int = 5
    api_key_env: str | None = "OPENAI_API_KEY"
    stop: list[str] | None = None
    cache_namespace: str | None = None

    def __post_init__(self):
        if self.k < 1:
            raise ConfigError(f"teacher k (samples per question) must be >= 1, got {self.k}")
        if self.concurrency < 1:
            raise ConfigError(f"teacher concurrency must be >= 1, got {self.concurrency}")
        if not 0 <= self.temperature <= 5:
            raise ConfigError(f"teacher temperature must be in [0, 5], got {self.temperature}")

    def cache_fields(self) -> dict:
        """What, besides the messages and sample index, decides a completion."""
        return {"endpoint": self.cache_namespace or self.base_url or "https://api.openai.com/v1",
                "model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens,
                "stop": self.stop, "seed": self.seed}


def is_loopback_url(url: str | None) -> bool:
    if url is None:
        return False
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_api_key(config: TeacherConfig) -> str:
    """The key from the environment; a placeholder for loopback or key-less endpoints.

    Raises :class:`ConfigError` naming the variable when a hosted endpoint has no key.
    """
    if config.api_key_env:
        key = os.environ.get(config.api_key_env)
        if key:
            return key
    if config.api_key_env is None or is_loopback_url(config.base_url):
        return NO_KEY_PLACEHOLDER
    where = config.base_url or "OpenAI's API"
    raise ConfigError(f"the teacher endpoint {where} needs an API key: set the environment variable "
                      f"{config.api_key_env} (keys are read from the environment only, never from parameters; "
                      "use api_key_env=None for a self-hosted endpoint that needs none)")


class TeacherError(QcrdError):
    """Some prompts could not be sampled after all retries; what finished is in the cache."""


@dataclass
class SampleStats:
    prompts: int = 0
    requests: int = 0
    cache_hits: int = 0
    fallback_requests: int = 0
    failures: dict = field(default_factory=dict)
    seconds: float = 0.0


def _run_in_own_loop(coro_factory):
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="qcrd-teacher") as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


class TeacherClient:
    def __init__(self, config: TeacherConfig, cache: CompletionCache | None = None, progress: bool = True):
        self.config = config
        self.cache = cache
        self.progress = progress
        self._api_key = resolve_api_key(config)   # fail before any request
        self.last_stats = SampleStats()

    # ----------------------------------------------------------------- public API
    def sample(self, prompts: dict[str, list[dict]], desc: str | None = None) -> dict[str, list[dict]]:
        """Synchronous :meth:`sample_async` (safe inside Jupyter)."""
        return _run_in_own_loop(lambda: self.sample_async(prompts, desc=desc))

    async def sample_async(self, prompts: dict[str, list[dict]], desc: str | None = None) -> dict[str, list[dict]]:
        """K completions for each ``{prompt_id: messages}``, as ``{prompt_id: [completion, ...]}``.

        A completion is a dict with ``text``, ``finish_reason``, ``sample_index``, ``cached`` and
        ``request`` (what produced it). Raises :class:`TeacherError` at the end if any prompt
        failed after all retries; every completion that did arrive is already cached.
        """
        from openai import AsyncOpenAI
        from tqdm.auto import tqdm

        from ..progress import report

        cfg = self.config
        stats = self.last_stats = SampleStats(prompts=len(prompts))
        t0 = time.perf_counter()
        client = AsyncOpenAI(api_key=self._api_key, base_url=cfg.base_url, timeout=cfg.timeout,
                             max_retries=cfg.max_retries)
        semaphore = asyncio.Semaphore(cfg.concurrency)
        results: dict[str, list[dict]] = {}
        label = desc or f"teacher {cfg.model}"
        finished: list[str] = []
        bar = tqdm(total=len(prompts), desc=label, disable=not self.progress, unit="q", mininterval=0.5)

        async def one(pid: str, messages: list[dict]):
            try:
                results[pid] = await self._sample_prompt(client, semaphore, messages, stats)
            except Exception as exc:  # recorded, raised after the others finished
                stats.failures[pid] = f"{type(exc).__name__}: {exc}"
            finally:
                bar.update(1)
                finished.append(pid)
                report(label, len(finished), len(prompts))

        try:
            await asyncio.gather(*(one(pid, msgs) for pid, msgs in prompts.items()))
        finally:
            bar.close()
            await client.close()
            stats.seconds = time.perf_counter() - t0
        if stats.failures:
            first_id, first_err = next(iter(stats.failures.items()))
            raise TeacherError(f"{len(stats.failures)} of {len(prompts)} prompts failed after {cfg.max_retries} "
                               f"retries (first: {first_id}: {first_err}). Finished samples are cached; "
                               "re-run to retry only the missing ones.")
        return results

    # ----------------------------------------------------------------- internals
    async def _sample_prompt(self, client, semaphore, messages, stats: SampleStats) -> list[dict]:
        cfg = self.config
        fields = {**cfg.cache_fields(), "messages": messages}
        keys = [completion_key(fields, i) for i in range(cfg.k)]
        got: list[dict | None] = [self.cache.get(key) if self.cache is not None else None for key in keys]
        for entry in got:
            if entry is not None:
                entry["cached"] = True
                stats.cache_hits += 1

        async def store(i: int, entry: dict):
            entry = {**entry, "sample_index": i}
            if self.cache is not None:   # file I/O off the event loop
                await asyncio.to_thread(self.cache.put, keys[i], entry)
            got[i] = {**entry, "cached": False}

        if all(entry is None for entry in got):
            for i, entry in enumerate((await self._request(client, semaphore, messages, cfg.k, cfg.seed, stats))[: cfg.k]):
                await store(i, entry)

        missing = [i for i, entry in enumerate(got) if entry is None]
        if missing:
            stats.fallback_requests += len(missing)

            async def single(i):
                seed = None if cfg.seed is None else cfg.seed + i
                entries = await self._request(client, semaphore, messages, 1, seed, stats)
                if not entries:
                    raise TeacherError(f"the endpoint returned no choices for sample {i}")
                await store(i, entries[0])

            await asyncio.gather(*(single(i) for i in missing))
        return got  # type: ignore[return-value]

    async def _request(self, client, semaphore, messages, n: int, seed, stats: SampleStats) -> list[dict]:
        cfg = self.config
        kwargs: dict[str, Any] = dict(model=cfg.model, messages=messages, temperature=cfg.temperature,
                                      max_tokens=cfg.max_tokens, n=n)
        if seed is not None:
            kwargs["seed"] = seed
        if cfg.stop:
            kwargs["stop"] = cfg.stop
        async with semaphore:
            stats.requests += 1
            response = await client.chat.completions.create(**kwargs)
        request = {"endpoint": cfg.cache_namespace or cfg.base_url, "model": cfg.model, "temperature": cfg.temperature,
                   "max_tokens": cfg.max_tokens, "n": n, "seed": seed, "created": int(time.time()),
                   "response_model": getattr(response, "model", None)}
        return [{"text": choice.message.content or "", "finish_reason": choice.finish_reason, "request": request}
                for choice in sorted(response.choices, key=lambda c: c.index)]
