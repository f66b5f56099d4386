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

>>> from qcrdkit.students.trainers import train_student
>>> metrics = train_student("dss", "outputs/runs/demo", max_steps=500)
"""
from .base import StudentConfig, StudentTrainer
from .baselines import (DSSConfig, DSSTrainer, FinetuneConfig, FinetuneTrainer, MIConfig, MITrainer,
                        SingleTaskConfig, SingleTaskTrainer)
from .qcrd import QCRDTrainer
from .qcrd_config import QCRDConfig
from .run import (METHODS, collect_students, method_config, student_folder_name, student_histories, train_student,
                  write_summary)

__all__ = ["StudentConfig", "StudentTrainer", "FinetuneConfig", "FinetuneTrainer", "SingleTaskConfig",
           "SingleTaskTrainer", "DSSConfig", "DSSTrainer", "MIConfig", "MITrainer", "QCRDConfig", "QCRDTrainer",
           "METHODS", "collect_students", "method_config", "student_folder_name", "student_histories", "train_student",
           "write_summary"]
