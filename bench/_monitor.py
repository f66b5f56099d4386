"""Run a command and measure it: wall time and the peak resident memory of its whole process tree
(the command and every process it starts, e.g. ``qcrd run`` and its notebook kernels), summed
every 0.2 s. Shared by the benchmark scripts."""
from __future__ import annotations

import os
import platform
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@dataclass
class Measured:
    returncode: int
    output: str
    wall_seconds: float
    peak_rss_bytes: int


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_measured(cmd: list[str], cwd: str | Path, *, echo: bool | str = False, env: dict | None = None) -> Measured:
    """Run ``cmd`` offline (``HF_HUB_OFFLINE=1``, plus ``env``) in ``cwd``; output captured (and
    echoed line by line with ``echo``; a string ``echo`` prefixes each echoed line)."""
    env = {**os.environ, **OFFLINE_ENV, **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        ps = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                peak = max(peak, tree_rss(ps))
            except psutil.NoSuchProcess:
                return
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if echo:
            print((echo if isinstance(echo, str) else "") + line, end="", flush=True)
    rc = proc.wait()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    return Measured(rc, "".join(lines), wall, peak)


def machine_description() -> str:
    """CPU model, cores, memory, OS and torch: what a benchmark result was measured on."""
    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 1024 ** 3:.0f} GiB RAM, {gpu}; "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads)")
