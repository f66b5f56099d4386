"""QCRD: quality-guided contrastive rationale distillation (paper §3, eq. 8). Each optimizer step, N questions:

1. **Label task.** ``L_pred``: cross-entropy of the gold label given ``<Predict> x``.
2. **Negatives** (§3.2.1, A.2, A.4). ``num_negatives`` (the paper's k) per question, from ``negative_source``:
   ``"self"`` — sampled at τ_neg (1.5, top-k 20) from the student's own snapshot ``j`` iterations back
   (:class:`~qcrdkit.training.negatives.SnapshotRing`; none in the first iteration, never the random initialisation), in one
   batched ``generate`` call; ``"fixed"`` — from a fixed generator (e.g. a trained DSS student); ``"teacher"`` — the
   teacher's self-consistency negatives; ``"none"`` — ablation w/o NK. An **iteration** is ``steps_per_iteration``
   steps: at its end the student's weights go into the ring and the generator moves one snapshot on.
3. **Contrastive loss** ``L_cl`` (eq. 3–7, :func:`~qcrdkit.training.losses.contrastive_loss`) over the ``m`` teacher
   positives (``num_positives``) and the negatives. The encoder pass of ``<Explain> x`` runs once for all ``m + k``
   targets. For the single-pick schemes (MinMax, MaxMin, Sampling) every target's CE is first computed without
   gradient; only the picked positive and negative are decoded again with gradient (sorted by length, in chunks).
4. **Quality weights.** The judge (:class:`~qcrdkit.judge.OnlineJudge`) scores the pairs the loss uses: ``s_pos``
   weights the positive term, ``1 − s_neg`` the negative one (a negative outside the margin is not scored).
5. **Online judge update** (:mod:`.qcrd_judge`). Each step's pairs go into a class-balanced replay buffer (never
   those of stage 02's held-out questions); after iteration k the judge takes several steps of ``L_D`` on it at
   ``judge_lr`` × α3 × 0.9^k (eq. 8's third term), labelled by source (the paper) or by outcome. The judge kept
   with the student is the one of the student's selected checkpoint.

The passes without gradient run in ``inference_dtype`` (:mod:`qcrdkit.core.precision`). The student's loss is
``α1 · L_pred + α2 · L_cl``. A checkpoint also stores the snapshot ring, the judge and its optimizer
(``qcrd_state.pt``): a resumed run samples negatives from the same models and weighs them with the same judge (host
memory: ``j + 1`` copies of the student's weights; T5-base, j = 5: 5.3 GB).

Ablations of Table 4: w/o ED — ``rationale_source="greedy"`` (the teacher's greedy rationale, the one the
baselines learn); w/o NK — ``negative_source="none"``; w/o QJ — ``use_judge=False`` (``s_pos = 1``, ``s_neg = 0``).
"""
from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import torch
from transformers import LogitsProcessorList, TrainerCallback
from transformers.trainer_utils import get_last_checkpoint

from qcrdkit.core.errors import ConfigError
from qcrdkit.training.losses import alpha3_schedule, contrastive_loss, qcrd_objective, select_rationales
from qcrdkit.training.negatives import GumbelTopK, SnapshotRing, load_fixed_generator, load_generator
from qcrdkit.core.precision import autocast, inference_dtype, use_fast_attention
from qcrdkit.students.models import explain_input
from qcrdkit.training.base import StudentTrainer
from qcrdkit.training.qcrd_candidates import Candidates, Slot, generated_labels, rationale_ce, scatter_rows
from qcrdkit.training.qcrd_judge import OnlineJudgeSchedule
from qcrdkit.core.processes import sum_over_processes
from qcrdkit.training.qcrd_config import QCRDConfig  # noqa: F401  (the trainer's args; importable from here as in TRL)

STATE_FILE = "qcrd_state.pt"


class QCRDCallback(TrainerCallback):
    """Snapshots at iteration ends, and the QCRD state saved into every checkpoint."""

    def __init__(self, trainer: "QCRDTrainer"):
        self.trainer = trainer

    def on_step_end(self, args, state, control, **kwargs):
        ring = self.trainer.ring
        if ring is not None and state.global_step % args.steps_per_iteration == 0:
            ring.push(state.global_step // args.steps_per_iteration, self.trainer.model.state_dict())
        self.trainer.update_judge(state.global_step)

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            torch.save(self.trainer.qcrd_state(), folder / STATE_FILE)


class QCRDTrainer(StudentTrainer):
    """``Seq2SeqTrainer`` with QCRD's loss; see the module doc. ``judge`` is an
    :class:`~qcrdkit.judge.OnlineJudge` (required unless ``use_judge=False``)."""

    input_format = "multitask"

    def __init__(self, *, judge=None, judge_heldout: frozenset = frozenset(), **kwargs):
        super().__init__(**kwargs)          # judge_heldout: stage 02's held-out questions, never learnt from online
        a = self.args
        if a.use_judge and judge is None:
            raise ConfigError("QCRD with use_judge=True needs the quality judge (stage 02); "
                              "pass judge=OnlineJudge(...) or set use_judge=False (ablation w/o QJ)")
        # the dtype of the passes without gradient (selection, judge scores, sampling): qcrdkit.core.precision
        self.fast_dtype = inference_dtype(a.inference_dtype, a.device)
        self.judge = judge if a.use_judge else None
        if self.judge is not None:
            self.judge.model.to(a.device)
            self.judge.set_inference_dtype(self.fast_dtype)
        self.ring = SnapshotRing(a.iterations_back) if a.negative_source == "self" else None
        self.generator, self.generator_iteration = None, None
        if a.negative_source == "self":
            self.generator = copy.deepcopy(self.model).to(dtype=self.fast_dtype).eval().requires_grad_(False)
        elif a.negative_source == "fixed":
            self.generator = load_fixed_generator(a.fixed_generator, self.model.config.vocab_size, a.device,
                                                  self.fast_dtype)
        if self.generator is not None:
            use_fast_attention(self.generator, a.device)
        self.rows_by_id = {r["id"]: r for r in self.train_dataset}
        # the m positives of each question, tokenized once; a sampled negative is cut at its
        # question's longest positive (or rationale) + 8 tokens
        self.positive_ids = {r["id"]: self.target_ids(r["positives"][:a.num_positives]) if r["positives"] else []
                             for r in self.train_dataset}
        self.positive_length = {r["id"]: max(len(t) for t in self.positive_ids[r["id"]] or self.target_ids([r["rationale"]]))
                                for r in self.train_dataset}
        self.negative_cache: dict[str, tuple[list[str], list[torch.Tensor]]] = {}
        self.negative_cache_iteration, self.negatives_sampled, self.negative_fills = None, 0, 0
        self.selection_rng = torch.Generator(device=a.device).manual_seed(a.seed)
        self.judge_schedule = None if self.judge is None else OnlineJudgeSchedule(
            self.judge, a, self.task, {r["id"]: r["example"] for r in self.train_dataset}, heldout=judge_heldout,
            teacher_correct={r["id"]: r.get("teacher_correct") or {} for r in self.train_dataset})
        # margin_counts: negatives with CE < δ / all negatives, over the second half (the negative term's reach);
        # judge_update_times: wall seconds of each of the online judge's updates in this process (qcrd check)
        self.margin_counts, self.judge_update_times = [0, 0], []
        self.add_callback(QCRDCallback(self))

    # ---- state carried through checkpoints --------------------------------------------------
    def qcrd_state(self) -> dict:
        return {"ring": None if self.ring is None else self.ring.state_dict(),
                "judge": None if self.judge is None else self.judge.state_dict(),
                "judge_training": None if self.judge_schedule is None else self.judge_schedule.state_dict(),
                "selection_rng": self.selection_rng.get_state(),
                "margin_counts": list(self.margin_counts)}

    def load_qcrd_state(self, checkpoint: str | Path) -> None:
        path = Path(checkpoint) / STATE_FILE
        if not path.exists():
            raise ConfigError(f"{path}: missing; this checkpoint cannot restore QCRD's snapshot ring and judge")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if self.ring is not None and state["ring"] is not None:
            self.ring.load_state_dict(state["ring"])
        if self.judge is not None and state["judge"] is not None:
            self.judge.load_state_dict(state["judge"])
        self.selection_rng.set_state(state["selection_rng"])
        if self.judge_schedule is not None and state.get("judge_training") is not None:
            self.judge_schedule.load_state_dict(state["judge_training"])
        self.margin_counts = list(state.get("margin_counts", [0, 0]))
        self.generator_iteration = None

    def train(self, resume_from_checkpoint=None, **kwargs):
        if resume_from_checkpoint is True:
            resume_from_checkpoint = get_last_checkpoint(self.args.output_dir)
        if resume_from_checkpoint:
            self.load_qcrd_state(resume_from_checkpoint)
        result = super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)
        best = self.state.best_model_checkpoint          # the judge kept: the selected checkpoint's, not the last
        if self.judge is not None and best and (Path(best) / STATE_FILE).exists():
            self.judge.load_state_dict(torch.load(Path(best) / STATE_FILE, map_location="cpu", weights_only=True)["judge"])
        return result

    @property
    def negatives_inside_margin(self) -> float | None:
        """Share of negatives with CE < δ over the second half of training (``None``: no negatives)."""
        inside, total = self.margin_counts
        return inside / total if total else None

    @property
    def iteration(self) -> int:
        return self.state.global_step // self.args.steps_per_iteration

    @property
    def alpha_judge(self) -> float:
        """α3 of this iteration (:func:`~qcrdkit.training.losses.alpha3_schedule`): the factor of the judge's step at the
        end of it."""
        return alpha3_schedule(self.args.alpha_judge, self.args.alpha_judge_decay, self.iteration)

    def current_generator(self):
        """The negative generator; ``None`` for ``negative_source="self"`` before the first snapshot."""
        if self.ring is not None:
            if len(self.ring) == 0:
                return None
            iteration, weights = self.ring.generator_weights()
            if iteration != self.generator_iteration:
                load_generator(self.generator, weights)
                self.generator_iteration = iteration
        return self.generator

    def target_ids(self, texts: list[str]) -> list[torch.Tensor]:
        enc = self.processing_class(text_target=texts, max_length=self.args.max_target_length, truncation=True)
        return [torch.tensor(ids) for ids in enc["input_ids"]]

    # ---- negatives ---------------------------------------------------------------------------
    def upcoming_questions(self, start: int, steps: int) -> list[str]:
        """Question ids this process should train on in steps ``[start, start + steps)``.

        A prediction from the sampler's order; a wrong guess only costs speed (a question whose
        negatives are missing gets them sampled on the spot)."""
        sampler = copy.copy(self.train_sampler)         # yields this process's part of each global batch
        accum = self.args.gradient_accumulation_steps
        steps_per_epoch = max(1, math.ceil(len(sampler) / accum))
        orders, ids = {}, []
        for step in range(start, start + steps):
            epoch, index = divmod(step, steps_per_epoch)
            if epoch not in orders:
                sampler.set_epoch(epoch)
                orders[epoch] = list(sampler)
            for batch in orders[epoch][index * accum:(index + 1) * accum]:
                ids += [self.train_dataset[i]["id"] for i in batch]
        return ids

    @torch.no_grad()
    def sample_negatives(self, question_ids: list[str]) -> None:
        """Sample ``num_negatives`` rationales for each question at τ_neg into the cache, in batches of
        ``negative_generation_batch_size`` questions (similar lengths together, KV cache on)."""
        a, tok, k = self.args, self.processing_class, self.args.num_negatives
        generator = self.current_generator()
        order = sorted(question_ids, key=lambda q: self.positive_length[q])
        for start in range(0, len(order), a.negative_generation_batch_size):
            chunk = order[start:start + a.negative_generation_batch_size]
            # k rows per question (greedy decoding through GumbelTopK returns one sequence per row)
            enc = self.data_collator.inputs([explain_input(self.rows_by_id[q]["question"]) for q in chunk for _ in range(k)])
            budget = min(a.negative_max_new_tokens or a.max_target_length,
                         max(self.positive_length[q] for q in chunk) + 8)
            out = generator.generate(**enc.to(a.device), **self.sampling_arguments(), max_new_tokens=budget,
                                     use_cache=True, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            ids = generated_labels(out[:, 1:], tok.eos_token_id)
            texts = tok.batch_decode([t.tolist() for t in ids], skip_special_tokens=True)
            for i, q in enumerate(chunk):
                self.negative_cache[q] = (texts[i * k:(i + 1) * k], ids[i * k:(i + 1) * k])
        self.negatives_sampled += len(order)
        self.negative_fills += 1

    def sampling_arguments(self) -> dict:
        """``generate`` arguments that sample at τ_neg from the top k (and nucleus p) tokens. Without a
        nucleus cut, greedy decoding through :class:`~qcrdkit.training.negatives.GumbelTopK` (the same
        distribution, noise for k tokens instead of the vocabulary); τ_neg = 0 (A.4's "no sampling"): greedy."""
        a = self.args
        if a.negative_temperature == 0:
            return dict(do_sample=False)
        if a.negative_top_p < 1:
            return dict(do_sample=True, temperature=a.negative_temperature, top_k=a.negative_top_k, top_p=a.negative_top_p)
        return dict(do_sample=False, logits_processor=LogitsProcessorList([GumbelTopK(a.negative_temperature,
                                                                                      a.negative_top_k)]))

    def negatives(self, inputs) -> tuple[list[list[str]], list[list[torch.Tensor]]]:
        """``(texts, token ids)`` of each question's negatives, from ``negative_source``."""
        a = self.args
        n = len(inputs["question"])
        if a.negative_source == "none" or a.num_negatives == 0 or \
                (a.negative_source == "self" and self.current_generator() is None):    # first iteration: none yet
            return [[] for _ in range(n)], [[] for _ in range(n)]
        if a.negative_source == "teacher":
            texts = [negs[:a.num_negatives] for negs in inputs["teacher_negatives"]]
            return texts, [self.target_ids(t) if t else [] for t in texts]
        self.current_generator()
        if self.negative_cache_iteration != self.generator_iteration:     # a new generator: old samples are stale
            self.negative_cache.clear()
            self.negative_cache_iteration = self.generator_iteration
        missing = [q for q in inputs["id"] if q not in self.negative_cache]
        if missing:
            step = self.state.global_step
            end = min(self.state.max_steps or step + 1, (self.iteration + 1) * a.steps_per_iteration)
            ahead = self.upcoming_questions(step, min(a.negative_prefetch_steps, max(end - step, 1)))
            self.sample_negatives(list(dict.fromkeys(missing + [q for q in ahead if q not in self.negative_cache])))
        used = [self.negative_cache.pop(q) for q in inputs["id"]]    # each sample is used once
        return [u[0] for u in used], [u[1] for u in used]

    rationale_ce = staticmethod(rationale_ce)        # qcrd_candidates.rationale_ce: CE of each target

    def quality(self, question_ids: list[str], questions: list[str], texts: list[str], positive: list[bool],
                device, peers: list[list[str]] | None = None) -> torch.Tensor:
        """The judge's scores; without a judge (w/o QJ) 1 for positives and 0 for negatives (unit weights).
        ``peers``: each text's question's other candidates of its kind (the judge's answer input)."""
        if self.judge is None:
            return torch.tensor([1.0 if p else 0.0 for p in positive], device=device)
        if not texts:
            return torch.zeros(0, device=device)
        signal = self.judge_schedule.signals(question_ids, texts, peers)
        return self.judge.score(questions, texts, answer_signal=signal).to(device)

    # ---- the loss: select, score, combine ------------------------------------------------------
    def candidates(self, inputs) -> Candidates:
        """Each question's positives (up to ``num_positives``) and negatives, as texts and token ids."""
        a = self.args
        pos_texts = [p[:a.num_positives] for p in inputs["positives"]]
        pos_ids = [self.positive_ids[q] if q in self.positive_ids else self.target_ids(p) if p else []
                   for q, p in zip(inputs["id"], pos_texts)]
        teacher = [list(self.rows_by_id[q].get("teacher_correct") or {}) for q in inputs["id"]]   # the judge's peers
        return Candidates(inputs["question"], pos_texts, pos_ids, *self.negatives(inputs), teacher,
                          a.negative_source == "teacher")

    def select(self, student, hidden, mask, c: Candidates) -> list[Slot]:
        """The rationales that enter the loss (eq. 4–5): every candidate for ``mean``/``wmean``, else per
        question the positive and the negative the scheme picks by CE (no gradient; a question's lone
        candidate of a kind is picked without computing its CE)."""
        a, n, device = self.args, c.n, hidden.device
        slots = c.slots()
        if a.scheme in ("mean", "wmean") or not slots:
            return slots
        counts = {(i, kind): sum(1 for s in slots if s[:2] == (i, kind)) for i, kind, _ in slots}
        contested = [s for s in slots if counts[s[:2]] > 1]
        ce = torch.zeros(0, device=device)
        if contested:      # a ranking only: in the inference dtype, targets of similar length together
            with torch.no_grad(), autocast(device, self.fast_dtype):
                ce = self.rationale_ce(student, hidden.detach(), mask, [i for i, _, _ in contested],
                                       [c.ids(*s) for s in contested], chunk_rows=self.args.chunk_rows)
        is_pos = torch.tensor([kind == "pos" for _, kind, _ in contested], dtype=torch.bool, device=device)
        pos_ce = scatter_rows(ce[is_pos], [i * c.m + j for i, kind, j in contested if kind == "pos"], n, c.m)
        neg_ce = scatter_rows(ce[~is_pos], [i * c.k + j for i, kind, j in contested if kind == "neg"], n, c.k)
        pos_mask, neg_mask = c.masks(device)
        if c.k == 0:      # no negatives (w/o NK): a masked-out column to select from
            neg_ce, neg_mask = torch.zeros(n, 1, device=device), torch.zeros(n, 1, dtype=torch.bool, device=device)
        jp, jn = select_rationales(pos_ce, neg_ce, pos_mask, neg_mask, a.scheme, self.selection_rng)
        has_pos, has_neg = pos_mask.any(1), neg_mask.any(1)
        return [(i, "pos", int(jp[i])) for i in range(n) if has_pos[i]] + \
               [(i, "neg", int(jn[i])) for i in range(n) if has_neg[i]]

    def score(self, student, hidden, mask, c: Candidates, used: list[Slot],
              question_ids: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """The selected rationales' CE (with gradient) and the judge's quality scores (one call).

        A negative with CE ≥ δ adds ``(1 − s) · min(CE − δ, 0) = 0`` whatever its score, so the judge
        does not read it (score 0)."""
        device = hidden.device
        ce = self.rationale_ce(student, hidden, mask, [i for i, _, _ in used], [c.ids(*s) for s in used],
                               chunk_rows=self.args.chunk_rows) if used else torch.zeros(0, device=device)
        read = [not (kind == "neg" and float(value) >= self.args.delta)
                for (_, kind, _), value in zip(used, ce.detach().tolist())]
        scores = torch.zeros(len(used), device=device)
        if any(read):
            where = [idx for idx, r in enumerate(read) if r]
            scores[torch.tensor(where, device=device)] = self.quality(
                [question_ids[used[idx][0]] for idx in where],
                [c.questions[used[idx][0]] for idx in where], [c.text(*used[idx]) for idx in where],
                [used[idx][1] == "pos" for idx in where], device, [c.peers(*used[idx]) for idx in where])
        return ce, scores

    def combine(self, c: Candidates, used: list[Slot], ce: torch.Tensor, scores: torch.Tensor) -> dict:
        """CEs, scores and masks as ``[N, m]`` / ``[N, k]`` matrices (single-pick schemes: one column),
        and ``L_cl`` (:func:`~qcrdkit.training.losses.contrastive_loss`, eq. 3–7)."""
        a, n, device = self.args, c.n, ce.device
        full = a.scheme in ("mean", "wmean")
        mats = {}
        for kind, width in (("pos", c.m if full else 1), ("neg", c.k if full else min(c.k, 1))):
            where = [idx for idx, s in enumerate(used) if s[1] == kind]
            cells = [used[idx][0] * width + (used[idx][2] if full else 0) for idx in where]
            ce_m, s_m, in_m = (scatter_rows(values, cells, n, width) for values in
                               (ce[where], scores[where], torch.ones(len(where), device=device)))
            mats[kind] = (ce_m, s_m, in_m.bool())
        (pce, ps, pm), (nce, ns, nm) = mats["pos"], mats["neg"]
        l_cl = contrastive_loss(pce, nce, ps, ns, pm, nm, scheme=a.scheme if full else "minmax",
                                beta=a.beta, delta=a.delta)
        return {"loss_cl": l_cl, "pos_ce": pce, "pos_scores": ps, "pos_mask": pm,
                "neg_ce": nce, "neg_scores": ns, "neg_mask": nm}

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        a = self.args
        pred = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], labels=inputs["labels"])
        student = self.accelerator.unwrap_model(model)
        mask = inputs["expl_attention_mask"]
        hidden = student.get_encoder()(input_ids=inputs["expl_input_ids"], attention_mask=mask).last_hidden_state

        c = self.candidates(inputs)
        used = self.select(student, hidden, mask, c)
        ce, scores = self.score(student, hidden, mask, c, used, inputs["id"])
        parts = self.combine(c, used, ce, scores)
        loss = qcrd_objective(pred.loss, parts["loss_cl"], a.alpha_pred, a.alpha_cl)      # eq. 8, the student's terms

        if model.training and self.judge_schedule is not None:       # the pairs used, into the judge's buffer
            self.judge_schedule.observe([inputs["id"][i] for i, _, _ in used], [c.questions[i] for i, _, _ in used],
                                        [c.text(*s) for s in used], [int(kind == "pos") for _, kind, _ in used],
                                        [c.peers(*s) for s in used])
        self.log_step(pred.loss, parts, training=model.training)
        return (loss, pred) if return_outputs else loss

    def log_step(self, loss_pred: torch.Tensor, parts: dict, training: bool) -> None:
        """The step's diagnostics (means over the batch) and, in the second half of training, the
        count of negatives inside the margin."""
        a = self.args
        pce, pm, ps = parts["pos_ce"], parts["pos_mask"], parts["pos_scores"]
        nce, nm, ns = parts["neg_ce"], parts["neg_mask"], parts["neg_scores"]
        read = nm & (nce < a.delta)                                     # the negatives the judge scored
        if training and self.state.global_step >= (self.state.max_steps or 0) // 2:    # over every process
            inside, total = sum_over_processes([int((nce[nm] < a.delta).sum()), int(nm.sum())])
            self.margin_counts = [self.margin_counts[0] + inside, self.margin_counts[1] + total]
        self.record(loss_pred=loss_pred.detach(), loss_cl=parts["loss_cl"].detach(),
                    ce_pos=pce[pm].mean().detach() if pm.any() else None,
                    ce_neg=nce[nm].mean().detach() if nm.any() else None,
                    neg_active=(nce[nm] < a.delta).float().mean() if nm.any() else None,
                    score_pos=ps[pm].mean() if pm.any() else None, score_neg=ns[read].mean() if read.any() else None,
                    alpha_judge=self.alpha_judge if self.judge is not None else None,
                    generator_iteration=self.generator_iteration if nm.any() else None,
                    generator_age=self.state.global_step - self.generator_iteration * a.steps_per_iteration
                    if nm.any() and self.ring is not None else None)

    def update_judge(self, step: int) -> None:
        """After optimizer step ``step``: the online judge's update when one is due (:mod:`.qcrd_judge`)."""
        if self.judge_schedule is None or not self.judge_schedule.due(step):
            return
        start = time.perf_counter()
        # the student's samples for the buffer are cut where its negatives are: the longest positive + 8 tokens
        budget = max((self.positive_length.get(q, 0) for q in self.judge_schedule.recent), default=-8) + 8 or None
        # the iteration that just ended (the first update is at the end of iteration 0: α3 undecayed)
        logs = None if self.args.process_index else self.judge_schedule.update(      # several processes: on the first,
            self.accelerator.unwrap_model(self.model), self.processing_class,            # then its weights to all
            (step - 1) // self.args.steps_per_iteration, max_new_tokens=budget)
        self.judge.synchronize()
        self.judge_update_times.append(time.perf_counter() - start)
        if logs is not None:
            self.record(**logs)
