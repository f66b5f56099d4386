"""``qcrd`` command line.

* ``qcrd run --params FILE [--base FILE] [--set key=value ...]`` — the notebooks, in order, with papermill;
* ``qcrd train --run-dir DIR --method qcrd [--set steps=2000 ...]`` — one student, outside a
  notebook, with stage 03's parameters under their stage names (``--set`` as in ``qcrd run``'s
  ``03_training`` section: ``steps``, ``student``, ``negative_top_k``, ``extra={warmup_steps: 0.05}`` …); meant for ``torchrun --nproc_per_node N -m qcrdkit.cli train ...`` or
  ``accelerate launch ...`` on GPUs (untried here); refused on CPUs (docs/guide.md, stage 03);
* ``qcrd check --params FILE [--set …] [--price-in X --price-out Y]`` — a preflight: quick checks, every stage
  tiny and real in a scratch folder, and the real run's projected requests, tokens, cost, hours and memory;
* ``qcrd dashboard [RUN]`` — a run's report, case study and explorer as a web page (Voilà), read from what
  stage 04 saved;
* ``qcrd runs`` — the runs, their stages and sizes, and what each one's ``replaced/`` keeps;
* ``qcrd serve-teacher`` — the synthetic arith teacher as an OpenAI-compatible server.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from qcrdkit.core.errors import QcrdError


def _cmd_run(args) -> int:
    import tempfile

    from qcrdkit.cli.pipeline import StageFailed, load_params, run_pipeline
    from qcrdkit.core.progress import PROGRESS_ENV, TerminalProgress

    if args.offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    params = load_params(args.params, (args.set or []) + (["common.replace=true"] if args.replace else []),
                         base=args.base)
    stages = params["stages"]
    t0 = time.perf_counter()
    bars = None

    def on_stage(event: str, name: str, seconds: float | None) -> None:
        bars.finish()
        if event == "start":
            print(f"qcrd run: {name} ...", flush=True)
        else:
            print(f"qcrd run: {name} done in {_duration(seconds)} ({_duration(time.perf_counter() - t0)} in all)",
                  flush=True)

    _stop_children_on_signals()
    print(f"qcrd run: {args.params} -> stages {', '.join(stages)}" + ("" if args.quiet else
          " (progress below; --quiet for plain lines, --verbose for the notebooks' output)"), flush=True)
    with tempfile.TemporaryDirectory(prefix="qcrd-progress-") as tmp:
        progress_file = os.path.join(tmp, "progress.jsonl")
        os.environ[PROGRESS_ENV] = progress_file          # the kernels inherit it
        try:
            with TerminalProgress(progress_file, enabled=not args.quiet) as bars:
                result = run_pipeline(params, kernel_name=args.kernel, log_output=args.verbose, on_stage=on_stage)
        except StageFailed as exc:
            print(f"qcrd run: {exc}", file=sys.stderr)
            return 1
        except Stopped as exc:
            print(f"qcrd run: {exc}. What the stages wrote is kept; run again to resume", file=sys.stderr)
            return 130
        finally:
            os.environ.pop(PROGRESS_ENV, None)
    print(f"qcrd run: done in {_duration(time.perf_counter() - t0)} -> {result.run_dir}")
    for line in _where_things_are(result.run_dir):
        print(f"  {line}")
    return 0


class Stopped(KeyboardInterrupt):
    """``qcrd`` was asked to stop (Ctrl-C, SIGTERM)."""


def _stop_children_on_signals() -> None:
    """Ctrl-C (SIGINT) and SIGTERM stop ``qcrd`` *and* the notebook kernels it started: the kernels are
    terminated (then killed after 5 s) before ``qcrd`` leaves, so none keeps computing on its own."""
    import signal

    def stop(signum, frame):
        import psutil

        children = psutil.Process().children(recursive=True)
        for child in children:
            try:
                child.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(children, timeout=5)
        for child in alive:
            try:
                child.kill()
            except psutil.Error:
                pass
        raise Stopped(f"stopped by {signal.Signals(signum).name}; the kernels it started were stopped too")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 90 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def _where_things_are(run_dir) -> list[str]:
    """Where a finished run keeps what people look at: the report, its figures, the notebooks."""
    from pathlib import Path

    run_dir = Path(run_dir)
    lines = []
    report = run_dir / "report"
    if (report / "tables.md").exists():
        lines.append(f"report:  {report / 'tables.md'} (numbers: {report / 'summary.json'})")
    figures = sorted(p for folder in ("report", "students", "judge", "discriminator", "teacher")
                     for p in (run_dir / folder).glob("*.png"))
    if figures:
        lines.append(f"figures: {', '.join(str(p.relative_to(run_dir)) for p in figures)} (under {run_dir})")
    lines.append(f"notebooks (executed): {run_dir / 'notebooks'}")
    return lines


def _cmd_train(args) -> int:
    import json

    from qcrdkit.cli.pipeline import parse_override
    from qcrdkit.core.io import read_json
    from qcrdkit.training import train_student, training_stage

    parameters = {}
    for item in args.set or []:
        keys, value = parse_override(item)
        parameters[".".join(keys)] = value
    if args.replace:
        parameters["replace"] = True
    if args.no_progress:
        parameters["progress"] = False
    stage = training_stage(**read_json(args.stage_file)) if args.stage_file else None    # from train_in_processes
    metrics = train_student(args.method, args.run_dir, stage, seed=args.seed, out_dir=args.out,
                            keep_checkpoints=args.keep_checkpoints, **parameters)
    if int(os.environ.get("RANK", "0")) == 0:       # several processes (accelerate launch): the main one reports
        print(json.dumps({k: metrics[k] for k in ("name", "valid_accuracy", "test_accuracy", "steps", "seconds_per_step",
                                                   "processes")}))
    return 0


#: the dashboard's Voilà template folder (voila/templates/qcrd), and when a page's kernel is culled: idle and
#: without a page for CULL_AFTER seconds, checked every CULL_EVERY
DASHBOARD_SHARE = __import__("pathlib").Path(__file__).resolve().parent.parent / "share"
CULL_AFTER, CULL_EVERY = 15, 5


def _cmd_dashboard(args) -> int:
    from pathlib import Path

    from qcrdkit.analysis.dashboard import locate_run, run_status
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.core.paths import PROJECT_ENV
    from qcrdkit.cli.pipeline import NOTEBOOK_DIR

    env = {**os.environ, PROJECT_ENV: str(Path.cwd().resolve())}
    try:
        run_dir = locate_run(args.run, args.outputs_dir)
        env["QCRD_RUN_DIR"] = str(run_dir)
        ready, message = run_status(run_dir)
    except ConfigError as exc:
        ready, message = False, str(exc)
    if not ready:                                   # served all the same: the page says it too
        print(f"qcrd dashboard: {message.replace('**', '').replace('`', '')}", file=sys.stderr)
    url = f"http://{args.host}:{args.port}/"
    # the kit's template (Voilà's lab without CDN stylesheets: nothing is fetched from outside the machine), and
    # kernels culled about 20 s after their page closed (a class's visits do not pile up; open pages keep theirs)
    env["JUPYTER_PATH"] = os.pathsep.join([str(DASHBOARD_SHARE)] + [p for p in [os.environ.get("JUPYTER_PATH")] if p])
    command = [sys.executable, "-m", "voila", str(NOTEBOOK_DIR / "dashboard.ipynb"), f"--port={args.port}",
               f"--Voila.ip={args.host}", "--no-browser", "--preheat_kernel=True", "--pool_size=1",
               "--template=qcrd", f"--MappingKernelManager.cull_idle_timeout={CULL_AFTER}",
               f"--MappingKernelManager.cull_interval={CULL_EVERY}",
               # culls a kernel only after 15 s without a page: never one a visitor has just taken from the pool
               "--VoilaConfiguration.multi_kernel_manager_class=qcrdkit.analysis.dashboard_kernels.PageKernelManager"]
    from qcrdkit.teacher.client import is_loopback_host

    if not is_loopback_host(args.host):        # a page others can reach: only with the token (Voilà's own, from the env)
        import secrets

        env["JUPYTER_TOKEN"] = os.environ.get("QCRD_DASHBOARD_TOKEN") or secrets.token_urlsafe(18)
        command.append("--token")
        url += f"?token={env['JUPYTER_TOKEN']}"
        print("qcrd dashboard: reachable from other machines, so it asks for a token: share the address below "
              "(with its token) with your class only ($QCRD_DASHBOARD_TOKEN fixes the token)", flush=True)
    print(f"qcrd dashboard: {env.get('QCRD_RUN_DIR', 'no run')} at {url} (Ctrl-C to stop)", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # this process becomes the server, so stopping it (Ctrl-C, SIGTERM) stops Voilà and the kernels it started
    os.execve(sys.executable, command, env)
    return 0


def _cmd_runs(args) -> int:
    """The runs under <outputs>/runs: which stages each has, its size, and what its replaced/ keeps."""
    from pathlib import Path

    from qcrdkit.core.rundir import folder_bytes, judge_dir, replaced_lines

    runs = sorted(p for p in (Path(args.outputs_dir) / "runs").glob("*") if p.is_dir())
    if not runs:
        print(f"qcrd runs: no runs under {Path(args.outputs_dir) / 'runs'}")
        return 0
    for run in runs:
        stages = [name for name, done in (("01", (run / "teacher" / "samples.jsonl").exists()),
                                          ("02", (judge_dir(run) / "metrics.json").exists()),
                                          ("03", any((run / "students").glob("*/metrics.json"))),
                                          ("04", (run / "report" / "summary.json").exists())) if done]
        print(f"{run.name}: stages {' '.join(stages) or 'none'}, {folder_bytes(run) / 2**20:.1f} MB")
        for line in replaced_lines(run):
            print(f"  {line}")
    return 0


def _cmd_serve_teacher(args) -> int:
    from qcrdkit.teacher.synthetic import SyntheticTeacherServer

    server = SyntheticTeacherServer(host=args.host, port=args.port, latency=args.latency, ignore_n=args.ignore_n)
    print(f"synthetic teacher at {server.url} (Ctrl-C to stop)", flush=True)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


def _cmd_check(args) -> int:
    import json

    from qcrdkit.cli.pipeline import load_params
    from qcrdkit.cli.preflight import preflight_dir, run_preflight
    from qcrdkit.cli.projection import table

    if args.offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    params = load_params(args.params, args.set or [], base=args.base)
    _stop_children_on_signals()
    print(f"qcrd check: {args.params} (quick checks, then every stage tiny in {preflight_dir(params, os.getcwd())})",
          flush=True)
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("0", "", "false", "no")
    report = run_preflight(params, os.getcwd(), offline=offline, price_in=args.price_in,
                           price_out=args.price_out, echo=lambda line: print(line, flush=True))
    where = preflight_dir(params, os.getcwd()) / "preflight.json"
    if report["problems"]:
        for line in report["problems"]:
            print(f"problem: {line}", file=sys.stderr)
        print(f"qcrd check: {len(report['problems'])} problem(s) in {report['seconds']:.0f} s -> {where}", file=sys.stderr)
        return 1
    print(table(report))
    print(f"qcrd check: ok in {report['seconds']:.0f} s -> {where}")
    if args.json:
        print(json.dumps(report))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="qcrd", description="QCRD research kit")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the pipeline notebooks with papermill")
    run.add_argument("--params", required=True, help="YAML params file (see params/demo.yaml)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a parameter (repeatable)")
    run.add_argument("--base", default=None, metavar="FILE",
                     help="start from this params file instead of the 'base' the params file names "
                          "(e.g. a sweep file on the benchmark's run: --base params/bench.yaml)")
    run.add_argument("--replace", action="store_true",
                     help="a finished artifact of the run made with other settings or inputs is moved to "
                          "<run>/replaced/ and computed again (default: the stage stops and names the differences)")
    run.add_argument("--kernel", default="python3", help="Jupyter kernel (default: this interpreter)")
    run.add_argument("--verbose", action="store_true", help="also stream the notebooks' own output")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bars: one line when each stage starts and ends (CI logs)")
    run.add_argument("--online", dest="offline", action="store_false",
                     help="allow Hugging Face hub downloads (default: HF_HUB_OFFLINE=1 unless already set)")
    run.set_defaults(func=_cmd_run)
    check = sub.add_parser("check", help="preflight: will this params file's run work, and what will it cost?")
    check.add_argument("--params", required=True, help="the YAML params file of the real run")
    check.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a parameter (as in qcrd run)")
    check.add_argument("--base", default=None, metavar="FILE", help="as in qcrd run")
    check.add_argument("--price-in", type=float, default=None, help="teacher price per million prompt tokens")
    check.add_argument("--price-out", type=float, default=None, help="teacher price per million completion tokens")
    check.add_argument("--online", dest="offline", action="store_false",
                       help="allow Hugging Face hub downloads (default: HF_HUB_OFFLINE=1 unless already set)")
    check.add_argument("--json", action="store_true", help="also print the report as one JSON line")
    check.set_defaults(func=_cmd_check)
    train = sub.add_parser("train", help="train one student method on a run directory (stages 01-02 done)")
    train.add_argument("--run-dir", required=True, help="the run directory (outputs/runs/<id>)")
    train.add_argument("--method", required=True, help="finetune | single_task | dss | mi | qcrd")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default=None, help="output folder (default <run>/students/<method>[-<tag>][-seed<k>])")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="a stage-03 parameter under its name (docs/parameters.md), e.g. steps=500, "
                            "student=t5-small, extra={warmup_steps: 0.05} (repeatable)")
    train.add_argument("--replace", action="store_true",
                       help="a finished student there made with other settings or inputs is moved aside and trained again")
    train.add_argument("--no-progress", action="store_true")
    train.add_argument("--keep-checkpoints", action="store_true", help="keep the checkpoints folder after training")
    train.add_argument("--stage-file", help=argparse.SUPPRESS)        # stage 03's parameters as JSON (processes > 1)
    train.set_defaults(func=_cmd_train)
    dash = sub.add_parser("dashboard", help="serve a run's report, case study and explorer as a web page (Voilà)")
    dash.add_argument("run", nargs="?", default=None,
                      help="a run folder or a run id under <outputs-dir>/runs (default: $QCRD_RUN_DIR, else "
                           "interactive, the run the notebooks make)")
    dash.add_argument("--outputs-dir", default="outputs", help="where run ids are looked up (default: outputs)")
    dash.add_argument("--host", default="127.0.0.1",
                      help="the address to serve on (default: this machine only); any other, e.g. 0.0.0.0 for a "
                           "class, serves the page behind a token, printed once")
    dash.add_argument("--port", type=int, default=8866)
    dash.set_defaults(func=_cmd_dashboard)
    runs = sub.add_parser("runs", help="list the runs: their stages, sizes and what replaced/ keeps (and how to delete it)")
    runs.add_argument("--outputs-dir", default="outputs", help="where the runs are (default: outputs)")
    runs.set_defaults(func=_cmd_runs)
    serve = sub.add_parser("serve-teacher", help="serve the synthetic arith teacher (OpenAI-compatible)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--latency", type=float, default=0.0, help="seconds added to each request")
    serve.add_argument("--ignore-n", action="store_true", help="answer one choice whatever n asks")
    serve.set_defaults(func=_cmd_serve_teacher)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except QcrdError as exc:
        print(f"qcrd: {exc}", file=sys.stderr)
        return 2
    except Stopped as exc:
        print(f"qcrd: {exc}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
