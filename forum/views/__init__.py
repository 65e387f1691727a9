"""Thin blueprints: read the request, call a service, render or redirect."""
