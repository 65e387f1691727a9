"""The abuse lexicon check: insults, slurs, threats, sexual abuse and vulgar words."""

from .checks import quote
from .context import Post, PostContext
from .lexicon import Lexicon
from .text import is_marked_text, tokenize
from .verdict import Reason, Span

# (Vietnamese, English) description of each lexicon category, for messages.
CATEGORY_TEXT = {
    "profanity": ("từ ngữ thô tục", "vulgar language"),
    "insult": ("từ ngữ xúc phạm", "insulting language"),
    "slur": (
        "từ ngữ miệt thị vùng miền, dân tộc, giới tính hoặc người khuyết tật",
        "a slur against a region, ethnicity, gender or disability",
    ),
    "threat": ("lời đe dọa", "a threat"),
    "sexual": ("nội dung tình dục thô tục hoặc quấy rối", "sexual abuse or harassment"),
}


class AbuseLexiconCheck:
    """One reason per lexicon category found; severe entries ask for rejection."""

    name = "abuse_lexicon"

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon

    def run(self, post: Post, context: PostContext) -> list[Reason]:
        marked_text = is_marked_text(tokenize(post.full_text))
        by_category: dict[str, list[tuple[Span, str, str]]] = {}
        for field, text in post.fields():
            for match in self.lexicon.find(text, marked_text):
                span = Span(field, match.start, match.end)
                found = (span, text[match.start : match.end], match.entry.severity)
                by_category.setdefault(match.entry.category, []).append(found)
        return [self._reason(category, found) for category, found in by_category.items()]

    def _reason(self, category: str, found: list[tuple[Span, str, str]]) -> Reason:
        what_vi, what_en = CATEGORY_TEXT.get(category, (category, category))
        words = quote(typed for _, typed, _ in found)
        spans = tuple(dict.fromkeys(span for span, _, _ in found))
        if any(severity == "severe" for _, _, severity in found):
            return Reason(
                code=f"abuse_{category}",
                message_vi=f"Bài viết có {what_vi} ({words}) nên chưa thể đăng. "
                "Bạn vui lòng sửa lại rồi gửi lại nhé.",
                message_en=f"The post contains {what_en} ({words}) and cannot be published. "
                "Please edit it and send it again.",
                score=1.0,
                action="reject",
                spans=spans,
                check=self.name,
            )
        return Reason(
            code=f"abuse_{category}",
            message_vi=f"Bài viết có {what_vi} ({words}), đang chờ điều hành viên duyệt.",
            message_en=f"The post contains {what_en} ({words}) and is waiting for a moderator.",
            score=1.0,
            action="review",
            spans=spans,
            check=self.name,
        )
