"""The question assistant: friendly advice on a draft, tag suggestions, and routing unanswered
questions to members who answered similar ones well."""

import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import func, select

from forum import jobs
from forum.extensions import db
from forum.markup import plain_text
from forum.models import Notification, Tag, Thread, User, utcnow
from forum.services import notifications, screening, suggestions
from forum.services.searching import similar_questions
from moderation.spam import PHONE as PHONE_NUMBER
from moderation.text import fold  # one fold for the forum's text rules: moderation's


@dataclass(frozen=True)
class Advice:
    code: str
    message: str
    level: str = "tip"  # tip | warning | nudge (moderation's advice to say it more gently)


QUESTION_WORDS = (
    "sao", "gi", "nao", "khong", "chua", "the nao", "o dau", "bao nhieu", "bao gio", "co nen",
    "duoc khong", "lam sao", "tai sao", "hay khong", "ai", "giup", "hoi", "cach", "how", "what",
    "why", "which", "can i", "is it", "help",
)  # fmt: skip
TRIED_WORDS = (
    "da thu", "thu roi", "minh thu", "em thu", "toi thu", "da lam", "lam theo", "bam vao",
    "vao muc", "tried", "i did", "da cai", "thu cach",
)  # fmt: skip
CONTEXT_WORDS = (
    "dien thoai", "may tinh", "laptop", "iphone", "android", "samsung", "oppo", "xiaomi", "vivo",
    "ipad", "windows", "zalo", "chatgpt", "gemini", "copilot", "vneid", "facebook", "tiktok",
    "shopee", "ung dung", "app", "trinh duyet", "chrome", "word", "excel", "canva", "capcut",
    "phone", "computer",
)  # fmt: skip
# One phone-number rule for the whole forum, moderation's (mobile 0[35789] + 8 digits, landline
# 02 + 9 digits, also +84, with separators): what a scam check calls a phone number is what the
# privacy step calls one.
PHONE = PHONE_NUMBER
CCCD = re.compile(r"(?<!\d)\d{12}(?!\d)")
ADDRESS = re.compile(r"\b(so nha|ngo|ngach|hem|to dan pho|xom|thon)\s+\d+", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
HOTLINES = re.compile(r"(?<!\d)(?:1[89]00[\s.]?\d{3,4}[\s.]?\d{0,4}|11[345]|111)(?!\d)")


def has_any(folded, words):
    return any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", folded) for word in words)


def review_draft(title, body):
    """Specific, friendly advice on a draft; it never blocks posting."""
    title, body = (title or "").strip(), (body or "").strip()
    folded_title, folded = fold(title).lower(), fold(f"{title}\n{body}").lower()
    advice = []
    if title and (len(title) < 15 or len(title.split()) < 4):
        advice.append(
            Advice(
                "title_short",
                _(
                    "Tiêu đề hơi ngắn. Hãy viết thành một câu hỏi đủ ý, ví dụ: “Làm sao đổi mật "
                    "khẩu "
                    "Zalo trên điện thoại Samsung?”"
                ),
            )
        )
    elif title and "?" not in title and not has_any(folded_title, QUESTION_WORDS):
        advice.append(
            Advice(
                "title_not_question",
                _(
                    "Tiêu đề chưa giống một câu hỏi. Thử thêm “làm sao”, “có được không” hoặc "
                    "dấu “?” "
                    "để mọi người hiểu bạn cần gì."
                ),
            )
        )
    if body and not has_any(folded, TRIED_WORDS):
        advice.append(
            Advice(
                "what_tried",
                _(
                    "Hãy kể bạn đã thử những gì (ví dụ: đã bấm vào đâu, hiện thông báo gì) để "
                    "người "
                    "trả lời không phải đoán."
                ),
            )
        )
    if body and not has_any(folded, CONTEXT_WORDS):
        advice.append(
            Advice(
                "which_app",
                _(
                    "Bạn dùng ứng dụng nào, trên điện thoại hay máy tính (loại máy gì)? Ghi rõ "
                    "sẽ được "
                    "trả lời đúng hơn."
                ),
            )
        )
    letters = [c for c in f"{title}{body}" if c.isalpha()]
    if len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        advice.append(
            Advice(
                "all_caps",
                _(
                    "Bài viết toàn chữ IN HOA trông như đang quát. Hãy viết chữ thường cho dễ "
                    "đọc nhé."
                ),
            )
        )
    if len(body) > 600 and "\n\n" not in body and body.count("\n") < 3:
        advice.append(
            Advice(
                "wall_of_text",
                _(
                    "Nội dung dài mà liền một khối. Hãy xuống dòng, chia thành vài đoạn ngắn "
                    "hoặc gạch "
                    "đầu dòng từng bước."
                ),
            )
        )
    private = personal_data(f"{title}\n{body}")
    if private:
        advice.append(
            Advice(
                "personal_data",
                _(
                    "Bài có vẻ chứa thông tin riêng (%(what)s). Đừng đăng công khai: kẻ gian có "
                    "thể dùng "
                    "để lừa đảo. Hãy xóa hoặc che bớt số.",
                    what=", ".join(private),
                ),
                level="warning",
            )
        )
    return advice


@dataclass(frozen=True)
class DraftHelp:
    """Everything the ask page shows beside a draft."""

    advice: list
    tags: list
    similar: list
    answers: list

    @property
    def needs_a_look(self):
        """Worth a second look before posting: it may be answered already, leaks private data,
        or could be put more gently."""
        return bool(self.similar) or any(a.level in ("warning", "nudge") for a in self.advice)


def help_with_draft(title, body):
    text = f"{title}\n{body}".strip()
    # One similar-question search serves the list, the tags and the answers: it is the
    # costly part of this request, which the ask page makes as the member types.
    hits = similar_questions(text, limit=max(10, suggestions.NEIGHBOURS)) if text else []
    minimum = current_app.config["SIMILAR_SHOWN_MIN_SCORE"]
    similar = [h for h in hits[:5] if h.score >= minimum]
    answers = suggestions.rank(title, body, hits=hits) if len(text) > 20 else []
    tags = suggest_tags(title, body, hits=hits)
    nudges = [
        Advice("rephrase", message, level="nudge")
        for message in screening.draft_nudges(body, title, lang=g.get("lang", "vi"))
    ]
    return DraftHelp(nudges + review_draft(title, body), tags, similar, answers)


def personal_data(text):
    """Kinds of personal data found in a text (official hotlines are not personal)."""
    without_hotlines = HOTLINES.sub(" ", text)
    found = []
    if PHONE.search(without_hotlines):
        found.append(_("số điện thoại"))
    if CCCD.search(without_hotlines):
        found.append(_("số CCCD"))
    if ADDRESS.search(fold(text)):
        found.append(_("địa chỉ nhà"))
    if EMAIL.search(text):
        found.append(_("địa chỉ email"))
    return found


def suggest_tags(title, body, limit=5, hits=None):
    """Tags from the nearest questions (weighted by similarity) and from keywords in the draft;
    `hits`, when given, are the draft's similar questions, already searched."""
    text = f"{title}\n{body}".strip()
    if len(text) < 8:
        return []
    weights = {}
    for hit in (hits if hits is not None else similar_questions(text, limit=10))[:10]:
        for slug in hit.tags:
            weights[slug] = weights.get(slug, 0.0) + max(hit.score, 0.0)
    folded = fold(text).lower()
    tags = {t.slug: t for t in db.session.scalars(select(Tag).where(Tag.question_count > 0))}
    for slug, tag in tags.items():
        words = {slug.replace("-", " "), fold(tag.name).lower()}
        if any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", folded) for w in words if len(w) > 2):
            weights[slug] = weights.get(slug, 0.0) + 1.0
    ranked = sorted((s for s in weights if s in tags), key=lambda s: (-weights[s], s))[:limit]
    return [(tags[slug], round(weights[slug], 3)) for slug in ranked]


# Routing --------------------------------------------------------------------------------------


@jobs.job
def route_question(thread_id):
    """Ask a few members who answered similar questions well: "có thể bạn giúp được"."""
    thread = db.session.get(Thread, thread_id)
    if thread is None or not thread.question.is_published or thread.answer_count:
        return []
    config = current_app.config
    # The same text as answer suggestions search with, so the two jobs share one search.
    hits = similar_questions(
        f"{thread.title}\n{plain_text(thread.question.body_html)}", limit=10, exclude=[thread.id]
    )
    similarity = {hit.question_id: max(hit.score, 0.0) for hit in hits}
    if not similarity:
        return []
    weights = {}
    for answer in suggestions.good_answers(similarity):
        good = 2.0 if answer.thread.accepted_answer_id == answer.id else 1.0
        weights[answer.author_id] = (
            weights.get(answer.author_id, 0.0) + similarity[answer.thread_id] * good
        )
    weights.pop(thread.author_id, None)
    chosen = []
    for user_id in sorted(weights, key=lambda uid: (-weights[uid], uid)):
        if len(chosen) >= config["ROUTING_PER_QUESTION"]:
            break
        user = db.session.get(User, user_id)
        if (
            not user.notify_routing
            or user.is_suspended
            or _routed_today(user) >= config["ROUTING_DAILY_LIMIT"]
        ):
            continue
        notifications.notify(user.id, "routing", thread=thread, post=thread.question)
        chosen.append(user.id)
    db.session.commit()
    return chosen


def _routed_today(user):
    return db.session.scalar(
        select(func.count()).where(
            Notification.user_id == user.id,
            Notification.kind == "routing",
            Notification.created_at >= utcnow() - timedelta(days=1),
        )
    )
