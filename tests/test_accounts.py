"""Accounts: register, log in and out, stay logged in, change password, roles, API tokens."""

from werkzeug.security import check_password_hash

from forum import create_app
from forum.models import ApiToken, User
from forum.services import accounts
from tests.conftest import PASSWORD


def test_a_visitor_registers_and_is_logged_in(client):
    response = client.post(
        "/register",
        data={"username": "ba_nga", "password": "mot-hai-ba-bon", "password2": "mot-hai-ba-bon"},
    )
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "ba_nga" in page


def test_registration_reports_every_problem_at_once(client, member):
    response = client.post(
        "/register",
        data={"username": member.username, "password": "ngan", "password2": "khac", "email": "sai"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "đã có người dùng" in page
    assert "Mật khẩu phải dài" in page
    assert "không giống nhau" in page
    assert "email không hợp lệ" in page.lower()


def test_username_must_be_plain_lowercase(client):
    response = client.post(
        "/register", data={"username": "Bà Ngà", "password": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 422
    assert "chữ thường không dấu" in response.get_data(as_text=True)


def test_login_and_logout(client, auth, member):
    assert auth.login(member).status_code == 302
    assert client.get("/account").status_code == 200
    auth.logout()
    assert client.get("/account").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, auth, member):
    response = auth.login(member, "sai-mat-khau")
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)


def test_password_is_stored_with_a_modern_kdf(member):
    assert member.password_hash.startswith(("scrypt:", "pbkdf2:sha256:"))
    assert PASSWORD not in member.password_hash


def test_tests_hash_cheaply_but_production_hashes_with_scrypt(member, tmp_path):
    assert member.password_hash.startswith("pbkdf2:sha256:1$")  # TestConfig: one round
    production = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "production"),
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    assert not production.testing
    with production.app_context():
        stored = accounts.hash_password(PASSWORD)
    assert stored.startswith("scrypt:")
    assert check_password_hash(stored, PASSWORD)


def test_remember_me_cookie_keeps_member_logged_in(client, auth, member):
    auth.login(member)
    assert client.get_cookie("remember_token") is not None


def test_without_remember_me_no_lasting_cookie_is_set(client, auth, member):
    auth.login(member, remember=False)
    assert client.get_cookie("remember_token") is None


def test_changing_password_logs_out_other_sessions(app, client, auth, member):
    other_device = app.test_client()
    other_device.post("/login", data={"username": member.username, "password": PASSWORD})
    assert other_device.get("/account").status_code == 200

    auth.login(member)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "mat-khau-moi-123",
            "new_password2": "mat-khau-moi-123",
        },
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this session stays in
    assert other_device.get("/account").status_code == 302  # the other is logged out
    auth.logout()
    assert auth.login(member, "mat-khau-moi-123").status_code == 302


def test_changing_password_needs_the_current_one(client, auth, member):
    auth.login(member)
    response = client.post(
        "/account/password",
        data={
            "current_password": "sai",
            "new_password": "mat-khau-moi-123",
            "new_password2": "mat-khau-moi-123",
        },
    )
    assert response.status_code == 422
    assert "Mật khẩu hiện tại không đúng" in response.get_data(as_text=True)


def test_login_next_goes_to_local_pages_only(client, member):
    data = {"username": member.username, "password": PASSWORD}
    assert client.post("/login?next=/tags", data=data).headers["Location"] == "/tags"
    client.post("/logout")
    for evil in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ]:
        response = client.post("/login", data={**data, "next": evil})
        assert response.headers["Location"] == "/", evil
        client.post("/logout")


def test_profile_can_be_edited(client, auth, member):
    auth.login(member)
    response = client.post(
        "/account",
        data={"display_name": "Chị Hoa", "bio": "Trồng chè Tân Cương", "email": "hoa@example.vn"},
    )
    assert response.status_code == 302
    page = client.get(f"/u/{member.username}").get_data(as_text=True)
    assert "Chị Hoa" in page and "Trồng chè Tân Cương" in page


def test_cli_creates_a_moderator_and_prints_a_token(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "lan_mod",
            "--role",
            "moderator",
            "--password",
            PASSWORD,
            "--token",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created lan_mod (moderator)" in result.output
    token = result.output.split("token: ")[1].strip()
    response = app.test_client().get(
        "/api/v1/questions", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert User.query.filter_by(username="lan_mod").one().role == "moderator"


def test_cli_reports_a_bad_username(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "X Y", "--password", PASSWORD])
    assert result.exit_code != 0
    assert "Tên đăng nhập" in result.output


def test_tokens_are_stored_hashed(client, auth, member):
    auth.login(member)
    page = client.post("/account/token", data={"name": "bot"}).get_data(as_text=True)
    token = page.split('class="token">')[1].split("<")[0]
    stored = ApiToken.query.one()
    assert stored.token_hash != token and stored.token_hash == ApiToken.hash(token)
