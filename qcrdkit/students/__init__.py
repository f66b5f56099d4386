"""Stage 03 — the students: models (:mod:`.models`), their tokenizers (:mod:`.tokenizers`) and one
config + trainer per method (:mod:`.trainers`: Finetune, Single-Task, DSS, MI, QCRD).

>>> from qcrdkit.students import build_student
>>> from qcrdkit.students.trainers import train_student      # train_student(method, run_dir, steps=..., ...)
>>> model, tokenizer = build_student("scratch-tiny", tokenizer="byte")
"""
from .models import (STUDENT_PRESETS, build_student, explain_input, generate_texts, load_or_train_tokenizer,
                     predict_input)
from .tokenizers import EXPLAIN, PREDICT, TOKENIZERS, preset_tokenizer, train_corpus_tokenizer

__all__ = ["STUDENT_PRESETS", "build_student", "explain_input", "generate_texts", "load_or_train_tokenizer",
           "predict_input", "EXPLAIN", "PREDICT", "TOKENIZERS", "preset_tokenizer", "train_corpus_tokenizer"]
