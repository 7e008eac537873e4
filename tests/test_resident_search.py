"""The register's search box at scale: each kind of term (name from its start, unit,
plate, full number) finds its residents inside the staff member's estates only, odd
input gives a page and never an error, the page costs the same number of queries
however many residents match, and the database answers from an index (issue 12)."""

import re

import pytest
from sqlalchemy import select, text

from models import Building, Resident, Unit, Vehicle

OTHER_ESTATE = "翠湖花园"


@pytest.fixture
def zhang(demo, db_session):
    return db_session.scalar(select(Resident).where(Resident.name == "张伟"))


@pytest.fixture
def twin(make, zhang):
    """Another estate's 张伟: same name, unit label, plate and mobile as the demo's."""
    occupancy = next(o for o in zhang.occupancies if o.is_current)
    estate = make.estate(name=OTHER_ESTATE)
    building = make.building(estate, name=occupancy.unit.building.name)
    unit = make.unit(building, number=occupancy.unit.number)
    resident = make.resident(estate, unit=unit, name="张伟", mobile=zhang.mobile)
    make._save(Vehicle(estate=estate, plate=zhang.vehicles[0].plate, owner=resident))
    return resident


def listed(page) -> list[tuple[str, str]]:
    """(name, estate) of each row of the resident list."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.text, flags=re.S)
    found = []
    for row in rows:
        cells = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        ]
        names = [c for c in cells if c in ("张伟", "王芳")]
        if names:
            found.append((names[0], cells[-1]))
    return found


def search(client, query):
    page = client.get("/admin/resident/", query_string={"search": query})
    assert page.status_code == 200, (query, page.status_code)
    return page


def test_each_kind_finds_the_resident_of_ones_own_estate_only(login_as, zhang, twin):
    occupancy = next(o for o in zhang.occupancies if o.is_current)
    admin = login_as("admin")
    for query in ("张伟", "张", occupancy.unit.label, zhang.vehicles[0].plate, zhang.mobile):
        page = search(admin, query)
        assert "张伟" in page.text, query
        assert OTHER_ESTATE not in page.text, query


def test_a_name_is_found_from_its_start(login_as, zhang):
    admin = login_as("admin")
    assert "张伟" in search(admin, "张伟").text
    assert "张伟" not in search(admin, "伟").text  # not a part from the middle


@pytest.mark.parametrize(
    "query",
    [
        "%",
        "_",
        "张%",
        "张_",
        "'; DROP TABLE resident; --",
        '"',
        "\\",
        "/",
        "1-1%1",
        "A_1%",
        "张" * 5000,
        "1-" + "1" * 3000,
        "x" * 10_000,
        "\U0010ffff",
    ],
)
def test_odd_input_gives_a_page_and_wildcards_are_plain_text(login_as, zhang, query):
    page = search(login_as("admin"), query)
    assert "张伟" not in page.text


def test_a_search_page_costs_the_same_queries_however_many_match(
    login_as, make, demo, db_session, count_queries
):
    from models import Estate

    estate = db_session.get(Estate, demo)
    for i in range(30):
        make.resident(estate, name=f"欧阳{i:02d}")
    admin = login_as("admin")
    counts = {}
    for query in ("欧阳00", "欧阳0", "欧阳"):
        search(admin, query)  # warm up
        with count_queries() as queries:
            page = search(admin, query)
        counts[query] = len(queries)
        assert "欧阳00" in page.text
    # 1 or 10 found: the page is not full and tells the count; 30: a full page, counted.
    assert counts["欧阳00"] == counts["欧阳0"] == counts["欧阳"] - 1, counts


@pytest.mark.parametrize("kind", ["name", "unit", "plate", "mobile", "id_number", "mixed"])
def test_each_kind_is_answered_from_an_index(app, backend, zhang, db_session, kind):
    """SQLite: no table scan in the plan. PostgreSQL plans by table size, so sequential
    scans are priced out first: a scan that remains has no index to use instead."""
    from propadmin.services.resident_search import search_clause

    occupancy = next(o for o in zhang.occupancies if o.is_current)
    query = {
        "name": "张伟",
        "unit": occupancy.unit.label,
        "plate": zhang.vehicles[0].plate,
        "mobile": zhang.mobile,
        "id_number": zhang.id_number,
        "mixed": "ANNA",  # a name or a plate part
    }[kind]
    with app.app_context():
        stmt = (
            select(Resident.id)
            .where(search_clause(query, {zhang.estate_id}, exact_numbers=True))
            .order_by(Resident.name)
            .limit(20)
        )
        compiled = stmt.compile(db_session.get_bind(), compile_kwargs={"literal_binds": True})
        if backend == "sqlite":
            plan = db_session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        else:
            db_session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = db_session.execute(text(f"EXPLAIN {compiled}")).all()
    details = " | ".join(row[-1] for row in plan)
    for table in ("resident", "vehicle", "unit", "building", "occupancy"):
        assert not re.search(rf"\bSCAN {table}\b(?! USING)", details), details
        assert not re.search(rf"Seq Scan on {table}\b", details), details


def test_a_unit_search_lists_only_its_residents(login_as, zhang, db_session):
    occupancy = next(o for o in zhang.occupancies if o.is_current)
    unit = db_session.get(Unit, occupancy.unit_id)
    building = db_session.get(Building, unit.building_id)
    written = f"{building.name.removesuffix('栋')}栋{unit.number}室"
    names = {name for name, _estate in listed(search(login_as("admin"), written))}
    assert names == {"张伟"}


def test_a_search_is_a_statement_sqlalchemy_can_cache(app, login_as, zhang):
    """Every kind of term gives statements SQLAlchemy compiles once and then finds in its
    cache by shape, the typed text going as bound values (a statement without a cache key
    was compiled afresh on every search, which cost more than running it)."""
    from sqlalchemy import event

    from propadmin.extensions import db

    occupancy = next(o for o in zhang.occupancies if o.is_current)
    admin = login_as("admin")
    with app.app_context():
        engine = db.engine
    selects = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append((context.cache_hit.name, statement))

    event.listen(engine, "before_cursor_execute", note)
    try:
        for query in ("张", "王", occupancy.unit.label, zhang.vehicles[0].plate, "ANNA"):
            search(admin, query)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    uncached = [s for hit, s in selects if hit == "NO_CACHE_KEY"]
    assert selects and not uncached, uncached[:1]
