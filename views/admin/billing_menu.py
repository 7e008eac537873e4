"""The admin's 收费与账单 menu: every billing screen, in the order the office works —
bills and generating them, money received, reminders, figures, then the setup."""

from flask_babel import lazy_gettext as _l

from models import Bill, BillReminder, FeeItem, FeeRate, Meter, MeterReading, UnitCharge
from propadmin.extensions import db

from .bill_generation import BillGenerationView
from .bills import BillView
from .fee_setup import FeeItemView, FeeRateView, MeterView
from .finance import ArrearsView, FinanceView
from .payments import add_payment_views
from .reading_import import ReadingImportView
from .readings import MeterReadingView
from .reminders import BillReminderView
from .unit_charges import UnitChargeView


def add_billing_views(admin) -> None:
    money = _l("Fees and bills")
    admin.add_view(BillView(Bill, db, name=_l("Bills"), category=money, endpoint="bill"))
    admin.add_view(
        MeterReadingView(
            MeterReading, db, name=_l("Meter readings"), category=money, endpoint="meter_reading"
        )
    )
    admin.add_view(
        ReadingImportView(
            name=_l("Import meter readings"),
            category=money,
            endpoint="reading_import",
            url="/admin/reading-import",
        )
    )
    admin.add_view(
        BillGenerationView(
            name=_l("Generate bills"),
            category=money,
            endpoint="bill_generate",
            url="/admin/bills/generate",
        )
    )
    add_payment_views(admin, money)
    admin.add_view(
        BillReminderView(
            BillReminder, db, name=_l("Payment reminders"), category=money, endpoint="bill_reminder"
        )
    )
    admin.add_view(
        UnitChargeView(
            UnitCharge, db, name=_l("Repair charges"), category=money, endpoint="unit_charge"
        )
    )
    admin.add_view(
        ArrearsView(name=_l("Arrears"), category=money, endpoint="arrears", url="/admin/arrears")
    )
    admin.add_view(
        FinanceView(name=_l("Collection"), category=money, endpoint="finance", url="/admin/finance")
    )
    admin.add_view(
        FeeItemView(FeeItem, db, name=_l("Fee items"), category=money, endpoint="fee_item")
    )
    admin.add_view(FeeRateView(FeeRate, db, name=_l("Rates"), category=money, endpoint="fee_rate"))
    admin.add_view(MeterView(Meter, db, name=_l("Meters"), category=money, endpoint="meter"))
