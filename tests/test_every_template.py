"""Every template, rendered in every state that shows a stored code, in both languages:
Vietnamese pages never show a raw code (auto_allow, dismiss_flags, published, scam…), and
English pages hold no Vietnamese the templates forgot to translate.

The forum here is written in plain ASCII English, so any Vietnamese on an English page came
from a template or a service, and any code on a Vietnamese page is a missing label."""

import html
import re

import pytest
from flask import template_rendered

from forum.config import ROOT
from forum.extensions import db
from forum.labels import LABELS
from forum.models import FacebookAuthor, Flag, ReviewCase, Revision
from forum.services import claims, mail, password_reset, posts, review, screening, suggestions
from moderation import Reason, Verdict
from moderation.verdict import Nudge

# Codes that are also ordinary words of the Vietnamese labels ("Quảng cáo, spam").
NOT_RAW = {"spam"}
CODES = sorted({code for table in LABELS.values() for code in table} - NOT_RAW)
CODE_RE = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, CODES)) + r")(?![\w-])")
# Vietnamese letters (with diacritics, and đ): none may be left on an English page…
VIETNAMESE = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]",
                        re.IGNORECASE)
# …but names: the forum's, the language switch's, places in examples.
PROPER_NAMES = ("Xứ Trà", "Hỏi Đáp", "Tiếng Việt", "Xứ trà học AI", "Bình dân học AI",
                "Thái Nguyên", "Tân Cương", "Bà Nga Đồng Hỷ", "Đồng Hỷ")  # fmt: skip


def visible_text(page):
    """What a reader sees: no scripts, no tags, no attribute values, no hidden markers."""
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]*\bhidden\b[^>]*>.*?</span>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


class Verdicts:
    """A stand-in moderator: "#hold" or "#refuse" in a text decides, with a reason from a
    real check name, so every action and check label shows up in the queue and the log."""

    MARKS = {"#refuse": ("reject", "abuse_lexicon"), "#hold": ("review", "toxicity_classifier")}

    def check(self, text, title=None, context=None):
        for mark, (action, check) in self.MARKS.items():
            if mark in text:
                reason = Reason(
                    code=f"test_{action}",
                    message_vi="Bài cần điều hành viên xem.",
                    message_en="A moderator needs to look at this post.",
                    score=0.91,
                    action=action,
                    check=check,
                )
                return Verdict.from_reasons([reason])
        if "#nudge" in text:
            return Verdict.from_reasons([Nudge("casual_swearing", "Bạn có muốn nói nhẹ nhàng hơn?",
                                               "Would you like to say it more gently?")])
        return Verdict.from_reasons([])


@pytest.fixture
def forum(app, make_user, monkeypatch):
    """Every state that shows a stored code: all actions, reasons, outcomes, roles."""
    monkeypatch.setattr(screening, "moderator", lambda: Verdicts())
    asker = make_user("lan_asks", display_name="Lan")
    helper = make_user("binh_helps", display_name="Binh")
    mod = make_user("duc_mod", role="moderator", display_name="Duc")
    make_user("kim_admin", role="admin")
    past = posts.ask_question(
        asker,
        "Zalo login code never arrives on my Samsung",
        "I pressed Forgot password twice and waited ten minutes, nothing came.",
        "zalo, samsung",
    )
    reply = posts.post_answer(helper, past, "Choose the voice call option and wait for the call.")
    posts.accept_answer(asker, reply)
    posts.post_comment(helper, past.question, "Which Zalo version do you use?")
    posts.edit_post(asker, past.question, "I pressed Forgot password twice and waited, no luck.")
    posts.edit_post(asker, past.question, "I pressed Forgot password and waited; nothing came.")
    posts.redact_revision(mod, db.session.scalar(db.select(Revision).filter_by(number=1)))
    posts.edit_post(mod, reply, "Choose the voice call option, then wait for the call.")
    new = posts.ask_question(
        asker, "Zalo login code does not arrive on my phone", "Forgot password sends nothing.",
        "zalo",
    )
    suggestions.ensure_for_thread(new)
    suggestions.give_feedback(asker, suggestions.for_thread(new)[0], "solved")
    held = posts.post_answer(helper, new, "Try again later #hold")
    rejected = posts.post_answer(helper, new, "Buy followers here #refuse")
    review.appeal(helper, rejected, "It was a joke, sorry.")
    flagged = posts.post_answer(make_user("an_new"), new, "Restart the phone and try again.")
    review.flag(asker, flagged, "rude", "not kind")
    review.flag(mod, reply, "off_topic")  # a moderator's flag hides the post at once
    case = db.session.scalar(db.select(ReviewCase).filter_by(post_id=reply.id))
    review.dismiss_flags(mod, case)
    review.approve(mod, db.session.scalar(db.select(ReviewCase).filter_by(post_id=held.id)))
    for number, label in enumerate(review.REJECT_LABELS):
        victim = posts.post_answer(helper, past, f"Yet another reply, number {number} #hold")
        case = db.session.scalar(db.select(ReviewCase).filter_by(post_id=victim.id))
        review.reject(mod, case, "Not helpful", label)
    for number, reason in enumerate(review.FLAG_REASONS):
        extra = posts.post_answer(asker, past, f"One more reply to report, number {number}.")
        review.flag(helper, extra, reason, "see above")
    posts.delete_post(mod, posts.post_answer(helper, past, "A reply the moderator deletes."))
    password_reset.issue(helper, by=mod)
    review.suspend(mod, helper, 3, "Too many removed posts")
    review.lift_suspension(mod, helper)
    review.suspend(mod, helper, None, "Still posting spam")
    db.session.execute(db.update(Flag).values(status="open"))  # open, upheld, dismissed…
    placeholder = make_user("fb.thao", display_name="Thao")
    facebook_author = FacebookAuthor(name_key="thao", name="Thao", user_id=placeholder.id)
    db.session.add(facebook_author)
    db.session.commit()
    claim_link = claims.make_link(facebook_author)
    asker.email = "lan@example.org"
    db.session.commit()
    return {"asker": asker, "helper": helper, "mod": mod, "past": past, "new": new,
            "rejected": rejected, "claim_path": claim_link.split("://", 1)[-1].split("/", 1)[1],
            "unsubscribe": mail.unsubscribe_url(asker, "digest")}  # fmt: skip


def pages(client, auth, forum):
    """(name, response) for every page and state; logs in and out as it goes."""
    past, new = forum["past"], forum["new"]
    q = f"/q/{past.id}/{past.slug}"
    yield "home", client.get("/")
    yield "tags", client.get("/tags")
    yield "tag", client.get("/tags/zalo")
    yield "users", client.get("/users")
    yield "profile", client.get("/u/lan_asks")
    yield "thread", client.get(q)
    yield "search", client.get("/search")
    yield "search-hits", client.get("/search?q=zalo login code")
    yield "search-nothing-close", client.get("/search?q=qqqq xxxx")
    yield "search-bad", client.get("/search?sort=sideways")
    yield "public-log", client.get("/moderation/log")
    yield "login", client.get("/login")
    yield "register", client.get("/register")
    yield "register-failed", client.post(
        "/register", data={"username": "Lan Nguyen", "password": "x", "password2": "y"}
    )
    yield "forgot", client.get("/forgot")
    yield "forgot-sent", client.post("/forgot", data={"username": "lan_asks"})
    token = password_reset.issue(forum["asker"])
    yield "reset", client.get(f"/reset/{token}")
    yield "reset-bad", client.get("/reset/not-a-token")
    yield "not-found", client.get("/q/999999")
    yield "verify-bad", client.get("/email/verify/not-a-token")
    yield "unsubscribed", client.post(
        "/" + forum["unsubscribe"].split("://", 1)[-1].split("/", 1)[1]
    )
    yield "unsubscribe", client.get("/" + forum["unsubscribe"].split("://", 1)[-1].split("/", 1)[1])
    auth.login(forum["asker"])
    yield "email-settings", client.get("/account/email")
    yield "claim", client.get("/" + forum["claim_path"])
    yield "answer-nudge", client.post(
        f"/q/{new.id}/answer", data={"body": "The app is so laggy, restart it #nudge"}
    )
    yield "asker-thread", client.get(f"/q/{new.id}/{new.slug}")
    yield "ask", client.get("/ask")
    yield "ask-check", client.post(
        "/ask", data={"title": "Zalo login code never arrives", "body": "Forgot password sends "
                      "nothing at all, call me 0912 345 678", "tags": "zalo"}
    )
    yield "edit", client.get(f"/p/{past.question.id}/edit")
    yield "history", client.get(f"/p/{past.question.id}/history")
    yield "notifications", client.get("/notifications")
    yield "account", client.get("/account")
    yield "password", client.get("/account/password")
    yield "token", client.post("/account/token", data={"name": "bot"})
    client.post(f"/p/{past.question.id}/save", data={"action": "save"})
    yield "saved", client.get("/saved")
    yield "own-data-export", client.post("/account/data/export")
    yield "own-data", client.get("/account/data")
    yield "answer-privacy", client.post(
        f"/q/{past.id}/answer", data={"body": "Call me on 0912 345 678 and I will show you."}
    )
    auth.logout()
    auth.login(forum["helper"])  # suspended, with a rejected post
    yield "rejected-post", client.get(f"/q/{new.id}/{new.slug}")
    yield "suspended-ask", client.get("/ask")
    yield "suspended-notifications", client.get("/notifications")
    yield "suspended-refused", client.post(
        f"/q/{new.id}/answer", data={"body": "Restart the phone, typed while suspended"}
    )
    auth.logout()
    auth.login(forum["mod"])
    yield "queue", client.get("/review")
    yield "log", client.get("/review/log")
    yield "stats", client.get("/review/stats")
    yield "mod-profile", client.get("/u/binh_helps")
    yield "reset-link", client.post(f"/review/users/{forum['asker'].id}/reset-link")
    yield "mod-history", client.get(f"/p/{past.question.id}/history")
    yield "mod-notifications", client.get("/notifications")
    yield "duplicate-form", client.get(f"/q/{new.id}/duplicate")
    client.post(f"/q/{new.id}/duplicate", data={"of": str(past.id)})
    yield "duplicate-thread", client.get(f"/q/{new.id}/{new.slug}")
    auth.logout()
    auth.login("kim_admin")
    yield "admin-suggestions", client.get("/admin/suggestions")
    yield "admin-facebook", client.get("/admin/facebook")


def render_all(app, client, auth, forum, lang):
    rendered = set()

    def remember(sender, template, context, **extra):
        rendered.add(template.name)

    client.post("/lang", data={"lang": lang})
    with template_rendered.connected_to(remember, app):
        seen = [(name, response) for name, response in pages(client, auth, forum)]
    for name, response in seen:
        assert response.status_code < 500, (name, response.status_code)
    return seen, rendered


def test_every_template_is_rendered_here(app, client, auth, forum):
    _seen, rendered = render_all(app, client, auth, forum, "vi")
    templates = {
        str(path.relative_to(ROOT / "templates"))
        for path in (ROOT / "templates").rglob("*.html")
    } - {"base.html", "macros.html"}  # extended and imported by all the others
    # Partials are included by the tag and thread pages above (an include sends no signal);
    # emails are Vietnamese by design and are read in tests/test_email.py.
    templates = {name for name in templates if not name.startswith(("partials/", "email/"))}
    assert templates - rendered == set(), "add these pages to pages() above"


def test_vietnamese_pages_show_labels_never_raw_codes(app, client, auth, forum):
    seen, _rendered = render_all(app, client, auth, forum, "vi")
    assert "Đặt câu hỏi" in visible_text(dict(seen)["home"].get_data(as_text=True))
    found = {}
    for name, response in seen:
        text = visible_text(response.get_data(as_text=True))
        codes = sorted(set(CODE_RE.findall(text)))
        if codes:
            found[name] = codes
    assert found == {}


def test_english_pages_have_no_untranslated_vietnamese(app, client, auth, forum):
    seen, _rendered = render_all(app, client, auth, forum, "en")
    assert "Ask a question" in visible_text(dict(seen)["home"].get_data(as_text=True))
    found = {}
    for name, response in seen:
        text = visible_text(response.get_data(as_text=True))
        for proper in PROPER_NAMES:
            text = text.replace(proper, " ")
        lines = sorted({line.strip() for line in text.splitlines() if VIETNAMESE.search(line)})
        if lines:
            found[name] = lines[:5]
    assert found == {}

