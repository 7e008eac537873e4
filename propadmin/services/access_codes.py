"""Portal access for residents, and one-time codes to set a password.

The office invites a resident from their page: an account linked to the resident, with
the built-in role of their relation, and no usable password until the person sets one
with a one-time secret — a link by mail when they have an address, or a short code the
office prints or reads out after checking their identity. The same codes reset the
password of anyone (resident or staff) who has no mail.

A code is stored only as a keyed hash (HMAC with the app's secret key: a copy of the
database alone does not let anyone try all codes offline), expires after
``ACTIVATION_CODE_MAX_AGE``, works once, and issuing a newer one for the same account
ends the older ones.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import (
    UNUSABLE_PASSWORD,
    AccessCode,
    AccessPurpose,
    Occupancy,
    Relation,
    Resident,
    Role,
    User,
    utcnow,
)

from .. import audit
from ..mail import queue_mail
from . import ServiceError

log = logging.getLogger(__name__)

# Letters and digits that cannot be mistaken for one another when read out or copied
# from paper: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8  # shown as XXXX-XXXX; 25^8 ≈ 1.5·10^11 codes
CODE_SHAPE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
MAX_TYPED = 64  # anything longer than this is not a code or a link token


@dataclass(frozen=True)
class IssuedCode:
    """What the office hands over: the code (or mailed link) shown once, never stored."""

    user: User
    purpose: AccessPurpose
    code: str | None
    expires_at: datetime
    mailed_to: str | None = None

    @property
    def shown(self) -> str:
        return f"{self.code[:4]}-{self.code[4:]}" if self.code else ""


def _hash(secret: str) -> str:
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def normalize_code(typed: str) -> str:
    """What a person typed → the code: case, spaces and dashes do not matter."""
    return re.sub(r"[\s\-]", "", typed or "").upper()


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _end_open_codes(session: Session, user: User) -> None:
    session.execute(
        update(AccessCode)
        .where(AccessCode.user_id == user.id, AccessCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _issue(session: Session, user: User, purpose: AccessPurpose, secret: str, actor) -> datetime:
    _end_open_codes(session, user)
    expires = utcnow() + _max_age()
    session.add(
        AccessCode(
            user=user,
            purpose=purpose,
            secret_hash=_hash(secret),
            expires_at=expires,
            created_by_id=getattr(actor, "id", None),
        )
    )
    session.flush()
    return expires


def _max_age() -> timedelta:
    age = current_app.config["ACTIVATION_CODE_MAX_AGE"]
    return age if isinstance(age, timedelta) else timedelta(seconds=int(age))


def issue_code(session: Session, user: User, purpose: AccessPurpose, actor=None) -> IssuedCode:
    """A new one-time code for the account (earlier open codes end); audited."""
    if not user.active:
        raise ServiceError(_("This account is deactivated: activate it first."), field="user")
    code = _new_code()
    expires = _issue(session, user, purpose, code, actor)
    audit.record(session, "password", "User", user.id, event=f"{purpose.value} code issued")
    log.info("%s code issued for %r", purpose.value, user)
    return IssuedCode(user, purpose, code, expires)


def mail_activation_link(session: Session, user: User, actor=None) -> IssuedCode:
    """Mail the account a one-time link to choose its first password. The link is
    removed from the stored mail once it is sent."""
    if not user.email:
        raise ServiceError(_("This resident has no e-mail address: print a code."), field="user")
    token = secrets.token_urlsafe(32)
    expires = _issue(session, user, AccessPurpose.activate, token, actor)
    link = f"{current_app.config['BASE_URL'].rstrip('/')}/activate/{token}"
    queue_mail(
        session,
        user,
        "activate_account",
        _l("Your account for the residents' portal"),
        link=link,
        expires_at=expires,
        secrets=[link, token],
    )
    audit.record(session, "password", "User", user.id, event="activation link mailed")
    return IssuedCode(user, AccessPurpose.activate, None, expires, mailed_to=user.email)


def code_for(session: Session, typed: str, purpose: AccessPurpose | None = None) -> AccessCode:
    """The open code (or link token) a person typed; raise ServiceError (field ``code``)
    saying why it cannot be used. Nothing is used up here."""
    raw = (typed or "").strip()
    if not raw:
        raise ServiceError(_("Enter the code you were given."), field="code")
    if len(raw) > MAX_TYPED:
        raise ServiceError(_("That is not a code: codes look like ABCD-7K3M."), field="code")
    # A short code is typed by hand; a link token arrives exactly as sent.
    secret = normalize_code(raw) if len(raw) <= CODE_LENGTH + 4 else raw
    row = session.scalar(select(AccessCode).where(AccessCode.secret_hash == _hash(secret)))
    if row is None or (purpose is not None and row.purpose != purpose):
        raise ServiceError(
            _("This code is not right. Check it, or ask the estate office for a new one."),
            field="code",
        )
    if row.used_at is not None:
        raise ServiceError(
            _("This code has been used or replaced. Ask the estate office for a new one."),
            field="code",
        )
    if row.expires_at <= utcnow():
        raise ServiceError(
            _("This code has expired. Ask the estate office for a new one."), field="code"
        )
    if not row.user.active:
        raise ServiceError(_("This account is deactivated. Ask the estate office."), field="code")
    return row


def open_code(session: Session, code_id: int | None) -> AccessCode | None:
    """A code verified earlier in this browser, if it can still be used."""
    if not code_id:
        return None
    row = session.get(AccessCode, code_id)
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row if row.user.active else None


def use_code(session: Session, row: AccessCode, password: str) -> User:
    """Set the account's password with the code and use the code up; raise
    ServiceError (field ``password`` or ``code``). The code is taken with a
    conditional update, so two tabs cannot both use it."""
    from .accounts import set_password

    user = row.user
    set_password(session, user, password, notify=row.purpose is AccessPurpose.reset)
    taken = session.execute(
        update(AccessCode)
        .where(
            AccessCode.id == row.id,
            AccessCode.used_at.is_(None),
            AccessCode.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise ServiceError(
            _("This code has been used or replaced. Ask the estate office for a new one."),
            field="code",
        )
    session.expire(row)
    event = "activated" if row.purpose is AccessPurpose.activate else "reset with a code"
    audit.record(session, "password", "User", user.id, event=event)
    return user


# -- inviting residents -----------------------------------------------------------------
def portal_role_name(session: Session, resident: Resident) -> str:
    """The built-in role a resident's account gets, by where they live now: an owner
    is an owner, a tenant a tenant. A family member belongs to the household they live
    in — in a rented unit the tenant's household, otherwise the owner's — and gets that
    household's role, so they see what the household sees. Raise ServiceError when
    they live nowhere now."""
    current = [o for o in resident.occupancies if o.is_current]
    relations = {o.relation for o in current}
    if Relation.owner in relations:
        return "owner"
    if Relation.tenant in relations:
        return "tenant"
    if not current:
        raise ServiceError(
            _("%(name)s lives in no unit now: record where they live first.", name=resident.name),
            field="resident",
        )
    unit_ids = [o.unit_id for o in current]
    rented = session.scalars(
        select(Occupancy).where(
            Occupancy.unit_id.in_(unit_ids), Occupancy.relation == Relation.tenant
        )
    ).all()
    return "tenant" if any(o.is_current for o in rented) else "owner"


def _free_username(session: Session, resident: Resident) -> str:
    base = f"resident{resident.id}"
    name, n = base, 1
    while session.scalar(select(User.id).where(func.lower(User.username) == name)):
        n += 1
        name = f"{base}-{n}"
    return name


def invitation_address(session: Session, resident: Resident) -> str | None:
    """Where an invitation link can be mailed: the account's address, or for a new
    account the resident's, unless another account already uses it."""
    if resident.user is not None:
        return resident.user.email
    email = (resident.email or "").strip().lower() or None
    if email and session.scalar(select(User.id).where(func.lower(User.email) == email)):
        return None
    return email


def invite_resident(
    session: Session, resident: Resident, *, by_mail: bool, actor=None
) -> IssuedCode:
    """Give a resident a portal account (or a new invitation to the one they have not
    activated yet) and a one-time code, or a mailed link when ``by_mail``. Raise
    ServiceError when they already use the portal, live nowhere, or (by mail) have no
    address."""
    user = resident.user
    if user is not None and user.password_hash != UNUSABLE_PASSWORD:
        raise ServiceError(
            _("%(name)s already uses the portal: issue a reset code instead.", name=resident.name),
            field="resident",
        )
    role_name = portal_role_name(session, resident)
    if user is None:
        role = session.scalar(select(Role).where(Role.name == role_name, Role.builtin.is_(True)))
        if role is None:
            raise ServiceError(_("There is no role %(value)s.", value=role_name), field="resident")
        # An address another account uses stays off this one: the code still works.
        email = invitation_address(session, resident)
        user = User(
            username=_free_username(session, resident),
            email=email,
            display_name=resident.name,
            password_hash=UNUSABLE_PASSWORD,
            roles=[role],
        )
        session.add(user)
        resident.user = user
        session.flush()
        audit.record(
            session,
            "invite",
            "Resident",
            resident.id,
            estate_id=resident.estate_id,
            account=user.username,
            role=role_name,
        )
        log.info("resident %r invited as %r", resident, user)
    if by_mail:
        if not user.email:
            raise ServiceError(
                _("This resident has no e-mail address: print a code."), field="resident"
            )
        return mail_activation_link(session, user, actor)
    return issue_code(session, user, AccessPurpose.activate, actor)


def portal_status(resident: Resident) -> str:
    """``none``, ``invited`` (no password yet), ``active`` or ``inactive``."""
    user = resident.user
    if user is None:
        return "none"
    if not user.active:
        return "inactive"
    return "invited" if user.password_hash == UNUSABLE_PASSWORD else "active"
