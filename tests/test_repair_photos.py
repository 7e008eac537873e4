"""Repair photos are judged by their content: a text file called .jpg, a file over the size
limit, a decompression bomb (a tiny PNG declaring enormous dimensions) and a truncated
image are refused with a message naming the file, and the whole report is not saved — no
request, no photo. What is stored is a new JPEG: upright, at most 1600 px, and with no
EXIF (so no GPS) at all. Photos are served only to who may see the request."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from models import RepairPhoto, RepairRequest, Resident
from propadmin.services import repair_photos
from propadmin.services.repair_photos import MAX_BYTES, MAX_SIDE, add_photos, clean
from propadmin.services.repairs import RepairError

from .factories import FACTORY_PASSWORD
from .helpers import csrf_from, login


# -- images made here ------------------------------------------------------------------
def jpeg(size=(800, 600), *, gps=False, orientation=None, colour=(200, 60, 40)) -> bytes:
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (30.0, 15.0, 12.5),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (120.0, 9.0, 33.1),
        }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(size=(300, 200), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 90, 128) if mode == "RGBA" else 128).save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims ``width`` × ``height`` pixels: decoding
    it would allocate them all (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "photo.jpg", mimetype="image/jpeg") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type=mimetype)


# -- the checks on their own -------------------------------------------------------------
BAD = {
    "text named .jpg": (b"just some text, honestly a photo\n" * 20, "kitchen.jpg"),
    "truncated": (jpeg((1200, 900))[:1500], "half.jpg"),
    "pillow-size bomb": (png_declaring(100_000, 100_000), "bomb.png"),
    "our-size bomb": (png_declaring(8000, 8000), "bomb64mp.png"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "anim.gif"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.png"),
}


@pytest.mark.parametrize("case", BAD)
def test_what_is_not_a_readable_photo_is_refused_naming_the_file(app, case):
    data, name = BAD[case]
    with app.test_request_context(), pytest.raises(RepairError) as refused:
        clean(data, name)
    assert set(refused.value.errors) == {"photos"}
    assert name in refused.value.errors["photos"]


def test_a_bomb_is_refused_before_any_pixel_is_decoded(app, monkeypatch):
    """The size check comes before loading: loading is never reached."""
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("pixels decoded"))
    with app.test_request_context(), pytest.raises(RepairError):
        clean(png_declaring(9000, 9000), "b.png")


def test_a_file_over_the_size_limit_is_refused_unread(app):
    big = upload(b"\xff\xd8\xff" + b"\0" * (MAX_BYTES + 10), "huge.jpg")
    with app.test_request_context(), pytest.raises(RepairError) as refused:
        clean(repair_photos._read(big), "huge.jpg")
    assert "huge.jpg" in refused.value.errors["photos"]
    assert "8" in refused.value.errors["photos"]


def test_gps_and_every_other_exif_are_gone_and_the_photo_is_upright(app):
    raw = jpeg((1000, 500), gps=True, orientation=6)  # 6: the camera was turned
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    with app.test_request_context():
        photo = clean(raw, "gps.jpg")
    stored = Image.open(io.BytesIO(photo.data))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info and "icc_profile" not in stored.info
    assert b"Exif" not in photo.data and b"TestPhone" not in photo.data
    assert (photo.width, photo.height) == stored.size == (500, 1000)  # turned upright


def test_large_photos_are_shrunk_and_transparent_png_becomes_jpeg(app):
    with app.test_request_context():
        big = clean(jpeg((4000, 3000)), "big.jpg")
        clear = clean(png(), "clear.png")
    assert max(big.width, big.height) == MAX_SIDE
    assert Image.open(io.BytesIO(clear.data)).format == "JPEG"
    assert (clear.width, clear.height) == (300, 200)


# -- through the portal: nothing is saved ---------------------------------------------
@pytest.fixture
def resident_client(app, make, db_session):
    estate = make.estate()
    unit = make.unit(make.building(estate))
    user = make.user(roles=["owner"])
    resident = make.resident(estate, unit=unit)
    resident.user = user
    db_session.commit()
    client = app.test_client()
    assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
    return client, resident


def report(client, photos, **fields):
    token = csrf_from(client.get("/portal/repairs/new").text)
    data = {
        "csrf_token": token,
        "location": "卫生间",
        "description": "马桶水箱一直流水。",
        "urgency": "normal",
        "category": "plumbing",
        **fields,
    }
    return post_multipart(client, "/portal/repairs/new", data, photos)


def post_multipart(client, url: str, fields: dict, photos):
    """A multipart POST encoded in memory (the test client's own encoder spools big
    bodies to a temporary file it never closes)."""
    values = MultiDict(fields)
    for data, name in photos:
        values.add("photos", FileStorage(io.BytesIO(data), filename=name))
    stream, _length, boundary = stream_encode_multipart(values, use_tempfile=False)
    return client.post(
        url, data=stream.getvalue(), content_type=f'multipart/form-data; boundary="{boundary}"'
    )


def rows(db_session, resident: Resident) -> tuple[int, int]:
    requests = db_session.scalar(
        select(func.count(RepairRequest.id)).where(RepairRequest.reporter_id == resident.id)
    )
    photos = db_session.scalar(
        select(func.count(RepairPhoto.id))
        .join(RepairRequest)
        .where(RepairRequest.reporter_id == resident.id)
    )
    return requests, photos


@pytest.mark.parametrize(
    "case", ["text named .jpg", "truncated", "pillow-size bomb", "our-size bomb"]
)
def test_a_bad_file_refuses_the_whole_report(resident_client, db_session, case):
    client, resident = resident_client
    data, name = BAD[case]
    page = report(client, [(jpeg(), "good.jpg"), (data, name)])
    assert page.status_code == 200
    assert 'class="error"' in page.text and name in page.text
    assert "马桶水箱一直流水。" in page.text  # what was typed is kept
    assert rows(db_session, resident) == (0, 0)


def test_an_oversized_file_refuses_the_whole_report(resident_client, db_session):
    client, resident = resident_client
    page = report(client, [(b"\xff\xd8\xff" + b"\0" * (MAX_BYTES + 1), "huge.jpg")])
    assert page.status_code == 200 and "huge.jpg" in page.text
    assert rows(db_session, resident) == (0, 0)


def test_five_photos_are_refused(resident_client, db_session):
    client, resident = resident_client
    page = report(client, [(jpeg(), f"p{n}.jpg") for n in range(5)])
    assert page.status_code == 200 and 'class="error"' in page.text
    assert "4" in page.text.split('class="error"', 2)[1][:200]
    assert rows(db_session, resident) == (0, 0)


def test_four_photos_are_stored_without_exif_and_served_privately(resident_client, db_session):
    client, resident = resident_client
    sent = report(client, [(jpeg(gps=True), f"p{n}.jpg") for n in range(4)])
    assert sent.status_code == 302
    assert rows(db_session, resident) == (1, 4)
    repair = db_session.scalar(
        select(RepairRequest).where(RepairRequest.reporter_id == resident.id)
    )
    page = client.get(sent.location)
    for photo in repair.photos:
        url = f"/portal/repairs/{repair.id}/photos/{photo.id}"
        assert url in page.text
        served = client.get(url)
        assert served.status_code == 200
        assert served.headers["Content-Type"] == "image/jpeg"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["Cache-Control"] == "private, no-store"
        assert served.headers["Content-Disposition"].startswith("inline")
        assert dict(Image.open(io.BytesIO(served.data)).getexif()) == {}
    with pytest.raises(RepairError), client.application.test_request_context():
        add_photos(db_session, repair, [upload(jpeg())], by=None)  # a fifth, later
    db_session.rollback()
