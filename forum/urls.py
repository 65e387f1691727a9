"""Absolute links for what leaves the site (emails, claim links printed by a command): built
from SITE_URL, since a job or a command has no request to take the host from."""

from urllib.parse import urlsplit

from flask import current_app, url_for


def site_url(endpoint, _anchor=None, **values):
    base = urlsplit(current_app.config["SITE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme or "https"
    )
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{_anchor}" if _anchor else url


def reset_password_url(token):
    """The one-time link that lets a member set a new password, on the host of the current
    request (the moderator's page, or the command's --base-url)."""
    return url_for("auth.reset_password", token=token, _external=True)
