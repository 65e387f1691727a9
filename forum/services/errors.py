"""Errors that services raise for the views and the API to turn into clear messages."""


class ServiceError(Exception):
    """A request that breaks a rule; `messages` says every reason, in the user's language."""

    status = 400
    code = "invalid"

    def __init__(self, *messages, field_errors=None):
        self.messages = [str(m) for m in messages]
        self.field_errors = {k: [str(m) for m in v] for k, v in (field_errors or {}).items()}
        super().__init__("; ".join(self.all_messages))

    @property
    def all_messages(self):
        return self.messages + [m for msgs in self.field_errors.values() for m in msgs]


class ValidationError(ServiceError):
    status = 422
    code = "validation_failed"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"


class Suspended(PermissionDenied):
    """A suspended member tried to change something: the messages say until when, and what
    they can still do."""

    code = "suspended"


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PersonalData(ValidationError):
    """A post that seems to hold a phone number, an ID number or an address: it is not stored
    until its author removes it or confirms (the field errors say where and what)."""

    code = "personal_data"

    def __init__(self, found):
        self.found = found  # {field: [kinds of data]}
        super().__init__(field_errors={field: [message] for field, message in
                                       _personal_messages(found).items()})


def _personal_messages(found):
    from flask_babel import gettext as _

    return {
        field: _(
            "Có vẻ có thông tin riêng (%(what)s). Bài đăng công khai, ai cũng đọc được: kẻ gian "
            "có thể dùng để lừa đảo. Hãy xóa hoặc che bớt (ví dụ 09xx xxx 123), hoặc xác nhận "
            "vẫn đăng.",
            what=", ".join(kinds),
        )
        for field, kinds in found.items()
    }
