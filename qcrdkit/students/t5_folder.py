"""A hub-layout T5 student folder made offline: what a ``t5-base`` download looks like on disk.

No pretrained weights are reachable here, but a researcher's run (``params/paper.yaml``) takes its student
and judge from such a folder: ``config.json`` + ``model.safetensors`` + T5's SentencePiece tokenizer
(``spiece.model`` and its configs). :func:`make_t5_folder` writes one from a *shape* folder holding T5's
vocabulary and a config (``../shared/models/flan-t5-base-shape``: flan-t5-base's): the model built from the
config — or the same config shrunk for a CPU (:data:`SHRUNK`: the width and depth of the ``scratch-small``
preset, T5's vocabulary, gated-GELU and untied head kept) — with random weights, saved with
``save_pretrained`` beside the tokenizer (``AutoTokenizer.from_pretrained`` on the shape folder; needs
``sentencepiece`` and ``protobuf``).

Command line::

    python -m qcrdkit.students.t5_folder --shape ../shared/models/flan-t5-base-shape --out outputs/models/t5-shrunk
    python -m qcrdkit.students.t5_folder --shape ... --out outputs/models/flan-t5-base-random --full

Then ``03_training.student`` and ``02_judge.backbone`` name the folder (``params/t5-folder.yaml``).
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from qcrdkit.core.errors import ConfigError

#: the shrunk config: flan-t5-base's, with the scratch-small preset's width and depth
SHRUNK = dict(d_model=128, d_ff=512, d_kv=32, num_layers=2, num_decoder_layers=2, num_heads=4)


def make_t5_folder(shape: str | Path, out: str | Path, *, shrink: bool = True, seed: int = 0) -> Path:
    """Write a T5 with random weights (``seed``) and T5's tokenizer to ``out`` (``save_pretrained``); returns it."""
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    shape, out = Path(shape), Path(out)
    if not (shape / "config.json").exists() or not (shape / "spiece.model").exists():
        raise ConfigError(f"{shape}: needs config.json and spiece.model (T5's vocabulary), e.g. "
                          "../shared/models/flan-t5-base-shape")
    try:
        tokenizer = AutoTokenizer.from_pretrained(shape)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"{shape}: T5's tokenizer needs the sentencepiece and protobuf packages ({exc})") from None
    config = T5Config.from_dict({**json.loads((shape / "config.json").read_text()), **(SHRUNK if shrink else {})})
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if not (out / "spiece.model").exists():           # a hub folder ships the SentencePiece model too
        shutil.copyfile(shape / "spiece.model", out / "spiece.model")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", required=True, help="a folder with T5's spiece.model and a config.json")
    parser.add_argument("--out", required=True, help="the student folder to write")
    parser.add_argument("--full", action="store_true", help="the shape's own size (flan-t5-base: 248M parameters)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = make_t5_folder(args.shape, args.out, shrink=not args.full, seed=args.seed)
    print(f"wrote {path}: " + ", ".join(sorted(p.name for p in path.iterdir())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
