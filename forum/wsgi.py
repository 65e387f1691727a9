"""The WSGI entry point for gunicorn: `gunicorn forum.wsgi:app`."""

from forum import create_app

app = create_app()
