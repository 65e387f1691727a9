"""What moderation answers: an action and every reason behind it."""

from dataclasses import asdict, dataclass

# From least to most strict; a verdict takes the strictest action among its reasons.
ACTIONS = ("allow", "review", "reject")


def strictest(actions) -> str:
    return max(actions, key=ACTIONS.index, default="allow")


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of one field ("title" or "body") of the post as submitted."""

    field: str
    start: int
    end: int


@dataclass(frozen=True)
class Reason:
    """One finding of one check, explained to the author in Vietnamese and English.

    `action` is what this finding alone asks for; `score` is the check's confidence in [0, 1]
    (a classifier's probability, 1.0 for a rule or lexicon match).
    """

    code: str
    message_vi: str
    message_en: str
    score: float
    action: str
    spans: tuple[Span, ...] = ()
    check: str = ""

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")


@dataclass(frozen=True)
class Verdict:
    action: str
    reasons: tuple[Reason, ...]

    @classmethod
    def from_reasons(cls, reasons) -> "Verdict":
        reasons = tuple(reasons)
        return cls(strictest(reason.action for reason in reasons), reasons)

    def to_dict(self) -> dict:
        """Plain JSON-ready form, for the audit log and the API."""
        return {
            "action": self.action,
            "reasons": [
                {**asdict(reason), "spans": [asdict(span) for span in reason.spans]}
                for reason in self.reasons
            ],
        }
