"""Money received and what changes a bill's money: payments with per-estate receipt
numbers, prepaid balances, discounts and waivers, the late-fee policy, and reminders."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, ScaledDecimal, TimestampMixin, str_enum, utcnow
from .billing import ZERO, Bill
from .property import Estate, Unit
from .scope import EstateColumn, Through

if TYPE_CHECKING:
    from .accounts import User
    from .residents import Resident


class PaymentMethod(enum.StrEnum):
    cash = "cash"
    wechat = "wechat"
    alipay = "alipay"
    bank = "bank"
    prepaid = "prepaid"  # taken from the unit's prepaid balance


class PaymentStatus(enum.StrEnum):
    valid = "valid"
    voided = "voided"
    refunded = "refunded"


class Payment(TimestampMixin, Base):
    """Money received. Against a bill, or (``bill_id`` empty) a top-up of the unit's prepaid
    balance. Every payment of real money gets the estate's next receipt number; a payment
    taken from the prepaid balance has none (its top-up had one)."""

    __tablename__ = "payment"
    __estate_scope__ = EstateColumn()
    __table_args__ = (
        UniqueConstraint("estate_id", "receipt_no"),
        Index("ix_payment_estate_paid_at", "estate_id", "paid_at", "id"),  # the list's order
        Index("ix_payment_paid_at", "paid_at", "id"),  # the list of every estate
    )
    __label_loads__ = ("unit",)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id"), index=True)
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    reference: Mapped[str] = mapped_column(String(64), default="")
    paid_at: Mapped[datetime] = mapped_column(default=utcnow)
    receipt_no: Mapped[int | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus), default=PaymentStatus.valid
    )
    void_reason: Mapped[str] = mapped_column(String(255), default="")
    voided_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    estate: Mapped[Estate] = relationship()
    unit: Mapped[Unit] = relationship()
    bill: Mapped[Bill | None] = relationship(back_populates="payments")
    payer: Mapped[Resident | None] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])

    def __str__(self) -> str:
        return f"No. {self.receipt_no:08d}" if self.receipt_no else f"{self.unit} {self.amount}"


class ReceiptCounter(Base):
    """The last receipt number used in an estate. Taken with a conditional UPDATE in the
    payment's own transaction, so numbers are sequential with no gaps or repeats."""

    __tablename__ = "receipt_counter"
    __estate_scope__ = EstateColumn("estate_id")
    __audited__ = False

    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), primary_key=True)
    last_no: Mapped[int] = mapped_column(default=0)


class PrepaidAccount(TimestampMixin, Base):
    """A unit's prepaid balance (预存), applied to new bills automatically."""

    __tablename__ = "prepaid_account"
    __estate_scope__ = EstateColumn()
    __table_args__ = (UniqueConstraint("unit_id"),)
    __label_loads__ = ("unit",)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    balance: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    version: Mapped[int] = mapped_column(default=1)

    estate: Mapped[Estate] = relationship()
    unit: Mapped[Unit] = relationship()

    def __str__(self) -> str:
        return f"{self.unit} {self.balance}"


class AdjustmentKind(enum.StrEnum):
    discount = "discount"
    waiver = "waiver"
    late_fee_waiver = "late_fee_waiver"


class BillAdjustment(TimestampMixin, Base):
    """A discount or waiver on a bill, always with a reason and the person who gave it."""

    __tablename__ = "bill_adjustment"
    __estate_scope__ = Through("bill")
    __label_loads__ = ("bill",)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bill.id"), index=True)
    kind: Mapped[AdjustmentKind] = mapped_column(str_enum(AdjustmentKind))
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    reason: Mapped[str] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    bill: Mapped[Bill] = relationship(back_populates="adjustments")
    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.bill} −{self.amount}"


class LateFeePolicy(TimestampMixin, Base):
    """How an estate charges for paying late (滞纳金): after ``grace_days`` past the due date,
    ``daily_percent`` % of what is owed per day, or ``daily_amount`` per day, never more
    than ``cap_percent`` % of the bill or ``cap_amount``."""

    __tablename__ = "late_fee_policy"
    __estate_scope__ = EstateColumn()
    __table_args__ = (UniqueConstraint("estate_id"),)
    __label_loads__ = ("estate",)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    enabled: Mapped[bool] = mapped_column(default=True)
    grace_days: Mapped[int] = mapped_column(default=0)
    daily_percent: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4))
    daily_amount: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    cap_percent: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    cap_amount: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))

    estate: Mapped[Estate] = relationship()

    def __str__(self) -> str:
        return str(self.estate)


class BillReminder(Base):
    """A reminder mail sent to a payer. One per payer per day: the unique key makes a second
    run on the same day (or on a second host) add nothing."""

    __tablename__ = "bill_reminder"
    __estate_scope__ = EstateColumn()
    __table_args__ = (
        UniqueConstraint("payer_id", "sent_on"),
        Index("ix_bill_reminder_estate_sent", "estate_id", "sent_on", "id"),  # the list's order
    )
    __label_loads__ = ("payer",)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    sent_on: Mapped[date]
    bills: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=ZERO)
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    estate: Mapped[Estate] = relationship()
    payer: Mapped[Resident] = relationship()

    def __str__(self) -> str:
        return f"{self.payer} · {self.sent_on.isoformat()}"
