"""The admin's 维修服务 menu: the repair queue, my jobs, reports, then the setup."""


def add_repair_views(admin) -> None:
    pass
