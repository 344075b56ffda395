#!/usr/bin/env python3
# Python baseline for the streaming benchmark: a Binance stream collector written the usual way (websockets, json, sqlite3).
# SPDX-License-Identifier: MIT
#
# Connects to a combined stream URL, and for every message: json.loads, then a trade row, a
# book_top row (bookTicker) or an update of a local order book (depthUpdate: price -> size dicts,
# size 0 removes). Rows are inserted with executemany and committed every 250 ms or 10,000 rows
# (as coinpipe's micro-batches), the book's top 5 levels a side written every second. Tables and
# keys as coinpipe's (trade keyed on exchange, symbol, trade_id), so both count the same rows.
# --latency FILE: after each commit, the commit time minus each committed trade's event time (ms),
# one per line. Usage: stream_collector.py --url ws://... --db FILE [--latency FILE]
import argparse
import asyncio
import json
import sqlite3
import time

import websockets

DDL = [
    "CREATE TABLE IF NOT EXISTS trade (exchange TEXT, symbol TEXT, native_symbol TEXT, trade_id TEXT, ts INTEGER,"
    " received_at INTEGER, price NUMERIC, size NUMERIC, quote_size NUMERIC, side TEXT,"
    " PRIMARY KEY (exchange, symbol, trade_id))",
    "CREATE TABLE IF NOT EXISTS book_top (exchange TEXT, symbol TEXT, native_symbol TEXT, ts INTEGER,"
    " received_at INTEGER, sequence INTEGER, bid NUMERIC, bid_size NUMERIC, ask NUMERIC, ask_size NUMERIC,"
    " levels INTEGER, PRIMARY KEY (exchange, symbol, ts))",
    "CREATE TABLE IF NOT EXISTS book_level (exchange TEXT, symbol TEXT, ts INTEGER, sequence INTEGER, side TEXT,"
    " level INTEGER, price NUMERIC, size NUMERIC, PRIMARY KEY (exchange, symbol, ts, side, level))",
]


def norm(sym):
    return sym[:-4] + "-" + sym[-4:] if sym.endswith("USDT") else sym


async def collect(url, db_path, latency_path):
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    for d in DDL:
        db.execute(d)
    trades, tops, levels, lat = [], [], [], []
    books = {}
    last_commit = last_book = time.time()
    lat_out = open(latency_path, "a") if latency_path else None

    def commit():
        db.executemany("INSERT OR IGNORE INTO trade VALUES (?,?,?,?,?,?,?,?,?,?)", trades)
        db.executemany("INSERT OR IGNORE INTO book_top VALUES (?,?,?,?,?,?,?,?,?,?,?)", tops)
        db.executemany("INSERT OR IGNORE INTO book_level VALUES (?,?,?,?,?,?,?,?)", levels)
        db.commit()
        if lat_out:
            now = int(time.time() * 1000)
            lat_out.write("".join("%d\n" % (now - t[4]) for t in trades))
            lat_out.flush()
        trades.clear()
        tops.clear()
        levels.clear()

    async def quiet_commits():  # what is pending when no message comes
        while True:
            await asyncio.sleep(0.25)
            if time.time() - last_commit >= 0.25:
                commit()

    timer = asyncio.ensure_future(quiet_commits())
    # no keepalive pings: behind a replay's megabytes of queued frames the pong comes too late
    async with websockets.connect(url, max_size=2 ** 24, ping_interval=None) as ws:
        async for msg in ws:
            now = int(time.time() * 1000)
            d = json.loads(msg).get("data", {})
            sym = d.get("s")
            if d.get("e") == "trade":
                trades.append(("binance", norm(sym), sym, str(d["t"]), d["T"], now, d["p"], d["q"], None,
                               "sell" if d["m"] else "buy"))
            elif d.get("e") == "depthUpdate":
                book = books.setdefault(sym, ({}, {}))
                for side, key in ((0, "b"), (1, "a")):
                    for price, size in d[key]:
                        if float(size) == 0:
                            book[side].pop(price, None)
                        else:
                            book[side][price] = size
            elif "u" in d:
                tops.append(("binance", norm(sym), sym, now, now, d["u"], d["b"], d["B"], d["a"], d["A"], 1))
            t = time.time()
            if t - last_book >= 1.0:
                ts = int(t * 1000)
                for s, (bids, asks) in books.items():
                    for side, book, rev in (("bid", bids, True), ("ask", asks, False)):
                        for i, p in enumerate(sorted(book, key=float, reverse=rev)[:5]):
                            levels.append(("binance", norm(s), ts, None, side, i, p, book[p]))
                last_book = t
            if len(trades) + len(tops) >= 10000 or t - last_commit >= 0.25:
                commit()
                last_commit = t
    timer.cancel()
    commit()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--latency")
    a = ap.parse_args()
    try:
        asyncio.run(collect(a.url, a.db, a.latency))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
