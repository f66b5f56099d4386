"""What input from other people may do: be data, name a run, and nothing else.

Parameter files, ``--set`` values, run names and dumps come from classmates, collaborators and other
projects. Three rules keep them data:

1. **Parameters are plain data** (:func:`check_plain`): every value, at any depth, is one of YAML's plain
   types — str, int, finite float, bool, null, list, mapping with string keys. ``!!binary`` (bytes, which
   papermill would write into the parameter cell unescaped), dates, sets, ordered pairs, NaN and cycles are
   refused naming the key and the file, before any notebook starts.
2. **A run name is a name** (:func:`check_run_name`): letters, digits, ``-``, ``_``, ``.``; never ``..`` or a
   separator, so ``outputs/runs/<run_id>`` stays under ``outputs/runs``.
3. **The kit deletes and moves only inside the folder it owns** (:func:`remove_inside`, :func:`move_inside`):
   the path is checked against the folder with symlinks resolved up to the last component, and a symlink is
   moved or removed as a link, never its target.
"""
from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path

from qcrdkit.core.errors import ConfigError

#: a run name (``run_id``), a sweep variant's name, a student's tag
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
NAME_RULE = ("letters, digits, '-', '_' and '.', starting with a letter, digit or '_', at most 128 characters, "
             "no '..' and no path separator")
#: the most values one parameter file may hold (a YAML alias bomb expands past any sane file)
MAX_VALUES = 100_000


def check_run_name(name, parameter: str = "run_id", where: str = "") -> str:
    """``name`` as a string when it is a plain name (:data:`NAME_RULE`); else a :class:`ConfigError` naming
    the parameter (and the file) and the rule."""
    text = str(name)
    if isinstance(name, bool) or not isinstance(name, (str, int)) or not NAME.match(text) or ".." in text:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}{parameter} {_shown(name)} is not a name: {NAME_RULE}")
    return text


#: an environment variable's name
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_LETTER, _DIGIT = re.compile(r"[A-Za-z]"), re.compile(r"\d")


def check_env_name(value, parameter: str, where: str = "") -> None:
    """:class:`ConfigError` unless ``value`` (a ``*api_key_env`` parameter) is ``None`` or the *name* of an
    environment variable. A value that looks like a key — not a name (``sk-…``), or a name holding a run of 16 or
    more letters and digits mixed (``ghp_9ab8…``, ``hf_AbC1…``; names are words: ``MY_SERVICE_KEY_2024``) — is
    refused **without echoing it**: the message says where it was and that it was not saved."""
    if value is None:
        return
    text = value if isinstance(value, str) else ""
    looks_like_key = not ENV_NAME.match(text) or any(
        len(part) >= 16 and _LETTER.search(part) and _DIGIT.search(part) for part in text.split("_"))
    if looks_like_key:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}{parameter} must be the NAME of an environment variable that holds the key "
                          "(like OPENAI_API_KEY), and the value given is not such a name — it looks like a key "
                          "itself. It was not printed, and nothing of this run was written. Put the key in the "
                          f"environment (export OPENAI_API_KEY=...), set {parameter} to the variable's name, and "
                          "if the key was shared with others, rotate it.")


def check_key_names(params, where: str) -> None:
    """:func:`check_env_name` on every ``api_key_env`` / ``*_api_key_env`` value at any depth of ``params``."""
    stack = [("", params)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                name = f"{path}.{k}" if path else str(k)
                if str(k).endswith("api_key_env"):
                    check_env_name(v, name, where)
                stack.append((name, v))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_plain(value, where: str, key: str = "") -> None:
    """:class:`ConfigError` naming ``key`` (dotted) and ``where`` (the file, or ``--set``) unless ``value`` is
    plain data at any depth: str, int, finite float, bool, None, list, dict with string keys; no cycles and at
    most :data:`MAX_VALUES` values (an alias bomb)."""
    count = 0
    stack = [(key, value, ())]
    while stack:
        path, item, ancestors = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ConfigError(f"{where}: more than {MAX_VALUES} values (YAML aliases expanding?); refused")
        name = path or "the top level"
        if item is None or isinstance(item, (str, bool, int)):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise ConfigError(f"{where}: {name} is {item!r}; a parameter is a finite number")
            continue
        if isinstance(item, (list, dict)):
            if id(item) in ancestors:
                raise ConfigError(f"{where}: {name} contains itself (a recursive YAML alias); refused")
            inner = ancestors + (id(item),)
            if isinstance(item, list):
                stack.extend((f"{path}[{i}]", v, inner) for i, v in enumerate(item))
                continue
            for k, v in item.items():
                if not isinstance(k, str):
                    raise ConfigError(f"{where}: {name} has the key {_shown(k)} ({type(k).__name__}); keys are "
                                      "strings")
                stack.append((f"{path}.{k}" if path else k, v, inner))
            continue
        raise ConfigError(f"{where}: {name} is a {type(item).__name__} ({_shown(item)[:40]}); parameters are "
                          "plain YAML (text, numbers, true/false, null, lists, mappings): no !!binary, dates, "
                          "sets or other tags")


def _located(root: str | os.PathLike, path: str | os.PathLike, action: str) -> tuple[Path, Path]:
    """``(root resolved, path with its parent resolved)``; :class:`ConfigError` unless the path lies strictly
    inside ``root``. The last component is not resolved: a symlink is acted on as a link."""
    root = Path(root).resolve()
    path = Path(path)
    path = path.parent.resolve() / path.name if path.name not in ("", ".", "..") else path.resolve()
    if root not in path.parents:
        raise ConfigError(f"refused to {action} {path}: it is not inside {root}, the folder this step owns")
    return root, path


def remove_inside(root: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Delete ``path`` (a folder with its files, a file, or a symlink as a link) when it lies inside ``root``;
    ``False`` when there was nothing. Anything else is a :class:`ConfigError`, and nothing is deleted."""
    _, path = _located(root, path, "delete")
    if path.is_symlink() or path.is_file():
        path.unlink()
        return True
    if not path.exists():
        return False
    shutil.rmtree(path)
    return True


def move_inside(root: str | os.PathLike, source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Move ``source`` to ``target`` (both inside ``root``; a symlink moves as a link); the target's folder is
    made. Returns the target."""
    _, source = _located(root, source, "move")
    _, target = _located(root, target, "move something to")
    if target.exists() or target.is_symlink():
        raise ConfigError(f"refused to move {source} to {target}: something is there already")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(target))          # a rename on one file system; a symlink moves as a link
    return target
