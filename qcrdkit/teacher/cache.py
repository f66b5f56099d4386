"""A content-addressed disk cache of teacher completions.

One file per completion, named by the SHA-256 of everything that determines it (endpoint
namespace, model, messages, temperature, max tokens, stop, seed, sample index), written through
a temporary file and an atomic rename: a run killed with SIGKILL leaves only whole entries, and a
re-run asks the endpoint only for what is missing. Entries record what produced them.

Entries are not fsynced (that cost ~3 ms per completion on this machine, a third of the sampling
time): after a power cut an entry may be torn, and :meth:`CompletionCache.get` then treats it as
missing, so it is requested again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)


def completion_key(fields: dict, sample_index: int) -> str:
    payload = json.dumps({**fields, "sample_index": sample_index}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class CompletionCache:
    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._shards: set[str] = set()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        path = self._path(key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (ValueError, RecursionError):          # not JSON, not UTF-8, nested too deeply
            log.warning("ignoring unreadable cache entry %s (it will be requested again)", path)
            return None

    def put(self, key: str, entry: dict) -> None:
        """Write an entry: a temporary file, then an atomic rename (no fsync, see above)."""
        path = self._path(key)
        if key[:2] not in self._shards:
            path.parent.mkdir(exist_ok=True)
            self._shards.add(key[:2])
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    def __contains__(self, key: str) -> bool:
        return self._path(key).exists()

    def __len__(self) -> int:
        return sum(1 for _ in self.dir.glob("*/*.json"))
