"""The daily facilities digest (设施设备日报): for each estate with something to report —
a warranty ending within 30 days, maintenance due soon or overdue — one mail to each of
its admins, in their language, at most once per estate and day.

Who gets it: active accounts with an e-mail address that are staff of the estate and hold
``facilities.edit`` through a role. A superuser is mailed only for the estates they are
staff of: an operator who looks after every estate is not sent one mail per estate a day.

Once a day: the estate's (estate, today) row is claimed in ``FacilityDigest`` with
``INSERT … ON CONFLICT DO NOTHING`` in the transaction that queues the mails, so a second
run that day — or a run on another host at the same moment, which waits on the key and
then finds it taken — sends nothing more. "Today" is the estate's own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Estate, FacilityDigest, Role, RolePermission, StaffEstate, User, user_role

from ..mail import queue_mail
from .facilities import due_state, maintenance_due, warranties_ending, warranty_of
from .today import estate_todays

log = logging.getLogger(__name__)

DIGEST_PERMISSION = "facilities.edit"


@dataclass
class DigestResult:
    mails: int = 0  # mails queued now
    estates: list[str] = field(default_factory=list)  # estates whose digest went out now
    already: list[str] = field(default_factory=list)  # sent earlier today
    nobody: list[str] = field(default_factory=list)  # something to report, no one to mail


def recipients(session: Session, estate_ids) -> dict[int, list[User]]:
    """The admins to mail for each estate, by estate id (one query)."""
    holds = (
        select(user_role.c.user_id)
        .join(Role, Role.id == user_role.c.role_id)
        .join(RolePermission, RolePermission.role_id == Role.id)
        .where(RolePermission.permission == DIGEST_PERMISSION)
    )
    stmt = (
        select(StaffEstate.estate_id, User)
        .join(User, User.id == StaffEstate.user_id)
        .where(
            StaffEstate.estate_id.in_(list(estate_ids)),
            User.active.is_(True),
            User.email.is_not(None),
            User.email != "",
            or_(User.is_superuser.is_(True), User.id.in_(holds)),
        )
        .order_by(StaffEstate.estate_id, User.id)
    )
    found: dict[int, list[User]] = defaultdict(list)
    for estate_id, user in session.execute(stmt):
        found[estate_id].append(user)
    return found


def _claim(session: Session, rows: list[dict]) -> set[int]:
    """Insert the (estate, day) rows; the estate ids whose row went in."""
    dialect = session.get_bind().dialect.name
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:  # pragma: no cover — the app runs on these two
        raise RuntimeError(f"the digest needs INSERT … ON CONFLICT; {dialect} is not supported")
    statement = (
        module.insert(FacilityDigest)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["estate_id", "day"])
        .returning(FacilityDigest.estate_id)
    )
    return set(session.execute(statement).scalars())


def send_digest(session: Session, *, estate_ids=None, today: date | None = None) -> DigestResult:
    """Queue the day's digest for these estates (all when None). ``today`` overrides each
    estate's own date (the command's ``--date``). Flushes; the caller commits, and the
    outbox then delivers."""
    todays = estate_todays(session, None if estate_ids is None else set(estate_ids))
    if today is not None:
        todays = dict.fromkeys(todays, today)
    result = DigestResult()
    if not todays:
        return result
    warranties: dict[int, list] = defaultdict(list)
    for facility in warranties_ending(session, todays):
        warranties[facility.estate_id].append(facility)
    plans: dict[int, list] = defaultdict(list)
    for plan in maintenance_due(session, todays):
        plans[plan.facility.estate_id].append(plan)
    reporting = sorted(set(warranties) | set(plans))
    if not reporting:
        return result
    estates = {e.id: e for e in session.scalars(select(Estate).where(Estate.id.in_(reporting)))}
    admins = recipients(session, reporting)
    for estate_id in reporting:
        if not admins.get(estate_id):
            result.nobody.append(estates[estate_id].name)
    mailable = [e for e in reporting if admins.get(e)]
    rows = [{"estate_id": e, "day": todays[e]} for e in mailable]
    claimed = _claim(session, rows) if rows else set()
    for estate_id in mailable:
        estate = estates[estate_id]
        if estate_id not in claimed:
            result.already.append(estate.name)
            continue
        day = todays[estate_id]
        ending = [(f, warranty_of(f, day)) for f in warranties[estate_id]]
        due = [(p, *due_state(p, day)) for p in plans[estate_id]]
        for admin in admins[estate_id]:
            message = queue_mail(
                session,
                admin,
                "facility_digest",
                _l("%(estate)s: facilities to look after, %(day)s",
                   estate=estate.name, day=day.isoformat()),
                estate=estate,
                today=day,
                warranties=ending,
                plans=due,
            )
            if message is not None:
                result.mails += 1
        result.estates.append(estate.name)
    session.flush()
    log.info(
        "facilities digest: %d mails for %d estates, %d already sent today, %d without admins",
        result.mails, len(result.estates), len(result.already), len(result.nobody),
    )
    return result
