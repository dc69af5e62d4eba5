"""GraphQL benchmark: the orders board, one order by number, and live delivery.

Seeds 200 customers, 50 products and 1,000 orders x 3 items x 1 payment into a fresh
database, starts `chatcart serve` (one web process) against the local PostgreSQL and
Redis, and drives it from this process over loopback:

  (a) the orders board: the 100 newest orders with customer, items and payments;
  (b) one order by number with its items;
  (c) WebSocket subscribers to orderEvents: commit-to-delivery latency.

Usage: .venv/bin/python bench/graphql.py [--seconds 15] [--clients 16] [--subscribers 200]
Environment: BENCH_POSTGRES (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres)
and BENCH_REDIS (default redis://127.0.0.1:6379/13). Bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
CHATCART = str(Path(sys.executable).with_name("chatcart"))
ADMIN_URL = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")
DATABASE = "chatcart_bench"
PASSWORD = "bench password 1"

BOARD = """{ orders(first: 100) { edges { node { number status total
  customer { name phone } items { sku quantity gross } payments { reference status } } } } }"""
ONE = "query($n: Int) { order(number: $n) { number status total items { sku quantity } } }"
SUBSCRIPTION = "subscription { orderEvents { id type } }"


def database_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"


async def prepare() -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DATABASE}")
    await admin.close()
    env = environment()
    await asyncio.to_thread(
        subprocess.run, [CHATCART, "migrate"], env=env, check=True, capture_output=True
    )
    staff = [CHATCART, "create-staff", "--email", "bench@shop.example", "--name", "Bench",
             "--role", "ADMIN", "--password-stdin"]  # fmt: skip
    await asyncio.to_thread(
        subprocess.run, staff, env=env, input=PASSWORD + "\n", text=True, check=True,
        capture_output=True,
    )  # fmt: skip
    db = await asyncpg.connect(database_url())
    await seed(db)
    await db.close()


async def seed(db: asyncpg.Connection) -> None:
    rng = random.Random(42)
    await db.executemany(
        "INSERT INTO customer (wa_id, profile_name, language) VALUES ($1, $2, 'en')",
        [(f"1555{n:07d}", f"Customer {n}") for n in range(200)],
    )
    await db.executemany(
        "INSERT INTO product (sku, name, description, category, price, tax_rate_bp, stock, "
        "available, version, created_at, updated_at) "
        "VALUES ($1, $2, '', $3, $4, 0, 1000, true, 1, now(), now())",
        [(f"SKU-{n:03d}", f"Product {n}", f"Cat {n % 5}", 100 + n * 10) for n in range(50)],
    )
    customers = [r["id"] for r in await db.fetch("SELECT id FROM customer")]
    products = await db.fetch("SELECT id, sku, name, price FROM product")
    for number in range(1001, 2001):
        lines = rng.sample(list(products), 3)
        total = sum(p["price"] * 2 for p in lines)
        order_id = await db.fetchval(
            "INSERT INTO orders (number, customer, status, fulfilment, currency, subtotal, tax, "
            "delivery_fee, total, placed_at, expires_at, updated_at, version, note, "
            "prices_include_tax) VALUES ($1, $2, 'paid', 'pickup', 'USD', $3, 0, 0, $3, "
            "now() - make_interval(mins => $4), now(), now(), 1, '', false) RETURNING id",
            number, rng.choice(customers), total, 2001 - number,
        )  # fmt: skip
        await db.executemany(
            'INSERT INTO order_item ("order", product, sku, name, unit_price, tax_rate_bp, '
            "quantity, reserved, net, tax, gross) VALUES ($1, $2, $3, $4, $5, 0, 2, 0, $6, 0, $6)",
            [(order_id, p["id"], p["sku"], p["name"], p["price"], p["price"] * 2) for p in lines],
        )
        await db.execute(
            'INSERT INTO payment ("order", attempt, provider, reference, idempotency_key, amount, '
            "currency, status, provider_data) VALUES ($1, 1, 'manual', $2, $3, $4, 'USD', "
            "'confirmed', '{}')",
            order_id, f"REF-{number}", f"bench-{number}", total,
        )  # fmt: skip
    await db.execute("UPDATE order_event SET published_at = now()")


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "CHATCART_EMBEDDED": "0",
        "LOG_LEVEL": "WARNING",
        # One token drives all the load here; production keeps the default.
        "GRAPHQL_LIST_RATE_PER_MINUTE": "1000000",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CHATCART, "serve", "--no-migrate", "--no-seed-demo"],
        env={**environment(), "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                if (await http.get(f"{url}/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not become ready")


async def login(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as http:
        query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
        variables = {"e": "bench@shop.example", "p": PASSWORD}
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    return str(response.json()["data"]["login"]["token"])


async def load(
    url: str, token: str, query: str, variables: Any, *, seconds: float, clients: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as http:

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                body = {"query": query, "variables": variables()}
                started = time.perf_counter()
                response = await http.post("/graphql", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or "errors" in response.json():
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "req_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
    }


async def live(url: str, token: str, subscribers: int, events: int) -> dict[str, float]:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    arrivals: dict[int, list[float]] = {}
    ready = asyncio.Event()
    connected = 0

    async def subscriber() -> None:
        nonlocal connected
        async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                )
            )
            await ws.recv()
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
            )
            connected += 1
            if connected == subscribers:
                ready.set()
            for _ in range(events):
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                event_id = int(message["payload"]["data"]["orderEvents"]["id"])
                arrivals.setdefault(event_id, []).append(time.perf_counter())

    tasks = [asyncio.create_task(subscriber()) for _ in range(subscribers)]
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(1)  # every subscription is listening
    db = await asyncpg.connect(database_url())
    committed: dict[int, float] = {}
    order_id = await db.fetchval("SELECT id FROM orders LIMIT 1")
    for _ in range(events):
        async with db.transaction():
            event_id = await db.fetchval(
                'INSERT INTO order_event ("order", type, data, actor) '
                "VALUES ($1, 'BenchEvent', '{}', 'system') RETURNING id",
                order_id,
            )
        committed[event_id] = time.perf_counter()
        await asyncio.sleep(0.5)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    await db.close()
    delays = sorted(
        1000 * (arrived - committed[event_id])
        for event_id, times in arrivals.items()
        for arrived in times
    )
    return {
        "deliveries": len(delays),
        "p50_ms": statistics.median(delays),
        "p95_ms": delays[int(len(delays) * 0.95) - 1],
        "max_ms": delays[-1],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--events", type=int, default=10)
    args = parser.parse_args()

    await prepare()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port)
    try:
        await wait_ready(url)
        token = await login(url)
        numbers = list(range(1001, 2001))
        for name, query, variables in (
            ("board (100 orders)", BOARD, lambda: {}),
            ("one order by number", ONE, lambda: {"n": random.choice(numbers)}),
        ):
            await load(url, token, query, variables, seconds=2, clients=args.clients)  # warm-up
            figures = await load(
                url, token, query, variables, seconds=args.seconds, clients=args.clients
            )
            print(f"{name}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))
        figures = await live(url, token, args.subscribers, args.events)
        print(
            f"live ({args.subscribers} subscribers, {args.events} events): "
            + ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
