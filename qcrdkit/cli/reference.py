"""The parameter reference (``docs/parameters.md``), generated from the stage configs in :mod:`qcrdkit.core.stages`
— the one place each parameter is declared — so the document cannot drift from the code
(``tests/test_stages.py`` checks it is current).

    python -m qcrdkit.cli.reference > docs/parameters.md
"""
from __future__ import annotations

from dataclasses import MISSING, fields

from qcrdkit.core.stages import STAGE_CONFIGS, STAGES_BY_NAME


def _literal(value) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return f"`{text}`".replace("|", "\\|")


def parameter_reference() -> str:
    """Markdown: per stage, every parameter with its default, the paper's value where it fixes one, and
    what it means (the field's ``help``)."""
    lines = ["# Parameter reference", "",
             "Generated from `qcrdkit/core/stages.py` by `python -m qcrdkit.cli.reference > docs/parameters.md`; do not edit.",
             "Each stage's notebook declares these parameters with these defaults; `qcrd run --set <stage>.<name>=...`",
             "and params files (`common:` for the ones several stages share) override them. *paper*: the value the",
             "paper states, with the section that states it (`params/paper.yaml` runs them, and lists what it sets",
             "that the paper does not state); a value without one is the kit's.", "",
             "The library speaks the same names: `train_student(method, run_dir, steps=...)` and `qcrd train --set`",
             "take stage 03's, the notebooks pass their parameters on unrenamed, and the library configs declare",
             "their shared fields from these (`qcrdkit.core.stage_parameters.declared`). Where a Hugging Face `TrainingArguments` field",
             "has another name (`steps` → `max_steps`, `batch_size` → `per_device_train_batch_size`, `lr` →",
             "`learning_rate`, `eval_every` → `eval_steps`), one function maps them: `qcrdkit.training.method_config`",
             "(stage 03), `qcrdkit.judge.judge_training_config` (stage 02).", ""]
    for stage, config in STAGE_CONFIGS.items():
        lines += [f"## {STAGES_BY_NAME[stage].title} (`notebooks/{STAGES_BY_NAME[stage].notebook}`)", "",
                  "| parameter | default | paper | meaning |", "|---|---|---|---|"]
        instance = config()
        for f in fields(config):
            default = getattr(instance, f.name) if f.default is MISSING else f.default
            paper = f"{_literal(f.metadata['paper'])} ({f.metadata['cite']})" if "paper" in f.metadata else ""
            meaning = f.metadata.get("help", "").replace("|", "\\|")
            lines.append(f"| `{f.name}` | {_literal(default)} | {paper} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(parameter_reference(), end="")
