"""The admin's 设施设备 menu: the ledger, maintenance plans and records."""


def add_facility_views(admin) -> None:
    pass
