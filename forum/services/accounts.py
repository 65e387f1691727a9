"""Accounts: registration, login, passwords, roles and personal API tokens."""

import re
import secrets
import unicodedata

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from forum.extensions import db
from forum.markup import normalize_text
from forum.models import ROLES, ApiToken, User, utcnow
from forum.services.errors import NotFound, ValidationError
from forum.services.suspension import refuse_if_suspended
from forum.services.validation import USERNAME_RE, validate_password
from search.vietnamese import fold

# Checked against when the username is unknown, so a login takes as long either way: one per
# hash method, made with the method the app hashes real passwords with.
_DUMMY_HASHES = {}


def hash_password(password):
    """The stored hash of a password, with the configured method (scrypt; tests use a cheap one)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash():
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = hash_password("not-a-real-password")
    return _DUMMY_HASHES[method]


def find_user(username):
    return db.session.scalar(select(User).where(User.username == username.strip().lower()))


def suggest_username(name):
    """A free username made from a name as people write it: "Bà Nga Đồng Hỷ" -> "ba_nga_dong_hy"
    (then "ba_nga_dong_hy_2"… when taken); None when the name has nothing to make one of."""
    folded = fold(unicodedata.normalize("NFC", name or "")).lower()
    base = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")
    if len(base) > 30:  # cut between words, not inside one
        base = base[:31].rsplit("_", 1)[0] if "_" in base[:31] else base[:30]
    if len(base) < 3:
        return None
    candidate, number = base, 1
    while find_user(candidate):
        number += 1
        suffix = f"_{number}"
        candidate = base[: 30 - len(suffix)].rstrip("_") + suffix
    return candidate


class RegistrationError(ValidationError):
    """What was wrong, and the form as it should come back: a suggested username in place of
    one that cannot be used, the name typed kept as the display name."""

    def __init__(self, field_errors, suggested):
        super().__init__(field_errors=field_errors)
        self.suggested = suggested


def register(username, password, email=None, display_name=None, role="member", password_again=None):
    """Create a member; every problem with the form is reported at once."""
    typed = (username or "").strip()
    username = typed.lower()
    email = (email or "").strip().lower() or None
    errors, suggested = {}, {}
    if not USERNAME_RE.match(username):
        # People type their name here ("Bà Nga Đồng Hỷ"): offer the username it makes.
        suggestion = suggest_username(typed or display_name)
        message = _(
            "Tên đăng nhập dài 3–30 ký tự, chỉ gồm chữ thường không dấu, số, dấu chấm, gạch dưới."
        )
        if suggestion:
            message += " " + _("Chúng tôi gợi ý “%(name)s” (đã điền sẵn, bạn sửa được).",
                               name=suggestion)
            suggested["username"] = suggestion
            if typed and not (display_name or "").strip() and not USERNAME_RE.match(typed):
                suggested["display_name"] = normalize_text(typed)[:60]
        errors["username"] = [message]
    elif find_user(username):
        suggestion = suggest_username(username)
        errors["username"] = [
            _("Tên đăng nhập này đã có người dùng.")
            + " "
            + _("Chúng tôi gợi ý “%(name)s” (đã điền sẵn, bạn sửa được).", name=suggestion)
        ]
        suggested["username"] = suggestion
    validate_password(errors, password or "")
    if password_again is not None and password_again != password:
        errors["password2"] = [_("Hai lần nhập mật khẩu không giống nhau.")]
    if email and ("@" not in email or len(email) > 254):
        errors["email"] = [_("Địa chỉ email không hợp lệ.")]
    elif email and db.session.scalar(select(func.count()).where(User.email == email)):
        errors["email"] = [_("Email này đã được dùng cho tài khoản khác.")]
    if role not in ROLES:
        errors["role"] = [_("Vai trò không hợp lệ.")]
    if errors:
        raise RegistrationError(errors, suggested)
    user = User(
        username=username,
        email=email,
        display_name=normalize_text(display_name)[:60] or None,
        password_hash=hash_password(password),
        role=role,
    )
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username, password):
    """The user for these credentials, or None."""
    user = find_user(username or "")
    if user is None or user.is_placeholder:  # placeholders are claimed, never logged in to
        check_password_hash(_dummy_hash(), password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def change_password(user, current_password, new_password):
    errors = {}
    if not check_password_hash(user.password_hash, current_password or ""):
        errors["current_password"] = [_("Mật khẩu hiện tại không đúng.")]
    validate_password(errors, new_password or "", field="new_password")
    if errors:
        raise ValidationError(field_errors=errors)
    user.password_hash = hash_password(new_password)
    user.session_version += 1  # logs out every other session
    revoke_api_tokens(user)  # and every script or app that had a token
    db.session.commit()


def set_role(user, role):
    if role not in ROLES:
        raise ValidationError(_("Vai trò không hợp lệ."))
    user.role = role
    db.session.commit()


def set_locale(user, lang):
    """Remember the member's language, so it follows them to their next login."""
    user.locale = lang
    db.session.commit()


def update_profile(user, display_name, bio, email, notify_routing=None):
    """Save the profile. A new email address is not set here but returned: it becomes the
    account's once a link sent to it is clicked (mail.confirm_new_address), so this form never
    says whether an address belongs to another account. Removing the address is immediate."""
    refuse_if_suspended(user)
    email = (email or "").strip().lower() or None
    if email and ("@" not in email or len(email) > 254):
        raise ValidationError(field_errors={"email": [_("Địa chỉ email không hợp lệ.")]})
    user.display_name = normalize_text(display_name)[:60] or None
    user.bio = normalize_text(bio)[:500] or None
    if email is None:
        user.email, user.email_verified_at = None, None
    if notify_routing is not None:
        user.notify_routing = notify_routing
    db.session.commit()
    return email if email and email != user.email else None


MAX_LIVE_TOKENS = 10  # a member has a few scripts or apps, not a hundred


def live_api_tokens(user):
    """The member's tokens that still work, newest first (the account page lists them)."""
    return db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def create_api_token(user, name=""):
    """A new token; returned once in clear, stored only as its hash. (The account page offers
    none to a suspended member; an admin's command may still make one, which only reads.)"""
    if len(live_api_tokens(user)) >= MAX_LIVE_TOKENS:
        raise ValidationError(
            _("Bạn đã có %(n)d mã đang dùng: hãy thu hồi một mã cũ trước khi tạo mã mới.",
              n=MAX_LIVE_TOKENS)
        )  # fmt: skip
    token = "xt_" + secrets.token_urlsafe(32)
    name = normalize_text(name)[:60]
    db.session.add(ApiToken(user_id=user.id, name=name, token_hash=ApiToken.hash(token)))
    db.session.commit()
    return token


def revoke_api_token(user, token_id):
    """Stop one of the member's own tokens; NotFound for anyone else's."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound(_("Không tìm thấy mã truy cập này."))
    row.revoked_at = utcnow()
    db.session.commit()
    return row


def revoke_api_tokens(user):
    """Stop every token of the member (the caller commits): a new password ends them all."""
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def user_for_token(token):
    row = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == ApiToken.hash(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    return row.user


def get_user(username):
    user = find_user(username)
    if user is None:
        raise NotFound(_("Không tìm thấy thành viên này."))
    return user
