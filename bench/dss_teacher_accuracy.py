"""Teacher accuracy of the Distilling Step-by-Step PaLM completions under the kit's answer parsers.

For SVAMP and CQA (train and test; the splits with the most completions) it prints, per file, the
completions, how many the parser credits as right, and how many it cannot parse. The parsers' rules:
README, "Reading answers exactly".

Usage: ``QCRD_DSS_DATA=../shared/data/dss python bench/dss_teacher_accuracy.py``
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qcrdkit.tasks import get_task  # noqa: E402
from qcrdkit.teacher.importers import import_dss_llm  # noqa: E402


def main() -> int:
    data = os.environ.get("QCRD_DSS_DATA")
    if not data or not Path(data).is_dir():
        print("set QCRD_DSS_DATA to the DSS data folder (../shared/data/dss here)", file=sys.stderr)
        return 2
    print(f"{'file':12} {'completions':>11} {'credited':>16} {'unparseable':>12}")
    for name in ("cqa", "svamp"):
        task = get_task(name)
        for split in ("train", "test"):
            records = import_dss_llm(task, data, split, task.load(split, data_dir=data))
            right = sum(r["correct"] for r in records)
            missing = sum(r["answer"] is None for r in records)
            print(f"{name + ' ' + split:12} {len(records):11d} {right:8d} ({100 * right / len(records):5.2f} %) {missing:12d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
