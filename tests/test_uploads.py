"""Screenshots: checked by content, size-limited, re-encoded without EXIF/GPS, resized."""

import io
import struct
import zlib

import pytest
from PIL import Image

from forum.models import Attachment
from forum.services import uploads


def image_bytes(fmt="PNG", size=(2400, 1200), exif=None):
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (40, 120, 60))
    if exif is not None:
        image.save(buffer, fmt, exif=exif)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def gps_exif():
    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"  # camera make
    exif[0x8825] = {1: "N", 2: (21.0, 35.0, 30.0)}  # GPS latitude near Thái Nguyên
    return exif


def ask_with(client, *files):
    data = {
        "title": "Ảnh chụp màn hình lỗi khi cài ChatGPT",
        "body": "Em cài ứng dụng thì báo lỗi như ảnh, làm sao sửa ạ?",
        "tags": "chatgpt",
        "images": [(io.BytesIO(content), name) for name, content in files],
    }
    return client.post("/ask", data=data, content_type="multipart/form-data")


def test_a_screenshot_is_reencoded_resized_and_shown(app, client, auth, member):
    auth.login(member)
    response = ask_with(client, ("loi.jpg", image_bytes("JPEG", exif=gps_exif())))
    assert response.status_code == 302
    attachment = Attachment.query.one()
    assert max(attachment.width, attachment.height) == app.config["IMAGE_MAX_SIDE"]
    with Image.open(uploads.image_path(attachment.token)) as stored:
        assert stored.format == "WEBP"
        assert not stored.getexif()  # no camera make, no GPS
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/media/{attachment.token}_t.webp" in page
    with client.get(f"/media/{attachment.token}_t.webp") as thumb:
        assert thumb.status_code == 200 and thumb.mimetype == "image/webp"
        with Image.open(io.BytesIO(thumb.data)) as small:
            assert max(small.size) == app.config["IMAGE_THUMB_SIDE"]


def test_a_file_that_is_not_an_image_gets_a_clear_message_and_the_text_is_kept(
    client, auth, member
):
    auth.login(member)
    response = ask_with(client, ("anh.png", b"MZ\x90\x00 this is an exe, not a png"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "không phải ảnh hợp lệ" in page
    assert "Ảnh chụp màn hình lỗi khi cài ChatGPT" in page


def test_a_truncated_image_is_refused(client, auth, member):
    auth.login(member)
    response = ask_with(client, ("cut.png", image_bytes()[:400]))
    assert response.status_code == 422


def test_an_image_over_the_size_limit_is_refused(app, client, auth, member):
    app.config["MAX_IMAGE_BYTES"] = 10_000
    auth.login(member)
    response = ask_with(client, ("to.png", image_bytes("BMP", size=(400, 400))))
    assert response.status_code == 422
    assert "lớn quá" in response.get_data(as_text=True)


def test_too_many_pixels_is_refused_without_decoding(app, client, auth, member):
    app.config["MAX_IMAGE_PIXELS"] = 1000
    auth.login(member)
    assert ask_with(client, ("big.png", image_bytes(size=(100, 100)))).status_code == 422


def test_images_can_be_attached_to_answers(client, auth, thread, other_member):
    auth.login(other_member)
    response = client.post(
        f"/q/{thread.id}/answer",
        data={
            "body": "Bạn làm theo ảnh này nhé.",
            "images": [(io.BytesIO(image_bytes()), "huong-dan.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert Attachment.query.one().post.post_type == "answer"


@pytest.mark.parametrize("token", ["../../secret_key", "abc", "a" * 24 + "_t"])
def test_media_route_serves_only_stored_images(client, token):
    assert client.get(f"/media/{token}.webp").status_code == 404


def png_claiming(width, height):
    """A PNG of about 150 bytes whose header claims width x height pixels: a decompression bomb."""

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 4, 9)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def test_a_decompression_bomb_is_refused_by_its_header_before_any_decoding(
    app, client, auth, member, monkeypatch
):
    decoded = []
    monkeypatch.setattr(uploads, "_decode", lambda *args: decoded.append(args))
    auth.login(member)
    response = ask_with(client, *[("bom.png", png_claiming(6000, 6000))] * 6)
    assert response.status_code == 422
    assert "quá nhiều điểm ảnh" in response.get_data(as_text=True)
    assert decoded == []  # refused on the declared size alone
    assert app.config["MAX_IMAGE_PIXELS"] == Image.MAX_IMAGE_PIXELS  # Pillow's own limit too


def test_a_large_photo_is_stored_upright_at_the_forums_size(app, client, auth, member):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the phone was held upright, the pixels lie on their side
    auth.login(member)
    response = ask_with(client, ("anh.jpg", image_bytes("JPEG", size=(4000, 3000), exif=exif)))
    assert response.status_code == 302
    attachment = Attachment.query.one()
    assert (attachment.width, attachment.height) == (1200, 1600)  # turned, and fitted
