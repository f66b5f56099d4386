"""SVAMP (Patel et al. 2021): arithmetic word problems whose gold label is an equation."""
from __future__ import annotations

from qcrdkit.tasks.base import Example, register_task
from qcrdkit.tasks.numeric import NumericTask, safe_eval


@register_task("svamp")
class SVAMP(NumericTask):
    required_fields = ("input", "label")
    valid_from_train = True
    hub_id = "ChilleD/SVAMP"

    def example_from_record(self, record: dict, default_id: str) -> Example:
        if "input" not in record:  # hub layout: Body / Question / Equation
            record = {"input": f"{record['Body']}\n{record['Question']}", "label": record["Equation"],
                      "id": record.get("ID")}
        return Example(id=str(record.get("id") or default_id), input=record["input"],
                       label=record["label"], answer=safe_eval(record["label"]))

    def _load_split_hub(self, split):
        from qcrdkit.tasks.hub import load_hub_split
        return load_hub_split(self, self.hub_id, None, {"train": "train", "test": "test"}, split)
