"""``qcrd`` command line.

* ``qcrd run --params FILE [--base FILE] [--set key=value ...]`` — the notebooks, in order, with papermill;
* ``qcrd train --run-dir DIR --method qcrd [--set max_steps=2000 ...]`` — one student, outside a
  notebook; runs as is under ``torchrun --nproc_per_node N -m qcrdkit.cli train ...`` or
  ``accelerate launch -m qcrdkit.cli train ...``;
* ``qcrd serve-teacher`` — the synthetic arith teacher as an OpenAI-compatible server.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from .errors import QcrdError


def _cmd_run(args) -> int:
    from .pipeline import StageFailed, load_params, run_pipeline

    if args.offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    params = load_params(args.params, args.set or [], base=args.base)
    t0 = time.perf_counter()
    try:
        result = run_pipeline(params, kernel_name=args.kernel, log_output=args.verbose)
    except StageFailed as exc:
        print(f"qcrd run: {exc}", file=sys.stderr)
        return 1
    for stage, secs in result.seconds.items():
        print(f"  {stage}: {secs} s")
    print(f"qcrd run: done in {time.perf_counter() - t0:.1f} s -> {result.run_dir}")
    return 0


def _cmd_train(args) -> int:
    import json

    from .pipeline import parse_override
    from .trainers import train_student

    params = {}
    for item in args.set or []:
        keys, value = parse_override(item)
        params[".".join(keys)] = value
    metrics = train_student(args.method, args.run_dir, out_dir=args.out, student=args.student, tokenizer=args.tokenizer,
                            vocab_size=args.vocab_size, seed=args.seed, progress=not args.no_progress, **params)
    print(json.dumps({k: metrics[k] for k in ("name", "valid_accuracy", "test_accuracy", "steps", "seconds_per_step")}))
    return 0


def _cmd_serve_teacher(args) -> int:
    from .teacher.synthetic import SyntheticTeacherServer

    server = SyntheticTeacherServer(host=args.host, port=args.port, latency=args.latency, ignore_n=args.ignore_n)
    print(f"synthetic teacher at {server.url} (Ctrl-C to stop)", flush=True)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
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
    run.add_argument("--kernel", default="python3", help="Jupyter kernel (default: this interpreter)")
    run.add_argument("--verbose", action="store_true", help="stream notebook output")
    run.add_argument("--online", dest="offline", action="store_false",
                     help="allow Hugging Face hub downloads (default: HF_HUB_OFFLINE=1 unless already set)")
    run.set_defaults(func=_cmd_run)
    train = sub.add_parser("train", help="train one student method on a run directory (stages 01-02 done)")
    train.add_argument("--run-dir", required=True, help="the run directory (outputs/runs/<id>)")
    train.add_argument("--method", required=True, help="finetune | single_task | dss | mi | qcrd")
    train.add_argument("--student", default="scratch-small", help="preset, hub name or local folder")
    train.add_argument("--tokenizer", default="corpus", help="presets: corpus | byte")
    train.add_argument("--vocab-size", type=int, default=2000, help="presets with the corpus tokenizer")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default=None, help="output folder (default <run>/students/<method>)")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="a training parameter: a field of the method's config, e.g. max_steps=500 (repeatable)")
    train.add_argument("--no-progress", action="store_true")
    train.set_defaults(func=_cmd_train)
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


if __name__ == "__main__":
    sys.exit(main())
