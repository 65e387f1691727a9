"""Words for the codes the forum stores (reasons, actions, states, check names): the database
keeps the code, people read the label, in their language. Templates use `code|label(kind)`."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

LABELS = {
    # Why a moderator rejected a post (ReviewCase.label): also the retraining labels.
    "reject_label": {
        "spam": _l("Quảng cáo, spam"),
        "scam": _l("Lừa đảo"),
        "offensive": _l("Xúc phạm, thô tục"),
        "hate": _l("Kích động thù ghét"),
        "threat": _l("Đe dọa"),
        "other": _l("Lý do khác"),
    },
    # Why a member flagged a post (Flag.reason).
    "flag_reason": {
        "spam": _l("Quảng cáo, spam, lừa đảo"),
        "rude": _l("Thô lỗ, xúc phạm"),
        "off_topic": _l("Lạc đề"),
        "other": _l("Khác"),
    },
    "flag_status": {
        "open": _l("đang chờ xem"),
        "upheld": _l("đúng, đã xử lý"),
        "dismissed": _l("đã bỏ qua"),
    },
    "case_source": {
        "auto": _l("Bộ lọc tự động"),
        "flags": _l("Thành viên báo cáo"),
        "appeal": _l("Kháng nghị"),
    },
    "case_status": {"open": _l("đang chờ duyệt"), "closed": _l("đã xử lý")},
    "outcome": {
        "approved": _l("đã duyệt"),
        "rejected": _l("đã từ chối"),
        "dismissed": _l("báo cáo bị bỏ qua"),
        "cleared": _l("tác giả sửa lại, hết bị giữ"),
    },
    "post_status": {
        "published": _l("đang hiện"),
        "pending": _l("đang chờ duyệt"),
        "rejected": _l("bị từ chối"),
    },
    "post_type": {
        "question": lazy_pgettext("kind of post", "Câu hỏi"),
        "answer": lazy_pgettext("kind of post", "Câu trả lời"),
        "comment": lazy_pgettext("kind of post", "Bình luận"),
    },
    # ModerationEvent.action: every automatic and human action in the audit log.
    "action": {
        "auto_allow": _l("Bộ lọc cho đăng"),
        "auto_review": _l("Bộ lọc giữ lại chờ duyệt"),
        "auto_reject": _l("Bộ lọc từ chối"),
        "approve": _l("Duyệt bài"),
        "reject": _l("Từ chối bài"),
        "dismiss_flags": _l("Bỏ qua báo cáo"),
        "flag": _l("Thành viên báo cáo"),
        "hidden_by_flags": _l("Ẩn vì nhiều báo cáo"),
        "suspend": _l("Tạm khóa tài khoản"),
        "unsuspend": _l("Mở khóa tài khoản"),
        "appeal": _l("Kháng nghị"),
        "edit": _l("Điều hành viên sửa bài"),
        "delete": _l("Điều hành viên xóa bài"),
        "redact": _l("Xóa nội dung một bản sửa cũ"),
        "reset_link": _l("Tạo liên kết đặt lại mật khẩu"),
    },
    # What one check proposed for a post (a reason's action).
    "verdict_action": {
        "allow": _l("cho qua"),
        "review": _l("giữ chờ duyệt"),
        "reject": _l("từ chối"),
    },
    # The moderation checks, by name (moderation/ library).
    "check": {
        "abuse_lexicon": _l("Từ ngữ xúc phạm"),
        "toxicity_classifier": _l("Mô hình phát hiện bài độc hại"),
        "links": _l("Đường dẫn"),
        "selling_and_scams": _l("Rao bán và lừa đảo"),
        "repeated_posts": _l("Đăng lặp lại"),
        "posting_burst": _l("Đăng dồn dập"),
        "shouting": _l("Viết toàn chữ hoa"),
        "similar_questions": _l("Câu hỏi trùng"),
    },
    "role": {
        "member": _l("Thành viên"),
        "moderator": _l("Điều hành viên"),
        "admin": _l("Quản trị viên"),
    },
}


def label(code, kind):
    """The label of a code, in the reader's language; an unknown code is shown as it is."""
    if code is None:
        return ""
    found = LABELS[kind].get(code)
    return str(found) if found is not None else str(code)


def choices(kind, codes=None):
    """(code, label) pairs for a <select>, in the order of `codes` (default: all)."""
    table = LABELS[kind]
    return [(code, str(table[code])) for code in (codes or table)]


def init_app(app):
    app.jinja_env.filters["label"] = label
    app.jinja_env.globals["label_choices"] = choices
