"""Conversation benchmark: customers chatting at once through webhook → worker → reply.

On a fresh database with the demo catalog, starts `chatcart serve` (one web process) and
one `chatcart worker` (sandbox WhatsApp transport), then lets N simulated customers chat
concurrently, each like a person: send a message, wait for the bot's answer, send the
next. A message goes in as a signed webhook; its answer is seen when the reply stands
sent in the sandbox outbox (`/sandbox/messages`, polled every 10 ms, so figures carry up
to 10 ms of polling). Reports inbound-to-reply p50/p95/p99, messages/s, and the memory of
the web and worker processes.

Usage: .venv/bin/python bench/conversation.py [--customers 100] [--messages 6] [--think 0]
       [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import webhook

DATABASE = "chatcart_bench_conversation"
SCRIPT = ["hi", "menu", "1", "1", "cart", "help"]  # greet, browse, pick, look at the cart
SENT = {"sent", "delivered", "read"}


async def customer(
    http: httpx.AsyncClient, number: int, messages: int, think: float, delays: list[float]
) -> None:
    wa_id = f"1555{number % 200:07d}"
    seen = 0
    # People do not all press send at the same moment: each starts within the first
    # think time (all at once when there is none).
    await asyncio.sleep(random.Random(number).uniform(0, think))
    for turn in range(messages):
        text = SCRIPT[turn % len(SCRIPT)]
        # The customer is `number`; the message id is new for every turn.
        body = webhook.message(number + 200 * turn, text)
        headers = {"X-Hub-Signature-256": webhook.signature(body),
                   "Content-Type": "application/json"}  # fmt: skip
        started = time.perf_counter()
        answer = await http.post("/webhooks/whatsapp", content=body, headers=headers)
        answer.raise_for_status()
        deadline = started + 30
        while time.perf_counter() < deadline:
            found = await http.get("/sandbox/messages", params={"to": wa_id, "after": seen})
            replies = [m for m in found.json()["messages"] if m["status"] in SENT]
            if replies:
                seen = replies[-1]["id"]
                delays.append(time.perf_counter() - started)
                await asyncio.sleep(think)  # reading the answer, typing the next message
                break
            await asyncio.sleep(0.01)
        else:
            raise SystemExit(f"customer {wa_id} got no answer to {text!r} within 30 s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--messages", type=int, default=6)
    parser.add_argument("--workers", type=int, default=1, help="`chatcart worker` processes")
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds a customer takes to answer (0: none)"
    )
    args = parser.parse_args()
    if args.customers > 200:
        raise SystemExit("at most 200 customers (one conversation each)")
    env = common.environment(
        DATABASE, WHATSAPP_APP_SECRET=webhook.SECRET, WHATSAPP_VERIFY_TOKEN="bench"
    )
    await common.fresh_database(DATABASE, env)
    seed = [common.CHATCART, "seed", "--demo"]
    await asyncio.to_thread(subprocess.run, seed, env=env, check=True, capture_output=True)
    port = common.free_port()
    url = f"http://127.0.0.1:{port}"
    server = common.start_server(port, env)
    workers = [
        subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
            [common.CHATCART, "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(args.workers)
    ]
    try:
        await common.wait_ready(url)
        await asyncio.sleep(2)  # the worker's consumer group is declared
        web_pids, worker_pids = common.server_pids(server), [w.pid for w in workers]
        idle_web = max(common.rss_mb([pid]) for pid in web_pids)
        idle_worker = max(common.rss_mb([pid]) for pid in worker_pids)
        delays: list[float] = []
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
            began = time.perf_counter()
            await asyncio.gather(
                *(
                    customer(http, n, args.messages, args.think, delays)
                    for n in range(args.customers)
                )
            )
            elapsed = time.perf_counter() - began
        busy_web = max(common.rss_mb([pid]) for pid in web_pids)
        busy_worker = max(common.rss_mb([pid]) for pid in worker_pids)
        delays.sort()
        print(
            f"{args.customers} customers x {args.messages} messages, {args.think:g} s to "
            f"answer, {args.workers} worker(s): "
            f"{len(delays) / elapsed:.1f} messages/s answered, inbound-to-reply "
            f"p50 {1000 * statistics.median(delays):.0f} ms, "
            f"p95 {1000 * delays[int(len(delays) * 0.95) - 1]:.0f} ms, "
            f"p99 {1000 * delays[int(len(delays) * 0.99) - 1]:.0f} ms",
            flush=True,
        )
        print(
            f"memory (RSS, MB): web {idle_web:.0f} idle, {busy_web:.0f} after; "
            f"worker {idle_worker:.0f} idle, {busy_worker:.0f} after (largest)",
            flush=True,
        )
    finally:
        for process in (*workers, server):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (*workers, server):
            process.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
