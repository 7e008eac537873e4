"""The audit log: append-only record of changes and sensitive reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, and_, cast, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Base, utcnow
from .scope import Custom, scope_of


def _audit_in_estates(estate_ids):
    """What happened in these estates, and the estate-less entries: those about an
    account (sign-ins, changes) when the account is of these estates — whoever made them,
    so a colleague who also works elsewhere does not carry another estate's accounts in —
    and other estate-less entries made by people of these estates."""
    people = scope_of(User).clause(User, estate_ids)
    about_an_account = AuditLog.entity == "User"
    return or_(
        AuditLog.estate_id.in_(estate_ids),
        and_(
            AuditLog.estate_id.is_(None),
            about_an_account,
            AuditLog.entity_id.in_(select(cast(User.id, String)).where(people)),
        ),
        and_(
            AuditLog.estate_id.is_(None),
            ~about_an_account,
            AuditLog.actor_id.in_(select(User.id).where(people)),
        ),
    )


class AuditLog(Base):
    __tablename__ = "audit_log"
    __audited__ = False
    __estate_scope__ = Custom(_audit_in_estates, lambda row: row.estate_id)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    # create | update | delete | read | login | logout | password
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(64), index=True)
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    # The estate the record belongs to, so estate staff see their estate's history.
    estate_id: Mapped[int | None] = mapped_column(index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")

    actor: Mapped[User | None] = relationship()
