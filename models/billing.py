"""Money owed: fee items and their versioned rates, meters and readings, bills and their
lines. Money received (payments, prepaid balances, adjustments, late fees, reminders) is in
``payments.py``.

Every amount is a ``ScaledDecimal``: an integer count of fen (or of 1/10,000 yuan for unit
prices), exact and identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, ScaledDecimal, TimestampMixin, str_enum, utcnow
from .property import Building, Estate, Unit, UnitUse
from .scope import EstateColumn, Through

if TYPE_CHECKING:
    from .accounts import User
    from .payments import BillAdjustment, Payment
    from .residents import Resident

ZERO = Decimal("0.00")


class FeeKind(enum.StrEnum):
    property = "property"
    water = "water"
    electricity = "electricity"
    gas = "gas"
    parking = "parking"
    rent = "rent"
    other = "other"


class BillingMethod(enum.StrEnum):
    per_area = "per_area"  # unit area (m²) × price
    fixed = "fixed"  # price per unit
    metered = "metered"  # usage of the unit's own meter × price
    tiered = "tiered"  # usage of the unit's own meter, priced by steps (阶梯价)
    per_space = "per_space"  # parking spaces tied to the unit × price
    shared = "shared"  # a shared meter's usage (公摊), split across units by area
    one_off = "one_off"  # once, in the period named on the item


class Cycle(enum.StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"


class FeeItem(TimestampMixin, Base):
    """Something the office charges for. It applies to every unit of the estate, or only to
    one building and/or one kind of unit (``building_id``, ``unit_use``)."""

    __tablename__ = "fee_item"
    __estate_scope__ = EstateColumn()
    __table_args__ = (UniqueConstraint("estate_id", "name"),)
    __label_loads__ = ("estate",)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[FeeKind] = mapped_column(str_enum(FeeKind), default=FeeKind.property)
    method: Mapped[BillingMethod] = mapped_column(
        str_enum(BillingMethod), default=BillingMethod.per_area
    )
    cycle: Mapped[Cycle] = mapped_column(str_enum(Cycle), default=Cycle.monthly)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)
    unit_use: Mapped[UnitUse | None] = mapped_column(str_enum(UnitUse))
    # For a one-off item: the period whose bills carry it (e.g. ``2026-11``).
    one_off_period: Mapped[str | None] = mapped_column(String(7))
    # What the quantity is counted in, shown on every line (m², 吨, 度, 个...).
    quantity_unit: Mapped[str] = mapped_column(String(8), default="")
    due_days: Mapped[int] = mapped_column(default=15)
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(String(255), default="")

    estate: Mapped[Estate] = relationship()
    building: Mapped[Building | None] = relationship()
    rates: Mapped[list[FeeRate]] = relationship(
        back_populates="fee_item", order_by="FeeRate.effective_from.desc()"
    )

    def __str__(self) -> str:
        return self.name


class FeeRate(TimestampMixin, Base):
    """A price from ``effective_from`` on. A new price is a new row, so old bills keep the
    rate they were made with. Tiered items keep their steps in ``tiers``."""

    __tablename__ = "fee_rate"
    __estate_scope__ = Through("fee_item")
    __table_args__ = (UniqueConstraint("fee_item_id", "effective_from"),)
    __label_loads__ = ("fee_item",)

    id: Mapped[int] = mapped_column(primary_key=True)
    fee_item_id: Mapped[int] = mapped_column(ForeignKey("fee_item.id"), index=True)
    effective_from: Mapped[date]
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4), info={"unit": "元"})
    note: Mapped[str] = mapped_column(String(255), default="")

    fee_item: Mapped[FeeItem] = relationship(back_populates="rates", lazy="joined")
    tiers: Mapped[list[RateTier]] = relationship(
        back_populates="rate",
        cascade="all, delete-orphan",
        order_by="RateTier.position",
    )

    def __str__(self) -> str:
        return f"{self.fee_item} · {self.effective_from.isoformat()}"


class RateTier(Base):
    """One step of a tiered price: usage up to ``up_to`` (the last step has none) costs
    ``unit_price`` per unit."""

    __tablename__ = "rate_tier"
    __estate_scope__ = Through("rate")
    __table_args__ = (UniqueConstraint("rate_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rate_id: Mapped[int] = mapped_column(ForeignKey("fee_rate.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    up_to: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4))

    rate: Mapped[FeeRate] = relationship(back_populates="tiers")

    def __str__(self) -> str:
        if self.up_to is None:
            return str(self.unit_price)
        return f"≤{self.up_to}: {self.unit_price}"


class Meter(TimestampMixin, Base):
    """A meter read for a metered fee item. A unit's own meter has ``unit_id``; a shared
    meter (公摊) has none, and its usage is split across the units of ``building_id`` (or of
    the whole estate) by area."""

    __tablename__ = "meter"
    __estate_scope__ = EstateColumn()
    __table_args__ = (UniqueConstraint("estate_id", "code"),)
    __label_loads__ = ("unit", "fee_item")

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    fee_item_id: Mapped[int] = mapped_column(ForeignKey("fee_item.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(default=True)

    estate: Mapped[Estate] = relationship()
    fee_item: Mapped[FeeItem] = relationship()
    unit: Mapped[Unit | None] = relationship()
    building: Mapped[Building | None] = relationship()

    @property
    def shared(self) -> bool:
        return self.unit_id is None

    def __str__(self) -> str:
        where = self.unit.label if self.unit is not None else self.location
        return f"{self.code} ({where})" if where else self.code


class MeterReading(TimestampMixin, Base):
    """A meter's reading for a period. ``usage`` = ``value`` − ``previous``; when the meter
    was replaced, (``old_final`` − ``previous``) + (``value`` − ``new_start``)."""

    __tablename__ = "meter_reading"
    __estate_scope__ = Through("meter")
    __table_args__ = (UniqueConstraint("meter_id", "period"),)
    __label_loads__ = ("meter",)

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meter.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    read_on: Mapped[date]
    value: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    previous: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    usage: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    replaced: Mapped[bool] = mapped_column(default=False)
    old_final: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    new_start: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    flagged: Mapped[bool] = mapped_column(default=False)
    flag_note: Mapped[str] = mapped_column(String(255), default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    meter: Mapped[Meter] = relationship(lazy="joined")
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])

    @property
    def needs_review(self) -> bool:
        return self.flagged and self.reviewed_at is None

    def __str__(self) -> str:
        return f"{self.meter} · {self.period}"


class BillStatus(enum.StrEnum):
    unpaid = "unpaid"
    partial = "partial"
    paid = "paid"
    void = "void"


OPEN_STATUSES = (BillStatus.unpaid, BillStatus.partial)


class Bill(TimestampMixin, Base):
    """One unit's bill for one period. ``estate_id`` and ``building_id`` are copied from the
    unit so that scoped lists and per-building arrears read one table.

    Owed = ``amount`` − ``discount`` + ``late_fee`` − ``paid``. ``version`` goes up with every
    change to the money, so a payment made against a stale view is refused."""

    __tablename__ = "bill"
    __estate_scope__ = EstateColumn()
    __table_args__ = (
        UniqueConstraint("unit_id", "period"),
        Index("ix_bill_estate_period", "estate_id", "period", "id"),
        Index("ix_bill_estate_status_due", "estate_id", "status", "due_date"),
        Index("ix_bill_estate_id", "estate_id", "id"),
        Index("ix_bill_period", "period", "id"),  # the list of every estate (superusers)
        # The search box: a payer's name from its start (LIKE 'prefix%' on PostgreSQL
        # under any collation, an index range on SQLite).
        Index(
            "ix_bill_payer_name_prefix",
            "payer_name",
            postgresql_ops={"payer_name": "text_pattern_ops"},
        ),
    )
    __label_loads__ = ("unit",)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    period: Mapped[str] = mapped_column(String(7))
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    payer_name: Mapped[str] = mapped_column(String(64), default="")
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    discount: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    late_fee: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    paid: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    status: Mapped[BillStatus] = mapped_column(str_enum(BillStatus), default=BillStatus.unpaid)
    due_date: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    void_reason: Mapped[str] = mapped_column(String(255), default="")

    estate: Mapped[Estate] = relationship()
    building: Mapped[Building] = relationship()
    unit: Mapped[Unit] = relationship(lazy="joined")
    payer: Mapped[Resident | None] = relationship()
    lines: Mapped[list[BillLine]] = relationship(
        back_populates="bill", cascade="all, delete-orphan", order_by="BillLine.id"
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="bill", order_by="Payment.paid_at"
    )
    adjustments: Mapped[list[BillAdjustment]] = relationship(
        back_populates="bill", order_by="BillAdjustment.created_at"
    )

    @property
    def owed(self) -> Decimal:
        if self.status is BillStatus.void:
            return ZERO
        return self.amount - self.discount + self.late_fee - self.paid

    def is_overdue(self, today: date) -> bool:
        return self.status in OPEN_STATUSES and self.due_date < today

    def __str__(self) -> str:
        return f"{self.unit} · {self.period}"


class BillLine(Base):
    """One fee item on a bill, with what it was computed from, so it explains itself:
    quantity × unit price under a rate version; readings; days when pro-rated; the area
    share of a shared meter; ``detail`` holds the tier breakdown as JSON."""

    __tablename__ = "bill_line"
    __estate_scope__ = Through("bill")
    __audited__ = False  # written with their bill, in bulk; the bill's creation is audited
    __table_args__ = (UniqueConstraint("bill_id", "fee_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bill.id", ondelete="CASCADE"))
    fee_item_id: Mapped[int] = mapped_column(ForeignKey("fee_item.id"), index=True)
    rate_id: Mapped[int | None] = mapped_column(ForeignKey("fee_rate.id"))
    method: Mapped[BillingMethod] = mapped_column(str_enum(BillingMethod))
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    quantity_unit: Mapped[str] = mapped_column(String(8), default="")
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("meter.id"))
    reading_previous: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    reading_current: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    days: Mapped[int | None]
    period_days: Mapped[int | None]
    share_area: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    share_total_area: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    detail: Mapped[str] = mapped_column(Text, default="")

    bill: Mapped[Bill] = relationship(back_populates="lines")
    fee_item: Mapped[FeeItem] = relationship(lazy="joined")
    rate: Mapped[FeeRate | None] = relationship()
    meter: Mapped[Meter | None] = relationship()

    def __str__(self) -> str:
        return f"{self.fee_item} {self.amount}"


Index("ix_bill_line_bill_id", BillLine.bill_id)


class UnitCharge(TimestampMixin, Base):
    """A sum owed by a unit outside its fee items — a repair the resident pays for. It waits
    here until the unit's next bill is generated, which carries it as a line and sets
    ``bill_id``."""

    __tablename__ = "unit_charge"
    __estate_scope__ = EstateColumn()
    __table_args__ = (
        Index("ix_unit_charge_pending", "estate_id", "bill_id", "unit_id"),
        Index("ix_unit_charge_estate_created", "estate_id", "created_at", "id"),  # the list
    )
    __label_loads__ = ("unit",)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    description: Mapped[str] = mapped_column(String(255))
    repair_id: Mapped[int | None] = mapped_column(
        ForeignKey("repair_request.id", ondelete="SET NULL"), unique=True
    )
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id", ondelete="SET NULL"))

    estate: Mapped[Estate] = relationship()
    unit: Mapped[Unit] = relationship()
    payer: Mapped[Resident | None] = relationship()
    bill: Mapped[Bill | None] = relationship()

    def __str__(self) -> str:
        return f"{self.unit} {self.description} {self.amount}"
