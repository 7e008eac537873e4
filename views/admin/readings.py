"""Admin screen of meter readings. Entering and correcting a reading goes through the
readings service (previous reading, usage and flag are worked out, never typed)."""

from __future__ import annotations

from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload
from wtforms import StringField

from models import Building, FeeItem, Meter, MeterReading, Unit
from propadmin.extensions import db
from propadmin.services import ServiceError
from propadmin.services.readings import (
    billed_message,
    correct_reading,
    delete_reading,
    first_reading_notice,
    number,
    readings_to_review,
    record_reading,
    review_reading,
)

from .base import local_time
from .fee_setup import BillingView, LockedRows
from .worklist import Filter, Tile, register_tile

READ_ONLY = ("previous", "usage", "flagged", "flag_note", "reviewed_at", "reviewed_by")


class _MeterFilter(FilterEqual):
    """A filter on the reading's meter, by a name typed in the filter box."""

    def meters(self, value):
        raise NotImplementedError

    def apply(self, query, value, alias=None):
        return query.filter(MeterReading.meter_id.in_(self.meters((value or "").strip())))


class BuildingFilter(_MeterFilter):
    """Readings of the building's units' meters and of shared meters that serve it."""

    def meters(self, value):
        buildings = select(Building.id).where(Building.name == value)
        units = select(Unit.id).where(Unit.building_id.in_(buildings))
        return select(Meter.id).where(
            or_(Meter.unit_id.in_(units), Meter.building_id.in_(buildings))
        )


class FeeItemFilter(_MeterFilter):
    def meters(self, value):
        items = select(FeeItem.id).where(FeeItem.name == value)
        return select(Meter.id).where(Meter.fee_item_id.in_(items))


class NeedsReviewFilter(FilterEqual):
    """Flagged readings nobody has reviewed yet (是), or the others (否)."""

    def apply(self, query, value, alias=None):
        waiting = MeterReading.flagged.is_(True) & MeterReading.reviewed_at.is_(None)
        return query.filter(waiting if value == "1" else ~waiting)


def _meter_place(view, context, model, name) -> str:
    meter = model.meter
    return meter.unit.label if meter.unit is not None else meter.location


def _numbers(view, context, model, name) -> str:
    return number(getattr(model, name))


class MeterReadingView(LockedRows, BillingView):
    column_list = (
        "meter",
        "place",
        "period",
        "read_on",
        "previous",
        "value",
        "usage",
        "flag_note",
        "reviewed_at",
    )
    column_default_sort = [("period", True), ("meter_id", False)]
    column_sortable_list = ("period", "read_on", "usage")
    column_details_list = (
        "meter",
        "place",
        "period",
        "read_on",
        "previous",
        "value",
        "usage",
        "replaced",
        "old_final",
        "new_start",
        "flagged",
        "flag_note",
        "reviewed_by",
        "reviewed_at",
        "entered_by",
        "updated_at",
    )
    column_export_list = column_details_list
    column_filters = (
        FilterEqual(MeterReading.period, _l("Period")),
        BuildingFilter(MeterReading.meter_id, _l("Building")),
        FeeItemFilter(MeterReading.meter_id, _l("Fee item")),
        NeedsReviewFilter(
            MeterReading.reviewed_at,
            _l("Needs review"),
            options=(("1", _l("Yes")), ("0", _l("No"))),
        ),
        "flagged",
    )
    form_columns = ("meter", "period", "read_on", "value", "replaced", "old_final", "new_start")
    form_overrides = {"value": StringField, "old_final": StringField, "new_start": StringField}
    form_ajax_refs = {"meter": {"fields": ("code",), "page_size": 20}}
    column_formatters = {
        "place": _meter_place,
        "previous": _numbers,
        "value": _numbers,
        "usage": _numbers,
        "old_final": _numbers,
        "new_start": _numbers,
        "reviewed_at": local_time("reviewed_at"),
        "updated_at": local_time("updated_at"),
    }
    column_formatters_detail = column_formatters
    column_formatters_export = column_formatters
    column_labels = {
        "meter": _l("Meter"),
        "place": _l("Unit or place"),
        "period": _l("Period"),
        "read_on": _l("Read on"),
        "previous": _l("Previous reading"),
        "value": _l("Reading"),
        "usage": _l("Usage"),
        "replaced": _l("Meter replaced"),
        "old_final": _l("Old meter's final reading"),
        "new_start": _l("New meter's starting reading"),
        "flagged": _l("Flagged"),
        "flag_note": _l("Why flagged"),
        "reviewed_by": _l("Reviewed by"),
        "reviewed_at": _l("Reviewed"),
        "entered_by": _l("Entered by"),
    }
    form_args = {
        "period": {"description": _l("2026-11 for a month, 2026-Q4 for a quarter")},
        "replaced": {"description": _l("Tick when the meter was replaced in this period.")},
    }

    def locked(self, row) -> str | None:
        return billed_message(db.session, row)

    def get_query(self):
        meter = joinedload(MeterReading.meter)
        return (
            super()
            .get_query()
            .options(
                meter.selectinload(Meter.unit).selectinload(Unit.building),
                meter.selectinload(Meter.fee_item),
            )
        )

    def prepare_form(self, form, obj=None):
        """A reading's meter and period are fixed: to move it, delete it and enter it
        again. The numbers are shown as a clerk writes them."""
        if obj is not None:
            del form.meter
            del form.period
            for name in ("value", "old_final", "new_start"):
                if form[name].data is not None and not isinstance(form[name].data, str):
                    form[name].data = number(form[name].data)
        return form

    def _service_args(self, form) -> dict:
        return {
            "value": form.value.data,
            "read_on": form.read_on.data,
            "actor": current_user._get_current_object(),
            "replaced": bool(form.replaced.data),
            "old_final": (form.old_final.data or "").strip() or None,
            "new_start": (form.new_start.data or "").strip() or None,
        }

    def _saved(self, form, reading, is_created: bool):
        self._on_model_change(form, reading, is_created)
        db.session.commit()
        notice = first_reading_notice(reading)
        if notice:
            flash(notice, "info")
        if reading.flagged:
            flash(_("Flagged for review: %(note)s.", note=reading.flag_note), "warning")
        self.after_model_change(form, reading, is_created)
        return reading

    def _refused(self, form, exc: ServiceError) -> bool:
        db.session.rollback()
        target = exc.field if exc.field and hasattr(form, exc.field) else "value"
        form[target].errors = [*form[target].errors, exc.message]
        return False

    def create_model(self, form):
        try:
            reading = record_reading(
                db.session, form.meter.data, form.period.data or "", **self._service_args(form)
            )
            return self._saved(form, reading, True)
        except ServiceError as exc:
            return self._refused(form, exc)
        except Exception as exc:  # the base view's sentences for database errors
            if not self.handle_view_exception(exc):
                raise
            return False

    def update_model(self, form, model):
        try:
            correct_reading(db.session, model, **self._service_args(form))
            self._saved(form, model, False)
            return True
        except ServiceError as exc:
            return self._refused(form, exc)
        except Exception as exc:
            if not self.handle_view_exception(exc):
                raise
            return False

    def delete_model(self, model):
        if not self.may("delete", model):
            return super().delete_model(model)  # says why
        try:
            delete_reading(db.session, model)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return False
        return True

    @action("review", _l("Mark reviewed"), _l("Mark the selected readings as reviewed?"))
    def action_review(self, ids):
        count = 0
        for reading in self.scoped_rows(ids):
            if reading.needs_review:
                review_reading(db.session, reading, actor=current_user._get_current_object())
                count += 1
        db.session.commit()
        flash(_("%(n)d reading(s) marked as reviewed.", n=count), "success")


register_tile(
    Tile(
        key="readings_to_review",
        label=_l("Readings to review"),
        endpoint="meter_reading",
        count=readings_to_review,
        filters=(Filter("reviewed_at", "equals", "1"),),
    )
)
