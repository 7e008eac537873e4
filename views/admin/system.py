"""Admin screens for the audit log and the mail outbox (read-only records)."""

import json

from flask import flash
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from models import MailStatus
from propadmin.extensions import db
from propadmin.mail import requeue
from propadmin.permissions import can

from .base import ReadOnlyModelView, local_time


class AuditLogView(ReadOnlyModelView):
    """Readable by admins, editable by nobody."""

    permission_module = "audit"
    column_list = ("at", "actor_name", "action", "entity", "entity_id", "changes", "ip")
    column_default_sort = ("at", True)
    column_searchable_list = ("actor_name", "entity", "entity_id")
    column_filters = ("action", "entity", "actor_name")
    column_labels = {
        "at": _l("Time"),
        "actor_name": _l("By"),
        "action": _l("Action"),
        "entity": _l("Record type"),
        "entity_id": _l("Record"),
        "changes": _l("Changes"),
        "ip": _l("Address"),
    }
    column_formatters = {
        "at": local_time("at"),
        "changes": lambda v, c, m, n: Markup("<code class='small'>{}</code>").format(
            json.dumps(m.changes, ensure_ascii=False)[:400]
        ),
    }
    column_formatters_detail = column_formatters


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
