"""The one base admin view: sensitive columns stay out of sight unless the role may
see them, and can never be search fields or filters."""

import pytest

from models import Resident
from propadmin.extensions import db
from views.admin.base import ReadOnlyModelView, Sensitive


class ResidentProbeView(ReadOnlyModelView):
    """A view a later module would write: residents with an encrypted ID number."""

    permission_module = "residents"
    export_permission = "view"
    column_list = ("name", "id_number", "mobile")
    column_details_list = ("name", "id_number", "mobile")
    column_export_list = ("name", "id_number", "mobile")
    sensitive_columns = {
        "id_number": Sensitive(see="residents.reveal"),
        "mobile": Sensitive(see="residents.reveal"),
    }


@pytest.fixture
def probe_app(app):
    app.extensions["propadmin.admin"].add_view(ResidentProbeView(Resident, db, endpoint="probe"))
    return app


def _resident(db_session):
    from sqlalchemy import select

    return db_session.scalar(select(Resident).where(Resident.name == "张伟"))


@pytest.mark.parametrize("role, sees", [("finance", False), ("admin", True)])
def test_sensitive_columns_follow_the_reveal_permission(
    probe_app, login_as, db_session, role, sees
):
    client = login_as(role)
    resident = _resident(db_session)
    pages = [
        client.get("/admin/probe/").text,
        client.get(f"/admin/probe/details/?id={resident.id}").text,
        client.get("/admin/probe/export/csv/").get_data(as_text=True),
    ]
    for page in pages:
        assert "张伟" in page
        assert (resident.id_number in page) is sees
        assert (resident.mobile in page) is sees


def test_sensitive_columns_cannot_be_searched_or_filtered():
    class Leaky(ReadOnlyModelView):
        permission_module = "residents"
        column_searchable_list = ("name", "id_number")
        sensitive_columns = {"id_number": Sensitive(see="residents.reveal")}

    with pytest.raises(TypeError, match="sensitive column 'id_number'"):
        Leaky(Resident, db, endpoint="leaky")
