"""Imports every model module so that ``Base.metadata`` is complete (migrations, tests)."""

import importlib

MODEL_MODULES = (
    "amelipro.auth.models",
    "amelipro.audit",
    "amelipro.reference.models",
    "amelipro.fse.models",
    "amelipro.fse.online_models",
    "amelipro.thirdparty.models",
    "amelipro.beneficiaries.models",
    "amelipro.operations.models",
    "amelipro.account.models",
    "amelipro.messaging.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
