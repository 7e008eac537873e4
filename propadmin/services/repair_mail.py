"""Mail about repair jobs, through the outbox: the assignee is told of a new job."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from models import RepairRequest

from ..mail import queue_mail


def notify_assignee(session: Session, repair: RepairRequest):
    """One mail to the person the job was just given to (none without an address)."""
    assignee = repair.assignee
    if assignee is None:
        return None
    return queue_mail(
        session,
        assignee,
        "repair_assigned",
        _l("Repair job #%(id)d: %(location)s", id=repair.id, location=repair.location),
        repair=repair,
    )
