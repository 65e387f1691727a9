"""Every error becomes a clear page, or JSON under /api/: never a bare 500."""

import logging

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from forum.extensions import db
from forum.services.errors import ServiceError

bp = Blueprint("errors", __name__)
log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_failed",
    429: "rate_limited",
    500: "server_error",
}


def messages_for(status):
    return {
        400: _("Yêu cầu không hợp lệ."),
        401: _("Bạn cần đăng nhập."),
        403: _("Bạn không có quyền làm việc này."),
        404: _("Không tìm thấy trang bạn cần."),
        405: _("Không thể làm việc này theo cách đó."),
        413: _("Tệp hoặc nội dung gửi lên quá lớn (tối đa 16 MB mỗi lần)."),
        429: _("Bạn thao tác nhanh quá. Hãy đợi một chút rồi thử lại."),
        500: _("Có lỗi ở máy chủ. Bài viết của bạn chưa mất: hãy thử lại sau ít phút."),
    }.get(status, _("Có lỗi xảy ra."))


def wants_json():
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def error_response(status, code, messages, fields=None):
    if wants_json():
        body = {"error": {"code": code, "message": " ".join(messages)}}
        if fields:
            body["error"]["fields"] = fields
        return body, status
    return render_template("error.html", status=status, messages=messages), status


@bp.app_errorhandler(ServiceError)
def service_error(error):
    db.session.rollback()
    return error_response(error.status, error.code, error.all_messages, error.field_errors)


@bp.app_errorhandler(CSRFError)
def csrf_error(error):
    return error_response(
        400, "csrf_failed", [_("Phiên làm việc đã hết hạn. Hãy tải lại trang rồi gửi lại.")]
    )


@bp.app_errorhandler(HTTPException)
def http_error(error):
    status = error.code or 500
    message = messages_for(status)
    if (
        error.description
        and status in (400, 403, 404, 413)
        and error.description != type(error).description
    ):
        message = error.description
    return error_response(status, CODES.get(status, "error"), [message])


@bp.app_errorhandler(Exception)
def unexpected_error(error):
    log.exception("unexpected error on %s %s", request.method, request.path)
    db.session.rollback()
    return error_response(500, "server_error", [messages_for(InternalServerError.code)])
