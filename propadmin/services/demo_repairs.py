"""The demo estate's facilities and repairs: equipment with warranties and maintenance
plans, months of maintenance records, and repair requests in every state, each one moved
through the real repair service with times relative to now."""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Building,
    Estate,
    Facility,
    FacilityCategory,
    FacilityStatus,
    IntervalUnit,
    MaintenanceKind,
    MaintenancePlan,
    MaintenanceRecord,
    OutboxMessage,
    RepairCategory,
    RepairPayer,
    RepairSkill,
    RepairSource,
    RepairUrgency,
    Resident,
    Unit,
    User,
    utcnow,
)

from . import repairs
from .repairs import NewRepair, RepairResult
from .today import estate_today

D = Decimal
C = RepairCategory
U = RepairUrgency
LIFT_COMPANY = "奥的斯电梯（中国）有限公司"
SKILLS = (C.plumbing, C.electrical, C.door_window, C.leak, C.public)
HISTORY = (
    ("阳台", "阳台顶部渗水，墙皮脱落。", C.leak, U.normal),
    ("次卧", "窗户把手断了，关不上。", C.door_window, U.low),
    ("厨房", "下水管漏水，橱柜里都是水。", C.plumbing, U.urgent),
    ("客厅", "客厅灯闪烁。", C.electrical, U.normal),
    ("电梯", "电梯楼层按钮失灵，按了没反应。", C.elevator, U.normal),
    ("主卧", "空调外机支架松动。", C.other, U.normal),
    ("卫生间", "马桶水箱一直流水。", C.plumbing, U.low),
    ("门厅", "燃气表附近有气味。", C.gas, U.urgent),
    ("书房", "墙面插座没电。", C.electrical, U.normal),
)
COMMENTS = {
    5: "师傅很专业，修得又快又好。",
    4: "修好了，就是来得稍晚。",
    3: "修好了，但等了比较久。",
    2: "来了两次才修好。",
}


@dataclass
class DemoRepairs:
    facilities: int
    repairs: int


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


def _facilities(session: Session, estate: Estate, buildings: list[Building], today: date):
    """The ledger: a lift per building (the first one's warranty ends within 30 days, the
    second's has ended), water pumps, street lights, fitness and fire equipment."""
    found: dict[str, Facility] = {}

    def add(key, code, name, category, **fields) -> Facility:
        facility = Facility(estate=estate, code=code, name=name, category=category, **fields)
        session.add(facility)
        found[key] = facility
        return facility

    lift_warranty = (today + timedelta(days=20), today - timedelta(days=150))
    for n, building in enumerate(buildings):
        add(
            f"lift{n + 1}", f"DT-{n + 1:02d}", f"{building.name}1号客梯", FacilityCategory.elevator,
            building=building, location=f"{building.name}大堂", model="GX-1000 曳引式 1000公斤",
            serial_no=f"DT2021{n + 1:04d}", supplier=LIFT_COMPANY, supplier_phone="400-820-1828",
            purchase_date=date(today.year - 5 + min(n, 1) * 2, 6, 1),
            warranty_end=lift_warranty[n] if n < 2 else today + timedelta(days=400),
        )
    for n in (1, 2):
        add(
            f"pump{n}", f"SB-{n:02d}", f"生活水泵{n}号", FacilityCategory.water_pump,
            location="地下车库泵房", model="格兰富 CR 10-6", serial_no=f"GF-88{n:03d}",
            supplier="上海格兰富水泵服务部", supplier_phone="021-6122 5222",
            purchase_date=add_months(today, -14), warranty_end=add_months(today, 10),
        )
    for n, where in enumerate(("南门主干道", "中心花园", "地下车库入口"), start=1):
        add(
            f"light{n}", f"LD-{n:02d}", f"路灯（{where}）", FacilityCategory.street_light,
            location=where, model="ZD-60W", supplier="浦东照明工程公司",
            purchase_date=date(today.year - 3, 4, 1), warranty_end=date(today.year - 1, 4, 1),
            status=FacilityStatus.out_of_service if n == 3 else FacilityStatus.in_service,
        )
    add(
        "fitness", "JS-01", "户外健身路径（12件）", FacilityCategory.fitness,
        location="中心花园东侧", model="舒华 SH-G5", supplier="舒华体育",
        purchase_date=date(today.year - 2, 9, 1), warranty_end=add_months(today, 4),
    )
    add(
        "fire_pump", "XF-01", "消防泵组", FacilityCategory.fire, location="地下车库消防泵房",
        model="XB-8/30", supplier="上海消防器材总厂", purchase_date=date(today.year - 6, 3, 1),
        warranty_end=date(today.year - 3, 3, 1),
    )
    add(
        "extinguishers", "XF-02", "干粉灭火器（各楼层）", FacilityCategory.fire,
        location="各楼栋楼层消防箱", model="手提式 4公斤", supplier="上海消防器材总厂",
        purchase_date=date(today.year - 1, 5, 1), warranty_end=date(today.year + 2, 5, 1),
    )
    session.flush()
    return found


def _plans_and_records(session, found: dict[str, Facility], repair_user: User, today: date):
    """Monthly lift inspections (the first building's due in a few days, the second's
    overdue), and the work of the past months."""
    plans = []

    def plan(key, title, kind, every, unit, next_due, done_before: int) -> MaintenancePlan:
        p = MaintenancePlan(
            facility=found[key], title=title, kind=kind, every=every, every_unit=unit,
            next_due=next_due, last_done=None,
        )
        session.add(p)
        plans.append((p, done_before))
        return p

    lifts = sorted(k for k in found if k.startswith("lift"))
    for n, key in enumerate(lifts):
        due = today + timedelta(days=3) if n == 0 else today - timedelta(days=5 + n)
        plan(key, "电梯月度检查", MaintenanceKind.inspection, 1, IntervalUnit.months, due, 5)
    plan("pump1", "水泵季度保养", MaintenanceKind.maintenance, 3, IntervalUnit.months,
         today + timedelta(days=40), 2)
    plan("light1", "路灯巡检", MaintenanceKind.inspection, 30, IntervalUnit.days,
         today + timedelta(days=12), 4)
    plan("fire_pump", "消防设施年度检测", MaintenanceKind.inspection, 12, IntervalUnit.months,
         today + timedelta(days=60), 1)
    plan("extinguishers", "灭火器月度检查", MaintenanceKind.inspection, 1, IntervalUnit.months,
         today + timedelta(days=10), 4)
    session.flush()

    records = 0
    for p, times in plans:
        for k in range(1, times + 1):
            if p.every_unit is IntervalUnit.months:
                done = add_months(p.next_due, -p.every * k)
            else:
                done = p.next_due - timedelta(days=p.every * k)
            if done > today:
                continue
            lift = p.facility.category is FacilityCategory.elevator
            session.add(MaintenanceRecord(
                facility=p.facility, plan=p, done_on=done, kind=p.kind,
                staff=None if lift else repair_user,
                staff_name="奥的斯维保 周工" if lift else "",
                work=f"{p.title}：运行正常，已签维保记录。",
                parts="机械密封一套" if p.facility.category is FacilityCategory.water_pump else "",
                cost=D("320.00") if p.facility.category is FacilityCategory.water_pump else D(0),
                under_warranty=p.facility.under_warranty(done),
            ))
            records += 1
            if p.last_done is None or done > p.last_done:
                p.last_done = done
    session.flush()
    return records


def _user(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _no_mail(session: Session) -> None:
    """The demo's jobs were handed out in the past: their assignment mails are not sent."""
    for obj in list(session.new):
        if isinstance(obj, OutboxMessage):
            session.expunge(obj)
    session.info.pop("mail_queued", None)


def seed_demo_repairs(
    session: Session, estate: Estate, *, now: datetime | None = None
) -> DemoRepairs:
    now = now or utcnow()
    today = estate_today(estate)
    rng = random.Random(99)
    buildings = list(
        session.scalars(
            select(Building).where(Building.estate_id == estate.id).order_by(Building.name)
        )
    )
    admin, worker = _user(session, "admin"), _user(session, "repair")
    owner, owner2, tenant = (_user(session, n) for n in ("owner", "owner2", "tenant"))
    session.add_all(RepairSkill(user=worker, category=c) for c in SKILLS)
    found = _facilities(session, estate, buildings, today)
    _plans_and_records(session, found, worker, today)

    def ago(**delta) -> datetime:
        return now - timedelta(**delta)

    def report(at, location, description, *, user=None, unit=None, facility=None,
               category=C.other, urgency=U.normal, source=RepairSource.portal, phone="",
               by=None):
        resident = user.resident if user is not None else None
        if resident is not None and unit is None:
            unit = resident.occupancies[0].unit
        return repairs.submit(
            session,
            NewRepair(
                estate_id=estate.id, location=location, description=description,
                urgency=urgency, category=category, source=source, unit=unit,
                facility=facility, reporter=resident,
                contact_name="" if resident else "物业前台", contact_phone=phone,
            ),
            by=by or user or admin, now=at,
        )

    def assign(repair, at, to=worker):
        repairs.assign(session, repair, to, by=admin, now=at)
        _no_mail(session)

    def resolve(repair, at, **result):
        repairs.resolve(session, repair, RepairResult(fixed=True, **result), by=worker, now=at)
        # The service dates a facility's record by today; this one was done in the past.
        for record in session.scalars(
            select(MaintenanceRecord).where(MaintenanceRecord.repair_id == repair.id)
        ):
            record.done_on = min(record.done_on, at.date())

    def job(repair, submitted, *, respond=timedelta(minutes=40), work=timedelta(hours=2),
            close_by=None, rating=None, comment="", **result):
        assign(repair, submitted + respond / 2)
        repairs.start(session, repair, by=worker, now=submitted + respond)
        resolve(repair, submitted + respond + work, **result)
        if close_by is not None:
            repairs.close(session, repair, by=close_by,
                          now=submitted + respond + work + timedelta(hours=20))
        if rating:
            repairs.rate(session, repair, rating, comment, by=close_by,
                         now=submitted + respond + work + timedelta(hours=21))
        return repair

    made = []
    # owner: one open job (assigned to the repair account) and one closed and rated.
    r = report(ago(hours=3), "主卫", "卫生间地漏堵塞，洗澡时积水排不下去。", user=owner,
               category=C.plumbing)
    assign(r, ago(hours=2, minutes=30))
    made.append(r)
    submitted = ago(days=38, hours=5)
    made.append(job(
        report(submitted, "厨房", "厨房水龙头关不紧，一直滴水。", user=owner,
               category=C.plumbing),
        submitted, materials="水龙头阀芯 1 个", minutes_spent=35,
        close_by=owner, rating=5, comment="师傅很准时，修得很快。",
    ))
    # An urgent call past its response target: the queue shows the breach.
    made.append(report(
        ago(hours=2, minutes=15), f"{buildings[-1].name}电梯",
        "电梯运行时有异响，轿厢晃动，住户不敢乘坐。", facility=found[f"lift{len(buildings)}"],
        category=C.elevator, urgency=U.urgent, source=RepairSource.office, phone="13812345678",
    ))
    # The repair account's work in hand.
    r = report(ago(days=1, hours=4), f"{buildings[0].name}3楼楼道", "楼道声控灯不亮。",
               category=C.electrical, urgency=U.low, source=RepairSource.patrol, by=worker)
    assign(r, ago(days=1, hours=3))
    repairs.start(session, r, by=worker, note="已领灯泡，下午更换。", now=ago(hours=20))
    made.append(r)
    made.append(report(ago(minutes=50), "中心花园东侧", "健身器材（漫步机）踏板松动。",
                       facility=found["fitness"], category=C.public, urgency=U.low,
                       source=RepairSource.patrol, by=worker))
    # The tenant's job, resolved and paid by the resident: a charge for the next bill.
    submitted = ago(days=4, hours=6)
    made.append(job(
        report(submitted, "客厅", "客厅空调插座烧坏，有焦味。", user=tenant,
               category=C.electrical, urgency=U.urgent),
        submitted, work=timedelta(hours=1), materials="86 型五孔插座 1 个", minutes_spent=45,
        cost=D("80.00"), paid_by=RepairPayer.resident, note="插座老化，已更换。",
    ))
    # A facility under warranty: the supplier's work, in its maintenance history.
    submitted = ago(days=21, hours=2)
    made.append(job(
        report(submitted, "地下车库泵房", "1号生活水泵运行噪音大，出水压力不足。",
               facility=found["pump1"], category=C.public, source=RepairSource.patrol),
        submitted, respond=timedelta(hours=3), work=timedelta(days=1),
        materials="轴承 2 个（保修更换）", minutes_spent=180, close_by=admin,
        note="供应商保修期内免费更换轴承。",
    ))
    # owner2 changed their mind.
    r = report(ago(days=9), "入户门", "入户门锁有点卡。", user=owner2, category=C.door_window,
               urgency=U.low)
    repairs.cancel(session, r, by=owner2, note="自己上油后好了。", now=ago(days=8, hours=20))
    made.append(r)

    # Older, closed jobs over the past six months, for the reports: some reported on the
    # portal by owner2 and the tenant and rated, the rest logged by the office.
    residents = list(
        session.scalars(
            select(Resident).join(Resident.occupancies).join(Unit)
            .where(Resident.estate_id == estate.id, Resident.user_id.is_(None))
            .order_by(Resident.id).limit(12)
        )
    )
    for n in range(26):
        where, text, category, urgency = HISTORY[n % len(HISTORY)]
        submitted = ago(days=10 + n * 7, hours=rng.randint(0, 8))
        user = (owner2, tenant, None, None)[n % 4] if category is not C.elevator else None
        if category is C.elevator:
            lift = found[f"lift{n % len(buildings) + 1}"]
            r = report(submitted, lift.location, text, facility=lift, category=category,
                       urgency=urgency, source=RepairSource.office, phone="13900001111")
        elif user is not None:
            r = report(submitted, where, text, user=user, category=category, urgency=urgency)
        else:
            resident = residents[n % len(residents)]
            r = repairs.submit(
                session,
                NewRepair(
                    estate_id=estate.id, location=where, description=text, urgency=urgency,
                    category=category, source=RepairSource.office,
                    unit=resident.occupancies[0].unit, reporter=resident,
                    contact_phone=resident.mobile or "",
                ),
                by=admin, now=submitted,
            )
        slow = n % 5 == 2  # some answered late: missed targets in the reports
        rating = rng.choice((5, 5, 4, 4, 3, 2)) if user is not None else None
        job(r, submitted, respond=timedelta(hours=rng.choice((6, 30)) if slow else 0.5),
            work=timedelta(hours=rng.randint(1, 30)), minutes_spent=rng.randint(20, 150),
            close_by=user if rating else admin, rating=rating,
            comment=COMMENTS[rating] if rating else "")
        made.append(r)
    session.flush()
    return DemoRepairs(facilities=len(found), repairs=len(made))
