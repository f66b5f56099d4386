"""Student training: one config + trainer per method (paper §3–4), and the run-level entry point.

=============  ====================  ==================
method         config                trainer
=============  ====================  ==================
finetune       FinetuneConfig        FinetuneTrainer
single_task    SingleTaskConfig      SingleTaskTrainer
dss            DSSConfig             DSSTrainer
mi             MIConfig              MITrainer
qcrd           QCRDConfig            QCRDTrainer
=============  ====================  ==================

Every function takes stage 03's parameters by their stage names (``train_student("dss", run_dir, steps=500)``
trains a student on a run of stages 01-02); :func:`method_config` is the one place they meet the Trainer's:

>>> from qcrdkit.training import method_config
>>> config = method_config("qcrd", steps=500, batch_size=8, negative_top_k=0)
>>> config.max_steps, config.per_device_train_batch_size, config.negative_top_k
(500, 8, 0)
"""
from qcrdkit.training.base import StudentConfig, StudentTrainer
from qcrdkit.training.baselines import (DSSConfig, DSSTrainer, FinetuneConfig, FinetuneTrainer, MIConfig, MITrainer,
                        SingleTaskConfig, SingleTaskTrainer)
from qcrdkit.training.qcrd import QCRDTrainer
from qcrdkit.training.qcrd_config import QCRDConfig
from qcrdkit.training.run import METHODS, check_students, method_config, student_folder_name, train_student, training_stage

__all__ = ["StudentConfig", "StudentTrainer", "FinetuneConfig", "FinetuneTrainer", "SingleTaskConfig",
           "SingleTaskTrainer", "DSSConfig", "DSSTrainer", "MIConfig", "MITrainer", "QCRDConfig", "QCRDTrainer",
           "METHODS", "check_students", "method_config", "student_folder_name", "train_student", "training_stage"]
