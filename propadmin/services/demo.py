"""The demo estate 示范小区: realistic (fake) people, places and accounts."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Building,
    Estate,
    Occupancy,
    ParkingKind,
    ParkingSpace,
    Relation,
    Resident,
    StaffEstate,
    Unit,
    UnitUse,
    Vehicle,
)

from ..permissions import sync_builtin_roles
from . import ServiceError
from .accounts import create_user
from .demo_billing import seed_demo_billing
from .demo_notices import seed_demo_notices
from .demo_repairs import seed_demo_repairs
from .identifiers import blind_index, id_check_digit

log = logging.getLogger(__name__)

ESTATE_NAME = "示范小区"
DEMO_PASSWORD = "demo1234"  # noqa: S105 — the documented demo password
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍申尤毕"
    "聂柴焦向柳邢岳齐沿梅莫庄辛管祝左涂谷祁时舒耿牟卜路詹关苗凌费纪靳盛童欧甄项曲成游"
    "阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮桂闵欧阳解强丛华车冉房边辜吉饶刁瞿"
    "戚丘古米池滕晋苑邬臧畅宫来嵺苟全褚廉简娄盖符奚木穆党燕郎邸冀谈姬屠连郜晏栾郁商蒙"
    "计喻揭窦迟宇敖糜鄢冷卓花艾蓝都巩稽井练仲乐虞卞封竺冼原官衣楚佟栗匡宗应台巫鞠僧桑"
    "荆谌银扬明沙薄伏岑习胥保和蔺"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华文辉玉兰志强红梅晓东海燕"
    "春梅建国丹丹子涵浩然欣怡宇轩梓萱思远雨桐嘉怡俊杰诗琪一鸣佳琪晨阳"
)
REGIONS = ("310115", "310104", "110105", "440305", "320106", "330106", "510107", "420106")
MOBILE_PREFIXES = ("138", "139", "135", "136", "137", "150", "151", "158", "186", "187", "189")
LAYOUTS = (("2室1厅", "89.50"), ("3室2厅", "120.35"), ("3室2厅", "128.60"), ("4室2厅", "143.00"))
BRANDS = ("大众", "丰田", "本田", "比亚迪", "特斯拉", "别克", "吉利", "日产")
COLOURS = ("白色", "黑色", "银色", "灰色", "蓝色", "红色")
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

ACCOUNTS = (
    ("admin", "admin", "陈静"),
    ("finance", "finance", "刘洋"),
    ("repair", "repair", "赵强"),
)


@dataclass
class DemoResult:
    estate: Estate
    units: int
    residents: int
    vehicles: int
    parking_spaces: int
    accounts: list[tuple[str, str]]
    bills: int = 0
    payments: int = 0


class FakePeople:
    """Deterministic fake names, ID-card and mobile numbers (valid formats, not real)."""

    def __init__(self, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.used_ids: set[str] = set()
        self.used_mobiles: set[str] = set()
        self.used_plates: set[str] = set()

    def name(self) -> str:
        given = GIVEN[self.rng.randrange(len(GIVEN))]
        if self.rng.random() < 0.6:
            given += GIVEN[self.rng.randrange(len(GIVEN))]
        return SURNAMES[self.rng.randrange(len(SURNAMES))] + given

    def id_number(self, min_age: int = 18, max_age: int = 80) -> str:
        while True:
            born = date(2026, 1, 1) - timedelta(days=self.rng.randint(min_age * 365, max_age * 365))
            body = f"{self.rng.choice(REGIONS)}{born:%Y%m%d}{self.rng.randint(0, 999):03d}"
            value = body + id_check_digit(body)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def mobile(self) -> str:
        while True:
            value = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if value not in self.used_mobiles:
                self.used_mobiles.add(value)
                return value

    def plate(self) -> str:
        while True:
            value = (
                "沪"
                + self.rng.choice(PLATE_LETTERS)
                + "".join(self.rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(5))
            )
            if value not in self.used_plates:
                self.used_plates.add(value)
                return value


def _resident(estate: Estate, people: FakePeople, name: str | None = None) -> Resident:
    id_number, mobile = people.id_number(), people.mobile()
    return Resident(
        estate=estate,
        name=name or people.name(),
        id_number=id_number,
        id_number_index=blind_index("id_number", id_number),
        mobile=mobile,
        mobile_index=blind_index("mobile", mobile),
        emergency_contact=people.name(),
        emergency_phone=people.mobile(),
    )


def seed_demo(
    session: Session,
    *,
    units: int = 24,
    password: str = DEMO_PASSWORD,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Create the demo estate with its buildings, units, people, vehicles, parking and
    the demo accounts. Raises ServiceError if the demo estate exists or ``units`` is
    too small to hold the demo households."""
    if units < 6:
        raise ServiceError(f"--units must be at least 6 (got {units})", field="units")
    if session.scalar(select(Estate.id).where(Estate.name == ESTATE_NAME)):
        raise ServiceError(f"the demo estate {ESTATE_NAME} already exists", field="estate")
    people = FakePeople()
    rng = people.rng
    roles = sync_builtin_roles(session)
    estate = Estate(name=ESTATE_NAME, address="上海市浦东新区示范路 88 号", phone="021-5888 8888")
    session.add(estate)

    n_buildings = 3 if units >= 30 else 2
    per_floor = 2
    per_building = -(-units // n_buildings)
    floors = -(-per_building // per_floor)
    buildings = [
        Building(estate=estate, name=f"{b}栋", floors=max(floors, 6))
        for b in range(1, n_buildings + 1)
    ]
    session.add_all(buildings)
    all_units: list[Unit] = []
    for i in range(units):
        building = buildings[i // per_building]
        k = i % per_building
        floor, door = k // per_floor + 1, k % per_floor + 1
        layout, area = LAYOUTS[(floor + door) % len(LAYOUTS)]
        all_units.append(
            Unit(
                building=building,
                number=f"{floor}{door:02d}",
                floor=floor,
                area=Decimal(area),
                layout=layout,
                use=UnitUse.commercial if floor == 1 and door == 2 else UnitUse.residential,
            )
        )
    session.add_all(all_units)
    session.flush()

    first = [u for u in all_units if u.building is buildings[0]]
    second = [u for u in all_units if u.building is buildings[1]]
    owner_unit, tenant_unit, owner2_unit = first[0], first[2], second[0]

    accounts = []
    for username, role, display in ACCOUNTS:
        user = create_user(
            session,
            username=username,
            email=f"{username}@example.com",
            password=password,
            check_strength=False,
            display_name=display,
        )
        user.roles = [roles[role]]
        user.memberships = [StaffEstate(estate=estate)]
        accounts.append((username, role))

    residents = vehicles = 0
    named = {owner_unit.id: ("owner", "张伟"), owner2_unit.id: ("owner2", "李娜")}
    # A one-year lease that began on the first of the month eight months ago: the demo
    # tenant is a current tenant whatever day the demo is seeded.
    month = date.today().replace(day=1)
    lease_start = date(month.year - (month.month <= 8), (month.month - 9) % 12 + 1, 1)
    for n, unit in enumerate(all_units, start=1):
        if unit.id in named:
            username, name = named[unit.id]
        else:
            username, name = None, None
        owner = _resident(estate, people, name)
        owner.occupancies.append(
            Occupancy(
                unit=unit,
                relation=Relation.owner,
                start_date=date(2015 + rng.randrange(10), rng.randint(1, 12), 1),
                is_payer=unit is not tenant_unit,
            )
        )
        session.add(owner)
        residents += 1
        if username:
            user = create_user(
                session,
                username=username,
                email=f"{username}@example.com",
                password=password,
                check_strength=False,
                display_name=name,
            )
            user.roles = [roles["owner"]]
            owner.user = user
            owner.email = user.email
            accounts.append((username, "owner"))
        if rng.random() < 0.5 or unit is owner_unit:
            family = _resident(estate, people)
            family.occupancies.append(Occupancy(unit=unit, relation=Relation.family))
            session.add(family)
            residents += 1
        if unit is tenant_unit:
            tenant = _resident(estate, people, "王芳")
            session.add(tenant)
            tenant.occupancies.append(
                Occupancy(
                    unit=unit,
                    relation=Relation.tenant,
                    start_date=lease_start,
                    end_date=lease_start.replace(year=lease_start.year + 1) - timedelta(days=1),
                    is_payer=True,
                )
            )
            user = create_user(
                session,
                username="tenant",
                email="tenant@example.com",
                password=password,
                check_strength=False,
                display_name="王芳",
            )
            user.roles = [roles["tenant"]]
            tenant.user, tenant.email = user, user.email
            residents += 1
            accounts.append(("tenant", "tenant"))
        if rng.random() < 0.45 or unit in (owner_unit, tenant_unit):
            session.add(
                Vehicle(
                    estate=estate,
                    plate=people.plate(),
                    brand=rng.choice(BRANDS),
                    colour=rng.choice(COLOURS),
                    owner=owner if unit is not tenant_unit else tenant,
                )
            )
            vehicles += 1
        if n % 500 == 0:
            session.flush()
        if progress:
            progress(1)
    session.flush()

    spaces = max(10, units // 2)
    households = list(all_units)
    for i in range(spaces):
        unit = households[i * 2 % len(households)] if i % 3 != 2 else None
        kind = ParkingKind.owned if i % 4 == 0 and unit is not None else ParkingKind.rented
        session.add(ParkingSpace(estate=estate, code=f"B1-{i + 1:03d}", kind=kind, unit=unit))
    session.flush()
    money = seed_demo_billing(session, estate)
    seed_demo_repairs(session, estate)
    seed_demo_notices(session, estate)
    log.info("demo estate seeded: %d units, %d residents", units, residents)
    return DemoResult(
        estate, units, residents, vehicles, spaces, accounts, money.bills, money.payments
    )
