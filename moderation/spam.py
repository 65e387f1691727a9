"""Spam and scam rules: links, contact details with selling words, scam offers, repeats, bursts,
shouting. Each rule holds a post for review; only a known scam offer with a way to contact the
poster is refused. Posts that warn ABOUT scams are what this community is for and pass.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .checks import quote
from .context import Post, PostContext
from .lexicon import Lexicon, Match
from .text import fold
from .verdict import Reason, Span

# http(s)://…, www.…, or a bare domain with a common top-level domain ("bit.ly/x", "abc.com.vn").
URL = re.compile(
    r"(?i)(?:\bhttps?://|\bwww\.)[^\s<>()\"'“”]+"
    r"|\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:com|net|org|vn|info|biz|xyz|io|me|ly|gl|gd|co|cc|at|id|ee|top|site|online|shop|store"
    r"|click|link|live|app|ai|asia|io|tk|ml)\b(?:/[^\s<>()\"'“”]*)?"
)
# Vietnamese mobile (0 + 9 digits) and landline (02 + 9 digits) numbers, also +84, with spaces,
# dots or dashes between digits. Hotlines (113, 1900 xxxx, 1800 xxxx) do not match.
PHONE = re.compile(
    r"(?<![\w+])(?:\+84|84|0)[\s.\-]?(?:[35789](?:[\s.\-]?\d){8}|2(?:[\s.\-]?\d){9})(?!\w)"
)


@dataclass(frozen=True)
class Link:
    field: str
    start: int
    end: int
    host: str


def find_links(post: Post) -> list[Link]:
    links = []
    for field, text in post.fields():
        for match in URL.finditer(text):
            address = re.sub(r"(?i)^(?:https?://)?(?:www\.)?", "", match.group())
            host = re.split(r"[/?#:]", address, maxsplit=1)[0].lower().rstrip(".")
            links.append(Link(field, match.start(), match.end(), host))
    return links


def host_in(host: str, domains: Iterable[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def find_phones(post: Post) -> list[Span]:
    return [
        Span(field, match.start(), match.end())
        for field, text in post.fields()
        for match in PHONE.finditer(text)
    ]


class LinkCheck:
    """Shortened links, links from new accounts and too many links wait for a moderator.

    Links to well-known domains (allowlist_domains.txt) are not counted for new accounts or
    the total, since members share them all the time.
    """

    name = "links"

    def __init__(
        self,
        shorteners: Iterable[str],
        trusted_domains: Iterable[str],
        new_account_days: float = 7,
        max_links_new_account: int = 0,
        max_links: int = 5,
    ):
        self.shorteners = tuple(shorteners)
        self.trusted_domains = tuple(trusted_domains)
        self.new_account_days = new_account_days
        self.max_links_new_account = max_links_new_account
        self.max_links = max_links

    def run(self, post: Post, context: PostContext) -> list[Reason]:
        links = find_links(post)
        shortened = [link for link in links if host_in(link.host, self.shorteners)]
        counted = [link for link in links if not host_in(link.host, self.trusted_domains)]
        reasons = []
        if shortened:
            reasons.append(
                self._reason(
                    "link_shortener",
                    shortened,
                    f"Bài viết có liên kết rút gọn ({quote(link.host for link in shortened)}) "
                    "không biết dẫn tới đâu, đang chờ điều hành viên duyệt.",
                    f"The post has shortened links ({quote(link.host for link in shortened)}) "
                    "that hide where they lead; it is waiting for a moderator.",
                )
            )
        is_new = context.author_age_days < self.new_account_days
        if is_new and len(counted) > self.max_links_new_account:
            reasons.append(
                self._reason(
                    "link_new_account",
                    counted,
                    "Tài khoản mới tham gia nên bài có liên kết cần điều hành viên duyệt trước. "
                    "Cảm ơn bạn đã kiên nhẫn!",
                    "Posts with links from new accounts are checked by a moderator first. "
                    "Thank you for your patience!",
                )
            )
        if len(counted) > self.max_links:
            reasons.append(
                self._reason(
                    "too_many_links",
                    counted,
                    f"Bài viết có {len(counted)} liên kết, nhiều hơn mức {self.max_links}, "
                    "đang chờ điều hành viên duyệt.",
                    f"The post has {len(counted)} links, more than {self.max_links}; "
                    "it is waiting for a moderator.",
                )
            )
        return reasons

    def _reason(self, code: str, links: list[Link], message_vi: str, message_en: str):
        spans = tuple(Span(link.field, link.start, link.end) for link in links)
        return Reason(code, message_vi, message_en, 1.0, "review", spans, self.name)


class SellingAndScamCheck:
    """Known scam offers with a contact are refused; selling with a phone or link waits.

    A contact is a phone number, a link to an unknown site, an invitation ("ib", "liên hệ") or
    a messaging app's name ("zalo"). Selling needs a phone number, a link or an invitation, or
    two selling phrases and an app's name, so that a member who mentions "Zalo" or "giảm giá"
    in a question is left alone.
    """

    name = "selling_and_scams"

    def __init__(self, lexicon: Lexicon, trusted_domains: Iterable[str] = ()):
        self.lexicon = lexicon
        self.trusted_domains = tuple(trusted_domains)

    def run(self, post: Post, context: PostContext) -> list[Reason]:
        found: dict[str, list[tuple[Span, str, Match]]] = {}
        for field, text in post.fields():
            for match in self.lexicon.find(text, marked_text=True):
                typed = text[match.start : match.end]
                found.setdefault(match.entry.category, []).append(
                    (Span(field, match.start, match.end), typed, match)
                )
        if found.get("warning"):
            return []
        phones = find_phones(post)
        links = [
            Span(link.field, link.start, link.end)
            for link in find_links(post)
            if not host_in(link.host, self.trusted_domains)
        ]
        invitations = [span for span, _, _ in found.get("contact", [])]
        channels = [span for span, _, _ in found.get("channel", [])]
        contacts = phones + links + invitations + channels
        reasons = []
        scams = found.get("scam", [])
        if scams and contacts:
            reasons.append(self._scam_reason(scams, contacts))
        selling = found.get("selling", [])
        distinct_selling = {fold(typed) for _, typed, _ in selling}
        direct = phones or links or invitations
        if selling and (direct or (len(distinct_selling) >= 2 and channels)):
            words = quote(typed for _, typed, _ in selling)
            reasons.append(
                Reason(
                    code="selling_with_contact",
                    message_vi=f"Bài viết có vẻ là quảng cáo ({words} kèm số điện thoại, "
                    "liên kết hoặc lời mời liên hệ riêng), đang chờ điều hành viên duyệt.",
                    message_en=f"The post looks like an advertisement ({words} with a phone "
                    "number, link or invitation to contact privately); it is waiting for a "
                    "moderator.",
                    score=0.8,
                    action="review",
                    spans=tuple(span for span, _, _ in selling) + tuple(direct or channels),
                    check=self.name,
                )
            )
        return reasons

    def _scam_reason(self, scams, contacts: list[Span]) -> Reason:
        words = quote(typed for _, typed, _ in scams)
        spans = tuple(span for span, _, _ in scams) + tuple(contacts)
        if any(match.entry.severity == "severe" for _, _, match in scams):
            return Reason(
                code="scam_pattern",
                message_vi=f"Bài viết giống tin lừa đảo đã biết ({words} kèm cách liên hệ) "
                "nên không thể đăng. Nếu bạn muốn cảnh báo mọi người về chiêu lừa này, "
                "hãy ghi rõ là cảnh báo nhé.",
                message_en=f"The post matches a known scam ({words} with contact details) and "
                "cannot be published. If you are warning others about this scam, please say "
                "so clearly.",
                score=1.0,
                action="reject",
                spans=spans,
                check=self.name,
            )
        return Reason(
            code="scam_pattern",
            message_vi=f"Bài viết có nội dung hay gặp trong tin lừa đảo ({words} kèm cách "
            "liên hệ), đang chờ điều hành viên duyệt.",
            message_en=f"The post has wording common in scams ({words} with contact details); "
            "it is waiting for a moderator.",
            score=0.9,
            action="review",
            spans=spans,
            check=self.name,
        )


def _now(context: PostContext) -> datetime:
    if context.now is not None:
        return context.now
    timezone = context.recent_posts[0].created_at.tzinfo if context.recent_posts else None
    return datetime.now(timezone)


def _shingles(text: str) -> set[str]:
    words = re.sub(r"[\W_]+", " ", fold(text)).split()
    joined = " ".join(words)
    return {joined[index : index + 4] for index in range(max(1, len(joined) - 3))}


def similarity(first: str, second: str) -> float:
    """Jaccard overlap of character 4-grams of the folded texts, in [0, 1]."""
    a, b = _shingles(first), _shingles(second)
    return len(a & b) / len(a | b) if a and b else 0.0


class RepeatedPostCheck:
    """The author posted the same or nearly the same text recently (copy-paste spam)."""

    name = "repeated_posts"

    def __init__(self, window_s: float = 86400, min_similarity: float = 0.85, min_chars=40):
        self.window = timedelta(seconds=window_s)
        self.min_similarity = min_similarity
        self.min_chars = min_chars

    def run(self, post: Post, context: PostContext) -> list[Reason]:
        text = post.full_text
        if len(text.strip()) < self.min_chars:
            return []  # "Cảm ơn bạn!" twice is politeness, not spam
        now = _now(context)
        repeats = [
            recent
            for recent in context.recent_posts
            if now - recent.created_at <= self.window
            and similarity(text, recent.text) >= self.min_similarity
        ]
        if not repeats:
            return []
        return [
            Reason(
                code="repeated_post",
                message_vi=f"Bạn đã đăng nội dung gần giống hệt {len(repeats)} lần gần đây. "
                "Bài này đang chờ điều hành viên duyệt; nếu chưa có ai trả lời, bạn có thể "
                "bổ sung vào bài cũ.",
                message_en=f"You posted nearly the same text {len(repeats)} time(s) recently. "
                "This post is waiting for a moderator; if nobody has answered yet, you can add "
                "to your earlier post.",
                score=1.0,
                action="review",
                check=self.name,
            )
        ]


class PostingBurstCheck:
    """Many posts in a few minutes: a bot or a spammer more often than an eager member."""

    name = "posting_burst"

    def __init__(self, window_s: float = 300, max_posts: int = 6):
        self.window = timedelta(seconds=window_s)
        self.max_posts = max_posts

    def run(self, post: Post, context: PostContext) -> list[Reason]:
        now = _now(context)
        recent = sum(1 for p in context.recent_posts if now - p.created_at <= self.window)
        if recent + 1 < self.max_posts:
            return []
        minutes = round(self.window.total_seconds() / 60)
        return [
            Reason(
                code="posting_burst",
                message_vi=f"Bạn đã đăng {recent + 1} bài trong {minutes} phút. "
                "Bài này đang chờ điều hành viên duyệt.",
                message_en=f"You posted {recent + 1} times in {minutes} minutes. "
                "This post is waiting for a moderator.",
                score=1.0,
                action="review",
                check=self.name,
            )
        ]


class ShoutingCheck:
    """A long post written in capitals (ALL CAPS) reads as shouting.

    By default only a friendly hint (action allow): members with poor eyesight or an old phone
    type in capitals without meaning to shout, and holding their posts would drive them away.
    """

    name = "shouting"

    def __init__(self, min_letters: int = 30, min_ratio: float = 0.8, action: str = "allow"):
        self.min_letters = min_letters
        self.min_ratio = min_ratio
        self.action = action

    def run(self, post: Post, context: PostContext) -> list[Reason]:
        letters = [char for char in URL.sub(" ", post.full_text) if char.isalpha()]
        upper = sum(1 for char in letters if char.isupper())
        if len(letters) < self.min_letters or upper < self.min_ratio * len(letters):
            return []
        return [
            Reason(
                code="all_caps",
                message_vi=(
                    "Bài viết viết toàn chữ in hoa, đọc như đang quát. Bạn có thể sửa lại "
                    "thành chữ thường cho dễ đọc nhé."
                    if self.action == "allow"
                    else "Bài viết viết toàn chữ in hoa, đọc như đang quát. Bài đang chờ "
                    "điều hành viên duyệt; bạn có thể sửa lại thành chữ thường."
                ),
                message_en=(
                    "The post is written in capitals, which reads as shouting. You can edit "
                    "it into normal case so it is easier to read."
                    if self.action == "allow"
                    else "The post is written in capitals, which reads as shouting. It is "
                    "waiting for a moderator; you can edit it into normal case."
                ),
                score=upper / len(letters),
                action=self.action,
                spans=tuple(Span(field, 0, len(text)) for field, text in post.fields()),
                check=self.name,
            )
        ]
