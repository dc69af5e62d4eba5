"""Stopping a web process (SIGTERM, as an orchestrator does) tells live screens so (their
WebSockets close with 1001 Going Away, not a dropped connection) and finishes the
requests already under way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from app.whatsapp.signature import sign
from app.whatsapp.tables import InboundMessage
from tests.e2e.conftest import Served, services_env
from tests.e2e.test_live_updates import CREDENTIALS, LOGIN, PASSWORD, SUBSCRIPTION
from tests.faults.drills import SECRET, Customer


async def open_screen(url: str, token: str) -> object:
    ws = await connect(url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
    return ws


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_sigterm_closes_websockets_with_going_away_and_exits_cleanly(
    serve: Callable[..., Served], db: Resources, settings: Settings, tmp_path: Path, workers: str
) -> None:
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    env = services_env(settings, WEB_WORKERS=workers)
    web = serve(env=env)
    await asyncio.to_thread(web.wait_ready)
    # Every worker up: a worker still starting when the stop comes is granian's own case
    # (it ignores the signal until it serves), not the one this test is about.
    for _ in range(600):
        if web.output().count("Started worker-") == int(workers):
            break
        await asyncio.sleep(0.1)
    async with httpx.AsyncClient(base_url=web.url, timeout=20) as http:
        login = await http.post("/graphql", json={"query": LOGIN, "variables": CREDENTIALS})
        token = login.json()["data"]["login"]["token"]
    url = web.url.replace("http://", "ws://") + "/graphql"
    screens = [await open_screen(url, token) for _ in range(3)]

    stopping = asyncio.create_task(asyncio.to_thread(web.terminate))
    codes = []
    for ws in screens:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 20)  # type: ignore[attr-defined]
        assert closed.value.rcvd is not None, "closed without a close frame (1006)"
        codes.append(closed.value.rcvd.code)
    assert codes == [1001, 1001, 1001]
    assert await stopping == 0, web.output()[-3000:]
    with pytest.raises(httpx.ConnectError):
        await asyncio.to_thread(httpx.get, f"{web.url}/health/live", timeout=2)


async def test_a_request_in_flight_when_sigterm_comes_is_finished(
    serve: Callable[..., Served], db: Resources, settings: Settings
) -> None:
    env = services_env(settings, WHATSAPP_APP_SECRET=SECRET)
    web = serve(env=env)
    await asyncio.to_thread(web.wait_ready)
    wamid, body = Customer("15554000001").message("hi")
    head = (
        f"POST /webhooks/whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-Hub-Signature-256: {sign(body, SECRET)}\r\nConnection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
    writer.write(head + body[:20])  # the request has started; its body is still coming
    await writer.drain()
    await asyncio.sleep(0.3)

    stopping = asyncio.create_task(asyncio.to_thread(web.terminate))
    await asyncio.sleep(1.0)
    writer.write(body[20:])
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 20)
    writer.close()

    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert await stopping == 0, web.output()[-3000:]
    stored = await InboundMessage.count().where(InboundMessage.wamid == wamid)
    assert stored == 1
