"""CI's second run needs PostgreSQL and Redis: fail with the reason if either is away."""

from __future__ import annotations

import asyncio
import os
import sys


async def main() -> None:
    import asyncpg
    import redis.asyncio as redis

    database = os.environ["LYKTA_TEST_DATABASE_URL"].replace("+asyncpg", "")
    try:
        connection = await asyncio.wait_for(asyncpg.connect(database), 5)
        await connection.close()
    except Exception as exc:
        sys.exit(f"CI: PostgreSQL at {database} is unreachable: {exc}")
    client = redis.Redis.from_url(os.environ["LYKTA_TEST_REDIS_URL"], socket_connect_timeout=5)
    try:
        await client.ping()
    except Exception as exc:
        sys.exit(f"CI: Redis at {os.environ['LYKTA_TEST_REDIS_URL']} is unreachable: {exc}")
    finally:
        await client.aclose()
    print("PostgreSQL and Redis are up")


asyncio.run(main())
