"""Exports from admin lists: streamed, masked by the views' formatters, and safe to open
in a spreadsheet."""

from flask import Response, abort, send_file, stream_with_context
from flask_login import current_user

from models import utcnow
from propadmin import audit
from propadmin.extensions import db
from propadmin.permissions import estate_scope
from propadmin.services.register_export import csv_stream, xlsx_file


def _releasing(rows, session):
    """End the export's transaction and hand back its connection once the rows are
    out. ``session`` is the request's own Session object: while the response streams,
    ``db.session`` may resolve to another one."""
    try:
        yield from rows
    finally:
        session.close()


class StreamedExport:
    """Replaces Flask-Admin's export, which builds every row in memory."""

    def _export_table(self):
        """Header and a row iterator over the current list (search, filters, sort)."""
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        _count, query = self.get_list(
            0,
            sort[0] if sort else None,
            args.sort_desc,
            args.search,
            args.filters,
            page_size=0,
            execute=False,
        )
        columns = self._export_columns
        header = [str(label) for _name, label in columns]

        def rows():
            for model in query.yield_per(500):
                yield [self.get_export_value(model, name) for name, _label in columns]

        return header, rows()

    def _record_export(self, export_type: str) -> None:
        """An export takes personal data out of the system: it goes into the audit log
        (who, which list, with what search), where it stands out like a reveal."""
        args = self._get_list_extra_args()
        scope = estate_scope(current_user)
        audit.record(
            db.session,
            "export",
            self.model.__name__,
            "",
            estate_id=next(iter(scope)) if scope and len(scope) == 1 else None,
            format=export_type,
            search=args.search or "",
            filters=len(args.filters or ()),
        )
        db.session.commit()

    def _export_filename(self, export_type: str) -> str:
        stamp = utcnow().strftime("%Y%m%d-%H%M")
        return f"{self.endpoint}-{stamp}.{export_type}"

    def _export_csv(self, return_url):
        self._record_export("csv")
        session = db.session()  # the Session object this request's queries run in
        header, rows = self._export_table()
        return Response(
            stream_with_context(csv_stream(header, _releasing(rows, session))),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={self._export_filename('csv')}"},
        )

    def _export_tablib(self, export_type, return_url):
        if export_type != "xlsx":
            abort(404)
        self._record_export("xlsx")
        header, rows = self._export_table()
        return send_file(
            xlsx_file(header, rows),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            as_attachment=True,
            download_name=self._export_filename("xlsx"),
        )
