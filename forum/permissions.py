"""Who may do what: plain predicates, used by services, views and templates alike.

Every predicate for a change (posting, voting, flagging, editing, following…) starts from
`is_active_member`: a suspended member reads, and changes nothing but their own account."""


def is_authenticated(user):
    return user is not None and getattr(user, "is_authenticated", False)


def is_suspended(user):
    return is_authenticated(user) and user.is_suspended


def is_active_member(user):
    """A logged-in member who is not suspended: the start of every permission to change things."""
    return is_authenticated(user) and not user.is_suspended


def is_moderator(user):
    return is_authenticated(user) and user.is_moderator


def is_author(user, post):
    return is_authenticated(user) and post.author_id == user.id


def is_asker(user, thread):
    return is_authenticated(user) and thread.author_id == user.id


def can_view(user, post):
    """Published posts are public; held, rejected and deleted ones to author and moderators."""
    if post.is_published:
        return True
    if post.is_deleted:
        return is_moderator(user)
    return is_author(user, post) or is_moderator(user)


def can_post(user):
    """Ask, answer, comment, upload."""
    return is_active_member(user)


def can_comment(user, post):
    return can_post(user) and post.post_type in ("question", "answer") and post.is_published


def can_edit(user, post):
    return (
        is_active_member(user)
        and not post.is_deleted
        and (is_author(user, post) or is_moderator(user))
    )


def can_delete(user, post):
    return can_edit(user, post)


def can_see_history(user, post):
    """Old revisions may hold what an edit took out (a phone number): author and moderators
    only; everyone else reads the current text."""
    return can_view(user, post) and (is_author(user, post) or is_moderator(user))


def can_redact(user, post):
    return is_active_member(user) and (is_author(user, post) or is_moderator(user))


def can_vote(user, post):
    return (
        is_active_member(user)
        and post.post_type in ("question", "answer")
        and post.is_published
        and post.author_id != user.id
    )


def can_flag(user, post):
    return is_active_member(user) and post.author_id != user.id


def can_accept(user, answer):
    """Only the asker accepts, and only a published answer."""
    return (
        is_active_member(user)
        and answer.post_type == "answer"
        and answer.is_published
        and is_asker(user, answer.thread)
    )


def can_follow(user):
    return is_active_member(user)


def can_give_feedback(user, thread):
    """On the past answers suggested to a question: its asker only."""
    return is_active_member(user) and is_asker(user, thread)


def can_see_feedback(user, thread):
    """What the asker said of a suggestion ("not relevant") is the asker's own business."""
    return is_asker(user, thread)


def can_make_tokens(user):
    return is_active_member(user)


def can_close_as_duplicate(user):
    """Moderators close a question as a duplicate at once."""
    return is_moderator(user) and not user.is_suspended


def can_vote_duplicate(user, thread, min_reputation):
    """Members with enough reputation vote to close someone else's question as a duplicate."""
    return (
        can_post(user)
        and user.reputation >= min_reputation
        and thread.author_id != user.id
        and thread.duplicate_of_id is None
    )


def can_save(user, post):
    """Any visible question or answer can be saved for later, except by a suspended member."""
    return can_post(user) and post.post_type in ("question", "answer") and can_view(user, post)


def can_merge(user):
    return can_close_as_duplicate(user)


PREDICATES = {
    "can_view": can_view,
    "can_edit": can_edit,
    "can_delete": can_delete,
    "can_vote": can_vote,
    "can_flag": can_flag,
    "can_comment": can_comment,
    "can_see_history": can_see_history,
    "can_redact": can_redact,
    "can_accept": can_accept,
    "can_post": can_post,
    "can_follow": can_follow,
    "can_give_feedback": can_give_feedback,
    "can_make_tokens": can_make_tokens,
    "is_moderator": is_moderator,
    "is_active_member": is_active_member,
    "can_save": can_save,
    "can_close_as_duplicate": can_close_as_duplicate,
    "can_merge": can_merge,
}
