"""Places: estates, buildings, units and parking spaces."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, ScaledDecimal, TimestampMixin, str_enum
from .scope import EstateColumn, Through

if TYPE_CHECKING:
    from .residents import Occupancy, Resident


class Estate(TimestampMixin, Base):
    __tablename__ = "estate"
    __estate_scope__ = EstateColumn("id")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")

    buildings: Mapped[list[Building]] = relationship(
        back_populates="estate", order_by="Building.name"
    )

    def __str__(self) -> str:
        return self.name


class Building(TimestampMixin, Base):
    __tablename__ = "building"
    __estate_scope__ = EstateColumn()
    __table_args__ = (UniqueConstraint("estate_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    floors: Mapped[int | None]

    estate: Mapped[Estate] = relationship(back_populates="buildings")
    units: Mapped[list[Unit]] = relationship(back_populates="building", order_by="Unit.number")

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
    __estate_scope__ = Through("building")
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
    __estate_scope__ = EstateColumn()
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

    def __str__(self) -> str:
        return self.code
