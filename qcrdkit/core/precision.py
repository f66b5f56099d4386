"""The dtype of the passes that take no gradient (QCRD's MinMax selection, judge scores, negative sampling).

Training passes keep the Trainer's precision (fp32 on a CPU; ``bf16=True`` where asked). A pass without
gradient only ranks, weighs or samples, so bfloat16 is enough there, and it is several times faster
wherever the hardware multiplies bfloat16 natively: CUDA devices with bf16, and CPUs with AVX512-BF16 or
AMX (this machine's AMD EPYC: a 4096×128 @ 128×2000 matmul takes 12.6 ms in fp32, 2.2 ms in bf16).
``"auto"`` picks bfloat16 exactly there, float32 elsewhere.

The frozen copies that only infer (QCRD's negative generator, the judge's scoring copy) also take the
attention kernel that is fastest on their device (:func:`use_fast_attention`).
"""
from __future__ import annotations

import contextlib

import torch

from qcrdkit.core.errors import ConfigError

INFERENCE_DTYPES = ("auto", "float32", "bfloat16")


def has_fast_bf16(device: str | torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 natively (CUDA with bf16; a CPU with AVX512-BF16 or AMX)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
        return any(probe() for probe in probes if probe is not None)
    return False


def inference_dtype(setting: str, device: str | torch.device) -> torch.dtype:
    """``"auto"`` → bfloat16 on a device with fast bf16, else float32; ``"float32"`` / ``"bfloat16"`` as named."""
    if setting == "auto":
        return torch.bfloat16 if has_fast_bf16(device) else torch.float32
    if setting in INFERENCE_DTYPES:
        return getattr(torch, setting)
    raise ConfigError(f"inference_dtype must be one of {INFERENCE_DTYPES}, got {setting!r}")


def autocast(device: str | torch.device, dtype: torch.dtype):
    """``torch.autocast`` to ``dtype`` on ``device`` (a no-op context for float32)."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def use_fast_attention(model, device: str | torch.device):
    """On a CPU, the plain ("eager") attention kernel: PyTorch's flash-attention kernel for CPUs is slow
    at these sequence lengths (~1.3 ms per call at one query token: half of a negative-sampling call on
    the demo, 256 questions × 40 tokens in 0.46 s with it and 0.33 s without). QCRD's generator and the
    judge's scoring copy use it; the students keep SDPA (eager measured no faster in their training steps
    or the MinMax selection pass). Elsewhere (CUDA) the model keeps its kernel (SDPA). Same results up to float rounding."""
    if torch.device(device).type == "cpu" and hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    return model
