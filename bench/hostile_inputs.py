"""Hostile and careless input, tried the way others' files reach the kit: parameter files, ``--set`` values,
run names, rationale dumps, own-data files, odd rationale text, symlinks, read-only folders, a full disk.

Each case runs in a sandbox (``<tmp>/project`` as the working folder, ``<tmp>/outside`` a folder of someone
else's files that no case may touch) under a time limit, and ends in one of:

* ``clear error`` — the kit's own error (:class:`qcrdkit.core.errors.QcrdError`) naming the file, line or parameter
  (each case lists what its message must name);
* ``accepted`` — read as data, and the case's check of the result holds;
* ``wrong`` — accepted when it should be refused, refused when it should be read, or an error that does not name
  what it must;
* ``crash`` — any other exception; ``hang`` — over the time limit.

Files touched outside the sandbox's run folders are counted too (the ``outside`` folder's names and bytes before
and after, and no ``pwned`` file anywhere). ``tests/test_hostile.py`` asserts every case's outcome; this script
counts them. Last line: JSON ``{"cases", "clear_errors", "accepted", "wrong", "crashes", "hangs",
"files_touched_outside"}``.

    python bench/hostile_inputs.py            # about a minute
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "hostile"
OWN_TASK = REPO / "tests" / "data" / "own_task"
#: seconds a case may take before it counts as a hang
TIME_LIMIT = 60
PAYLOAD_FILE = "pwned"


@dataclass
class Case:
    name: str
    run: Callable[[Path], object]                 # sandbox -> result (raises for a refusal)
    expect: str = "error"                         # error | ok
    mentions: tuple = ()                          # what the error message must name
    hides: tuple = ()                             # what it must not show (a key)
    check: Callable[[object], bool] | None = None  # an accepted result's check
    doc: str = ""


@dataclass
class Outcome:
    case: str
    outcome: str
    seconds: float
    detail: str = ""
    touched_outside: list = field(default_factory=list)


# ---- the cases ------------------------------------------------------------------------------------------------
def _load_params(name: str, *overrides: str):
    from qcrdkit.cli.pipeline import load_params

    return lambda sandbox: load_params(CORPUS / name, list(overrides))


def _set(item: str):
    from qcrdkit.cli.pipeline import load_params

    def run(sandbox):
        (sandbox / "p.yaml").write_text("run_id: ok\n")
        return load_params(sandbox / "p.yaml", [item])
    return run


def _own_task():
    from qcrdkit.tasks import get_task

    return get_task("jsonl", train=str(OWN_TASK / "questions_train.jsonl"), test=str(OWN_TASK / "questions_test.csv"),
                    id_field="qid", answer_type="number")


def _dump(path_or_maker):
    from qcrdkit.teacher.importers import import_jsonl

    def run(sandbox):
        path = path_or_maker(sandbox) if callable(path_or_maker) else CORPUS / path_or_maker
        task = _own_task()
        return import_jsonl(task, path, {"train": task.load("train")})
    return run


def _own_data(path_or_maker):
    from qcrdkit.tasks import get_task

    def run(sandbox):
        path = path_or_maker(sandbox) if callable(path_or_maker) else CORPUS / path_or_maker
        return get_task("jsonl", train=str(path), valid=str(OWN_TASK / "questions_test.csv"),
                        test=str(OWN_TASK / "questions_test.csv"), id_field="qid", answer_type="number").load("train")
    return run


def _written(name: str, text_or_bytes) -> Callable[[Path], Path]:
    def make(sandbox):
        path = sandbox / name
        data = text_or_bytes() if callable(text_or_bytes) else text_or_bytes
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path
    return make


READER_TEXTS = {
    "400 digits": "The answer is 1" + "0" * 400,
    "3000 minus signs": "The answer is " + "-" * 3000 + "5",
    "10 MB of digits": "1" * 10_000_000,
    "10 MB answer statement": "The answer is " + "9" * 10_000_000,
    "5000 nested parentheses": "The answer is " + "(" * 5000 + "1" + ")" * 5000,
    "5000 nested boxes": "\\boxed{" * 5000 + "1" + "}" * 5000,
    "NUL bytes and controls": "The answer is \x00\x01\x02 5\x00.",
    "lone surrogates": "The answer is \ud800 5.",
    "1e400 written out": "So the total is 1e400 apples.",
    "a million sentences": "So it is 5. " * 100_000,
    "right-to-left and combining marks": "\u202eThe answer is 5\u0301\u0301\u0301." * 1000,
}


def _read_text(text: str):
    from qcrdkit.tasks import get_task

    tasks = [get_task("arith"), _own_task(), get_task("jsonl", train=str(OWN_TASK / "questions_train.jsonl"),
                                                      test=str(OWN_TASK / "questions_test.csv"), answer_type="text")]

    def run(sandbox):
        return [task.read_completion(text, None) for task in tasks]
    return run


def cases() -> list[Case]:
    out = [
        Case("params: !!binary inside a list", _load_params("params_binary_in_list.yaml"),
             mentions=("params_binary_in_list.yaml", "01_teacher_sampling.splits[1]", "bytes")),
        Case("params: !!binary deep in a mapping", _load_params("params_binary_deep.yaml"),
             mentions=("params_binary_deep.yaml", "common.task_options.seed")),
        Case("--set: !!binary value", _set("common.task_options.seed=!!binary IiszdHIoX19pbXBvcnRfXygib3MiKSk="),
             mentions=("--set", "common.task_options.seed", "bytes")),
        Case("params: a date", _load_params("params_date.yaml"), mentions=("params_date.yaml", "run_id", "date")),
        Case("params: !!set", _load_params("params_set.yaml"), mentions=("common.methods", "set")),
        Case("params: !!omap", _load_params("params_omap.yaml"), mentions=("common.task_options", "tuple")),
        Case("params: .nan", _load_params("params_nan.yaml"), mentions=("01_teacher_sampling.temperature", "nan")),
        Case("params: a number as a key", _load_params("params_int_key.yaml"), mentions=("common.task_options", "key 1")),
        Case("params: alias bomb", _load_params("params_alias_bomb.yaml"), mentions=("params_alias_bomb.yaml", "values")),
        Case("params: recursive alias", _load_params("params_recursive_alias.yaml"),
             mentions=("params_recursive_alias.yaml", "contains itself")),
        Case("params: !!python tag", _load_params("params_python_tag.yaml"), mentions=("params_python_tag.yaml", "YAML")),
        Case("params: run_id ../../elsewhere", _load_params("params_run_id_parent.yaml"), mentions=("run_id", "not a name")),
        Case("params: run_id an absolute path", _load_params("params_run_id_absolute.yaml"),
             mentions=("run_id", "not a name")),
        Case("--set run_id=/some/dir", _set("run_id=/some/dir"), mentions=("run_id", "not a name")),
        Case("params: sweep variant ../../escape", _load_params("params_sweep_variant_path.yaml"),
             mentions=("sweep variant", "not a name")),
        Case("--set 03_training.tag=../x", _set("03_training.tag=../x"), mentions=("03_training.tag", "not a name")),
        Case("params: a key pasted as api_key_env", _load_params("params_key_as_env_name.yaml"),
             mentions=("01_teacher_sampling.api_key_env", "NAME"), hides=("sk-proj-4f9aT3xQ7LmN2pR8vK1sW6yZ0bC5dE",)),
        Case("--set: a key pasted as api_key_env", _set("01_teacher_sampling.api_key_env=ghp_9ab8c7d6e5f4a3b2c1d0e9f8"),
             mentions=("api_key_env",), hides=("ghp_9ab8c7d6e5f4a3b2c1d0e9f8",)),
        Case("params: not UTF-8", _load_params("params_not_utf8.yaml"), mentions=("params_not_utf8.yaml", "UTF-8")),
        Case("params: BOM and CRLF", _load_params("params_bom_crlf.yaml"), expect="ok",
             check=lambda p: p["run_id"] == "bom-crlf"),
        Case("params: empty file", _load_params("params_empty.yaml"), expect="ok",
             check=lambda p: len(p["stages"]) == 4),
        # ---- rationale dumps (import_jsonl, against tests/data/own_task) ----
        Case("dump: sample_index NaN", _dump("dump_nan_sample_index.jsonl"),
             mentions=("dump_nan_sample_index.jsonl:1", "NaN")),
        Case("dump: temperature Infinity", _dump("dump_infinity_temperature.jsonl"),
             mentions=("dump_infinity_temperature.jsonl:1", "Infinity")),
        Case("dump: the same (id, sample_index) twice", _dump("dump_duplicate_sample.jsonl"),
             mentions=("dump_duplicate_sample.jsonl:2", "line 1")),
        Case("dump: sample_index null", _dump("dump_null_sample_index.jsonl"),
             mentions=("dump_null_sample_index.jsonl:1", "sample_index")),
        Case("dump: sample_index -1", _dump("dump_negative_sample_index.jsonl"),
             mentions=("dump_negative_sample_index.jsonl:1", "sample_index")),
        Case("dump: temperature as text", _dump("dump_temperature_text.jsonl"),
             mentions=("dump_temperature_text.jsonl:1", "temperature")),
        Case("dump: not UTF-8", _dump("dump_not_utf8.jsonl"), mentions=("dump_not_utf8.jsonl:2", "UTF-8")),
        Case("dump: BOM and CRLF", _dump("dump_bom_crlf.jsonl"), expect="ok",
             check=lambda r: [x["answer"] for x in r[0]] == [5.0, 2.0]),
        Case("dump: empty file", _dump("dump_empty.jsonl"), mentions=("dump_empty.jsonl", "no rationale")),
        Case("dump: a line that is not an object", _dump("dump_not_an_object.jsonl"),
             mentions=("dump_not_an_object.jsonl:1", "object")),
        Case("dump: rationale not text", _dump("dump_rationale_not_text.jsonl"),
             mentions=("dump_rationale_not_text.jsonl:1",)),
        Case("dump: 100,000 nested brackets", _dump(_written("deep.jsonl", "[" * 100_000 + "\n")),
             mentions=("deep.jsonl:1", "nested")),
        Case("dump: a 10 MB rationale", _dump(_written("long.jsonl", lambda: json.dumps(
            {"id": "tr0", "rationale": "2 * 2 = 4. " * 900_000 + "The answer is 5."}) + "\n")), expect="ok",
            check=lambda r: r[0][0]["answer"] == 5.0),
        Case("dump: a million lines matching nothing", _dump(_written("many.jsonl", lambda: (
            '{"question": "no such question", "rationale": "The answer is 1."}\n' * 1_000_000))),
            mentions=("many.jsonl", "no rationale matched")),
        # ---- own data (task jsonl) ----
        Case("own CSV: answer NaN", _own_data("own_nan_answer.csv"), mentions=("own_nan_answer.csv:2", "number")),
        Case("own CSV: answer 2.5e3", _own_data("own_scientific_answer.csv"), expect="ok",
             check=lambda exs: exs[0].answer == 2500.0),
        Case("own CSV: not UTF-8", _own_data("own_not_utf8.csv"), mentions=("own_not_utf8.csv:3", "UTF-8")),
        Case("own CSV: BOM and CRLF", _own_data("own_bom_crlf.csv"), expect="ok",
             check=lambda exs: exs[0].id == "tr0" and exs[0].answer == 3.0),
        Case("own CSV: a 200 KB field", _own_data(_written("wide.csv", lambda: "qid,question,answer\ntr0,\"How many? "
                                                             + "x " * 100_000 + "\",3\n")), expect="ok",
             check=lambda exs: exs[0].answer == 3.0),
        Case("own CSV: a 20 MB field", _own_data(_written("huge.csv", lambda: "qid,question,answer\ntr0,\"How many? "
                                                            + "x" * 20_000_000 + "\",3\n")),
             mentions=("huge.csv:2", "CSV")),
        Case("own data: valid_fraction 0", lambda sandbox: _own_task().__class__(
            train=str(OWN_TASK / "questions_train.jsonl"), test=str(OWN_TASK / "questions_test.csv"),
            valid_fraction=0.0), mentions=("task_options.valid_fraction",)),
        Case("own JSONL: answer NaN", _own_data("own_nan_answer.jsonl"), mentions=("own_nan_answer.jsonl:1", "NaN")),
        Case("own JSONL: answer true", _own_data("own_bool_answer.jsonl"), mentions=("own_bool_answer.jsonl:1",)),
        Case("own JSONL: answer \"Infinity\"", _own_data("own_infinite_answer.jsonl"),
             mentions=("own_infinite_answer.jsonl:1", "number")),
    ]
    out += [Case(f"reader: {name}", _read_text(text), expect="ok",
                 check=lambda readings: all(r[1].answer is None or isinstance(r[1].answer, (float, str))
                                            for r in readings)) for name, text in READER_TEXTS.items()]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fs_cases import FILE_SYSTEM_CASES

    out += FILE_SYSTEM_CASES
    return out


# ---- reader speed ---------------------------------------------------------------------------------------------
SPEED_PIECES = ["The answer is ", "Answer: ", "####", "\\boxed{", "}", "(", ")", "-", "+", "*", "/", "=", "So ",
                "which is ", "1", "9" * 50, ".", ",", "e", "\n", " ", "option (a) ", "yes", "contradiction", "\\frac{",
                "x", "%", "$", "\u00d7", "\u2212", "a", "1a", "A1", "AB", "-a", "12.", "1,", " so ", "because ", "If ",
                "Since ", ", ", "? ", "! ", "...", "''", '"']
#: the target: a reader takes under this many milliseconds per 100 KB of any text
MS_PER_100KB = 50


def reader_speed(trials: int = 300, seed: int = 0) -> dict:
    """Milliseconds per 100 KB of each task's reader on ``trials`` texts made of one random piece of
    :data:`SPEED_PIECES` repeated to 100 KB (what makes regular expressions backtrack): the worst, and how many
    readings were over :data:`MS_PER_100KB`."""
    import random

    rng = random.Random(seed)
    from qcrdkit.tasks import get_task

    tasks = [get_task("arith"), _own_task()]
    worst, slow, readings = (0.0, "", ""), 0, 0
    for _ in range(trials):
        piece = "".join(rng.choice(SPEED_PIECES) for _ in range(rng.randint(1, 6)))
        text = (piece * (100 * 1024 // len(piece) + 1))[:100 * 1024]
        for task in tasks:
            start = time.perf_counter()
            task.read_completion(text, None)
            ms = 1000 * (time.perf_counter() - start)
            readings += 1
            slow += ms > MS_PER_100KB
            worst = max(worst, (ms, task.name, piece))
    return {"readings": readings, "over_target": slow, "worst_ms_per_100kb": round(worst[0], 1),
            "worst_text": f"{worst[2]!r} repeated ({worst[1]})"}


# ---- running them ---------------------------------------------------------------------------------------------
class Hang(Exception):
    pass


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)) + ("@" if p.is_symlink() else ""):
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else "dir"
            for p in sorted(folder.rglob("*"))}


def make_sandbox(root: Path) -> Path:
    """``root/project`` (the working folder) and ``root/outside`` (someone else's files: a params.yaml, a
    ``tiny/`` folder with a file, a ``teacher/`` folder)."""
    (root / "project").mkdir(parents=True)
    outside = root / "outside"
    for name, text in {"params.yaml": "mine: true\n", "tiny/keep.txt": "my notes\n",
                       "teacher/samples.jsonl": '{"mine": 1}\n'}.items():
        (outside / name).parent.mkdir(parents=True, exist_ok=True)
        (outside / name).write_text(text)
    return root / "project"


def run_case(case: Case, root: Path) -> Outcome:
    from qcrdkit.core.errors import QcrdError

    sandbox = make_sandbox(root)
    before = _tree(root / "outside")
    cwd = os.getcwd()
    os.chdir(sandbox)
    previous = signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(Hang()))
    signal.alarm(TIME_LIMIT)
    t0 = time.perf_counter()
    result, error = None, None
    try:
        result = case.run(sandbox)
    except Hang:
        error = "hang"
    except QcrdError as exc:
        error = exc
    except Exception as exc:                 # noqa: BLE001 — a crash is what this counts
        error = ("crash", exc)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(cwd)
    seconds = round(time.perf_counter() - t0, 3)
    touched = [k for k in set(before) | set(_tree(root / "outside")) if before.get(k) != _tree(root / "outside").get(k)]
    touched += [str(p) for p in root.rglob(PAYLOAD_FILE)] + ([PAYLOAD_FILE] if Path(cwd, PAYLOAD_FILE).exists() else [])
    if error == "hang":
        return Outcome(case.name, "hang", seconds, f"over {TIME_LIMIT} s", touched)
    if isinstance(error, tuple):
        return Outcome(case.name, "crash", seconds, f"{type(error[1]).__name__}: {str(error[1])[:300]}", touched)
    if error is not None:
        message = str(error)
        missing = [m for m in case.mentions if m not in message]
        shown = [h for h in case.hides if h in message]
        if case.expect == "error" and not missing and not shown:
            return Outcome(case.name, "clear error", seconds, message[:300], touched)
        why = f"missing {missing}" if missing else f"shows {len(shown)} secret(s)" if shown else "should be read"
        return Outcome(case.name, "wrong", seconds, f"{why}: {message[:300]}", touched)
    if case.expect == "ok" and (case.check is None or case.check(result)):
        return Outcome(case.name, "accepted", seconds, "", touched)
    return Outcome(case.name, "wrong", seconds, "accepted" if case.expect == "error" else "check failed", touched)


def main(trials: int = 300) -> int:
    outcomes = []
    for case in cases():
        with tempfile.TemporaryDirectory(prefix="qcrd-hostile-") as tmp:
            outcome = run_case(case, Path(tmp))
        outcomes.append(outcome)
        print(f"{outcome.outcome:12s} {outcome.seconds:7.2f} s  {case.name}"
              + (f"  -- {outcome.detail[:160]}" if outcome.outcome not in ("clear error", "accepted") else "")
              + (f"  TOUCHED OUTSIDE {outcome.touched_outside}" if outcome.touched_outside else ""), flush=True)
    count = lambda kind: sum(o.outcome == kind for o in outcomes)      # noqa: E731
    speed = reader_speed(trials) if trials else None
    if speed:
        print(f"reader speed: {speed['readings']} readings of 100 KB, worst {speed['worst_ms_per_100kb']} ms "
              f"({speed['worst_text']}), {speed['over_target']} over {MS_PER_100KB} ms", flush=True)
    summary = {"cases": len(outcomes), "clear_errors": count("clear error"), "accepted": count("accepted"),
               "wrong": count("wrong"), "crashes": count("crash"), "hangs": count("hang"),
               "files_touched_outside": sum(len(o.touched_outside) for o in outcomes),
               **({"reader_worst_ms_per_100kb": speed["worst_ms_per_100kb"],
                   "readings_over_50_ms_per_100kb": speed["over_target"]} if speed else {})}
    print(json.dumps(summary))
    return 0 if summary["wrong"] == summary["crashes"] == summary["hangs"] == summary["files_touched_outside"] == 0 \
        else 1


if __name__ == "__main__":
    sys.exit(main())
