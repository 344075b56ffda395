#!/usr/bin/env python3
# Python baseline: a Binance collector written the way such scripts usually are (requests, pandas, sqlite3).
# SPDX-License-Identifier: MIT
#
# One cycle, the same work as the benchmark pipeline (binance-spot → spread → sqlite): for each
# symbol GET ticker/24hr, depth?limit=100 and klines?interval=1m&limit=500, build pandas
# DataFrames, derive book_top and spread (mid, spread, bps, imbalance, depth within ±10 bps),
# and write the ticker, book_top, spread and ohlcv tables of a SQLite file with to_sql.
# --threads 1 is the usual sequential loop; --threads 16 fetches through a thread pool.
# Usage: collector.py --base-url URL --symbols-file FILE --db FILE [--threads N]
import argparse
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import requests
from requests.adapters import HTTPAdapter

KLINE_COLS = ["open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
              "trades", "taker_buy_base", "taker_buy_quote", "ignore"]
DDL = [
    "CREATE TABLE IF NOT EXISTS ticker (exchange TEXT, symbol TEXT, ts INTEGER, received_at INTEGER,"
    " last REAL, bid REAL, bid_qty REAL, ask REAL, ask_qty REAL, open REAL, high REAL, low REAL,"
    " volume REAL, quote_volume REAL, price_change_pct REAL, trades INTEGER,"
    " PRIMARY KEY (exchange, symbol, ts))",
    "CREATE TABLE IF NOT EXISTS book_top (exchange TEXT, symbol TEXT, ts INTEGER, received_at INTEGER,"
    " seq INTEGER, bid REAL, bid_qty REAL, ask REAL, ask_qty REAL, PRIMARY KEY (exchange, symbol, ts))",
    "CREATE TABLE IF NOT EXISTS spread (exchange TEXT, symbol TEXT, ts INTEGER, mid REAL, spread REAL,"
    " spread_bps REAL, imbalance REAL, bid_depth REAL, ask_depth REAL, PRIMARY KEY (exchange, symbol, ts))",
    "CREATE TABLE IF NOT EXISTS ohlcv (exchange TEXT, symbol TEXT, interval TEXT, open_time INTEGER,"
    " close_time INTEGER, open REAL, high REAL, low REAL, close REAL, volume REAL, quote_volume REAL,"
    " trades INTEGER, taker_buy_base REAL, taker_buy_quote REAL, received_at INTEGER,"
    " PRIMARY KEY (exchange, symbol, interval, open_time))",
]


def fetch(session, base, sym):
    t = session.get(f"{base}/api/v3/ticker/24hr", params={"symbol": sym}, timeout=10)
    t.raise_for_status()
    d = session.get(f"{base}/api/v3/depth", params={"symbol": sym, "limit": 100}, timeout=10)
    d.raise_for_status()
    k = session.get(f"{base}/api/v3/klines", params={"symbol": sym, "interval": "1m", "limit": 500}, timeout=10)
    k.raise_for_status()
    return sym, t.json(), d.json(), k.json(), int(time.time() * 1000)


def process(sym, t, d, k, now):
    tk = pd.DataFrame([t])
    tk = pd.DataFrame({
        "exchange": "binance", "symbol": sym, "ts": tk["closeTime"].astype("int64"), "received_at": now,
        "last": tk["lastPrice"].astype(float), "bid": tk["bidPrice"].astype(float),
        "bid_qty": tk["bidQty"].astype(float), "ask": tk["askPrice"].astype(float),
        "ask_qty": tk["askQty"].astype(float), "open": tk["openPrice"].astype(float),
        "high": tk["highPrice"].astype(float), "low": tk["lowPrice"].astype(float),
        "volume": tk["volume"].astype(float), "quote_volume": tk["quoteVolume"].astype(float),
        "price_change_pct": tk["priceChangePercent"].astype(float), "trades": tk["count"].astype("int64"),
    })
    bids = pd.DataFrame(d["bids"], columns=["price", "qty"]).astype(float)
    asks = pd.DataFrame(d["asks"], columns=["price", "qty"]).astype(float)
    bid, ask = bids.iloc[0], asks.iloc[0]
    book = pd.DataFrame([{"exchange": "binance", "symbol": sym, "ts": now, "received_at": now,
                          "seq": d["lastUpdateId"], "bid": bid["price"], "bid_qty": bid["qty"],
                          "ask": ask["price"], "ask_qty": ask["qty"]}])
    mid = (bid["price"] + ask["price"]) / 2
    band = mid * 10 / 10000
    spread = pd.DataFrame([{
        "exchange": "binance", "symbol": sym, "ts": now, "mid": mid, "spread": ask["price"] - bid["price"],
        "spread_bps": (ask["price"] - bid["price"]) / mid * 10000,
        "imbalance": (bid["qty"] - ask["qty"]) / (bid["qty"] + ask["qty"]),
        "bid_depth": bids.loc[bids["price"] >= mid - band, "qty"].sum(),
        "ask_depth": asks.loc[asks["price"] <= mid + band, "qty"].sum(),
    }])
    kl = pd.DataFrame(k, columns=KLINE_COLS).drop(columns=["ignore"])
    for c in ["open", "high", "low", "close", "volume", "quote_volume", "taker_buy_base", "taker_buy_quote"]:
        kl[c] = kl[c].astype(float)
    kl = kl[kl["close_time"] < now]  # closed candles only
    kl.insert(0, "interval", "1m")
    kl.insert(0, "symbol", sym)
    kl.insert(0, "exchange", "binance")
    kl["received_at"] = now
    return tk, book, spread, kl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--symbols-file", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    with open(a.symbols_file, encoding="ascii") as f:
        syms = [s.strip() for s in f if s.strip()]
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=max(10, a.threads)))
    if a.threads > 1:
        with ThreadPoolExecutor(max_workers=a.threads) as pool:
            raw = list(pool.map(lambda s: fetch(session, a.base_url, s), syms))
    else:
        raw = [fetch(session, a.base_url, s) for s in syms]
    parts = [process(*r) for r in raw]
    con = sqlite3.connect(a.db)
    for ddl in DDL:
        con.execute(ddl)
    for i, table in enumerate(["ticker", "book_top", "spread", "ohlcv"]):
        pd.concat([p[i] for p in parts], ignore_index=True).to_sql(table, con, if_exists="append", index=False)
    con.commit()
    con.close()


if __name__ == "__main__":
    main()
