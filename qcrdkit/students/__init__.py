"""The student models (:mod:`.models`) and their tokenizers (:mod:`.tokenizers`), which stage 02's judge and stage 03's
trainers (:mod:`qcrdkit.training`: Finetune, Single-Task, DSS, MI, QCRD) both build on.

>>> from qcrdkit.students import build_student
>>> from qcrdkit.training import train_student      # train_student(method, run_dir, steps=..., ...)
>>> model, tokenizer = build_student("scratch-tiny", tokenizer="byte")
"""
from qcrdkit.students.models import (STUDENT_PRESETS, build_student, explain_input, generate_texts,
                                    load_or_train_tokenizer, predict_input)
from qcrdkit.students.tokenizers import EXPLAIN, PREDICT, TOKENIZERS, preset_tokenizer, train_corpus_tokenizer

__all__ = ["STUDENT_PRESETS", "build_student", "explain_input", "generate_texts", "load_or_train_tokenizer",
           "predict_input", "EXPLAIN", "PREDICT", "TOKENIZERS", "preset_tokenizer", "train_corpus_tokenizer"]
