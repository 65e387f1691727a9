"""Near-duplicate questions: never a rejection, a friendly pointer to what already exists."""

from .checks import quote
from .context import Post, PostContext
from .verdict import Reason


class SimilarQuestionsCheck:
    """Tells the asker that similar questions exist (found by the caller's search)."""

    name = "similar_questions"

    def __init__(self, min_score: float = 0.8, max_shown: int = 3):
        self.min_score = min_score
        self.max_shown = max_shown

    def run(self, post: Post, context: PostContext) -> list[Reason]:
        if not context.is_question:
            return []
        close = sorted(
            (q for q in context.similar_questions if q.score >= self.min_score),
            key=lambda q: q.score,
            reverse=True,
        )[: self.max_shown]
        if not close:
            return []
        titles = quote((q.title for q in close), limit=self.max_shown)
        return [
            Reason(
                code="similar_questions",
                message_vi=f"Đã có câu hỏi tương tự: {titles}. Bạn xem thử, có thể đã có "
                "câu trả lời bạn cần.",
                message_en=f"Similar questions already exist: {titles}. Have a look, the "
                "answer you need may be there.",
                score=close[0].score,
                action="allow",
                check=self.name,
            )
        ]
