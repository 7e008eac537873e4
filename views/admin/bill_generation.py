"""生成账单: choose a period (and an estate), see what would be made, then confirm.

The preview and the run are the same computation (services/bill_generation.py); the
page only parses the form, calls it and commits."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from propadmin.extensions import db
from propadmin.permissions import visible_estates
from propadmin.services import ServiceError
from propadmin.services.bill_explain import yuan
from propadmin.services.bill_generation import generate_bills, preview_bills

from .base import PermissionView


class GenerateForm(FlaskForm):
    estate = SelectField(_l("Estate"), choices=[], validate_choice=False)
    period = StringField(
        _l("Period to bill"),
        validators=[
            InputRequired(message=_l("Enter a period.")),
            Length(max=10, message=_l("A period is at most 10 characters, such as 2026-11.")),
        ],
        description=_l("2026-11 for a month, 2026-Q4 for a quarter, 2026 for a year."),
    )
    confirm = HiddenField()


class BillGenerationView(PermissionView, BaseView):
    required_permission = "billing.generate"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        estates = visible_estates(db.session, current_user)
        form = GenerateForm()
        form.estate.choices = [(str(e.id), e.name) for e in estates]
        preview = None
        if form.validate_on_submit():
            estate = next((e for e in estates if str(e.id) == form.estate.data), None)
            if estate is None:
                form.estate.errors.append(_("Choose one of your estates."))
            elif form.confirm.data == "1":
                done = self._generate(form, estate)
                if done:
                    return redirect(url_for(".index"))
            else:
                try:
                    preview = preview_bills(db.session, estate.id, form.period.data)
                except ServiceError as exc:
                    self._field(form, exc).errors.append(exc.message)
        elif not form.estate.data and estates:
            form.estate.data = str(estates[0].id)
        return self.render(
            "admin/bill_generate.html",
            form=form,
            preview=preview,
            several=len(estates) > 1,
        )

    @staticmethod
    def _field(form, exc: ServiceError):
        return form.estate if exc.field == "estate" else form.period

    def _generate(self, form, estate) -> bool:
        """Make the bills; flagged readings the preview listed are accepted by the person
        confirming."""
        try:
            result = generate_bills(
                db.session,
                estate.id,
                form.period.data,
                actor=current_user._get_current_object(),
                accept_flagged=True,
            )
        except ServiceError as exc:
            db.session.rollback()
            self._field(form, exc).errors.append(exc.message)
            return False
        db.session.commit()
        if result.nothing_added and not result.existing:
            flash(_("There is nothing to add for this period."), "info")
        elif result.nothing_added:
            flash(
                _(
                    "Nothing added: %(n)d bills for %(period)s already existed.",
                    n=result.existing,
                    period=result.period,
                ),
                "info",
            )
        else:
            flash(
                _(
                    "Generated %(n)d bills for %(estate)s %(period)s, total %(total)s.",
                    n=result.bills,
                    estate=result.estate_name,
                    period=result.period,
                    total=yuan(result.total),
                ),
                "success",
            )
        return True
