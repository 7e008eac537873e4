"""Benchmarks of notices: publishing one by mail to a 100,000-resident estate, and a
resident's notice list when 1,000 notices reach them.

``bench_notices(app, url, n)`` is called by tests/bench.py for each backend, on the
migrated database of that run; alone: ``python -m tests.bench --only notices [--backend
...] [--notice-residents N]``.

Data (not measured), written by plain multi-row inserts: one estate of 100 buildings of
32 floors and 8 doors (25,600 homes), ``n`` residents living in them (owners, family,
a tenant in some homes), nine in ten with a mail address — a whole household shares one
in every fifth home — and one in twenty with a portal account (a third of those read
English). For the list: 2,000 notices in the estate, 1,000 of which reach the measured
resident (the whole estate, their building, their home; some pinned, most read) and
1,000 that do not (another building, tenants only, withdrawn, expired, not yet out).

Figures:

- the mail push (``notice_mail.push``: the INSERT … SELECT of one outbox row per address,
  in each reader's language) beside the reference — the same rows, already in a Python
  list, written by one ``insert()`` executemany — both in the same transaction shape
  (flushed, rolled back), median of three turns each, and the ratio (target within 3×);
- the portal list for the resident: median ms and SQL statements of ``GET
  /portal/notices`` (signed in, through the test client), beside a plain Flask page whose
  one hand-written query reads 20 rows of the same table; when the app has no such page
  yet, the list queries the page makes (the count, the page of 20 pinned/unread/newest
  through ``notice_targets.visible_to``, the unread count) beside that query alone.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask, render_template
from sqlalchemy import case, func, select, text

from .bench_bill_list import add_buildings, counting, pooled_app
from .bench_repairs import paired_medians

ESTATE = "公告基准小区"
BUILDINGS, FLOORS, DOORS = 100, 32, 8
OWNER, PASSWORD = "bench_notice_owner", "Bench-notices-4417"  # noqa: S105 - throwaway
LIST = "/portal/notices"
REFERENCE_PAGE = (
    "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>公告</title><ul>"
    "{% for n in rows %}<li><a href=/portal/notices/{{ n.id }}>{{ n.title }}</a>"
    " {{ n.priority }} {{ n.published_at }}</li>{% endfor %}</ul>"
)
REFERENCE_SQL = text(
    "SELECT id, title, priority, published_at FROM notice"
    " WHERE estate_id = :estate AND status = 'published'"
    " ORDER BY published_at DESC, id DESC LIMIT 20"
)


def _now() -> datetime:
    return datetime.now(UTC)


# -- data ---------------------------------------------------------------------------------------
def fill_estate(app, n: int) -> tuple[int, int]:
    """The estate and its ``n`` residents; returns (estate id, the measured resident's id)."""
    from models import Estate, Occupancy, Resident, User
    from propadmin.extensions import db
    from propadmin.services.accounts import create_user

    now = _now()
    with app.app_context():
        estate = Estate(name=ESTATE)
        db.session.add(estate)
        db.session.flush()
        buildings = add_buildings(db.session, estate.id, BUILDINGS, floors=FLOORS)
        db.session.execute(
            text(
                "INSERT INTO unit (building_id, number, floor, area, layout, use, created_at,"
                " updated_at) VALUES (:b, :n, :f, 9000, '', 'residential', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            [{"b": b, "n": f"{f}{d:02d}", "f": f}
             for b in buildings for f in range(1, FLOORS + 1) for d in range(1, DOORS + 1)],
        )  # fmt: skip
        units = db.session.scalars(
            text("SELECT u.id FROM unit u JOIN building b ON b.id = u.building_id"
                 " WHERE b.estate_id = :e ORDER BY u.id"), {"e": estate.id}
        ).all()  # fmt: skip
        owner = create_user(
            db.session, username=OWNER, email=f"{OWNER}@example.com", password=PASSWORD,
            display_name="基准业主", roles=["owner"], check_strength=False,
        )  # fmt: skip
        db.session.flush()
        users, residents = [], []
        for i in range(n):
            home = i % len(units)
            email = "" if i % 10 == 9 else (f"home{home}@example.com" if home % 5 == 0 else
                                             f"r{i}@example.com")  # fmt: skip
            if i % 20 == 7:
                users.append({
                    "username": f"bench_resident_{i}", "email": f"u{i}@example.com",
                    "display_name": "", "password_hash": "!", "password_changed_at": now,
                    "session_token": f"t{i}", "active": True, "is_superuser": False,
                    "locale": "en" if i % 60 == 7 else None, "created_at": now,
                })  # fmt: skip
            residents.append({"estate_id": estate.id, "name": f"住户{i}", "email": email,
                              "emergency_contact": "", "notes": "", "created_at": now,
                              "updated_at": now, "user_id": None})  # fmt: skip
        for start in range(0, len(users), 10_000):
            db.session.execute(sa.insert(User.__table__), users[start : start + 10_000])
        user_ids = dict(
            db.session.execute(
                select(User.username, User.id).where(User.username.like("bench_r%"))
            ).all()
        )
        for i, row in enumerate(residents):
            row["user_id"] = user_ids.get(f"bench_resident_{i}")
        residents[0]["user_id"] = owner.id
        for start in range(0, n, 10_000):
            db.session.execute(sa.insert(Resident.__table__), residents[start : start + 10_000])
        resident_ids = db.session.scalars(
            select(Resident.id).where(Resident.estate_id == estate.id).order_by(Resident.id)
        ).all()
        rows = []
        for i, resident_id in enumerate(resident_ids):
            home = i % len(units)
            first = i < len(units)
            relation = "owner" if first else ("tenant" if home % 7 == 3 else "family")
            rows.append({"unit_id": units[home], "resident_id": resident_id,
                         "relation": relation, "is_payer": first, "shares_bills": False,
                         "start_date": None, "end_date": None, "created_at": now,
                         "updated_at": now})  # fmt: skip
            if len(rows) == 10_000:
                db.session.execute(sa.insert(Occupancy.__table__), rows)
                rows.clear()
        if rows:
            db.session.execute(sa.insert(Occupancy.__table__), rows)
        db.session.commit()
        return estate.id, resident_ids[0]


def fill_notices(app, estate_id: int, resident_id: int) -> None:
    """1,000 notices that reach the resident and 1,000 that do not; most of the first read."""
    from models import Notice, NoticeBuilding, NoticeRead, NoticeUnit, Occupancy, Unit
    from propadmin.extensions import db

    rng = random.Random(5)
    now = _now()
    with app.app_context():
        home, building = db.session.execute(
            select(Unit.id, Unit.building_id).join(Occupancy, Occupancy.unit_id == Unit.id)
            .where(Occupancy.resident_id == resident_id)
        ).one()  # fmt: skip
        other_building = db.session.scalar(
            text("SELECT id FROM building WHERE estate_id = :e AND id <> :b LIMIT 1"),
            {"e": estate_id, "b": building},
        )
        rows, links = [], []
        for k in range(2000):
            published = now - timedelta(hours=rng.randint(1, 3 * 365 * 24))
            row = {
                "estate_id": estate_id, "title": f"公告 {k}", "body": "<p>通知内容。</p>",
                "category": rng.choice(("outage", "event", "safety", "fees", "general")),
                "priority": rng.choices(("normal", "important", "urgent"), (90, 7, 3))[0],
                "status": "published", "reach": "estate", "audience": "everyone",
                "send_mail": False, "publish_at": None, "published_at": published,
                "expires_at": None, "withdrawn_at": None, "version": 2,
                "created_at": published, "updated_at": published,
            }  # fmt: skip
            if k < 1000:  # reaches the resident
                row["reach"] = rng.choices(("estate", "buildings", "units"), (60, 25, 15))[0]
                links.append((k, row["reach"], building, home))
            else:
                kind = k % 5
                if kind == 0:
                    row["reach"] = "buildings"
                    links.append((k, "buildings", other_building, None))
                elif kind == 1:
                    row["audience"] = "tenants"
                elif kind == 2:
                    row["status"], row["withdrawn_at"] = "withdrawn", published
                elif kind == 3:
                    row["expires_at"] = now - timedelta(days=1)
                else:
                    row["status"], row["published_at"] = "scheduled", None
                    row["publish_at"] = now + timedelta(days=3)
            rows.append(row)
        db.session.execute(sa.insert(Notice.__table__), rows)
        ids = db.session.scalars(
            select(Notice.id).where(Notice.estate_id == estate_id).order_by(Notice.id)
        ).all()
        db.session.execute(sa.insert(NoticeBuilding.__table__), [
            {"notice_id": ids[k], "building_id": b} for k, reach, b, _u in links
            if reach == "buildings"
        ])  # fmt: skip
        db.session.execute(sa.insert(NoticeUnit.__table__), [
            {"notice_id": ids[k], "unit_id": u} for k, reach, _b, u in links if reach == "units"
        ])  # fmt: skip
        db.session.execute(sa.insert(NoticeRead.__table__), [
            {"notice_id": ids[k], "resident_id": resident_id, "read_at": now}
            for k in range(1000) if rng.random() < 0.7
        ])  # fmt: skip
        db.session.commit()


def analyze(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


# -- (a) the mail push --------------------------------------------------------------------------
def push_figures(app, estate_id: int, turns: int = 3) -> list[tuple[str, float, str]]:
    from models import MailingKind, Notice, NoticeStatus, OutboxMessage
    from propadmin.extensions import db
    from propadmin.services.notice_mail import COLUMNS, push

    table = OutboxMessage.__table__
    with app.test_request_context():
        notice = Notice(
            estate_id=estate_id,
            title="小区明日停水通知",
            status=NoticeStatus.published,
            body="<p>因管道检修，明日 9:00–17:00 停水，请提前储水。</p>",
            send_mail=True,
            published_at=_now(),
        )
        db.session.add(notice)
        db.session.commit()
        pushes, references, queued, rows = [], [], 0, None
        for _ in range(turns):
            _ = notice.estate.name  # loaded, as publishing has it
            start = time.perf_counter()
            queued = push(db.session, notice, MailingKind.publish, by=None)
            pushes.append(time.perf_counter() - start)
            if rows is None:
                rows = [
                    dict(r._mapping)
                    for r in db.session.execute(
                        select(*(table.c[c] for c in COLUMNS)).where(table.c.kind == "notice")
                    )
                ]
            db.session.rollback()
            start = time.perf_counter()
            db.session.execute(sa.insert(table), rows)
            db.session.flush()
            references.append(time.perf_counter() - start)
            db.session.rollback()
        db.session.query(Notice).filter_by(id=notice.id).delete()
        db.session.commit()
    took, ref = statistics.median(pushes), statistics.median(references)
    return [
        (f"notice by mail to {queued:,} addresses (median of {turns})", took, "s"),
        ("  reference: same rows from a Python list, one insert()", ref, "s"),
        ("  ratio (push / reference; target within 3×)", took / ref, "×"),
    ]


# -- (b) the portal list ------------------------------------------------------------------------
def list_queries(session, resident_id: int, estate_id: int):
    """The queries ``/portal/notices`` makes (count, a page of 20, the unread count), as the
    page's service shapes them, through ``notice_targets`` — for when the page is absent."""
    from models import Estate, Notice, NoticePriority
    from propadmin.services.notice_targets import unread, visible_to
    from propadmin.services.today import estate_today

    today, now = estate_today(session.get(Estate, estate_id)), _now()
    seen = visible_to(resident_id, today, now)
    is_unread = case((unread(resident_id), 1), else_=0)
    pinned = case((Notice.priority == NoticePriority.urgent, 0),
                  (Notice.priority == NoticePriority.important, 1), else_=2)  # fmt: skip

    def run():
        total = session.scalar(select(func.count(Notice.id)).where(seen))
        page = session.execute(
            select(Notice, is_unread).where(seen)
            .order_by(pinned, is_unread.desc(), Notice.published_at.desc(), Notice.id.desc())
            .limit(20)
        ).all()  # fmt: skip
        unread_count = session.scalar(
            select(func.count(Notice.id)).where(seen, unread(resident_id))
        )
        assert total == 1000 and len(page) == 20 and 0 < unread_count < 1000, total
        session.rollback()

    return run


def list_figures(url: str, estate_id: int, resident_id: int) -> list[tuple[str, float, str]]:
    from propadmin.extensions import db

    from .helpers import login

    app = pooled_app(url)
    with app.app_context():
        engine = db.engine
    ref_engine = sa.create_engine(url)
    ref_app = Flask(__name__)
    ref_page_template = ref_app.jinja_env.from_string(REFERENCE_PAGE)  # compiled once

    @ref_app.get("/notices")
    def ref_page():
        with ref_engine.connect() as conn:
            rows = conn.execute(REFERENCE_SQL, {"estate": estate_id}).all()
        return render_template(ref_page_template, rows=rows)

    ref_client = ref_app.test_client()
    client = app.test_client()
    assert login(client, OWNER, PASSWORD).status_code == 302
    status = client.get(LIST).status_code
    out: list[tuple[str, float, str]] = []
    if status == 200:

        def measured():
            response = client.get(LIST)
            assert response.status_code == 200 and "公告 " in response.text

        def reference():
            assert ref_client.get("/notices").text.count("<li>") == 20

        label = f"portal {LIST}, 1,000 notices, page 1"
        ref_label = "  reference: one-query page of 20 notices (median)"
    else:
        out.append((f"  NOTE: {LIST} answers {status}: timing the queries it will make",
                    status, "HTTP"))  # fmt: skip
        context = app.app_context()
        context.push()
        measured = list_queries(db.session, resident_id, estate_id)

        def reference():
            with ref_engine.connect() as conn:
                assert len(conn.execute(REFERENCE_SQL, {"estate": estate_id}).all()) == 20

        label = "portal list queries (count, page, unread), 1,000 notices"
        ref_label = "  reference: hand-written query of 20 notices (median)"
    with counting(engine) as statements:
        measured()
    ms, ref_ms = paired_medians(measured, reference)
    if status != 200:
        context.pop()
    ref_engine.dispose()
    return out + [
        (f"{label} (median)", ms, "ms"),
        ("  SQL statements", len(statements), "queries"),
        (ref_label, ref_ms, "ms"),
        ("  ratio (list / reference)", ms / ref_ms, "×"),
    ]


def bench_notices(app, url: str, n: int = 100_000) -> list[tuple[str, float, str]]:
    start = time.perf_counter()
    estate_id, resident_id = fill_estate(app, n)
    fill_notices(app, estate_id, resident_id)
    analyze(url)
    filled = time.perf_counter() - start
    return [
        (f"(filled {n:,} residents and 2,000 notices; not measured)", filled, "s"),
        *push_figures(app, estate_id),
        *list_figures(url, estate_id, resident_id),
    ]
