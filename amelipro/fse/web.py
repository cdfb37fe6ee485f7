"""Blueprints of the fse package: the Facturation pages ("fse") and the FSE API ("fse_api")."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from amelipro.fse import api, demo, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    demo.register(app)  # `amelipro demo lot`
