"""The notice editor's form, read into a ``NoticeDraft``: every choice checked against its
list, buildings by id and units by the labels the office types (``1-101, 1-102``) looked
up inside the notice's estate, times typed in the estate's zone. Whatever cannot be read
is a ``NoticeError`` on its field, like the service's own refusals, never a 500."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from models import (
    Building,
    Estate,
    Notice,
    NoticeAudience,
    NoticeCategory,
    NoticePriority,
    NoticeReach,
    Unit,
)
from propadmin.extensions import db
from propadmin.permissions import visible_estates
from propadmin.services.naming import normalize_query, unit_label_clause
from propadmin.services.notices import NoticeDraft, NoticeError
from propadmin.services.today import DEFAULT_ZONE

# Far more than any field may hold: longer input is cut before it is looked at, and
# the service still finds it too long.
MAX_TITLE_INPUT = 20_000  # cut only what no title is; the service says how long it was
MAX_BODY_INPUT = 200_000
MAX_UNITS = 500
UNIT_SEPARATORS = re.compile(r"[,，、;；\s]+")
LOCAL_TIME = "%Y-%m-%dT%H:%M"
# The service's field names → the editor's (units are typed, not chosen by id).
FIELD_OF = {"unit_ids": "units"}


def zone_of(estate: Estate | None) -> ZoneInfo:
    try:
        return ZoneInfo((estate.timezone if estate else None) or DEFAULT_ZONE)
    except (KeyError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def local_input(value: datetime | None, estate: Estate | None) -> str:
    """A stored UTC time as a datetime-local field shows it, in the estate's zone."""
    if value is None:
        return ""
    return value.astimezone(zone_of(estate)).strftime(LOCAL_TIME)


def parse_local(text: str | None, estate: Estate | None) -> datetime | None:
    """``2026-12-01T09:00`` typed in the estate's zone, as UTC; ValueError if not a time."""
    text = (text or "").strip()[:32]
    if not text:
        return None
    value = datetime.strptime(text.replace(" ", "T"), LOCAL_TIME)
    if not 2000 <= value.year <= 2999:
        raise ValueError(text)
    return value.replace(tzinfo=zone_of(estate)).astimezone(UTC)


def _choice(form, name: str, enum, default, errors: dict):
    raw = (form.get(name) or default.value)[:16]
    if raw not in enum.__members__:
        errors[name] = _("Choose one of the list.")
        return default
    return enum(raw)


def editor_estate(form, notice: Notice | None, errors: dict) -> Estate | None:
    """The notice's estate; for a new notice, the one chosen among the user's (or their
    only one)."""
    if notice is not None:
        return notice.estate
    estates = visible_estates(db.session)
    if len(estates) == 1:
        return estates[0]
    raw = (form.get("estate") or "").strip()[:12]
    found = next((e for e in estates if str(e.id) == raw), None)
    if found is None:
        errors["estate"] = (
            _("Choose the estate.")
            if not raw
            else _("No such record in the estates you manage: choose one from the list.")
        )
    return found


def _building_ids(form, errors: dict) -> list[int]:
    ids = []
    for raw in form.getlist("building_ids")[:MAX_UNITS]:
        raw = raw.strip()
        if not raw.isdigit() or len(raw) > 9:
            errors["building_ids"] = _("Choose buildings of this estate only.")
            return []
        ids.append(int(raw))
    return ids


def unit_labels(text: str | None) -> list[str]:
    return [part for part in UNIT_SEPARATORS.split(normalize_query(text or "")[:5000]) if part]


def _unit_ids(form, estate: Estate | None, errors: dict) -> list[int]:
    """The units the typed labels name in the notice's estate; an error naming the first
    label that is no unit there."""
    labels = unit_labels(form.get("units"))
    if len(labels) > MAX_UNITS:
        errors["units"] = _("At most %(n)d units; choose buildings instead.", n=MAX_UNITS)
        return []
    ids = []
    for label in labels:
        clause = unit_label_clause(label[:32])
        unit_id = None
        if clause is not None and estate is not None:
            unit_id = db.session.scalar(
                select(Unit.id)
                .join(Building, Unit.building_id == Building.id)
                .where(clause, Building.estate_id == estate.id)
                .limit(1)
            )
        if unit_id is None:
            errors["units"] = _("No unit %(label)s in this estate.", label=label[:32])
            return []
        ids.append(unit_id)
    return ids


def read_editor(form, notice: Notice | None) -> tuple[Estate | None, NoticeDraft]:
    """The estate and the draft the editor's form holds. Raises NoticeError with every
    problem of the form's own (the service adds its checks when it saves)."""
    errors: dict[str, str] = {}
    estate = editor_estate(form, notice, errors)
    category = _choice(form, "category", NoticeCategory, NoticeCategory.general, errors)
    priority = _choice(form, "priority", NoticePriority, NoticePriority.normal, errors)
    reach = _choice(form, "reach", NoticeReach, NoticeReach.estate, errors)
    audience = _choice(form, "audience", NoticeAudience, NoticeAudience.everyone, errors)
    building_ids = _building_ids(form, errors) if reach is NoticeReach.buildings else []
    unit_ids = _unit_ids(form, estate, errors) if reach is NoticeReach.units else []
    times = {}
    for name in ("publish_at", "expires_at"):
        try:
            times[name] = parse_local(form.get(name), estate)
        except ValueError:
            errors[name] = _("Give a date and time, such as 2026-12-01 09:00.")
            times[name] = None
    if errors:
        raise NoticeError(errors)
    return estate, NoticeDraft(
        title=(form.get("title") or "")[:MAX_TITLE_INPUT],
        body=(form.get("body") or "")[:MAX_BODY_INPUT],
        category=category,
        priority=priority,
        reach=reach,
        audience=audience,
        building_ids=building_ids,
        unit_ids=unit_ids,
        publish_at=times["publish_at"],
        expires_at=times["expires_at"],
        send_mail=form.get("send_mail") in ("1", "on", "y"),
    )


def field_errors(exc: NoticeError) -> dict[str, str]:
    return {FIELD_OF.get(name, name): message for name, message in exc.errors.items()}


def editor_values(notice: Notice) -> dict[str, object]:
    """What the editor shows for a saved notice, as the form would post it."""
    return {
        "title": notice.title,
        "body": notice.body,
        "category": notice.category.value,
        "priority": notice.priority.value,
        "reach": notice.reach.value,
        "audience": notice.audience.value,
        "building_ids": [str(nb.building_id) for nb in notice.buildings],
        "units": ", ".join(nu.unit.label for nu in notice.units),
        "publish_at": local_input(notice.publish_at, notice.estate),
        "expires_at": local_input(notice.expires_at, notice.estate),
        "send_mail": "1" if notice.send_mail else "",
    }
