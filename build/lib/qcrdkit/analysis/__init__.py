"""Stage 04 — what a run shows: tables over seeds and sweeps with seed-level intervals (:mod:`.tables`,
re-exported here), the students sampled by temperature and scored by the judge (:mod:`.casestudy`), the
pairwise LLM judge (:mod:`.llm_judge`), every rationale in one explorable table (:mod:`.explorer`),
the plots of every stage (:mod:`.plots`), the widgets (:mod:`.widgets`) and ``<run>/report/``
(:mod:`.report`).

>>> from qcrdkit import analysis
>>> analysis.results_matrix(students)
>>> from qcrdkit.analysis import plots as viz
"""
from .tables import (accuracy_by_method, ONE_SEED_NOTE, hierarchical_bootstrap_means, seed_t_interval,
                     detectable_difference, paired_difference, interval_text, METHOD_ORDER, METHOD_NAMES,
                     mean_std_text, results_matrix, paired_method_differences, factor_differences, timing_table,
                     Sweep, SWEEPS, sweep_tables, difference_table, sweep_frame, agreement_scores, ranking_aucs)
