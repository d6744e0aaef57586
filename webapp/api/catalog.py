"""Read-only catalogue: modules with badges, factor types, entries, factors, providers,
and the header-only CSV templates."""

from __future__ import annotations

from flask import Response, request

from webapp.api import api_bp
from webapp.api.params import int_arg, listing, page_args
from webapp.csv_export import csv_text
from webapp.extensions import db
from webapp.ingestion.jobs import queries
from webapp.ingestion.providers.csv_upload import schemas
from webapp.ingestion.refusals import BadRequest, NotFound
from webapp.models import FactorType, Module
from webapp.security import INT4_MAX


@api_bp.get("/modules")
def modules_list():
    limit, offset = page_args(100)
    modules = [m for inventory in queries.inventories() for m in inventory.modules]
    return listing([queries.module_body(m) for m in modules[offset:offset + limit]],
                   len(modules), limit, offset)


@api_bp.get("/modules/<id:module_id>")
def modules_one(module_id: int):
    module = queries.get_module(module_id)
    return {**queries.module_body(module),
            "entry_counts": queries.entry_counts(module_id),
            "factor_types": [queries.factor_type_body(f)
                             for f in queries.factor_types(module.module_type)],
            "entry_types": schemas.entry_types_for(module.module_type),
            "active_jobs": [job.id for job in queries.active_jobs(module_id)]}


@api_bp.get("/factor-types")
def factor_types_list():
    module_type = None
    if request.args.get("module_id"):
        module_type = queries.get_module(int_arg("module_id", 0, 1, INT4_MAX)).module_type
    items = [queries.factor_type_body(f) for f in queries.factor_types(module_type)]
    return listing(items, len(items))


@api_bp.get("/modules/<id:module_id>/entries")
def module_entries(module_id: int):
    limit, offset = page_args(100)
    rows, total = queries.entries(module_id, entry_type=request.args.get("entry_type"),
                                  limit=limit, offset=offset)
    return listing([queries.entry_body(r) for r in rows], total, limit, offset)


@api_bp.get("/factors/<id:factor_type_id>")
def factors_list(factor_type_id: int):
    limit, offset = page_args(100)
    year = int_arg("year", 0, 0, 9999) or None
    rows, total = queries.factors(factor_type_id, year=year, limit=limit, offset=offset)
    return listing([queries.factor_body(r) for r in rows], total, limit, offset)


@api_bp.get("/providers")
def providers_list():
    module_id = int_arg("module_id", 0, 0, INT4_MAX)
    if not module_id:
        raise BadRequest("module_id is required")
    items = queries.providers(queries.get_module(module_id))
    return listing(items, len(items))


def _csv_response(header: list[str], filename: str) -> Response:
    return Response(csv_text([header], lineterminator="\r\n"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@api_bp.get("/templates/<id:module_id>.csv")
def entry_template(module_id: int):
    module: Module = queries.get_module(module_id)
    types = schemas.entry_types_for(module.module_type)
    entry_type = request.args.get("entry_type") or (types[0] if types else None)
    schema = schemas.ENTRY_SCHEMAS.get((module.module_type, entry_type))
    if schema is None:
        raise NotFound(f"no CSV template for entry type {entry_type!r} of "
                       f"{module.module_type}; known: {', '.join(types)}")
    return _csv_response(schemas.template_header(schema),
                         f"{module.module_type}-{entry_type}-template.csv")


@api_bp.get("/templates/factors/<id:factor_type_id>.csv")
def factor_template(factor_type_id: int):
    factor_type = db.session.get(FactorType, factor_type_id)
    schema = schemas.FACTOR_SCHEMAS.get(factor_type.slug) if factor_type else None
    if schema is None:
        raise NotFound(f"factor type {factor_type_id} has no CSV template")
    return _csv_response(schemas.template_header(schema),
                         f"factors-{factor_type.slug}-template.csv")
