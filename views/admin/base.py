"""The one base admin view: permissions, row scoping, per-row rules, CSRF, sensitive data.

Every admin model view inherits ``SecureModelView``; none re-implements these checks.

- ``permission_module`` names the permission pair ``<module>.view`` / ``<module>.edit``;
  each kind of action (create, edit, delete, export, mass action, extra pages) needs its
  permission, checked in ``_handle_view`` with a 403. Every permission a view names is
  checked against the catalogue when the view is built, so a typo stops the app.
- Rows are scoped by the model's own declaration (``__estate_scope__``): ``get_query``,
  ``get_count_query``, ``get_one``, relationship dropdowns and ajax lookups all start
  from it, so a row hidden from the list cannot be opened, edited or deleted by id. A
  model without a declaration cannot have a view (start-up error).
- ``may(action, row)`` is the one per-row hook (may this user view / edit / delete this
  row); opening by id, edit, inline edit, delete and mass actions all ask it.
- On save, the row must still be inside the user's estates; the check runs around
  ``on_model_change`` so a subclass cannot skip it by forgetting ``super()``.
- ``sensitive_columns`` (see columns.py) masks or hides personal data everywhere.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_admin.contrib.sqla import ModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import inspect
from wtforms.validators import ValidationError

from models import scope_of
from propadmin.extensions import db
from propadmin.i18n import localtime
from propadmin.permissions import can, check_permission, estate_clause, scoped

from .columns import Sensitive, VisibleColumns, install_sensitive_formatters
from .export import StreamedExport
from .fields import (
    AdminForm,
    FormOnly,
    ajax_loader_for,
    resolve_choices,
    typed_ids,
    unresolved_lookups,
)
from .list_links import static_url
from .listing import FastList
from .presentation import COMMON_LABELS, Presentation

__all__ = [
    "FormOnly",
    "PermissionView",
    "ReadOnlyModelView",
    "SecureModelView",
    "Sensitive",
    "local_time",
    "typed_ids",
]

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
ACTION_KINDS = ("view", "create", "edit", "delete", "export", "action")

# Beyond this a list page is empty anyway; larger numbers overflow the database's offset.
MAX_PAGE = 1_000_000


def local_time(attr: str):
    """Column formatter: a stored UTC time in the estate's time zone."""
    return lambda view, context, model, name: localtime(getattr(model, attr))


class PermissionView:
    """For admin pages that are not model views: one permission for all their methods."""

    required_permission: str = ""
    # Further permissions the page needs as well.
    also_required: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        for name in (self.required_permission, *self.also_required):
            check_permission(name, type(self).__name__)
        super().__init__(*args, **kwargs)

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and all(
            can(name) for name in (self.required_permission, *self.also_required)
        )

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    def get_url(self, endpoint, **kwargs):
        return static_url(super().get_url, endpoint, kwargs)


class SecureModelView(Presentation, FastList, StreamedExport, ModelView):
    permission_module: str = ""
    # Override to use another permission for one kind of action; None disables it.
    view_permission: str = "view"
    create_permission: str | None = "edit"
    edit_permission: str | None = "edit"
    delete_permission: str | None = "edit"
    # Off until exports are streamed, masked and safe against formula injection.
    export_permission: str | None = None
    action_permission: str | None = "edit"
    sensitive_columns: dict[str, Sensitive] = {}
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
        scope_of(model)  # raises UndeclaredScope, naming the model
        name = type(self).__name__
        for kind in ACTION_KINDS:
            perm = self._permission(kind)
            if perm is not None:
                check_permission(perm, name)
        for perm in self.extra_permissions.values():
            check_permission(perm, name)
        for column, rule in self.sensitive_columns.items():
            if not isinstance(rule, Sensitive):
                raise TypeError(f"{name}: sensitive column {column!r} needs a Sensitive(...)")
            if rule.see is not None:
                check_permission(rule.see, name)
        self.column_labels = {**COMMON_LABELS, **(self.column_labels or {})}
        super().__init__(model, session, **kwargs)
        for col in self.sensitive_columns:
            if col in (self.column_searchable_list or ()) or col in (self.column_filters or ()):
                raise TypeError(f"{name}: sensitive column {col!r} in search")
        install_sensitive_formatters(self)
        self._link_first_column()
        self._scope_actions()

    def _scope_actions(self) -> None:
        """Every mass action — Flask-Admin's and a view's own ``@action`` — receives only
        the selected ids of rows inside the user's estates that ``may()`` allows, so no
        action can forget to check."""
        for name, (handler, text, confirm) in list(self._actions_data.items()):
            kind = "delete" if name == "delete" else "edit"

            def scoped_handler(ids, handler=handler, kind=kind):
                rows = self.scoped_rows(ids, kind)
                skipped = len(set(ids)) - len(rows)
                if skipped:
                    flash(
                        _(
                            "%(n)d of the chosen records may not be changed by you and were left "
                            "as they are.",
                            n=skipped,
                        ),
                        "warning",
                    )
                return handler([str(self.get_pk_value(row)) for row in rows])

            self._actions_data[name] = (scoped_handler, text, confirm)

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
        # What opening a row by id is for in this request: get_one asks may() for it.
        # A page of the view's own (@expose) that changes something is an edit.
        default = "view" if request.method in ("GET", "HEAD") else "edit"
        g.admin_row_action = ACTION_NEEDS.get(name, default)
        return None

    # -- the per-row hook ----------------------------------------------------------
    def may(self, action: str, row) -> bool:
        """Whether the current user may ``action`` ("view", "edit", "delete") this row,
        which is already inside their estates. Views with row rules override this."""
        return True

    # -- row scoping ---------------------------------------------------------------
    def get_query(self):
        return scoped(super().get_query(), self.model)

    def get_count_query(self):
        return scoped(super().get_count_query(), self.model)

    def get_one(self, id, action: str | None = None):
        """A row by id, only inside the user's estates; a row they may see but not
        ``action`` (by default what this request does: view, edit, delete) is refused
        with a 403. Pages of a view's own name the action they take."""
        pk, values = typed_ids(self.model, [id])
        if not values:
            return None
        row = self.get_query().filter(pk == values[0]).one_or_none()
        if row is not None and not self.may(action or g.get("admin_row_action", "view"), row):
            abort(403)
        return row

    def scoped_rows(self, ids, action: str = "edit"):
        """The rows behind a mass action's selected ids that the user may act on."""
        pk, values = typed_ids(self.model, ids)
        rows = self.get_query().filter(pk.in_(values)).all()
        return [row for row in rows if self.may(action, row)]

    def get_list(self, page, sort_column, sort_desc, search, filters, *args, **kwargs):
        """A page number typed into the address is kept within sensible bounds."""
        page = min(max(page or 0, 0), MAX_PAGE)
        return super().get_list(page, sort_column, sort_desc, search, filters, *args, **kwargs)

    def _create_ajax_loader(self, name, options):
        # Flask-Admin's default placeholder reads "请选择模型" (select a model).
        options = {"placeholder": _l("Type to search, then choose"), **options}
        attr = getattr(self.model, name)
        remote = attr.property.mapper.class_
        return ajax_loader_for(remote)(name, self.session, remote, **options)

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

    # -- forms -----------------------------------------------------------------------
    def prepare_form(self, form, obj=None):
        """Views adjust their create and edit forms here (``obj`` is None on create)."""
        return form

    def create_form(self, obj=None):
        form = self._scope_relation_fields(super().create_form(obj))
        return resolve_choices(self.prepare_form(form))

    def edit_form(self, obj=None):
        form = self._scope_relation_fields(super().edit_form(obj))
        return resolve_choices(self.prepare_form(form, obj))

    def validate_form(self, form):
        valid = super().validate_form(form)
        for field in unresolved_lookups(form):
            field.errors = [
                *field.errors,
                _("No such record in the estates you manage: choose one from the list."),
            ]
            valid = False
        return valid

    def _on_model_change(self, form, model, is_created):
        """Around the views' own ``on_model_change``: the per-row rule, and the saved
        row must stay inside the user's estates."""
        if not is_created and not self.may("edit", model):
            raise ValidationError(_("You may not change this record."))
        super()._on_model_change(form, model, is_created)
        self._check_in_scope(model)

    def _check_in_scope(self, model) -> None:
        db.session.flush()  # new rows (and new memberships) get their ids first
        clause = estate_clause(type(model))
        if clause is None:
            return
        pk = inspect(type(model)).primary_key[0]
        visible = (
            db.session.query(pk).filter(pk == inspect(model).identity[0]).filter(clause).first()
        )
        if visible is None:
            raise ValidationError(_("You can only save records of the estates you manage."))

    def delete_model(self, model):
        if not self.may("delete", model):
            flash(_("You may not delete this record."), "error")
            return False
        return super().delete_model(model)

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


class ReadOnlyModelView(SecureModelView):
    create_permission = None
    edit_permission = None
    delete_permission = None
    action_permission = None
