"""Checkout contention: many customers placing orders at once for a few products.

On a fresh database, 10 products with limited stock and 200 customers; 200 checkouts
start at the same moment, each taking 1–3 units of 1–3 random products (lines in random
order, so lock ordering is exercised), through the same use case the chat calls
(`place_order`: reserve stock, create the order, record the event, one transaction).
Reports orders/s and checkout latency, then proves there is no oversell: for every
product, the stock left plus what the placed orders reserved equals what it started
with, and the stock is never negative.

Usage: .venv/bin/python bench/checkout.py [--checkouts 200] [--products 10] [--stock 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

from app.catalog.models import ProductDraft
from app.catalog.service import create_product
from app.customers.service import register_customer
from app.db.reads import fetch
from app.errors import OutOfStock
from app.ordering.service import PlaceOrder, place_order
from app.ordering.values import CartLine, Fulfilment, ShopTerms
from app.resources import open_resources
from app.settings import load_settings

DATABASE = "chatcart_bench_checkout"
TERMS = ShopTerms(currency="USD", prices_include_tax=False, delivery_fee=0, payment_minutes=30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkouts", type=int, default=200)
    parser.add_argument("--products", type=int, default=10)
    parser.add_argument("--stock", type=int, default=40)
    args = parser.parse_args()
    env = common.environment(DATABASE, DATABASE_POOL_MAX="20")
    await common.fresh_database(DATABASE, env)
    os.environ.update(env)  # this process is the shop here: same settings as a server
    settings = load_settings()
    rng = random.Random(42)
    async with open_resources(settings):
        skus = [f"HOT-{n:02d}" for n in range(args.products)]
        for sku in skus:
            draft = ProductDraft(sku=sku, name=f"Hot item {sku}", category="Hot", price=500,
                                 stock=args.stock)  # fmt: skip
            await create_product(draft, actor="system")
        customers = [
            (await register_customer(wa_id=f"1555{n:07d}", profile_name=f"Buyer {n}")).id
            for n in range(args.checkouts)
        ]
        carts = [
            [CartLine(sku, rng.randint(1, 3)) for sku in rng.sample(skus, rng.randint(1, 3))]
            for _ in customers
        ]
        start = asyncio.Event()
        latencies: list[float] = []

        async def checkout(customer_id: int, lines: list[CartLine]) -> str:
            await start.wait()
            began = time.perf_counter()
            try:
                await place_order(
                    PlaceOrder(customer_id, lines, Fulfilment.PICKUP), TERMS, actor="customer"
                )
                outcome = "placed"
            except OutOfStock:
                outcome = "out of stock"
            latencies.append(time.perf_counter() - began)
            return outcome

        orders = zip(customers, carts, strict=True)
        runs = [asyncio.create_task(checkout(customer, cart)) for customer, cart in orders]
        await asyncio.sleep(0.1)
        began = time.perf_counter()
        start.set()
        outcomes = await asyncio.gather(*runs)
        elapsed = time.perf_counter() - began
        placed = outcomes.count("placed")
        latencies.sort()
        print(
            f"checkouts {len(outcomes)}: placed {placed}, out of stock {len(outcomes) - placed}"
            f", {len(outcomes) / elapsed:.0f} checkouts/s, {placed / elapsed:.0f} orders/s, "
            f"p50 {1000 * statistics.median(latencies):.1f} ms, "
            f"p99 {1000 * latencies[int(len(latencies) * 0.99) - 1]:.1f} ms",
            flush=True,
        )
        rows = await fetch(
            "SELECT p.sku, p.stock, COALESCE(sum(i.quantity) FILTER (WHERE o.id IS NOT NULL), 0) "
            "AS sold FROM product p LEFT JOIN order_item i ON i.product = p.id "
            "LEFT JOIN orders o ON o.id = i.\"order\" AND o.status = 'pending_payment' "
            "GROUP BY p.sku, p.stock ORDER BY p.sku"
        )
        oversold = [
            row["sku"]
            for row in rows
            if row["stock"] < 0 or row["stock"] + row["sold"] != args.stock
        ]
        sold = sum(int(row["sold"]) for row in rows)
        print(
            f"units sold {sold} of {args.products * args.stock}; stock left + sold = start "
            f"for every product: {'yes' if not oversold else 'NO: ' + ', '.join(oversold)}",
            flush=True,
        )
        if oversold:
            raise SystemExit("oversold")


if __name__ == "__main__":
    asyncio.run(main())
