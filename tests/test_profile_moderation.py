"""Moderators suspend and lift a member from the member's profile, not only from a queue case."""

from forum.extensions import db
from forum.models import ModerationEvent, User


def test_a_moderator_suspends_and_lifts_from_the_profile(client, auth, member, moderator):
    auth.login(moderator)
    profile = client.get(f"/u/{member.username}").get_data(as_text=True)
    assert f'action="/review/users/{member.id}/suspend"' in profile
    back = f"/u/{member.username}"
    response = client.post(
        f"/review/users/{member.id}/suspend",
        data={"days": "7", "reason": "Quảng cáo nhiều lần", "back": back},
    )
    assert response.headers["Location"] == back
    assert db.session.get(User, member.id).is_suspended
    profile = client.get(back).get_data(as_text=True)
    assert "Đang bị tạm khóa đến" in profile and 'value="lift"' in profile
    client.post(f"/review/users/{member.id}/suspend", data={"days": "lift", "back": back})
    assert not db.session.get(User, member.id).is_suspended
    actions = [e.action for e in ModerationEvent.query.order_by(ModerationEvent.id)]
    assert actions == ["suspend", "unsuspend"]


def test_moderators_see_no_suspend_button_on_moderators_or_themselves(
    client, auth, moderator, make_user
):
    other = make_user("dieu_hanh_hai", role="moderator")
    auth.login(moderator)
    for name in (other.username, moderator.username):
        page = client.get(f"/u/{name}").get_data(as_text=True)
        assert "/suspend" not in page


def test_members_see_no_moderator_tools(client, auth, member, other_member):
    auth.login(other_member)
    assert "mod-tools" not in client.get(f"/u/{member.username}").get_data(as_text=True)


def test_the_way_back_after_a_suspension_stays_on_this_site(client, auth, member, moderator):
    auth.login(moderator)
    response = client.post(
        f"/review/users/{member.id}/suspend",
        data={"days": "1", "reason": "Thử", "back": "https://evil.example/phish"},
    )
    assert response.headers["Location"] == "/review"
