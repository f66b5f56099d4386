"""The judge during student training (stage 03): scores and online updates (eq. 8's ``α3 · L_D``)."""
from __future__ import annotations

from typing import Sequence

import copy

import torch

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.precision import use_fast_attention
from qcrdkit.core.stages import JudgeStageConfig, TrainingStageConfig
from qcrdkit.judge.pairs import encode_pairs
from qcrdkit.judge.items import answer_input_mode
from qcrdkit.judge.model import QualityJudge
from qcrdkit.judge.objectives import OBJECTIVES, judge_loss
from qcrdkit.judge.scoring import score_rationales


class OnlineJudge:
    """The judge during student training: scores rationales and takes online update steps.

    ``update`` runs optimizer steps of ``L_D`` on fresh (question, rationale, label) triples
    (teacher positives, self-adversarial negatives); ``state_dict`` / ``load_state_dict`` carry
    the model and its optimizer through a student checkpoint.
    """

    def __init__(self, model: QualityJudge, tokenizer, *, objective: str = JudgeStageConfig.objective,
                 learning_rate: float = TrainingStageConfig.judge_lr,
                 weight_decay: float = 0.0):
        if objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        self.model, self.tokenizer, self.objective = model, tokenizer, objective
        self.optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                           lr=learning_rate, weight_decay=weight_decay)
        self.updates = 0
        self.inference_dtype = torch.float32
        self._scorer, self._scorer_updates = None, None

    def set_inference_dtype(self, dtype: torch.dtype) -> None:
        """Score with a copy of the judge in ``dtype`` (refreshed after every update); float32: the judge itself."""
        self.inference_dtype, self._scorer, self._scorer_updates = dtype, None, None

    def scorer(self) -> QualityJudge:
        """The model that scores: the judge, or its copy in the inference dtype as of the last update."""
        if self.inference_dtype == torch.float32:
            return self.model
        if self._scorer is None:
            self._scorer = copy.deepcopy(self.model).to(dtype=self.inference_dtype).eval().requires_grad_(False)
            use_fast_attention(self._scorer, next(self.model.parameters()).device)
        elif self._scorer_updates != self.updates:
            self._scorer.load_state_dict(self.model.state_dict())      # copy_ casts to the copy's dtype
        self._scorer_updates = self.updates
        return self._scorer

    @property
    def answer_input(self) -> str:
        """The judge's answer input (``none`` | ``answered`` | ``agreement``): when not ``none``, score / loss /
        update need ``answer_signal=``."""
        return answer_input_mode(getattr(self.model.config, "answer_input", "none"))

    def score(self, questions: Sequence[str], rationales: Sequence[str], batch_size: int = 64,
              answer_signal: Sequence[float] | None = None) -> torch.Tensor:
        return torch.from_numpy(score_rationales(self.scorer(), self.tokenizer, questions, rationales,
                                                 answer_signal=answer_signal, batch_size=batch_size)).float()

    def loss(self, questions: Sequence[str], rationales: Sequence[str], labels: Sequence[int],
             group_ids: Sequence | None = None, answer_signal: Sequence[float] | None = None) -> torch.Tensor:
        """``L_D`` on one batch, with gradient (eq. 8's third term)."""
        device = next(self.model.parameters()).device
        enc = encode_pairs(self.tokenizer, questions, rationales, self.model.config.max_pair_length).to(device)
        extra = {} if answer_signal is None else {
            "answer_signal": torch.tensor([float(a) for a in answer_signal], device=device)}
        logits = self.model(**enc, **extra).logits
        groups = None
        if group_ids is not None:
            index = {g: i for i, g in enumerate(dict.fromkeys(group_ids))}
            groups = torch.tensor([index[g] for g in group_ids], device=device)
        return judge_loss(logits, torch.tensor(list(labels), dtype=torch.float32, device=device),
                          groups, self.objective)

    def update(self, questions: Sequence[str], rationales: Sequence[str], labels: Sequence[int],
               group_ids: Sequence | None = None, steps: int = 1, weight: float = 1.0,
               learning_rate: float | None = None, answer_signal: Sequence[float] | None = None) -> float:
        """Take ``steps`` optimizer steps of ``weight · L_D`` on this batch (at ``learning_rate``
        when given); return the unweighted loss before the last step."""
        if learning_rate is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate
        self.model.train()
        value = float("nan")
        for _ in range(steps):
            loss = self.loss(questions, rationales, labels, group_ids, answer_signal)
            value = float(loss.detach())
            loss = weight * loss
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.updates += 1
        self.model.eval()
        return value

    def synchronize(self) -> None:
        """Several processes training one student: the judge as process 0 has it (it updates there only)."""
        from qcrdkit.core.processes import broadcast_module, distributed

        if distributed():
            broadcast_module(self.model)
            self._scorer_updates = None      # the scoring copy is stale

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = state.get("updates", 0)
        self._scorer_updates = None      # the copy is stale
