"""Push tests: a runtime that may send to the local push service on this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from lykta.config import Settings
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser
from lykta.staff.service import StaffIdentity, do_create_session, resolve_session
from tests.support.server import settings_for


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data").model_copy(
        update={"push_allow_insecure_localhost": True, "push_timeout_seconds": 2.0}
    )


async def identity(rt: Runtime, user_id: int) -> StaffIdentity:
    """A complete session for the worker, as logging in makes one."""
    async with rt.db.read() as session:
        user = await session.get(StaffUser, user_id)
    assert user is not None
    caller = await resolve_session(rt, await do_create_session(rt, user))
    assert caller is not None
    return caller
