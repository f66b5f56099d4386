"""Sampling K completions per prompt from any OpenAI-compatible chat-completions endpoint.

* One request with ``n=K`` per prompt; when a server returns fewer choices (many local servers
  ignore ``n``), the missing samples are asked for one by one, with ``seed + sample_index``.
* At most ``concurrency`` requests in flight. Retries with exponential backoff on 408/409/429,
  5xx, timeouts and connection errors come from the ``openai`` client itself (``max_retries``);
  every attempt is counted (``SampleStats``: attempts, retries and their causes).
* Fail fast: before the first request the endpoint's host and port are probed (a TCP connection,
  ``probe_timeout`` seconds), so a server that is down or a wrong port fails in seconds, naming the
  base URL. A status that says the endpoint itself is wrong — 401, 403, 404 — stops every prompt at
  once (nothing is retried; what to check is in the message); other 4xx fail their prompt unretried.
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

from qcrdkit.core.errors import ConfigError, QcrdError
from qcrdkit.core.stage_parameters import declared
from qcrdkit.teacher.cache import CompletionCache, completion_key
from qcrdkit.core.stages import TEACHER_SAMPLING

STAGE = TEACHER_SAMPLING

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
        probe_timeout: seconds the reachability probe before the first request may take.
    """

    model: str
    # the fields stage 01 has too are declared there (qcrdkit.core.stages.TeacherSamplingConfig: default and help)
    base_url: str | None = declared(STAGE, "base_url")
    temperature: float = declared(STAGE, "temperature")
    k: int = declared(STAGE, "k")
    max_tokens: int = declared(STAGE, "max_tokens")
    seed: int | None = declared(STAGE, "seed")
    concurrency: int = declared(STAGE, "concurrency")
    timeout: float = declared(STAGE, "timeout")
    max_retries: int = 5
    api_key_env: str | None = declared(STAGE, "api_key_env")
    stop: list[str] | None = None
    cache_namespace: str | None = None
    probe_timeout: float = 5.0

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
    return url is not None and is_loopback_host(urlparse(url).hostname or "")


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.1``, ``::1``): reachable from this machine only."""
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
    from qcrdkit.core.guards import check_env_name

    check_env_name(config.api_key_env, "api_key_env")
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


#: statuses that say the endpoint itself is wrong (every prompt would fail the same way), and what to check
ENDPOINT_STATUSES = {
    401: "the API key is missing or wrong: check the environment variable named by api_key_env",
    403: "the key may not use this model or endpoint",
    404: "the URL path or the model is unknown: base_url usually ends in /v1, and model must be a name the "
         "server serves",
}


def is_retryable(status: int) -> bool:
    """The statuses the openai client retries: 408, 409, 429 and 5xx."""
    return status in (408, 409, 429) or status >= 500


@dataclass
class SampleStats:
    """One sampling call: prompts, requests (logical calls), attempts (HTTP requests sent, retries
    included), retries = attempts − requests, and the causes of the failed attempts."""

    prompts: int = 0
    requests: int = 0
    attempts: int = 0
    responses: int = 0
    cache_hits: int = 0
    fallback_requests: int = 0
    failures: dict = field(default_factory=dict)
    failed_attempts: dict = field(default_factory=dict)
    seconds: float = 0.0
    #: token usage the endpoint reported (``usage`` of each response; 0 when it reports none)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_reports: int = 0

    @property
    def retries(self) -> int:
        return max(0, self.attempts - self.requests)

    def retry_causes(self) -> dict[str, int]:
        """``{"HTTP 429": n, ..., "no response (connection error or timeout)": n}`` over all attempts."""
        causes = dict(self.failed_attempts)
        if self.attempts > self.responses:
            causes["no response (connection error or timeout)"] = self.attempts - self.responses
        return causes

    def record(self) -> dict:
        """What the stage's ``config.json`` keeps."""
        return {"requests": self.requests, "attempts": self.attempts, "retries": self.retries,
                "retry_causes": self.retry_causes(), "cache_hits": self.cache_hits,
                "fallback_requests": self.fallback_requests, "failed_prompts": len(self.failures),
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "usage_reports": self.usage_reports, "sampling_seconds": round(self.seconds, 3)}


def endpoint_address(base_url: str | None) -> tuple[str, int]:
    """``(host, port)`` of an endpoint URL (OpenAI's API when ``None``)."""
    url = urlparse(base_url or "https://api.openai.com/v1")
    if not url.hostname:
        raise ConfigError(f"base_url {base_url!r} has no host: expected e.g. http://127.0.0.1:8000/v1")
    return url.hostname, url.port or (443 if url.scheme == "https" else 80)


async def probe_endpoint(base_url: str | None, timeout: float) -> None:
    """Open (and close) a TCP connection to the endpoint; :class:`TeacherError` naming the URL if it fails."""
    host, port = endpoint_address(base_url)
    where = base_url or "https://api.openai.com/v1"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except asyncio.TimeoutError:
        raise TeacherError(f"the teacher endpoint {where} did not answer within {timeout:g} s ({host}:{port}): is the "
                           "host reachable from here (network, VPN, firewall)? Nothing was sampled.") from None
    except OSError as exc:
        hint = ("nothing listens there: is the server running, and is the port in base_url right?"
                if isinstance(exc, ConnectionRefusedError) else "check the host name in base_url and the network.")
        raise TeacherError(f"cannot connect to the teacher endpoint {where} ({host}:{port}): "
                           f"{exc.strerror or exc}; {hint} Nothing was sampled.") from None
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass


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
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient
        from tqdm.auto import tqdm

        from qcrdkit.core.progress import report

        cfg = self.config
        stats = self.last_stats = SampleStats(prompts=len(prompts))
        self._fatal: TeacherError | None = None
        self._probe_lock, self._probed = asyncio.Lock(), False
        t0 = time.perf_counter()

        async def count_attempt(request):
            stats.attempts += 1

        async def count_response(response):
            stats.responses += 1
            if response.status_code >= 400:
                cause = f"HTTP {response.status_code}"
                stats.failed_attempts[cause] = stats.failed_attempts.get(cause, 0) + 1

        http = DefaultAsyncHttpxClient(event_hooks={"request": [count_attempt], "response": [count_response]})
        client = AsyncOpenAI(api_key=self._api_key, base_url=cfg.base_url, timeout=cfg.timeout,
                             max_retries=cfg.max_retries, http_client=http)
        semaphore = asyncio.Semaphore(cfg.concurrency)
        results: dict[str, list[dict]] = {}
        label = desc or f"teacher {cfg.model}"
        finished: list[str] = []
        bar = tqdm(total=len(prompts), desc=label, disable=not self.progress, unit="q", mininterval=0.5)

        async def one(pid: str, messages: list[dict]):
            try:
                results[pid] = await self._sample_prompt(client, semaphore, messages, stats)
            except Exception as exc:  # recorded, raised after the others finished
                stats.failures[pid] = self._describe(exc)
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
        if self._fatal is not None:
            done = len(prompts) - len(stats.failures)
            raise TeacherError(f"{self._fatal}" + (f" ({done} of {len(prompts)} prompts had finished and are cached)"
                                                   if done else ""))
        if stats.failures:
            first_id, first_err = next(iter(stats.failures.items()))
            retried = sum(not err.startswith("not retried") for err in stats.failures.values())
            raise TeacherError(f"{len(stats.failures)} of {len(prompts)} prompts failed: {retried} after "
                               f"{cfg.max_retries} retries, {len(stats.failures) - retried} not retried (first: "
                               f"{first_id}: {first_err}); {stats.retries} retries in all "
                               f"({self._causes(stats)}). Finished samples are cached; re-run to retry only the "
                               "missing ones.")
        return results

    @staticmethod
    def _causes(stats: SampleStats) -> str:
        return ", ".join(f"{cause} × {n}" for cause, n in stats.retry_causes().items()) or "no failed attempts"

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

    async def _check_endpoint(self) -> None:
        """Raise the fatal endpoint error, if any; probe the endpoint once, before the first request."""
        if self._fatal is not None:
            raise self._fatal
        async with self._probe_lock:
            if not self._probed:
                try:
                    await probe_endpoint(self.config.base_url, self.config.probe_timeout)
                except TeacherError as exc:
                    self._fatal = exc
                    raise
                self._probed = True

    @staticmethod
    def _describe(exc: Exception) -> str:
        """A failed prompt's line: non-retryable statuses say so."""
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and not is_retryable(status):
            return f"not retried: HTTP {status}: {_server_message(exc)}"
        return f"{type(exc).__name__}: {exc}"

    async def _request(self, client, semaphore, messages, n: int, seed, stats: SampleStats) -> list[dict]:
        cfg = self.config
        kwargs: dict[str, Any] = dict(model=cfg.model, messages=messages, temperature=cfg.temperature,
                                      max_tokens=cfg.max_tokens, n=n)
        if seed is not None:
            kwargs["seed"] = seed
        if cfg.stop:
            kwargs["stop"] = cfg.stop
        await self._check_endpoint()
        async with semaphore:
            await self._check_endpoint()
            stats.requests += 1
            try:
                response = await client.chat.completions.create(**kwargs)
            except Exception as exc:
                status = getattr(exc, "status_code", None)
                if status in ENDPOINT_STATUSES and self._fatal is None:
                    self._fatal = TeacherError(f"the teacher endpoint {cfg.base_url or 'https://api.openai.com/v1'} "
                                               f"answered HTTP {status} for model {cfg.model!r} (not retried): "
                                               f"{ENDPOINT_STATUSES[status]}. Server said: {_server_message(exc)}")
                raise
        usage = getattr(response, "usage", None)
        if usage is not None:
            stats.usage_reports += 1
            stats.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
            stats.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
        request = {"endpoint": cfg.cache_namespace or cfg.base_url, "model": cfg.model, "temperature": cfg.temperature,
                   "max_tokens": cfg.max_tokens, "n": n, "seed": seed, "created": int(time.time()),
                   "response_model": getattr(response, "model", None)}
        return [{"text": choice.message.content or "", "finish_reason": choice.finish_reason, "request": request}
                for choice in sorted(response.choices, key=lambda c: c.index)]


def _server_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        return str(error.get("message", error) if isinstance(error, dict) else error)[:200]
    return str(getattr(exc, "message", exc))[:200]
