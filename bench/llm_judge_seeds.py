"""The LLM judge's preference between two students of every seed, on a run that trained several seeds.

Stage 04's LLM judge (:func:`qcrdkit.analysis.run.llm_judge_section`) compares one pair per seed: ``A`` against
``B`` trained with seed 0 (``--compare A B``), ``A-seed1`` against ``B-seed1``, … The pairs are judged on the same
50 test questions, at the students' temperatures 0 and 0.7, in both orders. The offline default is the synthetic
endpoint, which checks each rationale's arithmetic. Per pair and temperature the script prints the outcome counts
of seed 0, each seed's ``(B better − A better) / pairs``, and their mean with a 95 % t interval over seeds. Holm
corrects the p-values over every comparison the script makes. Nothing in the run is written: the report goes to
a temporary folder, the judge's cache to ``--cache``.

Usage: ``python bench/llm_judge_seeds.py --run-dir outputs/bench/runs/bench --compare dss qcrd --compare dss qcrd-woED``
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def judge_pair(run_dir: Path, compare: list[str], cache: Path, report_dir: Path, endpoint: str):
    from qcrdkit.analysis.report import Report
    from qcrdkit.analysis.run import AnalysisRun, llm_judge_section
    from qcrdkit.analysis.student_results import collect_students
    from qcrdkit.core.stage_parameters import make_stage_config
    from qcrdkit.core.stages import ANALYSIS
    from qcrdkit.tasks import load_task

    stage = make_stage_config(ANALYSIS, {"run_dir": str(run_dir), "compare": compare, "llm_judge": endpoint,
                                         "llm_judge_cache_dir": str(cache), "progress": False})
    task, spec = load_task(run_dir)
    students, predictions = collect_students([run_dir])
    run = AnalysisRun(run_dir, [run_dir], task, spec, students, predictions, [],
                      task.load("test", data_dir=spec.get("data_dir")), Report(report_dir, "LLM judge over seeds"))
    return llm_judge_section(run, stage)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--compare", nargs=2, action="append", required=True, metavar=("A", "B"))
    parser.add_argument("--endpoint", default="synthetic", help="stage 04's llm_judge (synthetic: offline)")
    parser.add_argument("--cache", default=str(REPO / "outputs" / "cache" / "judge"))
    args = parser.parse_args()
    from qcrdkit.analysis.statistics import holm

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, pair in enumerate(args.compare):
            judgement = judge_pair(Path(args.run_dir).resolve(), pair, Path(args.cache), Path(tmp) / str(i), args.endpoint)
            print(f"\n## {pair[1]} against {pair[0]}\n\nseed 0's counts:\n{judgement.counts_table.to_string()}\n\n"
                  f"({pair[1]} better - {pair[0]} better) / pairs, points:\n{judgement.preference_table.to_string()}")
            results += [(pair, temperature, p) for temperature, p in judgement.preference.items()]
    with_p = [r for r in results if "p" in r[2]]
    adjusted = holm([p["p"] for _, _, p in with_p])
    print(f"\nHolm over {len(with_p)} comparisons:")
    for (pair, temperature, p), q in zip(with_p, adjusted):
        print(f"  {pair[1]} - {pair[0]} at {temperature}: {100 * p['mean']:+.1f} [{100 * p['low']:+.1f}, "
              f"{100 * p['high']:+.1f}] points, {p['seeds']} seeds, Holm p {q:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
