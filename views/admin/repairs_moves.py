"""The moves of a repair request from its staff page: read the posted form, call the one
service function, and say what happened. Input that cannot be read is a RepairError on
its field, like the service's own refusals."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from models import RepairPayer, RepairRequest, User
from propadmin.permissions import can
from propadmin.services import ServiceError
from propadmin.services import repairs as flow
from propadmin.services.money import parse_amount
from propadmin.services.repair_queue import workers_for
from propadmin.services.repairs import RepairError, RepairResult

# What each move's button says, and whether it asks for a reason.
MOVE_FORMS = {
    "start": {"button": _l("Start work"), "note": _l("Note (optional)"), "reason": False},
    "close": {"button": _l("Close the job"), "note": _l("Note (optional)"), "reason": False},
    "reopen": {"button": _l("Reopen"), "note": _l("Why it is reopened"), "reason": True},
    "cancel": {"button": _l("Cancel the request"), "note": _l("Why it is cancelled"),
               "reason": True},
}
DONE = {
    "assign": _l("The job was given to %(name)s."),
    "start": _l("Work has started."),
    "resolve": _l("The result was recorded."),
    "close": _l("The job is closed."),
    "reopen": _l("The job was reopened."),
    "cancel": _l("The request was cancelled."),
}


def _minutes(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 6:
        raise RepairError({"minutes_spent": _("Give the time spent in minutes, 0 to 100000.")})
    return int(text)


def _cost(text: str) -> Decimal:
    text = (text or "").strip()
    if not text:
        return Decimal("0.00")
    try:
        return parse_amount(text[:32], "cost", allow_zero=True)
    except ServiceError as exc:
        raise RepairError({"cost": exc.message}) from None


def read_result(form) -> RepairResult:
    errors = {}
    fixed = form.get("fixed", "")
    if fixed not in ("yes", "no"):  # no default: one tap must not record a fix
        errors["fixed"] = _("Say whether it is fixed.")
    paid_by = form.get("paid_by", RepairPayer.estate.value)
    if paid_by not in RepairPayer.__members__:
        errors["paid_by"] = _("Choose who pays.")
    values = {}
    for name, reader in (("minutes_spent", _minutes), ("cost", _cost)):
        try:
            values[name] = reader(form.get(name, ""))
        except RepairError as exc:
            errors.update(exc.errors)
    if errors:
        raise RepairError(errors)
    return RepairResult(
        fixed=fixed == "yes",
        minutes_spent=values["minutes_spent"],
        materials=form.get("materials", "")[:2000],
        cost=values["cost"],
        paid_by=RepairPayer(paid_by),
        note=form.get("note", "")[:2000],
    )


def _assignee(session: Session, repair: RepairRequest, form, user: User) -> User:
    raw = (form.get("assignee") or "").strip()
    if not can("repairs.assign"):
        raw = raw or str(user.id)  # taking the job oneself
    workers = {str(w.id): w for w in workers_for(session, user, repair.estate_id)}
    if raw == str(user.id) and raw not in workers and flow.may_work(user, repair.estate_id):
        workers[raw] = user
    if raw not in workers:
        raise RepairError({"assignee": _("Choose one of the repair staff of this estate.")})
    return workers[raw]


def run_move(session, repair, action, form, user, version, *, auto_assign=None) -> str:
    """Make the move; the message to show. Raises RepairError."""
    note = form.get("note", "")[:2000]
    kwargs = {"by": user, "expected_version": version}
    if action == "assign":
        worker = _assignee(session, repair, form, user)
        flow.assign(session, repair, worker, note=note, **kwargs)
        return str(DONE["assign"]) % {"name": worker.display_name or worker.username}
    if action == "auto_assign":
        if auto_assign is None or not can("repairs.assign"):
            raise RepairError(_("Automatic assignment is not available."))
        worker = auto_assign(session, repair, by=user, expected_version=version)
        if worker is None:
            raise RepairError({"assignee": _("No repair staff member is free for this job.")})
        name = getattr(worker, "display_name", "") or getattr(worker, "username", "")
        return str(DONE["assign"]) % {"name": name}
    if action == "resolve":
        flow.resolve(session, repair, read_result(form), **kwargs)
        return str(DONE["resolve"])
    if action in MOVE_FORMS:
        getattr(flow, action)(session, repair, note=note, **kwargs)
        return str(DONE[action])
    raise RepairError(_("There is no such step."))
