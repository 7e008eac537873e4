"""Form plumbing shared by the admin views: typed ids, scoped lookups, CSRF."""

from __future__ import annotations

from flask import request
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.form import SecureForm
from flask_admin.model.ajax import DEFAULT_PAGE_SIZE
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import inspect, select

from models import Building, Unit, Vehicle
from propadmin.extensions import db
from propadmin.permissions import scoped
from propadmin.services.naming import normalize_query, plate_clause, unit_label_clause

MAX_ID = 2**31 - 1
UNIT_PLACEHOLDER = _l("Unit, e.g. 2-202 or 2栋202")


def typed_ids(model, ids):
    """Request ids (strings) as the primary key's type — PostgreSQL compares strictly —
    dropping any that cannot be one. Returns the key column and the values."""
    pk = inspect(model).primary_key[0]
    values = []
    for raw in ids:
        try:
            value = pk.type.python_type(raw)
        except (TypeError, ValueError):
            continue
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            continue  # no such row, and beyond what the database's integer holds
        values.append(value)
    return pk, values


def FormOnly(field_class):  # noqa: N802 — a field class factory
    """A form field that on_model_change reads; populate_obj leaves the model alone."""
    return type(
        f"FormOnly{field_class.__name__}", (field_class,), {"populate_obj": lambda *a: None}
    )


def resolve_choices(form):
    """Flask-Admin's QuerySelectMultipleField only notices an id outside its choices once
    its data has been read; read it now (after the choices were narrowed) so such a
    submission fails validation instead of being dropped silently."""
    if request.method == "POST":
        for field in form:
            if hasattr(field, "_invalid_formdata") and getattr(field, "query_factory", None):
                field.data  # noqa: B018 — resolving flags ids outside the choices
    return form


def unresolved_lookups(form):
    """Ajax lookups and optional dropdowns whose submitted id matched no row the user
    may see.

    Flask-Admin's AjaxSelectField, and a QuerySelectField that may be left empty, leave
    such a field empty, so a link to another estate's resident or building would be
    dropped without a word; the caller reports it instead."""
    for field in form:
        optional_select = getattr(field, "allow_blank", False) and hasattr(
            field, "query_factory"
        )
        if not hasattr(field, "loader") and not optional_select:
            continue
        raw = (field.raw_data or [""])[0] if field.raw_data is not None else ""
        if raw and raw != "__None" and field.data is None:
            yield field


def scoped_row(model, raw_id):
    """The row of ``model`` with this id (from a form or the address), only if it is in
    the current user's estates; ``None`` otherwise or for an id that cannot be one."""
    pk, values = typed_ids(model, [raw_id])
    if not values:
        return None
    return db.session.scalar(scoped(select(model).where(pk == values[0]), model))


class AdminForm(SecureForm):
    """Flask-Admin's SecureForm carrying Flask-WTF's token, so the one CSRFProtect check
    that guards every POST of the app also guards the admin's forms and actions."""

    class Meta(FlaskForm.Meta):
        pass


class ScopedAjaxLoader(QueryAjaxModelLoader):
    def get_query(self):
        return scoped(super().get_query(), self.model)

    def get_one(self, pk):
        key, values = typed_ids(self.model, [pk])
        return self.get_query().filter(key == values[0]).one_or_none() if values else None


class UnitAjaxLoader(ScopedAjaxLoader):
    """Units found as the office names them (``2-202``, ``2栋202``, ``2号楼202室``…,
    see services/naming.py), or by part of their number; shown by their label."""

    def get_list(self, term, offset=0, limit=DEFAULT_PAGE_SIZE):
        clause = unit_label_clause(term)
        if clause is None:
            clause = Unit.number.contains(normalize_query(term), autoescape=True)
        return (
            self.get_query()
            .filter(clause)
            .join(Building, Building.id == Unit.building_id)
            .order_by(Building.name, Unit.number)
            .offset(offset)
            .limit(limit)
            .all()
        )


class VehicleAjaxLoader(ScopedAjaxLoader):
    """Vehicles found by what a guard types: ``A12345``, ``12345`` find 沪A12345."""

    def get_list(self, term, offset=0, limit=DEFAULT_PAGE_SIZE):
        clause = plate_clause(Vehicle.plate, term)
        if clause is None:
            return []
        query = self.get_query().filter(clause).order_by(Vehicle.plate)
        return query.offset(offset).limit(limit).all()


# Lookups of these models understand the office's names for them; others search the
# view's ``form_ajax_refs`` fields.
AJAX_LOADERS = {Unit: UnitAjaxLoader, Vehicle: VehicleAjaxLoader}


def ajax_loader_for(model) -> type[ScopedAjaxLoader]:
    return AJAX_LOADERS.get(model, ScopedAjaxLoader)
