"""Staff passwords are stored as argon2id with strong parameters, and authentication is as
slow for an unknown user as for a wrong password."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY


def test_production_hasher_is_argon2id_with_the_recommended_profile(monkeypatch):
    # Without reloading the module: a reload makes new exception classes that code imported
    # earlier no longer catches, which failed other tests depending on their order.
    from kiosk.services import staff

    production = staff.production_password_hasher()
    monkeypatch.setattr(staff, "password_hasher", production)
    assert isinstance(production, PasswordHasher)
    digest = staff.hash_password("correct horse battery")
    assert digest.startswith("$argon2id$")
    assert production.time_cost >= RFC_9106_LOW_MEMORY.time_cost
    assert production.memory_cost >= RFC_9106_LOW_MEMORY.memory_cost


def test_unknown_user_costs_a_hash_verification(session, make_staff, monkeypatch):
    from kiosk.services import staff

    calls = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
            calls.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(
        staff, "password_hasher", CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    make_staff(username="known")
    assert staff.authenticate(session, "nobody", "whatever pw") is None
    assert staff.authenticate(session, "known", "wrong password") is None
    assert len(calls) == 2  # both paths verify a real argon2 hash
