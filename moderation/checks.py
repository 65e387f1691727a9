"""The shape of a check: a name, and the reasons it finds in a post."""

from collections.abc import Iterable
from typing import Protocol

from .context import Post, PostContext
from .verdict import Nudge, Reason


class Check(Protocol):
    """One named test of a post. `name` identifies it in reasons, logs and measurements.

    It yields Reasons (which decide the action) and may yield Nudges (advice that never holds).
    """

    name: str

    def run(self, post: Post, context: PostContext) -> Iterable[Reason | Nudge]: ...


def quote(words, limit: int = 3) -> str:
    """“a”, “b”, “c” for messages: distinct words in order, at most `limit`."""
    distinct = list(dict.fromkeys(words))
    shown = ", ".join(f"“{word}”" for word in distinct[:limit])
    return shown + (", …" if len(distinct) > limit else "")
