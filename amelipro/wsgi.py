"""WSGI entry point for gunicorn: ``gunicorn amelipro.wsgi:app``."""

from amelipro import create_app

app = create_app()
