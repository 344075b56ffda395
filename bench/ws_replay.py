#!/usr/bin/env python3
# A Binance combined stream replayed for the streaming benchmark: trade, bookTicker and depth frames.
# SPDX-License-Identifier: MIT
#
# One process on 127.0.0.1 serves the WebSocket stream (/stream?streams=..., any path) and the
# few REST endpoints a binance-spot stream pipeline reads (exchangeInfo, depth snapshots,
# historicalTrades). The WebSocket side is written by hand on asyncio (the RFC 6455 handshake and
# unmasked server frames) so that the server is not what limits the run: every frame is encoded
# once, before the first connection, and written in 256 KiB chunks.
#   --mode flood   the first connection gets --count messages as fast as the socket takes them
#                  (50% trade, 30% bookTicker, 20% depthUpdate, round robin over --symbols
#                  symbols; trade ids and depth update ids consecutive per symbol); later
#                  connections get nothing. The last message is a trade.
#   --mode steady  --rate messages a second (in 2 ms slices), event times = the send time, for
#                  --seconds, then the connection stays open and quiet.
#   --mode soak    like steady, forever, with a connection cut (no close frame) every
#                  --cut-every seconds; trades cut off are left to the client's REST repair.
# The status file (--status) gets JSON: connected (time of the first byte sent), sent, trades
# (per symbol, the highest trade id that exists), done.
import argparse
import asyncio
import base64
import hashlib
import json
import os
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
T0 = 1704067200000


def frame(text, opcode=0x1):
    data = text if isinstance(text, bytes) else text.encode()
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + data


def sym_name(k):
    return "S%03dUSDT" % k


class Tape:
    """The messages, in order: kind by position, symbol round robin, ids consecutive per symbol."""

    def __init__(self, nsym):
        self.nsym = nsym
        self.trade_id = [0] * nsym
        self.update_id = [0] * nsym
        self.book_u = [0] * nsym
        self.k = 0

    def next(self, now_ms):
        k = self.k
        self.k += 1
        s = k % self.nsym
        name = sym_name(s)
        low = name.lower()
        kind = (k // self.nsym) % 10
        px = 100 + (k % 997) / 100.0
        if kind < 5:
            self.trade_id[s] += 1
            t = self.trade_id[s]
            return ('{"stream":"%s@trade","data":{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%.2f","q":"%.5f",'
                    '"T":%d,"m":%s,"M":true}}' % (low, now_ms, name, t, px, 0.001 + (k % 89) / 1000.0, now_ms,
                                                  "true" if k % 3 == 0 else "false"))
        if kind < 8:
            self.book_u[s] += 1
            return ('{"stream":"%s@bookTicker","data":{"u":%d,"s":"%s","b":"%.2f","B":"%.4f","a":"%.2f",'
                    '"A":"%.4f"}}' % (low, self.book_u[s], name, px, 1 + k % 7, px + 0.01, 2 + k % 5))
        u0 = self.update_id[s] + 1
        self.update_id[s] += 3
        b = ",".join('["%.2f","%.4f"]' % (px - 0.01 * (i + 1), 0 if (k + i) % 11 == 0 else 1 + i) for i in range(3))
        a = ",".join('["%.2f","%.4f"]' % (px + 0.01 * (i + 2), 0 if (k + i) % 13 == 0 else 1 + i) for i in range(3))
        return ('{"stream":"%s@depth@100ms","data":{"e":"depthUpdate","E":%d,"s":"%s","U":%d,"u":%d,'
                '"b":[%s],"a":[%s]}}' % (low, now_ms, name, u0, self.update_id[s], b, a))


class Replay:
    def __init__(self, a):
        self.a = a
        self.tape = Tape(a.symbols)
        self.status = {"connected": None, "sent": 0, "trades": {}, "done": False, "connections": 0}
        self.blob = None
        if a.mode == "flood":
            parts = [frame(self.tape.next(T0 + i)) for i in range(a.count - 1)]
            while True:  # end on a trade
                f = self.tape.next(T0 + a.count)
                parts.append(frame(f))
                if '"e":"trade"' in f:
                    break
            self.blob = b"".join(parts)
            self.status["sent_total"] = len(parts)
            self.status["trades"] = {sym_name(s): self.tape.trade_id[s] for s in range(a.symbols)}

    def write_status(self):
        tmp = self.a.status + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.status, f)
        os.replace(tmp, self.a.status)

    async def reader(self, r, w):
        """Client frames: pings answered, a close echoed; everything else read and dropped."""
        try:
            while True:
                h = await r.readexactly(2)
                op, n = h[0] & 0x0F, h[1] & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await r.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await r.readexactly(8))[0]
                mask = await r.readexactly(4) if h[1] & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(await r.readexactly(n)))
                if op == 0x9:
                    w.write(frame(data, 0xA))
                elif op == 0x8:
                    w.write(frame(data[:2], 0x8))
                    w.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    async def ws(self, r, w):
        head = await r.readuntil(b"\r\n\r\n")
        key = b""
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
        acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
        w.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
        self.status["connections"] += 1
        first = self.status["connections"] == 1
        rd = asyncio.ensure_future(self.reader(r, w))
        try:
            if self.a.mode == "flood":
                if first:
                    self.status["connected"] = time.time()
                    self.write_status()
                    view = memoryview(self.blob)
                    for off in range(0, len(view), 262144):
                        w.write(view[off:off + 262144])
                        await w.drain()
                    self.status["sent"] = self.status["sent_total"]
                    self.status["done"] = True
                    self.write_status()
            else:
                await self.paced(w, first)
            await rd
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            rd.cancel()
            w.close()

    async def paced(self, w, first):
        a = self.a
        if self.status["connected"] is None:
            self.status["connected"] = time.time()
        start = time.monotonic()
        sent_here = 0
        next_cut = start + a.cut_every if a.mode == "soak" and a.cut_every > 0 else None
        last_status = 0
        while a.mode == "soak" or time.monotonic() - start < a.seconds:
            due = int((time.monotonic() - start) * a.rate)
            now_ms = int(time.time() * 1000)
            chunk = []
            while sent_here < due:
                chunk.append(frame(self.tape.next(now_ms)))
                sent_here += 1
            if chunk:
                w.write(b"".join(chunk))
                await w.drain()
                self.status["sent"] += len(chunk)
            if time.monotonic() - last_status > 1:
                self.status["trades"] = {sym_name(s): self.tape.trade_id[s] for s in range(a.symbols)}
                self.write_status()
                last_status = time.monotonic()
            if next_cut and time.monotonic() >= next_cut:
                for s in range(a.symbols):  # traded while the client is away: REST has them
                    self.tape.trade_id[s] += 20
                self.status["trades"] = {sym_name(s): self.tape.trade_id[s] for s in range(a.symbols)}
                self.write_status()
                w.transport.abort()  # no close frame
                return
            await asyncio.sleep(0.002)
        self.status["trades"] = {sym_name(s): self.tape.trade_id[s] for s in range(a.symbols)}
        self.status["done"] = True
        self.write_status()

    async def rest(self, r, w):
        try:
            line = (await r.readline()).decode()
            while (await r.readline()) not in (b"\r\n", b"\n", b""):
                pass
            target = line.split(" ")[1]
            path, _, query = target.partition("?")
            q = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            code, body = 200, None
            if path == "/api/v3/exchangeInfo":
                body = {"symbols": [{"symbol": sym_name(s), "status": "TRADING", "baseAsset": sym_name(s)[:4],
                                     "quoteAsset": "USDT"} for s in range(self.a.symbols)]}
            elif path == "/api/v3/depth":
                body = {"lastUpdateId": 0, "bids": [["99.00", "1.0"]], "asks": [["120.00", "1.0"]]}
            elif path == "/api/v3/historicalTrades":
                s = int(q.get("symbol", "S000USDT")[1:4])
                start, limit = int(q.get("fromId", "1")), int(q.get("limit", "500"))
                last = self.tape.trade_id[s] if s < self.a.symbols else 0
                body = [{"id": i, "price": "100.00", "qty": "0.00100", "quoteQty": "0.1", "time": T0 + i,
                         "isBuyerMaker": i % 2 == 0, "isBestMatch": True}
                        for i in range(max(start, 1), min(start + limit, last + 1))]
            else:
                code, body = 404, {"code": -1, "msg": "not here"}
            data = json.dumps(body).encode()
            w.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                    b"X-MBX-USED-WEIGHT-1m: 1\r\nConnection: close\r\n\r\n" % (code, len(data)) + data)
            await w.drain()
        finally:
            w.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["flood", "steady", "soak"], default="flood")
    ap.add_argument("--count", type=int, default=300000)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--cut-every", type=float, default=0)
    ap.add_argument("--symbols", type=int, default=10)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--status", required=True)
    a = ap.parse_args()
    rp = Replay(a)
    rp.write_status()
    wss = await asyncio.start_server(rp.ws, "127.0.0.1", 0)
    rest = await asyncio.start_server(rp.rest, "127.0.0.1", 0)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d %d\n" % (wss.sockets[0].getsockname()[1], rest.sockets[0].getsockname()[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
