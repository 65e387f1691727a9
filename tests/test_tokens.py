"""API tokens: a new password ends them all, the account page lists and revokes them, and a
member has a bounded number of them."""

import re

from forum.extensions import db
from forum.models import ApiToken
from forum.services import accounts, password_reset
from tests.conftest import PASSWORD

NEW_PASSWORD = "mat-khau-moi-2026"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def works(client, token):
    return client.get("/api/v1/questions", headers=bearer(token)).status_code == 200


def test_a_password_change_revokes_every_token(client, auth, member, other_member):
    tokens = [accounts.create_api_token(member, name) for name in ("bot", "app")]
    others = accounts.create_api_token(other_member, "bot")
    assert all(works(client, token) for token in tokens)
    auth.login(member)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    for token in tokens:
        response = client.get("/api/v1/questions", headers=bearer(token))
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
        posted = client.post(
            "/api/v1/questions",
            json={"title": "Vẫn đăng được bằng mã cũ?", "body": "Không được nữa.", "tags": ["x"]},
            headers=bearer(token),
        )
        assert posted.status_code == 401
    rows = db.session.scalars(db.select(ApiToken).filter_by(user_id=member.id)).all()
    assert all(row.revoked_at is not None for row in rows)
    assert works(client, others)  # another member's token is theirs alone


def test_a_wrong_current_password_revokes_nothing(client, auth, member):
    token = accounts.create_api_token(member, "bot")
    auth.login(member)
    response = client.post(
        "/account/password",
        data={"current_password": "sai", "new_password": NEW_PASSWORD,
              "new_password2": NEW_PASSWORD},
    )  # fmt: skip
    assert response.status_code == 422
    assert works(client, token)


def test_a_reset_link_revokes_every_token(client, member, moderator):
    token = accounts.create_api_token(member, "bot")
    reset = password_reset.issue(member, by=moderator)
    response = client.post(
        f"/reset/{reset}", data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert not works(client, token)


def test_the_account_page_lists_tokens_and_revokes_one(client, auth, member, other_member):
    bot = accounts.create_api_token(member, "bot Zalo")
    app_token = accounts.create_api_token(member, "ứng dụng")
    assert works(client, bot)  # now it has been used
    auth.login(member)
    page = client.get("/account").get_data(as_text=True)
    assert "bot Zalo" in page and "ứng dụng" in page
    assert "chưa dùng" in page  # the app's token, never used
    assert bot not in page and app_token not in page  # a token is shown once, when made
    (bot_row,) = db.session.scalars(db.select(ApiToken).filter_by(name="bot Zalo")).all()
    assert bot_row.last_used_at is not None
    response = client.post(f"/account/tokens/{bot_row.id}/revoke")
    assert response.status_code == 302
    assert "Đã thu hồi" in client.get("/account").get_data(as_text=True)
    assert not works(client, bot) and works(client, app_token)
    page = client.get("/account").get_data(as_text=True)
    assert "bot Zalo" not in page and "ứng dụng" in page


def test_nobody_revokes_another_members_token(client, auth, member, other_member):
    token = accounts.create_api_token(other_member, "bot")
    row = db.session.scalar(db.select(ApiToken).filter_by(user_id=other_member.id))
    auth.login(member)
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 404
    assert works(client, token)


def test_a_member_has_at_most_ten_live_tokens(client, auth, member):
    auth.login(member)
    for number in range(accounts.MAX_LIVE_TOKENS):
        page = client.post("/account/token", data={"name": f"bot {number}"})
        assert page.status_code == 200 and re.search(r"xt_[\w-]{20,}", page.get_data(as_text=True))
    refused = client.post("/account/token", data={"name": "one more"}, follow_redirects=True)
    assert "hãy thu hồi một mã cũ" in refused.get_data(as_text=True)
    assert len(accounts.live_api_tokens(member)) == accounts.MAX_LIVE_TOKENS
    oldest = accounts.live_api_tokens(member)[-1]
    client.post(f"/account/tokens/{oldest.id}/revoke")
    assert client.post("/account/token", data={"name": "one more"}).status_code == 200
