"""Payment reminders in the admin: the list of reminders sent (read-only), and a page that
shows how many payers would be reminded today, for how much, with the button that sends."""

from __future__ import annotations

from flask import flash, redirect
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from propadmin.extensions import db
from propadmin.permissions import can, estate_scope
from propadmin.services.bill_explain import yuan
from propadmin.services.reminders import preview_reminders, send_reminders
from propadmin.services.today import office_today

from .base import ReadOnlyModelView


class SendForm(FlaskForm):
    """The send button (CSRF only)."""


class BillReminderView(ReadOnlyModelView):
    """Reminders sent: one row per payer per day. Written by the send page and by
    ``flask bills remind``, never by hand."""

    permission_module = "billing"
    extra_permissions = {"send_view": "billing.remind"}
    list_template = "admin/reminder_list.html"
    column_list = ("sent_on", "payer", "bills", "amount", "created_at")
    column_details_list = ("sent_on", "estate", "payer", "bills", "amount", "created_at")
    column_default_sort = [("sent_on", True), ("id", True)]
    column_sortable_list = ("sent_on", "bills", "amount")
    column_filters = ("sent_on",)
    column_labels = {
        "sent_on": _l("Reminded on"),
        "estate": _l("Estate"),
        "payer": _l("Payer"),
        "bills": _l("Overdue bills"),
        "amount": _l("Amount owed"),
        "created_at": _l("Queued"),
    }
    column_formatters = {"amount": lambda v, c, m, n: yuan(m.amount)}
    column_formatters_detail = column_formatters

    def render(self, template, **kwargs):
        kwargs.setdefault("may_send", can("billing.remind"))
        return super().render(template, **kwargs)

    def _estates(self):
        scope = estate_scope(current_user)
        return None if scope is None else sorted(scope)

    @expose("/send/", methods=("GET", "POST"))
    def send_view(self):
        today = office_today(db.session, self._estates())
        form = SendForm()
        if form.validate_on_submit():
            result = send_reminders(
                db.session, today=today, estate_ids=self._estates(), actor=current_user
            )
            db.session.commit()
            flash(
                _(
                    "%(n)d reminder(s) queued, for %(amount)s in all.",
                    n=result.queued,
                    amount=yuan(result.amount),
                ),
                "success",
            )
            if result.already:
                flash(_("%(n)d payer(s) were already reminded today.", n=result.already), "info")
            if result.no_email:
                flash(
                    _(
                        "%(n)d payer(s) have no e-mail: please call them (%(names)s).",
                        n=len(result.no_email),
                        names="、".join(result.no_email[:20]),
                    ),
                    "warning",
                )
            return redirect(self.get_url(".index_view"))
        preview = preview_reminders(db.session, today=today, estate_ids=self._estates())
        return self.render("admin/reminder_send.html", preview=preview, form=form, today=today)
