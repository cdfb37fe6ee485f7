"""Blueprints of the thirdparty package: the Paiements pages ("thirdparty") and its API."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from amelipro.thirdparty import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
