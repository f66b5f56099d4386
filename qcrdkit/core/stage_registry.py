"""The stages' registry: one :class:`Stage` record per stage (its name, title, config class, notebook, path parameters
and the hooks of ``qcrd check`` and its projection), in the pipeline's order. :mod:`qcrdkit.core.stages` registers
the four stages with their config classes."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

#: the stages' names (a notebook, a params-file section, a folder of outputs are named so)
TEACHER_SAMPLING, JUDGE, TRAINING, ANALYSIS = "01_teacher_sampling", "02_judge", "03_training", "04_analysis"

@dataclass(frozen=True)
class Stage:
    """One stage, described once: what the pipeline, ``qcrd check``, the projection, the parameter reference and the
    command line know of it. Adding a stage is one :func:`register_stage` (with its notebook, its config class and
    the functions its hooks name).

    The hooks are ``"module:function"`` names, imported when called (the command line's code sits above this
    module): ``checks(config, offline, context) -> [problem lines]`` (``qcrd check``'s quick checks; ``context`` is
    shared by the stages of one check), ``tiny(section, tiny_root, context) -> section`` (its parameters in the
    tiny run), ``projection(context, config, name, wall) -> seconds`` (the real run's time from the tiny run's)."""

    name: str
    title: str
    config: type
    #: parameters given as paths (or lists of paths): absolute against the folder ``qcrd run`` starts in
    path_parameters: tuple = ()
    #: parameters that are a path or a name (a hub model, a preset): absolute when such a path exists
    maybe_path_parameters: tuple = ()
    checks: str | None = None
    tiny: str | None = None
    projection: str | None = None

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"

    def hook(self, kind: str):
        """The function named by hook ``kind`` (``checks``, ``tiny``, ``projection``), or ``None``."""
        target = getattr(self, kind)
        if target is None:
            return None
        module, _, function = target.partition(":")
        return getattr(importlib.import_module(module), function)


#: ``{name: record}`` in the pipeline's order, and ``{name: config class}``: filled by :func:`register_stage`
STAGES_BY_NAME: dict[str, Stage] = {}
STAGE_CONFIGS: dict[str, type] = {}


def register_stage(record: Stage) -> Stage:
    """Add a stage after the others (a name registered twice, or a config class of another stage, is an error)."""
    if record.name in STAGES_BY_NAME:
        raise ValueError(f"stage {record.name!r} is registered already")
    if getattr(record.config, "stage", None) != record.name:
        raise ValueError(f"stage {record.name!r}: its config class {record.config.__name__} says stage "
                         f"{getattr(record.config, 'stage', None)!r}")
    STAGES_BY_NAME[record.name] = record
    STAGE_CONFIGS[record.name] = record.config
    return record


def stage_names() -> list[str]:
    """The stages' names in the pipeline's order."""
    return list(STAGES_BY_NAME)
