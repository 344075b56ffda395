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
            trades 51..80 happen while coinpipe is down; phase 2: trades 81..100.
  no_upgrade  the WebSocket port accepts TCP connections and never answers the upgrade.
The status file (--status) is rewritten as JSON after each phase: produced (the highest trade id
that exists), candles (open times of the closed candles sent), book (the last book ticker),
connections, phase_done.
"""
import argparse
import asyncio
import json
import sys

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


class Exchange:
    def __init__(self, scenario, status, max_message):
        self.scenario = scenario
        self.status_path = status
        self.max_message = max_message
        self.produced = 0
        self.candles = []
        self.book = None
        self.connections = 0
        self.phase_done = 0
        self.rest_requests = []

    def write_status(self):
        with open(self.status_path + ".tmp", "w") as f:
            json.dump({"produced": self.produced, "candles": self.candles, "book": self.book,
                       "connections": self.connections, "phase_done": self.phase_done,
                       "rest": self.rest_requests}, f)
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

    async def handler(self, ws, path):
        self.connections += 1
        phase = self.connections
        s = self.scenario
        if s == "cut_gap":
            if phase == 1:
                await self.send_trades(ws, range(1, 101))
                self.produced = 150  # happen while the client is away
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

    async def rest(self, reader, writer):
        try:
            line = (await reader.readline()).decode()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            target = line.split(" ")[1]
            path, _, query = target.partition("?")
            q = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            code, body = 200, None
            if path == "/api/v3/exchangeInfo":
                body = {"symbols": [{"symbol": SYM, "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT"}]}
            elif path == "/api/v3/historicalTrades":
                start = int(q.get("fromId", "1"))
                limit = int(q.get("limit", "500"))
                self.rest_requests.append(target)
                body = [trade(i) for i in range(max(start, 1), min(start + limit, self.produced + 1))]
                self.write_status()
            else:
                code, body = 404, {"code": -1, "msg": "not here"}
            data = json.dumps(body).encode()
            writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                         b"X-MBX-USED-WEIGHT-1m: 1\r\nConnection: close\r\n\r\n" % (code, len(data)) + data)
            await writer.drain()
        finally:
            writer.close()


async def silent(reader, writer):
    await asyncio.sleep(3600)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="cut_gap")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--status", required=True)
    ap.add_argument("--max-message", type=int, default=65536)
    a = ap.parse_args()
    ex = Exchange(a.scenario, a.status, a.max_message)
    ex.write_status()
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
