"""Declarative base, column types and mixins shared by every domain module."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from sqlalchemy import BigInteger, DateTime, Enum, MetaData, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so we store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ScaledDecimal(TypeDecorator):
    """An exact decimal stored as a scaled integer (fen for money, 0.01 m² for area).

    Integers behave identically on SQLite and PostgreSQL, which NUMERIC does not.
    Values are rounded half-up to ``scale`` places on the way in.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("floats are not accepted for exact amounts")
        exact = Decimal(value).quantize(self._quantum, rounding=ROUND_HALF_UP)
        return int(exact.scaleb(self.scale))

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).scaleb(-self.scale).quantize(self._quantum)


class FieldCipher(Protocol):
    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, token: str) -> str: ...


_cipher: FieldCipher | None = None


def install_field_cipher(cipher: FieldCipher | None) -> None:
    """Called by the app factory: the keys live outside the database and outside models/."""
    global _cipher
    _cipher = cipher


def field_cipher() -> FieldCipher:
    if _cipher is None:
        raise RuntimeError("no field cipher installed; create the app first")
    return _cipher


class EncryptedText(TypeDecorator):
    """Authenticated encryption at rest (the installed cipher is a MultiFernet)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return field_cipher().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return field_cipher().decrypt(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), str: String(255)}

    # Models that must not produce audit rows themselves (the audit log, the outbox).
    __audited__ = True
    # Relationships that str(row) reads, loaded together when many rows are named.
    __label_loads__: tuple[str, ...] = ()

    def __repr__(self) -> str:
        ident = getattr(self, "id", None)
        return f"<{type(self).__name__} {ident}>"


def str_enum(cls: type[enum.Enum], name: str | None = None) -> Enum:
    """A portable enum column: VARCHAR plus CHECK, storing the member values. ``name``
    names the CHECK when a table has two columns of one enum."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def sensitive(**kwargs: Any) -> dict[str, Any]:
    """Column ``info`` marking a value that the audit log redacts."""
    return {"sensitive": True, **kwargs}
