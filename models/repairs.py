"""Repair requests (报修) and their timeline, photos, response targets and staff skills.

A request moves submitted → assigned → in_progress → resolved → closed, with reopen and
cancel; every move is one call in ``propadmin/services/repairs.py`` and leaves a
``RepairEvent`` naming who, when and why.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .base import Base, EncryptedText, ScaledDecimal, TimestampMixin, sensitive, str_enum, utcnow
from .masks import keep_masked, mask_mobile, masked_default
from .property import Building, Estate, Unit
from .scope import EstateColumn, Through

if TYPE_CHECKING:
    from .accounts import User
    from .facilities import Facility
    from .residents import Resident


class RepairCategory(enum.StrEnum):
    plumbing = "plumbing"  # 水管、下水
    electrical = "electrical"
    door_window = "door_window"
    leak = "leak"  # 墙面、屋顶渗漏
    elevator = "elevator"
    public = "public"  # 公共设施
    gas = "gas"
    other = "other"


class RepairUrgency(enum.StrEnum):
    # Sorted descending by value, these read urgent, normal, low: the queue's order.
    low = "low"
    normal = "normal"
    urgent = "urgent"


class RepairStatus(enum.StrEnum):
    submitted = "submitted"
    assigned = "assigned"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"


OPEN_REPAIR_STATUSES = (RepairStatus.submitted, RepairStatus.assigned, RepairStatus.in_progress)


class RepairSource(enum.StrEnum):
    portal = "portal"  # the resident reported it themselves
    office = "office"  # staff logged it for a caller or a walk-in
    patrol = "patrol"  # staff found it on their rounds


class RepairPayer(enum.StrEnum):
    estate = "estate"
    resident = "resident"


class RepairRequest(TimestampMixin, Base):
    """One reported problem and everything done about it.

    ``respond_by`` and ``resolve_by`` are fixed when it is submitted, from the estate's
    targets for its urgency. Response is the first move to in progress. ``version`` goes
    up with every transition, so two people acting on the same page cannot both win."""

    __tablename__ = "repair_request"
    __estate_scope__ = EstateColumn()
    __table_args__ = (
        Index("ix_repair_queue", "estate_id", "status", "urgency", "submitted_at"),
        Index("ix_repair_assignee_status", "assignee_id", "status"),
        Index("ix_repair_estate_submitted", "estate_id", "submitted_at"),
    )
    __label_loads__ = ()

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("facility.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[RepairSource] = mapped_column(
        str_enum(RepairSource), default=RepairSource.portal
    )
    # The resident it is for (the reporter), and the account that typed it in.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    # Deferred and masked beside it, as a resident's numbers (see masks.py).
    contact_phone: Mapped[str | None] = mapped_column(
        EncryptedText(), deferred=True, info=sensitive()
    )
    contact_phone_masked: Mapped[str] = mapped_column(
        String(16), default=masked_default("contact_phone", mask_mobile)
    )
    location: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(2000))
    category: Mapped[RepairCategory] = mapped_column(
        str_enum(RepairCategory), default=RepairCategory.other
    )
    urgency: Mapped[RepairUrgency] = mapped_column(
        str_enum(RepairUrgency), default=RepairUrgency.normal
    )
    status: Mapped[RepairStatus] = mapped_column(
        str_enum(RepairStatus), default=RepairStatus.submitted
    )
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    respond_by: Mapped[datetime]
    resolve_by: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(default=0)

    # The result, recorded by the assignee when resolving.
    fixed: Mapped[bool | None]
    minutes_spent: Mapped[int | None]
    materials: Mapped[str] = mapped_column(String(500), default="")
    cost: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=Decimal("0.00"))
    paid_by: Mapped[RepairPayer] = mapped_column(str_enum(RepairPayer), default=RepairPayer.estate)
    under_warranty: Mapped[bool | None]

    rating: Mapped[int | None]
    rating_comment: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[datetime | None]

    version: Mapped[int] = mapped_column(default=1)

    estate: Mapped[Estate] = relationship()
    building: Mapped[Building | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    facility: Mapped[Facility | None] = relationship()
    reporter: Mapped[Resident | None] = relationship()
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    events: Mapped[list[RepairEvent]] = relationship(
        back_populates="repair", cascade="all, delete-orphan", order_by="RepairEvent.id"
    )
    photos: Mapped[list[RepairPhoto]] = relationship(
        back_populates="repair", cascade="all, delete-orphan", order_by="RepairPhoto.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REPAIR_STATUSES

    def __str__(self) -> str:
        return f"#{self.id} {self.location}"


keep_masked(RepairRequest, "contact_phone", "contact_phone_masked", mask_mobile)


class RepairEvent(Base):
    """One step on a request's timeline: who did what, when, with their note."""

    __tablename__ = "repair_event"
    __estate_scope__ = Through("repair")
    __audited__ = False  # the timeline is itself the record; the request's changes are audited

    id: Mapped[int] = mapped_column(primary_key=True)
    repair_id: Mapped[int] = mapped_column(
        ForeignKey("repair_request.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Kept as written, so the timeline still reads when the account is gone; "" = the system.
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(16))
    # Its own type name: two CHECK constraints named alike on one table fail on PostgreSQL.
    from_status: Mapped[RepairStatus | None] = mapped_column(
        str_enum(RepairStatus, name="repairstatus_from")
    )
    to_status: Mapped[RepairStatus | None] = mapped_column(str_enum(RepairStatus))
    note: Mapped[str] = mapped_column(String(500), default="")

    repair: Mapped[RepairRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class RepairPhoto(Base):
    """A photo attached to a request: re-encoded as JPEG with no metadata, so what is
    stored is only pixels. Served only to people who may see the request."""

    __tablename__ = "repair_photo"
    __estate_scope__ = Through("repair")
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    repair_id: Mapped[int] = mapped_column(
        ForeignKey("repair_request.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    content_type: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    repair: Mapped[RepairRequest] = relationship(back_populates="photos")


class RepairSlaPolicy(TimestampMixin, Base):
    """An estate's targets for one urgency: respond (start work) within, resolve within."""

    __tablename__ = "repair_sla_policy"
    __estate_scope__ = EstateColumn()
    __table_args__ = (UniqueConstraint("estate_id", "urgency"),)
    __label_loads__ = ("estate",)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    urgency: Mapped[RepairUrgency] = mapped_column(str_enum(RepairUrgency))
    respond_minutes: Mapped[int]
    resolve_minutes: Mapped[int]

    estate: Mapped[Estate] = relationship()

    def __str__(self) -> str:
        return f"{self.estate} · {self.urgency}"


class RepairSkill(Base):
    """A repair category a staff member handles; automatic assignment prefers them."""

    __tablename__ = "repair_skill"
    __estate_scope__ = Through("user")
    __table_args__ = (UniqueConstraint("user_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    category: Mapped[RepairCategory] = mapped_column(str_enum(RepairCategory))

    user: Mapped[User] = relationship()

    def __str__(self) -> str:
        return f"{self.user} · {self.category}"
