"""Bill generation as a run: the command, its refusals, flagged readings, a failure
midway, a race with another run, and a constant number of queries per batch."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import BillingMethod, MeterReading, Occupancy, Relation
from propadmin.services import ServiceError
from propadmin.services.bill_generation import generate_bills, preview_bills

from .test_bill_generation import PERIOD, bill_count, bills, ctx, estate, generate, read, units

HAN = re.compile(r"[\u3400-\u9fff]")

__all__ = ["ctx", "estate"]  # fixtures


def test_a_failure_midway_leaves_no_bill(ctx, db_session, make, estate, runner, monkeypatch):
    from propadmin.services import bill_generation

    monkeypatch.setattr(bill_generation, "BATCH_SIZE", 2)
    item = make.fee_item(estate, method=BillingMethod.metered, price="1")
    made = units(make, estate, 5)
    for n, unit in enumerate(made):
        read(db_session, make.meter(item, unit), "90" if n == 4 else "110", "100")
    result = runner.invoke(args=["bills", "generate", "--period", PERIOD, "--estate", estate.name])
    assert result.exit_code != 0
    assert "90.00" in result.output
    assert bill_count(db_session, estate) == 0


def test_flagged_readings_need_accepting(ctx, db_session, make, estate, runner):
    item = make.fee_item(estate, method=BillingMethod.metered, price="1")
    (unit,) = units(make, estate, 1)
    reading = read(
        db_session,
        make.meter(item, unit, code="W-0009"),
        "900",
        "100",
        flagged=True,
        flag_note="用量远高于平时",
    )
    preview = preview_bills(db_session, estate.id, PERIOD)
    assert [(f.meter, f.usage) for f in preview.flagged] == [("W-0009", Decimal("800.00"))]
    args = ["bills", "generate", "--period", PERIOD, "--estate", estate.name]
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0 and "--accept-flagged" in refused.output
    assert bill_count(db_session, estate) == 0
    accepted = runner.invoke(args=[*args, "--accept-flagged"])
    assert accepted.exit_code == 0, accepted.output
    db_session.expire_all()
    assert db_session.get(MeterReading, reading.id).reviewed_at is not None
    assert bill_count(db_session, estate) == 1


def test_cli_generates_and_says_so(ctx, db_session, make, estate, runner):
    make.fee_item(estate, method=BillingMethod.fixed, price="10.50")
    units(make, estate, 2)
    args = ["bills", "generate", "--period", PERIOD, "--estate", estate.name]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert f"Generated 2 bills for {estate.name} {PERIOD}, total ¥21.00" in first.output
    second = runner.invoke(args=args)
    assert second.exit_code == 0
    assert f"Nothing added: 2 bills for {PERIOD} already existed" in second.output


@pytest.mark.parametrize(
    "args, says",
    [
        (["--period", "2031-13"], "2031-13"),
        (["--period", "2026-11", "--estate", "没有这个小区"], "没有这个小区"),
    ],
)
def test_cli_refuses_bad_input(app, db_session, make, runner, args, says):
    estate = make.estate()
    make.fee_item(estate, method=BillingMethod.fixed, price="10")
    units(make, estate, 1)
    result = runner.invoke(args=["bills", "generate", *args])
    assert result.exit_code != 0 and says in result.output
    assert bill_count(db_session) == 0


def test_cli_refuses_a_missing_rate(ctx, db_session, make, estate, runner):
    make.fee_item(estate, method=BillingMethod.fixed, price=None, name="垃圾清运费")
    units(make, estate, 1)
    result = runner.invoke(args=["bills", "generate", "--period", PERIOD, "--estate", estate.name])
    assert result.exit_code != 0 and "垃圾清运费" in result.output
    assert bill_count(db_session, estate) == 0


def test_queries_do_not_grow_with_the_number_of_units(ctx, db_session, make, count_queries):
    counts = []
    for n in (20, 200):
        estate = make.estate()
        water = make.fee_item(estate, method=BillingMethod.metered, price="3.2")
        make.fee_item(estate, method=BillingMethod.per_area, price="2.5")
        make.fee_item(estate, method=BillingMethod.per_space, price="100")
        building = make.building(estate)
        rows = _bulk_units(db_session, estate, building, n)
        meters = [make.meter(water, unit) for unit in rows[:3]]
        for meter in meters:
            read(db_session, meter, "110", "100")
        with count_queries() as queries:
            result = generate_bills(db_session, estate.id, PERIOD, actor=None)
        assert result.bills == n
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def _bulk_units(db_session, estate, building, n):
    from models import Resident, Unit

    made = [Unit(building=building, number=f"{i:04d}", area=Decimal("88.00")) for i in range(n)]
    people = [Resident(estate=estate, name=f"住户{i}") for i in range(n)]
    db_session.add_all(made + people)
    db_session.flush()
    db_session.add_all(
        Occupancy(unit=u, resident=p, relation=Relation.owner, is_payer=True)
        for u, p in zip(made, people, strict=True)
    )
    db_session.commit()
    return made


def test_a_run_racing_another_is_refused_cleanly(ctx, db_session, make, estate, monkeypatch):
    from propadmin.services import bill_generation

    make.fee_item(estate, method=BillingMethod.fixed, price="10")
    (unit,) = units(make, estate, 1)
    planned = bill_generation.plan_batch

    def plan_then_lose_the_race(session, *args):
        drafts = planned(session, *args)
        make.bill(unit, period=PERIOD)  # another run commits the same unit's bill meanwhile
        return drafts

    monkeypatch.setattr(bill_generation, "plan_batch", plan_then_lose_the_race)
    with pytest.raises(ServiceError) as exc:
        generate_bills(db_session, estate.id, PERIOD, actor=None)
    assert PERIOD in exc.value.message


def test_cli_without_an_estate_bills_each_estate_in_turn(app, db_session, make, runner):
    from models import Bill

    made = [make.estate(), make.estate()]
    for place in made:
        make.fee_item(place, method=BillingMethod.fixed, price="10")
        units(make, place, 2)
    result = runner.invoke(args=["bills", "generate", "--period", PERIOD])
    assert result.exit_code == 0, result.output
    for place in made:
        assert f"Generated 2 bills for {place.name} {PERIOD}" in result.output
    assert db_session.scalar(select(func.count(Bill.id))) == 4


def test_a_prepaid_balance_pays_the_new_bills_at_once(ctx, db_session, make, estate):
    """Money paid in advance (预存) goes to the period's new bill as it is made: ¥100.00
    ahead on a ¥223.75 bill leaves ¥123.75 owed and the balance at zero."""
    from models import BillStatus, PaymentMethod, PrepaidAccount
    from propadmin.services.payments import topup_prepaid

    (unit,) = units(make, estate, 1, area="89.50")
    make.fee_item(estate, price="2.50")
    topup_prepaid(db_session, unit, Decimal("100.00"), PaymentMethod.cash, "", actor=None)
    db_session.commit()

    result = generate(db_session, estate)
    (bill,) = bills(db_session, estate)
    assert result.prepaid_paid == 1
    assert (bill.amount, bill.paid, bill.owed) == (
        Decimal("223.75"),
        Decimal("100.00"),
        Decimal("123.75"),
    )
    assert bill.status is BillStatus.partial
    account = db_session.scalar(select(PrepaidAccount).where(PrepaidAccount.unit_id == unit.id))
    assert account.balance == Decimal("0.00")


def test_cli_speaks_to_the_operator_in_one_language(ctx, db_session, make, estate, runner):
    """Like ``bills remind``, the command speaks English to whoever runs it, its refusals
    too (the messages of the services it calls, not only its own lines): only the names
    the office wrote (the estate's, a fee item's) stay as they are."""
    water = make.fee_item(estate, method=BillingMethod.metered, price="2", name="水费")
    building = make.building(estate)
    metered, _unmetered = units(make, estate, 2, building=building)
    make.unit(building)  # nobody lives there
    read(db_session, make.meter(water, metered), "110", "100")
    args = ["bills", "generate", "--period", PERIOD, "--estate", estate.name]
    skipped = "  skipped: 1 vacant units, 1 units with no charges"
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        f"Generated 1 bills for {estate.name} {PERIOD}, total ¥20.00", skipped,
    ]
    again = runner.invoke(args=args)
    assert again.stdout.splitlines() == [
        f"Nothing added: 1 bills for {PERIOD} already existed ({estate.name}).", skipped,
    ]
    make.fee_item(estate, method=BillingMethod.fixed, price=None, name="垃圾清运费")
    refusals = [
        runner.invoke(args=["bills", "generate", "--period", "2031-13"]),
        runner.invoke(args=["bills", "generate", "--period", "2026-11", "--estate", "无此小区"]),
        runner.invoke(args=[*args[:3], "2026-12", *args[4:]]),  # 垃圾清运费 has no rate
    ]
    for result in (first, again, *refusals):
        said = result.output.replace(estate.name, "").replace("垃圾清运费", "")
        assert not HAN.search(said.replace("无此小区", "")), result.output
    assert [r.exit_code != 0 for r in refusals] == [True, True, True]
    assert "2031-13" in refusals[0].output and "垃圾清运费" in refusals[2].output
