"""Absolute links for what leaves the site (emails, claim links printed by a command): built
from SITE_URL, since a job or a command has no request to take the host from."""

from urllib.parse import urlsplit

from flask import current_app


def site_url(endpoint, _anchor=None, **values):
    base = urlsplit(current_app.config["SITE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme or "https"
    )
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{_anchor}" if _anchor else url
