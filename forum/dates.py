"""Dates as members read them, for text made outside templates too (a service's error message
says until when an account is suspended): the templates' `fulldate` filter is this function."""

from flask_babel import format_datetime, get_locale

DATE_FORMATS = {"vi": "HH:mm, dd/MM/yyyy", "en": "MMM d, yyyy, HH:mm"}


def full_date(dt):
    return format_datetime(dt, DATE_FORMATS.get(str(get_locale()), DATE_FORMATS["vi"]))
