"""Places: estates, buildings, units and parking spaces."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, ScaledDecimal, TimestampMixin

if TYPE_CHECKING:
    from .residents import Occupancy, Resident


def str_enum(cls: type[enum.Enum]) -> Enum:
    """A portable enum column: VARCHAR plus CHECK, storing the member values."""
    return Enum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Estate(TimestampMixin, Base):
    __tablename__ = "estate"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")

    buildings: Mapped[list[Building]] = relationship(
        back_populates="estate", order_by="Building.name"
    )

    @classmethod
    def in_estates(cls, estate_ids):
        return cls.id.in_(estate_ids)

    @property
    def audit_estate_id(self) -> int | None:
        return self.id

    def __str__(self) -> str:
        return self.name


class Building(TimestampMixin, Base):
    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("estate_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    floors: Mapped[int | None]

    estate: Mapped[Estate] = relationship(back_populates="buildings")
    units: Mapped[list[Unit]] = relationship(back_populates="building", order_by="Unit.number")

    @classmethod
    def in_estates(cls, estate_ids):
        return cls.estate_id.in_(estate_ids)

    def __str__(self) -> str:
        return self.name


def unit_label(building_name: str, number: str) -> str:
    """The office's way of naming a unit: building-number, e.g. ``1-1201``."""
    return f"{building_name.removesuffix('栋')}-{number}"


class UnitUse(enum.StrEnum):
    residential = "residential"
    commercial = "commercial"
    parking = "parking"


class Unit(TimestampMixin, Base):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("building_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    number: Mapped[str] = mapped_column(String(16))
    floor: Mapped[int | None]
    area: Mapped[Decimal] = mapped_column(ScaledDecimal(2), info={"unit": "m²"})
    layout: Mapped[str] = mapped_column(String(32), default="")
    use: Mapped[UnitUse] = mapped_column(str_enum(UnitUse), default=UnitUse.residential)

    building: Mapped[Building] = relationship(back_populates="units", lazy="joined")
    occupancies: Mapped[list[Occupancy]] = relationship(back_populates="unit")

    @classmethod
    def in_estates_subquery(cls, estate_ids):
        return (
            select(cls.id)
            .join(Building, Building.id == cls.building_id)
            .where(Building.estate_id.in_(estate_ids))
        )

    @classmethod
    def in_estates(cls, estate_ids):
        return cls.building_id.in_(select(Building.id).where(Building.estate_id.in_(estate_ids)))

    @property
    def audit_estate_id(self) -> int | None:
        return self.building.estate_id if self.building else None

    @property
    def label(self) -> str:
        return unit_label(self.building.name, self.number)

    def __str__(self) -> str:
        return self.label


class ParkingKind(enum.StrEnum):
    owned = "owned"
    rented = "rented"


class ParkingSpace(TimestampMixin, Base):
    __tablename__ = "parking_space"
    __table_args__ = (UniqueConstraint("estate_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[ParkingKind] = mapped_column(str_enum(ParkingKind), default=ParkingKind.rented)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    rented_until: Mapped[datetime | None]

    estate: Mapped[Estate] = relationship()
    unit: Mapped[Unit | None] = relationship()
    resident: Mapped[Resident | None] = relationship()

    @classmethod
    def in_estates(cls, estate_ids):
        return cls.estate_id.in_(estate_ids)

    def __str__(self) -> str:
        return self.code
