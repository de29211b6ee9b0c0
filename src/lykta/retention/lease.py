"""A lease on a named job in the database: one node at a time, on SQLite or PostgreSQL.

A holder that dies leaves the lease to expire; a live holder renews it between batches.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError

from lykta.db import Database, utcnow
from lykta.retention.models import JobLease


def holder_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def acquire(db: Database, name: str, holder: str, seconds: float) -> bool:
    """Take (or renew) the lease; ``False`` while another holder's lease runs."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=seconds)
    try:
        async with db.write() as session:
            result = await session.execute(
                update(JobLease)
                .where(
                    JobLease.name == name,
                    or_(JobLease.expires_at < now, JobLease.holder == holder),
                )
                .values(holder=holder, expires_at=expires)
            )
            if getattr(result, "rowcount", 0) == 1:
                return True
            if await session.get(JobLease, name) is not None:
                return False
            session.add(JobLease(name=name, holder=holder, expires_at=expires))
    except IntegrityError:  # another node inserted it first
        return False
    return True


async def release(db: Database, name: str, holder: str) -> None:
    async with db.write() as session:
        await session.execute(
            delete(JobLease).where(JobLease.name == name, JobLease.holder == holder)
        )
