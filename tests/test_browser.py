"""The temperature widget and the rationale explorer in a real browser: notebook 04, parametrized by papermill for the smoke
run, served by Voilà on 127.0.0.1 and driven in Debian's chromium by Playwright.

Needs /usr/bin/chromium (`.ci/run` installs Debian's package); a missing browser fails the test.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("QCRD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def voila_page(smoke_run, tmp_path_factory):
    """Notebook 04 with the smoke run's parameters injected (papermill, not executed), served by Voilà
    (once for this module's tests)."""
    import papermill as pm

    tmp_path = tmp_path_factory.mktemp("voila")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium), as .ci/run does")
    run = tmp_path / "run"                      # a copy: notebook 04 writes its report into the run
    shutil.copytree(smoke_run, run)
    notebook = tmp_path / "04_analysis.ipynb"
    pm.execute_notebook(str(REPO / "notebooks" / "04_analysis.ipynb"), str(notebook), prepare_only=True,
                        parameters={"run_dir": str(run), "kde_questions": 4, "samples_per_temperature": 2,
                                    "case_questions": 3, "case_temperature": 0.7, "temperatures": [0.7],
                                    "llm_judge": None, "llm_judge_cache_dir": None, "bootstrap_resamples": 100,
                                    "progress": False})
    port = free_port()
    log = open(tmp_path / "voila.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
                               "--Voila.ip=127.0.0.1", "--VoilaConfiguration.show_tracebacks=True"],
                              stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url + "static/", timeout=2)
                break
            except urllib.error.HTTPError:          # any HTTP answer: the server is up
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    pytest.fail(f"Voilà did not start: {(tmp_path / 'voila.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def test_slider_resamples_the_rationale_in_chromium(voila_page, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(voila_page, timeout=60_000)
            case = page.locator(".qcrd-case")
            expect(case).to_have_attribute("data-temperature", "0.7", timeout=180_000)   # the kernel ran notebook 04
            before = case.locator(".qcrd-rationale").all_inner_texts()
            assert before and page.locator(".qcrd-temperature").inner_text() == "τ=0.7"
            page.screenshot(path=str(tmp_path / "before.png"))
            handle = page.locator(".widget-slider .noUi-handle").first
            handle.focus()
            for _ in range(8):                       # 8 steps of 0.1 to the right: τ = 1.5
                handle.press("ArrowRight")
            expect(case).to_have_attribute("data-temperature", "1.5", timeout=60_000)
            assert page.locator(".qcrd-temperature").inner_text() == "τ=1.5"
            after = case.locator(".qcrd-rationale").all_inner_texts()
            assert after != before                   # re-sampled at the new temperature
            page.screenshot(path=str(tmp_path / "after.png"))
        finally:
            browser.close()


def test_explorer_filter_and_question_in_chromium(voila_page, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from qcrdkit.analysis.widgets import RationaleExplorer as RationaleFilter

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(voila_page, timeout=60_000)
            count = page.locator(".qcrd-count")
            expect(count).to_contain_text("rationales selected", timeout=180_000)    # the kernel ran notebook 04
            total = int(count.inner_text().split()[0])
            before = count.inner_text()
            deadline = time.time() + 90
            while count.inner_text() == before:          # a filter (again, if the kernel was not listening yet)
                assert time.time() < deadline, "the explorer's count never changed after the filter"
                page.locator(".qcrd-correct select").select_option(label=RationaleFilter.ALL)
                page.locator(".qcrd-correct select").select_option(label="wrong")
                page.wait_for_timeout(2000)
            wrong = int(count.inner_text().split()[0])
            assert 0 < wrong < total
            options = page.locator(".qcrd-open-question select option")
            target = options.nth(min(1, options.count() - 1)).get_attribute("value")
            label = options.nth(min(1, options.count() - 1)).inner_text()
            page.locator(".qcrd-open-question select").select_option(label=label)  # open a question
            expect(page.locator(".qcrd-question")).to_have_attribute("data-question", label.split(":")[0], timeout=60_000)
            assert page.locator(".qcrd-question .qcrd-card").count() >= 1 and target is not None
            page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
        finally:
            browser.close()
