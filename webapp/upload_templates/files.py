"""A template as a file: CSV text (header and example row, written by csv_export so no
cell reaches a spreadsheet as a formula), or an .xlsx workbook (workbook.py)."""

from __future__ import annotations

from webapp.csv_export import csv_text
from webapp.upload_templates.choosing import Template
from webapp.upload_templates.workbook import workbook_bytes

CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def template_file(template: Template, extension: str) -> tuple[bytes, str, str]:
    """(content, MIME type, file name) of `template` as a .csv or an .xlsx file."""
    if extension == "xlsx":
        return workbook_bytes(template), XLSX_TYPE, f"{template.file_stem}.xlsx"
    text = csv_text([template.header, template.example_row], lineterminator="\r\n")
    return text.encode(), CSV_TYPE, f"{template.file_stem}.csv"
