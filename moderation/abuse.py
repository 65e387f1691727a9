"""The abuse lexicon check: insults, slurs, threats, sexual abuse and vulgar words.

Vulgar words alone are most often an intensifier or an exclamation aimed at nobody ("lag vl",
"đẹp vãi", "đm lại mất điện"): such a post is published and its author gets a nudge to say it
more gently. The same words aimed at someone are abuse and wait for a moderator: next to a
word that points at a person ("mày", "thằng này", "bọn nó": the targets list), or in a post
that also insults, slurs or threatens. Whether a post without such words is aimed at someone
is left to the classifier, which has seen both kinds.
"""

from .checks import quote
from .context import Post, PostContext
from .lexicon import Lexicon
from .text import is_marked_text, tokenize
from .verdict import Nudge, Reason, Span

PROFANITY = "profanity"

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

    def __init__(self, lexicon: Lexicon, targets: Lexicon | None = None):
        self.lexicon = lexicon
        self.targets = targets

    def run(self, post: Post, context: PostContext) -> list[Reason | Nudge]:
        marked_text = is_marked_text(tokenize(post.full_text))
        by_category: dict[str, list[tuple[Span, str, str]]] = {}
        for field, text in post.fields():
            for match in self.lexicon.find(text, marked_text):
                span = Span(field, match.start, match.end)
                found = (span, text[match.start : match.end], match.entry.severity)
                by_category.setdefault(match.entry.category, []).append(found)
        swearing = by_category.get(PROFANITY, [])
        if swearing and self._casual(post, by_category, marked_text):
            return [self._nudge(swearing)]
        return [self._reason(category, found) for category, found in by_category.items()]

    def _casual(self, post: Post, by_category, marked_text: bool) -> bool:
        """Vulgar words only, none severe, and nothing in the post points them at a person."""
        if set(by_category) != {PROFANITY} or self.targets is None:
            return False
        if any(severity == "severe" for _, _, severity in by_category[PROFANITY]):
            return False
        return not any(self.targets.find(text, marked_text) for _, text in post.fields())

    def only_casual_swearing(self, post: Post, offending: list[Span]) -> bool:
        """The policy over a model's spans: True when every offending word the model found is
        casual swearing from the lexicon (vulgar, not severe, no insult, slur or threat in the
        post) and nothing points it at a person or group. Such a post is published with the
        nudge; a model that found no offending word, or one the lexicon does not know as mere
        swearing, leaves the post held."""
        if not offending:
            return False
        marked_text = is_marked_text(tokenize(post.full_text))
        by_category: dict[str, list[tuple[Span, str, str]]] = {}
        for field, text in post.fields():
            for match in self.lexicon.find(text, marked_text):
                found = (Span(field, match.start, match.end), "", match.entry.severity)
                by_category.setdefault(match.entry.category, []).append(found)
        if not by_category.get(PROFANITY) or not self._casual(post, by_category, marked_text):
            return False
        swearing = [span for span, _, _ in by_category[PROFANITY]]
        return all(
            any(
                s.field == word.field and s.start <= word.start and word.end <= s.end
                for s in swearing
            )
            for word in offending
        )

    def _nudge(self, found: list[tuple[Span, str, str]]) -> Nudge:
        words = quote(typed for _, typed, _ in found)
        return Nudge(
            code="casual_profanity",
            message_vi=f"Bài viết có từ ngữ thô tục ({words}). Bài vẫn đăng được, nhưng bạn thử "
            "viết lại nhẹ nhàng hơn nhé: trong nhóm có cả các cô, các bác và các cháu cùng đọc.",
            message_en=f"The post has vulgar words ({words}). It can still be published, but "
            "please consider putting it more gently: elders and children read the group too.",
            spans=tuple(dict.fromkeys(span for span, _, _ in found)),
            check=self.name,
        )

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
