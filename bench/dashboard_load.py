"""How long a dashboard page takes to open in a browser: `qcrd dashboard RUN` (the report read back) or,
for comparison, notebook 04 itself served by Voilà (every analysis re-executed on each visit).

    python bench/dashboard_load.py outputs/runs/demo [--notebook-04] [--loads 3] [--pause 20]

Times each page load in headless chromium (Playwright) from the request until the rationale explorer
and the case-study widget are shown, closes the page, and counts the server's processes (its kernels) and their
memory after each load; any request to another machine is recorded. Prints one line per load and, last, JSON
``{"run", "served", "seconds": [...], "median", "max", "kernels": [...], "gb": [...], "external_requests"}``.
A copy of the run is served (notebook 04 writes its report). A class: ``--loads 20 --pause 4``
(targets: every load <= 5 s, kernels and memory flat).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("QCRD_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOCAL = ("http://127.0.0.1", "data:", "blob:", "ws://127.0.0.1", "about:")


def server_tree(pid: int) -> tuple[int, float]:
    """``(processes under pid, GB resident of pid and them)``: the server's kernels and the memory they hold."""
    import psutil

    server = psutil.Process(pid)
    children = server.children(recursive=True)
    total = 0
    for p in [server, *children]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return len(children), total / 2**30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--notebook-04", action="store_true", help="serve notebook 04 itself (the old dashboard)")
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--pause", type=float, default=20.0,
                        help="seconds to wait before each load (the dashboard pre-runs a kernel for the next visitor)")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="qcrd-dashboard-"))
    run = tmp / Path(args.run_dir).name
    shutil.copytree(args.run_dir, run)
    port = free_port()
    env = {**os.environ, "MPLBACKEND": "Agg", "QCRD_RUN_DIR": str(run)}
    command = ([sys.executable, "-m", "voila", str(REPO / "notebooks" / "04_analysis.ipynb"), f"--port={port}",
                "--Voila.ip=127.0.0.1", "--no-browser"] if args.notebook_04 else
               [sys.executable, "-m", "qcrdkit.cli", "dashboard", str(run), f"--port={port}"])
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp)
    url = f"http://127.0.0.1:{port}/"
    seconds, kernels, memory, external = [], [], [], []
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url + "static/", timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            for i in range(args.loads):
                time.sleep(args.pause)
                page = browser.new_page()
                page.on("request", lambda r: external.append(r.url) if not r.url.startswith(LOCAL) else None)
                t0 = time.perf_counter()
                page.goto(url, timeout=120_000)
                expect(page.locator(".qcrd-count")).to_contain_text("rationales selected", timeout=300_000)
                expect(page.locator(".qcrd-case")).to_be_visible(timeout=300_000)
                seconds.append(round(time.perf_counter() - t0, 1))
                page.close(run_before_unload=True)
                processes, gb = server_tree(server.pid)
                kernels.append(processes)
                memory.append(round(gb, 2))
                print(f"load {i + 1}: {seconds[-1]} s; then {processes} kernel processes, {gb:.2f} GB", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"run": str(args.run_dir), "served": "notebook 04" if args.notebook_04 else "qcrd dashboard",
                      "pause": args.pause, "seconds": seconds, "median": statistics.median(seconds),
                      "max": max(seconds), "kernels": kernels, "gb": memory, "external_requests": sorted(set(external))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
