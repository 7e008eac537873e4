"""The admin's 维修服务 menu: the repair queue, my jobs, reports, then the setup."""

from flask_babel import lazy_gettext as _l

from models import RepairSkill, RepairSlaPolicy
from propadmin.extensions import db
from propadmin.services.repair_queue import count_breached, count_unassigned

from .repairs import RepairsView
from .repairs_setup import RepairSkillView, RepairSlaView
from .worklist import Filter, PageLink, Tile, register_tile


def add_repair_views(admin) -> None:
    repairs = _l("Repair service")
    admin.add_view(
        RepairsView(name=_l("Repair queue"), category=repairs, endpoint="repairs",
                    url="/admin/repairs")
    )
    admin.add_link(PageLink(_l("My jobs"), "repairs.mine", "repairs.view", repairs))
    admin.add_link(PageLink(_l("Log a call"), "repairs.new", "repairs.report", repairs))
    admin.add_link(PageLink(_l("Repair reports"), "repairs.reports", "repairs.view", repairs))
    admin.add_view(
        RepairSlaView(RepairSlaPolicy, db, name=_l("Response targets"), category=repairs,
                      endpoint="repair_sla")
    )
    admin.add_view(
        RepairSkillView(RepairSkill, db, name=_l("Repair skills"), category=repairs,
                        endpoint="repair_skill")
    )


register_tile(
    Tile(
        key="repairs_breached",
        label=_l("Repairs past their targets"),
        endpoint="repairs",
        count=count_breached,
        filters=(Filter("breached", "equals", "1"),),
        urgent=True,
    )
)
register_tile(
    Tile(
        key="repairs_unassigned",
        label=_l("Repairs nobody has taken"),
        endpoint="repairs",
        count=count_unassigned,
        filters=(Filter("assignee", "equals", "none"), Filter("status", "equals", "submitted")),
    )
)
