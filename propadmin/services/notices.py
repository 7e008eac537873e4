"""Writing, publishing, scheduling and withdrawing notices, and reading them.

draft → published (at once) or scheduled (``flask notices publish`` puts it out at its
time) → withdrawn; a scheduled or withdrawn notice can go back to draft. Each change of
status is one conditional UPDATE on the status and version the page showed, so a stale
page, a second person or a second host loses with a message, and a notice is published
exactly once. Publishing with "send by mail" queues the mails in the same transaction
(``notice_mail.push``). Functions flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models import (
    Building,
    Estate,
    MailingKind,
    Notice,
    NoticeAudience,
    NoticeBuilding,
    NoticeCategory,
    NoticePriority,
    NoticeReach,
    NoticeRead,
    NoticeStatus,
    NoticeUnit,
    Resident,
    Unit,
    User,
    utcnow,
)

from . import ServiceError
from .fields import text_problem
from .notice_html import MAX_BODY, clean, text


class NoticeError(ServiceError):
    """Input or a change the rules refuse; ``errors`` maps form field → message."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        if isinstance(errors, str):
            errors = {"": errors}
        name, message = next(iter(errors.items()))
        super().__init__(message, field=name or None)
        self.errors = errors


# status change → (the statuses it starts from, the status it ends in)
MOVES: dict[str, tuple[tuple[NoticeStatus, ...], NoticeStatus]] = {
    "publish": ((NoticeStatus.draft, NoticeStatus.scheduled), NoticeStatus.published),
    "schedule": ((NoticeStatus.draft, NoticeStatus.scheduled), NoticeStatus.scheduled),
    "withdraw": ((NoticeStatus.scheduled, NoticeStatus.published), NoticeStatus.withdrawn),
    "redraft": ((NoticeStatus.scheduled, NoticeStatus.withdrawn), NoticeStatus.draft),
}


def allowed_moves(notice: Notice) -> list[str]:
    return [name for name, (sources, _target) in MOVES.items() if notice.status in sources]


@dataclass
class NoticeDraft:
    """What the editor typed. ``building_ids`` / ``unit_ids`` count only for their reach."""

    title: str
    body: str
    category: NoticeCategory = NoticeCategory.general
    priority: NoticePriority = NoticePriority.normal
    reach: NoticeReach = NoticeReach.estate
    audience: NoticeAudience = NoticeAudience.everyone
    building_ids: list[int] = field(default_factory=list)
    unit_ids: list[int] = field(default_factory=list)
    publish_at: datetime | None = None
    expires_at: datetime | None = None
    send_mail: bool = False


def _targets(session: Session, estate_id: int, draft: NoticeDraft, errors: dict) -> tuple:
    """The chosen buildings and units, each checked to be in the notice's estate."""
    buildings: list[Building] = []
    units: list[Unit] = []
    if draft.reach is NoticeReach.buildings:
        wanted = set(draft.building_ids)
        buildings = (
            list(
                session.scalars(
                    select(Building).where(Building.id.in_(wanted), Building.estate_id == estate_id)
                )
            )
            if wanted
            else []
        )
        if not wanted:
            errors["building_ids"] = _("Choose at least one building.")
        elif len(buildings) != len(wanted):
            errors["building_ids"] = _("Choose buildings of this estate only.")
    elif draft.reach is NoticeReach.units:
        wanted = set(draft.unit_ids)
        units = (
            list(
                session.scalars(
                    select(Unit)
                    .join(Building)
                    .where(Unit.id.in_(wanted), Building.estate_id == estate_id)
                )
            )
            if wanted
            else []
        )
        if not wanted:
            errors["unit_ids"] = _("Choose at least one unit.")
        elif len(units) != len(wanted):
            errors["unit_ids"] = _("Choose units of this estate only.")
    return buildings, units


def _check(draft: NoticeDraft, body: str, now: datetime, errors: dict, notice) -> None:
    title = " ".join((draft.title or "").split())
    if not title:
        errors["title"] = _("Give the notice a title.")
    elif problem := text_problem(Notice.__table__.c.title, title):
        errors["title"] = problem
    if not text(body) and "<img src=" not in body:  # a picture alone is a notice too
        errors["body"] = _("Write what the notice says.")
    elif len(body) > MAX_BODY:
        errors["body"] = _(
            "The notice is too long: at most %(n)d characters of text and markup.", n=MAX_BODY
        )
    status = notice.status if notice is not None else NoticeStatus.draft
    if status in (NoticeStatus.draft, NoticeStatus.scheduled):
        if draft.publish_at is not None and draft.publish_at <= now:
            errors["publish_at"] = _("Choose a time in the future, or publish now.")
        elif draft.publish_at is None and status is NoticeStatus.scheduled:
            errors["publish_at"] = _(
                "A scheduled notice needs its time; to hold it back, put it back to draft."
            )
        start = draft.publish_at or now
    else:  # out already: its time is history, and the expiry counts from now
        start = now
    if draft.expires_at is not None and draft.expires_at <= start:
        errors["expires_at"] = _("The expiry must come after the notice goes out.")


def _take_version(session: Session, notice: Notice, expected_version: int | None, now) -> None:
    """Move the notice's version on, if it is still the one the page showed: a change made
    from a stale page (or the same form sent twice) is refused instead of applied over
    someone else's."""
    version = notice.version if expected_version is None else expected_version
    result = session.execute(
        update(Notice)
        .where(Notice.id == notice.id, Notice.version == version)
        .values(version=Notice.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(notice)
    if result.rowcount != 1:
        raise NoticeError(_("Someone else changed this notice a moment ago; look at it again."))


def save(
    session: Session,
    draft: NoticeDraft,
    *,
    by: User,
    estate: Estate | None = None,
    notice: Notice | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Notice:
    """Create a draft in ``estate``, or change ``notice`` (in any status: a published
    notice can be corrected). Raises NoticeError with every problem at once."""
    now = now or utcnow()
    if notice is None and estate is None:
        raise ValueError("save() needs an estate for a new notice")
    if notice is not None:
        _take_version(session, notice, expected_version, now)
    estate_id = notice.estate_id if notice is not None else estate.id
    body = clean(draft.body)
    errors: dict[str, str] = {}
    _check(draft, body, now, errors, notice)
    buildings, units = _targets(session, estate_id, draft, errors)
    if errors:
        raise NoticeError(errors)
    if notice is None:
        notice = Notice(estate_id=estate_id, author_id=by.id)
        session.add(notice)
    notice.title = " ".join(draft.title.split())
    notice.body = body
    notice.category, notice.priority = draft.category, draft.priority
    notice.reach, notice.audience = draft.reach, draft.audience
    if notice.status in (NoticeStatus.draft, NoticeStatus.scheduled):
        notice.publish_at = draft.publish_at
    notice.expires_at = draft.expires_at
    notice.send_mail = draft.send_mail
    keep_b = {b.id for b in buildings}
    keep_u = {u.id for u in units}
    notice.buildings = [nb for nb in notice.buildings if nb.building_id in keep_b] + [
        NoticeBuilding(building=b)
        for b in buildings
        if b.id not in {nb.building_id for nb in notice.buildings}
    ]
    notice.units = [nu for nu in notice.units if nu.unit_id in keep_u] + [
        NoticeUnit(unit=u) for u in units if u.id not in {nu.unit_id for nu in notice.units}
    ]
    session.flush()
    return notice


def _move(session, notice, action, *, by, now, expected_version, **values) -> None:
    sources, target = MOVES[action]
    if notice.status not in sources:
        raise NoticeError(_("This notice cannot be changed that way now."))
    version = notice.version if expected_version is None else expected_version
    result = session.execute(
        update(Notice)
        .where(Notice.id == notice.id, Notice.version == version, Notice.status.in_(sources))
        .values(status=target, version=Notice.version + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(notice)
        raise NoticeError(_("Someone else changed this notice a moment ago; look at it again."))
    session.refresh(notice)


def publish(session, notice, *, by: User | None, now=None, expected_version=None) -> int:
    """Put the notice out now; with ``send_mail``, queue its mails in this transaction.
    Returns how many mails were queued."""
    from .notice_mail import push

    now = now or utcnow()
    if notice.expires_at is not None and notice.expires_at <= now:
        raise NoticeError({"expires_at": _("The expiry has passed; change it first.")})
    _move(
        session,
        notice,
        "publish",
        by=by,
        now=now,
        expected_version=expected_version,
        published_at=now,
        published_by_id=by.id if by else None,
        withdrawn_at=None,
    )
    if notice.send_mail:
        return push(session, notice, MailingKind.publish, by=by, now=now)
    return 0


def schedule(session, notice, at: datetime, *, by: User, now=None, expected_version=None):
    """Have ``flask notices publish`` put the notice out at ``at`` (a future time)."""
    now = now or utcnow()
    if at <= now:
        raise NoticeError({"publish_at": _("Choose a time in the future, or publish now.")})
    if notice.expires_at is not None and notice.expires_at <= at:
        raise NoticeError({"expires_at": _("The expiry must come after the notice goes out.")})
    _move(
        session,
        notice,
        "schedule",
        by=by,
        now=now,
        expected_version=expected_version,
        publish_at=at,
    )


def withdraw(session, notice, *, by: User, now=None, expected_version=None) -> None:
    """Take the notice off the portal (it stays in the office's history)."""
    now = now or utcnow()
    _move(
        session,
        notice,
        "withdraw",
        by=by,
        now=now,
        expected_version=expected_version,
        withdrawn_at=now,
    )


def redraft(session, notice, *, by: User, now=None, expected_version=None) -> None:
    """Back to a draft: a scheduled notice that should not go out yet, or a withdrawn one
    to correct and publish again."""
    _move(session, notice, "redraft", by=by, now=now or utcnow(), expected_version=expected_version)


def due_ids(session: Session, *, now: datetime) -> list[int]:
    """The scheduled notices whose time has come, oldest first. One whose expiry passed
    before its time is left out: it could never be published (it stays scheduled in the
    office's history, where it can be redrafted)."""
    return list(
        session.scalars(
            select(Notice.id)
            .where(
                Notice.status == NoticeStatus.scheduled,
                Notice.publish_at <= now,
                or_(Notice.expires_at.is_(None), Notice.expires_at > now),
            )
            .order_by(Notice.publish_at, Notice.id)
        )
    )


def publish_due(session: Session, *, now: datetime | None = None) -> list[Notice]:
    """Publish every scheduled notice whose time has come. Each is claimed by its own
    conditional UPDATE, so two runs at once (two hosts) publish each exactly once; the
    mails go into the outbox in the same transaction as the claim. (``flask notices
    publish`` does the same one notice per transaction: ``publish_one_due``.)"""
    now = now or utcnow()
    done = []
    for notice_id in due_ids(session, now=now):
        published = publish_one_due(session, notice_id, now=now)
        if published is not None:
            done.append(published[0])
    return done


def publish_one_due(
    session: Session, notice_id: int, *, now: datetime
) -> tuple[Notice, int] | None:
    """Publish the scheduled notice ``notice_id`` and queue its mails: (the notice, how
    many mails). None when another run published it first, or it was redrafted or
    withdrawn meanwhile."""
    notice = session.get(Notice, notice_id, populate_existing=True)
    if notice is None or notice.status is not NoticeStatus.scheduled:
        return None
    try:
        mails = publish(session, notice, by=None, now=now)
    except NoticeError:
        return None  # another run took it between the look and the claim
    return notice, mails


def mark_read(session: Session, notice: Notice, resident: Resident, now=None) -> bool:
    """Record that ``resident`` opened ``notice``; the first time only. True if new."""
    values = {"notice_id": notice.id, "resident_id": resident.id, "read_at": now or utcnow()}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    written = session.scalar(
        insert(NoticeRead)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["notice_id", "resident_id"])
        .returning(NoticeRead.id)
    )
    return written is not None
