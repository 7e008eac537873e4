"""The demo estate's notices (公告通知): the notice board of an estate office in an ordinary
week — the fees notice for everyone, a water cut for the first building only, the owners'
meeting, a pinned safety notice, an event with a picture, one waiting to go out tomorrow
morning, a draft, a withdrawn one and an expired one — and what the demo residents have read.

Every notice is written, published, scheduled, withdrawn and read through the notices
service, at times relative to today in the estate's zone, so the demo looks the same on any
day. None is sent by mail: they went out in the past, the demo's addresses are at
example.com, and a push would only fill the outbox with mail nobody can receive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Building,
    Estate,
    Notice,
    NoticeAudience,
    NoticeCategory,
    NoticePriority,
    NoticeReach,
    User,
    utcnow,
)

from . import notices
from .notices import NoticeDraft
from .today import DEFAULT_ZONE, estate_today

WEEKDAYS = "一二三四五六日"


@dataclass
class DemoNotices:
    notices: int
    reads: int


def _day(day: date) -> str:
    return f"{day.month}月{day.day}日（星期{WEEKDAYS[day.weekday()]}）"


def _signed(estate: Estate, day: date) -> str:
    return f"<p>{estate.name}物业服务中心<br>{day.year}年{day.month}月{day.day}日</p>"


def _user(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


class _Board:
    """Writes the notices at their (past) times through the service."""

    def __init__(self, session: Session, estate: Estate, today: date) -> None:
        self.session, self.estate, self.today = session, estate, today
        self.zone = ZoneInfo(estate.timezone or DEFAULT_ZONE)
        self.admin, self.finance = _user(session, "admin"), _user(session, "finance")
        self.made: list[Notice] = []

    def at(self, days: int, hour: int, minute: int = 0) -> datetime:
        """``days`` from today at that local time, in UTC."""
        local = datetime.combine(self.today + timedelta(days=days), time(hour, minute))
        return local.replace(tzinfo=self.zone).astimezone(UTC)

    def write(self, written: datetime, *, by: User | None = None, **fields) -> Notice:
        # The bodies below are wrapped for reading here; a line break inside Chinese text
        # would show as a space, so the lines are joined back.
        fields["body"] = "".join(line.strip() for line in fields["body"].splitlines())
        notice = notices.save(
            self.session, NoticeDraft(**fields), by=by or self.admin, estate=self.estate,
            now=written,
        )  # fmt: skip
        self.made.append(notice)
        return notice

    def publish(self, notice: Notice, when: datetime) -> Notice:
        notices.publish(self.session, notice, by=self.admin, now=when)
        return notice


def _fees(board: _Board) -> Notice:
    estate, today = board.estate, board.today
    month = today.replace(day=1)
    written = board.at(-3, 9, 0)
    body = f"""
<p>各位业主、住户：</p>
<p>{today.year}年度物业服务费现已开始收取。经业主大会表决通过，自{month.month}月1日起，住宅物业服务费
由每月每平方米 2.50 元调整为 2.80 元，停车费、水电费标准不变。各户应缴金额以每月账单为准。</p>
<h3>缴费方式</h3>
<ol>
<li>登录业主服务平台，在“我的账单”中查看明细和缴费方法；</li>
<li>到物业服务中心现场缴纳，可使用微信、支付宝、银行卡或现金；</li>
<li>银行转账请在附言中注明房号，转账后请将凭证交物业服务中心核对。</li>
</ol>
<p>账单到期 15 天后仍未缴纳的，按业主大会通过的规定，每日按欠费金额的万分之三计收滞纳金。
如对账单有疑问，请致电物业服务中心 {estate.phone}（工作日 8:30–17:30）。</p>
<p>感谢各位业主、住户对物业工作的理解与支持！</p>
{_signed(estate, written.astimezone(board.zone).date())}"""
    notice = board.write(
        written, by=board.finance, title=f"关于缴纳{today.year}年度物业费的通知", body=body,
        category=NoticeCategory.fees,
    )  # fmt: skip
    return board.publish(notice, written + timedelta(minutes=40))


def _water_cut(board: _Board, first: Building) -> Notice:
    estate = board.estate
    written = board.at(-1, 16, 30)
    cut = board.today + timedelta(days=1)
    body = f"""
<p>{first.name}各位住户：</p>
<p>因市政供水管网改造施工，自来水公司将于<strong>{_day(cut)} 8:00 至 18:00</strong>
对{first.name}暂停供水，其他楼栋不受影响。如施工提前完成，将提前恢复供水。</p>
<h3>温馨提示</h3>
<ul>
<li>请提前储备生活用水，停水期间请关闭家中水龙头，以免恢复供水时跑水；</li>
<li>恢复供水初期水质可能略显浑浊，放水片刻即可正常使用；</li>
<li>家中有老人、病人需要送水的，请联系物业服务中心，我们将安排送水上门。</li>
</ul>
<p>给您带来的不便，敬请谅解。服务电话：{estate.phone}</p>
{_signed(estate, written.astimezone(board.zone).date())}"""
    notice = board.write(
        written, title=f"{first.name}停水通知", body=body, category=NoticeCategory.outage,
        priority=NoticePriority.urgent, reach=NoticeReach.buildings, building_ids=[first.id],
    )  # fmt: skip
    return board.publish(notice, written + timedelta(minutes=5))


def _owners_meeting(board: _Board) -> Notice:
    estate = board.estate
    written = board.at(-4, 14, 0)
    meeting = board.today + timedelta(days=12)
    body = f"""
<p>各位业主：</p>
<p>根据《业主大会议事规则》，业主委员会定于<strong>{_day(meeting)} 19:00</strong>
在小区会所二楼会议室召开{board.today.year}年度业主大会，现将有关事项通知如下。</p>
<h3>会议议题</h3>
<ol>
<li>业主委员会年度工作报告；</li>
<li>物业服务中心年度工作及公共收益收支情况报告；</li>
<li>审议地下车库照明节能改造方案（使用公共维修资金）；</li>
<li>业主提问与答复。</li>
</ol>
<p>请业主本人携带身份证和房产证（或购房合同）参会；不能到场的，可书面委托他人代为表决，
委托书可到物业服务中心领取。本通知仅发送给业主，租户无需参会。</p>
<p>{estate.name}业主委员会<br>{estate.name}物业服务中心（代发）</p>"""
    notice = board.write(
        written, title=f"关于召开{board.today.year}年度业主大会的通知", body=body,
        category=NoticeCategory.general, audience=NoticeAudience.owners,
    )  # fmt: skip
    return board.publish(notice, written + timedelta(minutes=30))


def _e_bikes(board: _Board) -> Notice:
    estate = board.estate
    written = board.at(-6, 10, 0)
    body = f"""
<p>各位业主、住户：</p>
<p>近期多地发生电动自行车充电引发的火灾，为保障大家的生命财产安全，请共同遵守以下规定：</p>
<ul>
<li><strong>严禁</strong>将电动自行车及电池推入电梯、带回家中充电；</li>
<li><strong>严禁</strong>在楼道、楼梯间、安全出口停放电动自行车或私拉电线充电；</li>
<li>请到地下车库非机动车区或小区南门充电棚集中停放、充电，充满后及时断电；</li>
<li>请使用原厂充电器，不要改装电池，电池鼓包、发热请立即停止使用。</li>
</ul>
<p>物业服务中心将每周巡查楼道，发现违规停放的，将先电话提醒，拒不整改的，将报社区及消防部门处理。
发现火情请立即拨打 <a href="tel:119">119</a>，并通知物业服务中心 {estate.phone}。</p>
{_signed(estate, written.astimezone(board.zone).date())}"""
    notice = board.write(
        written, title="电动自行车停放充电安全提示", body=body, category=NoticeCategory.safety,
        priority=NoticePriority.important,
    )  # fmt: skip
    return board.publish(notice, written + timedelta(minutes=10))


def _festival(board: _Board, safety: Notice) -> Notice:
    estate = board.estate
    written = board.at(-2, 10, 0)
    ahead = (5 - board.today.weekday()) % 7
    day = board.today + timedelta(days=ahead if ahead >= 3 else ahead + 7)  # a Saturday
    base = current_app.config["BASE_URL"].rstrip("/")
    phone = "".join(c for c in estate.phone if c.isdigit())
    body = f"""
<p>各位业主、住户：</p>
<p>为丰富社区文化生活、增进邻里交流，物业服务中心将举办第三届邻里文化节，欢迎全家一起参加。</p>
<h2>时间和地点</h2>
<p><strong>{_day(day)} 9:00–16:00</strong>，小区中心花园。如遇雨天，改在会所一楼多功能厅举行。</p>
<p><img src="{base}/static/img/demo-notice-garden.svg" alt="中心花园活动场地" width="600"></p>
<h2>活动安排</h2>
<ul>
<li>9:00–11:00 亲子手工、儿童绘画比赛；</li>
<li>10:00–12:00 社区医院义诊，磨刀、修伞、家电清洗等便民服务；</li>
<li>14:00–16:00 邻里跳蚤市场（摊位免费，共 20 个）。</li>
</ul>
<h2>报名方式</h2>
<p>跳蚤市场摊位请于活动前一天 17:00 前报名，电话 <a href="tel:{phone}">{estate.phone}</a>，
或到物业服务中心登记。活动当天请勿将电动自行车停放在花园周边，详见
<a href="{base}/portal/notices/{safety.id}">电动自行车停放充电安全提示</a>。</p>
{_signed(estate, written.astimezone(board.zone).date())}"""
    notice = board.write(
        written, title="第三届邻里文化节活动通知", body=body, category=NoticeCategory.event,
        expires_at=board.at((day - board.today).days + 1, 0, 0),
    )  # fmt: skip
    return board.publish(notice, written + timedelta(minutes=20))


def _tenant_registration(board: _Board) -> Notice:
    written = board.at(-10, 9, 30)
    body = f"""
<p>各位租户：</p>
<p>根据派出所流动人口管理要求，租住本小区的住户请在入住后 30 日内到物业服务中心办理居住登记，
已登记的无需重复办理。</p>
<ul>
<li>需携带：本人身份证、租赁合同；</li>
<li>办理时间：工作日 8:30–17:30，周六 9:00–12:00。</li>
</ul>
<p>登记信息仅用于小区安全管理，物业服务中心将依法保护您的个人信息。</p>
{_signed(board.estate, written.astimezone(board.zone).date())}"""
    notice = board.write(
        written, title="关于租户办理居住登记的通知", body=body, audience=NoticeAudience.tenants,
    )  # fmt: skip
    return board.publish(notice, written + timedelta(minutes=15))


def _spraying(board: _Board) -> Notice:
    """Written today, to go out tomorrow morning (``flask notices publish``)."""
    written = min(board.at(0, 11, 0), utcnow() - timedelta(minutes=5))
    work = board.today + timedelta(days=2)
    body = f"""
<p>各位业主、住户：</p>
<p>为防治绿化带病虫害，物业服务中心将于<strong>{_day(work)} 7:00–11:00</strong>
对小区绿化带进行修剪和药物喷洒。所用药剂为低毒园林用药，但仍请注意：</p>
<ul>
<li>作业期间请看管好儿童和宠物，不要进入草坪和绿化带；</li>
<li>请提前收回晾晒在绿化带旁的衣物；</li>
<li>喷洒后 24 小时内请勿采摘花草。</li>
</ul>
{_signed(board.estate, board.today + timedelta(days=1))}"""
    notice = board.write(
        written, title="绿化带修剪及病虫害防治通知", body=body, category=NoticeCategory.general,
    )  # fmt: skip
    notices.schedule(board.session, notice, board.at(1, 8, 0), by=board.admin, now=written)
    return notice


def _parking_draft(board: _Board) -> Notice:
    written = min(board.at(0, 10, 0), utcnow() - timedelta(minutes=10))
    body = """
<p>各位业主、住户：</p>
<p>为缓解小区停车难，物业服务中心拟调整车辆出入管理办法，现征求大家意见：</p>
<ol>
<li>访客车辆免费停放时间由 2 小时调整为 1 小时；</li>
<li>夜间 22:00 后，未登记车辆不再允许进入地面停车位；</li>
<li>新增地下车库临时车位 12 个，优先提供给无固定车位的业主。</li>
</ol>
<p>意见请于本通知发布之日起 10 日内反馈至物业服务中心。</p>"""
    return board.write(
        written, by=board.finance, title="关于调整小区车辆出入管理的通知（征求意见稿）",
        body=body, category=NoticeCategory.general,
    )  # fmt: skip


def _gas_check(board: _Board) -> Notice:
    """Published with the wrong date, withdrawn the next morning."""
    written = board.at(-8, 15, 0)
    body = """
<p>各位业主、住户：</p>
<p>燃气公司将于下周一至周三对小区住户进行年度燃气管道安全检查，检查人员持证上门，不收取任何费用。
请家中留人配合，无法留人的请与物业服务中心预约时间。</p>"""
    notice = board.write(
        written, title="燃气管道入户安全检查通知", body=body, category=NoticeCategory.safety,
    )  # fmt: skip
    board.publish(notice, written + timedelta(minutes=10))
    notices.withdraw(board.session, notice, by=board.admin, now=board.at(-7, 8, 45))
    return notice


def _gate_repair(board: _Board) -> Notice:
    """Out for a week three weeks ago; past its expiry, it has left the portal."""
    written = board.at(-20, 9, 0)
    body = f"""
<p>各位业主、住户：</p>
<p>小区南门车辆道闸于{_day(board.today - timedelta(days=19))}起更换，工期约一周。
施工期间南门只供行人通行，车辆请从北门进出，给您带来的不便敬请谅解。</p>
{_signed(board.estate, written.astimezone(board.zone).date())}"""
    notice = board.write(
        written, title="南门道闸更换期间车辆通行提示", body=body,
        category=NoticeCategory.general, expires_at=board.at(-12, 18, 0),
    )  # fmt: skip
    return board.publish(notice, written + timedelta(minutes=15))


def seed_demo_notices(session: Session, estate: Estate) -> DemoNotices:
    """The demo's notices and read receipts: ``owner`` has read some of theirs (the portal
    shows an unread count), ``owner2`` a few, ``tenant`` none."""
    board = _Board(session, estate, estate_today(estate))
    first = session.scalar(
        select(Building).where(Building.estate_id == estate.id).order_by(Building.id).limit(1)
    )
    fees = _fees(board)
    _water_cut(board, first)
    meeting = _owners_meeting(board)
    safety = _e_bikes(board)
    _festival(board, safety)
    _tenant_registration(board)
    _spraying(board)
    _parking_draft(board)
    gas = _gas_check(board)
    gate = _gate_repair(board)

    owner, owner2 = (_user(session, name).resident for name in ("owner", "owner2"))
    reads = [
        (owner, fees, board.at(-3, 20, 15)),
        (owner, safety, board.at(-5, 8, 5)),
        (owner, gas, board.at(-8, 19, 30)),
        (owner, gate, board.at(-19, 7, 50)),
        (owner2, fees, board.at(-2, 12, 40)),
        (owner2, meeting, board.at(-4, 21, 0)),
    ]
    for resident, notice, when in reads:
        notices.mark_read(session, notice, resident, now=when)
    session.flush()
    return DemoNotices(notices=len(board.made), reads=len(reads))
