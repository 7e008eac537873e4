"""Audit trail: every ORM create/update/delete becomes an AuditLog row in the same flush.

Hooked on SQLAlchemy's Session events, so the admin, the services, the CLI and the
portal are all covered without each remembering to log. Sensitive columns (marked with
``info={"sensitive": True}``) are recorded as changed but never with their values.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Row, Select, String, cast, event, inspect, literal
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from models import AuditLog, Base, row_estate, utcnow

from .bulk import bulk_insert

REDACTED = "***"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Base):
        return str(getattr(value, "id", value))
    return str(value)


def _actor(session: Session) -> tuple[int | None, str, str]:
    """Who is acting: the signed-in user, or what a CLI command put in ``session.info``."""
    if has_request_context():
        ip = request.remote_addr or ""
        if current_user and current_user.is_authenticated:
            return current_user.id, current_user.username, ip
        return None, session.info.get("actor_name", "anonymous"), ip
    return session.info.get("actor_id"), session.info.get("actor_name", "system"), ""


def _entity_id(obj: Base) -> str:
    # New rows have no identity key yet inside after_flush, but their key columns are set.
    ident = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join("" if i is None else str(i) for i in ident)


def _estate_of(obj: Base) -> int | None:
    """The estate a row belongs to, as its model declares (``__estate_scope__``)."""
    try:
        return row_estate(obj)
    except Exception:  # noqa: BLE001 — a half-built or deleted row has no estate to tell
        return None


def _column_attrs(model: type[Base]):
    for attr in inspect(model).column_attrs:
        column = attr.columns[0]
        if column.info.get("audited", True):
            yield attr.key, column.info.get("sensitive", False)


def _snapshot(obj: Base) -> dict[str, Any]:
    state = inspect(obj)
    out = {}
    for key, is_sensitive in _column_attrs(type(obj)):
        value = state.attrs[key].loaded_value
        if value is None or value is NO_VALUE or key in ("created_at", "updated_at"):
            continue
        out[key] = REDACTED if is_sensitive else _plain(value)
    return out


def _diff(obj: Base) -> dict[str, Any]:
    state = inspect(obj)
    out = {}
    for key, is_sensitive in _column_attrs(type(obj)):
        if key == "updated_at":
            continue
        hist = state.attrs[key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new or (old in (None, "") and new in (None, "")):
            continue
        out[key] = REDACTED if is_sensitive else [_plain(old), _plain(new)]
    # Many-to-many links (a user's roles) live in plain tables, not in audited rows.
    for rel in state.mapper.relationships:
        if rel.secondary is None:
            continue
        hist = state.attrs[rel.key].history
        if hist.added or hist.deleted:
            out[rel.key] = {
                "added": sorted(_plain(o) for o in hist.added),
                "removed": sorted(_plain(o) for o in hist.deleted),
            }
    return out


def _collect(session: Session, flush_context) -> None:
    actor_id, actor_name, ip = _actor(session)
    now = utcnow()
    rows = []

    def add(action: str, obj: Base, changes: dict) -> None:
        rows.append(
            {
                "at": now,
                "actor_id": actor_id,
                "actor_name": actor_name,
                "action": action,
                "entity": type(obj).__name__,
                "entity_id": _entity_id(obj),
                "estate_id": _estate_of(obj),
                "changes": changes,
                "ip": ip,
            }
        )

    for obj in session.new:
        if getattr(obj, "__audited__", False):
            add("create", obj, _snapshot(obj))
    for obj in session.dirty:
        if getattr(obj, "__audited__", False) and session.is_modified(obj):
            changes = _diff(obj)
            if changes:
                add("update", obj, changes)
    for obj in session.deleted:
        if getattr(obj, "__audited__", False):
            add("delete", obj, _snapshot(obj))
    if rows:
        session.connection().execute(AuditLog.__table__.insert(), rows)


def record_inserts(
    session: Session, model: type[Base], rows: Iterable[dict[str, Any]], estate_id: int | None
) -> None:
    """Audit rows written set-based (``insert(table)`` with a list, which the session's
    events do not see): one "create" per row, with the snapshot ``_collect`` would write.
    Each row holds its values by column, ``id`` included."""
    actor_id, actor_name, ip = _actor(session)
    now = utcnow()
    entity = model.__name__
    created = _creator(model)
    entries = [
        {
            "at": now,
            "actor_id": actor_id,
            "actor_name": actor_name,
            "action": "create",
            "entity": entity,
            "entity_id": str(row["id"]),
            "estate_id": estate_id,
            "changes": created(row),
            "ip": ip,
        }
        for row in rows
    ]
    if entries:
        bulk_insert(session.connection(), AuditLog.__table__, entries, ids=False)


def _creator(model: type[Base]):
    """The snapshot of a created row given by its values (``_snapshot``'s, for a dict):
    values set, sensitive ones redacted, the timestamps left out."""
    columns = [(k, s) for k, s in _column_attrs(model) if k not in ("created_at", "updated_at")]
    plain = _PLAIN_BY_TYPE

    def created(row: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, is_sensitive in columns:
            value = row.get(key)
            if value is None:
                continue
            if is_sensitive:
                out[key] = REDACTED
            else:
                kind = type(value)
                out[key] = value if kind in _AS_IS else plain.get(kind, _plain)(value)
        return out

    return created


_AS_IS = {str, int, float, bool}
# _plain for the types a row's values mostly have, looked up by type
_PLAIN_BY_TYPE = {Decimal: str, date: date.isoformat, datetime: datetime.isoformat}


def record(
    session: Session,
    action: str,
    entity: str,
    entity_id: Any = "",
    *,
    estate_id: int | None = None,
    **details: Any,
):
    """Record an event that is not a row change: a sensitive read, a sign-in."""
    actor_id, actor_name, ip = _actor(session)
    entry = AuditLog(
        estate_id=estate_id,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        changes={k: _plain(v) for k, v in details.items()},
        ip=ip,
    )
    session.add(entry)
    return entry


def record_reads(session: Session, entity: str, found: Select, **details: Any) -> list[Row]:
    """``record`` a "read" of each row ``found`` (a select of the entity id and its
    estate id), in the same statement that finds them (INSERT … SELECT … RETURNING, not
    a query and then the session's unit of work); the rows found are returned. Finding
    none records one entry without an id, so that the attempt is still on the log. The
    caller commits."""
    actor_id, actor_name, ip = _actor(session)
    changes = {k: _plain(v) for k, v in details.items()}
    table = AuditLog.__table__
    fixed = {
        "at": utcnow(),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": "read",
        "entity": entity,
        "changes": changes,
        "ip": ip,
    }
    entity_id, estate_id = found.selected_columns
    columns = [*fixed, "entity_id", "estate_id"]
    values = [literal(v, table.c[k].type) for k, v in fixed.items()]
    rows = session.execute(
        table.insert()
        .from_select(columns, found.with_only_columns(*values, cast(entity_id, String), estate_id))
        .returning(table.c.entity_id, table.c.estate_id)
    ).all()
    if not rows:
        session.execute(table.insert(), {**fixed, "entity_id": "", "estate_id": None})
    return rows


def init_app(app) -> None:
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
