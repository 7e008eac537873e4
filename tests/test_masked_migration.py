"""Migration 0009 adds the masked numbers to an existing register on both backends,
computing them from the ciphertext in batches; a number that cannot be decrypted gets
an empty mask and is counted in the log, and the upgrade goes on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import masked_numbers

from .conftest import _create_pg_database, _drop_pg_database, _make_app
from .helpers import id_number

PEOPLE = [
    (id_number("11010519900307123"), "13812341234", "13900001111"),
    (None, "13700002222", None),
    (id_number("31011519850101004"), None, None),
]


@pytest.mark.committed
def test_upgrading_fills_the_masks_of_existing_residents(backend, tmp_path, capfd):
    from flask_migrate import upgrade

    from propadmin.extensions import db

    url = f"sqlite:///{tmp_path / 'old.db'}" if backend == "sqlite" else _create_pg_database()
    try:
        app = _make_app(url, tmp_path / "instance")
        crypto = app.extensions["propadmin.crypto"]
        with app.app_context():
            upgrade(revision="0008_notices")
            with db.engine.begin() as conn:
                estate_id = conn.execute(
                    sa.text(
                        "INSERT INTO estate (name, address, phone, timezone, created_at,"
                        " updated_at) VALUES ('旧小区', '', '', 'Asia/Shanghai',"
                        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
                    )
                ).scalar_one()
                people = [
                    {
                        "name": f"住户{i}",
                        **{
                            key: crypto.encrypt(value) if value else None
                            for key, value in zip(("idn", "mob", "emg"), numbers, strict=True)
                        },
                    }
                    for i, numbers in enumerate(PEOPLE)
                ]
                people.append({"name": "坏密文", "idn": "gAAAAA-forged", "mob": None, "emg": None})
                conn.execute(
                    sa.text(
                        "INSERT INTO resident (estate_id, name, id_number, mobile,"
                        " emergency_phone, email, emergency_contact, notes, created_at,"
                        " updated_at) VALUES (:estate, :name, :idn, :mob, :emg, '', '', '',"
                        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    [{"estate": estate_id, **p} for p in people],
                )
            capfd.readouterr()
            upgrade(revision="0009_masked_numbers")  # logs to stderr (alembic.ini)
            logged = capfd.readouterr().err
            with db.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT name, id_number_masked, mobile_masked, emergency_phone_masked"
                        " FROM resident ORDER BY id"
                    )
                ).all()
            db.engine.dispose()
    finally:
        if backend != "sqlite":
            _drop_pg_database(url)
    masks = {name: dict(zip(masked_numbers(), rest, strict=True)) for name, *rest in rows}
    for i, numbers in enumerate(PEOPLE):
        assert masks[f"住户{i}"] == masked_numbers(*numbers)
    assert masks["坏密文"] == masked_numbers()
    assert "masked the numbers of 4 residents" in logged
    assert "1 residents have numbers that could not be decrypted" in logged
    assert "gAAAAA-forged" not in logged
