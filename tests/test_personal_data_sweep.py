"""Personal data end to end: nothing readable at rest, nothing in full on any page,
export or mail for finance, repair, owner or tenant; tampering refused; keys rotate."""

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from models import Base, Occupancy, Resident, User
from propadmin.crypto import TamperedValue

from .helpers import DEMO_PASSWORD, csrf_from, login
from .test_access import a_record_of_each_view, all_rules


def plaintexts(db_session):
    residents = db_session.scalars(select(Resident)).all()
    values = set()
    for r in residents:
        values.update(v for v in (r.id_number, r.mobile, r.emergency_phone) if v)
    assert len(values) > 50
    return values


def test_the_raw_database_holds_no_id_or_mobile_number(app, demo, db_session, backend):
    secrets = plaintexts(db_session)
    found = []
    for table in Base.metadata.sorted_tables:
        for row in db_session.execute(select(text("*")).select_from(table)):
            cells = " ".join(str(c) for c in row)
            found += [f"{table.name}: {s}" for s in secrets if s in cells]
    assert found == []
    if backend == "sqlite":  # the demo estate was committed to this file
        database_file = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
        with open(database_file, "rb") as fh:
            raw = fh.read().decode("latin-1")
        assert not [s for s in secrets if s in raw]


@pytest.mark.parametrize("role", ["finance", "repair", "owner", "tenant"])
def test_no_page_export_or_mail_shows_a_full_number_to(role, app, demo, db_session, smtp):
    full_ids = {r.id_number for r in db_session.scalars(select(Resident)) if r.id_number}
    client = app.test_client()
    assert login(client, role).status_code == 302
    bodies = []
    resident_ids = db_session.scalars(select(Resident.id)).all()
    rules = all_rules(app, a_record_of_each_view(app, db_session))
    urls = [url for _e, method, url in rules if method == "GET" and "/static/" not in url]
    urls += [f"/admin/resident/details/?id={i}" for i in resident_ids]
    occupancy_ids = db_session.scalars(select(Occupancy.id).order_by(Occupancy.id).limit(5))
    urls += [f"/admin/occupancy/details/?id={i}" for i in occupancy_ids]
    for url in urls:
        response = client.get(url)
        data = response.data
        response.close()
        if url.endswith("/xlsx/") and response.status_code == 200:
            sheet = load_workbook(io.BytesIO(data)).worksheets[0]
            bodies.append(" ".join(str(c.value) for row in sheet.iter_rows() for c in row))
        else:
            bodies.append(data.decode("utf-8", "replace"))
    # Mail the role receives: a password change notice.
    if role in ("owner", "tenant"):
        page = client.get("/portal/profile")
        client.post(
            "/portal/profile",
            data={
                "current": DEMO_PASSWORD,
                "password": "Another-Lark-59",
                "confirm": "Another-Lark-59",
                "csrf_token": csrf_from(page.text),
            },
        )
        bodies += [m.as_string() for m in smtp.mailbox.wait(1)]
        assert smtp.mailbox.messages
    leaked = [i for i in full_ids for body in bodies if i in body]
    assert leaked == []
    assert sum(len(b) for b in bodies) > 10_000  # the crawl really saw pages


def test_finance_sees_residents_masked_and_repair_sees_none(login_as, db_session):
    resident = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    finance = login_as("finance").get("/admin/resident/").text
    assert "张伟" in finance and resident.id_number[-4:] in finance
    assert login_as("repair").get("/admin/resident/").status_code == 403


def test_a_tampered_ciphertext_is_refused(app, demo, db_session, login_as):
    resident = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    resident_id, plain = resident.id, resident.id_number
    token = db_session.scalar(
        text("SELECT id_number FROM resident WHERE id = :id"), {"id": resident_id}
    )
    forged = token[:-8] + ("A" if token[-8] != "A" else "B") + token[-7:]
    db_session.execute(
        text("UPDATE resident SET id_number = :t WHERE id = :i"), {"t": forged, "i": resident_id}
    )
    db_session.commit()
    db_session.expunge_all()
    with pytest.raises(TamperedValue):
        db_session.scalar(select(Resident.id_number).where(Resident.id == resident_id))
    db_session.rollback()
    # The page shows the mask kept beside the number, so it opens; revealing the number
    # decrypts it, and the forgery is refused there.
    admin = login_as("admin")
    page = admin.get(f"/admin/resident/details/?id={resident_id}")
    assert page.status_code == 200 and plain[-4:] in page.text and plain not in page.text
    shown = admin.post(
        f"/admin/resident/reveal/?id={resident_id}",
        data={"field": "id_number", "csrf_token": csrf_from(page.text)},
    )
    assert shown.status_code == 500 and "完整性校验" in shown.text
    assert plain not in shown.text


def test_keys_rotate_and_everything_stays_readable(app, demo, db_session, tmp_path, runner):
    import json

    from propadmin.crypto import FieldCrypto

    old_keys = list(app.config["FIELD_ENCRYPTION_KEYS"])
    secrets_file = tmp_path / "instance" / "secrets.json"
    secrets_file.write_text(
        json.dumps(
            {
                "SECRET_KEY": app.secret_key,
                "FIELD_ENCRYPTION_KEYS": old_keys,
                "BLIND_INDEX_KEY": app.config["BLIND_INDEX_KEY"],
            }
        )
    )
    before = {r.id: r.id_number for r in db_session.scalars(select(Resident))}
    raw_before = db_session.scalar(text("SELECT id_number FROM resident ORDER BY id LIMIT 1"))
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted" in result.output
    new_keys = json.loads(secrets_file.read_text())["FIELD_ENCRYPTION_KEYS"]
    assert len(new_keys) == 2 and new_keys[1:] == old_keys
    db_session.expire_all()
    raw_after = db_session.scalar(text("SELECT id_number FROM resident ORDER BY id LIMIT 1"))
    assert raw_after != raw_before
    with pytest.raises(TamperedValue):
        FieldCrypto(old_keys, "k").decrypt(raw_after)
    assert FieldCrypto(new_keys[:1], "k").decrypt(raw_after) == before[min(before)]
    assert {r.id: r.id_number for r in db_session.scalars(select(Resident))} == before
    assert login(app.test_client(), "owner").status_code == 302


def test_portal_contact_details_are_validated_and_saved(app, demo, db_session):
    client = app.test_client()
    login(client, "owner")
    page = client.get("/portal/profile")
    bad = client.post(
        "/portal/profile/contact",
        data={
            "mobile": "12345",
            "email": "not-mail",
            "emergency_contact": "张母",
            "emergency_phone": "",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert bad.status_code == 200
    assert "手机号为 11 位数字" in bad.text and "not-mail 不是有效的电子邮箱地址" in bad.text
    good = client.post(
        "/portal/profile/contact",
        data={
            "mobile": "+86 139-0000-1111",
            "email": "Zhang@Example.com",
            "emergency_contact": "张母",
            "emergency_phone": "",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert good.status_code == 302
    db_session.expire_all()
    owner = db_session.scalar(select(User).where(User.username == "owner"))
    assert owner.resident.mobile == "13900001111" and owner.resident.email == "zhang@example.com"
    shown = client.get("/portal/profile").text
    assert "139****1111" in shown and "13900001111" not in shown


def test_portal_contact_form_changes_only_ones_own_record(app, demo, db_session):
    owner2 = db_session.scalar(select(User).where(User.username == "owner2"))
    before = owner2.resident.mobile
    client = app.test_client()
    login(client, "owner")
    page = client.get("/portal/profile")
    client.post(
        "/portal/profile/contact?id=" + str(owner2.resident.id),
        data={
            "mobile": "13900002222",
            "email": "",
            "emergency_contact": "",
            "emergency_phone": "",
            "csrf_token": csrf_from(page.text),
            "resident_id": owner2.resident.id,
        },
    )
    db_session.expire_all()
    assert db_session.get(Resident, owner2.resident.id).mobile == before
