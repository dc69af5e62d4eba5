"""Webhook ingest benchmark: signed WhatsApp text messages into one web process.

Starts `chatcart serve` (one web process, no worker: this measures taking messages in,
not answering them) on a fresh database, and drives it with wrk (Debian package `wrk`,
required here) over loopback:

  1. the trivial endpoint of the same app (`GET /health/live`) at full speed, for scale;
  2. the webhook at full speed: every request a new message (unique WhatsApp id, one of
     200 customers), signed with the app secret, so each one is verified, parsed, stored
     and enqueued;
  3. the webhook at fixed rates (each connection pauses between requests), for p50/p99
     at a given load.

Reports req/s, p50, p99, the web process's CPU per request and its memory, and checks
afterwards that every message sent is stored exactly once.

Usage: .venv/bin/python bench/webhook.py [--seconds 10] [--rates 100,200,300,400]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

DATABASE = "chatcart_bench_webhook"
SECRET = "bench-app-secret"
CLIENTS = 16

TRIVIAL = 'wrk.method = "GET"\n'
# Each line of BENCH_BODIES is "<signature> <body>"; every request takes the next one.
# BENCH_DELAY_MS paces each connection (0: as fast as it can).
WEBHOOK = """
local requests = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
  local space = line:find(" ")
  requests[#requests + 1] = wrk.format("POST", "/webhooks/whatsapp", {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = line:sub(1, space - 1),
  }, line:sub(space + 1))
end
local pause = tonumber(os.getenv("BENCH_DELAY_MS"))
local offset = 0
setup = function(thread)
  thread:set("first", offset)
  offset = offset + 1
end
init = function(args)
  n = first
  step = tonumber(os.getenv("BENCH_THREADS"))
end
request = function()
  n = n + step
  return requests[(n % #requests) + 1]
end
delay = function()
  return pause
end
"""


def message(number: int, text: str | None = None) -> bytes:
    """One signed-ready webhook body: a text message (sent now) from one of 200 customers."""
    wa_id = f"1555{number % 200:07d}"
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "bench", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1"},
            "contacts": [{"wa_id": wa_id, "profile": {"name": f"Customer {number % 200}"}}],
            "messages": [{"from": wa_id, "id": f"wamid.bench.{number}",
                          "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": text or f"hello {number}"}}],
        }}]}],
    }  # fmt: skip
    return json.dumps(body, separators=(",", ":")).encode()


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def bodies_file(folder: str, first: int, count: int) -> str:
    path = Path(folder, f"bodies-{first}.txt")
    with path.open("w") as out:
        for number in range(first, first + count):
            body = message(number)
            out.write(f"{signature(body)} {body.decode()}\n")
    return str(path)


async def stored_messages() -> tuple[int, int]:
    db = await asyncpg.connect(common.database_url(DATABASE))
    try:
        total = await db.fetchval("SELECT count(*) FROM inbound_message")
        distinct = await db.fetchval("SELECT count(DISTINCT wamid) FROM inbound_message")
    finally:
        await db.close()
    return int(total), int(distinct)


def print_figures(name: str, figures: dict[str, float]) -> None:
    print(f"{name}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rates", default="100,200,300,400")
    args = parser.parse_args()
    env = common.environment(DATABASE, WHATSAPP_APP_SECRET=SECRET, WHATSAPP_VERIFY_TOKEN="bench")
    await common.fresh_database(DATABASE, env)
    port = common.free_port()
    url = f"http://127.0.0.1:{port}"
    server = common.start_server(port, env)
    try:
        await common.wait_ready(url)
        pids = common.server_pids(server)
        # granian runs a supervisor and the worker process that serves; the largest is it.
        idle = ", ".join(f"{common.rss_mb([pid]):.1f}" for pid in pids)
        print(f"web processes idle: rss_mb {idle}", flush=True)

        def measure(
            name: str, target: str, script: str, extra: dict[str, str], clients: int
        ) -> dict[str, float]:
            cpu = common.cpu_seconds(pids)
            out = common.run_wrk(target, script, extra, seconds=args.seconds, clients=clients)
            figures = common.wrk_figures(out)
            served = max(figures["requests"], 1)
            figures["app_cpu_ms_per_req"] = 1000 * (common.cpu_seconds(pids) - cpu) / served
            figures["rss_mb"] = max(common.rss_mb([pid]) for pid in pids)
            print_figures(name, figures)
            return figures

        def paced(rate: int, clients: int, extra: dict[str, str]) -> dict[str, str]:
            """The pause per connection that gives ``rate`` requests/s, found by a short
            trial run (a connection's period is its pause plus the response time)."""
            period = 1000 * clients / rate
            trial = {**extra, "BENCH_DELAY_MS": str(round(period))}
            out = common.run_wrk(url, WEBHOOK, trial, seconds=3, clients=clients)
            achieved = max(common.wrk_figures(out)["req_per_s"], 1.0)
            response_ms = max(1000 * clients / achieved - period, 0.0)
            return {**extra, "BENCH_DELAY_MS": str(max(round(period - response_ms), 0))}

        with tempfile.TemporaryDirectory() as folder:
            trivial = f"{url}/health/live"
            common.run_wrk(trivial, TRIVIAL, {}, seconds=2, clients=CLIENTS)
            base = measure("trivial endpoint (GET /health/live)", trivial, TRIVIAL, {}, CLIENTS)
            # Enough distinct messages for the fastest run, so none is sent twice.
            per_run = int((args.seconds + 3) * 4000)
            sent = 0.0
            runs = [("webhook, full speed", 0, CLIENTS)] + [
                (f"webhook at {rate}/s", rate, 8) for rate in map(int, args.rates.split(","))
            ]
            for number, (name, rate, clients) in enumerate(runs):
                extra = {
                    "BENCH_BODIES": bodies_file(folder, number * per_run, per_run),
                    "BENCH_THREADS": str(min(2, clients)),
                    "BENCH_DELAY_MS": "0",
                }
                if rate:
                    extra = paced(rate, clients, extra)
                figures = measure(name, url, WEBHOOK, extra, clients)
                sent += figures["requests"]
                if not rate:
                    share = figures["req_per_s"] / max(base["req_per_s"], 1.0)
                    print(f"ingest throughput / trivial endpoint: {share:.0%}", flush=True)
        await asyncio.sleep(1)
        total, distinct = await stored_messages()
        print(f"messages answered {sent:.0f}, stored {total}, distinct {distinct}", flush=True)
        if total != distinct:
            raise SystemExit("a message was stored twice")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
