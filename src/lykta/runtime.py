"""What a running Lykta node holds: settings, database, broker, hub, password hasher."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher

from lykta.config import Settings
from lykta.conversations.riskflags import RiskWords
from lykta.db import Database
from lykta.realtime.broker import Broker, MemoryBroker
from lykta.realtime.hub import Hub
from lykta.staff.throttle import ClientThrottle


@dataclass
class Runtime:
    settings: Settings
    db: Database
    hub: Hub
    hasher: PasswordHasher
    client_throttle: ClientThrottle
    risk: RiskWords

    @classmethod
    def create(cls, settings: Settings, broker: Broker | None = None) -> Runtime:
        return cls(
            settings=settings,
            db=Database(settings),
            hub=Hub(broker or MemoryBroker(), settings.send_queue_size),
            hasher=make_hasher(settings),
            client_throttle=ClientThrottle(),
            risk=RiskWords(),
        )

    async def start(self) -> None:
        await self.hub.start()

    async def stop(self) -> None:
        await self.hub.stop()
        await self.db.dispose()


def make_hasher(settings: Settings) -> PasswordHasher:
    """argon2id with costs from settings (tests lower them; production keeps the defaults)."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=1,
    )
