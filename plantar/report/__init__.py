"""Reports: one self-contained HTML file with figures, tables and a plain-language summary.

:class:`Report` collects figures, tables and notes with ``add_*`` methods and
saves them with :meth:`Report.save`; :func:`write_report` builds the full
orthotic loading report (conditions, regional loading, left/right offloading,
comparison with statistics) from trials. Every number is also written as a tidy
CSV and as JSON beside the HTML file.

Conditions have a kind (barefoot, shod, orthotic; :func:`condition_kind`) that
decides what each is compared with (a shoe with barefoot, an orthotic with its
shoe) and which peak-pressure target applies (:data:`DEFAULT_TARGETS`: the
in-shoe criterion only for in-shoe recordings). Two one-foot recordings (one
file per insole) become one condition with both feet with :func:`pair_feet`.
"""

from ._conditions import DEFAULT_TARGETS, KINDS, condition_kind
from ._loading import ASYMMETRY_PCT, REGION_NAMES, TARGET_KPA
from ._followup import write_followup_report
from ._pair import file_side, pair_feet
from ._report import NUMBER_COLUMNS, PAPER_SIZES, Report
from ._write import write_report

__all__ = ["ASYMMETRY_PCT", "DEFAULT_TARGETS", "KINDS", "NUMBER_COLUMNS", "PAPER_SIZES", "REGION_NAMES", "Report",
           "TARGET_KPA", "condition_kind", "file_side", "pair_feet", "write_followup_report", "write_report"]
