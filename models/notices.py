"""Notices (公告通知): what the office tells residents, whom it reaches, and who has read it.

A notice is written as a draft, then published at once or scheduled for a time
(``flask notices publish`` puts scheduled ones out), and may be withdrawn. Expiry is a
time, not a status: past it the notice leaves the portal and stays in the office's
history. Whom a notice reaches is worked out in one place,
``propadmin/services/notice_targets.py``; the rows here only say what was chosen.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, str_enum, utcnow
from .property import Building, Estate, Unit
from .scope import EstateColumn, Through

if TYPE_CHECKING:
    from .accounts import User
    from .residents import Resident


class NoticeCategory(enum.StrEnum):
    outage = "outage"  # 停水停电
    event = "event"  # 社区活动
    safety = "safety"  # 安全提示
    fees = "fees"  # 缴费通知
    general = "general"


class NoticePriority(enum.StrEnum):
    normal = "normal"
    important = "important"  # pinned on top
    urgent = "urgent"  # pinned on top, above important ones


PINNED_PRIORITIES = (NoticePriority.important, NoticePriority.urgent)


class NoticeStatus(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    published = "published"
    withdrawn = "withdrawn"


class NoticeReach(enum.StrEnum):
    """Which homes: the whole estate, chosen buildings, or chosen units."""

    estate = "estate"
    buildings = "buildings"
    units = "units"


class NoticeAudience(enum.StrEnum):
    """Who in those homes: everyone living there, the owners only, or the tenants only."""

    everyone = "everyone"
    owners = "owners"
    tenants = "tenants"


class MailingKind(enum.StrEnum):
    publish = "publish"  # the mail that went out with the notice
    resend = "resend"  # sent again to the recipients who had not read it


class Notice(TimestampMixin, Base):
    """One notice. ``body`` is HTML that has been through ``notice_html.clean`` on save,
    and goes through it again when shown. ``version`` goes up with every change of
    status, so a stale page cannot publish or withdraw over someone else's change."""

    __tablename__ = "notice"
    __estate_scope__ = EstateColumn()
    __table_args__ = (
        Index("ix_notice_estate_status", "estate_id", "status", "published_at"),
        Index("ix_notice_due", "status", "publish_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[NoticeCategory] = mapped_column(
        str_enum(NoticeCategory), default=NoticeCategory.general
    )
    priority: Mapped[NoticePriority] = mapped_column(
        str_enum(NoticePriority), default=NoticePriority.normal
    )
    status: Mapped[NoticeStatus] = mapped_column(str_enum(NoticeStatus), default=NoticeStatus.draft)
    reach: Mapped[NoticeReach] = mapped_column(str_enum(NoticeReach), default=NoticeReach.estate)
    audience: Mapped[NoticeAudience] = mapped_column(
        str_enum(NoticeAudience), default=NoticeAudience.everyone
    )
    send_mail: Mapped[bool] = mapped_column(default=False)

    # When it is to go out (scheduled), and when it did.
    publish_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]

    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    estate: Mapped[Estate] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    buildings: Mapped[list[NoticeBuilding]] = relationship(
        back_populates="notice", cascade="all, delete-orphan"
    )
    units: Mapped[list[NoticeUnit]] = relationship(
        back_populates="notice", cascade="all, delete-orphan"
    )
    mailings: Mapped[list[NoticeMailing]] = relationship(
        back_populates="notice", cascade="all, delete-orphan", order_by="NoticeMailing.id"
    )

    def __str__(self) -> str:
        return self.title

    @property
    def pinned(self) -> bool:
        return self.priority in PINNED_PRIORITIES


class NoticeBuilding(Base):
    """A building a notice with ``reach == buildings`` is for."""

    __tablename__ = "notice_building"
    __estate_scope__ = Through("notice")
    __table_args__ = (UniqueConstraint("notice_id", "building_id"),)
    __label_loads__ = ("notice", "building")

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)

    notice: Mapped[Notice] = relationship(back_populates="buildings")
    building: Mapped[Building] = relationship()

    def __str__(self) -> str:
        return f"{self.notice} · {self.building}"


class NoticeUnit(Base):
    """A unit a notice with ``reach == units`` is for."""

    __tablename__ = "notice_unit"
    __estate_scope__ = Through("notice")
    __table_args__ = (UniqueConstraint("notice_id", "unit_id"),)
    __label_loads__ = ("notice", "unit")

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)

    notice: Mapped[Notice] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()

    def __str__(self) -> str:
        return f"{self.notice} · {self.unit}"


class NoticeRead(Base):
    """A resident opened the notice in the portal (the first time counts)."""

    __tablename__ = "notice_read"
    __estate_scope__ = Through("notice")
    # One row per resident and notice, written on every first read: not audit material.
    __audited__ = False
    __table_args__ = (
        UniqueConstraint("notice_id", "resident_id"),
        Index("ix_notice_read_resident", "resident_id", "notice_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"))
    read_at: Mapped[datetime] = mapped_column(default=utcnow)

    notice: Mapped[Notice] = relationship()
    resident: Mapped[Resident] = relationship()


class NoticeMailing(Base):
    """One push of a notice by mail: with publishing, or again to the unread."""

    __tablename__ = "notice_mailing"
    __estate_scope__ = Through("notice")
    __label_loads__ = ("notice",)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MailingKind] = mapped_column(str_enum(MailingKind))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # How many mails were put in the outbox (one per address).
    recipients: Mapped[int] = mapped_column(default=0)

    notice: Mapped[Notice] = relationship(back_populates="mailings")
    queued_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.notice} · {self.kind.value}"
