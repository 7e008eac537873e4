"""Every URL rule of the app, for every built-in role (and anonymous), against a table
of who may open what written from DESIGN.md's role table; and CSRF refused on every POST.

The table is the specification: it is written by hand and never read from the views or
from ``BUILTIN_ROLES``, so a view wired to the wrong permission fails here.
"""

import pytest
from sqlalchemy import select

from .helpers import csrf_from, login

# -- who may open what -----------------------------------------------------------------
ANONYMOUS = "anonymous"
STAFF = frozenset({"admin", "finance", "repair"})
OFFICE = frozenset({"admin", "finance"})  # who reads the register of residents
ADMIN = frozenset({"admin"})
# fees, bills and payments: the estate's admin and finance (billing.* permissions)
FINANCE = frozenset({"admin", "finance"})
# repairs and facilities: the estate's admin and repair staff (repairs.view, facilities.view);
# assigning, managing, targets and skills are the admin's (repairs.assign, repairs.manage)
REPAIRS = frozenset({"admin", "repair"})
REPAIR_ADMIN = frozenset({"admin"})
# notices: every staff member reads them; admin and finance write drafts; the admin publishes
NOTICE_WRITERS = frozenset({"admin", "finance"})
NOTICE_PUBLISHERS = frozenset({"admin"})
RESIDENTS = frozenset({"owner", "owner2", "tenant"})  # owner2 lives in the second building
EVERYONE = STAFF | RESIDENTS | {ANONYMOUS}
NOBODY = frozenset()
ROLES = (ANONYMOUS, "admin", "finance", "repair", "owner", "owner2", "tenant")

READ = ("index_view", "details_view", "ajax_lookup")
CHANGE = ("create_view", "edit_view", "delete_view", "action_view", "ajax_update")


def model_view(name: str, *, read, change, export, **exceptions) -> dict:
    """The rows of one admin model view: who reads it (list, details, lookups), who
    changes it (create, edit, delete, mass actions, inline edits), who exports it, and
    ``method=roles`` for anything that differs."""
    rows = {f"{name}.{method}": read for method in READ}
    rows |= {f"{name}.{method}": change for method in CHANGE}
    rows[f"{name}.export"] = export
    rows |= {f"{name}.{method}": roles for method, roles in exceptions.items()}
    return rows


WHO_MAY_OPEN: dict[str, frozenset[str]] = {
    # signing in and out, the language switch, static files
    "index": EVERYONE,
    "healthz": EVERYONE,  # the load balancer's probe: no sign-in, no details
    "static": EVERYONE,
    "admin.static": EVERYONE,
    "auth.login": EVERYONE,
    "auth.logout": EVERYONE,
    "auth.forgot_password": EVERYONE,
    "auth.reset_password": EVERYONE,
    # one-time codes: activating an invited account, resets handed out by the office
    "auth.activate": EVERYONE,
    "auth.activate_link": EVERYONE,
    "auth.reset_code": EVERYONE,
    "auth.set_password": EVERYONE,
    "auth.language": EVERYONE,
    # the staff dashboard
    "admin.index": STAFF,
    # estates, buildings, units, parking: staff read them, the estate's admin changes them;
    # an estate is never deleted from the screen
    **model_view("estate", read=STAFF, change=ADMIN, export=NOBODY, delete_view=NOBODY),
    **model_view("building", read=STAFF, change=ADMIN, export=NOBODY),
    # moving people in and out from the unit page is register work: the admin's
    **model_view(
        "unit", read=STAFF, change=ADMIN, export=STAFF, move_in_view=ADMIN, move_out_view=ADMIN,
        assign_space_view=ADMIN,
    ),
    **model_view("parking", read=STAFF, change=ADMIN, export=STAFF),
    # residents and who lives where: finance reads them (masked), repair sees no residents;
    # only the admin reveals a full number or imports a register
    # exporting the register is the admin's (residents.export), apart from reading it
    # inviting a resident to the portal (or a reset code) makes or changes an account:
    # the admin's, who manages accounts
    **model_view(
        "resident",
        read=OFFICE,
        change=ADMIN,
        export=ADMIN,
        reveal_view=ADMIN,
        portal_access_view=ADMIN,
    ),
    **model_view("occupancy", read=OFFICE, change=ADMIN, export=ADMIN),
    **model_view("vehicle", read=OFFICE, change=ADMIN, export=ADMIN),
    "register_import.index": ADMIN,
    "register_import.template": ADMIN,
    # accounts and roles: the admin's; accounts are deactivated, never deleted
    **model_view(
        "user", read=ADMIN, change=ADMIN, export=NOBODY, delete_view=NOBODY, reset_code_view=ADMIN
    ),
    **model_view("role", read=ADMIN, change=ADMIN, export=NOBODY),
    # the audit log is read, never written, from the screen
    **model_view("audit", read=ADMIN, change=NOBODY, export=NOBODY),
    # the outbox: the admin reads it and sends failed mail again; nobody writes mail by hand
    **model_view("outbox", read=ADMIN, change=NOBODY, export=NOBODY, action_view=ADMIN),
    # -- billing: fee items, rates, meters, readings (setup) --------------------------------
    **model_view("fee_item", read=FINANCE, change=FINANCE, export=FINANCE),
    **model_view("fee_rate", read=FINANCE, change=FINANCE, export=FINANCE),
    **model_view("meter", read=FINANCE, change=FINANCE, export=FINANCE),
    **model_view("meter_reading", read=FINANCE, change=FINANCE, export=FINANCE),
    "reading_import.index": FINANCE,
    "reading_import.template": FINANCE,
    # -- billing: bills, arrears, the finance dashboard -------------------------------------
    # bills come from generation and change through payments and adjustments: read-only here
    **model_view("bill", read=FINANCE, change=NOBODY, export=FINANCE),
    "arrears.index": FINANCE,
    "finance.index": FINANCE,
    # -- billing: generation -----------------------------------------------------------------
    "bill_generate.index": FINANCE,
    # -- billing: payments, receipts, prepaid, adjustments, late fees ----------------------
    # payments are recorded, printed and voided from their pages, never created or edited
    # as rows; the prepaid balances and adjustments are read-only lists (money moves by the
    # payment pages); the late-fee policy is billing.edit
    **model_view(
        "payment", read=FINANCE, change=NOBODY, export=FINANCE, record_view=FINANCE,
        topup_view=FINANCE, receipt_view=FINANCE, void_view=FINANCE, adjust_view=FINANCE,
        void_bill_view=FINANCE,
    ),
    **model_view("prepaid", read=FINANCE, change=NOBODY, export=FINANCE),
    **model_view("bill_adjustment", read=FINANCE, change=NOBODY, export=FINANCE),
    **model_view("late_fee_policy", read=FINANCE, change=FINANCE, export=NOBODY),
    # -- billing: reminders ------------------------------------------------------------------
    # reminders are written by sending (the page's button, `bills remind`), never by hand
    **model_view(
        "bill_reminder", read=FINANCE, change=NOBODY, export=NOBODY, send_view=FINANCE
    ),
    # resident-paid repairs: written by resolving a repair, billed by generation
    **model_view("unit_charge", read=FINANCE, change=NOBODY, export=NOBODY),
    # -- repairs: the queue, my jobs, a request's page and its moves, reports -------------
    # (endpoints of views/admin/repairs*.py go here)
    # the queue, my jobs, logging a call, reports and a request's page: admin and repair
    # staff; which moves a page offers is the service's rule (tests/test_repairs_admin*.py);
    # revealing the caller's full number is the admin's (repairs.reveal)
    "repairs.index_view": REPAIRS,
    "repairs.mine": REPAIRS,
    "repairs.new": REPAIRS,
    "repairs.reports": REPAIRS,
    "repairs.details": REPAIRS,
    "repairs.move": REPAIRS,
    "repairs.photo": REPAIRS,
    "repairs.reveal": REPAIR_ADMIN,
    # response targets and skills are the setup: repairs.manage
    **model_view("repair_sla", read=REPAIR_ADMIN, change=REPAIR_ADMIN, export=NOBODY),
    **model_view("repair_skill", read=REPAIR_ADMIN, change=REPAIR_ADMIN, export=NOBODY),

    # -- facilities: ledger, maintenance plans and records -------------------------------
    # (endpoints of views/admin/facilities*.py go here)
    # the ledger and plans are the admin's (facilities.edit); repair staff read them and
    # record maintenance (facilities.maintain), also from a facility's page; the ledger
    # holds no personal data, so whoever reads it may export it
    **model_view(
        "facility", read=REPAIRS, change=REPAIR_ADMIN, export=REPAIRS, maintain_view=REPAIRS
    ),
    **model_view("maintenance_plan", read=REPAIRS, change=REPAIR_ADMIN, export=REPAIRS),
    **model_view("maintenance_record", read=REPAIRS, change=REPAIRS, export=REPAIRS),

    # -- notices: the list, a notice's page, the editor and its reach count, the moves ----
    # every staff member reads notices (notices.view); the admin and finance write drafts
    # (notices.edit); publishing, scheduling, withdrawing and mailing are the admin's
    "notices.index_view": STAFF,
    "notices.details": STAFF,
    "notices.new": NOTICE_WRITERS,
    "notices.edit": NOTICE_WRITERS,
    "notices.reach": NOTICE_WRITERS,
    "notices.move": NOTICE_PUBLISHERS,

    # the resident portal
    "portal.home": RESIDENTS,
    "portal.profile": RESIDENTS,
    "portal.update_contact_details": RESIDENTS,
    # -- portal: bills -----------------------------------------------------------------------
    # a bill or receipt that is not the resident's (the walk's id is no bill) is a 404
    "portal.bills": RESIDENTS,
    "portal.bill": RESIDENTS,
    "portal.receipt": RESIDENTS,
    "portal.bill_sharing": RESIDENTS,
    # -- portal: repairs ---------------------------------------------------------------------
    # a resident reports for a home of theirs and follows their own requests only: a request
    # or photo that is not theirs (the walk's ids are none) is a 404
    "portal.repairs": RESIDENTS,
    "portal.repair_new": RESIDENTS,
    "portal.repair": RESIDENTS,
    "portal.repair_move": RESIDENTS,
    "portal.repair_photo": RESIDENTS,
    # -- portal: notices ---------------------------------------------------------------------
    # a resident reads the notices that reach their home: any other (the walk's id is none)
    # is a 404
    "portal.notices": RESIDENTS,
    "portal.notice": RESIDENTS,
}


def who_may_open(endpoint: str) -> frozenset[str]:
    try:
        return WHO_MAY_OPEN[endpoint]
    except KeyError:
        raise AssertionError(
            f"{endpoint} is not in WHO_MAY_OPEN in tests/test_access.py: add it, with the"
            " roles that may open it (see the role table in DESIGN.md)"
        ) from None


# -- walking every rule ----------------------------------------------------------------
URL_ARGS = {
    "export_type": "csv",
    "token": "not-a-real-token",
    "bill_id": 999999999,  # no such bill: the portal answers 404
    "payment_id": 999999999,
    "repair_id": 999999999,  # no such request: a 404 for those who may open requests
    "photo_id": 999999999,
    "notice_id": 999999999,  # no such notice: a 404 for whoever may open notices
}
# Pages of one record: an id that is not the user's (or is no record) is "not found" (404).
NOT_FOUND_UNLESS_THEIRS = (
    "portal.bill", "portal.receipt", "portal.repair", "portal.repair_photo", "portal.notice",
    "repairs.details", "repairs.photo", "notices.details", "notices.edit",
)
STATIC_FILES = {"static": "css/site.css", "admin.static": "admin/css/bootstrap4/admin.css"}


def endpoint_opens_a_record(endpoint: str) -> bool:
    return endpoint.endswith(
        (".details_view", ".edit_view", ".move_in_view", ".assign_space_view")
    )


def all_rules(app, record_ids=None):
    """(endpoint, method, url) for every rule; record pages open ``record_ids[view]``
    when given (so that the row lookup runs too)."""
    record_ids = record_ids or {}
    rules = []
    for rule in app.url_map.iter_rules():
        method = "GET" if "GET" in rule.methods else "POST"
        args = {**URL_ARGS, "filename": STATIC_FILES.get(rule.endpoint, "css/site.css")}
        url = rule.build({k: args[k] for k in rule.arguments}, append_unknown=False)[1]
        view = rule.endpoint.partition(".")[0]
        if endpoint_opens_a_record(rule.endpoint) and view in record_ids:
            url += f"?id={record_ids[view]}"
        rules.append((rule.endpoint, method, url))

    # Signing out ends the session the rest of the walk needs, so it goes last.
    return sorted(rules, key=lambda r: (r[0] == "auth.logout", r[0]))


def a_record_of_each_view(app, db_session) -> dict[str, int]:
    """The id of a demo row for every admin model view."""
    ids = {}
    for view in app.extensions["propadmin.admin"]._views:
        model = getattr(view, "model", None)
        if model is not None:
            ids[view.endpoint] = db_session.scalar(select(model.id).order_by(model.id).limit(1))
    return ids


def answer_problem(role: str, endpoint: str, method: str, response) -> str | None:
    """What is wrong with the app's answer, or None. Allowed: the page, or a redirect
    that is not to sign-in (a POST without its fields may also be a form error, and a
    lookup without a name a 404). Refused: anonymous are sent to sign in, others get 403."""
    who = who_may_open(endpoint)
    status = response.status_code
    to_login = status in (302, 303) and response.location.startswith("/login")
    if status >= 500:
        return f"{status}"
    if role in who:
        if status == 403 or (to_login and who != EVERYONE):
            return f"refused ({status}) though {role} may open it"
        if method == "GET" and status not in (200, 302, 303):
            # a lookup without a name, a move-out without its occupancy: not found
            not_found_is_right = endpoint.endswith((".ajax_lookup", ".move_out_view")) or (
                endpoint in NOT_FOUND_UNLESS_THEIRS
            )
            if not (not_found_is_right and status == 404):
                return f"{status} though {role} may open it"
        return None
    if role == ANONYMOUS:
        return None if to_login else f"anonymous got {status}, not sent to sign in"
    return None if status == 403 else f"{status}, not 403, though {role} may not open it"


def test_every_url_rule_is_in_the_access_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - set(WHO_MAY_OPEN))
    assert not missing, (
        f"add these endpoints to WHO_MAY_OPEN in tests/test_access.py, with the roles that"
        f" may open them (see the role table in DESIGN.md): {', '.join(missing)}"
    )
    gone = sorted(set(WHO_MAY_OPEN) - endpoints)
    assert not gone, f"remove from WHO_MAY_OPEN, the app has no such endpoint: {gone}"


@pytest.mark.parametrize("role", ROLES)
def test_role_by_url_matrix(app, demo, db_session, make, role):
    # Built-in roles are changed by superusers only; the walk opens a custom one. The
    # demo has no mail; one message makes the outbox's pages real.
    record_ids = a_record_of_each_view(app, db_session)
    record_ids["role"] = make.role(name="probe", label="探针", estate_id=demo).id
    record_ids["outbox"] = make.outbox_message().id
    client = app.test_client()
    if role == ANONYMOUS:
        token = csrf_from(client.get("/login").text)
    else:
        assert login(client, role).status_code == 302
        home = client.get("/portal/" if role in RESIDENTS else "/admin/")
        assert home.status_code == 200, f"{role} cannot open their home page"
        token = csrf_from(home.text)
    problems = []
    for endpoint, method, url in all_rules(app, record_ids):
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token})
        response.close()
        problem = answer_problem(role, endpoint, method, response)
        if problem:
            problems.append(f"{method} {url} ({endpoint}): {problem}")
    assert not problems, "\n".join(problems)


def test_owner_is_refused_every_admin_url(login_as, app):
    owner = login_as("owner")
    token = csrf_from(owner.get("/portal/").text)  # valid, so only permissions refuse
    checked = 0
    for endpoint, method, url in all_rules(app):
        if not url.startswith("/admin/") or endpoint == "admin.static":
            continue
        if method == "GET":
            response = owner.get(url)
        else:
            response = owner.post(url, data={"csrf_token": token})
        response.close()
        assert response.status_code == 403, f"{method} {url}: {response.status_code}"
        checked += 1
    assert checked > 60


def test_every_post_without_csrf_token_is_refused(app, demo):
    """Signed in as someone allowed to use each form, a POST without the token is a 400."""
    staff, resident = app.test_client(), app.test_client()
    login(staff, "admin")
    login(resident, "owner")
    checked = 0
    methods = {r.endpoint: r.methods for r in app.url_map.iter_rules()}
    for endpoint, _method, url in all_rules(app):
        if "POST" not in methods[endpoint] or endpoint == "auth.logout":
            continue
        client = resident if url.startswith("/portal/") else staff
        response = client.post(url, data={"username": "admin", "password": "x"})
        assert response.status_code == 400, f"POST {url} without token: {response.status_code}"
        checked += 1
    anonymous = app.test_client()
    assert anonymous.post("/logout").status_code == 400
    assert (
        anonymous.post("/login", data={"username": "admin", "password": "demo1234"}).status_code
        == 400
    )
    assert checked > 30
