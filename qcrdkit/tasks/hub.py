"""Loading a task split from the Hugging Face hub through ``datasets`` (online use only).

With ``HF_HUB_OFFLINE=1`` (tests, the demo) this fails fast with a message saying so; the rows
of a hub dataset go through the same ``example_from_record`` as the DSS files.
"""
from __future__ import annotations

import os

from qcrdkit.core.errors import ConfigError


def examples_from_rows(task, rows, split: str):
    return [task.example_from_record(dict(row), f"{task.name}-{split}-{i}") for i, row in enumerate(rows)]


def load_hub_split(task, hub_id: str, config: str | None, split_map: dict, split: str):
    from qcrdkit.tasks.base import carve_valid

    if split not in split_map:
        if split in ("train", "valid") and "train" in split_map:
            return carve_valid(load_hub_split(task, hub_id, config, split_map, "train"))[split]
        raise ConfigError(f"task {task.name!r}: the hub dataset {hub_id} has no {split!r} split")
    import datasets

    try:
        rows = datasets.load_dataset(hub_id, config, split=split_map[split])
    except Exception as exc:  # network / offline / missing dataset
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
        hint = (" HF_HUB_OFFLINE=1 is set, so nothing can be downloaded: pass data_dir with the DSS files"
                " instead (e.g. ../shared/data/dss)") if offline else ""
        raise ConfigError(f"task {task.name!r}: could not load {hub_id!r} split {split_map[split]!r} "
                          f"from the hub ({type(exc).__name__}: {str(exc)[:200]}).{hint}") from exc
    return examples_from_rows(task, rows, split)
