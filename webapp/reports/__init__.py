"""Reports (SPEC §15): a unit's or the caller's figures for a year, compared with the
year before, as a workbook (workbook.py) and as a printable page (unit_report.py), both
from the queries of figures.py and both scoped to what the caller may see."""
