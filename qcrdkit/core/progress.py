"""Progress you can see from the terminal while a notebook runs in its kernel.

`qcrd run` executes each stage's notebook in a Jupyter kernel, whose output the terminal never
sees. So the long loops inside the kit (teacher sampling, the judge's and every student's
optimizer steps) append one JSON line per update to the file named by ``$QCRD_PROGRESS_FILE``
(:func:`report`; the Trainers through :class:`ProgressFileCallback`), and `qcrd run` follows that
file and draws the bars (:class:`TerminalProgress`, with tqdm: rate and ETA). Without the variable
— in JupyterLab, in tests — nothing is written.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

PROGRESS_ENV = "QCRD_PROGRESS_FILE"
_last: dict[str, float] = {}


def report(task: str, done: int, total: int | None, *, every: float = 0.5) -> None:
    """Record that ``task`` (e.g. "student dss-seed1") is at ``done`` of ``total``; at most one line
    per ``every`` seconds per task, and always the first and the last."""
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return
    now = time.monotonic()
    if done not in (0, total) and now - _last.get(task, 0.0) < every:
        return
    _last[task] = now
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"task": task, "done": int(done), "total": None if total is None else int(total)}) + "\n")


def progress_callbacks(task: str) -> list:
    """``[ProgressFileCallback(task)]`` when ``$QCRD_PROGRESS_FILE`` is set, else ``[]``."""
    return [ProgressFileCallback(task)] if os.environ.get(PROGRESS_ENV) else []


def _callback_class():
    from transformers import TrainerCallback

    class _ProgressFileCallback(TrainerCallback):
        """Reports a Trainer's optimizer steps (``global_step`` of ``max_steps``) to :func:`report`."""

        def __init__(self, task: str):
            self.task = task

        def on_train_begin(self, args, state, control, **kwargs):
            report(self.task, state.global_step, state.max_steps)

        def on_step_end(self, args, state, control, **kwargs):
            report(self.task, state.global_step, state.max_steps)

    return _ProgressFileCallback


def ProgressFileCallback(task: str):    # noqa: N802  (a class built lazily: transformers is heavy)
    return _callback_class()(task)


class TerminalProgress:
    """Follows a progress file in a thread and draws one tqdm bar per task (the newest task's bar
    replaces the previous one). ``enabled=False`` (``qcrd run --quiet``): nothing is drawn."""

    def __init__(self, path: str | Path, enabled: bool = True, interval: float = 0.3):
        self.path, self.enabled, self.interval = Path(path), enabled, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._bar = None
        self._task = None
        self._offset = 0
        self._lock = threading.Lock()

    def __enter__(self):
        self.path.write_text("")
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self.enabled:
            self._thread.join()
            self.finish()

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._task = None

    def finish(self) -> None:
        """Draw what is left and close the current bar (before printing a line of one's own)."""
        if self.enabled:
            self._read()
            with self._lock:
                self._close()

    def _read(self):
        try:
            with self.path.open(encoding="utf-8") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        complete = chunk[:chunk.rfind("\n") + 1]
        self._offset += len(complete.encode("utf-8"))
        with self._lock:
            for line in complete.splitlines():
                try:
                    self.update(json.loads(line))
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue

    def update(self, event: dict) -> None:
        from tqdm import tqdm

        if event["task"] != self._task or (self._bar is not None and event["done"] < self._bar.n):   # a new loop
            self._close()
            self._task = event["task"]
            self._bar = tqdm(total=event.get("total"), desc=f"  {self._task}", unit="step" if "student" in self._task
                             or "judge" in self._task else "it", dynamic_ncols=True, leave=True)
        if self._bar.total != event.get("total") and event.get("total"):
            self._bar.total = event["total"]
        if event["done"] > self._bar.n:
            self._bar.update(event["done"] - self._bar.n)     # tqdm's rate and ETA from the increments

    def _follow(self):
        while not self._stop.is_set():
            self._read()
            self._stop.wait(self.interval)


def quiet_libraries() -> None:
    """Keep a notebook's output to what the kit says: no weight-loading or shard-writing bars from
    transformers, and only its errors (a student's tied ``lm_head.weight`` is reported "missing" on every
    load, which is expected). The Trainers' step bars (``progress``) are the kit's own and stay."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:                      # an older huggingface_hub
        pass
