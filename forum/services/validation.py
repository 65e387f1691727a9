"""Length and shape rules for what members write. Every problem is reported at once."""

import re

from flask_babel import gettext as _

from forum.markup import normalize_text, slugify
from forum.services.errors import ValidationError

TITLE_MIN, TITLE_MAX = 10, 150
QUESTION_MIN, POST_MAX = 20, 20_000
ANSWER_MIN = 10
COMMENT_MIN, COMMENT_MAX = 2, 600
TAGS_MIN, TAGS_MAX = 1, 5
TAG_MIN, TAG_MAX = 2, 35
USERNAME_RE = re.compile(r"^[a-z0-9_.]{3,30}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 128


def split_tags(raw):
    """Tags as typed ("ChatGPT, viết prompt; #zalo") -> [(slug, display name)], deduplicated."""
    parts = raw if isinstance(raw, list | tuple) else re.split(r"[,;#\n]+", raw or "")
    seen, tags = set(), []
    for part in parts:
        name = re.sub(r"\s+", " ", normalize_text(str(part))).strip(" #")
        slug = slugify(name, max_length=40)
        if name and slug != "-" and slug not in seen:
            seen.add(slug)
            tags.append((slug, name))
    return tags


def check_length(errors, field, text, low, high, label):
    if len(text) < low:
        errors.setdefault(field, []).append(
            _("%(label)s quá ngắn: cần ít nhất %(n)d ký tự.", label=label, n=low)
        )
    elif len(text) > high:
        errors.setdefault(field, []).append(
            _(
                "%(label)s quá dài: tối đa %(n)d ký tự (hiện có %(m)d).",
                label=label,
                n=high,
                m=len(text),
            )
        )


def check_tags(errors, tags):
    if len(tags) < TAGS_MIN:
        errors.setdefault("tags", []).append(_("Hãy chọn ít nhất một thẻ (ví dụ: chatgpt)."))
    elif len(tags) > TAGS_MAX:
        errors.setdefault("tags", []).append(_("Tối đa %(n)d thẻ cho một câu hỏi.", n=TAGS_MAX))
    for _slug, name in tags:
        if not TAG_MIN <= len(name) <= TAG_MAX:
            errors.setdefault("tags", []).append(
                _(
                    'Thẻ "%(name)s" phải dài từ %(a)d đến %(b)d ký tự.',
                    name=name,
                    a=TAG_MIN,
                    b=TAG_MAX,
                )
            )


def validate_question(title, body, tags):
    errors = {}
    check_length(errors, "title", title, TITLE_MIN, TITLE_MAX, _("Tiêu đề"))
    check_length(errors, "body", body, QUESTION_MIN, POST_MAX, _("Nội dung"))
    check_tags(errors, tags)
    if errors:
        raise ValidationError(field_errors=errors)


def validate_answer(body):
    errors = {}
    check_length(errors, "body", body, ANSWER_MIN, POST_MAX, _("Câu trả lời"))
    if errors:
        raise ValidationError(field_errors=errors)


def validate_comment(body):
    errors = {}
    check_length(errors, "body", body, COMMENT_MIN, COMMENT_MAX, _("Bình luận"))
    if errors:
        raise ValidationError(field_errors=errors)


def validate_password(errors, password, field="password"):
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        errors.setdefault(field, []).append(
            _("Mật khẩu phải dài từ %(a)d đến %(b)d ký tự.", a=PASSWORD_MIN, b=PASSWORD_MAX)
        )
