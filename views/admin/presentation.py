"""How the admin shows records to a person: rows that lead to their pages, saving that
lands on the record, choices and booleans in words, and errors as sentences. Mixed into
the base view (base.py), which holds the access rules."""

from __future__ import annotations

from flask import current_app, flash
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.model import typefmt
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from wtforms.validators import ValidationError

from propadmin.extensions import db
from propadmin.permissions import scoped


def yes_no(view, value, name=None) -> str:
    """Booleans in words of the reader's language (Flask-Admin shows an icon titled
    "name: true" in lists and "True" on detail pages and in exports)."""
    return _("Yes") if value else _("No")


# Every model's time stamps (TimestampMixin), named once for every screen.
COMMON_LABELS = {"created_at": _l("Created"), "updated_at": _l("Last changed")}


INTEGER_RANGE = range(-(2**63), 2**63)  # what every database here stores in an integer


def _within_integers(flt):
    """A number typed into the address beyond what a database integer holds is no
    filter value (SQLite would fail on it rather than find nothing)."""
    validate = flt.validate

    def checked(value) -> bool:
        if not validate(value):
            return False
        try:
            cleaned = flt.clean(value)
        except (TypeError, ValueError):
            return False
        values = cleaned if isinstance(cleaned, list) else [cleaned]
        return all(not isinstance(v, int) or v in INTEGER_RANGE for v in values)

    flt.validate = checked
    return flt


class ChoiceFilter(FilterEqual):
    """One of a fixed set of labelled choices; anything else typed into the address is
    ignored (the stored enum would refuse it with an error page)."""

    def validate(self, value):
        return value in {str(v) for v, _label in self.options}


class ScopedChoiceFilter(FilterEqual):
    """A choice among rows of the user's estates (buildings, fee items): the choices are
    read for each request (see Presentation._get_filter_groups), not once at start-up."""

    def __init__(self, column, name, choices_model, label_column):
        super().__init__(column, name)
        self.choices_model = choices_model
        self.label_column = label_column

    def choices(self) -> list[tuple[str, str]]:
        model = self.choices_model
        stmt = select(model.id, self.label_column).order_by(self.label_column, model.id)
        return [(str(i), label) for i, label in db.session.execute(scoped(stmt, model))]

    def validate(self, value):
        return value.isdigit() and len(value) < 19


class Presentation:
    column_type_formatters = {**typefmt.BASE_FORMATTERS, bool: yes_no}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, bool: yes_no}
    column_type_formatters_export = {**typefmt.EXPORT_FORMATTERS, bool: yes_no}

    # -- records that lead to each other ---------------------------------------------
    # The column whose value opens the row's page; by default the first listed.
    link_column: str | None = None

    def _link_first_column(self) -> None:
        """In the list, a row's name is the link to its page (not only the eye icon)."""
        name = self.link_column or next(iter(self.column_list or ()), None)
        if not self.can_view_details or not isinstance(name, str):
            return
        formatters = dict(self.column_formatters or {})
        shown = formatters.get(name)

        def linked(view, context, model, column):
            if shown is not None:
                value = shown(view, context, model, column)
            else:  # as Flask-Admin shows it: dotted paths, type formatters
                value = view._get_list_value(
                    context, model, column, {}, view.column_type_formatters
                )
            url = view.row_url(".details_view", view.get_pk_value(model))
            # Both escaped here (Markup.format's formatter cost more than the rest of a cell).
            return Markup(f'<a class="row-link" href="{escape(url)}">{escape(value)}</a>')  # noqa: S704

        formatters[name] = linked
        self.column_formatters = formatters

    def scaffold_filters(self, name):
        """A filter on a column with labelled choices (``column_choices`` or
        ``form_choices``) offers those labels, not the stored codes (owned, rented)."""
        choices = (self.column_choices or {}).get(name) or (self.form_choices or {}).get(name)
        if isinstance(name, str) and choices and "." not in name:
            column = getattr(self.model, name)
            return [ChoiceFilter(column, self.get_column_name(name), options=list(choices))]
        return [_within_integers(flt) for flt in super().scaffold_filters(name) or ()]

    def _get_filter_groups(self):
        """Filters over the user's own rows (ScopedChoiceFilter) offer them afresh on each
        request, not the choices read once at start-up."""
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                flt = self._filters[item["index"]]
                if isinstance(flt, ScopedChoiceFilter):
                    item["options"] = flt.choices()
        return groups

    def get_save_return_url(self, model, is_created=False):
        """After saving, land on the record just saved."""
        if self.can_view_details:
            return self.get_url(".details_view", id=self.get_pk_value(model))
        return super().get_save_return_url(model, is_created)

    # -- errors a person can act on --------------------------------------------------
    def handle_view_exception(self, exc):
        if isinstance(exc, IntegrityError):
            db.session.rollback()
            flash(
                _(
                    "This conflicts with other records: a name or number is already used, "
                    "or other records still refer to this one."
                ),
                "error",
            )
            return True
        if isinstance(exc, ValidationError):
            db.session.rollback()
            flash(str(exc), "error")
            return True
        if isinstance(exc, SQLAlchemyError):
            # Flask-Admin would flash "创建记录失败。" followed by the database's own
            # English message; the person gets a sentence they can act on, the log the rest.
            db.session.rollback()
            current_app.logger.exception("saving a %s failed", self.model.__name__)
            flash(
                _("The record could not be saved: a value is too long or of the wrong kind."),
                "error",
            )
            return True
        return super().handle_view_exception(exc)
