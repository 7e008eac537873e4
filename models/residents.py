"""People: residents, who lives where (occupancies), and their vehicles."""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, EncryptedText, TimestampMixin, sensitive, str_enum
from .masks import MASK_LENGTH, keep_masked, mask_id_number, mask_mobile, masked_default
from .property import Estate, Unit
from .scope import EstateColumn, Through

if TYPE_CHECKING:
    from .accounts import User


def _mask_column(source: str, mask) -> Mapped[str]:
    """The shown form of an encrypted number (see masks.py); the audit log records the
    change of the number itself."""
    return mapped_column(
        String(MASK_LENGTH),
        default=masked_default(source, mask),
        server_default="",
        info={"audited": False},
    )


def _encrypted() -> Mapped[str | None]:
    # Deferred: loading a resident reads (and decrypts) none of its numbers; only
    # code that reads the attribute itself (a reveal, a save) loads it.
    return mapped_column(EncryptedText(), deferred=True, info=sensitive())


class Resident(TimestampMixin, Base):
    """A person on the estate register. ID-card and mobile numbers are encrypted at rest
    and never loaded with the row; the ``*_index`` columns hold keyed HMACs for exact
    lookup and uniqueness, the ``*_masked`` columns what the pages show."""

    __tablename__ = "resident"
    __estate_scope__ = EstateColumn()
    __table_args__ = (
        UniqueConstraint("estate_id", "id_number_index"),
        # The search box (services/resident_search.py): a name from its start on
        # PostgreSQL (LIKE 'prefix%' under any collation); a full ID-card number in
        # every estate.
        Index(
            "ix_resident_estate_name_prefix",
            "estate_id",
            "name",
            postgresql_ops={"name": "text_pattern_ops"},
        ),
        Index("ix_resident_id_number_index", "id_number_index"),
        Index("ix_resident_estate_name", "estate_id", "name", "id"),  # the list's order
        Index("ix_resident_name_id", "name", "id"),  # the list of every estate (superusers)
        # Every request of an account finds its resident record by user_id; most residents
        # have none, and SQLite, counting the NULLs, would rather scan the table.
        Index(
            "ix_resident_user_id",
            "user_id",
            sqlite_where=text("user_id IS NOT NULL"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    id_number: Mapped[str | None] = _encrypted()
    id_number_index: Mapped[str | None] = mapped_column(String(64), info=sensitive())
    id_number_masked: Mapped[str] = _mask_column("id_number", mask_id_number)
    mobile: Mapped[str | None] = _encrypted()
    mobile_index: Mapped[str | None] = mapped_column(String(64), index=True, info=sensitive())
    mobile_masked: Mapped[str] = _mask_column("mobile", mask_mobile)
    email: Mapped[str] = mapped_column(String(254), default="")
    emergency_contact: Mapped[str] = mapped_column(String(64), default="")
    emergency_phone: Mapped[str | None] = _encrypted()
    emergency_phone_masked: Mapped[str] = _mask_column("emergency_phone", mask_mobile)
    notes: Mapped[str] = mapped_column(String(500), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)

    estate: Mapped[Estate] = relationship()
    user: Mapped[User | None] = relationship(back_populates="resident")
    occupancies: Mapped[list[Occupancy]] = relationship(
        back_populates="resident", cascade="all, delete-orphan"
    )
    vehicles: Mapped[list[Vehicle]] = relationship(back_populates="owner")

    def __str__(self) -> str:
        return self.name


keep_masked(Resident, "id_number", "id_number_masked", mask_id_number)
keep_masked(Resident, "mobile", "mobile_masked", mask_mobile)
keep_masked(Resident, "emergency_phone", "emergency_phone_masked", mask_mobile)


class Relation(enum.StrEnum):
    owner = "owner"
    tenant = "tenant"
    family = "family"


class Occupancy(TimestampMixin, Base):
    """A resident's tie to a unit: owner (from purchase), tenant (lease) or family member."""

    __tablename__ = "occupancy"
    __estate_scope__ = Through("unit")
    __label_loads__ = ("resident", "unit")
    __table_args__ = (
        # The dashboard: occupied units (a current occupancy per unit), leases ending soon.
        Index("ix_occupancy_unit_dates", "unit_id", "start_date", "end_date"),
        Index("ix_occupancy_end_date", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    relation: Mapped[Relation] = mapped_column(str_enum(Relation))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    is_payer: Mapped[bool] = mapped_column(default=False)
    # Set by the payer: the rest of the household may see the unit's bills in the portal.
    shares_bills: Mapped[bool] = mapped_column(default=False)

    unit: Mapped[Unit] = relationship(back_populates="occupancies")
    resident: Mapped[Resident] = relationship(back_populates="occupancies")

    def __str__(self) -> str:
        return f"{self.resident} · {self.unit}"

    @property
    def is_current(self) -> bool:
        today = date.today()
        return (self.start_date is None or self.start_date <= today) and (
            self.end_date is None or self.end_date >= today
        )


class Vehicle(TimestampMixin, Base):
    __tablename__ = "vehicle"
    __estate_scope__ = EstateColumn()
    __table_args__ = (UniqueConstraint("estate_id", "plate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16))
    brand: Mapped[str] = mapped_column(String(32), default="")
    colour: Mapped[str] = mapped_column(String(16), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)

    estate: Mapped[Estate] = relationship()
    owner: Mapped[Resident | None] = relationship(back_populates="vehicles")

    def __str__(self) -> str:
        return self.plate
