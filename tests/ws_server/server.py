#!/usr/bin/python3
"""A local Binance spot exchange for the streaming tests: one process serves the combined
WebSocket stream (/stream?streams=...) and the REST endpoints the stream mode repairs from
(exchangeInfo, historicalTrades by fromId), from one generated trade tape, so that the ids the
stream skips and the ids REST returns are the same trades.

Frames follow Binance's documented formats (WebSocket Streams for Binance spot):
  {"stream":"btcusdt@trade","data":{"e":"trade","E":..,"s":"BTCUSDT","t":12345,"p":"0.001",
   "q":"100","T":..,"m":true,"M":true}}
  {"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35","B":"31.21",
   "a":"25.36","A":"40.66"}}
  {"stream":"btcusdt@kline_1m","data":{"e":"kline","E":..,"s":"BTCUSDT","k":{"t":..,"T":..,
   "s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"..","c":"..","h":"..","l":"..","v":"..","n":100,
   "x":true,"q":"..","V":"..","Q":"..","B":"0"}}}

Scenario (--scenario), each connection a phase:
  cut_gap   phase 1: trades 1..100 (with book tickers and a closed candle every 20 trades), then
            the TCP connection is aborted without a close frame; trades 101..150 happen while
            the client is away (REST has them). Phase 2: trades 151..200 with ids 171..180
            never sent on the stream (a trade-id gap), then a malformed frame, and the
            connection stays open and quiet.
  stall     phase 1: trades 1..50, then silence with the connection open (no frames at all);
            phase 2: trades 51..80.
  oversized phase 1: trades 1..30, then a frame larger than the client's bound; phase 2:
            trades 31..60.
  restart   phase 1: trades 1..50, then the connection stays open (the test stops coinpipe);
            trades 51..80 (and candles 3 and 4) happen while coinpipe is down; phase 2: trades
            81..100.
  no_upgrade  the WebSocket port accepts TCP connections and never answers the upgrade.
  depth     the diff depth stream <s>@depth@100ms of a book the server keeps (update ids U..u, and
            pu on --futures), served with REST snapshots (/api/v3/depth, /fapi/v1/depth): 60
            updates of which the 31st is never sent (a sequence gap), with 24-hour tickers between
            them; then 5 updates while the connection is cut without a close frame, and 20 more on
            the next one. The status holds the book at the end (top 10 a side) and the snapshots
            served.
  handover  a trade every 5 ms broadcast to every open connection (trades 1..--trades); the status
            lists each connection's open and close times (a client replacing its connections at
            ws_max_age opens the new one before it closes the old).
  many      --symbols symbols (exchangeInfo lists them after BTCUSDT): every connection's streams
            are read from its URL and its SUBSCRIBE requests, a connection that sends more than 5
            control messages in a second is cut (Binance's limit); once every stream is
            subscribed, trades 1..100 of BTCUSDT and of the last symbol go to their subscribers.
  futures   (with --futures) USD-M frames: aggTrade 1..60 (ids 41..45 never sent: repaired from
            /fapi/v1/aggTrades), bookTicker, closed klines, 24hrTicker, markPriceUpdate and
            forceOrder, then the depth scenario's book with pu chaining.
--futures serves the USD-M paths (/fapi/v1/...) and frames instead of spot's.
  cb_feed   a Coinbase Exchange feed (see CoinbaseExchange below).
The status file (--status) is rewritten as JSON after each phase: produced (the highest trade id
that exists), candles (open times of the closed candles sent), book (the last book ticker),
connections, phase_done.
"""
import argparse
import asyncio
import json
import random
import sys
import time

import websockets

SYM = "BTCUSDT"
T0 = 1704067200000  # 2024-01-01T00:00:00Z
MINUTE = 60000


def trade(i):
    return {"id": i, "price": "%d.%02d" % (42000 + i // 100, i % 100), "qty": "0.%03d" % (i % 997 + 1),
            "quoteQty": "1.0", "time": T0 + i * 1000, "isBuyerMaker": i % 3 == 0, "isBestMatch": True}


def trade_frame(i):
    t = trade(i)
    return json.dumps({"stream": "btcusdt@trade", "data": {
        "e": "trade", "E": t["time"] + 1, "s": SYM, "t": i, "p": t["price"], "q": t["qty"], "T": t["time"],
        "m": t["isBuyerMaker"], "M": True}})


def book_frame(i):
    return json.dumps({"stream": "btcusdt@bookTicker", "data": {
        "u": 1000 + i, "s": SYM, "b": "%d.00" % (42000 + i), "B": "1.5", "a": "%d.50" % (42000 + i), "A": "2.25"}})


def kline_frame(k, closed):
    o = T0 + k * MINUTE
    return json.dumps({"stream": "btcusdt@kline_1m", "data": {"e": "kline", "E": o + MINUTE, "s": SYM, "k": {
        "t": o, "T": o + MINUTE - 1, "s": SYM, "i": "1m", "f": k * 20, "L": k * 20 + 19, "o": "42000.00",
        "c": "42001.50", "h": "42002.00", "l": "41999.00", "v": "12.5", "n": 20, "x": closed,
        "q": "525000.00", "V": "6.25", "Q": "262500.00", "B": "0"}}})


def kline_row(k):
    """kline k as GET /api/v3/klines lists it: the values kline_frame sends for it"""
    o = T0 + k * MINUTE
    return [o, "42000.00", "42002.00", "41999.00", "42001.50", "12.5", o + MINUTE - 1, "525000.00", 20, "6.25",
            "262500.00", "0"]


def agg_trade(i):
    t = trade(i)
    return {"a": i, "p": t["price"], "q": t["qty"], "f": i * 3, "l": i * 3 + 2, "T": t["time"],
            "m": t["isBuyerMaker"]}


class Book:
    """An order book changed by numbered updates, as Binance numbers them (U..u, pu)."""

    def __init__(self, futures):
        self.rng = random.Random(14)
        self.futures = futures
        self.bids = {"%d.%02d" % (41990 - i, 50): "%.3f" % (1 + i * 0.25) for i in range(20)}
        self.asks = {"%d.%02d" % (42010 + i, 50): "%.3f" % (1 + i * 0.5) for i in range(20)}
        self.uid = 1000

    def update(self):
        U = self.uid + 1 + (self.rng.randrange(3) if self.futures else 0)
        u = U + self.rng.randrange(4)
        b, a = [], []
        for _ in range(self.rng.randrange(1, 4)):
            side, out = (self.bids, b) if self.rng.random() < 0.5 else (self.asks, a)
            base = 41990 if side is self.bids else 42010
            off = self.rng.randrange(25)
            px = "%d.%02d" % (base - off if side is self.bids else base + off, 50)
            qty = "0.000" if (px in side and self.rng.random() < 0.3) else "%.3f" % (self.rng.randrange(1, 5000) / 1000)
            if qty == "0.000":
                side.pop(px, None)
            else:
                side[px] = qty
            out.append([px, qty])
        now = int(time.time() * 1000)  # the book's rows are ordered by it, after a snapshot's receive time
        ev = {"e": "depthUpdate", "E": now, "s": SYM, "U": U, "u": u, "b": b, "a": a}
        if self.futures:
            ev["T"] = now
            ev["pu"] = self.uid
        self.uid = u
        return ev

    def top(self, n):
        bids = sorted(self.bids.items(), key=lambda x: -float(x[0]))[:n]
        asks = sorted(self.asks.items(), key=lambda x: float(x[0]))[:n]
        return {"bids": bids, "asks": asks}

    def snapshot(self, limit):
        t = self.top(limit)
        snap = {"lastUpdateId": self.uid, "bids": [list(x) for x in t["bids"]], "asks": [list(x) for x in t["asks"]]}
        if self.futures:
            snap["E"] = snap["T"] = int(time.time() * 1000)
        return snap


def ticker_frame(i, futures):
    d = {"e": "24hrTicker", "E": T0 + i, "s": SYM, "p": "12.50", "P": "0.030", "w": "42005.10", "c": "4200%d.00" % (i % 10),
         "Q": "0.010", "o": "41990.00", "h": "42100.00", "l": "41900.00", "v": "1234.5", "q": "51850000.00",
         "O": T0 + i - 86400000, "C": T0 + i, "F": 1, "L": 5000 + i, "n": 5000 + i}
    if not futures:
        d.update({"x": "41989.00", "b": "42001.00", "B": "1.5", "a": "42002.00", "A": "2.5"})
    return json.dumps({"stream": "btcusdt@ticker", "data": d})


class Exchange:
    def __init__(self, scenario, status, max_message, futures=False, nsymbols=0, ntrades=2000):
        self.scenario = scenario
        self.status_path = status
        self.max_message = max_message
        self.futures = futures
        self.prefix = "/fapi/v1" if futures else "/api/v3"
        self.produced = 0
        self.candles = []
        self.book = None
        self.connections = 0
        self.phase_done = 0
        self.rest_requests = []
        self.depth = Book(futures)
        self.snapshots = 0
        self.ticker = None
        self.ntrades = ntrades
        self.symbols = [SYM] + ["S%03dUSDT" % i for i in range(nsymbols)]
        self.conn_log = []  # [open, close] per connection (monotonic seconds)
        self.subs = {}  # connection number -> set of streams
        self.ctl = {}  # connection number -> times of its control messages
        self.violations = []
        self.open_ws = {}
        self.extra = {}

    def write_status(self):
        subs = [sorted(s) for _, s in sorted(self.subs.items())]
        with open(self.status_path + ".tmp", "w") as f:
            json.dump({"produced": self.produced, "candles": self.candles, "book": self.book,
                       "connections": self.connections, "phase_done": self.phase_done,
                       "rest": self.rest_requests, "depth_book": self.depth.top(10), "depth_uid": self.depth.uid,
                       "snapshots": self.snapshots, "ticker": self.ticker, "conn_log": self.conn_log,
                       "subs": subs, "violations": self.violations, "extra": self.extra}, f)
        import os
        os.replace(self.status_path + ".tmp", self.status_path)

    async def send_trades(self, ws, ids, skip=()):
        for i in ids:
            self.produced = max(self.produced, i)
            if i in skip:
                continue
            await ws.send(trade_frame(i))
            if i % 5 == 0:
                self.book = {"u": 1000 + i, "b": "%d.00" % (42000 + i), "a": "%d.50" % (42000 + i)}
                await ws.send(book_frame(i))
            if i % 20 == 0:
                k = i // 20
                await ws.send(kline_frame(k, False))
                await ws.send(kline_frame(k, True))
                self.candles.append(T0 + k * MINUTE)
            await asyncio.sleep(0.002)

    async def send_depth(self, ws, n, skip):
        """n book updates, update number `skip` applied but never sent; tickers between them"""
        for k in range(1, n + 1):
            ev = self.depth.update()
            if k != skip:
                await ws.send(json.dumps({"stream": "btcusdt@depth@100ms", "data": ev}))
            if k % 10 == 0:
                await ws.send(ticker_frame(k, self.futures))
                self.ticker = k
            await asyncio.sleep(0.01)

    async def handler(self, ws, path):
        self.connections += 1
        phase = self.connections
        s = self.scenario
        me = len(self.conn_log)
        self.conn_log.append([time.monotonic(), None])
        try:
            await self.scenario_handler(ws, path, phase, s)
        finally:
            self.conn_log[me][1] = time.monotonic()
            self.open_ws.pop(me, None)
            self.write_status()

    async def scenario_handler(self, ws, path, phase, s):
        if s == "depth":
            if phase == 1:
                await asyncio.sleep(0.2)
                await self.send_depth(ws, 60, 31)
                self.extra["book1"], self.extra["uid1"] = self.depth.top(10), self.depth.uid
                self.phase_done = phase
                self.write_status()
                await asyncio.sleep(1.0)  # the book is written
                for _ in range(5):  # updates while the client is away
                    self.depth.update()
                ws.transport.abort()  # no close frame
                return
            await asyncio.sleep(0.2)
            await self.send_depth(ws, 20, 0)
            self.phase_done = phase
            self.write_status()
            await ws.wait_closed()
            return
        if s == "handover":
            self.open_ws[len(self.conn_log) - 1] = ws
            await ws.wait_closed()
            return
        if s == "many":
            await self.many_handler(ws, path, phase)
            return
        if s == "futures":
            await self.futures_handler(ws, phase)
            return
        if s == "cut_gap":
            if phase == 1:
                await self.send_trades(ws, range(1, 101))
                self.produced = 150  # happen while the client is away
                self.candles += [T0 + 6 * MINUTE, T0 + 7 * MINUTE]  # candles that close meanwhile
                self.phase_done = 1
                self.write_status()
                ws.transport.abort()  # no close frame
                return
            await asyncio.sleep(0.5)  # the client repairs 101..150 before 151 exists
            await self.send_trades(ws, range(151, 201), skip=range(171, 181))
            await ws.send('{"stream":"btcusdt@trade","data":{"e":"trade",')  # malformed
        elif s == "stall":
            if phase == 1:
                await self.send_trades(ws, range(1, 51))
                self.phase_done = 1
                self.write_status()
                await asyncio.sleep(3600)
                return
            await self.send_trades(ws, range(51, 81))
        elif s == "restart":
            if phase == 1:
                await self.send_trades(ws, range(1, 51))
                self.produced = 80  # while coinpipe is down
                self.candles += [T0 + 3 * MINUTE, T0 + 4 * MINUTE]  # closed meanwhile
                self.phase_done = 1
                self.write_status()
                await ws.wait_closed()
                return
            await asyncio.sleep(0.5)
            await self.send_trades(ws, range(81, 101))
        elif s == "oversized":
            if phase == 1:
                await self.send_trades(ws, range(1, 31))
                await ws.send('{"stream":"btcusdt@trade","data":{"pad":"' + "x" * self.max_message + '"}}')
                self.phase_done = 1
                self.write_status()
                await asyncio.sleep(3600)
                return
            await self.send_trades(ws, range(31, 61))
        self.phase_done = phase
        self.write_status()
        try:
            await ws.wait_closed()
        except Exception:
            pass

    async def handover_producer(self):
        """a trade every 5 ms, to every open connection"""
        while not self.open_ws:
            await asyncio.sleep(0.01)
        for i in range(1, self.ntrades + 1):
            self.produced = i
            await self.broadcast(trade_frame(i), None)
            await asyncio.sleep(0.005)
        self.phase_done = 1
        self.write_status()

    async def broadcast(self, frame, stream):
        """frame to every open connection (subscribed to stream, unless None)"""
        for me, ws in list(self.open_ws.items()):
            if stream is None or stream in self.subs.get(me, ()):
                try:
                    await ws.send(frame)
                except Exception:
                    pass

    async def many_handler(self, ws, path, phase):
        me = phase
        q = path.partition("?")[2]
        streams = set()
        for p in q.split("&"):
            if p.startswith("streams="):
                streams.update(x for x in p[8:].split("/") if x)
        self.subs[me] = streams
        self.ctl[me] = []
        self.open_ws[me] = ws
        try:
            async for msg in ws:
                now = time.monotonic()
                self.ctl[me].append(now)
                if len([t for t in self.ctl[me] if now - t < 1.0]) > 5:
                    self.violations.append("connection %d: more than 5 control messages in a second" % me)
                    self.write_status()
                    await ws.close(1008, "Too many requests")
                    return
                req = json.loads(msg)
                if req.get("method") == "GET_PROPERTY":
                    self.extra["probes"] = self.extra.get("probes", 0) + 1
                if req.get("method") == "SUBSCRIBE":
                    for st in req["params"]:
                        if st in self.subs[me]:
                            self.violations.append("connection %d: %s subscribed twice" % (me, st))
                        self.subs[me].add(st)
                await ws.send(json.dumps({"result": None, "id": req.get("id")}))
                self.write_status()
        except Exception:
            pass

    async def many_producer(self):
        want = {"%s@%s" % (x.lower(), k) for x in self.symbols for k in ("trade", "bookTicker", "kline_1m")}
        while True:
            got = [st for s in self.subs.values() for st in s]
            if set(got) >= want:
                break
            await asyncio.sleep(0.05)
        self.extra["all_subscribed"] = True
        last = self.symbols[-1]
        for i in range(1, 101):
            self.produced = i
            for sym in (SYM, last):
                frame = json.dumps({"stream": "%s@trade" % sym.lower(), "data": {
                    "e": "trade", "E": T0 + i * 1000, "s": sym, "t": i, "p": "1.%02d" % (i % 100), "q": "2",
                    "T": T0 + i * 1000, "m": False, "M": True}})
                await self.broadcast(frame, "%s@trade" % sym.lower())
            await asyncio.sleep(0.005)
        self.phase_done = 1
        self.write_status()

    async def futures_handler(self, ws, phase):
        if phase > 1:
            await ws.wait_closed()
            return
        await asyncio.sleep(0.2)
        for i in range(1, 61):
            self.produced = i
            t = agg_trade(i)
            if not 41 <= i <= 45:
                await ws.send(json.dumps({"stream": "btcusdt@aggTrade", "data": dict(
                    e="aggTrade", E=t["T"] + 1, s=SYM, **t)}))
            if i % 10 == 0:
                await ws.send(json.dumps({"stream": "btcusdt@bookTicker", "data": {
                    "e": "bookTicker", "u": 5000 + i, "E": T0 + i * 1000 + 7, "T": T0 + i * 1000 + 6, "s": SYM,
                    "b": "%d.10" % (42000 + i), "B": "3.5", "a": "%d.20" % (42000 + i), "A": "4.5"}}))
                self.book = {"u": 5000 + i, "E": T0 + i * 1000 + 7}
                await ws.send(json.dumps({"stream": "btcusdt@markPrice@1s", "data": {
                    "e": "markPriceUpdate", "E": T0 + i * 1000, "s": SYM, "p": "42000.%02d" % i,
                    "i": "41999.50", "P": "42001.00", "r": "0.00010000", "T": T0 + 8 * 3600000}}))
            if i % 20 == 0:
                k = i // 20
                await ws.send(kline_frame(k, True))
                self.candles.append(T0 + k * MINUTE)
            if i == 30:
                await ws.send(json.dumps({"stream": "btcusdt@forceOrder", "data": {
                    "e": "forceOrder", "E": T0 + 30001, "o": {
                        "s": SYM, "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.014", "p": "41910.10",
                        "ap": "41912.30", "X": "FILLED", "l": "0.014", "z": "0.014", "T": T0 + 30000}}}))
            await asyncio.sleep(0.003)
        await self.send_depth(ws, 60, 31)
        self.phase_done = 1
        self.write_status()
        await ws.wait_closed()

    async def rest(self, reader, writer):
        try:
            line = (await reader.readline()).decode()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            target = line.split(" ")[1]
            path, _, query = target.partition("?")
            q = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            code, body = 200, None
            P = self.prefix
            if hasattr(self, "rest_body"):
                code, body = self.rest_body(path, q)
                self.write_status()
            elif path == P + "/exchangeInfo":
                body = {"symbols": [{"symbol": x, "status": "TRADING", "baseAsset": x[:-4], "quoteAsset": "USDT",
                                     "contractType": "PERPETUAL"} for x in self.symbols]}
            elif path == P + ("/aggTrades" if self.futures else "/historicalTrades"):
                start = int(q.get("fromId", "1"))
                limit = int(q.get("limit", "500"))
                self.rest_requests.append(target)
                body = [(agg_trade if self.futures else trade)(i)
                        for i in range(max(start, 1), min(start + limit, self.produced + 1))]
                self.write_status()
            elif path == P + "/klines":
                self.rest_requests.append(target)
                start = int(q.get("startTime", "0"))
                end = int(q.get("endTime", str(2 ** 62)))
                limit = int(q.get("limit", "500"))
                closed = self.produced // 20  # candle k closes with trade 20 k
                body = [kline_row(k) for k in range(1, closed + 1) if start <= T0 + k * MINUTE <= end][:limit]
                self.write_status()
            elif path == P + "/depth":
                self.rest_requests.append(target)
                self.snapshots += 1
                body = self.depth.snapshot(int(q.get("limit", "100")))
                self.write_status()
            else:
                code, body = 404, {"code": -1, "msg": "not here"}
            data = json.dumps(body).encode()
            writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                         b"X-MBX-USED-WEIGHT-1m: 1\r\nConnection: close\r\n\r\n" % (code, len(data)) + data)
            await writer.drain()
        finally:
            writer.close()


# ---- Coinbase Exchange ---------------------------------------------------------------------------
# The documented Exchange WebSocket feed (wss://ws-feed.exchange.coinbase.com): the client sends
#   {"type":"subscribe","product_ids":["BTC-USD"],"channels":["heartbeat","matches","ticker","level2_batch"]}
# and gets {"type":"subscriptions","channels":[{"name":..,"product_ids":[..]},..]} (or
# {"type":"error","message":"Failed to subscribe","reason":".."}), then per channel:
#   matches       {"type":"last_match"|"match","trade_id":10,"sequence":50,"maker_order_id":"..",
#                  "taker_order_id":"..","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD",
#                  "size":"5.23512","price":"400.23","side":"sell"}   (side: the maker's order)
#   ticker        {"type":"ticker","sequence":..,"product_id":..,"price":..,"open_24h":..,"volume_24h":..,
#                  "low_24h":..,"high_24h":..,"volume_30d":..,"best_bid":..,"best_bid_size":..,
#                  "best_ask":..,"best_ask_size":..,"side":..,"time":..,"trade_id":..,"last_size":..}
#   level2_batch  {"type":"snapshot","product_id":..,"bids":[[price,size],..],"asks":[..]} then
#                 {"type":"l2update","product_id":..,"time":..,"changes":[["buy",price,size],..]}
#   heartbeat     {"type":"heartbeat","sequence":..,"last_trade_id":..,"product_id":..,"time":..}
# REST: GET /products, GET /products/{id}/trades?after=X&limit=N (trade_id < X, newest first).
# Scenario cb_feed, one connection after the other:
#   1  the subscription is refused with an error message (the connection stays open);
#   2  trades 1001..1100 (last_match 1000 first) with a ticker and an l2update each, a heartbeat
#      every 10 trades and a malformed frame after 1050; trades 1101..1150 happen while the
#      client is away (the book changes too); the TCP connection is aborted without a close frame;
#   3  last_match 1150, trades 1151..1200 with every message of 1171..1180 lost (match, ticker,
#      l2update: the client's book goes wrong), a ticker replayed with an old sequence after 1185,
#      then 1201..1203 traded with nothing sent but a heartbeat saying last_trade_id 1203; after a
#      pause a frame larger than the client's bound;
#   4  trades 1204..1220, then heartbeats every 0.5 s.
CB_PRODUCT = "BTC-USD"


def cb_iso(ms):
    import datetime
    d = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d459Z" % (ms % 1000)


def cb_trade(i):
    return {"time": cb_iso(T0 + i * 1000 + i % 997), "trade_id": i,
            "price": "%d.%02d" % (30000 + i // 100, i % 100), "size": "0.%08d" % (i * 7919 % 99999999 + 1),
            "side": "buy" if i % 3 == 0 else "sell"}


class CoinbaseExchange(Exchange):
    def __init__(self, scenario, status, max_message):
        self.status_path = status
        self.max_message = max_message
        self.prefix, self.futures = "", False  # what Exchange.rest reads before it asks rest_body
        self.produced = 1000
        self.seq = 5000
        self.connections = 0
        self.phase_done = 0
        self.rest_requests = []
        self.bids = {"%d.00" % (29999 - k): "1.00000000" for k in range(50)}
        self.asks = {"%d.00" % (30001 + k): "1.00000000" for k in range(50)}
        self.last_ticker = None

    def top(self, side, n=5):
        book = self.bids if side == "bid" else self.asks
        keys = sorted(book, key=float, reverse=(side == "bid"))[:n]
        return [[k, book[k]] for k in keys]

    def write_status(self):
        import os
        with open(self.status_path + ".tmp", "w") as f:
            json.dump({"produced": self.produced, "connections": self.connections, "phase_done": self.phase_done,
                       "rest": self.rest_requests, "bids": self.top("bid"), "asks": self.top("ask"),
                       "ticker": self.last_ticker}, f)
        os.replace(self.status_path + ".tmp", self.status_path)

    def trade(self, i):
        """Trade i happens: the sequence moves (other events in between), the book changes."""
        self.produced = max(self.produced, i)
        self.seq += 3
        size = lambda k: "0" if k % 7 == 0 else "%d.%08d" % (k % 5, k * 31 % 100000000)
        changes = [["buy", "%d.00" % (29990 + i % 10), size(i)], ["sell", "%d.00" % (30001 + i % 10), size(i + 3)]]
        for side, price, sz in changes:
            book = self.bids if side == "buy" else self.asks
            if float(sz) == 0:
                book.pop(price, None)
            else:
                book[price] = sz
        t = cb_trade(i)
        match = dict(t, type="match", sequence=self.seq, maker_order_id="m%d" % i, taker_order_id="t%d" % i,
                     product_id=CB_PRODUCT)
        bb, ba = self.top("bid", 1)[0], self.top("ask", 1)[0]
        ticker = {"type": "ticker", "sequence": self.seq, "product_id": CB_PRODUCT, "price": t["price"],
                  "open_24h": "29000.00", "volume_24h": "1234.50000000", "low_24h": "28900.00",
                  "high_24h": "30500.00", "volume_30d": "45678.90000000", "best_bid": bb[0],
                  "best_bid_size": bb[1], "best_ask": ba[0], "best_ask_size": ba[1], "side": t["side"],
                  "time": t["time"], "trade_id": i, "last_size": t["size"]}
        l2 = {"type": "l2update", "product_id": CB_PRODUCT, "time": t["time"], "changes": changes}
        return match, ticker, l2

    def heartbeat(self):
        return json.dumps({"type": "heartbeat", "sequence": self.seq, "last_trade_id": self.produced,
                           "product_id": CB_PRODUCT, "time": cb_iso(T0 + self.produced * 1000)})

    def snapshot(self):
        return json.dumps({"type": "snapshot", "product_id": CB_PRODUCT,
                           "bids": self.top("bid", 1000), "asks": self.top("ask", 1000)})

    async def reader(self, ws, conn):
        async for raw in ws:
            m = json.loads(raw)
            chans = [c if isinstance(c, str) else c.get("name") for c in m.get("channels", [])]
            if m.get("type") == "unsubscribe":
                conn["channels"] -= set(chans)
            elif m.get("type") == "subscribe":
                conn["channels"] |= set(chans)
            else:
                await ws.send(json.dumps({"type": "error", "message": "Failed to subscribe",
                                          "reason": "type must be subscribe or unsubscribe"}))
                continue
            await ws.send(self.subscriptions(conn))
            if m.get("type") == "subscribe" and "level2_batch" in chans:
                await ws.send(self.snapshot())
                conn["resnapshots"] = conn.get("resnapshots", 0) + 1

    def subscriptions(self, conn):
        return json.dumps({"type": "subscriptions", "channels": [
            {"name": c, "product_ids": [CB_PRODUCT]} for c in sorted(conn["channels"])]})

    async def send_trades(self, ws, conn, ids, lost=()):
        for i in ids:
            match, ticker, l2 = self.trade(i)
            if i in lost:
                continue
            ch = conn["channels"]
            if "matches" in ch:
                await ws.send(json.dumps(match))
            if "ticker" in ch:
                self.last_ticker = {"best_bid": ticker["best_bid"], "best_ask": ticker["best_ask"],
                                    "sequence": ticker["sequence"]}
                await ws.send(json.dumps(ticker))
            if "level2_batch" in ch:
                await ws.send(json.dumps(l2))
            if i % 10 == 0 and "heartbeat" in ch:
                await ws.send(self.heartbeat())
            await asyncio.sleep(0.002)

    async def handler(self, ws, path):
        self.connections += 1
        phase = self.connections
        sub = json.loads(await ws.recv())
        if phase == 1:
            await ws.send(json.dumps({"type": "error", "message": "Failed to subscribe",
                                      "reason": "level2_batch is not available right now"}))
            await ws.wait_closed()
            return
        conn = {"channels": set(c if isinstance(c, str) else c.get("name") for c in sub.get("channels", []))}
        await ws.send(self.subscriptions(conn))
        if "level2_batch" in conn["channels"]:
            await ws.send(self.snapshot())
        if "matches" in conn["channels"]:
            t = cb_trade(self.produced)
            await ws.send(json.dumps(dict(t, type="last_match", sequence=self.seq - 1, maker_order_id="m",
                                          taker_order_id="t", product_id=CB_PRODUCT)))
        reader = asyncio.ensure_future(self.reader(ws, conn))
        try:
            if phase == 2:
                await self.send_trades(ws, conn, range(1001, 1051))
                await ws.send('{"type":"match","product_id":"BTC-USD",')  # malformed
                await self.send_trades(ws, conn, range(1051, 1101))
                for i in range(1101, 1151):  # while the client is away
                    self.trade(i)
                self.phase_done = 2
                self.write_status()
                await asyncio.sleep(0.2)
                ws.transport.abort()  # no close frame
                return
            if phase == 3:
                await asyncio.sleep(0.3)
                await self.send_trades(ws, conn, range(1151, 1186), lost=range(1171, 1181))
                t = cb_trade(1185)
                await ws.send(json.dumps({  # replayed: an old sequence (and values that must not land)
                    "type": "ticker", "sequence": self.seq - 60, "product_id": CB_PRODUCT, "price": t["price"],
                    "open_24h": "29000.00", "volume_24h": "1.0", "low_24h": "1.00", "high_24h": "2.00",
                    "best_bid": "1.00", "best_bid_size": "1.0", "best_ask": "2.00", "best_ask_size": "1.0",
                    "side": "buy", "time": cb_iso(T0 + 1185 * 1000 + 500), "trade_id": 1185, "last_size": "1.0"}))
                await self.send_trades(ws, conn, range(1186, 1201))
                for _ in range(500):  # the client's resubscription after the loss has its snapshot
                    if conn.get("resnapshots"):
                        break
                    await asyncio.sleep(0.01)
                for i in range(1201, 1204):  # nothing sent but the heartbeat
                    self.trade(i)
                await ws.send(self.heartbeat())
                await asyncio.sleep(1.0)
                await ws.send('{"type":"heartbeat","pad":"' + "x" * self.max_message + '"}')
                self.phase_done = 3
                self.write_status()
                await ws.wait_closed()
                return
            await asyncio.sleep(0.3)
            await self.send_trades(ws, conn, range(1204, 1221))
            self.phase_done = 4
            self.write_status()
            while True:
                await ws.send(self.heartbeat())
                await asyncio.sleep(0.5)
        except websockets.ConnectionClosed:
            pass
        finally:
            reader.cancel()

    def rest_body(self, path, q):
        if path == "/products":
            return 200, [{"id": p, "base_currency": p[:3], "quote_currency": "USD", "status": "online",
                          "trading_disabled": False} for p in (CB_PRODUCT, "ETH-USD")]
        if path == "/products/%s/trades" % CB_PRODUCT:
            after = int(q.get("after", str(self.produced + 1)))
            limit = int(q.get("limit", "100"))
            self.rest_requests.append(path + "?after=%d&limit=%d" % (after, limit))
            hi = min(after - 1, self.produced)
            return 200, [cb_trade(i) for i in range(hi, max(hi - limit, 0), -1)]
        return 404, {"message": "NotFound"}


async def silent(reader, writer):
    await asyncio.sleep(3600)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="cut_gap")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--status", required=True)
    ap.add_argument("--max-message", type=int, default=65536)
    ap.add_argument("--futures", action="store_true")
    ap.add_argument("--symbols", type=int, default=0)
    ap.add_argument("--trades", type=int, default=2000)
    a = ap.parse_args()
    if a.scenario.startswith("cb_"):
        ex = CoinbaseExchange(a.scenario, a.status, a.max_message)
    else:
        ex = Exchange(a.scenario, a.status, a.max_message, a.futures, a.symbols, a.trades)
    ex.write_status()
    tasks = []
    if a.scenario == "handover":
        tasks.append(asyncio.ensure_future(ex.handover_producer()))
    elif a.scenario == "many":
        tasks.append(asyncio.ensure_future(ex.many_producer()))
    rest = await asyncio.start_server(ex.rest, "127.0.0.1", 0)
    if a.scenario == "no_upgrade":
        wss = await asyncio.start_server(silent, "127.0.0.1", 0)
    else:
        wss = await websockets.serve(ex.handler, "127.0.0.1", 0, max_size=None)
    ws_port = wss.sockets[0].getsockname()[1]
    rest_port = rest.sockets[0].getsockname()[1]
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d %d\n" % (ws_port, rest_port))
    import os
    os.replace(a.port_file + ".tmp", a.port_file)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
