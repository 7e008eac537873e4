"""Permissions: the catalogue, the built-in roles, identities, checks and row scoping.

Every admin screen, portal page and query for a user goes through this module.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_principal import ActionNeed, AnonymousIdentity, Identity, identity_loaded
from sqlalchemy import select

from models import Estate, Role, User, scope_of

# module.action → label shown when ticking permissions on a role.
PERMISSIONS: dict[str, str] = {
    "dashboard.view": _l("View the staff dashboard"),
    "estates.edit": _l("Create and edit estates"),
    "property.view": _l("View buildings, units and parking"),
    "property.edit": _l("Edit buildings, units and parking"),
    "residents.view": _l("View residents"),
    "residents.edit": _l("Edit residents"),
    "residents.reveal": _l("Reveal full ID-card and mobile numbers"),
    "residents.export": _l("Export the register (residents, occupancies, vehicles)"),
    "users.view": _l("View user accounts"),
    "users.edit": _l("Create and edit user accounts"),
    "roles.edit": _l("Create and edit roles"),
    "audit.view": _l("Read the audit log"),
    "mail.view": _l("View the mail outbox"),
    "mail.edit": _l("Retry and cancel outgoing mail"),
    "billing.view": _l("View fee items, meter readings, bills and payments"),
    "billing.edit": _l("Edit fee items, rates, meters, readings and the late-fee policy"),
    "billing.generate": _l("Generate bills for a period"),
    "billing.collect": _l("Record payments and prepayments"),
    "billing.adjust": _l("Give discounts and waivers, void and refund payments"),
    "billing.remind": _l("Send payment reminders"),
    "billing.export": _l("Export bills and payments"),
    "repairs.view": _l("View repair requests and their reports"),
    "repairs.report": _l("Log repair requests for callers and walk-ins"),
    "repairs.assign": _l("Assign and reassign repair jobs"),
    "repairs.work": _l("Take repair jobs and record their progress and result"),
    "repairs.manage": _l("Close, cancel and reopen any repair; set response targets and skills"),
    "repairs.reveal": _l("See the full contact number on a repair request"),
    "facilities.view": _l("View facilities, maintenance plans and records"),
    "facilities.edit": _l("Edit facilities and maintenance plans"),
    "facilities.maintain": _l("Record inspections and maintenance"),
    "notices.view": _l("View notices, whom they reach and who has read them"),
    "notices.edit": _l("Write and edit notice drafts"),
    "notices.publish": _l("Publish, schedule, withdraw and mail notices"),
    "portal.use": _l("Use the resident portal"),
}

# What the role form calls each module (the part of a permission name before the dot).
MODULES: dict[str, str] = {
    "dashboard": _l("Dashboard"),
    "estates": _l("Estates"),
    "property": _l("Buildings, units and parking"),
    "residents": _l("Residents"),
    "users": _l("Accounts"),
    "roles": _l("Roles"),
    "audit": _l("Audit log"),
    "mail": _l("Mail outbox"),
    "billing": _l("Fees and bills"),
    "repairs": _l("Repairs"),
    "facilities": _l("Facilities"),
    "notices": _l("Notices"),
    "portal": _l("Resident portal"),
}

STAFF_BASE = {"dashboard.view", "property.view"}

# Grants only the holder's own data; anyone who manages accounts may hand it out.
SELF_SERVICE = {"portal.use"}

# name → (label, default permissions). Seeded by `seed-demo` and `sync_builtin_roles`.
BUILTIN_ROLES: dict[str, tuple[str, set[str]]] = {
    "admin": (_l("Estate administrator"), set(PERMISSIONS) - {"portal.use"}),
    "finance": (
        _l("Finance staff"),
        STAFF_BASE
        | {"residents.view", "notices.view", "notices.edit"}
        | {p for p in PERMISSIONS if p.startswith("billing.")},
    ),
    "repair": (
        _l("Repair staff"),
        STAFF_BASE
        | {"repairs.view", "repairs.report", "repairs.work"}
        | {"facilities.view", "facilities.maintain"}
        | {"notices.view"},
    ),
    "owner": (_l("Owner"), {"portal.use"}),
    "tenant": (_l("Tenant"), {"portal.use"}),
}


def sync_builtin_roles(session) -> dict[str, Role]:
    """Create the built-in roles that are missing, with their default permissions.

    Roles that exist are left as the administrators have set them.
    """
    roles = {r.name: r for r in session.scalars(select(Role).where(Role.builtin.is_(True)))}
    for name, (label, perms) in BUILTIN_ROLES.items():
        if name not in roles:
            role = Role(name=name, label=str(label), builtin=True)
            role.set_permissions(perms)
            session.add(role)
            roles[name] = role
    session.flush()
    return roles


def role_label(role: Role) -> str:
    """Built-in roles are shown in the reader's language; custom roles as named."""
    if role.builtin and role.name in BUILTIN_ROLES:
        return str(BUILTIN_ROLES[role.name][0])
    return role.label or role.name


def permissions_for(user: User) -> frozenset[str]:
    if getattr(user, "is_superuser", False):
        return frozenset(PERMISSIONS)
    granted = getattr(user, "granted_permissions", None)  # the signed-in account's, read once
    if granted is not None:
        return granted
    return frozenset(p for role in getattr(user, "roles", ()) for p in role.permissions)


def may_grant(granter: User, permissions) -> bool:
    """Whether ``granter`` may give (or edit someone holding) these permissions:
    never more than they hold themselves."""
    if getattr(granter, "is_superuser", False):
        return True
    return set(permissions) - SELF_SERVICE <= permissions_for(granter)


def account_estates(user: User) -> set[int]:
    """The estates an account belongs to: where they work, and where they live."""
    estates = set(user.estate_ids)
    if user.resident is not None:
        estates.add(user.resident.estate_id)
    return estates


def may_manage_account(editor: User, target: User) -> bool:
    """Whether ``editor`` may change ``target``'s account (e-mail, password, roles...).

    Only when the target holds nothing the editor lacks and belongs to no estate the
    editor does not manage: otherwise changing the e-mail and resetting the password
    would take over a more powerful, or another estate's, account."""
    if getattr(editor, "is_superuser", False):
        return True
    if target.is_superuser or not may_grant(editor, permissions_for(target)):
        return False
    return account_estates(target) <= (estate_scope(editor) or set())


def _load_identity():
    if current_user.is_authenticated:
        return Identity(current_user.id, "session")
    return AnonymousIdentity()


def _on_identity_loaded(sender, identity) -> None:
    identity.user = current_user
    if current_user.is_authenticated:
        for perm in permissions_for(current_user):
            identity.provides.add(ActionNeed(perm))


def init_app(app, principal) -> None:
    principal.init_app(app)
    principal.identity_loader(_load_identity)
    identity_loaded.connect_via(app)(_on_identity_loaded)


class UnknownPermission(KeyError):
    """A view or check names a permission the catalogue does not have (a typo)."""


def check_permission(name: str, where: str = "") -> str:
    """Return ``name`` if the catalogue has it; raise UnknownPermission otherwise.
    Views call it when they are built, so a typo stops the app at start-up."""
    if name not in PERMISSIONS:
        raise UnknownPermission(f"{where or 'a view'} uses unknown permission {name!r}")
    return name


# One need per catalogue name, built once: can() is asked dozens of times per page.
_NEEDS: dict[str, ActionNeed] = {name: ActionNeed(name) for name in PERMISSIONS}


def can(permission: str) -> bool:
    """Whether the signed-in user holds ``permission``: Flask-Principal's
    ``Permission(ActionNeed(permission)).can()``, without building one per call."""
    need = _NEEDS.get(permission)
    if need is None:
        check_permission(permission)  # raises UnknownPermission
    if not current_user.is_authenticated:
        return False
    return need in g.identity.provides


def home_endpoint(user: User) -> str:
    """Staff land on the admin, owners and tenants on the portal."""
    perms = permissions_for(user)
    if "dashboard.view" in perms:
        return "admin.index"
    return "portal.home"


def requires(permission: str) -> Callable:
    """View decorator: sign in first (redirect), then the permission (403)."""
    check_permission(permission, "@requires")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator


def public(view: Callable) -> Callable:
    """Mark a view as open to everyone (sign-in pages, error pages)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def estate_scope(user: User) -> set[int] | None:
    """Estates whose rows the user may see; ``None`` means every estate (superuser)."""
    if getattr(user, "is_superuser", False):
        return None
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = g.get("_estate_scope")
    if cached is not None and g.get("_estate_scope_user") == user.id:
        return cached
    ids = set(user.estate_ids)
    g._estate_scope, g._estate_scope_user = ids, user.id
    return ids


def forget_estate_scope() -> None:
    """After the user's own estates changed in this request (they made a new one)."""
    g.pop("_estate_scope", None)
    g.pop("_estate_scope_user", None)


def estate_clause(model, user: User | None = None):
    """The where-clause limiting ``model`` to the user's estates, as the model declares
    (``__estate_scope__``, see models/scope.py); ``None`` for a superuser.

    Raises UndeclaredScope for a model that declares nothing — for superusers too, so
    the mistake shows on the first try rather than in another estate's office."""
    scope = scope_of(model)
    ids = estate_scope(user if user is not None else current_user)
    if ids is None:
        return None
    return scope.clause(model, ids)


def scoped(stmt, model, user: User | None = None):
    """A select or legacy query on ``model``, limited to the user's estates (raises
    UndeclaredScope rather than returning every estate's rows)."""
    clause = estate_clause(model, user)
    if clause is None:
        return stmt
    return stmt.filter(clause)


def visible_estates(session, user: User | None = None) -> list[Estate]:
    return list(session.scalars(scoped(select(Estate).order_by(Estate.name), Estate, user)))
