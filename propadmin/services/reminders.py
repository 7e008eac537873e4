"""Payment reminders (催缴): one mail per payer with overdue bills, never twice a day.

``send_reminders`` is called by ``flask bills remind`` and by the admin's button. The
payers and their overdue bills are read in a constant number of queries. Each payer's
reminder is claimed first, with ``INSERT … ON CONFLICT DO NOTHING`` on the unique
(payer, day) key, and only the payers whose claim went in get a mail: a second run on the
same day, or a run on a second host at the same moment, sends nothing more (the other
transaction waits on the key and then finds it taken). The mail is queued through the
outbox in the caller's transaction, in the payer's language.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from models import (
    OPEN_STATUSES,
    AdjustmentKind,
    Bill,
    BillAdjustment,
    BillReminder,
    Estate,
    LateFeePolicy,
    Resident,
)

from .. import audit
from ..mail import queue_mail
from .late_fees import assess_late_fees, late_fee_for

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
# Rows per INSERT statement: well inside SQLite's limit of bound parameters.
CHUNK = 500


@dataclass
class PayerDue:
    """A payer and what they owe past the due date."""

    payer: Resident
    bills: list[Bill]

    @property
    def total(self) -> Decimal:
        return sum((b.owed for b in self.bills), ZERO)

    @property
    def email(self) -> str:
        if self.payer.email:
            return self.payer.email
        user = self.payer.user
        return user.email if user is not None and user.email else ""


@dataclass
class ReminderResult:
    queued: int = 0  # mails queued now
    amount: Decimal = ZERO  # what those mails ask for, together
    already: int = 0  # payers already reminded today
    no_email: list[str] = field(default_factory=list)  # payers to call instead
    due: list[PayerDue] = field(default_factory=list)  # every payer with overdue bills


def _overdue_query(today: date, estate_ids):
    query = select(Bill).where(
        Bill.status.in_(OPEN_STATUSES),
        Bill.due_date < today,
        Bill.payer_id.is_not(None),
    )
    if estate_ids is not None:
        query = query.where(Bill.estate_id.in_(list(estate_ids)))
    return query


def payers_due(session: Session, *, today: date, estate_ids=None) -> list[PayerDue]:
    """Every payer with overdue bills in the estates (all when ``estate_ids`` is None),
    ordered by payer, with their bills: three queries whatever the number of payers."""
    bills = session.scalars(
        _overdue_query(today, estate_ids).order_by(Bill.payer_id, Bill.due_date, Bill.id)
    ).all()
    payer_ids = _overdue_query(today, estate_ids).with_only_columns(Bill.payer_id)
    payers = {
        p.id: p
        for p in session.scalars(
            select(Resident)
            .where(Resident.id.in_(payer_ids))
            .options(selectinload(Resident.user))
        )
    }
    grouped: dict[int, list[Bill]] = defaultdict(list)
    for bill in bills:
        if bill.is_overdue(today) and bill.owed > 0:
            grouped[bill.payer_id].append(bill)
    return [PayerDue(payers[pid], grouped[pid]) for pid in sorted(grouped) if pid in payers]


@dataclass
class ReminderPreview:
    payers: int  # would get a mail now
    amount: Decimal  # what those mails would ask for
    already: int  # reminded today already
    no_email: int  # have no e-mail address: call them


def preview_reminders(session: Session, *, today: date, estate_ids=None) -> ReminderPreview:
    """What ``send_reminders`` would do now, without doing it: the amount includes the
    late fees that sending assesses first (charged then, not here)."""
    due = payers_due(session, today=today, estate_ids=estate_ids)
    rises = _late_fee_rises(session, [b for d in due for b in d.bills], today, estate_ids)
    overdue_payers = _overdue_query(today, estate_ids).with_only_columns(Bill.payer_id)
    reminded = set(
        session.scalars(
            select(BillReminder.payer_id).where(
                BillReminder.sent_on == today, BillReminder.payer_id.in_(overdue_payers)
            )
        )
    )
    to_mail = [d for d in due if d.email and d.payer.id not in reminded]
    return ReminderPreview(
        payers=len(to_mail),
        amount=sum(
            (d.total + sum((rises.get(b.id, ZERO) for b in d.bills), ZERO) for d in to_mail),
            ZERO,
        ),
        already=sum(1 for d in due if d.email and d.payer.id in reminded),
        no_email=sum(1 for d in due if not d.email),
    )


def _late_fee_rises(
    session: Session, bills: list[Bill], today: date, estate_ids
) -> dict[int, Decimal]:
    """How much the late fee of each of these overdue bills goes up when
    ``assess_late_fees`` runs today, by bill id (as it works it out: the estate's policy,
    less late-fee waivers, never lowered); two queries whatever the number of bills."""
    if not bills:
        return {}
    overdue = _overdue_query(today, estate_ids)
    policies = {
        p.estate_id: p
        for p in session.scalars(
            select(LateFeePolicy).where(
                LateFeePolicy.estate_id.in_(overdue.with_only_columns(Bill.estate_id))
            )
        )
    }
    if not any(p.enabled for p in policies.values()):
        return {}
    waived = dict(
        session.execute(
            select(BillAdjustment.bill_id, func.sum(BillAdjustment.amount))
            .where(
                BillAdjustment.kind == AdjustmentKind.late_fee_waiver,
                BillAdjustment.bill_id.in_(overdue.with_only_columns(Bill.id)),
            )
            .group_by(BillAdjustment.bill_id)
        ).all()
    )
    rises = {}
    for bill in bills:
        fee = late_fee_for(bill, policies.get(bill.estate_id), today)
        fee = max(fee - (waived.get(bill.id) or ZERO), ZERO)
        if fee > bill.late_fee:
            rises[bill.id] = fee - bill.late_fee
    return rises


def _claim(session: Session, rows: list[dict]) -> set[int]:
    """Insert the day's reminder rows; return the payer ids whose row went in (the others
    were reminded today already, perhaps by another run at this very moment)."""
    dialect = session.get_bind().dialect.name
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:  # pragma: no cover — the app runs on these two
        raise RuntimeError(f"reminders need INSERT … ON CONFLICT; {dialect} is not supported")
    claimed: set[int] = set()
    for start in range(0, len(rows), CHUNK):
        statement = (
            module.insert(BillReminder)
            .values(rows[start : start + CHUNK])
            .on_conflict_do_nothing(index_elements=["payer_id", "sent_on"])
            .returning(BillReminder.payer_id)
        )
        claimed.update(session.execute(statement).scalars())
    return claimed


def send_reminders(
    session: Session, *, today: date, estate_ids=None, actor=None
) -> ReminderResult:
    """Queue one reminder mail per payer with overdue bills, at most one per day.

    Payers without an e-mail address are listed in the result (the office calls them);
    they are not marked as reminded. ``actor`` (who pressed the button) goes to the log;
    the audit entry takes the signed-in user or the CLI, as every change does. Flushes;
    the caller commits (and the outbox then delivers)."""
    estates = session.scalars(
        select(Estate).where(Estate.id.in_(list(estate_ids)))
        if estate_ids is not None
        else select(Estate)
    ).all()
    # Late fees first, so that the mail lists what is owed today (safe to run again).
    for estate in estates:
        assess_late_fees(session, estate.id, today)
    result = ReminderResult(due=payers_due(session, today=today, estate_ids=estate_ids))
    mailable = []
    for due in result.due:
        if due.email:
            mailable.append(due)
        else:
            result.no_email.append(due.payer.name)
    rows = [
        {
            "estate_id": due.payer.estate_id,
            "payer_id": due.payer.id,
            "sent_on": today,
            "bills": len(due.bills),
            "amount": due.total,
        }
        for due in mailable
    ]
    claimed = _claim(session, rows) if rows else set()
    result.already = len(mailable) - len(claimed)
    names = {e.id: e.name for e in estates}
    messages = {}
    for due in mailable:
        if due.payer.id not in claimed:
            continue
        estate = names.get(due.payer.estate_id, "")
        recipient = _recipient(due)
        message = queue_mail(
            session,
            recipient,
            "bill_reminder",
            _l("%(estate)s: bills to pay", estate=estate),
            locale=_locale(due.payer),
            payer=due.payer,
            bills=due.bills,
            total=due.total,
            estate=estate,
            today=today,
        )
        if message is not None:
            messages[due.payer.id] = message
            result.queued += 1
            result.amount += due.total
    session.flush()
    if messages:
        # Each day's row points at its mail (one statement for all of them).
        table = BillReminder.__table__
        session.execute(
            table.update()
            .where(table.c.payer_id == bindparam("p"), table.c.sent_on == bindparam("d"))
            .values(outbox_id=bindparam("m")),
            [{"p": pid, "d": today, "m": msg.id} for pid, msg in messages.items()],
        )
    for estate in estates:
        sent = [d for d in result.due if d.payer.id in messages and d.payer.estate_id == estate.id]
        if sent:
            # One entry per estate and run (the rows themselves are written in bulk); its
            # fields are the reminder list's own columns, so the audit page can name them.
            audit.record(
                session,
                "create",
                "BillReminder",
                estate_id=estate.id,
                sent_on=today,
                amount=sum((d.total for d in sent), ZERO),
            )
    log.info(
        "reminders by %s: %d queued, %d already reminded, %d without e-mail",
        getattr(actor, "username", "cli"),
        result.queued,
        result.already,
        len(result.no_email),
    )
    return result


def _recipient(due: PayerDue):
    """The payer's account when it has the address (so no lookup), else the address."""
    user = due.payer.user
    if user is not None and user.email and due.email.lower() == user.email.lower():
        return user
    return due.email


def _locale(payer: Resident) -> str | None:
    """The payer's account language; None lets the mail use the default (Chinese)."""
    user = payer.user
    return user.locale if user is not None and user.locale else None
