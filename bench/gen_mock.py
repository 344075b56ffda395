#!/usr/bin/env python3
# Generates the benchmark's mock Binance spot data set: static files plus an nginx map.
# SPDX-License-Identifier: MIT
#
# Deterministic (seeded per symbol, fixed clock): the same arguments give the same bytes, so
# figures stay comparable across commits. Formats are Binance's exact ones (decimals as
# strings with 8 places, klines as 12-element arrays). Layout under OUT/www:
#   exchangeInfo.json          every generated symbol (the source validates against it)
#   t/SYM.json                 GET /api/v3/ticker/24hr?symbol=SYM
#   tb/FIRST-LAST.json         GET /api/v3/ticker/24hr?symbols=["FIRST",...,"LAST"] for each
#                              chunk of 100 of the first N symbols, for every N of --batches
#   d/SYM.json                 GET /api/v3/depth?symbol=SYM&limit=100 (100 levels a side)
#   k/SYM.json                 GET /api/v3/klines?symbol=SYM&interval=1m&limit=500 (all closed)
#   kb/SYM/START.json          GET /api/v3/klines?...&startTime=START (backfill pages, 1000
#                              candles each, for --backfill-symbol over [from, to))
# Usage: gen_mock.py --out DIR [--symbols 800] [--batches 50,200,800] [--backfill-symbol SYM]
import argparse
import json
import os
import random

T_END = 1767225600000          # 2026-01-01T00:00:00Z: every candle closes before it
MIN = 60000
CANDLES = 500
LEVELS = 100
BF_FROM = 1735689600000        # 2025-01-01T00:00:00Z
BF_TO = T_END                  # one year: 525,600 one-minute candles
BF_PAGE = 1000


def symbols(n):
    return ["S%03dUSDT" % i for i in range(n)]


def d8(x):
    return "%.8f" % x


def base_price(i):
    return 0.5 + (i * 7919 % 1000) * 1.37


def kline_row(rng, t, p):
    o = p
    c = max(0.0001, o * (1 + rng.uniform(-0.002, 0.002)))
    h = max(o, c) * (1 + rng.uniform(0, 0.001))
    lo = min(o, c) * (1 - rng.uniform(0, 0.001))
    v = rng.uniform(1, 500)
    tb = v * rng.uniform(0.3, 0.7)
    n = rng.randint(10, 2000)
    return ('[%d,"%s","%s","%s","%s","%s",%d,"%s",%d,"%s","%s","0"]'
            % (t, d8(o), d8(h), d8(lo), d8(c), d8(v), t + MIN - 1, d8(v * o), n, d8(tb), d8(tb * o)), c)


def ticker(i, sym, rng):
    p = base_price(i)
    o = p * (1 + rng.uniform(-0.05, 0.05))
    first = 100000 + i * 1000
    return {
        "symbol": sym, "priceChange": d8(p - o), "priceChangePercent": "%.3f" % ((p - o) / o * 100),
        "weightedAvgPrice": d8((p + o) / 2), "prevClosePrice": d8(o), "lastPrice": d8(p),
        "lastQty": d8(rng.uniform(0.1, 10)), "bidPrice": d8(p * 0.9999), "bidQty": d8(rng.uniform(1, 50)),
        "askPrice": d8(p * 1.0001), "askQty": d8(rng.uniform(1, 50)), "openPrice": d8(o),
        "highPrice": d8(max(p, o) * 1.01), "lowPrice": d8(min(p, o) * 0.99),
        "volume": d8(rng.uniform(1e3, 1e6)), "quoteVolume": d8(rng.uniform(1e5, 1e8)),
        "openTime": T_END - 86400000, "closeTime": T_END - 1, "firstId": first,
        "lastId": first + 999, "count": 1000,
    }


def depth(i, rng):
    p = base_price(i)
    tick = p * 0.0001
    bids = [[d8(p - tick * (k + 1)), d8(rng.uniform(0.01, 100))] for k in range(LEVELS)]
    asks = [[d8(p + tick * (k + 1)), d8(rng.uniform(0.01, 100))] for k in range(LEVELS)]
    return {"lastUpdateId": 4000000000 + i, "bids": bids, "asks": asks}


def exchange_info(syms):
    return {
        "timezone": "UTC", "serverTime": T_END,
        "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}],
        "exchangeFilters": [],
        "symbols": [{"symbol": s, "status": "TRADING", "baseAsset": s[:-4], "baseAssetPrecision": 8,
                     "quoteAsset": "USDT", "quotePrecision": 8, "quoteAssetPrecision": 8,
                     "orderTypes": ["LIMIT", "MARKET"], "icebergAllowed": True, "ocoAllowed": True,
                     "isSpotTradingAllowed": True, "isMarginTradingAllowed": True, "filters": [],
                     "permissions": []} for s in syms],
    }


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--symbols", type=int, default=800)
    ap.add_argument("--batches", default="50,200,800")
    ap.add_argument("--backfill-symbol", default="")
    a = ap.parse_args()
    www = os.path.join(a.out, "www")
    syms = symbols(a.symbols)
    write(os.path.join(www, "exchangeInfo.json"), json.dumps(exchange_info(syms), separators=(",", ":")))
    tick = []
    for i, s in enumerate(syms):
        rng = random.Random(i)
        t = ticker(i, s, rng)
        tick.append(t)
        write(os.path.join(www, "t", s + ".json"), json.dumps(t, separators=(",", ":")))
        write(os.path.join(www, "d", s + ".json"), json.dumps(depth(i, rng), separators=(",", ":")))
        p = base_price(i)
        rows = []
        for c in range(CANDLES):
            r, p = kline_row(rng, T_END - (CANDLES - c) * MIN, p)
            rows.append(r)
        write(os.path.join(www, "k", s + ".json"), "[" + ",".join(rows) + "]")
    for n in sorted({int(x) for x in a.batches.split(",") if x}):
        n = min(n, len(syms))
        for lo in range(0, n, 100):
            hi = min(lo + 100, n)
            write(os.path.join(www, "tb", "%s-%s.json" % (syms[lo], syms[hi - 1])),
                  json.dumps(tick[lo:hi], separators=(",", ":")))
    if a.backfill_symbol:
        rng = random.Random(424242)
        p = 100.0
        d = os.path.join(www, "kb", a.backfill_symbol)
        os.makedirs(d, exist_ok=True)
        for start in range(BF_FROM, BF_TO, BF_PAGE * MIN):
            rows = []
            for t in range(start, min(start + BF_PAGE * MIN, BF_TO), MIN):
                r, p = kline_row(rng, t, p)
                rows.append(r)
            with open(os.path.join(d, "%d.json" % start), "w", encoding="ascii") as f:
                f.write("[" + ",".join(rows) + "]")
        # the page after the range (the source stops on a short page, but answer it anyway)
        write(os.path.join(d, "%d.json" % BF_TO), "[]")


if __name__ == "__main__":
    main()
