"""Settings, read from ``LYKTA_*`` environment variables.

Secrets are held as ``SecretStr`` so that they never print in a repr or a log line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
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
    """``redis://`` or ``rediss://`` URL of the Redis that carries events between nodes.
    Unset: the in-process broker (one node)."""
    redis_prefix: str = Field(default="lykta:", min_length=1, max_length=64)
    """Starts every channel name, so that installations can share one Redis."""

    master_key: SecretStr | None = None
    """Master keys, base64url, comma-separated, current first. Default: the key file."""
    master_key_file: Path | None = None
    """Default ``master.key`` in ``data_dir``; written (mode 0600) on a new installation."""
    keystore_url: str | None = None
    """Where the data keys live. Default: ``keys.db`` in ``data_dir`` on SQLite, the main
    database on PostgreSQL (set a separate database there so that shredding reaches backups
    of the content)."""
    purge_interval_seconds: float = Field(default=3600.0, ge=0, le=86400)
    """How often a node runs the retention purge; 0 leaves it to ``lykta purge``."""

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
    """Frames held per socket while it is not reading (its connection's buffer is full); a
    socket that falls further behind is disconnected (1013)."""

    ws_ping_interval: float = Field(default=20.0, gt=0, le=3600)
    """Seconds between the server's WebSocket pings (browsers answer them by themselves)."""
    ws_ping_timeout: float = Field(default=20.0, gt=0, le=3600)
    """A peer that has not answered a ping within this many seconds is disconnected."""
    ws_hello_timeout: float = Field(default=10.0, gt=0, le=3600)
    """A young person's socket must start or resume a conversation within this time."""
    ws_idle_timeout: float = Field(default=300.0, gt=0, le=86_400)
    """A socket that sends no frame for this long is closed (the pages ping every 25 s)."""

    staff_cookie_secure: bool = False
    """Set when served over HTTPS so the staff session cookie is marked Secure."""

    quick_exit_url: str = "https://www.smhi.se/"

    push: bool = True
    """Web Push notifications to workers' devices (``LYKTA_PUSH=off`` switches them off)."""
    push_subject: str | None = None
    """The contact the push services see in every request (``mailto:`` or ``https://``).
    Unset: the https origin the worker's app was opened from (some services, Apple's among
    them, refuse a placeholder address)."""
    push_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long one request to a push service may take."""
    push_queue_size: int = Field(default=1000, ge=1, le=100_000)
    """Notifications waiting to be sent on a node; more are dropped (and logged)."""
    push_allow_insecure_localhost: bool = False
    """Tests only: also send to ``http://`` push services on this machine's loopback."""

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("push_subject")
    @classmethod
    def _push_subject(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("mailto:", "https://")):
            raise ValueError("must start with mailto: or https://")
        return value

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
    def effective_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def effective_keystore_url(self) -> str:
        if self.keystore_url:
            return self.keystore_url
        if self.is_sqlite:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'keys.db').resolve()}"
        return self.effective_database_url

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")
