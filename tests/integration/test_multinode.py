"""Several nodes: real ``lykta serve`` processes sharing one PostgreSQL database and one
Redis. A young person on one node and a worker on another talk live; the queue,
presence, typing and read state agree across nodes; a node killed with SIGKILL loses
nothing its clients had acknowledged; a Redis restart mid-conversation is caught up from
the database within seconds, without restarting Lykta; and the purge runs on one node at
a time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lykta.config import Settings
from lykta.conversations import service
from lykta.runtime import Runtime
from lykta.teams.models import Team
from tests.integration.push_helpers import (
    flush,
    on_duty,
    says,
    subscribe,
    worker_socket,
    youth,
)
from tests.integration.staff_helpers import db_query, db_update
from tests.support.client import Peer
from tests.support.delivery import burst_then_kill, check, pair, read_while_possible, settle
from tests.support.pushservice import PushService
from tests.support.server import Seed, ServerProcess, login_token, seed, settings_for
from tests.support.services import RedisServer, database_url, redis_url

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def shared(tmp_path: Path) -> tuple[Path, Settings, Seed]:
    """One data directory (the master key file), one PostgreSQL database, one Redis."""
    database_url()
    redis_url()
    data = tmp_path / "data"
    settings = settings_for(data)
    return data, settings, asyncio.run(seed(settings))


class Cluster:
    def __init__(self, data: Path, env: dict[str, str] | None = None) -> None:
        self.data = data
        self.env = env or {}
        self.nodes: list[ServerProcess] = []

    def start(self, count: int) -> list[ServerProcess]:
        # One after the other: the first creates the key file the others then read.
        for n in range(count):
            node = ServerProcess(self.data, env=self.env, name=f"node{n + 1}")
            self.nodes.append(node.start())
        return self.nodes

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@pytest.fixture
def cluster(shared: tuple[Path, Settings, Seed]) -> Iterator[Cluster]:
    running = Cluster(shared[0])
    try:
        yield running
    finally:
        running.stop()


def is_summary(conversation_id: str, **fields: Any) -> Any:
    def match(frame: dict[str, Any]) -> bool:
        if frame["type"] != "conversation" or frame["conversation"]["id"] != conversation_id:
            return False
        return all(frame["conversation"].get(k) == v for k, v in fields.items())

    return match


async def test_a_young_person_on_one_node_and_a_worker_on_another_talk_live(
    shared: tuple[Path, Settings, Seed], cluster: Cluster
) -> None:
    _, settings, seeded = shared
    one, two = cluster.start(2)
    anna = Peer(two.ws, staff_cookie=await login_token(settings, seeded.workers["Anna"]))
    bo = Peer(one.ws, staff_cookie=await login_token(settings, seeded.workers["Bo"]))
    youth = Peer(one.ws)
    for peer in (anna, bo, youth):
        await peer.connect()
    await anna.hello()
    await bo.hello()
    await youth.start("demo")
    await youth.send("hej från nod 1")
    await youth.wait_for(lambda f: f["type"] == "ack")
    conversation_id = youth.conversation_id
    assert conversation_id is not None

    # The queue: both workers' lists show the new conversation, whichever node they are on.
    await anna.wait_for(is_summary(conversation_id, state="queued", last_seq=1))
    await bo.wait_for(is_summary(conversation_id, state="queued", last_seq=1))

    # Anna on node 2 answers; the young person on node 1 gets it live.
    await anna.open_conversation(conversation_id)
    await anna.pump_until(lambda: anna.bodies(conversation_id) == ["hej från nod 1"])
    await anna.send("hej från nod 2", conversation_id)
    await youth.pump_until(lambda: "hej från nod 2" in youth.bodies())
    # Bo on node 1 sees Anna holding it.
    await bo.wait_for(lambda f: is_summary(conversation_id, state="active")(f))

    # Typing and read state cross nodes too.
    await youth.send_frame({"type": "typing", "active": True})
    await anna.wait_for(lambda f: f["type"] == "typing" and f["sender"] == "youth")
    seq = anna.last_seq(conversation_id)
    await anna.send_frame({"type": "read", "conversation_id": conversation_id, "seq": seq})
    read = await youth.wait_for(lambda f: f["type"] == "read" and f["reader"] == "staff")
    assert read["seq"] == seq

    # Presence: Bo goes on duty on node 1; Anna on node 2 sees him.
    await bo.send_frame({"type": "duty", "on": True})
    await anna.wait_for(
        lambda f: f["type"] == "presence" and any(m["first_name"] == "Bo" for m in f["on_duty"])
    )
    for peer in (anna, bo, youth):
        assert not peer.errors
        await peer.close()


async def test_a_node_killed_with_sigkill_its_clients_move_on_and_nothing_is_lost(
    shared: tuple[Path, Settings, Seed], cluster: Cluster
) -> None:
    _, settings, seeded = shared
    one, two = cluster.start(2)
    token = await login_token(settings, seeded.workers["Anna"])
    youth, staff, conversation_id = await pair(one.ws, token)
    acked_before, sent = await burst_then_kill(youth, staff, conversation_id, one.kill)
    # Both reconnect to the surviving node (a load balancer would send them there).
    youth.ws_base = staff.ws_base = two.ws
    await youth.reconnect()
    await staff.reconnect()
    await settle(youth, staff, conversation_id)
    check(youth, staff, conversation_id, acked_before, sent)
    # And the conversation goes on live on the surviving node.
    await staff.send("still here", conversation_id)
    await youth.pump_until(lambda: "still here" in youth.bodies())
    await youth.close()
    await staff.close()


async def test_a_redis_restart_mid_conversation_is_caught_up_within_five_seconds(
    shared: tuple[Path, Settings, Seed], private_redis: RedisServer
) -> None:
    data, settings, seeded = shared
    cluster = Cluster(data, env={"LYKTA_REDIS_URL": private_redis.url})
    try:
        one, two = cluster.start(2)
        token = await login_token(settings, seeded.workers["Anna"])
        youth = Peer(one.ws)
        await youth.connect()
        await youth.start("demo")
        await youth.send("before")
        await youth.wait_for(lambda f: f["type"] == "ack")
        conversation_id = youth.conversation_id
        assert conversation_id is not None
        staff = Peer(two.ws, staff_cookie=token)
        await staff.connect()
        await staff.hello()
        await staff.open_conversation(conversation_id)
        await staff.pump_until(lambda: staff.bodies(conversation_id) == ["before"])

        private_redis.stop()
        # Redis is away: the young person's messages are still stored and acknowledged by
        # node 1, but cannot reach node 2 live.
        away = [f"while away {i}" for i in range(5)]
        for text in away:
            await youth.send(text)
        await youth.pump_until(lambda: not youth.outbox)
        await read_while_possible(staff, 0.5)
        assert staff.bodies(conversation_id) == ["before"]

        private_redis.start()
        loop = asyncio.get_running_loop()
        back = loop.time()
        await staff.pump_until(
            lambda: staff.bodies(conversation_id) == ["before", *away], timeout=5
        )
        caught_up = loop.time() - back
        assert caught_up < 5
        assert staff.resyncs >= 1
        # Live delivery works again, both ways, without restarting Lykta.
        await staff.send("after", conversation_id)
        await youth.pump_until(lambda: "after" in youth.bodies(), timeout=5)
        await youth.send("after too")
        await staff.pump_until(lambda: "after too" in staff.bodies(conversation_id), timeout=5)
        staff.assert_gap_free(conversation_id)
        youth.assert_gap_free()
        # Caught up and live copies may overlap; both sides hold the same sequence.
        await youth.pump_until(lambda: youth.last_seq() == staff.last_seq(conversation_id))
        assert staff.seen[conversation_id] == youth.seen[conversation_id]
        await youth.close()
        await staff.close()
    finally:
        cluster.stop()


async def closed_conversations(settings: Settings, count: int) -> None:
    """``count`` answered and closed conversations of team demo, through the services."""
    rt = Runtime.create(settings)
    await rt.start()
    try:
        async with rt.db.read() as session:
            team = (await session.execute(Team.__table__.select().where(Team.slug == "demo"))).one()
        demo = Team(id=team.id, slug=team.slug, name=team.name)
        for n in range(count):
            conversation, _code = await service.do_start_conversation(rt, demo)
            await service.do_send_message(
                rt, demo.id, conversation.id, service.Author.youth(), f"c{n}", f"text {n}"
            )
            await service.do_close(rt, demo.id, conversation.id, service.Author.youth())
    finally:
        await rt.stop()


async def test_the_purge_runs_on_one_node_at_a_time(
    shared: tuple[Path, Settings, Seed],
) -> None:
    data, settings, _ = shared
    count = 450  # more than two purge batches
    await closed_conversations(settings, count)
    db_update(settings, Team, Team.slug == "demo", retention_days=0)
    cluster = Cluster(data, env={"LYKTA_PURGE_INTERVAL_SECONDS": "0.5"})
    try:
        cluster.start(3)
        deadline = asyncio.get_running_loop().time() + 60
        while db_query(settings, "SELECT count(*) FROM conversations")[0][0]:
            assert asyncio.get_running_loop().time() < deadline, "the purge did not finish"
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.5)  # every node has had another turn meanwhile
    finally:
        cluster.stop()
    # Every conversation was counted once and audited once, whichever node purged it.
    counted = db_query(settings, "SELECT sum(conversations) FROM daily_stats")[0][0]
    assert counted == count
    audited = db_query(settings, "SELECT details FROM audit_log WHERE action = 'retention.purged'")
    assert sum(_details(row[0])["conversations"] for row in audited) == count
    assert db_query(settings, "SELECT count(*) FROM messages")[0][0] == 0


def _details(value: Any) -> dict[str, Any]:
    import json

    return json.loads(value) if isinstance(value, str) else dict(value)


async def test_an_app_in_front_on_one_node_gets_no_push_for_messages_another_node_commits(
    shared: tuple[Path, Settings, Seed], push_service: PushService
) -> None:
    data, settings, seeded = shared
    cluster = Cluster(data, env={"LYKTA_PUSH_ALLOW_INSECURE_LOCALHOST": "true"})
    try:
        one, two = cluster.start(2)
        # Bo's phone is on node 2; the young person, whose messages node 1 commits (and
        # whose pushes it sends), on node 1.
        device = subscribe(two, seeded, push_service, "Bo")
        young = await youth(one, "hej")
        conversation_id = young.conversation_id
        assert conversation_id is not None
        bo = await worker_socket(two, device)
        await bo.send("Hej, jag heter Bo.", conversation_id)  # now he holds the chat
        await bo.wait_for(lambda f: f["type"] == "ack")

        async def app_in_front(visible: bool) -> None:
            await bo.send_frame({"type": "visibility", "visible": visible})
            await flush(bo)
            # Node 2's payloads reach node 1 in the order sent: once the young person
            # sees Bo type, node 1 has heard about his app too.
            typing = {"type": "typing", "conversation_id": conversation_id, "active": visible}
            await bo.send_frame(typing)
            await young.wait_for(lambda f: f["type"] == "typing" and f["active"] == visible)

        await app_in_front(True)
        await says(young, "syns det här?")  # Bo sees it: no push
        await app_in_front(False)
        await says(young, "är du kvar?")  # in the background: a push
        # Node 1 sends its pushes in order: once a new chat's push has come, every push
        # about the messages before it has been sent.
        on_duty(settings, seeded, "Bo")
        other = await youth(one, "hallå")
        await asyncio.to_thread(
            push_service.wait,
            lambda s: any(d.json()["kind"] == "queue" for d in s.deliveries_to(device.endpoint)),
        )
        kinds = [d.json()["kind"] for d in push_service.deliveries_to(device.endpoint)]
        assert kinds == ["message", "queue"]
        for peer in (young, bo, other):
            assert not peer.errors
            await peer.close()
    finally:
        cluster.stop()
