"""Blueprints of the fse package: the Facturation pages ("fse") and the FSE API ("fse_api")."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from amelipro.fse import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
