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
    """What happened in these estates, and the estate-less entries (sign-ins, accounts,
    roles) made by or about people of these estates."""
    people = scope_of(User).clause(User, estate_ids)
    return or_(
        AuditLog.estate_id.in_(estate_ids),
        and_(
            AuditLog.estate_id.is_(None),
            or_(
                AuditLog.actor_id.in_(select(User.id).where(people)),
                and_(
                    AuditLog.entity == "User",
                    AuditLog.entity_id.in_(select(cast(User.id, String)).where(people)),
                ),
            ),
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
