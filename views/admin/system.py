"""Admin screens for the audit log and the mail outbox (read-only records)."""

from flask import flash, g, render_template, request
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from models import AuditLog, MailStatus
from propadmin.extensions import db
from propadmin.mail import requeue
from propadmin.permissions import can
from propadmin.services.audit_story import ACTIONS, RECORD_KINDS, Vocabulary, describe
from propadmin.services.dashboard import failed_mail

from .base import ReadOnlyModelView, local_time
from .worklist import Filter, Tile, register_tile


class AuditLogView(ReadOnlyModelView):
    """Readable by admins, editable by nobody; told as sentences (services/audit_story)."""

    permission_module = "audit"
    can_view_details = False
    column_display_actions = False
    column_list = ("at", "story", "ip")
    column_default_sort = ("at", True)
    column_sortable_list = ("at",)
    column_labels = {
        "at": _l("Time"),
        "story": _l("What happened"),
        "ip": _l("Address"),
        "actor_name": _l("By"),
        "action": _l("Kind"),
        "entity": _l("Record type"),
        "entity_id": _l("Record number"),
    }
    column_formatters = {
        "at": lambda v, c, m, n: v.stories()[m.id].when,
        # The template is autoescaped; its output is safe HTML.
        "story": lambda v, c, m, n: Markup(  # noqa: S704
            render_template("admin/_audit_story.html", story=v.stories()[m.id])
        ),
    }

    column_filters = (
        FilterLike(AuditLog.actor_name, _l("By (user name)")),
        FilterEqual(AuditLog.action, _l("Kind"), options=list(ACTIONS.items())),
        FilterEqual(
            AuditLog.entity,
            _l("Record type"),
            options=[(k, v) for k, v in RECORD_KINDS.items() if k not in ("StaffEstate",)],
        ),
        FilterEqual(AuditLog.entity_id, _l("Record number")),
    )

    def vocabulary(self) -> Vocabulary:
        """Record kinds, field and value labels as the other admin screens name them."""
        words = Vocabulary()
        for view in self.admin._views:
            model = getattr(view, "model", None)
            if model is None or model is AuditLog:
                continue
            entity = model.__name__
            # A record kind without a name of its own is called as its screen is.
            words.kinds.setdefault(entity, str(view.name))
            labels = words.fields.setdefault(entity, {})
            for name, label in (view.column_labels or {}).items():
                labels.setdefault(name, str(label))
            values = words.values.setdefault(entity, {})
            choices_of = {
                **(getattr(view, "column_choices", None) or {}),
                **(getattr(view, "form_choices", None) or {}),
            }
            for name, choices in choices_of.items():
                table = {str(k): str(label) for k, label in choices}
                values[name] = lambda value, table=table: table.get(str(value), value)
        words.fields.setdefault("Resident", {}).update(
            {"id_number": str(_l("ID-card number")), "mobile": str(_l("Mobile"))}
        )
        self._repair_vocabulary(words)
        self._notice_vocabulary(words)
        return words

    @staticmethod
    def _notice_vocabulary(words: Vocabulary) -> None:
        """Notices have pages of their own, not a model view: their words here."""
        from propadmin.services.notice_labels import JINJA_GLOBALS as L

        words.kinds.setdefault("Notice", str(_l("Notices")))
        labels = {
            "title": _l("Title"), "body": _l("What the notice says"),
            "category": _l("Category"), "priority": _l("Priority"), "status": _l("Status"),
            "reach": _l("Which homes"), "audience": _l("Who in them"),
            "send_mail": _l("Also send it by mail when it is published"),
            "publish_at": _l("Goes out at"), "published_at": _l("Published"),
            "expires_at": _l("Expires at"), "withdrawn_at": _l("Withdrawn"),
            "author": _l("Written by"), "published_by": _l("Published by"),
        }
        fields = words.fields.setdefault("Notice", {})
        for name, label in labels.items():
            fields.setdefault(name, str(label))
        values = words.values.setdefault("Notice", {})
        for name, helper in (("status", "notice_status"), ("category", "notice_category"),
                             ("priority", "notice_priority"), ("reach", "notice_reach"),
                             ("audience", "notice_audience")):
            values.setdefault(name, L[helper])

    @staticmethod
    def _repair_vocabulary(words: Vocabulary) -> None:
        """Repair requests have a page of their own, not a model view: their words here."""
        from propadmin.services.repair_labels import JINJA_GLOBALS as L

        labels = {
            "source": _l("Source"), "reporter": _l("Reported by"),
            "reported_by": _l("Logged by"), "contact_name": _l("Contact"),
            "contact_phone": _l("Contact phone"), "contact_phone_masked": _l("Contact phone"),
            "location": _l("Location"), "description": _l("Description"),
            "category": _l("Category"), "urgency": _l("Urgency"), "status": _l("Status"),
            "assignee": _l("Assignee"), "submitted_at": _l("Reported at"),
            "respond_by": _l("Respond by"), "resolve_by": _l("Resolve by"),
            "assigned_at": _l("Assigned at"), "started_at": _l("Started at"),
            "resolved_at": _l("Resolved at"), "closed_at": _l("Closed at"),
            "cancelled_at": _l("Cancelled at"), "escalated_at": _l("Escalated at"),
            "reopen_count": _l("Times reopened"), "fixed": _l("Repaired"),
            "minutes_spent": _l("Minutes spent"), "materials": _l("Materials and parts"),
            "cost": _l("Cost"), "paid_by": _l("Paid by"), "under_warranty": _l("Under warranty"),
            "rating": _l("Rating"), "rating_comment": _l("Comment"), "rated_at": _l("Rated at"),
        }
        fields = words.fields.setdefault("RepairRequest", {})
        for name, label in labels.items():
            fields.setdefault(name, str(label))
        values = words.values.setdefault("RepairRequest", {})
        for name, helper in (("status", "repair_status"), ("urgency", "repair_urgency"),
                             ("category", "repair_category"), ("source", "repair_source"),
                             ("paid_by", "repair_payer")):
            values.setdefault(name, L[helper])

    def stories(self):
        return g.get("audit_stories", {})

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True):
            g.audit_stories = describe(db.session, rows, self.vocabulary())
        return count, rows

    def _record_filter(self, query):
        """``?record=Resident:12``: the history of one record (linked from its page)."""
        entity, _sep, ident = request.args.get("record", "").partition(":")
        if entity and ident:
            query = query.filter(AuditLog.entity == entity, AuditLog.entity_id == ident)
        return query

    def get_query(self):
        return self._record_filter(super().get_query())

    def get_count_query(self):
        return self._record_filter(super().get_count_query())


class OutboxView(ReadOnlyModelView):
    """Mail waiting, sent or failed. Bodies are not shown: reset links are secrets."""

    permission_module = "mail"
    column_list = (
        "created_at",
        "recipient",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    column_details_list = column_list
    column_default_sort = ("id", True)
    column_searchable_list = ("recipient", "subject")
    column_filters = ("status", "kind")
    column_labels = {
        "created_at": _l("Queued"),
        "recipient": _l("To"),
        "subject": _l("Subject"),
        "status": _l("Status"),
        "attempts": _l("Attempts"),
        "next_attempt_at": _l("Next attempt"),
        "sent_at": _l("Sent"),
        "last_error": _l("Last error"),
        "kind": _l("Kind"),
    }
    STATUS_LABELS = {
        MailStatus.pending: _l("Waiting"),
        MailStatus.sending: _l("Sending"),
        MailStatus.sent: _l("Sent"),
        MailStatus.failed: _l("Failed"),
    }
    column_choices = {"status": [(s.value, label) for s, label in STATUS_LABELS.items()]}
    column_formatters = {
        "created_at": local_time("created_at"),
        "next_attempt_at": local_time("next_attempt_at"),
        "sent_at": local_time("sent_at"),
        "status": lambda v, c, m, n: OutboxView.STATUS_LABELS.get(m.status, m.status),
    }
    column_formatters_detail = column_formatters

    action_permission = "mail.edit"

    def is_action_allowed(self, name):
        return can("mail.edit") and super().is_action_allowed(name)

    @action("requeue", _l("Send again"), _l("Send the selected messages again?"))
    def action_requeue(self, ids):
        count = 0
        for message in self.scoped_rows(ids):
            if message.status in (MailStatus.failed, MailStatus.pending):
                requeue(db.session, message)
                count += 1
        db.session.commit()
        flash(_("%(n)d message(s) will be sent again.", n=count), "success")


register_tile(
    Tile(
        key="failed_mail",
        label=_l("Mail that could not be sent"),
        endpoint="outbox",
        count=failed_mail,
        filters=(Filter("status", "equals", MailStatus.failed.value),),
        urgent=True,
    )
)
