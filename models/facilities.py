"""Facilities and equipment (设施设备): the ledger, maintenance plans and maintenance
records, and the day each estate's digest went out."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, ScaledDecimal, TimestampMixin, str_enum, utcnow
from .property import Building, Estate
from .scope import EstateColumn, Through

if TYPE_CHECKING:
    from .accounts import User
    from .repairs import RepairRequest


class FacilityCategory(enum.StrEnum):
    elevator = "elevator"
    water_pump = "water_pump"
    street_light = "street_light"
    fitness = "fitness"
    fire = "fire"
    security = "security"  # cameras, gates, door entry
    power = "power"  # transformers, generators, switchgear
    hvac = "hvac"
    other = "other"


class FacilityStatus(enum.StrEnum):
    in_service = "in_service"
    under_repair = "under_repair"
    out_of_service = "out_of_service"
    retired = "retired"


class MaintenanceKind(enum.StrEnum):
    inspection = "inspection"
    maintenance = "maintenance"
    repair = "repair"


class IntervalUnit(enum.StrEnum):
    days = "days"
    months = "months"


class Facility(TimestampMixin, Base):
    """One piece of equipment the office looks after. Where it is: a building and/or a
    free-text place (``location``: 地下车库泵房, 2栋电梯1号)."""

    __tablename__ = "facility"
    __estate_scope__ = EstateColumn()
    __table_args__ = (
        UniqueConstraint("estate_id", "code"),
        Index("ix_facility_estate_warranty", "estate_id", "warranty_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))  # the office's asset number (设备编号)
    name: Mapped[str] = mapped_column(String(64))
    category: Mapped[FacilityCategory] = mapped_column(
        str_enum(FacilityCategory), default=FacilityCategory.other
    )
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)
    location: Mapped[str] = mapped_column(String(128), default="")
    model: Mapped[str] = mapped_column(String(64), default="")
    serial_no: Mapped[str] = mapped_column(String(64), default="")
    supplier: Mapped[str] = mapped_column(String(128), default="")
    supplier_phone: Mapped[str] = mapped_column(String(32), default="")
    purchase_date: Mapped[date | None]
    warranty_end: Mapped[date | None]
    status: Mapped[FacilityStatus] = mapped_column(
        str_enum(FacilityStatus), default=FacilityStatus.in_service
    )
    notes: Mapped[str] = mapped_column(String(500), default="")

    estate: Mapped[Estate] = relationship()
    building: Mapped[Building | None] = relationship()
    plans: Mapped[list[MaintenancePlan]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", order_by="MaintenancePlan.next_due"
    )
    records: Mapped[list[MaintenanceRecord]] = relationship(
        back_populates="facility",
        cascade="all, delete-orphan",
        order_by="MaintenanceRecord.done_on.desc()",
    )

    def under_warranty(self, on: date) -> bool:
        return self.warranty_end is not None and on <= self.warranty_end

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class MaintenancePlan(TimestampMixin, Base):
    """Recurring work on a facility: every ``every`` days or months, next due on
    ``next_due``. Recording the work moves ``next_due`` on by one interval."""

    __tablename__ = "maintenance_plan"
    __estate_scope__ = Through("facility")
    __table_args__ = (Index("ix_maintenance_plan_due", "active", "next_due"),)
    __label_loads__ = ("facility",)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(128))
    kind: Mapped[MaintenanceKind] = mapped_column(
        str_enum(MaintenanceKind), default=MaintenanceKind.maintenance
    )
    every: Mapped[int] = mapped_column(default=1)
    every_unit: Mapped[IntervalUnit] = mapped_column(
        str_enum(IntervalUnit), default=IntervalUnit.months
    )
    next_due: Mapped[date]
    last_done: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str] = mapped_column(String(500), default="")

    facility: Mapped[Facility] = relationship(back_populates="plans")

    def __str__(self) -> str:
        return f"{self.facility} · {self.title}"


Index("ix_maintenance_plan_facility_id", MaintenancePlan.facility_id)


class MaintenanceRecord(TimestampMixin, Base):
    """Work done on a facility: an inspection, planned maintenance or a repair (then
    ``repair_id`` names the repair request it closed)."""

    __tablename__ = "maintenance_record"
    __estate_scope__ = Through("facility")
    __label_loads__ = ("facility",)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id", ondelete="CASCADE"))
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenance_plan.id", ondelete="SET NULL"), index=True
    )
    repair_id: Mapped[int | None] = mapped_column(
        ForeignKey("repair_request.id", ondelete="SET NULL"), index=True
    )
    done_on: Mapped[date]
    kind: Mapped[MaintenanceKind] = mapped_column(
        str_enum(MaintenanceKind), default=MaintenanceKind.maintenance
    )
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Who did it when it was not one of the staff (the lift company's engineer).
    staff_name: Mapped[str] = mapped_column(String(64), default="")
    work: Mapped[str] = mapped_column(String(1000), default="")
    parts: Mapped[str] = mapped_column(String(500), default="")
    cost: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=Decimal("0.00"))
    under_warranty: Mapped[bool] = mapped_column(default=False)

    facility: Mapped[Facility] = relationship(back_populates="records")
    plan: Mapped[MaintenancePlan | None] = relationship()
    repair: Mapped[RepairRequest | None] = relationship()
    staff: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.facility} · {self.done_on.isoformat()}"


Index(
    "ix_maintenance_record_facility_done",
    MaintenanceRecord.facility_id,
    MaintenanceRecord.done_on,
)


class FacilityDigest(Base):
    """The day an estate's facilities digest was sent: a second run that day (or a second
    host) finds the row and sends nothing."""

    __tablename__ = "facility_digest"
    __estate_scope__ = EstateColumn()
    __audited__ = False
    __table_args__ = (UniqueConstraint("estate_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    day: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
