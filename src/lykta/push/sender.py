"""Sending pushes in the background, never on the message path.

After a commit the service hands a ``Notice`` to ``Pusher.enqueue``, which only puts it on
a bounded in-process queue (a full queue drops the notice and logs it: a message is never
held up by a push). One task per node drains the queue: it finds the devices to tell,
encrypts a payload for each (RFC 8291, ``aes128gcm``), signs a VAPID token with the
team's key (RFC 8292) and POSTs it with pywebpush's asynchronous sender, several at a
time, each with a time limit. The node that committed the event is the only one that
sends it, so several nodes never send one notice twice.

A push service that answers 404 or 410 has forgotten the device: its subscription is
deleted. Any other failure is logged with the push service's origin and the status, never
with the rest of the endpoint, the device's keys or anything about a conversation.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Final

import aiohttp
from pywebpush import WebPushException, webpush_async
from sqlalchemy import delete

from lykta.config import Settings
from lykta.crypto.keystore import KeyStore
from lykta.db import Database
from lykta.push import notices
from lykta.push.endpoints import guarded_socket, origin_of
from lykta.push.keys import TeamKey, VapidKeys
from lykta.push.models import PushSubscription
from lykta.push.notices import Notice, Target
from lykta.push.visible import VisibleApps

if TYPE_CHECKING:
    from lykta.realtime.hub import Hub

log = logging.getLogger(__name__)

PARALLEL: Final = 16
"""Requests to push services in flight at once, per node."""
GONE: Final = frozenset({404, 410})
FALLBACK_SUBJECT: Final = "mailto:push@localhost"
"""Used only when neither ``LYKTA_PUSH_SUBJECT`` nor an https origin is known."""
_HTTPS_ORIGIN = re.compile(r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class Pusher:
    def __init__(self, settings: Settings, db: Database, store: KeyStore) -> None:
        self.settings = settings
        self.db = db
        self.keys = VapidKeys(db, store)
        self.visible = VisibleApps()
        self.dropped = 0
        self._queue: asyncio.Queue[Notice] | None = None
        self._pending: set[Notice] = set()
        """Notices queued and not yet taken: the same one again (a burst of messages in
        one conversation) is not queued twice, since the device would show one anyway."""
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._parallel: asyncio.Semaphore | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.push

    async def start(self, hub: Hub | None = None) -> None:
        """Start sending; with ``hub``, also learn which workers have the app in front on
        the other nodes (``visible.py``)."""
        if not self.enabled or self._task is not None:
            return
        if hub is not None:
            await self.visible.start(hub)
        self._queue = asyncio.Queue(maxsize=self.settings.push_queue_size)
        self._parallel = asyncio.Semaphore(PARALLEL)
        allow_loopback = self.settings.push_allow_insecure_localhost
        connector = aiohttp.TCPConnector(
            limit=PARALLEL, socket_factory=guarded_socket(allow_loopback=allow_loopback)
        )
        self._http = aiohttp.ClientSession(connector=connector, trust_env=False)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop sending (what is still queued is dropped) and close the connections."""
        await self.visible.stop()
        task, self._task, self._queue = self._task, None, None
        self._pending.clear()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    def enqueue(self, notice: Notice) -> None:
        """Never waits: the notice is queued, or dropped if the queue is full."""
        if self._queue is None or notice in self._pending:
            return
        try:
            self._queue.put_nowait(notice)
            self._pending.add(notice)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("push: the queue is full; a %s notice was dropped", notice.kind.value)

    async def idle(self) -> None:
        """Until everything queued so far has been sent (for tests and shutdown)."""
        if self._queue is not None:
            await self._queue.join()

    async def _run(self) -> None:
        queue = self._queue
        assert queue is not None  # noqa: S101 - set by start()
        while True:
            notice = await queue.get()
            self._pending.discard(notice)
            try:
                await self.deliver(notice)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("push: a %s notice failed (%s)", notice.kind.value, type(exc).__name__)
            finally:
                queue.task_done()

    async def deliver(self, notice: Notice) -> None:
        team_name, found = await notices.targets(
            self.db, notice, in_front=self.visible.__contains__
        )
        if not found:
            return
        key = await self.keys.get(notice.team_id)
        await asyncio.gather(*(self._send(key, notice, team_name, target) for target in found))

    def subject(self, target: Target) -> str:
        if self.settings.push_subject:
            return self.settings.push_subject
        if target.origin and _HTTPS_ORIGIN.match(target.origin):
            return target.origin
        return FALLBACK_SUBJECT

    async def _send(self, key: TeamKey, notice: Notice, team_name: str, target: Target) -> None:
        data = notices.payload(notice.kind, team_name, notice.conversation_id, target.locale)
        where = origin_of(target.endpoint)
        timeout = self.settings.push_timeout_seconds
        parallel = self._parallel or asyncio.Semaphore(1)
        try:
            async with parallel, asyncio.timeout(timeout + 1):
                await webpush_async(
                    subscription_info={
                        "endpoint": target.endpoint,
                        "keys": {"p256dh": target.p256dh, "auth": target.auth},
                    },
                    data=data,
                    vapid_private_key=key.signer,
                    vapid_claims={"sub": self.subject(target)},
                    content_encoding="aes128gcm",
                    timeout=timeout,
                    ttl=notices.TTL[notice.kind],
                    headers={"Urgency": notices.URGENCY},
                    aiohttp_session=self._http,
                )
        except WebPushException as exc:
            status = exc.status_code
            if status in GONE:
                await self.forget(target)
                log.info("push: %s no longer knows a device (%s); forgotten", where, status)
            else:
                log.warning("push: %s answered %s", where, status)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("push: could not reach %s (%s)", where, type(exc).__name__)
        except Exception as exc:  # e.g. a subject the VAPID library refuses
            log.error("push: sending to %s failed (%s)", where, type(exc).__name__)

    async def forget(self, target: Target) -> None:
        """Delete a subscription the push service no longer knows."""
        async with self.db.write() as session:
            await session.execute(
                delete(PushSubscription).where(
                    PushSubscription.id == target.subscription_id,
                    PushSubscription.endpoint == target.endpoint,
                )
            )
