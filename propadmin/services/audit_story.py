"""The audit log told as sentences an office manager reads: who (name and role) did what
to which record (its label, not an id), which fields changed from what to what, and when.

``describe(session, entries, vocabulary)`` reads the records and people a page of entries
names in one query per kind of record, whatever the number of entries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from html import unescape
from typing import Any

import nh3
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

from models import AuditLog, Base, Estate, User
from propadmin.i18n import localtime
from propadmin.permissions import role_label
from propadmin.services.bill_explain import yuan

REDACTED = "***"

# The kinds of entry, as the filter offers them.
ACTIONS = {
    "create": _l("Created a record"),
    "update": _l("Changed a record"),
    "delete": _l("Deleted a record"),
    "read": _l("Viewed personal data"),
    "export": _l("Exported"),
    "login": _l("Signed in"),
    "logout": _l("Signed out"),
    "password": _l("Password"),
    "invite": _l("Invited to the portal"),
    "generate": _l("Generated bills"),
}
# What each kind of record is called (the admin's menu names, one place for the
# sentences and the filter).
RECORD_KINDS = {
    "Estate": _l("Estates"),
    "Building": _l("Buildings"),
    "Unit": _l("Units"),
    "ParkingSpace": _l("Parking"),
    "Resident": _l("Residents"),
    "Occupancy": _l("Who lives where"),
    "Vehicle": _l("Vehicles"),
    "User": _l("Accounts"),
    "Role": _l("Roles"),
    "StaffEstate": _l("Estates"),
    "RolePermission": _l("Permissions"),
    "FeeItem": _l("Fee items"),
    "FeeRate": _l("Rates"),
    "RateTier": _l("Rates"),
    "Meter": _l("Meters"),
    "MeterReading": _l("Meter readings"),
    "Bill": _l("Bills"),
    "Payment": _l("Payments received"),
    "PrepaidAccount": _l("Prepaid balances"),
    "BillAdjustment": _l("Discounts and waivers"),
    "LateFeePolicy": _l("Late-fee policy"),
    "BillReminder": _l("Payment reminders"),
    "UnitCharge": _l("Charges for the next bill"),
    "Facility": _l("Facilities"),
    "MaintenancePlan": _l("Maintenance plans"),
    "MaintenanceRecord": _l("Maintenance records"),
    "RepairRequest": _l("Repair requests"),
    "RepairSlaPolicy": _l("Response targets"),
    "RepairSkill": _l("Repair skills"),
    "Notice": _l("Notices"),
}
# Rows that belong to a record above and are named with it (not offered in the filter).
PART_KINDS = {
    "NoticeBuilding": _l("Notices"),
    "NoticeUnit": _l("Notices"),
    "NoticeMailing": _l("Notices"),
}
# Entries a manager looks for first: someone saw or took personal data.
NOTABLE = {"read", "export"}


def words_of(html) -> str:
    """A rich-text value (a notice's body) in the log: its words, without markup or link
    addresses, shortened."""
    spaced = str(html).replace("<", " <")  # a heading and its paragraph stay apart
    words = " ".join(unescape(nh3.clean(spaced, tags=set())).split())
    return words if len(words) <= 80 else words[:79] + "…"


# Values shown other than as stored, whichever screen edits them.
VALUE_FORMATS: dict[str, dict[str, Callable[[Any], str]]] = {"Notice": {"body": words_of}}


@dataclass
class Vocabulary:
    """How the screens name things: record kinds, field labels and value labels per
    model, taken from the admin views so the log speaks as the screens do."""

    kinds: dict[str, str] = field(default_factory=lambda: {**RECORD_KINDS, **PART_KINDS})
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, Callable[[Any], str]]] = field(
        default_factory=lambda: {entity: dict(f) for entity, f in VALUE_FORMATS.items()}
    )

    def kind(self, entity: str) -> str:
        return str(self.kinds.get(entity, entity))

    def field_label(self, entity: str, name: str) -> str:
        labels = self.fields.get(entity, {})
        label = (
            labels.get(name)
            or labels.get(name.removesuffix("_id"))
            or labels.get(f"{name}_input")  # typed in a form field of its own
        )
        if label is None:
            # A link to another record is named after what it links to.
            target = _targets(entity).get(name)
            label = RECORD_KINDS.get(target or "", name)
        return str(label)


@dataclass
class Change:
    label: str
    old: str = ""
    new: str = ""
    secret: bool = False


@dataclass
class Story:
    sentence: str
    changes: list[Change]
    when: str
    notable: bool


@cache  # the mapped models are fixed once the app has started
def _models() -> dict[str, type]:
    return {m.class_.__name__: m.class_ for m in Base.registry.mappers}


def _labels(session: Session, wanted: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """``(entity, id) → label`` for the records still there, one query per entity."""
    models = _models()
    rows: dict[str, list] = {}
    for entity, ids in wanted.items():
        model = models.get(entity)
        keys = [int(i) for i in ids if i.isdigit() and int(i) < 2**31]
        if model is None or not keys:
            continue
        pk = inspect(model).primary_key[0]
        rows[entity] = list(session.scalars(select(model).where(pk.in_(keys))))
    # A label may name the rows a record points at (an occupancy: person · unit); such a
    # model lists them in __label_loads__. They are read once per target table for the
    # whole page (a unit named by bills, payments and balances alike is read once), and
    # str(row) then finds them in the session.
    parents: dict[type, set] = defaultdict(set)
    for entity, loaded in rows.items():
        mapper = inspect(models[entity])
        for name in mapper.class_.__label_loads__:
            rel = mapper.relationships[name]
            ((local, _remote),) = rel.local_remote_pairs
            key = mapper.get_property_by_column(local).key
            parents[rel.mapper.class_].update(
                k for row in loaded if (k := getattr(row, key)) is not None
            )
    for target, keys in parents.items():
        pk = inspect(target).primary_key[0]
        session.scalars(select(target).where(pk.in_(list(keys)))).all()
    return {
        (entity, str(row.id)): str(row) for entity, loaded in rows.items() for row in loaded
    }


@cache
def _targets(entity: str) -> dict[str, str]:
    """Foreign-key columns and many-to-many relationships of a model → the entity their
    values (ids) point at."""
    model = _models().get(entity)
    if model is None:
        return {}
    tables = {m.local_table.name: m.class_.__name__ for m in Base.registry.mappers}
    mapper = inspect(model)
    out = {}
    for column in mapper.columns:
        for fk in column.foreign_keys:
            out[column.key] = tables.get(fk.column.table.name, "")
    for rel in mapper.relationships:
        if rel.secondary is not None:
            out[rel.key] = rel.mapper.class_.__name__
    return out


# Who acted when no account did (CLI commands, jobs, visitors not signed in).
NO_ACCOUNT = {
    "cli": _l("The command line"),
    "system": _l("The system"),
    "anonymous": _l("Someone not signed in"),
}


def _person(user: User | None, fallback: str) -> str:
    if user is None:
        return str(NO_ACCOUNT.get(fallback or "system", fallback))
    roles = " ".join(role_label(r) for r in user.roles)
    name = user.display_name or user.username
    return f"{roles} {name}".strip()


def describe(session: Session, entries: Iterable[AuditLog], vocabulary: Vocabulary):
    """``entry id → Story`` for a page of entries."""
    entries = list(entries)
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        if e.entity_id:
            wanted[e.entity].add(e.entity_id)
        for name, target in _targets(e.entity).items():
            change = (e.changes or {}).get(name)
            if isinstance(change, list):
                wanted[target].update(str(v) for v in change if v is not None)
            elif isinstance(change, dict):
                wanted[target].update(str(v) for side in change.values() for v in side)
            elif change is not None and change != REDACTED:  # a created row's value
                wanted[target].add(str(change))
    labels = _labels(session, wanted)
    actor_ids = {e.actor_id for e in entries if e.actor_id}
    actors = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.id.in_(actor_ids)).options(selectinload(User.roles))
        )
    }
    estate_ids = {e.estate_id for e in entries if e.estate_id}
    zones = dict(
        session.execute(select(Estate.id, Estate.timezone).where(Estate.id.in_(estate_ids))).all()
    )
    return {
        e.id: _story(e, vocabulary, labels, actors.get(e.actor_id), zones.get(e.estate_id))
        for e in entries
    }


def _record(entry: AuditLog, vocabulary, labels) -> str:
    label = labels.get((entry.entity, entry.entity_id))
    if label is None:
        # A deleted record: its last name is in the entry itself.
        snapshot = entry.changes or {}
        label = next(
            (str(snapshot[k]) for k in ("name", "label", "plate", "code", "number", "username")
             if isinstance(snapshot.get(k), str | int)),
            f"#{entry.entity_id}" if entry.entity_id else "",
        )
    return label


def _value(entity: str, name: str, value, vocabulary, labels, fks) -> str:
    if value is None or value == "":
        return "—"
    if name in fks:
        return labels.get((fks[name], str(value)), f"#{value}")
    show = vocabulary.values.get(entity, {}).get(name)
    if show is not None:
        return str(show(value))
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    return str(value)


def _changes(entry: AuditLog, vocabulary, labels) -> list[Change]:
    if entry.action not in ("create", "update", "delete"):
        return []
    fks = _targets(entry.entity)
    out = []
    changes = entry.changes or {}
    for name, change in changes.items():
        # The blind index of a number changes with the number: one line is enough.
        # ``version`` only counts changes (a payment against a stale page is refused).
        twin = name.endswith("_index") and name.removesuffix("_index") in changes
        if name in ("id", "version") or twin:
            continue
        label = vocabulary.field_label(entry.entity, name)
        if change == REDACTED:
            out.append(Change(label, secret=True))
        elif isinstance(change, list) and len(change) == 2:
            old, new = (_value(entry.entity, name, v, vocabulary, labels, fks) for v in change)
            out.append(Change(label, old, new))
        elif isinstance(change, dict):  # many-to-many: what was added and removed
            def names(ids, name=name):
                shown = [_value(entry.entity, name, v, vocabulary, labels, fks) for v in ids]
                return "、".join(shown) or "—"

            removed, added = names(change.get("removed", ())), names(change.get("added", ()))
            out.append(Change(label, removed, added))
        elif change not in (None, ""):  # a created or deleted row's value
            value = _value(entry.entity, name, change, vocabulary, labels, fks)
            out.append(Change(label, "", value))
    return out


def _story(entry: AuditLog, vocabulary: Vocabulary, labels, actor, zone) -> Story:
    who = _person(actor, entry.actor_name)
    kind = vocabulary.kind(entry.entity)
    record = _record(entry, vocabulary, labels)
    details = entry.changes or {}
    action = entry.action
    if action == "create":
        sentence = _("%(who)s created %(kind)s %(record)s", who=who, kind=kind, record=record)
    elif action == "update":
        sentence = _("%(who)s changed %(kind)s %(record)s", who=who, kind=kind, record=record)
    elif action == "delete":
        sentence = _("%(who)s deleted %(kind)s %(record)s", who=who, kind=kind, record=record)
    elif action == "read" and details.get("search") and not entry.entity_id:
        what = vocabulary.field_label(entry.entity, str(details.get("field", "")))
        sentence = _("%(who)s searched by a full %(field)s and found no one", who=who, field=what)
    elif action == "read" and details.get("search"):
        what = vocabulary.field_label(entry.entity, str(details.get("field", "")))
        sentence = _(
            "%(who)s found %(record)s by the full %(field)s", who=who, field=what, record=record
        )
    elif action == "read":
        what = vocabulary.field_label(entry.entity, str(details.get("field", "")))
        sentence = _(
            "%(who)s viewed the %(field)s of %(record)s", who=who, field=what, record=record
        )
    elif action == "export":
        sentence = _("%(who)s exported the %(kind)s list", who=who, kind=kind)
    elif action == "login":
        if details.get("result") == "ok":
            sentence = _("%(who)s signed in", who=who)
        else:
            sentence = _("A sign-in as %(record)s failed", record=record or _("an unknown name"))
    elif action == "logout":
        sentence = _("%(who)s signed out", who=who)
    elif action == "generate":
        sentence = _(
            "%(who)s generated %(bills)s bills for %(period)s, %(total)s in all",
            who=who,
            bills=details.get("bills", 0),
            period=details.get("period", ""),
            total=yuan(details.get("total") or 0),
        )
    elif action == "invite":
        sentence = _("%(who)s invited %(record)s to the portal", who=who, record=record)
    elif action == "password":
        event = details.get("event")
        if event == "reset requested":
            sentence = _("A password reset link was sent to %(record)s", record=record)
        elif event in ("activate code issued", "reset code issued"):
            sentence = _("%(who)s issued a one-time code for %(record)s", who=who, record=record)
        elif event == "activation link mailed":
            sentence = _(
                "%(who)s mailed an activation link to %(record)s", who=who, record=record
            )
        elif event == "activated":
            sentence = _("%(record)s activated the account", record=record)
        else:
            sentence = _("%(record)s set a new password", record=record)
    else:
        sentence = f"{who} {action} {kind} {record}".strip()
    return Story(
        sentence=sentence,
        changes=_changes(entry, vocabulary, labels),
        when=localtime(entry.at, zone),
        notable=action in NOTABLE,
    )
