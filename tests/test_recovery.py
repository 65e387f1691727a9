"""Getting into an account: a username made from a Vietnamese name, sign-up forms that keep
what was typed, and forgotten passwords reset by a one-time link from a moderator."""

from datetime import timedelta

import pytest
from conftest import PASSWORD

from forum.extensions import db
from forum.models import ModerationEvent, Notification, PasswordReset, utcnow
from forum.services import accounts, password_reset
from forum.services.errors import PermissionDenied, ValidationError


def test_a_vietnamese_name_becomes_a_free_username(app, make_user):
    assert accounts.suggest_username("Bà Nga Đồng Hỷ") == "ba_nga_dong_hy"
    make_user("ba_nga_dong_hy")
    assert accounts.suggest_username("Bà Nga Đồng Hỷ") == "ba_nga_dong_hy_2"
    make_user("ba_nga_dong_hy_2")
    assert accounts.suggest_username("  Bà   Nga  Đồng Hỷ! ") == "ba_nga_dong_hy_3"
    assert accounts.suggest_username("Nguyễn Thị Thanh Hương ở xóm Đồng Bẩm") == (
        "nguyen_thi_thanh_huong_o_xom"
    )
    assert accounts.suggest_username("!!") is None


def test_a_name_typed_as_username_comes_back_as_a_suggestion_and_a_display_name(client):
    response = client.post(
        "/register",
        data={"username": "Bà Nga Đồng Hỷ", "email": "nga@example.vn", "password": PASSWORD,
              "password2": PASSWORD},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="ba_nga_dong_hy"' in page  # ready to use
    assert 'value="Bà Nga Đồng Hỷ"' in page  # kept, as the display name
    assert 'value="nga@example.vn"' in page
    assert "Chúng tôi gợi ý “ba_nga_dong_hy”" in page
    assert PASSWORD not in page  # passwords are never sent back


def test_a_taken_username_gets_a_free_one_suggested(client, make_user):
    make_user("hoa_tancuong")
    page = client.post(
        "/register", data={"username": "hoa_tancuong", "password": PASSWORD, "password2": PASSWORD}
    ).get_data(as_text=True)
    assert 'value="hoa_tancuong_2"' in page


def test_the_sign_up_form_asks_for_a_username_as_the_name_is_typed(client, make_user):
    make_user("co_giao_mai")
    assert client.get("/register/username?name=Cô giáo Mai").get_json() == {
        "username": "co_giao_mai_2"
    }


def test_a_moderator_makes_a_one_time_reset_link_from_the_profile(client, auth, member, moderator):
    auth.login(moderator)
    page = client.post(f"/review/users/{member.id}/reset-link").get_data(as_text=True)
    link = page.split('id="reset-url">')[1].split("<")[0]
    path = link.split("localhost", 1)[1]
    assert ModerationEvent.query.filter_by(action="reset_link", subject_id=member.id).count() == 1
    auth.logout()
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": "mat-khau-moi", "password2": "mat-khau-moi"})
    assert response.status_code == 302  # logged in, to the home page
    assert "hoa_thanh_vien" in client.get("/").get_data(as_text=True)
    auth.logout()
    assert auth.login(member).status_code == 401  # the old password no longer works
    assert auth.login(member, "mat-khau-moi").status_code == 302
    assert client.get(path).status_code == 404  # once only


def test_a_reset_link_ends_every_session_and_expires(app, member):
    before = member.session_version
    token = password_reset.issue(member)
    password_reset.use(token, "mat-khau-moi", "mat-khau-moi")
    assert member.session_version == before + 1
    stale = password_reset.issue(member)
    reset = db.session.scalar(db.select(PasswordReset).filter_by(used_at=None))
    reset.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert password_reset.valid_reset(stale) is None


def test_a_new_link_cancels_the_old_one(app, member):
    old = password_reset.issue(member)
    new = password_reset.issue(member)
    assert password_reset.valid_reset(old) is None
    assert password_reset.valid_reset(new).user_id == member.id


def test_reset_passwords_are_checked_like_any_password(client, member):
    token = password_reset.issue(member)
    page = client.post(f"/reset/{token}", data={"password": "ngan", "password2": "khac"})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "Mật khẩu phải dài từ 8" in text and "Hai lần nhập mật khẩu không giống nhau" in text
    assert password_reset.valid_reset(token) is not None  # not used up by a failed try


def test_only_moderators_make_links_and_only_admins_for_moderators(
    app, member, moderator, make_user
):
    with pytest.raises(PermissionDenied):
        password_reset.issue(moderator, by=member)
    other_moderator = make_user("dieu_hanh_hai", role="moderator")
    with pytest.raises(PermissionDenied):
        password_reset.issue(other_moderator, by=moderator)
    admin = make_user("quan_tri", role="admin")
    assert password_reset.issue(other_moderator, by=admin)


def test_forgot_password_asks_every_moderator_and_tells_no_one_which_names_exist(
    client, member, moderator
):
    page = client.post("/forgot", data={"username": member.username, "contact": "Zalo nhóm"})
    assert "Đã gửi yêu cầu tới điều hành viên" in page.get_data(as_text=True)
    note = Notification.query.filter_by(user_id=moderator.id, kind="reset_request").one()
    assert note.data == {"username": member.username, "contact": "Zalo nhóm"}
    unknown = client.post("/forgot", data={"username": "khong_co_ai"}).get_data(as_text=True)
    assert "Đã gửi yêu cầu tới điều hành viên" in unknown
    assert Notification.query.count() == 1
    assert "Quên mật khẩu?" in client.get("/login").get_data(as_text=True)


def test_the_reset_request_opens_the_members_profile_with_the_button(
    client, auth, member, moderator
):
    client.post("/forgot", data={"username": member.username})
    auth.login(moderator)
    note = Notification.query.filter_by(user_id=moderator.id).one()
    response = client.post(f"/notifications/{note.id}")
    assert response.headers["Location"].endswith(f"/u/{member.username}")
    profile = client.get(f"/u/{member.username}").get_data(as_text=True)
    assert f"/review/users/{member.id}/reset-link" in profile


def test_the_cli_prints_a_reset_link(app, member):
    result = app.test_cli_runner().invoke(
        args=["users", "reset-link", member.username, "--base-url", "https://hoidap.example.vn"]
    )
    link = result.output.splitlines()[0]
    assert link.startswith("https://hoidap.example.vn/reset/")
    assert password_reset.valid_reset(link.rsplit("/", 1)[1]).user_id == member.id
    assert "works once, for 3 days" in result.output


def test_a_bad_or_used_token_is_a_clear_page_not_an_error(client, member):
    page = client.get("/reset/khong-phai-ma")
    assert page.status_code == 404 and "Xin liên kết mới" in page.get_data(as_text=True)
    with pytest.raises(ValidationError):
        password_reset.use("khong-phai-ma", "mat-khau-moi", "mat-khau-moi")
