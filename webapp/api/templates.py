"""Upload templates (SPEC §15): a CSV (header and an example row) or an .xlsx workbook
(with dropdowns and a sheet explaining every column) for each file the product takes.

    /templates/{module_id}.csv|.xlsx?entry_type=   a module's entries, of one type (its
                                                   first when not given), as an upload
                                                   reads one type from one sheet
    /templates/institution/{module_type}.csv|.xlsx?entry_type=   every unit's, with unit_code
    /templates/factors/{factor_type_id}.csv|.xlsx  a factor type's factors
    /templates/units.csv|.xlsx                     the unit tree
"""

from __future__ import annotations

from flask import Response, request

from webapp import catalog
from webapp.api import api_bp
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.models import FactorType
from webapp.upload_templates import choosing
from webapp.upload_templates.choosing import Template
from webapp.upload_templates.files import template_file


def _download(template: Template, extension: str) -> Response:
    content, mimetype, filename = template_file(template, extension)
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def _module_template(module_id: int) -> Template:
    module = catalog.get_module(module_id)
    return choosing.entry_template(module.module_type, request.args.get("entry_type") or None)


def _every_unit_template(module_type: str) -> Template:
    return choosing.every_unit_template(module_type, request.args.get("entry_type") or None)


def _factor_template(factor_type_id: int) -> Template:
    factor_type = db.session.get(FactorType, factor_type_id)
    if factor_type is None:
        raise NotFound(f"factor type {factor_type_id} does not exist")
    return choosing.factor_template(factor_type.slug)


@api_bp.get("/templates/<id:module_id>.csv")
def entry_template(module_id: int):
    return _download(_module_template(module_id), "csv")


@api_bp.get("/templates/<id:module_id>.xlsx")
def entry_template_xlsx(module_id: int):
    return _download(_module_template(module_id), "xlsx")


@api_bp.get("/templates/institution/<module_type>.csv")
def institution_template(module_type: str):
    return _download(_every_unit_template(module_type), "csv")


@api_bp.get("/templates/institution/<module_type>.xlsx")
def institution_template_xlsx(module_type: str):
    return _download(_every_unit_template(module_type), "xlsx")


@api_bp.get("/templates/factors/<id:factor_type_id>.csv")
def factor_template(factor_type_id: int):
    return _download(_factor_template(factor_type_id), "csv")


@api_bp.get("/templates/factors/<id:factor_type_id>.xlsx")
def factor_template_xlsx(factor_type_id: int):
    return _download(_factor_template(factor_type_id), "xlsx")


@api_bp.get("/templates/units.csv")
def units_template():
    return _download(choosing.units_template(), "csv")


@api_bp.get("/templates/units.xlsx")
def units_template_xlsx():
    return _download(choosing.units_template(), "xlsx")
