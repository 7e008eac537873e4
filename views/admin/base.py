"""The one base admin view: permissions, row scoping, CSRF and sensitive columns.

Every admin model view inherits ``SecureModelView``; none re-implements these checks.

- ``permission_module`` names the permission pair ``<module>.view`` / ``<module>.edit``;
  ``is_accessible`` checks the first, ``_handle_view`` checks the right one for each
  action (create, edit, delete, export, ajax) and answers 403 when it is missing.
- ``get_query``, ``get_count_query`` and ``get_one`` all start from the user's estate
  scope, so a row hidden from the list cannot be opened, edited or deleted by id
  (Flask-Admin's own ``get_one`` ignores ``get_query``).
- Relationship dropdowns and ajax lookups are scoped the same way.
- ``sensitive_columns`` maps a column to the permission needed to see it; without it the
  column is left out of the list, details and export. Sensitive columns may never be
  filters or search fields (they are encrypted; search goes through blind indexes).
"""

from __future__ import annotations

from flask import (
    abort,
    flash,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from wtforms.validators import ValidationError

from propadmin.extensions import db
from propadmin.i18n import localtime
from propadmin.permissions import can, estate_clause, estate_scope, scoped

from .export import StreamedExport

# Flask-Admin view method → which of the view's permissions it needs.
ACTION_NEEDS = {
    "index_view": "view",
    "details_view": "view",
    "ajax_lookup": "view",
    "export": "export",
    "create_view": "create",
    "edit_view": "edit",
    "ajax_update": "edit",
    "delete_view": "delete",
    "action_view": "action",
}


def local_time(attr: str):
    """Column formatter: a stored UTC time in the estate's time zone."""
    return lambda view, context, model, name: localtime(getattr(model, attr))


MAX_ID = 2**31 - 1


def typed_ids(model, ids):
    """Request ids (strings) as the primary key's type — PostgreSQL compares strictly —
    dropping any that cannot be one. Returns the key column and the values."""
    pk = inspect(model).primary_key[0]
    values = []
    for raw in ids:
        try:
            value = pk.type.python_type(raw)
        except (TypeError, ValueError):
            continue
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            continue  # no such row, and beyond what the database's integer holds
        values.append(value)
    return pk, values


def FormOnly(field_class):  # noqa: N802 — a field class factory
    """A form field that on_model_change reads; populate_obj leaves the model alone."""
    return type(
        f"FormOnly{field_class.__name__}", (field_class,), {"populate_obj": lambda *a: None}
    )


def resolve_choices(form):
    """Flask-Admin's QuerySelectMultipleField only notices an id outside its choices once
    its data has been read; read it now (after the choices were narrowed) so such a
    submission fails validation instead of being dropped silently."""
    if request.method == "POST":
        for field in form:
            if hasattr(field, "_invalid_formdata") and getattr(field, "query_factory", None):
                field.data  # noqa: B018 — resolving flags ids outside the choices
    return form


class AdminForm(SecureForm):
    """Flask-Admin's SecureForm carrying Flask-WTF's token, so the one CSRFProtect check
    that guards every POST of the app also guards the admin's forms and actions."""

    class Meta(FlaskForm.Meta):
        pass


class ScopedAjaxLoader(QueryAjaxModelLoader):
    def get_query(self):
        return scoped(super().get_query(), self.model)

    def get_one(self, pk):
        key, values = typed_ids(self.model, [pk])
        return self.get_query().filter(key == values[0]).one_or_none() if values else None


class VisibleColumns:
    """A column list Flask-Admin stores once and reads per request: sensitive columns
    are left out unless the current user holds the view's permission for them."""

    def __set_name__(self, owner, name):
        self.stored = f"_all{name}"

    def __get__(self, view, owner=None):
        if view is None:
            return self
        columns = getattr(view, self.stored)
        if not has_request_context():
            return columns
        return [
            (name, label)
            for name, label in columns
            if name not in view.sensitive_columns or can(view.sensitive_columns[name])
        ]

    def __set__(self, view, value):
        setattr(view, self.stored, value)


class PermissionView:
    """For admin pages that are not model views: one permission for all their methods."""

    required_permission: str = ""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(self.required_permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)


class SecureModelView(StreamedExport, ModelView):
    permission_module: str = ""
    # Override to use another permission for one kind of action; None disables it.
    view_permission: str = "view"
    create_permission: str | None = "edit"
    edit_permission: str | None = "edit"
    delete_permission: str | None = "edit"
    # Off until exports are streamed, masked and safe against formula injection.
    export_permission: str | None = None
    action_permission: str | None = "edit"
    sensitive_columns: dict[str, str] = {}
    # Extra @expose'd methods of a view → the permission each needs.
    extra_permissions: dict[str, str] = {}
    export_types = ["csv", "xlsx"]

    form_base_class = AdminForm
    can_view_details = True
    page_size = 20
    can_set_page_size = False
    create_modal = False
    edit_modal = False

    def __init__(self, model, session, **kwargs):
        super().__init__(model, session, **kwargs)
        for col in self.sensitive_columns:
            if col in (self.column_searchable_list or ()) or col in (self.column_filters or ()):
                raise TypeError(f"{type(self).__name__}: sensitive column {col!r} in search")

    # -- permissions ---------------------------------------------------------------
    def _permission(self, kind: str) -> str | None:
        name = getattr(self, f"{kind}_permission")
        if name is None:
            return None
        return name if "." in name else f"{self.permission_module}.{name}"

    def allowed(self, kind: str) -> bool:
        perm = self._permission(kind)
        return perm is not None and can(perm)

    @property
    def can_create(self):
        return self.allowed("create")

    @property
    def can_edit(self):
        return self.allowed("edit")

    @property
    def can_delete(self):
        return self.allowed("delete")

    @property
    def can_export(self):
        return self.export_permission is not None and self.allowed("export")

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(self._permission("view"))

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    def permission_for(self, name: str) -> str | None:
        """The permission a view method needs; ``None``: nobody may use it."""
        if name in self.extra_permissions:
            return self.extra_permissions[name]
        kind = ACTION_NEEDS.get(name)
        return None if kind is None else self._permission(kind)

    def _handle_view(self, name, **kwargs):
        response = super()._handle_view(name, **kwargs)
        if response is not None:
            return response
        needed = self.permission_for(name)
        if needed is None or not can(needed):
            abort(403)
        return None

    def get_list(self, page, sort_column, sort_desc, search, filters, *args, **kwargs):
        """A negative page (typed into the address) is the first page."""
        page = max(page or 0, 0)
        return super().get_list(page, sort_column, sort_desc, search, filters, *args, **kwargs)

    # -- row scoping ---------------------------------------------------------------
    def get_query(self):
        return scoped(super().get_query(), self.model)

    def get_count_query(self):
        return scoped(super().get_count_query(), self.model)

    def get_one(self, id):
        pk, values = typed_ids(self.model, [id])
        return self.get_query().filter(pk == values[0]).one_or_none() if values else None

    def scoped_rows(self, ids):
        """The rows behind an action's selected ids, within the user's scope."""
        pk, values = typed_ids(self.model, ids)
        return self.get_query().filter(pk.in_(values)).all()

    def _create_ajax_loader(self, name, options):
        attr = getattr(self.model, name)
        remote = attr.property.mapper.class_
        return ScopedAjaxLoader(name, self.session, remote, **options)

    def _scope_relation_fields(self, form):
        """Limit every relationship dropdown to rows in the user's estates."""
        for rel in inspect(self.model).relationships:
            field = getattr(form, rel.key, None)
            target = rel.mapper.class_
            if field is None or not hasattr(field, "query_factory"):
                continue
            clause = estate_clause(target)
            if clause is not None:
                field.query_factory = lambda target=target, clause=clause: db.session.query(
                    target
                ).filter(clause)
        return form

    def prepare_form(self, form, obj=None):
        """Views adjust their create and edit forms here (``obj`` is None on create)."""
        return form

    def create_form(self, obj=None):
        form = self._scope_relation_fields(super().create_form(obj))
        return resolve_choices(self.prepare_form(form))

    def edit_form(self, obj=None):
        form = self._scope_relation_fields(super().edit_form(obj))
        return resolve_choices(self.prepare_form(form, obj))

    def on_model_change(self, form, model, is_created):
        """A saved row must stay inside the user's estates."""
        ids = estate_scope(current_user)
        if ids is None or not hasattr(type(model), "in_estates"):
            return
        db.session.flush()
        pk = inspect(type(model)).primary_key[0]
        visible = (
            db.session.query(pk)
            .filter(pk == inspect(model).identity[0])
            .filter(type(model).in_estates(ids))
            .first()
        )
        if visible is None:
            raise ValidationError(_("You can only save records of the estates you manage."))

    def action_delete(self, ids):
        """The built-in bulk delete, with ids typed for PostgreSQL and kept in scope."""
        _pk, values = typed_ids(self.model, ids)
        return super().action_delete(values)

    action_delete._action = ModelView.action_delete._action  # keep it registered

    # -- sensitive columns ---------------------------------------------------------
    # Flask-Admin computes these lists once, at start-up, and renders from the cached
    # attributes; the descriptors filter them for the user of each request.
    _list_columns = VisibleColumns()
    _details_columns = VisibleColumns()
    _export_columns = VisibleColumns()

    # -- errors a person can act on --------------------------------------------------
    def handle_view_exception(self, exc):
        if isinstance(exc, IntegrityError):
            db.session.rollback()
            flash(
                _(
                    "This conflicts with other records: a name or number is already used, "
                    "or other records still refer to this one."
                ),
                "error",
            )
            return True
        return super().handle_view_exception(exc)


class ReadOnlyModelView(SecureModelView):
    create_permission = None
    edit_permission = None
    delete_permission = None
    action_permission = None
