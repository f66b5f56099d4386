"""Stage parameters as given — a notebook's globals, a params section, keyword arguments — read and checked
against their declaration in :mod:`qcrdkit.core.stages`: types (:func:`check_types`), lists and dicts papermill passed
as strings (:func:`accept_parameters`), the stage's config object (:func:`make_stage_config`), and library config
fields declared from a stage's (:func:`declared`)."""
from __future__ import annotations

from dataclasses import MISSING, field, fields, replace

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.stages import STAGE_CONFIGS

_TYPES = {"int": int, "float": (int, float), "str": str, "bool": bool, "list": list, "dict": dict}


def check_types(stage: str, parameters: dict) -> None:
    """:class:`ConfigError` naming ``stage.parameter`` when a value's type is not the field's
    (``k: five`` for an int): caught before any stage runs, not as a TypeError deep in a notebook.
    ``None`` passes (several parameters take it); a bool is not a number."""
    config = STAGE_CONFIGS.get(stage)
    if config is None:
        return
    for f in fields(config):
        if f.name not in parameters or parameters[f.name] is None:
            continue
        value = parameters[f.name]
        names = [part.strip() for part in str(f.type).split("|") if part.strip() != "None"]
        allowed = [_TYPES[n] for n in names if n in _TYPES]
        if len(allowed) != len(names):
            continue                                  # an annotation this check does not read
        if isinstance(value, bool) and bool not in allowed:
            ok = False
        else:
            ok = any(isinstance(value, t) for t in allowed)
        if not ok:
            raise ConfigError(f"{stage}.{f.name}: expected {' or '.join(names)}, got {value!r} "
                              f"({type(value).__name__}) — {f.metadata.get('help', '')}".rstrip(" —"))


def _container_names(stage: str) -> dict[str, type]:
    return {f.name: (list if str(f.type) == "list" else dict) for f in fields(STAGE_CONFIGS[stage])
            if str(f.type) in ("list", "dict")}


#: how papermill's injected cell begins (its Python translator's comment)
INJECTED = "# Parameters\n"


def injected_names(namespace: dict) -> list[str]:
    """The names papermill injected into this kernel: the assignments of the executed cells that begin with
    papermill's ``# Parameters`` comment (IPython keeps every executed cell's source in ``In``)."""
    import ast

    names = []
    for source in namespace.get("In") or []:
        if not (isinstance(source, str) and source.startswith(INJECTED)):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        names += [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                  if isinstance(t, ast.Name)]
    return names


def check_injected(stage: str, namespace: dict) -> None:
    """:class:`ConfigError` naming each parameter papermill was given that the stage does not declare (``-p
    temprature 0.3``) and its closest declared name, as ``qcrd run`` refuses it."""
    import difflib

    declared = [f.name for f in fields(STAGE_CONFIGS[stage])]
    unknown = [n for n in dict.fromkeys(injected_names(namespace)) if n not in declared]
    if unknown:
        hints = [f"{n!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(n, declared, 1)) else
                 repr(n) for n in unknown]
        raise ConfigError(f"{stage}: unknown parameter(s) {', '.join(hints)} given to papermill; the notebook "
                          f"declares {', '.join(declared)} (docs/parameters.md)")


def accept_parameters(stage: str, namespace: dict) -> None:
    """Check a notebook's parameters in place (its first code cell calls this on ``globals()``).

    A name papermill injected that the stage does not declare stops it (:func:`check_injected`).

    ``papermill -p methods '["qcrd"]'`` injects a string: a list or dict parameter given as a string
    is read as YAML/JSON (``[qcrd]``, ``["qcrd", "dss"]``, ``{n_train: 100}``); one that does not read as
    one is a :class:`ConfigError` that names the parameter and ``papermill -y``. Then every value's type is
    checked (:func:`check_types`)."""
    import yaml

    check_injected(stage, namespace)
    for name, kind in _container_names(stage).items():
        value = namespace.get(name)
        if not isinstance(value, str):
            continue
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed = None
        if not isinstance(parsed, kind):
            raise ConfigError(f"{stage}.{name}: expected a {kind.__name__}, got the string {value!r}; write it as "
                              f"YAML or JSON (-p {name} '{'[a, b]' if kind is list else '{key: value}'}'), or pass "
                              f"parameters as YAML with papermill -y '{name}: ...'")
        namespace[name] = parsed
    given = {k: namespace[k] for k in (f.name for f in fields(STAGE_CONFIGS[stage])) if k in namespace}
    check_types(stage, given)
    from qcrdkit.core.guards import check_key_names

    check_key_names(given, stage)
    return make_stage_config(stage, namespace, strict=False)


def make_stage_config(stage: str, values: dict | None = None, *, base=None, strict: bool = True):
    """The stage's config object: ``base`` (default: the stage's defaults) with ``values`` (the stage's own
    parameter names) replaced. ``strict``: a name the stage does not declare is a :class:`ConfigError` naming it
    (``strict=False`` reads a notebook's globals, which hold other names too). Types are checked."""
    cls = STAGE_CONFIGS[stage]
    names = [f.name for f in fields(cls)]
    values = dict(values or {})
    unknown = sorted(set(values) - set(names))
    if strict and unknown:
        raise ConfigError(f"{stage}: unknown parameter(s) {unknown}; its parameters: {', '.join(names)} "
                          "(docs/parameters.md)")
    values = {k: v for k, v in values.items() if k in names}
    check_types(stage, values)
    return replace(base if base is not None else cls(), **values)


def declared(stage: str, name: str, **metadata):
    """A library config's field declared by the stage's parameter ``name``: its default and help (one
    declaration per parameter; :class:`qcrdkit.training.QCRDConfig` uses it for the fields it shares
    with stage 03)."""
    f = next(f for f in fields(STAGE_CONFIGS[stage]) if f.name == name)
    meta = {"help": f.metadata["help"], "stage": f"{stage}.{name}", **metadata}
    if f.default_factory is not MISSING:
        return field(default_factory=f.default_factory, metadata=meta)
    return field(default=f.default, metadata=meta)
