"""The admin's 收费与账单 menu: every billing screen, in the order the office works —
bills and generating them, money received, reminders, figures, then the setup."""

from flask_babel import lazy_gettext as _l

from models import Bill, BillReminder
from propadmin.extensions import db

from .bill_generation import BillGenerationView
from .bills import BillView
from .finance import ArrearsView, FinanceView
from .payments import add_payment_views
from .reminders import BillReminderView


def add_billing_views(admin) -> None:
    money = _l("Fees and bills")
    admin.add_view(BillView(Bill, db, name=_l("Bills"), category=money, endpoint="bill"))
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
        ArrearsView(name=_l("Arrears"), category=money, endpoint="arrears", url="/admin/arrears")
    )
    admin.add_view(
        FinanceView(name=_l("Collection"), category=money, endpoint="finance", url="/admin/finance")
    )
