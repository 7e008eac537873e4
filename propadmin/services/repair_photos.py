"""Photos of a repair request: checked by what they contain, never by their name or the
type the browser declared, and stored as what is left after re-encoding — pixels only.

Each file is read up to ``MAX_BYTES``, opened by Pillow from its content (JPEG, PNG, WebP,
and HEIC when the pillow-heif plugin is installed), checked whole (``verify``), refused
above ``MAX_PIXELS`` before a single pixel is decoded (a "decompression bomb" declares
huge dimensions in a tiny file), turned upright by its EXIF orientation, shrunk to at most
``MAX_SIDE`` px and saved as a new JPEG with no EXIF, GPS, ICC or comment at all.

One refused file refuses them all: nothing is added, and the caller rolls back the
request it was part of. Photos are served only to people who may see the request
(``photo_for``) with ``photo_response``'s headers, on the portal and the admin alike.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from flask import Response
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from models import RepairPhoto, RepairRequest, User

from .repairs import RepairError, may_see

MAX_PHOTOS = 4  # per request, however many times photos are added
MAX_BYTES = 8 * 1024 * 1024  # one file as uploaded
MAX_PIXELS = 40_000_000  # width × height; Pillow's own warning starts at about 89 million
MAX_SIDE = 1600  # the longer side of the stored JPEG
QUALITY = 85
# What a whole request of photos may weigh (a few bytes of form fields besides).
MAX_REQUEST_BYTES = MAX_PHOTOS * MAX_BYTES + 64 * 1024
MAX_ID = 2**31 - 1

try:  # HEIC (iPhone photos) when the plugin is installed; refused as unknown otherwise
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found]

    register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover — depends on the machine
    HEIC = False

FORMATS = ("JPEG", "PNG", "WEBP") + (("HEIF",) if HEIC else ())
# The formats a person understands, for the messages.
FORMAT_NAMES = "JPEG、PNG、WebP" + ("、HEIC" if HEIC else "")


@dataclass
class CleanPhoto:
    data: bytes
    width: int
    height: int


def _name(upload) -> str:
    """The file's own name (no folders), short enough to quote in a message."""
    name = PurePath((getattr(upload, "filename", "") or "").replace("\\", "/")).name
    return (name or _("the photo"))[:80]


def _read(upload) -> bytes:
    stream = getattr(upload, "stream", upload)
    return stream.read(MAX_BYTES + 1)


def clean(raw: bytes, name: str) -> CleanPhoto:
    """The photo as a new metadata-free JPEG, or RepairError naming the file."""
    if len(raw) > MAX_BYTES:
        raise RepairError({"photos": _(
            "%(name)s is too large: a photo may be at most %(mb)d MB.",
            name=name, mb=MAX_BYTES // (1024 * 1024))})
    not_a_photo = RepairError({"photos": _(
        "%(name)s is not a photo we can read (%(formats)s).", name=name, formats=FORMAT_NAMES)})
    too_big = RepairError({"photos": _(
        "%(name)s has too many pixels: at most %(mp)d megapixels.",
        name=name, mp=MAX_PIXELS // 1_000_000)})
    with warnings.catch_warnings():
        # Pillow's own bomb warning is a refusal here, never a message in a log.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(raw), formats=FORMATS) as probe:
                width, height = probe.size
                if width * height > MAX_PIXELS or width <= 0 or height <= 0:
                    raise too_big
                probe.verify()  # the whole file, without keeping the pixels
            with Image.open(io.BytesIO(raw), formats=FORMATS) as image:
                if image.size != (width, height):
                    raise not_a_photo
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG decodes smaller at once
                image.load()
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
                pixels = _rgb(upright)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_big from None
        except RepairError:
            raise
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
                struct.error):
            raise not_a_photo from None
    # A new image holds only pixels: no EXIF, GPS, ICC profile, comment or thumbnail.
    bare = Image.new("RGB", pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=QUALITY, optimize=True)
    return CleanPhoto(out.getvalue(), bare.width, bare.height)


def _rgb(image: Image.Image) -> Image.Image:
    """RGB pixels; transparent parts become white (a JPEG has no transparency)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def add_photos(session: Session, repair: RepairRequest, files: Iterable, *, by: User | None):
    """Check every file, then attach them all to ``repair`` — or raise RepairError
    ({"photos": message naming the file}) and attach none. Empty file inputs (nothing
    chosen) are skipped. Flushes; the caller commits, or rolls back on an error."""
    uploads = [f for f in files if f is not None and (getattr(f, "filename", None) or "")]
    if not uploads:
        return []
    already = len(repair.photos) if repair.id is not None else 0
    if already + len(uploads) > MAX_PHOTOS:
        raise RepairError({"photos": _(
            "At most %(n)d photos per request.", n=MAX_PHOTOS)})
    cleaned = [clean(_read(upload), _name(upload)) for upload in uploads]
    photos = [
        RepairPhoto(
            repair=repair, data=photo.data, content_type="image/jpeg",
            width=photo.width, height=photo.height, size=len(photo.data),
            uploaded_by_id=by.id if by is not None else None,
        )
        for photo in cleaned
    ]
    session.add_all(photos)
    session.flush()
    return photos


def photo_for(session: Session, user: User, repair_id: int, photo_id: int) -> RepairPhoto | None:
    """The photo with its bytes when ``user`` may see its request and it belongs to that
    request; None otherwise (the page answers 404 and never says which)."""
    if not (0 < repair_id <= MAX_ID and 0 < photo_id <= MAX_ID):
        return None
    repair = session.get(RepairRequest, repair_id)
    if repair is None or not may_see(user, repair):
        return None
    return session.scalar(
        select(RepairPhoto)
        .where(RepairPhoto.id == photo_id, RepairPhoto.repair_id == repair.id)
        .options(undefer(RepairPhoto.data))
    )


def photo_response(photo: RepairPhoto) -> Response:
    """The stored JPEG, shown in the page, never sniffed as anything else, never cached
    where another person could find it."""
    response = Response(photo.data, mimetype=photo.content_type or "image/jpeg")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    name = f"repair-{photo.repair_id}-{photo.id}.jpg"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response
