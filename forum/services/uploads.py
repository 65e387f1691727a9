"""Screenshots attached to posts: checked by content, re-encoded (which drops EXIF/GPS), resized."""

import ctypes
import ctypes.util
import io
import secrets
import threading
import warnings
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from forum.extensions import db
from forum.input_guard import strip_control
from forum.models import Attachment
from forum.services.errors import ValidationError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}


def uploads_dir():
    return Path(current_app.config["UPLOADS_PATH"])


def image_path(token, thumb=False):
    """Where an attachment's file lives; tokens are random, so the path is not guessable."""
    return uploads_dir() / token[:2] / (f"{token}_t.webp" if thumb else f"{token}.webp")


def present_files(files):
    """Uploaded files that actually carry something (browsers send an empty part for no file)."""
    return [f for f in files or () if f is not None and getattr(f, "filename", "")]


def store_images(files, uploader):
    """Validate and re-encode every image; unsaved Attachments back, or every reason raised.
    Images are decoded and saved one at a time, so a post's six images never sit in memory
    together; once one is refused the rest are only checked, and what was saved is removed."""
    files = present_files(files)
    config = current_app.config
    if len(files) > config["MAX_IMAGES_PER_POST"]:
        raise ValidationError(
            field_errors={
                "images": [_("Tối đa %(n)d ảnh cho một bài.", n=config["MAX_IMAGES_PER_POST"])]
            }
        )
    errors, saved = [], []
    for upload in files:
        name = strip_control(upload.filename)[:200]
        data = upload.read(config["MAX_IMAGE_BYTES"] + 1)
        if len(data) > config["MAX_IMAGE_BYTES"]:
            mb = config["MAX_IMAGE_BYTES"] // (1024 * 1024)
            errors.append(_('Ảnh "%(name)s" lớn quá %(mb)d MB.', name=name, mb=mb))
            continue
        size = _declared_size(data)
        if size is None:
            errors.append(
                _('Tệp "%(name)s" không phải ảnh hợp lệ (nhận JPG, PNG, WebP, GIF).', name=name)
            )
            continue
        if size is TOO_MANY_PIXELS or size[0] * size[1] > config["MAX_IMAGE_PIXELS"]:
            errors.append(
                _(
                    'Ảnh "%(name)s" có quá nhiều điểm ảnh (tối đa %(mp)d triệu).',
                    name=name,
                    mp=config["MAX_IMAGE_PIXELS"] // 1_000_000,
                )
            )
            continue
        if errors:
            continue  # nothing more will be stored: checking the header is enough
        image = _decode(data, config["IMAGE_MAX_SIDE"])
        if image is None:
            errors.append(
                _('Tệp "%(name)s" không phải ảnh hợp lệ (nhận JPG, PNG, WebP, GIF).', name=name)
            )
            continue
        saved.append(_save(name, image, uploader))
    if errors:
        discard(saved)
        raise ValidationError(field_errors={"images": errors})
    return saved


# Decoding is the one costly step in memory (a 16-megapixel PNG is 64 MB of pixels): one at a
# time per process, so four threads uploading at once cannot add their peaks together.
_decoding = threading.Lock()
TOO_MANY_PIXELS = object()  # the size Pillow's own bomb check refused to report
BOMB = (Image.DecompressionBombWarning, Image.DecompressionBombError)
BAD_IMAGE = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, *BOMB)


def _declared_size(data):
    """(width, height) that an accepted image's header claims, read without decoding any pixel;
    TOO_MANY_PIXELS past Pillow's limit (the forum's own); None when it is not an image we
    accept or its structure is broken."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    return None
                size = probe.size
                probe.verify()  # catches truncated and corrupt files before decoding
    except BOMB:
        return TOO_MANY_PIXELS
    except BAD_IMAGE:
        return None
    return size


def _decode(data, side):
    """The image in `data` at most `side` pixels on its longer side, orientation applied, in
    RGB or RGBA; None when its pixels cannot be decoded. A JPEG is decoded straight at a
    reduced scale (draft); others at full size, which the pixel budget has bounded."""
    with _decoding:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(data))
                image.seek(0)  # first frame of an animated GIF
                if image.format == "JPEG":
                    scale = min(side / max(image.size), 1)
                    image.draft("RGB", (round(image.width * scale), round(image.height * scale)))
                image.load()
                if image.mode not in ("RGB", "RGBA"):  # palette, grey, CMYK: resample in colour
                    image = image.convert("RGBA" if image.has_transparency_data else "RGB")
                # In place: the full-size pixels are freed here, before anything else is made.
                image.thumbnail((side, side), Image.Resampling.LANCZOS)
                return ImageOps.exif_transpose(image)
        except BAD_IMAGE:
            return None
        finally:
            _give_back_memory()


def _libc_malloc_trim():
    """glibc's malloc_trim, or None elsewhere (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _libc_malloc_trim()


def _give_back_memory():
    """Return the freed full-size pixels to the system: glibc keeps freed memory of each
    thread's arena for reuse, so without this a worker stays as large as its biggest decode."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _save(name, image, uploader):
    config = current_app.config
    token = secrets.token_urlsafe(18)
    thumb = _fit(image, config["IMAGE_THUMB_SIDE"])
    path = image_path(token)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Saving from pixels alone writes no EXIF, GPS or other metadata of the original.
    image.save(path, "WEBP", quality=82, method=4)
    thumb.save(image_path(token, thumb=True), "WEBP", quality=75, method=4)
    return Attachment(
        token=token,
        uploader_id=uploader.id,
        width=image.width,
        height=image.height,
        size_bytes=path.stat().st_size,
        original_name=name,
    )


def _fit(image, side):
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


def init_app(app):
    """Pillow's own decompression-bomb limit, a second line behind the forum's pixel budget."""
    Image.MAX_IMAGE_PIXELS = app.config["MAX_IMAGE_PIXELS"]


def keep_for_later(files, uploader):
    """Store images before their post exists (the ask page's check-first step); returns tokens."""
    attachments = store_images(files, uploader)
    db.session.add_all(attachments)
    db.session.commit()
    return [a.token for a in attachments]


def claim(tokens, uploader):
    """Earlier uploads of this member that no post has yet; anything else is ignored."""
    tokens = [t for t in tokens or () if t]
    if not tokens:
        return []
    return db.session.scalars(
        select(Attachment).where(
            Attachment.token.in_(tokens),
            Attachment.uploader_id == uploader.id,
            Attachment.post_id.is_(None),
        )
    ).all()


def discard(attachments):
    """Remove the files of attachments that never got saved (the post failed)."""
    for attachment in attachments:
        for thumb in (False, True):
            image_path(attachment.token, thumb).unlink(missing_ok=True)
