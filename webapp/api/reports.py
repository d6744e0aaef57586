"""Reports (SPEC §15): the workbook of a year's figures for the units the caller sees."""

from __future__ import annotations

import tempfile

from flask import request, send_file
from flask_login import current_user

from webapp.api import api_bp
from webapp.reports.figures import report_scope
from webapp.reports.workbook import filename, write_report

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@api_bp.get("/reports/<id:year>.xlsx")
def report_xlsx(year: int):
    """`unit=CODE`: that unit's subtree; none: every unit the caller sees. The workbook is
    written to a temporary file (constant memory), then sent from it in chunks; the file
    is gone once sent."""
    scope = report_scope(year, (request.args.get("unit") or "").strip() or None)
    target = tempfile.TemporaryFile(prefix="report-")  # noqa: SIM115 - send_file closes it
    try:
        write_report(target, scope, generated_by=current_user.email)
        target.seek(0)
    except BaseException:
        target.close()
        raise
    return send_file(target, mimetype=XLSX, as_attachment=True,
                     download_name=filename(scope), max_age=0)
