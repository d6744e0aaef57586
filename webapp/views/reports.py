"""A unit's printable report page for a year (SPEC §15); the workbook is the API's
(webapp/api/reports.py), linked from here."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template

from webapp.reports.unit_report import unit_report

reports_bp = Blueprint("reports", __name__)


@reports_bp.get("/units/<code>/report/<id:year>")
def unit_report_page(code: str, year: int):
    report = unit_report(code, year)
    return render_template("reports/unit.html", report=report, scope=report.scope,
                           unit=report.scope.top, now=datetime.now(UTC))
