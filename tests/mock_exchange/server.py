#!/usr/bin/env python3
# Mock exchange for the source tests: Binance spot/futures, CoinGecko, Coinbase Exchange and Kraken on 127.0.0.1.
# SPDX-License-Identifier: MIT
#
# Serves the recorded payloads of tests/fixtures/ (built from the official API documentation
# examples) in each exchange's exact format, generates klines / candles / funding history
# deterministically for any range, sends X-MBX-USED-WEIGHT-1m like Binance, records every
# request and injects programmable faults.
#
# Usage: server.py [--port-file FILE]   (listens on a port the OS picks; prints "PORT n")
#
# Control endpoints (all GET, answers JSON):
#   /_mock/reset                         forget requests and faults, restore config
#   /_mock/requests                      {"requests": [{"path","query","t_ms","weight","headers"}...]}
#                                        (headers: CoinGecko's x-cg-* key headers as sent)
#   /_mock/stats?window_ms=W             {"max_window_weight": max Binance weight in any W ms, "count": n}
#   /_mock/config?now_ms=&window_ms=     pin the exchange clock (klines up to now) / used-weight window
#   /_mock/config?outage=START-END       no klines / candles open in [START, END) ms (an exchange outage)
#   /_mock/config?kraken_volume=P:V,...  Kraken's 24 h volume of pair P in the Ticker of every pair
#   /_mock/config?coinbase_volume=P:V,.. Coinbase's 24 h volume of product P in its /stats
#   /_mock/config?binance_volume=S:V,... Binance's quoteVolume of symbol S in the ticker/24hr of all symbols
#   /_mock/fault?path=P&kind=K[&status=&retry_after=&count=&delay_ms=&symbol=&file=]
#       path   prefix of the request path the fault applies to ("/api/v3/depth")
#       kind   status (HTTP `status`, default 500, with Retry-After when given), slow (delay_ms
#              then the normal answer), truncate (half the JSON), malformed, html (an HTML 502
#              page), empty ([]), unknown_symbol (Binance 400 {"code":-1121,...}), fixture (the
#              recorded payload tests/fixtures/`file` instead)
#       count  how many requests it hits (default 1; -1 = forever), after letting `skip` pass
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures")

LOCK = threading.Lock()
STATE = {}


def reset():
    STATE.update(requests=[], faults=[], now_ms=None, window_ms=60000, outage=None,
                 kraken_volume=dict(KRAKEN_VOLUME), coinbase_volume={}, binance_volume={})


# Kraken's 24 h base volume (Ticker v[1]) per pair when the Ticker of every pair is asked
# (/_mock/config?kraken_volume=PAIR:V,PAIR:V changes them; VWAP p[1] stays the fixture's)
KRAKEN_VOLUME = {"XXBTZUSD": "4412.73601799", "XETHZUSD": "3000.5", "SOLUSD": "2000.25", "XDGUSD": "1000",
                 "USDTZUSD": "500", "XETHXXBT": "100"}


reset()


def fixture(rel):
    with open(os.path.join(FIX, rel), encoding="utf-8") as f:
        return f.read()


def now_ms():
    return STATE["now_ms"] if STATE["now_ms"] is not None else int(time.time() * 1000)


# ---- symbols --------------------------------------------------------------------------------

SYNTH = ["SYM%03dUSDT" % i for i in range(200)]
# spot symbols beside the recorded ones (the shipped examples collect BTC, ETH and BNB against USDT)
EXTRA_SPOT = ["ETHUSDT", "BNBUSDT"]


def spot_info():
    info = json.loads(fixture("binance/exchangeInfo.json"))
    tmpl = info["symbols"][-1]
    for s in EXTRA_SPOT + SYNTH:
        e = dict(tmpl)
        e.update(symbol=s, baseAsset=s[:-4], quoteAsset="USDT")
        info["symbols"].append(e)
    return info


def fut_info():
    info = json.loads(fixture("binance_futures/exchangeInfo.json"))
    tmpl = info["symbols"][0]
    for s in SYNTH:
        e = dict(tmpl)
        e.update(symbol=s, pair=s, baseAsset=s[:-4], quoteAsset="USDT")
        info["symbols"].append(e)
    return info


SPOT_SYMBOLS = {e["symbol"] for e in spot_info()["symbols"]}
FUT_SYMBOLS = {e["symbol"] for e in fut_info()["symbols"]}
COINBASE_PRODUCTS = {"BTC-USD", "ETH-USD", "ETH-BTC"}

INTERVALS = {"1m": 60000, "3m": 180000, "5m": 300000, "15m": 900000, "30m": 1800000, "1h": 3600000,
             "2h": 7200000, "4h": 14400000, "6h": 21600000, "8h": 28800000, "12h": 43200000,
             "1d": 86400000, "3d": 259200000, "1w": 604800000}


def with_symbol(text, native):
    o = json.loads(text)
    o["symbol"] = native
    return o


# ---- Binance weights (as documented) ----------------------------------------------------------

def binance_weight(path, q):
    fut = path.startswith("/fapi/")
    ep = path.rsplit("/", 1)[-1]
    if path.endswith("/ticker/24hr"):
        if fut:
            return 1 if "symbol" in q else 40
        if "symbol" in q:
            return 2
        if "symbols" in q:
            n = len(json.loads(q["symbols"][0]))
            return 2 if n <= 20 else 40 if n <= 100 else 80
        return 80
    limit = int(q.get("limit", ["100"])[0]) if ep in ("depth", "klines") else 0
    if ep == "exchangeInfo":
        return 1 if fut else 20
    if ep == "depth":
        if fut:
            return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    if ep == "trades":
        return 5 if fut else 25
    if ep == "klines":
        if not fut:
            return 2
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10
    if ep == "premiumIndex":
        return 1 if "symbol" in q else 10
    return 1


def is_binance(path):
    return path.startswith("/fapi/") or (path.startswith("/api/v3/") and not path.startswith(
        ("/api/v3/coins", "/api/v3/simple", "/api/v3/global")))


# ---- generated series ---------------------------------------------------------------------------

def dec(x, places=8):
    return "%.*f" % (places, x)


def kline(t, iv):
    k = (t // iv) % 97
    o = 100 + k
    c = o + 0.5
    return [t, dec(o), dec(c + 1), dec(o - 1), dec(c), dec(10 + k), t + iv - 1,
            dec((10 + k) * o), 10 + k, dec(5 + k / 2), dec((5 + k / 2) * o), "0"]


def in_outage(t):
    o = STATE["outage"]
    return o is not None and o[0] <= t < o[1]


def klines(q):
    iv = INTERVALS[q["interval"][0]]
    limit = min(int(q.get("limit", ["500"])[0]), 1000)
    now = now_ms()
    last_open = now - now % iv
    end = int(q["endTime"][0]) if "endTime" in q else None
    if "startTime" in q:
        s = int(q["startTime"][0])
        t = s + (-s) % iv
        out = []
        while len(out) < limit and t <= last_open and (end is None or t <= end):
            if not in_outage(t):
                out.append(kline(t, iv))
            t += iv
        return out
    top = last_open if end is None else min(last_open, end - end % iv)
    first = top - (limit - 1) * iv
    return [kline(t, iv) for t in range(first, top + 1, iv) if not in_outage(t)]


def funding_history(q):
    step = 8 * 3600 * 1000
    limit = min(int(q.get("limit", ["100"])[0]), 1000)
    s = int(q.get("startTime", ["0"])[0])
    end = int(q["endTime"][0]) if "endTime" in q else now_ms()
    t = s + (-s) % step
    out = []
    while len(out) < limit and t <= end and t <= now_ms():
        k = (t // step) % 13
        out.append({"symbol": q["symbol"][0], "fundingTime": t, "fundingRate": "0.000%d0000" % (k + 1),
                    "markPrice": "34287.%08d" % k})
        t += step
    return out


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + "Z"


def parse_iso(s):
    import calendar
    s = s.rstrip("Z").split(".")[0]
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%S")) * 1000


def coinbase_candles(q):
    g = int(q.get("granularity", ["60"])[0]) * 1000
    now = now_ms()
    last = now - now % g
    end = parse_iso(q["end"][0]) if "end" in q else last
    start = parse_iso(q["start"][0]) if "start" in q else end - 299 * g
    t = start + (-start) % g
    out = []
    while t <= min(end, last) and len(out) < 300:
        if in_outage(t):
            t += g
            continue
        k = (t // g) % 89
        o = 6000 + k
        out.append([t // 1000, o - 2.5, o + 3.25, o, o + 1.5, 1.5 + k / 100])
        t += g
    out.reverse()  # newest first, as Coinbase sends them
    return out


# ---- CoinGecko ----------------------------------------------------------------------------------

def gecko_markets(q):
    base = json.loads(fixture("coingecko/coins_markets.json"))
    coins = list(base)
    for i in range(3, 601):
        c = dict(base[1])
        c.update(id="coin-%03d" % i, symbol="c%03d" % i, name="Coin %03d" % i, market_cap_rank=i)
        coins.append(c)
    if "ids" in q:
        ids = q["ids"][0].split(",")
        coins = [c for c in coins if c["id"] in ids]
    per = min(int(q.get("per_page", ["100"])[0]), 250)
    page = int(q.get("page", ["1"])[0])
    return coins[(page - 1) * per:page * per]


GECKO_COINS = {"bitcoin", "ethereum", "tether", "solana"} | {"coin-%03d" % i for i in range(3, 601)}


def gecko_chart(q):
    """/coins/{id}/market_chart/range with CoinGecko's automatic granularity: a range of at most a
    day that reaches the current time gets 5-minutely points, up to 90 days hourly, longer daily
    (00:00 UTC)."""
    frm, to = int(q["from"][0]), int(q["to"][0])
    now = now_ms() // 1000
    span = to - frm
    step = 300 if span <= 86400 and to >= now - 300 else 3600 if span <= 90 * 86400 else 86400
    out = {"prices": [], "market_caps": [], "total_volumes": []}
    t = frm + (-frm) % step
    while t <= min(to, now):
        k = (t // step) % 61
        price = 60000 + k * 1.5 + 0.25
        out["prices"].append([t * 1000, price])
        out["market_caps"].append([t * 1000, price * 19600000])
        out["total_volumes"].append([t * 1000, 1e10 + k * 1e6])
        t += step
    return out


# ---- Kraken -------------------------------------------------------------------------------------
# Every answer is the {"error": [...], "result": ...} envelope, HTTP 200 also for errors, as Kraken
# sends it. OHLC serves only the latest 720 candles (the newest one still open), whatever `since`
# asks; Trades are generated (one every 7 s of the clock) so that `since` paging can be tested.

KRAKEN_IV = {1, 5, 15, 30, 60, 240, 1440, 10080, 21600}


def kraken_pairs():
    return json.loads(fixture("kraken/assetpairs.json"))["result"]


def kraken_key(name):
    """The pair key (XXBTZUSD) for a request's pair (key or altname), or None."""
    for k, v in kraken_pairs().items():
        if name in (k, v["altname"]):
            return k
    return None


def kraken_err(msg):
    return 200, json.dumps({"error": [msg]})


def kraken_ok(result):
    return 200, json.dumps({"error": [], "result": result})


def kraken_candle(t, iv):
    k = (t // iv) % 83
    o = 30000 + k
    return [t, "%.1f" % o, "%.1f" % (o + 2.5), "%.1f" % (o - 1.5), "%.1f" % (o + 0.7),
            "%.1f" % (o + 0.3), "%.8f" % (1 + k / 64), 3 + k]


def kraken_ohlc(key, q):
    iv = int(q.get("interval", ["1"])[0])
    if iv not in KRAKEN_IV:
        return kraken_err("EQuery:Invalid arguments:interval")
    ivs = iv * 60
    now = now_ms() // 1000
    current = now - now % ivs
    first = current - 719 * ivs
    since = int(q["since"][0]) if "since" in q else None
    rows = []
    for t in range(first, current + 1, ivs):
        if since is not None and t <= since:
            continue
        if in_outage(t * 1000):
            continue
        rows.append(kraken_candle(t, ivs))
    return kraken_ok({key: rows, "last": current - ivs})


KRAKEN_TRADE_S = 7


def kraken_trade(n):
    t = n * KRAKEN_TRADE_S
    return ["%d.%d" % (30000 + n % 101, n % 10), "%.8f" % (0.001 * (1 + n % 17)),
            float("%d.%04d" % (t, n % 10000)), "b" if n % 3 else "s", "l" if n % 2 else "m", "", n]


def kraken_trades(key, q):
    count = min(int(q.get("count", ["1000"])[0]), 1000)
    now = now_ms() // 1000
    newest = now // KRAKEN_TRADE_S
    if "since" in q:
        s = q["since"][0]
        since_s = int(s) / 1e9 if len(s) > 12 else int(s)
        n = int(since_s // KRAKEN_TRADE_S) + 1
        while n * KRAKEN_TRADE_S + (n % 10000) / 1e4 <= since_s:
            n += 1
        ids = list(range(n, min(newest, n + count - 1) + 1))
    else:
        ids = list(range(newest - count + 1, newest + 1))
    rows = [kraken_trade(n) for n in ids]
    last = "%d%04d00000" % (ids[-1] * KRAKEN_TRADE_S, ids[-1] % 10000) if ids else q.get("since", ["0"])[0]
    text = json.dumps({"error": [], "result": {key: rows, "last": last}})
    return 200, text


def kraken(path, q):
    ep = path[len("/0/public/"):]
    if ep == "AssetPairs":
        return 200, fixture("kraken/assetpairs.json")
    if ep not in ("Ticker", "Depth", "Trades", "OHLC"):
        return kraken_err("EGeneral:Unknown method")
    if ep == "Ticker" and "pair" not in q:  # every pair, with the volumes of STATE
        one = json.loads(fixture("kraken/ticker.json"))["result"]["XXBTZUSD"]
        out = {}
        for k in kraken_pairs():
            t = json.loads(json.dumps(one))
            t["v"][1] = STATE["kraken_volume"].get(k, "0")
            out[k] = t
        return kraken_ok(out)
    if "pair" not in q:
        return kraken_err("EGeneral:Invalid arguments")
    names = q["pair"][0].split(",") if ep == "Ticker" else [q["pair"][0]]
    keys = [kraken_key(n) for n in names]
    if None in keys:
        return kraken_err("EQuery:Unknown asset pair")
    if ep == "Ticker":
        one = json.loads(fixture("kraken/ticker.json"))["result"]["XXBTZUSD"]
        return kraken_ok({k: one for k in keys})
    if ep == "Depth":
        book = json.loads(fixture("kraken/depth.json"))["result"]["XXBTZUSD"]
        n = int(q.get("count", ["100"])[0])
        return kraken_ok({keys[0]: {"asks": book["asks"][:n], "bids": book["bids"][:n]}})
    if ep == "Trades":
        return kraken_trades(keys[0], q)
    return kraken_ohlc(keys[0], q)


# ---- the handler ----------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body, ctype="application/json", headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urlsplit(self.path)
        path, q = u.path, parse_qs(u.query, keep_blank_values=True)
        if path.startswith("/_mock/"):
            return self.control(path, q)
        t = time.time() * 1000
        weight = binance_weight(path, q) if is_binance(path) else 0
        with LOCK:
            keys = {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-cg-")}
            STATE["requests"].append({"path": path, "query": u.query, "t_ms": t, "weight": weight, "headers": keys})
            win = STATE["window_ms"]
            used = sum(r["weight"] for r in STATE["requests"] if r["t_ms"] > t - win)
            fault = None
            for f in STATE["faults"]:
                if f["count"] != 0 and path.startswith(f["path"]) and (
                        not f.get("symbol") or q.get("symbol", [""])[0] == f["symbol"]
                        or f["symbol"] in path):
                    if f["skip"] > 0:
                        f["skip"] -= 1
                        continue
                    if f["count"] > 0:
                        f["count"] -= 1
                    fault = dict(f)
                    break
        hdr = {"X-MBX-USED-WEIGHT-1m": str(used)} if is_binance(path) else {}
        try:
            code, body = self.route(path, q, fault, hdr)
        except (KeyError, ValueError, IndexError) as e:
            code, body = 400, json.dumps({"code": -1102, "msg": "Mandatory parameter missing or malformed: %s" % e})
        if fault and fault["kind"] == "truncate" and code == 200:
            body = body[: max(1, len(body) // 2)]
        if isinstance(body, str) and body.startswith("<"):
            return self.send(code, body, "text/html", hdr)
        self.send(code, body, headers=hdr)

    def route(self, path, q, fault, hdr):
        if fault:
            k = fault["kind"]
            if k == "status":
                if fault.get("retry_after") is not None:
                    hdr["Retry-After"] = str(fault["retry_after"])
                st = fault.get("status", 500)
                if st == 418:
                    return 418, json.dumps({"code": -1003, "msg": "Way too much request weight used; IP banned until 1712512855000."})
                if st == 429:
                    return 429, json.dumps({"code": -1003, "msg": "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."})
                return st, json.dumps({"code": -1001, "msg": "Internal error; unable to process your request. Please try again."})
            if k == "slow":
                time.sleep(fault.get("delay_ms", 1000) / 1000.0)
            if k == "malformed":
                return 200, '{"symbol": "BNBBTC", "lastPrice": 4.0.0, ]'
            if k == "html":
                return 502, "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            if k == "empty":
                return 200, "[]"
            if k == "unknown_symbol":
                return 400, json.dumps({"code": -1121, "msg": "Invalid symbol."})
            if k == "fixture":
                return 200, fixture(fault["file"])
        return self.payload(path, q)

    def bad_symbol(self):
        return 400, json.dumps({"code": -1121, "msg": "Invalid symbol."})

    def payload(self, path, q):
        if path.startswith("/0/public/"):
            return kraken(path, q)
        # CoinGecko
        if path == "/api/v3/coins/markets":
            return 200, json.dumps(gecko_markets(q))
        if path.startswith("/api/v3/coins/"):
            parts = path.split("/")  # ['', 'api', 'v3', 'coins', id, ...]
            if parts[4] not in GECKO_COINS:
                return 404, json.dumps({"error": "coin not found"})
            if parts[5:] == ["market_chart", "range"]:
                return 200, json.dumps(gecko_chart(q))
            if len(parts) == 5:
                c = json.loads(fixture("coingecko/coin_bitcoin.json"))
                c["id"] = parts[4]
                return 200, json.dumps(c)
            return 404, json.dumps({"error": "Incorrect path. Please check https://www.coingecko.com/api/"})
        if path == "/api/v3/simple/price":
            allp = json.loads(fixture("coingecko/simple_price.json"))
            ids = q["ids"][0].split(",")
            return 200, json.dumps({i: allp[i] for i in ids if i in allp})
        if path == "/api/v3/global":
            return 200, fixture("coingecko/global.json")
        # Coinbase Exchange
        if path == "/products":
            return 200, fixture("coinbase/products.json")
        if path.startswith("/products/"):
            parts = path.split("/")
            if len(parts) != 4 or parts[2] not in COINBASE_PRODUCTS:
                return 404, json.dumps({"message": "NotFound"})
            what = parts[3]
            if what == "ticker":
                return 200, fixture("coinbase/ticker.json")
            if what == "stats":
                if parts[2] in STATE["coinbase_volume"]:  # /_mock/config?coinbase_volume=ID:V
                    st = json.loads(fixture("coinbase/stats.json"))
                    st["volume"] = STATE["coinbase_volume"][parts[2]]
                    return 200, json.dumps(st)
                return 200, fixture("coinbase/stats.json")
            if what == "book":
                return 200, fixture("coinbase/book_level2.json")
            if what == "trades":
                return 200, fixture("coinbase/trades.json")
            if what == "candles":
                return 200, json.dumps(coinbase_candles(q))
            return 404, json.dumps({"message": "NotFound"})
        # Binance spot and futures
        fut = path.startswith("/fapi/v1/")
        pre, syms, d = ("/fapi/v1", FUT_SYMBOLS, "binance_futures") if fut else ("/api/v3", SPOT_SYMBOLS, "binance")
        ep = path[len(pre):] if path.startswith(pre) else None
        if ep == "/exchangeInfo":
            info = fut_info() if fut else spot_info()
            if not fut and "symbols" in q:  # spot lists only these, and refuses a symbol it does not have
                want = json.loads(q["symbols"][0])
                if any(s not in syms for s in want):
                    return self.bad_symbol()
                info["symbols"] = [e for e in info["symbols"] if e["symbol"] in want]
            return 200, json.dumps(info)
        sym = q.get("symbol", [None])[0]
        if sym is not None and sym not in syms:
            return self.bad_symbol()
        if ep == "/ticker/24hr":
            if "symbols" in q:
                want = json.loads(q["symbols"][0])
                if any(s not in syms for s in want):
                    return self.bad_symbol()
                return 200, json.dumps([with_symbol(fixture(d + "/ticker_24hr.json"), s) for s in want])
            if sym:
                return 200, json.dumps(with_symbol(fixture(d + "/ticker_24hr.json"), sym))
            out = [with_symbol(fixture(d + "/ticker_24hr.json"), s) for s in sorted(syms)]
            for t in out:  # /_mock/config?binance_volume=SYMBOL:QUOTEVOLUME
                if t["symbol"] in STATE["binance_volume"]:
                    t["quoteVolume"] = STATE["binance_volume"][t["symbol"]]
            return 200, json.dumps(out)
        if ep == "/depth":
            return 200, fixture(d + "/depth.json")
        if ep == "/trades":
            return 200, fixture("binance/trades.json")
        if ep == "/klines":
            return 200, json.dumps(klines(q))
        if fut and ep == "/premiumIndex":
            if sym:
                return 200, json.dumps(with_symbol(fixture(d + "/premiumIndex.json"), sym))
            return 200, json.dumps([with_symbol(fixture(d + "/premiumIndex.json"), s) for s in sorted(syms)])
        if fut and ep == "/openInterest":
            return 200, json.dumps(with_symbol(fixture(d + "/openInterest.json"), sym))
        if fut and ep == "/fundingRate":
            return 200, json.dumps(funding_history(q))
        return 404, json.dumps({"code": -1000, "msg": "Unknown path %s" % path})

    def control(self, path, q):
        one = {k: v[0] for k, v in q.items()}
        with LOCK:
            if path == "/_mock/reset":
                reset()
                out = {"ok": True}
            elif path == "/_mock/requests":
                out = {"requests": STATE["requests"]}
            elif path == "/_mock/stats":
                win = float(one.get("window_ms", STATE["window_ms"]))
                reqs = [r for r in STATE["requests"] if r["weight"]]
                best, j, s = 0, 0, 0
                for r in reqs:  # sliding window over request times
                    s += r["weight"]
                    while reqs[j]["t_ms"] <= r["t_ms"] - win:
                        s -= reqs[j]["weight"]
                        j += 1
                    best = max(best, s)
                out = {"max_window_weight": best, "count": len(STATE["requests"])}
            elif path == "/_mock/config":
                if "now_ms" in one:
                    STATE["now_ms"] = int(one["now_ms"]) or None
                if "window_ms" in one:
                    STATE["window_ms"] = int(one["window_ms"])
                for which in ("kraken_volume", "coinbase_volume", "binance_volume"):
                    for kv in one[which].split(",") if which in one else []:
                        k, _, v = kv.partition(":")
                        STATE[which][k] = v
                if "outage" in one:
                    a, _, b = one["outage"].partition("-")
                    STATE["outage"] = (int(a), int(b)) if b else None
                out = {"ok": True}
            elif path == "/_mock/fault":
                f = {"path": one["path"], "kind": one.get("kind", "status"), "count": int(one.get("count", 1)),
                     "status": int(one.get("status", 500)), "symbol": one.get("symbol"),
                     "skip": int(one.get("skip", 0))}
                if "retry_after" in one:
                    f["retry_after"] = one["retry_after"]
                if "delay_ms" in one:
                    f["delay_ms"] = int(one["delay_ms"])
                if "file" in one:
                    f["file"] = one["file"]
                STATE["faults"].append(f)
                out = {"ok": True}
            else:
                return self.send(404, json.dumps({"error": "unknown control path"}))
        self.send(200, json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    print("PORT %d" % port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
