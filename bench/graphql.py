"""GraphQL benchmark: the orders board, one order by number, and live delivery.

Seeds 200 customers, 50 products and 1,000 orders x 3 items x 1 payment into a fresh
database, starts `chatcart serve` (one web process) against the local PostgreSQL and
Redis, and drives it over loopback:

  (a) the orders board: the 100 newest orders with customer, items and payments;
  (b) one order by number with its items;
  (c) WebSocket subscribers to orderEvents: commit-to-delivery latency.

(a) and (b) are driven by wrk (Debian package `wrk`) when it is installed, the load
generator the reference figures were measured with; without it, by an httpx client in
this process, which costs more CPU than the server it measures and so reports less.
Each answer is checked for errors first, and the CPU the web process and PostgreSQL spent
per request is reported alongside.

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
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

DATABASE = "chatcart_bench"
PASSWORD = "bench password 1"

BOARD = """{ orders(first: 100) { edges { node { number status total
  customer { name phone } items { sku quantity gross } payments { reference status } } } } }"""
ONE = "query($n: Int) { order(number: $n) { number status total items { sku quantity } } }"
SUBSCRIPTION = "subscription { orderEvents { id type } }"


def environment() -> dict[str, str]:
    # One token drives all the load here; production keeps the default.
    return common.environment(DATABASE, GRAPHQL_LIST_RATE_PER_MINUTE="1000000")


async def prepare() -> None:
    env = environment()
    await common.fresh_database(DATABASE, env)
    staff = [common.CHATCART, "create-staff", "--email", "bench@shop.example", "--name", "Bench",
             "--role", "ADMIN", "--password-stdin"]  # fmt: skip
    await asyncio.to_thread(
        subprocess.run, staff, env=env, input=PASSWORD + "\n", text=True, check=True,
        capture_output=True,
    )  # fmt: skip
    db = await asyncpg.connect(common.database_url(DATABASE))
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


async def login(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as http:
        query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
        variables = {"e": "bench@shop.example", "p": PASSWORD}
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    return str(response.json()["data"]["login"]["token"])


async def load(
    url: str, token: str, bodies: list[str], *, seconds: float, clients: int
) -> dict[str, float]:
    """The same measurement as ``wrk_load``, from an httpx client in this process."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    turn = 0

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as http:

        async def client() -> None:
            nonlocal errors, turn
            while time.perf_counter() < deadline:
                turn += 1
                started = time.perf_counter()
                response = await http.post("/graphql", content=bodies[turn % len(bodies)])
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


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local n = 0
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[n])
end
"""


def wrk_load(
    url: str, token: str, bodies: list[str], *, seconds: float, clients: int
) -> dict[str, float]:
    """Drive ``bodies`` (round robin) with wrk and read its summary."""
    with tempfile.TemporaryDirectory() as folder:
        lines = Path(folder, "bodies.txt")
        lines.write_text("\n".join(bodies) + "\n")
        env = {"BENCH_TOKEN": token, "BENCH_BODIES": str(lines)}
        out = common.run_wrk(f"{url}/graphql", WRK_SCRIPT, env, seconds=seconds, clients=clients)
    return common.wrk_figures(out)


async def check_answers(url: str, token: str, bodies: list[str]) -> None:
    """Every document must answer with data and no errors before it is measured."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as http:
        for body in bodies[:3]:
            answer = (await http.post("/graphql", content=body)).json()
            if answer.get("errors") or not answer.get("data"):
                raise SystemExit(f"the benchmark query failed: {answer}")


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
    db = await asyncpg.connect(common.database_url(DATABASE))
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


def _cpu(server: subprocess.Popen[bytes]) -> tuple[float, float]:
    """CPU seconds so far of the web process and of PostgreSQL."""
    return common.cpu_seconds(common.server_pids(server)), common.cpu_seconds(
        common.postgres_pids()
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    args = parser.parse_args()

    await prepare()
    port = common.free_port()
    url = f"http://127.0.0.1:{port}"
    server = common.start_server(port, environment())
    try:
        await common.wait_ready(url)
        token = await login(url)
        numbers = list(range(1001, 2001))
        random.Random(7).shuffle(numbers)
        use_wrk = shutil.which("wrk") is not None and not args.python_client
        print(f"load generator: {'wrk' if use_wrk else 'httpx (in this process)'}")
        for name, query, variables in (
            ("board (100 orders)", BOARD, [{}]),
            ("one order by number", ONE, [{"n": n} for n in numbers]),
        ):
            bodies = [json.dumps({"query": query, "variables": v}) for v in variables]
            await check_answers(url, token, bodies)
            if use_wrk:
                wrk_load(url, token, bodies, seconds=2, clients=args.clients)  # warm-up
                app, pg = _cpu(server)
                figures = wrk_load(url, token, bodies, seconds=args.seconds, clients=args.clients)
            else:
                await load(url, token, bodies, seconds=2, clients=args.clients)  # warm-up
                app, pg = _cpu(server)
                figures = await load(url, token, bodies, seconds=args.seconds, clients=args.clients)
            served = max(figures["requests"], 1)
            app_now, pg_now = _cpu(server)
            figures["app_cpu_ms_per_req"] = 1000 * (app_now - app) / served
            figures["pg_cpu_ms_per_req"] = 1000 * (pg_now - pg) / served
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
