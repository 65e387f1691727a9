"""Helpers of bench/seed_large.py and bench/load.py: synthetic text, the gunicorn app, HTTP."""
