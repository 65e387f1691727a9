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
class Nudge:
    """Friendly advice to the author that never holds a post: "consider saying it more gently".

    Casual swearing used as an intensifier and aimed at nobody ("lag vl") is published; its
    author is asked, before posting, whether they would like to rephrase.
    """

    code: str
    message_vi: str
    message_en: str
    spans: tuple[Span, ...] = ()
    check: str = ""


@dataclass(frozen=True)
class Verdict:
    action: str
    reasons: tuple[Reason, ...]
    nudges: tuple[Nudge, ...] = ()

    @classmethod
    def from_reasons(cls, findings) -> "Verdict":
        """The verdict of a check's findings: reasons decide the action, nudges only advise."""
        findings = tuple(findings)
        reasons = tuple(found for found in findings if isinstance(found, Reason))
        nudges = tuple(found for found in findings if isinstance(found, Nudge))
        return cls(strictest(reason.action for reason in reasons), reasons, nudges)

    def to_dict(self) -> dict:
        """Plain JSON-ready form, for the audit log and the API."""
        return {
            "action": self.action,
            "reasons": [_plain(reason) for reason in self.reasons],
            "nudges": [_plain(nudge) for nudge in self.nudges],
        }


def _plain(finding) -> dict:
    return {**asdict(finding), "spans": [asdict(span) for span in finding.spans]}
