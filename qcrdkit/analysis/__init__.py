"""Stage 04 — what a run shows: tables over seeds and sweeps (:mod:`.tables`) with seed-level intervals
(:mod:`.statistics`; both re-exported here), the sections of notebook 04 (:mod:`.sections`), the students sampled by temperature and scored by the judge (:mod:`.casestudy`), the
pairwise LLM judge (:mod:`.llm_judge`), every rationale in one explorable table (:mod:`.explorer`),
the plots of every stage (:mod:`.plots`), the widgets (:mod:`.widgets`) and ``<run>/report/``
(:mod:`.report`).

>>> from qcrdkit import analysis
>>> analysis.mean_std_text([0.61, 0.65, 0.63])        # a seed-level summary, as in every table
'63.0 ± 2.0 (n=3)'
"""
from qcrdkit.analysis.statistics import (ONE_SEED_NOTE, hierarchical_bootstrap_means, seed_t_interval, detectable_difference, paired_difference,
                         interval_text, agreement_scores, ranking_aucs, holm)
from qcrdkit.analysis.tables import (accuracy_by_method, METHOD_ORDER, METHOD_NAMES, mean_std_text, results_matrix,
                     paired_method_differences, factor_differences, timing_table, Sweep, SWEEPS, sweep_tables,
                     difference_table, sweep_frame)
