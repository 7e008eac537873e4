"""Accounts: users, roles as data, permissions per role, staff estate memberships."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, sensitive, str_enum, utcnow
from .scope import Custom, EstateColumn, Through

if TYPE_CHECKING:
    from .property import Estate
    from .residents import Resident

user_role = Table(
    "user_role",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)


# Stored until a real hash is set: no password ever hashes to it.
UNUSABLE_PASSWORD = "!"  # noqa: S105


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class Role(Base):
    """A named set of permissions. Built-in roles and roles without an estate are shared
    by every estate (and changed by superusers only); a custom role made by an estate's
    administrator belongs to that estate."""

    __tablename__ = "role"
    __estate_scope__ = EstateColumn(shared_when_null=True)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(255), default="")
    builtin: Mapped[bool] = mapped_column(default=False)
    estate_id: Mapped[int | None] = mapped_column(
        ForeignKey("estate.id", ondelete="CASCADE"), index=True
    )

    estate: Mapped[Estate | None] = relationship()
    grants: Mapped[list[RolePermission]] = relationship(
        back_populates="role", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def permissions(self) -> set[str]:
        return {g.permission for g in self.grants}

    @permissions.setter
    def permissions(self, names) -> None:
        self.set_permissions(set(names or ()))

    def set_permissions(self, names: set[str]) -> None:
        keep = [g for g in self.grants if g.permission in names]
        have = {g.permission for g in keep}
        self.grants = keep + [RolePermission(permission=n) for n in sorted(names - have)]

    def __str__(self) -> str:
        return self.label or self.name


class RolePermission(Base):
    __tablename__ = "role_permission"
    __estate_scope__ = Through("role")
    __table_args__ = (UniqueConstraint("role_id", "permission"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"))
    permission: Mapped[str] = mapped_column(String(64))

    role: Mapped[Role] = relationship(back_populates="grants")


def _users_in_estates(estate_ids):
    """Staff of these estates, and residents registered in them."""
    from .residents import Resident

    return or_(
        User.id.in_(select(StaffEstate.user_id).where(StaffEstate.estate_id.in_(estate_ids))),
        User.id.in_(select(Resident.user_id).where(Resident.estate_id.in_(estate_ids))),
    )


class User(Base):
    __tablename__ = "user"
    # An account belongs to every estate its holder works or lives in: no single one.
    __estate_scope__ = Custom(_users_in_estates)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # Most residents have no e-mail: NULL then (never ""), so the unique constraint
    # holds for real addresses only (NULLs are distinct on SQLite and PostgreSQL).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255), info=sensitive())
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Rotated on logout and password change: every session carrying the old one ends.
    session_token: Mapped[str] = mapped_column(
        String(64), default=new_session_token, info=sensitive()
    )
    active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str | None] = mapped_column(String(16))
    # Sign-ins have audit entries of their own; this stamp alone is not a change.
    last_login_at: Mapped[datetime | None] = mapped_column(info={"audited": False})
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[Role]] = relationship(secondary=user_role, lazy="selectin")
    memberships: Mapped[list[StaffEstate]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    resident: Mapped[Resident | None] = relationship(back_populates="user")

    @property
    def estate_ids(self) -> set[int]:
        return {m.estate_id for m in self.memberships}

    @property
    def role_names(self) -> set[str]:
        return {r.name for r in self.roles}

    def __str__(self) -> str:
        return self.display_name or self.username


class AccessPurpose(enum.StrEnum):
    activate = "activate"  # the first password of an invited account
    reset = "reset"  # a new password, issued by the office


class AccessCode(Base):
    """A one-time secret that lets a person set their password: a short code the office
    hands over in person, or a long token mailed as a link. Only a keyed hash is stored;
    it expires, and using it (or issuing a newer one) ends it."""

    __tablename__ = "access_code"
    # The account's estates: staff see the codes of accounts they can see.
    __estate_scope__ = Through("user")
    # Issuing and using a code are audited as events; the hash is nobody's business.
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[AccessPurpose] = mapped_column(str_enum(AccessPurpose))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True, info=sensitive())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class StaffEstate(Base):
    """A staff member works for an estate; their admin screens show only those estates' rows."""

    __tablename__ = "staff_estate"
    __estate_scope__ = EstateColumn()
    __table_args__ = (UniqueConstraint("user_id", "estate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship(back_populates="memberships")
    estate: Mapped[Estate] = relationship()


# Flask-Login reads these by duck typing; models/ stays free of web imports.
def _user_get_id(self: User) -> str:
    """The session carries id and the current session token, so rotating the token
    (logout, password change) ends every session of this user."""
    return f"{self.id}:{self.session_token}"


User.get_id = _user_get_id  # type: ignore[attr-defined]
User.is_authenticated = True  # type: ignore[attr-defined]
User.is_anonymous = False  # type: ignore[attr-defined]
User.is_active = property(lambda self: self.active)  # type: ignore[attr-defined]
