"""The register's search box, where a full mobile or ID-card number is a reveal.

A masked number such as ``186****5468`` leaves ten thousand candidates; a search that
answers "found" or "not found" for each would recover the full number in minutes. So
an exact-number search needs ``residents.reveal``, is written to the audit log like a
reveal (the field searched and who was found, never the number) and is rate-limited
per account (``NUMBER_SEARCH_LIMIT``). Name, unit and plate search stay open.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from limits import parse
from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import Session

from models import Resident

from .. import audit
from ..extensions import limiter
from .identifiers import id_number_problem, mobile_problem, normalize_id_number, normalize_mobile
from .naming import normalize_query
from .resident_search import search_clause
from .residents import resident_with_id_number


@dataclass
class RegisterSearch:
    clause: ColumnElement  # a condition on Resident: the residents found
    refusal: str | None = None  # why a number search found nothing, for the page
    audited: bool = False  # an audit entry waits for the caller's commit
    found: list[int] | None = None  # a number search: the ids of the residents found

    @property
    def ids(self) -> Select:
        """The same residents as a select of ids (the export)."""
        return select(Resident.id).where(self.clause)


def exact_number_field(query: str) -> str | None:
    """``"mobile"`` or ``"id_number"`` when the query is a full such number, else None."""
    text = normalize_query(query)  # as search_clause reads it
    if not mobile_problem(normalize_mobile(text)):
        return "mobile"
    if not id_number_problem(normalize_id_number(text)):
        return "id_number"
    return None


def _within_limit(account_id: int) -> bool:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "propadmin"
    limit = parse(current_app.config["NUMBER_SEARCH_LIMIT"])
    return limiter.limiter.hit(limit, prefix, "number-search", str(account_id))


def register_search(
    session: Session,
    query: str,
    estate_ids: set[int] | None,
    *,
    may_reveal: bool,
    account_id: int,
) -> RegisterSearch:
    """The residents a search box query finds for this account.

    A full-number query without the reveal permission, or over the account's limit,
    finds nothing and says why. One that is allowed is audited per resident found
    (written; the caller commits).
    """
    field = exact_number_field(query)
    if field is None:
        return RegisterSearch(search_clause(query, estate_ids))
    nothing = false()
    if not may_reveal:
        return RegisterSearch(
            nothing,
            refusal=_(
                "Searching by a full mobile or ID-card number needs the permission "
                "to reveal full numbers."
            ),
        )
    if not _within_limit(account_id):
        return RegisterSearch(
            nothing,
            refusal=_("You have searched by full number too often. Please try again later."),
        )
    found = audit.record_reads(
        session,
        "Resident",
        select(Resident.id, Resident.estate_id).where(
            search_clause(query, estate_ids, exact_numbers=True)
        ),
        field=field,
        search=True,
    )
    ids = [int(r.entity_id) for r in found]
    return RegisterSearch(Resident.id.in_(ids), audited=True, found=ids)


def check_typed_id_number(
    session: Session,
    estate_id: int,
    id_number: str | None,
    resident_id: int | None,
    *,
    may_reveal: bool,
    account_id: int,
) -> str | None:
    """Whether a typed ID-card number may be saved for a new or changed resident (the
    resident form, 办理入住); the reason if not.

    Refusing a duplicate tells whether a full number is on the register, so for an
    account that may not reveal numbers each such check counts against the number-search
    limit, and a duplicate found is audited like a number search."""
    id_number = normalize_id_number(id_number or "")
    if not id_number:
        return None
    if not may_reveal and not _within_limit(account_id):
        return _("You have checked full ID-card numbers too often. Please try again later.")
    taken = resident_with_id_number(session, estate_id, id_number, resident_id)
    if taken is None:
        return None
    audit.record(
        session, "read", "Resident", taken, estate_id=estate_id, field="id_number", search=True
    )
    session.flush()
    return _("A resident with this ID-card number is already registered.")
