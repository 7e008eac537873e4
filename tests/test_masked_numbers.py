"""Masked numbers kept beside their ciphertext (issue 12): every way a number is written
keeps its mask right, and the pages, the export and the portal, which show only masks,
decrypt nothing. The migration that adds the masks is in test_masked_migration.py."""

from __future__ import annotations

import csv
import io

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Text, insert, select, type_coerce

from models import RepairRequest, Resident, Unit, mask_id_number, mask_mobile, masked_numbers
from propadmin.crypto import FieldCrypto

from .helpers import csrf_from, id_number
from .test_register_io import good_rows, sheet, upload

ID_A, ID_B = id_number("11010519900307123"), id_number("31011519850101004")


@pytest.fixture
def decrypts(app, monkeypatch):
    """Every decryption the app's field cipher makes, while the test runs."""
    from models import field_cipher

    cipher = app.extensions["propadmin.crypto"]
    assert field_cipher() is cipher
    calls: list[str] = []
    real = cipher.decrypt
    monkeypatch.setattr(cipher, "decrypt", lambda token: calls.append(token) or real(token))
    return calls


def stored(db_session, resident_id: int) -> tuple[dict, dict]:
    """(the masks as stored, the masks of the numbers as stored)."""
    db_session.expire_all()
    row = db_session.execute(
        select(
            Resident.id_number,
            Resident.mobile,
            Resident.emergency_phone,
            Resident.id_number_masked,
            Resident.mobile_masked,
            Resident.emergency_phone_masked,
        ).where(Resident.id == resident_id)
    ).one()
    masks = dict(zip(masked_numbers(), row[3:], strict=True))
    return masks, masked_numbers(*row[:3])


def test_the_masks_are_what_every_page_showed():
    assert masked_numbers("110105199003071234", "13812341234", None) == {
        "id_number_masked": "110***********1234",
        "mobile_masked": "138****1234",
        "emergency_phone_masked": "",
    }
    assert mask_id_number("110105199003071234") == "110***********1234"
    assert mask_mobile("13812341234") == "138****1234"


def test_saving_and_updating_contact_details_keep_the_masks(app, make, db_session):
    from propadmin.services.residents import update_contact

    resident = make.resident(id_number=ID_A, mobile="13812341234", emergency_phone="13900001111")
    masks, expected = stored(db_session, resident.id)
    assert masks == expected == masked_numbers(ID_A, "13812341234", "13900001111")
    with app.test_request_context():
        update_contact(
            db_session,
            resident,
            mobile="13700002222",
            email="",
            emergency_contact="",
            emergency_phone=None,
        )
    db_session.commit()
    masks, expected = stored(db_session, resident.id)
    assert masks == expected
    assert masks["mobile_masked"] == "137****2222" and masks["emergency_phone_masked"] == ""
    assert masks["id_number_masked"] == mask_id_number(ID_A)


def test_the_admin_form_keeps_the_masks(login_as, db_session, demo):
    admin = login_as("admin")
    page = admin.get("/admin/resident/new/")
    response = admin.post(
        "/admin/resident/new/",
        data={
            "estate": str(demo),
            "name": "掩码新户",
            "id_number_input": ID_B,
            "mobile_input": "13600003333",
            "email": "",
            "emergency_contact": "",
            "emergency_phone_input": "",
            "notes": "",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 302
    resident_id = db_session.scalar(select(Resident.id).where(Resident.name == "掩码新户"))
    masks, expected = stored(db_session, resident_id)
    assert masks == expected == masked_numbers(ID_B, "13600003333", None)
    form = admin.get(f"/admin/resident/edit/?id={resident_id}").text
    assert "136****3333" in form and "13600003333" not in form  # the placeholder


def test_an_imported_sheet_gets_its_masks(login_as, db_session, demo):
    assert upload(login_as("admin"), sheet(good_rows()), estate=demo).status_code == 302
    for name in ("赵一", "赵二", "钱三"):
        resident_id = db_session.scalar(select(Resident.id).where(Resident.name == name))
        masks, expected = stored(db_session, resident_id)
        assert masks == expected, name
    zhao = db_session.scalar(select(Resident).where(Resident.name == "赵一"))
    assert zhao.mobile_masked == "139****2222"


def test_a_set_based_insert_gets_its_masks(make, db_session):
    estate = make.estate()
    rows = [
        {"estate_id": estate.id, "name": "批量甲", "id_number": ID_A, "mobile": "13500004444"},
        {"estate_id": estate.id, "name": "批量乙", "emergency_phone": "13400005555"},
        {"estate_id": estate.id, "name": "批量丙", "mobile": "13300006666"}
        | masked_numbers(mobile="13300006666"),
    ]
    db_session.execute(insert(Resident), rows)
    db_session.commit()
    for row in rows:
        resident_id = db_session.scalar(select(Resident.id).where(Resident.name == row["name"]))
        masks, expected = stored(db_session, resident_id)
        assert masks == expected, row["name"]
    assert expected == masked_numbers(None, "13300006666", None)


def test_the_demo_register_has_every_mask(demo, db_session):
    complete = 0
    for resident_id in db_session.scalars(select(Resident.id)).all():
        masks, expected = stored(db_session, resident_id)
        assert masks == expected
        complete += all(masks.values())
    assert complete > 20


def test_key_rotation_leaves_the_masks_as_they_were(app, make, db_session):
    from propadmin.services.keys import reencrypt_all

    resident = make.resident(id_number=ID_A, mobile="13812341234")
    before, _ = stored(db_session, resident.id)
    old = app.config["FIELD_ENCRYPTION_KEYS"]
    rotated = FieldCrypto([Fernet.generate_key().decode(), *old], "k")
    assert reencrypt_all(db_session, rotated) >= 2
    db_session.expire_all()
    after = db_session.execute(
        select(type_coerce(Resident.mobile, Text), Resident.mobile_masked).where(
            Resident.id == resident.id
        )
    ).one()
    assert rotated.decrypt(after[0]) == "13812341234" and after[1] == before["mobile_masked"]


def test_a_repair_request_keeps_its_contact_phone_masked(make, db_session):
    repair = make.repair(contact_phone="13900000000")
    assert repair.contact_phone_masked == "139****0000"
    repair.contact_phone = None
    db_session.commit()
    db_session.expire_all()
    again = db_session.get(RepairRequest, repair.id)
    assert again.contact_phone_masked == "" and again.contact_phone is None


def test_lists_export_and_portal_decrypt_nothing(login_as, db_session, decrypts):
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    unit_id = db_session.scalar(select(Unit.id).order_by(Unit.id))
    admin, owner = login_as("admin"), login_as("owner")
    pages = {
        "/admin/resident/": admin,
        f"/admin/resident/details/?id={zhang.id}": admin,
        f"/admin/resident/edit/?id={zhang.id}": admin,
        f"/admin/unit/details/?id={unit_id}": admin,
        "/admin/resident/export/csv/": admin,
        "/portal/": owner,
        "/portal/profile": owner,
        "/portal/repairs/new": owner,
        "/portal/repairs": owner,
    }
    decrypted, bodies = {}, {}
    for url, client in pages.items():
        decrypts.clear()
        response = client.get(url)
        assert response.status_code == 200, url
        bodies[url] = response.get_data(as_text=True)
        decrypted[url] = len(decrypts)
    assert decrypted == dict.fromkeys(pages, 0)
    assert zhang.id_number_masked in bodies["/admin/resident/"]
    exported = list(csv.reader(io.StringIO(bodies["/admin/resident/export/csv/"].lstrip("\ufeff"))))
    row = next(r for r in exported if r[0] == "张伟")
    assert row[2:4] == [zhang.mobile_masked, zhang.id_number_masked]
    assert "****" in bodies["/portal/profile"]


def test_a_reveal_decrypts_the_one_value_shown(login_as, db_session, decrypts):
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    admin = login_as("admin")
    details = admin.get(f"/admin/resident/details/?id={zhang.id}")
    decrypts.clear()
    shown = admin.post(
        f"/admin/resident/reveal/?id={zhang.id}",
        data={"field": "mobile", "csrf_token": csrf_from(details.text)},
    )
    assert shown.status_code == 200 and len(decrypts) == 1
    assert zhang.mobile in shown.text
