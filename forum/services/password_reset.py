"""Forgotten passwords: one-time reset links.

Most members have no email address, so a moderator makes a link for a member (on the
member's profile, or `flask users reset-link NAME`) and hands it over, by Zalo or in person.
The same tokens serve an emailed link once verified emails exist: call
`issue(user, channel="email")` and send `forum.urls.reset_password_url(token)`; nothing else
changes.
A token is random, stored only as its SHA-256, works once, and expires.
"""

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from forum.extensions import db
from forum.models import PasswordReset, utcnow
from forum.permissions import is_moderator
from forum.services import accounts
from forum.services.audit import log
from forum.services.errors import PermissionDenied, ValidationError
from forum.services.validation import validate_password

LIFETIME = {"moderator": timedelta(days=3), "email": timedelta(hours=2)}
CHANNELS = tuple(LIFETIME)


def issue(user, *, by=None, channel="moderator"):
    """A new reset token for `user` (returned once, in clear); earlier unused ones stop working.

    A moderator's link (`by`) is written to the audit log; a moderator cannot make one for
    another moderator, whose account a moderator must not be able to take over."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    if by is not None:
        if not is_moderator(by):
            raise PermissionDenied(_("Chỉ điều hành viên mới tạo được liên kết đặt lại mật khẩu."))
        if user.is_moderator and not by.is_admin and by.id != user.id:
            raise PermissionDenied(_("Chỉ quản trị viên mới tạo được liên kết cho điều hành viên."))
    now = utcnow()
    _expire_unused(user, now)
    token = secrets.token_urlsafe(24)
    db.session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=_hash(token),
            channel=channel,
            created_by_id=by.id if by is not None else None,
            created_at=now,
            expires_at=now + LIFETIME[channel],
        )
    )
    if by is not None:
        log("reset_link", actor=by, subject_id=user.id, channel=channel)
    db.session.commit()
    return token


def valid_reset(token):
    """The unused, unexpired reset for this token, or None."""
    if not token or len(token) > 100:
        return None
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == _hash(token))
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    return reset


def use(token, password, password_again):
    """Set a new password with a reset token; ends every session of the member."""
    reset = valid_reset(token)
    if reset is None:
        raise ValidationError(
            _("Liên kết này không còn dùng được (đã dùng hoặc đã hết hạn). Hãy xin liên kết mới.")
        )
    errors = {}
    validate_password(errors, password or "")
    if password != password_again:
        errors["password2"] = [_("Hai lần nhập mật khẩu không giống nhau.")]
    if errors:
        raise ValidationError(field_errors=errors)
    user = reset.user
    user.password_hash = accounts.hash_password(password)
    user.session_version += 1  # whoever knew the old password is logged out
    accounts.revoke_api_tokens(user)  # and whatever held a token made with it
    reset.used_at = utcnow()
    _expire_unused(user, reset.used_at)
    db.session.commit()
    return user


def _expire_unused(user, now):
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(expires_at=now)
    )


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()
