"""Write checked register rows set-based: one bulk insert per table per batch (see
propadmin/bulk.py), and one audit row per created record (``audit.record_inserts``), as
the session's events would have written them. ``register_import`` does the checking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Building, Estate, Occupancy, Resident, Unit, UnitUse, Vehicle, utcnow
from models.masks import masked_numbers

from .. import audit
from ..bulk import bulk_insert
from .identifiers import blind_indexer
from .register_rows import SheetRow


class RegisterWriter:
    """Writes batches of valid rows into one estate. Remembers the buildings (few) and
    the residents it created by ID-card blind index, so that one person's rows in later
    batches join the same resident."""

    def __init__(self, session: Session, estate: Estate) -> None:
        self.session = session
        self.estate_id = estate.id
        self.now = utcnow()
        self.buildings: dict[str, int] = {
            name: ident
            for name, ident in session.execute(
                select(Building.name, Building.id).where(Building.estate_id == estate.id)
            )
        }
        self.residents: dict[str, int] = {}
        self.mobile_index = blind_indexer("mobile")

    def write(self, rows: Sequence[SheetRow]) -> None:
        self._add_buildings(rows)
        units = self._units(rows)
        residents = self._add_residents(rows)
        self._insert(
            Occupancy,
            [
                {
                    "unit_id": units[row.unit_key],
                    "resident_id": resident_id,
                    "relation": row.relation,
                    "start_date": row.start_date,
                    "end_date": row.end_date,
                    "is_payer": row.is_payer,
                    "shares_bills": False,
                    **self._stamps(),
                }
                for row, resident_id in zip(rows, residents, strict=True)
            ],
        )
        self._insert(
            Vehicle,
            [
                {
                    "estate_id": self.estate_id,
                    "plate": row.plate,
                    "brand": row.brand,
                    "colour": row.colour,
                    "owner_id": resident_id,
                    **self._stamps(),
                }
                for row, resident_id in zip(rows, residents, strict=True)
                if row.plate
            ],
        )

    def _stamps(self) -> dict[str, Any]:
        return {"created_at": self.now, "updated_at": self.now}

    def _add_buildings(self, rows: Sequence[SheetRow]) -> None:
        names = list(dict.fromkeys(r.building for r in rows if r.building not in self.buildings))
        made = self._insert(
            Building, [{"estate_id": self.estate_id, "name": n, **self._stamps()} for n in names]
        )
        self.buildings.update((row["name"], row["id"]) for row in made)

    def _units(self, rows: Sequence[SheetRow]) -> dict[tuple[str, str], int]:
        """The batch's units by (building, number): those there, and those its rows create
        (from the first row naming each, which the check made sure gives the area)."""
        names = {self.buildings[r.building]: r.building for r in rows}
        units = {
            (names[building_id], number): unit_id
            for unit_id, building_id, number in self.session.execute(
                select(Unit.id, Unit.building_id, Unit.number).where(
                    Unit.building_id.in_(list(names)),
                    Unit.number.in_(list({r.unit for r in rows})),
                )
            )
        }
        new: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            if row.unit_key not in units and row.unit_key not in new:
                new[row.unit_key] = {
                    "building_id": self.buildings[row.building],
                    "number": row.unit,
                    "area": row.area,
                    "layout": row.layout,
                    "use": UnitUse.residential,
                    **self._stamps(),
                }
        for key, made in zip(new, self._insert(Unit, list(new.values())), strict=True):
            units[key] = made["id"]
        return units

    def _add_residents(self, rows: Sequence[SheetRow]) -> list[int]:
        """Each row's resident id: a new resident per row, except that the rows of one
        ID-card number share the resident its first row made."""
        new: list[dict[str, Any]] = []
        owners: list[int] = []  # a resident id, or -(1 + its place in `new`)
        pending: dict[str, int] = {}
        mobile_index = self.mobile_index
        for row in rows:
            key = row.id_index
            if key and (key in self.residents or key in pending):
                owners.append(self.residents.get(key) or pending[key])
                continue
            d = row.details
            new.append(
                {
                    "estate_id": self.estate_id,
                    "name": d.name,
                    "id_number": d.id_number,
                    "id_number_index": key,
                    "mobile": d.mobile,
                    "mobile_index": mobile_index(d.mobile),
                    "email": d.email,
                    "emergency_contact": d.emergency_contact,
                    "emergency_phone": d.emergency_phone,
                    "notes": d.notes,
                    **masked_numbers(d.id_number, d.mobile, d.emergency_phone),
                    **self._stamps(),
                }
            )
            owners.append(-len(new))
            if key:
                pending[key] = -len(new)
        made = self._insert(Resident, new)
        for row in made:
            if row["id_number_index"]:
                self.residents[row["id_number_index"]] = row["id"]
        return [made[-o - 1]["id"] if o < 0 else o for o in owners]

    def _insert(self, model, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert ``rows`` (dicts with the same keys), give each its id, and audit them."""
        if rows:
            conn = self.session.connection()
            for row, ident in zip(rows, bulk_insert(conn, model.__table__, rows), strict=True):
                row["id"] = ident
            audit.record_inserts(self.session, model, rows, self.estate_id)
        return rows
