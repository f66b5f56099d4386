"""Self-adversarial negatives (paper §3.2.1, appendix A.2): a ring of the student's own earlier
weights, from which the negative generator is taken.

An **iteration** is a fixed number of optimizer steps (``steps_per_iteration`` = S, a training
parameter). At the end of every iteration the trainer pushes the student's weights into the
ring; the generator for the next iteration is the snapshot ``j`` iterations back (paper: j in
{3, 5, 10}). The random initialisation is never a generator: during the first iteration there is
no snapshot and no negative; until ``j`` iterations have passed, the oldest snapshot kept (the one
after iteration 1) is used. :func:`generator_snapshot` is that rule as a formula, and the
generator's **age** at step ``t`` is ``t − S · snapshot`` optimizer steps (between ``j·S`` and
``(j + 1)·S − 1`` once the ring is full). The ring holds ``j + 1`` snapshots, as CPU copies, so it
costs ``j + 1`` copies of the weights in host memory; its ``state_dict`` goes into a training
checkpoint so that a resumed run samples negatives from the same models.
"""
from __future__ import annotations

from collections import deque

import torch
from transformers import LogitsProcessor

from qcrdkit.core.stages import TrainingStageConfig


def generator_snapshot(step: int, steps_per_iteration: int, j: int) -> int | None:
    """The iteration whose end-of-iteration snapshot generates the negatives at optimizer step
    ``step`` (0-based: the step being taken), or ``None`` during the first iteration (no snapshot
    yet; the random initialisation is never used). Snapshots exist for iterations ``1 … step // S``."""
    newest = step // steps_per_iteration
    return None if newest < 1 else max(1, newest - j)


def generator_age(step: int, steps_per_iteration: int, j: int) -> int | None:
    """Optimizer steps between the generator's snapshot and ``step`` (``None``: no generator yet)."""
    snapshot = generator_snapshot(step, steps_per_iteration, j)
    return None if snapshot is None else step - snapshot * steps_per_iteration


class SnapshotRing:
    """The student's weights at the ends of its last iterations."""

    def __init__(self, j: int):
        if j < 1:
            raise ValueError(f"j (iterations back) must be >= 1, got {j}")
        self.j = j
        self._ring: deque[tuple[int, dict]] = deque(maxlen=j + 1)

    def __len__(self) -> int:
        return len(self._ring)

    def push(self, iteration: int, state_dict: dict) -> None:
        """Keep a CPU copy of the weights at the end of ``iteration`` (1, 2, …)."""
        if self._ring and iteration <= self._ring[-1][0]:
            raise ValueError(f"iteration {iteration} pushed after {self._ring[-1][0]}")
        self._ring.append((iteration, {k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()}))

    def generator_weights(self) -> tuple[int, dict]:
        """``(iteration, weights)`` of the snapshot ``j`` iterations before the newest (or the oldest kept)."""
        if not self._ring:
            raise LookupError("the snapshot ring is empty: push the initial model first")
        newest = self._ring[-1][0]
        for iteration, weights in self._ring:
            if iteration >= newest - self.j:
                return iteration, weights
        raise AssertionError("unreachable")

    def state_dict(self) -> dict:
        return {"j": self.j, "snapshots": list(self._ring)}

    def load_state_dict(self, state: dict) -> None:
        self.j = state["j"]
        self._ring = deque(((int(i), w) for i, w in state["snapshots"]), maxlen=self.j + 1)


def load_generator(model: torch.nn.Module, weights: dict) -> torch.nn.Module:
    """Put snapshot ``weights`` into ``model`` (a second copy of the student kept for sampling)."""
    model.load_state_dict(weights)
    return model.eval()


def load_fixed_generator(path: str, vocab_size: int, device, dtype) -> torch.nn.Module:
    """A trained student (``negative_source="fixed"``, e.g. a DSS student's folder) as the negatives' generator,
    frozen, on ``device`` in ``dtype``; it must share the student's tokenizer (``vocab_size``)."""
    from transformers import AutoModelForSeq2SeqLM

    from qcrdkit.core.errors import ConfigError

    try:
        gen = AutoModelForSeq2SeqLM.from_pretrained(path)
    except OSError as exc:
        raise ConfigError(f"fixed_generator {path!r} could not be loaded: {exc}") from None
    if gen.config.vocab_size != vocab_size:
        raise ConfigError(f"fixed_generator {path!r} has vocabulary size {gen.config.vocab_size}, the student "
                          f"{vocab_size}: it must share the student's tokenizer")
    return gen.to(device, dtype=dtype).eval().requires_grad_(False)


class GumbelTopK(LogitsProcessor):
    """Sampling at temperature τ from the top ``k`` tokens, as a logits processor for greedy ``generate``.

    Gumbel-max: ``argmax_i (l_i / τ + g_i)`` with ``g_i = −log(−log u_i)``, ``u_i ~ U(0, 1)``, is a
    draw from ``softmax(l / τ)`` — the distribution ``generate(do_sample=True, temperature=τ,
    top_k=k)`` samples from. Noise is drawn for the ``k`` candidates only, where ``torch.multinomial``
    draws one exponential per vocabulary entry (a quarter of a negative-sampling call's time on the
    demo's CPU). ``top_k=0``: the whole vocabulary.
    """

    def __init__(self, temperature: float, top_k: int = TrainingStageConfig.negative_top_k):
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature, self.top_k = temperature, top_k

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = scores.float()
        if self.top_k and self.top_k < scores.shape[-1]:
            values, index = scores.topk(self.top_k, dim=-1)
        else:
            values, index = scores, None
        uniform = torch.rand_like(values).clamp_(min=torch.finfo(values.dtype).tiny, max=1.0 - 1e-7)
        noisy = values / self.temperature - torch.log(-torch.log(uniform))
        if index is None:
            return noisy
        return torch.full_like(scores, float("-inf")).scatter_(-1, index, noisy)
