"""Import the register from a sheet: check every row, report, and only then write."""

import io

from flask import current_app, flash, redirect, send_file, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from models import Estate
from propadmin.extensions import db
from propadmin.permissions import visible_estates
from propadmin.services import register_sheet
from propadmin.services.register_import import import_sheet
from propadmin.services.register_sheet import COLUMNS, SheetError, read_sheet
from propadmin.services.register_template import template_xlsx

from .base import PermissionView


def max_upload_mb() -> int:
    """The upload limit, in MB, as the page and the template state it."""
    return (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)


def import_page(view, template: str, form, report, columns):
    """A sheet import's page (see admin/_sheet_import.html): the form, the sheet's
    columns and limits, and the report of a sheet that was not imported."""
    return view.render(
        template,
        form=form,
        errors=report.errors if report else None,
        problems=report.problems if report else 0,
        unreported=report.unreported if report else 0,
        columns=columns,
        max_mb=max_upload_mb(),
        max_rows=register_sheet.MAX_ROWS,
    )


def xlsx_download(data: bytes, name: str):
    return send_file(
        io.BytesIO(data),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=name,
    )


class ImportForm(FlaskForm):
    estate = SelectField(_l("Estate"), coerce=int)
    sheet = FileField(_l("Sheet (.xlsx or .csv)"), validators=[FileRequired()])


class RegisterImportView(PermissionView, BaseView):
    required_permission = "residents.edit"
    # An import answers, row by row, whether a full ID-card number is on the register
    # (a duplicate is refused): that is a reveal, for those who may reveal numbers.
    also_required = ("residents.reveal",)

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = ImportForm()
        form.estate.choices = [(e.id, e.name) for e in visible_estates(db.session, current_user)]
        plan = None
        if form.validate_on_submit():
            estate = db.session.get(Estate, form.estate.data)
            upload = form.sheet.data
            try:
                plan = import_sheet(db.session, estate, read_sheet(upload.stream, upload.filename))
            except SheetError as exc:
                form.sheet.errors.append(exc.message)
            else:
                if plan.imported:
                    db.session.commit()
                    flash(
                        _(
                            "Imported %(residents)d residents in %(rows)d rows, "
                            "%(vehicles)d vehicles and %(units)d new units.",
                            residents=plan.residents,
                            rows=plan.valid,
                            vehicles=plan.vehicles,
                            units=plan.new_units,
                        ),
                        "success",
                    )
                    for row in plan.examples:
                        flash(_("Row %(row)d, the template's example, was skipped.", row=row))
                    return redirect(url_for("resident.index_view"))
        return import_page(self, "admin/register_import.html", form, plan, COLUMNS)

    @expose("/template.xlsx")
    def template(self):
        return xlsx_download(template_xlsx(max_mb=max_upload_mb()), "register-template.xlsx")
