"""Settings, read from ``LYKTA_*`` environment variables.

Secrets are held as ``SecretStr`` so that they never print in a repr or a log line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_MESSAGE_LENGTH = 4000
"""Longest message a person can send, in characters. Shown in the UI."""


class Settings(BaseSettings):
    """Everything an operator can configure. See README.md for the list."""

    model_config = SettingsConfigDict(env_prefix="LYKTA_", extra="ignore")

    data_dir: Path = Field(default=Path("lykta-data"))
    database_url: str | None = None
    """SQLAlchemy URL. Default: SQLite file ``lykta.db`` inside ``data_dir``."""
    redis_url: str | None = None
    """Reserved for the Redis broker (multi-node); the in-process broker is used when unset."""

    default_locale: Literal["sv", "en"] = "sv"
    allowed_origins: list[str] = Field(default_factory=list)
    """Extra origins allowed to open WebSockets (besides the server's own host)."""

    sqlite_synchronous: Literal["full", "normal"] = "full"
    """``full`` survives power loss after an ack; ``normal`` survives a process crash only."""

    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_cost: int = Field(default=65536, ge=8, le=4_194_304)
    """KiB. Tests lower both to stay fast; production keeps the defaults."""

    throttle_delay_scale: float = Field(default=1.0, ge=0, le=10)
    """Scales the growing delay after failed logins; tests set 0 to stay fast."""

    session_check_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How often a worker's live socket re-checks that its session has not timed out."""

    rate_limit_scale: float = Field(default=1.0, ge=0.01, le=1000)
    """Multiplies every socket and client limit (rates and bursts); 1 in production."""

    send_queue_size: int = Field(default=256, ge=8, le=100_000)
    """Frames buffered per socket; a socket that falls further behind is disconnected."""

    staff_cookie_secure: bool = False
    """Set when served over HTTPS so the staff session cookie is marked Secure."""

    quick_exit_url: str = "https://www.smhi.se/"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'lykta.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")
