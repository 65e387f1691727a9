"""Email: an outbox table, sent through SMTP by a background job. A notice is a row first and
is sent after the commit; the row stays until the server took it, so a failed send is tried
again later and never lost. Nothing is queued or sent while MAIL_SERVER is unset.

Every notice is Vietnamese plain text plus simple HTML, carries no tracking (no pixels, no
redirecting links), and has a one-click unsubscribe (RFC 8058 headers and a signed link that
works without logging in).
"""

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from flask import current_app, render_template
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import func, or_, select, update

from forum import jobs
from forum.extensions import db
from forum.models import OutboxMessage, Post, User, utcnow
from forum.services import subscriptions
from forum.services.errors import NotFound, ValidationError
from forum.urls import site_url

log = logging.getLogger(__name__)

UNSUBSCRIBE_KINDS = ("instant", "digest")
LOCK = timedelta(minutes=5)  # a sender that died releases its rows after this
VERIFY_RESEND_WAIT = timedelta(minutes=2)


def enabled():
    return bool(current_app.config.get("MAIL_SERVER"))


# Signed links ---------------------------------------------------------------------------------


def _signer(salt, timed=False):
    secret = current_app.config["SECRET_KEY"]
    return (URLSafeTimedSerializer if timed else URLSafeSerializer)(secret, salt=salt)


def unsubscribe_url(user, kind):
    """A link that turns one kind of email off, for good; it needs no login."""
    token = _signer("unsubscribe").dumps({"u": user.id, "k": kind})
    return site_url("email.unsubscribe", token=token)


def read_unsubscribe(token):
    """(user, kind) a link is for; NotFound for a link that was not made here."""
    try:
        data = _signer("unsubscribe").loads(token)
        user = db.session.get(User, int(data["u"]))
        kind = data["k"]
    except (BadSignature, KeyError, TypeError, ValueError):
        user, kind = None, None
    if user is None or kind not in UNSUBSCRIBE_KINDS:
        raise NotFound(_("Liên kết hủy nhận email không đúng."))
    return user, kind


def unsubscribe(token):
    user, kind = read_unsubscribe(token)
    if kind == "instant":
        user.email_instant = False
    else:
        user.email_digest = False
    db.session.commit()
    return user, kind


# Verifying an address -------------------------------------------------------------------------


def send_verification(user):
    """Queue a link that proves the member reads this address."""
    if not enabled():
        raise ValidationError(_("Diễn đàn chưa được cấu hình để gửi email."))
    if not user.email:
        raise ValidationError(
            field_errors={"email": [_("Hãy nhập địa chỉ email trong hồ sơ trước.")]}
        )
    _send_verify_link(user, user.email, _verify_sends(user))
    db.session.commit()
    jobs.enqueue("send_outbox", "verify")


def confirm_new_address(user, address):
    """Send the link that moves the member's account to `address` when clicked. If the address
    already belongs to another account, its owner gets a notice instead (nothing changes), and
    the member who typed it is told the same as for any address: the page never says which."""
    if not enabled():
        raise ValidationError(
            _("Chưa đổi được email: diễn đàn chưa gửi được thư, nên chưa xác nhận được địa chỉ "
              "mới.")
        )  # fmt: skip
    sent = _verify_sends(user)
    owner = db.session.scalar(select(User).where(User.email == address))
    if owner is None:
        _send_verify_link(user, address, sent)
    else:
        queue(
            f"verify:{user.id}:{len(sent) + 1}",
            "verify",
            owner,
            _("Có người muốn dùng địa chỉ email của bạn"),
            "address_taken",
        )
    db.session.commit()
    jobs.enqueue("send_outbox", "verify")


def _verify_sends(user):
    """When the member's earlier links went (sent to whichever address); a new one waits."""
    sent = db.session.scalars(
        select(OutboxMessage.created_at).where(
            OutboxMessage.key.like(f"verify:{user.id}:%"), OutboxMessage.kind == "verify"
        )
    ).all()
    if any(when > utcnow() - VERIFY_RESEND_WAIT for when in sent):
        raise ValidationError(_("Vừa gửi liên kết xác minh rồi; hãy xem hộp thư (cả mục Spam)."))
    return sent


def _send_verify_link(user, address, sent):
    # "was": the account's address when the link was made; a link made before a later change
    # of address no longer works.
    token = _signer("verify-email", timed=True).dumps(
        {"u": user.id, "e": address, "was": user.email or ""}
    )
    queue(
        f"verify:{user.id}:{len(sent) + 1}",
        "verify",
        user,
        _("Xác minh địa chỉ email của bạn"),
        "verify",
        to=address,
        verify_url=site_url("email.verify", token=token),
        hours=current_app.config["EMAIL_VERIFY_HOURS"],
    )


def verify(token):
    """Mark the address the link was sent to as the account's, verified. The link works for
    EMAIL_VERIFY_HOURS, once the account's address is still the one it had when it was made."""
    max_age = current_app.config["EMAIL_VERIFY_HOURS"] * 3600
    try:
        data = _signer("verify-email", timed=True).loads(token, max_age=max_age)
        user = db.session.get(User, int(data["u"]))
        address, was = data["e"], data.get("was", data["e"])
    except SignatureExpired as error:
        message = _("Liên kết xác minh đã hết hạn; hãy gửi lại liên kết mới.")
        raise ValidationError(message) from error
    except (BadSignature, KeyError, TypeError, ValueError):
        user, address, was = None, None, None
    if user is None or not address or (user.email or "") != was:
        raise NotFound(_("Liên kết xác minh không đúng hoặc địa chỉ email đã đổi."))
    if user.email != address:
        if db.session.scalar(select(User.id).where(User.email == address)):
            # Whoever clicked reads this inbox: telling them reveals nothing they do not know.
            raise ValidationError(_("Địa chỉ này đã gắn với một tài khoản khác ở đây."))
        user.email = address
        user.email_verified_at = None
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.commit()
    return user


# Notices --------------------------------------------------------------------------------------


@jobs.job
def email_answer_notices(answer_id):
    """Tell the asker and the thread's followers of a new published answer."""
    if not enabled():
        return 0
    answer = db.session.get(Post, answer_id)
    if (
        answer is None
        or answer.post_type != "answer"
        or not answer.is_published
        or not answer.thread.is_public
    ):
        return 0
    thread = answer.thread
    queued = 0
    for user in subscriptions.answer_recipients(answer):
        asker = user.id == thread.author_id
        message = queue(
            f"answer:{answer.id}:{user.id}",
            "answer",
            user,
            _("Câu trả lời mới: %(title)s", title=thread.title)[:200],
            "answer",
            unsubscribe="instant",
            thread=thread,
            answer=answer,
            excerpt=subscriptions.excerpt(answer),
            asker=asker,
            thread_url=site_url(
                "questions.thread",
                thread_id=thread.id,
                slug=thread.slug,
                _anchor=f"post-{answer.id}",
            ),
        )
        queued += message is not None
    db.session.commit()
    send_due()
    return queued


def queue_digests(days=7, now=None):
    """One digest per member who chose it, with the best new threads of the tags they follow;
    at most one per member and ISO week, however often this runs."""
    now = now or utcnow()
    year, week, _day = now.isocalendar()
    since = now - timedelta(days=days)
    limit = current_app.config["DIGEST_THREADS"]
    queued = 0
    for user in subscriptions.digest_readers():
        threads = subscriptions.best_new_threads(user, since, limit)
        if not threads:
            continue
        items = [
            {
                "thread": thread,
                "url": site_url("questions.thread", thread_id=thread.id, slug=thread.slug),
                "excerpt": subscriptions.excerpt(thread.question, 160),
            }
            for thread in threads
        ]
        message = queue(
            f"digest:{user.id}:{year}-W{week:02d}",
            "digest",
            user,
            _("Tuần này ở Xứ Trà Hỏi Đáp: %(n)d câu hỏi hay trong thẻ bạn theo dõi", n=len(items)),
            "digest",
            unsubscribe="digest",
            items=items,
            tags=subscriptions.followed_tags(user),
            days=days,
        )
        queued += message is not None
    db.session.commit()
    return queued


def queue(key, kind, user, subject, template, unsubscribe=None, to=None, **context):
    """Add a message to the outbox (the caller commits); None when mail is off or the same
    notice was queued before. It goes to the member's address, or to `to` (an address the
    member asked to move to, not theirs yet)."""
    to = to or user.email
    if not enabled() or not to:
        return None
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)):
        return None
    context.update(
        user=user,
        unsubscribe_url=unsubscribe_url(user, unsubscribe) if unsubscribe else None,
        settings_url=site_url("email.settings"),
        site_url=site_url("main.index"),
    )
    message = OutboxMessage(
        key=key,
        kind=kind,
        user_id=user.id,
        to_address=to,
        subject=subject,
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", **context),
        unsubscribe_url=context["unsubscribe_url"],
        attempts=0,
    )
    db.session.add(message)
    return message


# Sending --------------------------------------------------------------------------------------


@jobs.job(batched=True)
def send_outbox(_reasons):
    """Batched: a burst of notices is sent by one run over one SMTP connection."""
    return send_due()


def waiting_count():
    return db.session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None)))


def send_due(limit=500):
    """Send the outbox rows whose time has come; returns (sent, failed). Each row is locked
    while it is sent, so two senders never send the same message."""
    if not enabled():
        return 0, 0
    now = utcnow()
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.sent_at.is_(None),
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    sent = failed = 0
    sender = _Sender(current_app.config)
    try:
        for message_id in ids:
            if not _lock(message_id):
                continue
            message = db.session.get(OutboxMessage, message_id)
            try:
                sender.send(build_message(message))
            except (smtplib.SMTPException, OSError) as error:
                sender.close()
                _failed(message, error)
                failed += 1
            else:
                message.sent_at, message.locked_until = utcnow(), None
                message.attempts += 1
                sent += 1
            db.session.commit()
    finally:
        sender.close()
    return sent, failed


def _lock(message_id):
    now = utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
        )
        .values(locked_until=now + LOCK)
    )
    db.session.commit()
    return result.rowcount == 1


def _failed(message, error):
    waits = current_app.config["MAIL_RETRY_MINUTES"]
    message.attempts += 1
    wait = waits[min(message.attempts, len(waits)) - 1]
    message.next_attempt_at = utcnow() + timedelta(minutes=wait)
    message.locked_until = None
    message.last_error = f"{error.__class__.__name__}: {error}"[:500]
    log.warning("email %s to %s failed (%s); next try in %d min", message.key,
                message.to_address, message.last_error, wait)  # fmt: skip


def build_message(message):
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(utcnow())
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = make_msgid(domain=domain)
    email["Auto-Submitted"] = "auto-generated"
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    return email


class _Sender:
    """One SMTP connection, opened on the first message and reopened after a failure."""

    def __init__(self, config):
        self.config = config
        self.smtp = None

    def send(self, email):
        if self.smtp is None:
            config = self.config
            smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"],
                                timeout=config["MAIL_TIMEOUT"])  # fmt: skip
            try:
                if config["MAIL_USE_TLS"]:
                    smtp.starttls()
                if config.get("MAIL_USERNAME"):
                    smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            except (smtplib.SMTPException, OSError):
                smtp.close()
                raise
            self.smtp = smtp
        self.smtp.send_message(email)

    def close(self):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None
