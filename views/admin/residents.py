"""Admin screen of the estate register's residents.

ID-card and mobile numbers are shown masked everywhere; the full value is revealed
one resident and one field at a time, with the residents.reveal permission, and each
reveal is written to the audit log.
"""

from datetime import date

from flask import abort, flash, g, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import bindparam, or_, select
from wtforms import StringField
from wtforms.validators import Optional, ValidationError

from models import Building, Occupancy, Resident, Unit
from models.property import unit_label
from propadmin.extensions import db
from propadmin.i18n import in_language
from propadmin.permissions import can, estate_scope
from propadmin.services import ServiceError
from propadmin.services.dashboard import kept_total
from propadmin.services.households import resident_household
from propadmin.services.number_search import (
    RegisterSearch,
    check_typed_id_number,
    register_search,
)
from propadmin.services.register_export import resident_export
from propadmin.services.residents import (
    RegisterError,
    ResidentDetails,
    check_details,
    reveal,
    save_resident,
)

from .base import FormOnly, SecureModelView, Sensitive
from .portal_access import PortalAccessMixin
from .register import PARKING_LABELS, RELATION_LABELS

SENSITIVE_INPUTS = {
    "id_number": "id_number_input",
    "mobile": "mobile_input",
    "emergency_phone": "emergency_phone_input",
}


def _current_units(resident: Resident) -> str:
    """``1-101（业主）、2-302（租户）``: where the person lives now, and as what. The list
    reads them for the whole page at once (``page_units``); one resident alone, here."""
    listed = g.get("_resident_units")
    if listed is not None and resident.id in listed:
        return listed[resident.id]
    return "、".join(
        f"{o.unit.label}（{RELATION_LABELS[o.relation]}）"
        for o in resident.occupancies
        if o.is_current
    )


# The current units of a page of residents, as plain rows in one statement: loading each
# resident's occupancies, units and buildings as objects took two more statements and
# cost more than the rest of the page's rows.
_PAGE_UNITS = (
    select(Occupancy.resident_id, Building.name, Unit.number, Occupancy.relation)
    .join(Unit, Unit.id == Occupancy.unit_id)
    .join(Building, Building.id == Unit.building_id)
    .where(
        Occupancy.resident_id.in_(bindparam("ids", expanding=True)),
        or_(Occupancy.start_date.is_(None), Occupancy.start_date <= bindparam("today")),
        or_(Occupancy.end_date.is_(None), Occupancy.end_date >= bindparam("today")),
    )
    .order_by(Occupancy.id)
)


def page_units(residents) -> dict[int, str]:
    """Each listed resident's current units, as ``_current_units`` writes them."""
    labels: dict[int, list[str]] = {r.id: [] for r in residents}
    if labels:
        found = db.session.execute(_PAGE_UNITS, {"ids": list(labels), "today": date.today()})
        names = in_language(RELATION_LABELS)
        for resident_id, building, number, relation in found:
            labels[resident_id].append(f"{unit_label(building, number)}（{names[relation]}）")
    return {key: "、".join(units) for key, units in labels.items()}


class ResidentView(PortalAccessMixin, SecureModelView):
    permission_module = "residents"
    export_permission = "residents.export"
    extra_permissions = {
        "reveal_view": "residents.reveal",
        # Inviting makes an account: the permission to make accounts.
        "portal_access_view": "users.edit",
    }
    details_template = "admin/resident_details.html"
    column_list = ("name", "units", "mobile", "id_number", "email", "estate")
    sensitive_columns = {
        "mobile": Sensitive(masked="mobile_masked"),
        "id_number": Sensitive(masked="id_number_masked"),
    }
    column_searchable_list = ("name",)  # the search box; matching is our own (below)
    column_sortable_list = ("name",)
    column_default_sort = "name"
    form_columns = (
        "estate",
        "name",
        "id_number_input",
        "mobile_input",
        "email",
        "emergency_contact",
        "emergency_phone_input",
        "notes",
    )
    form_extra_fields = {
        "id_number_input": FormOnly(StringField)(_l("ID-card number"), validators=[Optional()]),
        "mobile_input": FormOnly(StringField)(_l("Mobile"), validators=[Optional()]),
        "emergency_phone_input": FormOnly(StringField)(
            _l("Emergency phone"), validators=[Optional()]
        ),
    }
    column_labels = {
        "name": _l("Name"),
        "units": _l("Units"),
        "mobile": _l("Mobile"),
        "id_number": _l("ID-card number"),
        "email": _l("E-mail"),
        "estate": _l("Estate"),
        "emergency_contact": _l("Emergency contact"),
        "notes": _l("Notes"),
        "id_number_input": _l("ID-card number"),
        "mobile_input": _l("Mobile"),
        "emergency_phone_input": _l("Emergency phone"),
    }
    column_formatters = {
        "units": lambda v, c, m, n: _current_units(m),
    }

    def _export_table(self):
        search = self._get_list_extra_args().search
        matching = self._search(search).ids if search else None
        # The Session object itself, not the proxy: the rows are read while streaming.
        return resident_export(db.session(), estate_scope(current_user), matching=matching)

    def search_placeholder(self):
        return _("Name, unit (3-1201), plate or full mobile number")

    def kept_count(self) -> int:
        """The residents of the reader's estates, as ``estate_count`` keeps them (the
        unfiltered list's count: a few rows read, not the register counted)."""
        return kept_total(db.session, "residents", estate_scope(current_user))

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True) and isinstance(rows, list):
            g._resident_units = page_units(rows)
        return count, rows

    def _search(self, search: str) -> RegisterSearch:
        """The search box's residents; a full-number search is a reveal (see
        services/number_search.py): refused with a reason, or audited."""
        result = register_search(
            db.session,
            search,
            estate_scope(current_user),
            may_reveal=can("residents.reveal"),
            account_id=current_user.id,
        )
        if result.refusal:
            flash(result.refusal, "warning")
        elif result.audited:
            # The audit entries are the transaction's only writes: what the request loaded
            # (the signed-in account) stays as read, not expired and read again.
            session = db.session()
            expiring, session.expire_on_commit = session.expire_on_commit, False
            try:
                session.commit()
            finally:
                session.expire_on_commit = expiring
        return result

    def _apply_search(self, query, count_query, joins, count_joins, search):
        result = self._search(search)
        clause = result.clause  # flat and indexed: services/resident_search.py
        if result.found is not None:
            self.rows_among(result.found)
        query = query.filter(clause)
        if count_query is not None:
            count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    # -- forms: identity numbers are typed in, never shown back ----------------------
    def prepare_form(self, form, obj=None):
        for field, input_name in SENSITIVE_INPUTS.items():
            masked = getattr(obj, f"{field}_masked", None) if obj is not None else None
            if masked:
                form[input_name].render_kw = {
                    "placeholder": _("%(masked)s — leave empty to keep it", masked=masked)
                }
        return form

    def _details_from(self, form, existing: Resident | None) -> ResidentDetails:
        values = {}
        for field, input_name in SENSITIVE_INPUTS.items():
            typed = (form[input_name].data or "").strip()
            values[field] = typed or (getattr(existing, field) if existing is not None else None)
        return ResidentDetails(
            name=form.name.data or "",
            email=form.email.data or "",
            emergency_contact=form.emergency_contact.data or "",
            notes=form.notes.data or "",
            **values,
        )

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "id_number_input"):
            return valid  # not submitted, or a delete or action form
        existing = self.get_one(request.args.get("id")) if request.args.get("id") else None
        try:
            clean = check_details(self._details_from(form, existing))
        except RegisterError as exc:
            for field, message in exc.errors.items():
                form[SENSITIVE_INPUTS.get(field, field)].errors.append(message)
            return False
        estate = form.estate.data
        typed = (form.id_number_input.data or "").strip()
        if estate is not None and typed:
            problem = check_typed_id_number(
                db.session,
                estate.id,
                clean.id_number,
                existing.id if existing else None,
                may_reveal=can("residents.reveal"),
                account_id=current_user.id,
            )
            if problem:
                db.session.commit()  # the audit entry of a duplicate found
                form.id_number_input.errors.append(problem)
                return False
        return valid

    def on_model_change(self, form, model, is_created):
        existing = None if is_created else model
        try:
            save_resident(db.session, model, self._details_from(form, existing))
        except RegisterError as exc:
            raise ValidationError(exc.message) from exc
        super().on_model_change(form, model, is_created)

    # -- the resident page -----------------------------------------------------------
    def render(self, template, **kwargs):
        if template == self.details_template and "occupancies" not in kwargs:
            kwargs.update(self._household(kwargs["model"]))
        return super().render(template, **kwargs)

    def _household(self, resident: Resident) -> dict:
        household = resident_household(db.session, resident)
        return {
            "occupancies": household.occupancies,
            "vehicles": household.vehicles,
            "spaces": household.spaces,
            "masked": {field: getattr(resident, f"{field}_masked") for field in SENSITIVE_INPUTS},
            "can_reveal": can("residents.reveal"),
            "can_read_audit": can("audit.view"),
            "relation_labels": RELATION_LABELS,
            "parking_labels": PARKING_LABELS,
            "revealed": {},
            **self.portal_access_context(resident),
        }

    @expose("/reveal/", methods=("POST",))
    def reveal_view(self):
        """Show one full value on the resident page; the reveal is audited."""
        field = request.form.get("field", "")
        resident = self.get_one(request.args.get("id", ""), action="view")  # a read
        if resident is None:
            abort(404)
        try:
            value = reveal(db.session, resident, field)
        except ServiceError:
            abort(400)
        db.session.commit()
        context = self._household(resident)
        context["revealed"] = {field: value}
        return self.render(
            self.details_template,
            model=resident,
            details_columns=self._details_columns,
            get_value=self.get_detail_value,
            return_url=self.get_url(".index_view"),
            **context,
        )
