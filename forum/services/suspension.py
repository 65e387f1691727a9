"""What a suspended member is told, and the one refusal every change goes through."""

from flask_babel import gettext as _

from forum.dates import full_date
from forum.permissions import is_suspended
from forum.services.errors import Suspended


def suspension_message(user):
    if user.suspended_until.year >= 9999:
        return _(
            "Tài khoản của bạn đang bị tạm khóa cho đến khi điều hành viên mở lại. Lý do: "
            "%(reason)s",
            reason=user.suspension_reason or "",
        )
    return _(
        "Tài khoản của bạn đang bị tạm khóa đến %(until)s. Lý do: %(reason)s",
        until=full_date(user.suspended_until),
        reason=user.suspension_reason or "",
    )


def what_still_works():
    """There is no appeal form for a suspension: the moderators are reached in the group."""
    return _(
        "Trong thời gian này bạn vẫn đọc được mọi bài, quản lý tài khoản của mình và kháng nghị "
        "bài bị từ chối. Nếu thấy việc tạm khóa không đúng, hãy nhắn điều hành viên trong nhóm "
        "Zalo của Xứ trà học AI."
    )


def suspension_status(user):
    """The same, as a moderator reads it on the member's profile."""
    if user.suspended_until.year >= 9999:
        return _(
            "Đang bị tạm khóa đến khi điều hành viên mở lại. Lý do: %(reason)s",
            reason=user.suspension_reason or "",
        )
    return _(
        "Đang bị tạm khóa đến %(until)s. Lý do: %(reason)s",
        until=full_date(user.suspended_until),
        reason=user.suspension_reason or "",
    )


def refuse_if_suspended(user):
    """Raise Suspended (403: why, until when, what still works) for a suspended member."""
    if is_suspended(user):
        raise Suspended(suspension_message(user), what_still_works())
