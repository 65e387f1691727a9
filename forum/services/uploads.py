"""Screenshots attached to posts: checked by content, re-encoded (which drops EXIF/GPS), resized."""

import io
import secrets
import warnings
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from forum.extensions import db
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
    """Validate and re-encode every image; unsaved Attachments back, or every reason raised."""
    files = present_files(files)
    config = current_app.config
    if len(files) > config["MAX_IMAGES_PER_POST"]:
        raise ValidationError(
            field_errors={
                "images": [_("Tối đa %(n)d ảnh cho một bài.", n=config["MAX_IMAGES_PER_POST"])]
            }
        )
    errors, decoded = [], []
    for upload in files:
        name = upload.filename[:200]
        data = upload.read(config["MAX_IMAGE_BYTES"] + 1)
        if len(data) > config["MAX_IMAGE_BYTES"]:
            mb = config["MAX_IMAGE_BYTES"] // (1024 * 1024)
            errors.append(_('Ảnh "%(name)s" lớn quá %(mb)d MB.', name=name, mb=mb))
            continue
        image = _decode(data, config["MAX_IMAGE_PIXELS"])
        if image is None:
            errors.append(
                _('Tệp "%(name)s" không phải ảnh hợp lệ (nhận JPG, PNG, WebP, GIF).', name=name)
            )
            continue
        decoded.append((name, len(data), image))
    if errors:
        raise ValidationError(field_errors={"images": errors})
    return [_save(name, image, uploader) for name, _size, image in decoded]


def _decode(data, max_pixels):
    """The image in `data`, orientation applied; None when it is not an image we accept."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                return None
            if probe.width * probe.height > max_pixels:
                return None
            probe.verify()  # catches truncated and corrupt files before decoding
            image = Image.open(io.BytesIO(data))
            image.seek(0)  # first frame of an animated GIF
            image = ImageOps.exif_transpose(image)
            image.load()
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
        EOFError,
    ):
        return None
    return image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")


def _save(name, image, uploader):
    config = current_app.config
    token = secrets.token_urlsafe(18)
    full = _fit(image, config["IMAGE_MAX_SIDE"])
    thumb = _fit(image, config["IMAGE_THUMB_SIDE"])
    path = image_path(token)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Saving from pixels alone writes no EXIF, GPS or other metadata of the original.
    full.save(path, "WEBP", quality=82, method=4)
    thumb.save(image_path(token, thumb=True), "WEBP", quality=75, method=4)
    return Attachment(
        token=token,
        uploader_id=uploader.id,
        width=full.width,
        height=full.height,
        size_bytes=path.stat().st_size,
        original_name=name,
    )


def _fit(image, side):
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


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
