"""Reports: one self-contained HTML file with figures, tables and a plain-language summary.

:class:`Report` collects figures, tables and notes with ``add_*`` methods and
saves them with :meth:`Report.save`; :func:`write_report` builds the full
orthotic loading report (conditions, regional loading, left/right offloading,
comparison with statistics) from trials. Every number is also written as a tidy
CSV and as JSON beside the HTML file.
"""

from ._loading import ASYMMETRY_PCT, REGION_NAMES, TARGET_KPA
from ._followup import write_followup_report
from ._report import NUMBER_COLUMNS, Report
from ._write import write_report

__all__ = ["ASYMMETRY_PCT", "NUMBER_COLUMNS", "REGION_NAMES", "Report", "TARGET_KPA", "write_followup_report",
           "write_report"]
