"""The re-authentication window (pure: the store is any mapping)."""

from datetime import timedelta
from types import SimpleNamespace

from amelipro.auth import reauth
from amelipro.db import utcnow


def _pro(id_: int):
    return SimpleNamespace(id=id_)


def test_recent_confirmation_of_the_same_person_only():
    store = {reauth.STORE_KEY: {"at": utcnow().isoformat(), "who": 7}}
    assert reauth.recently_confirmed(store, _pro(7), 5)
    assert not reauth.recently_confirmed(store, _pro(8), 5)  # another account in the same browser
    assert not reauth.recently_confirmed(store, _pro(7), 0)


def test_old_absent_or_forged_confirmations_do_not_count():
    old = {reauth.STORE_KEY: {"at": (utcnow() - timedelta(minutes=6)).isoformat(), "who": 7}}
    assert not reauth.recently_confirmed(old, _pro(7), 5)
    assert not reauth.recently_confirmed({}, _pro(7), 5)
    assert not reauth.recently_confirmed({reauth.STORE_KEY: "yes"}, _pro(7), 5)
    assert not reauth.recently_confirmed({reauth.STORE_KEY: {"at": "hier", "who": 7}}, _pro(7), 5)
    future = {reauth.STORE_KEY: {"at": (utcnow() + timedelta(hours=1)).isoformat(), "who": 7}}
    assert not reauth.recently_confirmed(future, _pro(7), 5)
    store = {reauth.STORE_KEY: {"at": utcnow().isoformat(), "who": 7}}
    reauth.forget(store)
    assert store == {}
