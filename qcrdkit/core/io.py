"""Small file helpers shared by every stage: JSON Lines reading with line-numbered errors,
atomic writes (a reader never sees half a file, even after SIGKILL)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from qcrdkit.core.errors import DataFormatError, WriteError


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number (write null, or a finite number)")


def loads_strict(text: str) -> Any:
    """``json.loads`` of untrusted text: ``NaN``/``Infinity`` refused (ValueError), nesting too deep for the
    parser refused (ValueError), never a RecursionError."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, record)`` for each non-blank line of a JSON Lines file (a UTF-8 byte-order mark and
    CRLF line ends are accepted).

    A line that is not UTF-8, not JSON, holds ``NaN``/``Infinity`` or is not a JSON object raises
    :class:`DataFormatError` naming file and line.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise DataFormatError(path, None, "is a folder, not a JSON Lines file")
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(path, lineno, f"not UTF-8 text (byte {exc.start + 1} of the line)") from None
            if not line.strip():
                continue
            try:
                record = loads_strict(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(path, lineno, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
            except ValueError as exc:
                raise DataFormatError(path, lineno, f"not valid JSON ({exc})") from None
            if not isinstance(record, dict):
                raise DataFormatError(path, lineno, f"expected a JSON object, got {type(record).__name__}")
            yield lineno, record


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return [record for _, record in iter_jsonl(path)]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str, fsync: bool = True) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename.

    The rename alone makes the write all-or-nothing for a killed process (SIGKILL included);
    ``fsync`` also makes it survive a power cut, at a few milliseconds per file. The file's mode
    follows the umask, as for ``open()`` (classmates on a shared server can read a run)."""
    path = Path(path)
    try:
        _atomic_write(path, text, fsync)
    except OSError as exc:
        if isinstance(exc, WriteError):
            raise
        raise WriteError(f"{path}: could not be written ({exc.strerror or exc}); the file as it was is left in "
                         "place") from exc


def _atomic_write(path: Path, text: str, fsync: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())      # mkstemp makes 0600: give the file the mode open() would
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file the kit wrote (its metrics may hold NaN, as Python writes it); a malformed one is a
    :class:`DataFormatError` naming file and line."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, exc.lineno, f"not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, None, f"not UTF-8 text (byte {exc.start + 1})") from None
    except RecursionError:
        raise DataFormatError(path, None, "not valid JSON (nested too deeply)") from None
