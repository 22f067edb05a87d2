"""Studies and cohorts: many files analysed in parallel, conditions compared across subjects.

:func:`batch` maps :func:`analyse_one` over a study's files on Dask and writes
one tidy table, a per-file status table and the aligned mean maps of each
subject and condition. :func:`group_compare` compares conditions within
subjects (paired tests, effect sizes, Holm's correction) and
:func:`pixel_compare` tests the aligned maps sensel by sensel with
permutation inference that controls the family-wise error.
"""

from ._batch import STATUS_COLUMNS, TABLE_COLUMNS, analyse_one, batch, footprint_axis, read_study
from ._manifest import MANIFEST_COLUMNS, manifest_from_pattern, read_manifest
from ._pixels import METHODS, pixel_compare
from ._report import REPORT_METRICS, write_cohort_report
from ._stats import GROUP_COLUMNS, group_compare, holm
from ._synth import STUDY_CONDITIONS, synthetic_study

__all__ = [
    "GROUP_COLUMNS",
    "MANIFEST_COLUMNS",
    "METHODS",
    "REPORT_METRICS",
    "STATUS_COLUMNS",
    "STUDY_CONDITIONS",
    "TABLE_COLUMNS",
    "analyse_one",
    "batch",
    "footprint_axis",
    "group_compare",
    "holm",
    "manifest_from_pattern",
    "pixel_compare",
    "read_manifest",
    "read_study",
    "synthetic_study",
    "write_cohort_report",
]
