"""Admin screens for setting up charges: fee items, their versioned rates (with the
steps of a tiered price) and meters. The rules live in services/fee_setup.py."""

from __future__ import annotations

from flask import flash, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload
from wtforms import StringField

from models import BillingMethod, Cycle, FeeKind, FeeRate, Meter, RateTier, Unit, UnitUse
from propadmin.extensions import db
from propadmin.services import ServiceError
from propadmin.services.bill_explain import number, yuan
from propadmin.services.fee_setup import (
    CYCLE_LABELS,
    KIND_LABELS,
    METHOD_LABELS,
    Tier,
    default_quantity_unit,
    fee_item_problems,
    meter_problems,
    parse_price,
    parse_quantity,
    rate_in_use,
    rate_in_use_message,
    rate_problems,
)

from .base import SecureModelView, typed_ids
from .fields import UNIT_PLACEHOLDER
from .property import UNIT_USE_LABELS


def _labelled(labels):
    return lambda v, c, m, n: labels.get(getattr(m, n), getattr(m, n) or "")


def _choices(labels, enum):
    return [(member.value, labels[member]) for member in enum]


def _current_id(model) -> int | None:
    """The id of the row an edit form is saving (None on create)."""
    _pk, values = typed_ids(model, [request.args.get("id", "")])
    return values[0] if values else None


def _text(value) -> str:
    """A typed number as text (an edit form holds the stored Decimal)."""
    return "" if value is None else str(value).strip()


def _report(form, errors: dict[str, str]) -> bool:
    """Put each message by its field; False when there was any."""
    for name, message in errors.items():
        form[name].errors = [*form[name].errors, message]
    return not errors


class BillingView(SecureModelView):
    permission_module = "billing"
    export_permission = "billing.export"


class LockedRows:
    """Rows that must stay as they are once a bill was made from them: they can be looked
    at, but opening one for editing or deleting it says why not."""

    def locked(self, row) -> str | None:
        """Why ``row`` may no longer change, or None."""
        return None

    def may(self, action, row):
        return action == "view" or self.locked(row) is None

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        row = self.get_one(request.args.get("id", ""), action="view")
        message = self.locked(row) if row is not None else None
        if message:
            flash(message, "error")
            return redirect(self.get_url(".details_view", id=self.get_pk_value(row)))
        return super().edit_view()

    def delete_model(self, model):
        message = self.locked(model)
        if message:
            flash(message, "error")
            return False
        return super().delete_model(model)


def _rates_text(item) -> str:
    """The item's prices, newest first: 2027-01-01 起 ¥2.80；2020-01-01 起 ¥2.50."""
    return "；".join(
        _("%(price)s from %(date)s", price=yuan(r.unit_price, 4), date=r.effective_from.isoformat())
        for r in item.rates
    )


class FeeItemView(BillingView):
    column_list = (
        "name",
        "kind",
        "method",
        "cycle",
        "building",
        "quantity_unit",
        "active",
        "estate",
    )
    column_searchable_list = ("name",)
    column_filters = ("kind", "method", "cycle", "active")
    column_default_sort = "name"
    form_columns = (
        "estate",
        "name",
        "kind",
        "method",
        "cycle",
        "building",
        "unit_use",
        "one_off_period",
        "quantity_unit",
        "due_days",
        "active",
        "description",
    )
    form_choices = {
        "kind": _choices(KIND_LABELS, FeeKind),
        "method": _choices(METHOD_LABELS, BillingMethod),
        "cycle": _choices(CYCLE_LABELS, Cycle),
        "unit_use": [(u.value, UNIT_USE_LABELS[u]) for u in UnitUse],
    }
    column_formatters = {
        "kind": _labelled(KIND_LABELS),
        "method": _labelled(METHOD_LABELS),
        "cycle": _labelled(CYCLE_LABELS),
        "unit_use": _labelled(UNIT_USE_LABELS),
    }
    column_formatters_detail = {**column_formatters, "rates": lambda v, c, m, n: _rates_text(m)}
    column_formatters_export = column_formatters
    column_details_list = (*form_columns, "rates")
    column_labels = {
        "estate": _l("Estate"),
        "name": _l("Fee item"),
        "kind": _l("Kind"),
        "method": _l("Billing method"),
        "cycle": _l("Cycle"),
        "building": _l("Only this building"),
        "unit_use": _l("Only units used as"),
        "one_off_period": _l("Period (one-off)"),
        "quantity_unit": _l("Counted in"),
        "due_days": _l("Days to pay"),
        "active": _l("In use"),
        "description": _l("Description"),
        "rates": _l("Rates"),
    }
    form_args = {
        "one_off_period": {"description": _l("For a one-off item: 2026-11, 2026-Q4 or 2026")},
        "quantity_unit": {"description": _l("Left empty: m², 吨, 度, m³ or 个 by kind")},
        "building": {"description": _l("Left empty: every building of the estate")},
    }

    def prepare_form(self, form, obj=None):
        form.building.blank_text = _("All buildings")
        return form

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "name") or form.estate.data is None:
            return valid
        form.name.data = (form.name.data or "").strip()
        form.one_off_period.data = (form.one_off_period.data or "").strip() or None
        errors = fee_item_problems(
            db.session,
            estate_id=form.estate.data.id,
            name=form.name.data,
            method=form.method.data or None,
            cycle=form.cycle.data or None,
            building=form.building.data,
            one_off_period=form.one_off_period.data,
            due_days=form.due_days.data,
            item_id=_current_id(self.model),
        )
        return _report(form, errors)

    def on_model_change(self, form, model, is_created):
        if not model.quantity_unit:
            model.quantity_unit = default_quantity_unit(
                FeeKind(model.kind), BillingMethod(model.method)
            )
        if model.one_off_period:
            model.one_off_period = model.one_off_period.upper()
        super().on_model_change(form, model, is_created)


def _tiers_text(view, context, model, name) -> str:
    steps = []
    for tier in model.tiers:
        bound = f"≤{number(tier.up_to)}" if tier.up_to is not None else "＞"
        steps.append(f"{bound}: {yuan(tier.unit_price, 4)}")
    return "；".join(steps)


class FeeRateView(LockedRows, BillingView):
    column_list = ("fee_item", "effective_from", "unit_price", "tiers", "note")
    column_default_sort = [("fee_item_id", False), ("effective_from", True)]
    column_filters = ("effective_from",)
    form_columns = ("fee_item", "effective_from", "unit_price", "note", "tiers")
    form_overrides = {"unit_price": StringField}
    inline_models = [
        (
            RateTier,
            {
                "form_columns": ("id", "up_to", "unit_price"),
                "form_overrides": {"up_to": StringField, "unit_price": StringField},
                "form_label": _l("Tier"),
                "column_labels": {"up_to": _l("Up to (usage)"), "unit_price": _l("Unit price")},
                "form_args": {
                    "up_to": {"description": _l("Leave the last step's bound empty.")},
                },
            },
        )
    ]
    column_formatters = {
        "unit_price": lambda v, c, m, n: yuan(m.unit_price, 4),
        "tiers": _tiers_text,
    }
    column_formatters_detail = column_formatters
    column_formatters_export = column_formatters
    column_labels = {
        "fee_item": _l("Fee item"),
        "effective_from": _l("Effective from"),
        "unit_price": _l("Unit price"),
        "tiers": _l("Tiers"),
        "note": _l("Note"),
    }
    form_args = {
        "unit_price": {
            "description": _l(
                "Yuan per m², per unit or per usage, up to 4 decimal places; "
                "a tiered item may leave it empty (the first step's price)."
            )
        },
    }

    def locked(self, row) -> str | None:
        return rate_in_use_message() if rate_in_use(db.session, row) else None

    def get_query(self):
        return super().get_query().options(selectinload(FeeRate.tiers))

    def prepare_form(self, form, obj=None):
        # A tiered item's price may be left empty (its first step's); parse_price
        # judges the rest, so the column's "required" is not Flask-Admin's to say.
        form.unit_price.validators = [
            v for v in form.unit_price.validators if not getattr(v, "field_flags", {})
        ]
        form.unit_price.flags.required = False
        return form

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not hasattr(form, "fee_item"):
            return valid
        errors: dict[str, str] = {}
        tiers = self._read_tiers(form, errors)
        item = form.fee_item.data
        price_text = _text(form.unit_price.data)
        if not price_text and item is not None and item.method is BillingMethod.tiered and tiers:
            form.unit_price.data = tiers[0].unit_price
        else:
            try:
                form.unit_price.data = parse_price(price_text)
            except ServiceError as exc:
                errors["unit_price"] = exc.message
        if valid and not errors:
            errors = rate_problems(
                db.session, item, form.effective_from.data, tiers, _current_id(self.model)
            )
        # The steps are a list of small forms: their message goes above the form.
        tier_problem = errors.pop("tiers", None)
        if tier_problem:
            flash(tier_problem, "error")
        return _report(form, errors) and valid and not tier_problem

    @staticmethod
    def _read_tiers(form, errors) -> list[Tier]:
        """The steps kept on the form, typed (each bad value marked by its field)."""
        tiers = []
        for entry in form.tiers.entries:
            if form.tiers.should_delete(entry):
                continue
            sub = entry.form
            try:
                raw = _text(sub.up_to.data)
                sub.up_to.data = parse_quantity(raw, "up_to") if raw else None
                sub.unit_price.data = parse_price(sub.unit_price.data)
            except ServiceError as exc:
                field = sub.up_to if exc.field == "up_to" else sub.unit_price
                field.errors = [*field.errors, exc.message]
                errors.setdefault("tiers", exc.message)
                continue
            tiers.append(Tier(sub.up_to.data, sub.unit_price.data))
        return tiers

    def on_model_change(self, form, model, is_created):
        # Steps are numbered in the order shown; number them apart first, so that no
        # two share a position while they move (the pair is unique).
        kept = [t for t in model.tiers if t not in db.session.deleted]
        for index, tier in enumerate(kept):
            tier.position = -1 - index
        db.session.flush()
        for index, tier in enumerate(kept):
            tier.position = index
        super().on_model_change(form, model, is_created)


class MeterView(BillingView):
    column_list = ("code", "fee_item", "unit", "building", "location", "active")
    column_searchable_list = ("code", "location")
    column_filters = ("active",)
    column_default_sort = "code"
    form_columns = ("fee_item", "code", "unit", "building", "location", "active")
    form_ajax_refs = {
        "unit": {"fields": ("number",), "page_size": 20, "placeholder": UNIT_PLACEHOLDER},
    }
    column_labels = {
        "code": _l("Meter number"),
        "fee_item": _l("Fee item"),
        "unit": _l("Unit"),
        "building": _l("Building"),
        "location": _l("Location"),
        "active": _l("In use"),
        "estate": _l("Estate"),
    }
    form_args = {
        "unit": {"description": _l("A unit's own meter; leave empty for a shared meter.")},
        "building": {
            "description": _l("A shared meter: the building it serves (empty: the whole estate).")
        },
        "location": {"description": _l("Where a shared meter is, e.g. 1栋水泵房")},
    }

    def get_query(self):
        # The list joins the fee item, unit and building; a unit is named with its own.
        return super().get_query().options(joinedload(Meter.unit).joinedload(Unit.building))

    def prepare_form(self, form, obj=None):
        form.building.blank_text = "—"
        return form

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "code"):
            return valid
        form.code.data = (form.code.data or "").strip()
        errors = meter_problems(
            db.session,
            item=form.fee_item.data,
            code=form.code.data,
            unit=form.unit.data,
            building=form.building.data,
            meter_id=_current_id(self.model),
        )
        return _report(form, errors)

    def on_model_change(self, form, model, is_created):
        model.estate_id = model.fee_item.estate_id
        super().on_model_change(form, model, is_created)
