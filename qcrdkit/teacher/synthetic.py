"""The embedded offline teacher for ``arith``, served on a loopback OpenAI-compatible endpoint.

:class:`SyntheticTeacher` reads the last question of a few-shot prompt (it sees only the prompt
text, like a hosted LLM), solves it step by step and writes a chain-of-thought rationale in
natural language ending with ``The answer is N.`` Its wording varies from sample to sample, and
so do its mistakes, whose rate grows with temperature:

* wrong operation (adds instead of subtracting, multiplies instead of dividing, ...),
* a distractor number used in place of the right one,
* an arithmetic slip in one step (later steps build on the wrong value),
* truncated reasoning (stops early: states an intermediate value, or no answer at all).

Per step, the chance of a mistake is ``0.02 + 0.12 T + 0.06 T^2`` (T = temperature): about 13%
at T = 0.7, 34% at T = 1.5. At T = 0 the output is greedy: the same for every sample.

:class:`SyntheticTeacherServer` serves it (``POST /v1/chat/completions`` with ``n``,
``temperature``, ``seed``, ``max_tokens``; ``GET /v1/models``; ``GET /stats`` counts requests) on 127.0.0.1 from a background
thread, optionally adding a fixed latency per request or ignoring ``n`` as many local servers do.
``respond`` replaces the teacher with any function, which tests use to inject faults.

It also answers the **LLM reader**'s prompts (``answer_reader: llm``; :func:`reader_reply`). The same endpoint is
the offline **LLM judge** (§5.4): a prompt made by
:func:`qcrdkit.teacher.llm_judge_prompt.judge_prompt` is answered by :func:`judge_arith_reply`, which checks the
arithmetic of both explanations (an explanation is good when it shows at least one calculation,
every calculation ``x op y = z`` in it is right, and the last result is the given answer).
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from qcrdkit.teacher.llm_judge_prompt import read_judge_prompt
from qcrdkit.tasks.arith import ArithProblem, apply_op, read_problem
from qcrdkit.tasks.numeric import format_number, numbers_equal, parse_number
from qcrdkit.tasks.reading import read_reader_prompt, word_numbers
from qcrdkit.teacher.prompts import question_from_prompt

MODEL_NAME = "synthetic-arith"
MISTAKES = ("wrong_op", "distractor", "slip", "truncate")

OPENINGS = ["", "Let's think step by step. ", "We need to follow the {item}. "]
START_PHRASES = ["{name} starts with {a} {item}.", "At first {name} has {a} {item}.",
                 "{name} has {a} {item} to begin with."]
STEP_PHRASES = {
    "+": ["{name} gets {b} more, so {x} + {b} = {y}.", "Adding {b} gives {x} + {b} = {y} {item}.",
          "After getting {b} more {item}, {name} has {x} + {b} = {y}."],
    "-": ["{name} gives away {b}, so {x} - {b} = {y}.", "Taking away {b} leaves {x} - {b} = {y} {item}.",
          "After losing {b} {item}, {name} has {x} - {b} = {y}."],
    "*": ["{b} times as many is {x} * {b} = {y}.", "Multiplying by {b}: {x} * {b} = {y} {item}.",
          "Now {name} has {b} times as many, which is {x} * {b} = {y}."],
    "/": ["Splitting {x} into {b} equal groups gives {x} / {b} = {y}.", "One of {b} equal shares is {x} / {b} = {y} {item}.",
          "Dividing by {b}: {x} / {b} = {y}."],
}
WRONG_OP = {"+": "-", "-": "+", "*": "/", "/": "*"}
NOT_AN_ARITH_QUESTION = "I am not sure how to solve this problem; it does not give enough information."


def step_error_rate(temperature: float) -> float:
    return min(0.95, 0.02 + 0.12 * temperature + 0.06 * temperature ** 2)


class SyntheticTeacher:
    """Writes rationales for ``arith`` questions; deterministic given (prompt, seed, sample index)."""

    def complete(self, prompt: str, *, n: int = 1, temperature: float = 0.7, seed: int | None = None) -> list[str]:
        problem = read_problem(question_from_prompt(prompt))
        texts = []
        for i in range(n):
            if temperature == 0:   # greedy: the same answer whatever the sample
                material = f"{prompt}|greedy|{seed}"
            elif seed is None:
                material = f"{prompt}|{uuid.uuid4()}"
            else:
                material = f"{prompt}|{seed}|{i}|{temperature}"
            rng = random.Random(hashlib.sha256(material.encode()).hexdigest())
            texts.append(NOT_AN_ARITH_QUESTION if problem is None else self.write(problem, rng, temperature))
        return texts

    def write(self, problem: ArithProblem, rng: random.Random, temperature: float) -> str:
        greedy = temperature == 0
        pick = (lambda options: options[0]) if greedy else rng.choice
        words = dict(name=problem.name, item=problem.item)
        parts = [pick(OPENINGS).format(**words) + pick(START_PHRASES).format(a=problem.start, **words)]
        value = float(problem.start)
        q = step_error_rate(temperature)
        for op, b in problem.steps:
            mistake = rng.choice(MISTAKES) if rng.random() < q else None
            if mistake == "distractor" and not problem.distractors:
                mistake = "slip"
            if mistake == "truncate":
                if rng.random() < 0.5:
                    parts.append(f"The answer is {format_number(value)}.")
                return " ".join(parts)
            if mistake == "wrong_op":
                op = WRONG_OP[op]
            elif mistake == "distractor":
                b = rng.choice(problem.distractors)
            result = apply_op(op, value, b)
            if mistake == "slip":
                result += rng.choice([-10, -2, -1, 1, 2, 10])
            parts.append(pick(STEP_PHRASES[op]).format(x=format_number(value), b=b, y=format_number(result), **words))
            value = result
        parts.append(f"The answer is {format_number(value)}.")
        return " ".join(parts)


_CALCULATION = re.compile(r"(-?\d+(?:\.\d+)?)\s*([-+*/])\s*(-?\d+(?:\.\d+)?)\s*=\s*(-?\d+(?:\.\d+)?)")


def explanation_is_sound(explanation: str, answer: float | None) -> bool:
    """At least one calculation, every calculation right, and the last result equal to ``answer``."""
    calculations = _CALCULATION.findall(explanation)
    if not calculations or answer is None:
        return False
    for x, op, y, z in calculations:
        if op == "/" and float(y) == 0:
            return False
        if not numbers_equal(apply_op(op, float(x), float(y)), float(z)):
            return False
    return numbers_equal(float(calculations[-1][3]), answer)


def reader_reply(prompt: str) -> str | None:
    """The synthetic endpoint's reply to an LLM-reader prompt (:func:`qcrdkit.tasks.reading.reader_prompt`), or
    ``None`` if ``prompt`` is not one: a cruder reader than the kit's rules, as a stand-in for an LLM — the last
    number the written answer writes in digits or words, else ``NONE``."""
    parts = read_reader_prompt(prompt)
    if parts is None:
        return None
    text = parts["rationale"]
    digits = [(m.start(), m.group()) for m in re.finditer(r"-?\d+(?:\.\d+)?", text.replace(",", ""))]
    words = [(at, format_number(value)) for at, value in word_numbers(text)]
    found = sorted(digits + words)
    return found[-1][1] if found else "NONE"


def judge_arith_reply(prompt: str) -> str | None:
    """The synthetic judge's reply to a judge prompt, or ``None`` if ``prompt`` is not one."""
    parts = read_judge_prompt(prompt)
    if parts is None:
        return None
    answer = parse_number(parts["answer"])
    good = [explanation_is_sound(parts[k], answer) for k in ("first", "second")]
    if all(good):
        return "Both are good."
    if not any(good):
        return "Both are bad."
    return "Explanation 1 is better." if good[0] else "Explanation 2 is better."


def chat_completion_response(texts: list[str], model: str, max_tokens: int | None, messages: list | None = None) -> dict:
    """An OpenAI chat-completion body; tokens counted as words (the prompt's: every message's content)."""
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages or [] if isinstance(m, dict))
    choices, completion_tokens = [], 0
    for i, text in enumerate(texts):
        words = text.split(" ")
        finish = "stop"
        if max_tokens is not None and len(words) > max_tokens:
            text, finish = " ".join(words[:max_tokens]), "length"
        completion_tokens += min(len(words), max_tokens or len(words))
        choices.append({"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": finish,
                        "logprobs": None})
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


Responder = Callable[[dict], "tuple[int, dict] | tuple[int, dict, dict]"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256   # socketserver's default backlog of 5 drops bursts of new connections


class SyntheticTeacherServer:
    """A loopback OpenAI-compatible server in a background thread.

    >>> import openai
    >>> with SyntheticTeacherServer() as server:
    ...     client = openai.OpenAI(base_url=server.url, api_key="unused")
    ...     reply = client.chat.completions.create(model=MODEL_NAME, n=2, temperature=0.7,
    ...                                            messages=[{"role": "user", "content": "Q: What is 2 + 3? A:"}])
    >>> len(reply.choices)
    2

    Args:
        respond: ``request_json -> (status, json[, headers])``; default: the synthetic teacher.
        latency: seconds added to every request (benchmarks).
        ignore_n: answer with one choice whatever ``n`` asks (like many local servers).
    """

    def __init__(self, respond: Responder | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 latency: float = 0.0, ignore_n: bool = False, model: str = MODEL_NAME):
        self.teacher = SyntheticTeacher()
        self.respond = respond or self._respond_with_teacher
        self.latency, self.ignore_n, self.model = latency, ignore_n, model
        self.requests = 0
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _respond_with_teacher(self, body: dict):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, {"error": {"message": "messages must be a non-empty list", "type": "invalid_request_error"}}
        prompt = str(messages[-1].get("content", ""))
        n = 1 if self.ignore_n else int(body.get("n") or 1)
        verdict = judge_arith_reply(prompt)
        verdict = verdict if verdict is not None else reader_reply(prompt)
        if verdict is not None:
            return 200, chat_completion_response([verdict] * n, body.get("model") or self.model, body.get("max_tokens"),
                                                 messages)
        texts = self.teacher.complete(prompt, n=n, temperature=float(body.get("temperature", 1.0)), seed=body.get("seed"))
        return 200, chat_completion_response(texts, body.get("model") or self.model, body.get("max_tokens"), messages)

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # headers and body are separate writes: avoid 40 ms delayed-ACK stalls

            def log_message(self, *args):   # keep notebooks and test output quiet
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.rstrip("/") == "/stats":
                    self._send(200, {"requests": server.requests})
                elif self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model", "owned_by": "qcrdkit"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    return self._send(400, {"error": {"message": "body is not JSON"}})
                with server._lock:
                    server.requests += 1
                if server.latency:
                    time.sleep(server.latency)
                out = server.respond(body)
                try:
                    self._send(*out)
                except (BrokenPipeError, ConnectionResetError):   # the client gave up (timeout test)
                    pass

        return Handler

    def start(self) -> "SyntheticTeacherServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="qcrd-synthetic-teacher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
