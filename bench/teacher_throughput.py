"""Teacher sampling throughput: naive sequential requests vs the kit's concurrent client.

Serves the synthetic teacher on 127.0.0.1 in its own process (as a real endpoint is), with a
fixed latency per request (a stand-in for a remote LLM's response time), then samples K
completions for N questions. Both paths first send one warm-up request (openai's lazy imports
cost ~1 s once per process; that is start-up, not throughput):

* naive: one ``openai`` request (n=K) per question, one after another;
* kit:   ``TeacherClient`` with ``concurrency`` requests in flight (empty cache);
* cached re-run: the same call again, counting the requests that reach the server.

The concurrency-bound ideal is ``min(concurrency, N)`` × the naive speed; the kit's target is at
least 80% of it. Usage: ``python bench/teacher_throughput.py [--questions 48 --k 5 --latency 1.0 --concurrency 16]``

The client costs ~10 ms of CPU per request here (openai request/response handling), so at
small latencies × high concurrency it becomes CPU-bound: e.g. latency 0.2 s × 16 in flight leaves
12.5 ms per request, and the fraction of the ideal drops accordingly.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import urllib.request

import openai

from qcrdkit.tasks import get_task
from qcrdkit.teacher import CompletionCache, TeacherClient, TeacherConfig
from qcrdkit.teacher.sampling import teacher_prompts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=48)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--latency", type=float, default=1.0,
                    help="seconds the server adds to each request (a 256-token CoT from a hosted LLM takes seconds)")
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()

    task = get_task("arith", n_train=args.questions + 1)
    all_prompts = teacher_prompts(task, task.load("train"))
    warm_id = next(iter(all_prompts))
    warmup, prompts = {warm_id: all_prompts.pop(warm_id)}, all_prompts
    server = subprocess.Popen([sys.executable, "-m", "qcrdkit.cli", "serve-teacher", "--port", "0",
                               "--latency", str(args.latency)], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split()[3]

        def server_requests() -> int:
            with urllib.request.urlopen(url.replace("/v1", "/stats")) as r:
                return json.load(r)["requests"]

        naive_client = openai.OpenAI(base_url=url, api_key="unused")
        naive_client.chat.completions.create(model="synthetic-arith", messages=warmup[warm_id], n=args.k)
        before = server_requests()
        t0 = time.perf_counter()
        for messages in prompts.values():
            naive_client.chat.completions.create(model="synthetic-arith", messages=messages, n=args.k, temperature=0.7, seed=0)
        naive = time.perf_counter() - t0
        naive_requests = server_requests() - before

        with tempfile.TemporaryDirectory() as cache_dir:
            cfg = TeacherConfig(model="synthetic-arith", base_url=url, k=args.k, concurrency=args.concurrency,
                                api_key_env=None, cache_namespace="bench")
            TeacherClient(cfg, None, progress=False).sample(warmup)
            before = server_requests()
            client = TeacherClient(cfg, CompletionCache(cache_dir), progress=False)
            t0 = time.perf_counter()
            client.sample(prompts)
            kit = time.perf_counter() - t0
            kit_requests = server_requests() - before

            before = server_requests()
            t0 = time.perf_counter()
            TeacherClient(cfg, CompletionCache(cache_dir), progress=False).sample(prompts)
            cached = time.perf_counter() - t0
            cached_requests = server_requests() - before
    finally:
        server.terminate()
        server.wait()

    ideal_speedup = min(args.concurrency, args.questions)
    ideal_time = math.ceil(args.questions / args.concurrency) * args.latency
    speedup = naive / kit
    print(f"questions={args.questions} k={args.k} latency={args.latency}s concurrency={args.concurrency}")
    print(f"naive sequential : {naive:7.2f} s  ({naive_requests} requests)")
    print(f"kit client       : {kit:7.2f} s  ({kit_requests} requests; latency-bound ideal {ideal_time:.2f} s)")
    print(f"speed-up         : {speedup:7.2f}x  (concurrency-bound ideal {ideal_speedup}x)")
    print(f"fraction of ideal: {speedup / ideal_speedup:7.1%}  (target >= 80%)")
    print(f"cached re-run    : {cached:7.2f} s  ({cached_requests} requests)")


if __name__ == "__main__":
    main()
