"""The openai code path against loopback servers that misbehave the ways real ones do."""
import json
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from qcrdkit.core.errors import ConfigError
from qcrdkit.tasks import get_task
from qcrdkit.teacher import CompletionCache, SyntheticTeacherServer, TeacherClient, TeacherConfig, TeacherError
from qcrdkit.teacher.cache import completion_key
from qcrdkit.teacher.sampling import sample_teacher, teacher_prompts
from qcrdkit.teacher.synthetic import chat_completion_response

TASK = get_task("arith", n_train=12, n_valid=2, n_test=2)
EXAMPLES = TASK.load("train")


def config(url, **kw):
    base = dict(model="synthetic-arith", base_url=url, k=3, temperature=0.7, concurrency=4, timeout=5.0,
                max_retries=3, api_key_env=None)
    return TeacherConfig(**{**base, **kw})


class Scripted:
    """A responder that misbehaves on chosen calls, then answers like the synthetic teacher."""

    def __init__(self, server_factory=SyntheticTeacherServer):
        self.calls = 0
        self.lock = threading.Lock()
        self.server = server_factory(respond=self)
        self.normal = self.server._respond_with_teacher   # the synthetic teacher's own answer

    def fault(self, call_number, body):
        return None

    def __call__(self, body):
        with self.lock:
            self.calls += 1
            n = self.calls
        return self.fault(n, body) or self.normal(body)


def test_429_then_success():
    class RateLimited(Scripted):
        def fault(self, n, body):
            if n == 1:
                return 429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"retry-after-ms": "50"}

    s = RateLimited()
    with s.server:
        client = TeacherClient(config(s.server.url, k=3), progress=False)
        out = client.sample(teacher_prompts(TASK, EXAMPLES[:1]))
    assert len(out[EXAMPLES[0].id]) == 3
    assert s.calls == 2                                        # the 429 and its retry
    stats = client.last_stats
    assert (stats.requests, stats.attempts, stats.retries) == (1, 2, 1)
    assert stats.retry_causes() == {"HTTP 429": 1}


def test_persistent_500_fails_that_prompt_only_and_keeps_the_rest(tmp_path):
    bad_question = EXAMPLES[0].input

    class Broken(Scripted):
        def fault(self, n, body):
            if bad_question in body["messages"][-1]["content"]:
                return 500, {"error": {"message": "boom"}}

    s, cache = Broken(), CompletionCache(tmp_path)
    with s.server:
        client = TeacherClient(config(s.server.url, max_retries=2), cache, progress=False)
        with pytest.raises(TeacherError, match="1 of 4 prompts failed"):
            client.sample(teacher_prompts(TASK, EXAMPLES[:4]))
    assert len(cache) == 3 * 3                                  # the other three prompts are cached
    assert s.calls == 3 + 3                                     # 1 + 2 retries for the bad one, 1 each for the rest
    assert list(client.last_stats.failures) == [EXAMPLES[0].id]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection_fails_before_any_request_naming_the_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = TeacherClient(config(url, max_retries=5), CompletionCache(tmp_path), progress=False)
    with pytest.raises(TeacherError, match=rf"cannot connect to the teacher endpoint {url}.*is the server running"):
        client.sample(teacher_prompts(TASK, EXAMPLES))
    assert client.last_stats.attempts == 0                    # the probe failed: no request was sent


def test_a_404_stops_every_prompt_without_retries():
    class WrongRoute(Scripted):
        def fault(self, n, body):
            return 404, {"error": {"message": f"model {body['model']} not found"}}

    s = WrongRoute()
    with s.server:
        client = TeacherClient(config(s.server.url, max_retries=5, concurrency=2), progress=False)
        with pytest.raises(TeacherError, match=r"answered HTTP 404 .*not retried.*base_url usually ends in /v1"):
            client.sample(teacher_prompts(TASK, EXAMPLES))
    assert s.calls <= 2 and client.last_stats.retries == 0    # the requests in flight, none retried


def test_a_400_fails_its_prompt_unretried_and_the_rest_finish():
    bad_question = EXAMPLES[0].input

    class TooLong(Scripted):
        def fault(self, n, body):
            if bad_question in body["messages"][-1]["content"]:
                return 400, {"error": {"message": "context length exceeded"}}

    s = TooLong()
    with s.server:
        client = TeacherClient(config(s.server.url, max_retries=3), progress=False)
        with pytest.raises(TeacherError, match=r"1 of 3 prompts failed: 0 after 3 retries, 1 not retried.*"
                                               r"HTTP 400: context length exceeded.*HTTP 400 × 1"):
            client.sample(teacher_prompts(TASK, EXAMPLES[:3]))
    assert s.calls == 3 and client.last_stats.retries == 0


def test_stall_past_timeout_is_retried():
    class Stalls(Scripted):
        def fault(self, n, body):
            if n == 1:
                time.sleep(2.5)

    s = Stalls()
    with s.server:
            out = TeacherClient(config(s.server.url, timeout=1.0, max_retries=2), progress=False).sample(
            teacher_prompts(TASK, EXAMPLES[:1]))
    assert len(out[EXAMPLES[0].id]) == 3 and s.calls == 2


def test_server_that_ignores_n_gets_one_request_per_missing_sample():
    with SyntheticTeacherServer(ignore_n=True) as server:
        client = TeacherClient(config(server.url, k=4, temperature=1.0), progress=False)
        out = client.sample(teacher_prompts(TASK, EXAMPLES[:2]))
    for pid, samples in out.items():
        assert [c["sample_index"] for c in samples] == [0, 1, 2, 3]
        assert len({c["text"] for c in samples}) > 1             # distinct seeds give distinct samples
        assert [c["request"]["seed"] for c in samples] == [0, 1, 2, 3]
    assert server.requests == 2 * 4 and client.last_stats.fallback_requests == 2 * 3


def test_content_without_answer_becomes_an_unparseable_negative():
    class NoAnswer(Scripted):
        def fault(self, n, body):
            return 200, chat_completion_response(["I would rather not say."] * body["n"], body["model"], None)

    s = NoAnswer()
    with s.server:
        records = sample_teacher(TASK, EXAMPLES[:2], TeacherClient(config(s.server.url), progress=False), split="train")
    assert len(records) == 6 and all(r["answer"] is None and r["correct"] is False for r in records)
    from qcrdkit.teacher.consistency import apply_split
    assert not any(r["positive"] for r in apply_split(records, TASK))


def test_hosted_endpoint_without_key_fails_before_any_request(monkeypatch):
    monkeypatch.delenv("QCRD_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="set the environment variable QCRD_TEST_KEY"):
        TeacherClient(TeacherConfig(model="gpt-x", base_url="https://api.example.invalid/v1", api_key_env="QCRD_TEST_KEY"))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        TeacherClient(TeacherConfig(model="gpt-x"))


def test_key_is_sent_but_never_stored(tmp_path, monkeypatch):
    secret = "sk-test-DO-NOT-LEAK-0123456789"
    monkeypatch.setenv("QCRD_TEST_KEY", secret)
    with SyntheticTeacherServer() as server:
        client = TeacherClient(config(server.url, api_key_env="QCRD_TEST_KEY"), CompletionCache(tmp_path), progress=False)
        assert client._api_key == secret
        records = sample_teacher(TASK, EXAMPLES[:2], client, split="train")
    blob = json.dumps(records) + "".join(p.read_text() for p in tmp_path.rglob("*.json"))
    assert secret not in blob and "QCRD_TEST_KEY" not in blob


def test_cached_rerun_makes_zero_requests(tmp_path):
    with SyntheticTeacherServer() as server:
        cfg = config(server.url, cache_namespace="synthetic://test")
        first = TeacherClient(cfg, CompletionCache(tmp_path), progress=False).sample(teacher_prompts(TASK, EXAMPLES))
        before = server.requests
        client = TeacherClient(cfg, CompletionCache(tmp_path), progress=False)
        second = client.sample(teacher_prompts(TASK, EXAMPLES))
    assert server.requests == before and client.last_stats.requests == 0
    assert client.last_stats.cache_hits == len(EXAMPLES) * 3
    assert [[c["text"] for c in first[k]] for k in first] == [[c["text"] for c in second[k]] for k in first]


def test_sync_sample_works_inside_a_running_event_loop():
    import asyncio

    async def inside_loop():
        with SyntheticTeacherServer() as server:
            return TeacherClient(config(server.url), progress=False).sample(teacher_prompts(TASK, EXAMPLES[:1]))

    assert len(asyncio.run(inside_loop())[EXAMPLES[0].id]) == 3


def test_sigkill_mid_run_resumes_without_loss_or_corruption(tmp_path):
    cache_dir = tmp_path / "cache"
    examples = get_task("arith", n_train=40).load("train")
    with SyntheticTeacherServer(latency=0.05) as server:
        script = textwrap.dedent(f"""
            from qcrdkit.tasks import get_task
            from qcrdkit.teacher import CompletionCache, TeacherClient, TeacherConfig
            from qcrdkit.teacher.sampling import teacher_prompts
            task = get_task("arith", n_train=40)
            cfg = TeacherConfig(model="m", base_url="{server.url}", k=3, concurrency=2, api_key_env=None,
                                cache_namespace="kill-test")
            TeacherClient(cfg, CompletionCache({str(cache_dir)!r}), progress=False).sample(
                teacher_prompts(task, task.load("train")))
        """)
        proc = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.time() + 60
        while time.time() < deadline and len(list(cache_dir.glob("*/*.json"))) < 15:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        files = list(cache_dir.glob("*/*.json"))
        assert 15 <= len(files) < 40 * 3, "the kill should land mid-run"
        for f in files:                                     # every finished sample is whole
            json.loads(f.read_text())
        cfg = TeacherConfig(model="m", base_url=server.url, k=3, concurrency=4, api_key_env=None, cache_namespace="kill-test")
        prompts = teacher_prompts(get_task("arith", n_train=40), examples)
        cache = CompletionCache(cache_dir)
        expected = 0                        # a prompt with no sample: one n=3 request; a partial one: one per missing sample
        for messages in prompts.values():
            have = sum(completion_key({**cfg.cache_fields(), "messages": messages}, i) in cache for i in range(3))
            expected += 1 if have == 0 else 3 - have
        before = server.requests
        client = TeacherClient(cfg, cache, progress=False)
        out = client.sample(prompts)
    assert len(out) == 40 and all(len(v) == 3 for v in out.values())
    assert client.last_stats.cache_hits == len(files)
    assert server.requests - before == expected               # only what was missing was asked again
