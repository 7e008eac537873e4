"""Import meter readings from a sheet: every row checked by the readings service, a
row-by-row report, and nothing written unless every row is right."""

from flask import flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from propadmin.extensions import db
from propadmin.services.reading_import import COLUMNS, import_readings, template_xlsx
from propadmin.services.register_sheet import SheetError, read_sheet

from .base import PermissionView
from .register_import import import_page, max_upload_mb, xlsx_download


class ReadingSheetForm(FlaskForm):
    sheet = FileField(_l("Sheet (.xlsx or .csv)"), validators=[FileRequired()])


class ReadingImportView(PermissionView, BaseView):
    required_permission = "billing.edit"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = ReadingSheetForm()
        report = None
        if form.validate_on_submit():
            upload = form.sheet.data
            user = current_user._get_current_object()
            try:
                rows = read_sheet(upload.stream, upload.filename, COLUMNS)
                report = import_readings(db.session, rows, user=user)
            except SheetError as exc:
                db.session.rollback()
                form.sheet.errors.append(exc.message)
            else:
                if report.errors:
                    db.session.rollback()  # all or nothing
                else:
                    db.session.commit()
                    flash(
                        _(
                            "Imported %(n)d readings: %(flagged)d flagged for review, "
                            "%(first)d first readings of their meter (usage 0).",
                            n=report.written,
                            flagged=report.flagged,
                            first=report.first,
                        ),
                        "success",
                    )
                    return redirect(url_for("meter_reading.index_view"))
        return import_page(self, "admin/reading_import.html", form, report, COLUMNS)

    @expose("/template.xlsx")
    def template(self):
        return xlsx_download(template_xlsx(max_mb=max_upload_mb()), "reading-template.xlsx")
