"""What a running Lykta node holds: settings, database, broker, hub, password hasher,
key store, push sender, what it knows of each team."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher

from lykta.config import Settings
from lykta.conversations.riskflags import RiskWords
from lykta.crypto.keyring import Keyring
from lykta.crypto.keystore import KeyStore
from lykta.db import Database
from lykta.push.sender import Pusher
from lykta.realtime.broker import Broker, MemoryBroker
from lykta.realtime.hub import Hub
from lykta.realtime.ratelimit import RESUME_WINDOW, Limits
from lykta.staff.throttle import ClientThrottle
from lykta.teams.directory import TeamDirectory


@dataclass
class Runtime:
    settings: Settings
    db: Database
    hub: Hub
    hasher: PasswordHasher
    client_throttle: ClientThrottle
    risk: RiskWords
    limits: Limits
    resume_failures: ClientThrottle
    keys: KeyStore
    push: Pusher
    teams: TeamDirectory

    @classmethod
    def create(cls, settings: Settings, broker: Broker | None = None) -> Runtime:
        limits = Limits(settings.rate_limit_scale)
        db = Database(settings)
        keys = KeyStore(settings, db)
        return cls(
            settings=settings,
            db=db,
            hub=Hub(
                broker or make_broker(settings, lambda: keys.keyring), settings.send_queue_size
            ),
            hasher=make_hasher(settings),
            client_throttle=ClientThrottle(),
            risk=RiskWords(),
            limits=limits,
            resume_failures=ClientThrottle(limit=limits.resume_failures, window=RESUME_WINDOW),
            keys=keys,
            push=Pusher(settings, db, keys),
            teams=TeamDirectory(db),
        )

    async def start(self) -> None:
        await self.keys.open()
        await self.hub.start()
        await self.push.start(self.hub)

    async def stop(self) -> None:
        await self.push.stop()
        await self.hub.stop()
        await self.keys.close()
        await self.db.dispose()


def make_broker(settings: Settings, keyring: Callable[[], Keyring]) -> Broker:
    """Redis when ``LYKTA_REDIS_URL`` is set (several nodes), else in-process. Frames
    between nodes are sealed with keys derived from the master keys (``keyring``)."""
    if not settings.redis_url:
        return MemoryBroker()
    from lykta.realtime.redis_broker import RedisBroker

    return RedisBroker(settings.redis_url, key_prefix=settings.redis_prefix, keyring=keyring)


def make_hasher(settings: Settings) -> PasswordHasher:
    """argon2id with costs from settings (tests lower them; production keeps the defaults)."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=1,
    )
