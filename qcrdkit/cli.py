"""``qcrd`` command line: ``qcrd run --params FILE [--set key=value ...]`` and ``qcrd serve-teacher``."""
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
    params = load_params(args.params, args.set or [])
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
    run.add_argument("--kernel", default="python3", help="Jupyter kernel (default: this interpreter)")
    run.add_argument("--verbose", action="store_true", help="stream notebook output")
    run.add_argument("--online", dest="offline", action="store_false",
                     help="allow Hugging Face hub downloads (default: HF_HUB_OFFLINE=1 unless already set)")
    run.set_defaults(func=_cmd_run)
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
