#!/usr/bin/env python3
"""The dashboard's figures (issue 15): /api/v1/candles answering 100,000 candles from SQLite, the
page interactive with 1,000,000 candles stored, and the daemon's CPU with 200 live clients.

Run from the source tree after a build: bench/bench_dashboard.py [--build build] [--candles N]
[--compare DIR] (DIR: another build's coinpipe and plugins/, e.g. main's before a change: its
candles are measured in the same rounds, request for request alternating with --build's).
Needs python3, node with tests/services/node_modules/puppeteer-core, /usr/bin/chromium. Uses the
mock exchange (tests/mock_exchange/server.py) on 127.0.0.1 only; everything lives in a temp dir.
Prints a Markdown table with each target met or missed (and --out FILE writes it).
SPDX-License-Identifier: MIT
"""
import argparse, json, os, signal, socket, statistics, subprocess, sys, tempfile, threading, time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, secs=20):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("nothing listens on %d" % port)


def cpu_seconds(pid):
    """the process's CPU time (user + system, every thread, ended ones included), to the ns: Linux
    reads another process's CPU clock (clock_getcpuclockid's id); /proc's ticks as a fallback"""
    try:
        return time.clock_gettime_ns(((~pid) << 3) | 2) / 1e9
    except OSError:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def pct(v, p):
    """the p-quantile of v (nearest rank)"""
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p * (len(v) - 1)))))]


def loadavg():
    return float(open("/proc/loadavg").read().split()[0])


class Daemon:
    def __init__(self, exe, conf, port, log):
        self.p = subprocess.Popen([exe, "-c", conf], stdout=subprocess.DEVNULL, stderr=open(log, "w"))
        wait_port(port)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(60)


def conf_text(tmp, mock, port, symbols, streams, interval, run_at_start, kline="1m"):
    syms = ", ".join('"%s"' % s for s in symbols)
    sts = ", ".join('"%s"' % s for s in streams)
    return f"""global = {{ state_dir = "{tmp}/state"; log_level = "warn"; log_format = "logfmt";
           http_listen = "127.0.0.1:{port}"; shutdown_timeout = "20s"; }};
pipelines = ( {{ name = "b"; interval = "{interval}"; run_at_start = {str(run_at_start).lower()};
   source = {{ plugin = "binance-spot"; base_url = "{mock}"; symbols = [{syms}]; streams = [{sts}];
              kline_interval = "{kline}"; }};
   sinks = ( {{ plugin = "sqlite"; path = "{tmp}/c.db"; }} ); }} );
"""


def get(url, out):
    """one request by curl (a client that costs little itself): its total time in s; body to out"""
    r = subprocess.run(["curl", "-s", "-o", out, "-w", "%{time_total}", url], capture_output=True, text=True, check=True)
    return float(r.stdout)


def bench_candles(builds, tmp, mock, n, requests):
    """builds: [(label, exe)]; every build's daemon serves the same database; requests alternate
    between them (after one warm-up request each), so a loaded machine loads them alike"""
    exe = builds[0][1]
    conf = os.path.join(tmp, "b.conf")
    start = 1704067200000  # 2024-01-01
    open(conf, "w").write(conf_text(tmp, mock, free_port(), ["BTCUSDT"], ["ohlcv"], "1d", False))
    t = time.time()
    subprocess.run([exe, "backfill", "--pipeline", "b", "-c", conf, "--from", "2024-01-01",
                    "--to", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((start + n * 60000) / 1000))],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fill_s = time.time() - t
    daemons, res = [], {}
    load0 = loadavg()
    try:
        for i, (label, bexe) in enumerate(builds):
            port = free_port()
            bconf = os.path.join(tmp, "b%d.conf" % i)
            open(bconf, "w").write(conf_text(tmp, mock, port, ["BTCUSDT"], ["ohlcv"], "1d", False))
            d = Daemon(bexe, bconf, port, os.path.join(tmp, "d1-%d.log" % i))
            daemons.append(d)
            url = f"http://127.0.0.1:{port}/api/v1/candles?exchange=binance&symbol=BTC-USDT&interval=1m&limit=100000"
            out = os.path.join(tmp, "candles-%d.json" % i)
            get(url, out)  # warm: the page cache, SQLite's
            res[label] = {"url": url, "out": out, "pid": d.p.pid, "wall": [], "cpu": []}
        for _ in range(requests):
            for label, _e in builds:
                r = res[label]
                c0 = cpu_seconds(r["pid"])
                r["wall"].append(get(r["url"], r["out"]) * 1000)
                r["cpu"].append((cpu_seconds(r["pid"]) - c0) * 1000)
    finally:
        for d in daemons:
            d.stop()
    first = open(res[builds[0][0]]["out"], "rb").read()
    out = []
    for label, _e in builds:
        r = res[label]
        body = open(r["out"], "rb").read()
        out.append({"label": label, "stored": n, "fill_s": fill_s, "count": body.count(b'"open_time"'),
                    "bytes": len(body), "same": body == first, "requests": requests,
                    "wall_p50": statistics.median(r["wall"]), "wall_p95": pct(r["wall"], 0.95),
                    "wall_min": min(r["wall"]), "cpu_p50": statistics.median(r["cpu"]), "cpu_p95": pct(r["cpu"], 0.95),
                    "load": (load0 + loadavg()) / 2})
    return out


PAGE_JS = r"""
const path = require("path"), fs = require("fs"), os = require("os");
const puppeteer = require(path.join(process.argv[2], "tests/services/node_modules/puppeteer-core"));
(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "coinpipe-bench-"));
  const b = await puppeteer.launch({executablePath: "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--user-data-dir=" + profile]});
  const out = [];
  for (let i = 0; i < 5; i++) {
    const page = await b.newPage();
    await page.goto(process.argv[3], {waitUntil: "domcontentloaded"});
    await page.waitForFunction(() => Number((document.querySelector("#chart") || {dataset: {}}).dataset.candles) > 0,
                               {timeout: 30000, polling: "raf"});
    out.push(await page.evaluate(() => ({ms: performance.now(), candles: Number(document.querySelector("#chart").dataset.candles)})));
    await page.close();
  }
  await b.close();
  fs.rmSync(profile, {recursive: true, force: true});
  console.log(JSON.stringify(out));
})();
"""


def bench_page(exe, tmp, mock, n):
    port = free_port()
    conf = os.path.join(tmp, "b.conf")
    open(conf, "w").write(conf_text(tmp, mock, port, ["BTCUSDT"], ["ohlcv"], "1d", False))
    stored = sqlite_count(tmp)
    if stored < n:
        start = 1704067200000 + stored * 60000
        subprocess.run([exe, "backfill", "--pipeline", "b", "-c", conf,
                        "--from", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start / 1000)),
                        "--to", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((1704067200000 + n * 60000) / 1000))],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stored = sqlite_count(tmp)
    d = Daemon(exe, conf, port, os.path.join(tmp, "d2.log"))
    js = os.path.join(tmp, "page.cjs")
    open(js, "w").write(PAGE_JS)
    try:
        r = subprocess.run(["node", js, SRC, f"http://127.0.0.1:{port}/#/s/binance/BTC-USDT"], check=True,
                           capture_output=True, text=True, timeout=300)
    finally:
        d.stop()
    runs = json.loads(r.stdout.strip().splitlines()[-1])
    ms = [x["ms"] for x in runs]
    return {"stored": stored, "median_ms": statistics.median(ms), "max_ms": max(ms), "candles_drawn": runs[0]["candles"]}


def sqlite_count(tmp):
    import sqlite3
    try:
        return sqlite3.connect(os.path.join(tmp, "c.db")).execute("SELECT count(*) FROM ohlcv").fetchone()[0]
    except Exception:
        return 0


def bench_live(exe, tmp, mock, clients, secs):
    """CPU of the daemon collecting 200 symbols' tickers every second, without and with live clients"""
    port = free_port()
    conf = os.path.join(tmp, "live.conf")
    syms = ["SYM%03dUSDT" % i for i in range(200)]
    open(conf, "w").write(conf_text(tmp + "/live", mock, port, syms, ["ticker"], "1s", True))
    os.makedirs(tmp + "/live", exist_ok=True)
    d = Daemon(exe, conf, port, os.path.join(tmp, "d3.log"))
    received = [0] * clients
    stop = threading.Event()

    def client(i):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        s.settimeout(1)
        while not stop.is_set():
            try:
                b = s.recv(65536)
            except socket.timeout:
                continue
            if not b:
                break
            received[i] += b.count(b"event: rows")
        s.close()

    try:
        time.sleep(3)
        c0, t0 = cpu_seconds(d.p.pid), time.time()
        time.sleep(secs)
        base = (cpu_seconds(d.p.pid) - c0) / (time.time() - t0)
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        time.sleep(3)
        c0, t0, r0 = cpu_seconds(d.p.pid), time.time(), sum(received)
        time.sleep(secs)
        with_clients = (cpu_seconds(d.p.pid) - c0) / (time.time() - t0)
        events = sum(received) - r0
        connected = sum(1 for r in received if r > 0)
        stop.set()
        for t in threads:
            t.join(3)
    finally:
        d.stop()
    return {"clients": clients, "connected": connected, "events_per_client_s": events / clients / secs,
            "cpu_base_pct": base * 100, "cpu_with_pct": with_clients * 100, "cpu_clients_pct": (with_clients - base) * 100}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--candles", type=int, default=100000)
    ap.add_argument("--page-candles", type=int, default=1000000)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--secs", type=float, default=20)
    ap.add_argument("--requests", type=int, default=20, help="candles requests per build (after one warm-up)")
    ap.add_argument("--compare", help="another build (a directory with coinpipe and plugins/): candles paired")
    ap.add_argument("--compare-label", default="compared")
    ap.add_argument("--skip-page", action="store_true")
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    exe = os.path.join(a.build, "coinpipe")
    builds = [("this build", exe)] + ([(a.compare_label, os.path.join(a.compare, "coinpipe"))] if a.compare else [])
    tmp = tempfile.mkdtemp(prefix="coinpipe-bench-dash-")
    mock = subprocess.Popen([sys.executable, os.path.join(SRC, "tests/mock_exchange/server.py"), "--port-file", tmp + "/port"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not os.path.exists(tmp + "/port") or not open(tmp + "/port").read().strip():
            time.sleep(0.1)
        url = "http://127.0.0.1:" + open(tmp + "/port").read().strip()
        cs = bench_candles(builds, tmp, url, a.candles, a.requests)
        p = None if a.skip_page else bench_page(exe, tmp, url, a.page_candles)
        l = None if a.skip_live else bench_live(exe, tmp, url, a.clients, a.secs)
    finally:
        mock.terminate()
    rev = subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    met = lambda ok: "**met**" if ok else "**missed**"
    c = cs[0]
    rows = [f"| `GET /api/v1/candles` answering {c['count']:,} candles ({c['bytes'] / 1e6:.1f} MB of JSON) from SQLite "
            f"({c['stored']:,} stored) | < 150 ms | {met(c['wall_p50'] < 150)}: wall p50 {c['wall_p50']:.0f} ms, "
            f"p95 {c['wall_p95']:.0f} ms, best {c['wall_min']:.0f} ms; daemon CPU p50 {c['cpu_p50']:.0f} ms, "
            f"p95 {c['cpu_p95']:.0f} ms ({c['requests']} requests by curl, warm; load {c['load']:.1f}) |"]
    if p:
        rows.append(f"| page interactive (symbol view: candles drawn) with {p['stored']:,} candles stored | < 1 s | "
                    f"{met(p['median_ms'] < 1000)}: median {p['median_ms']:.0f} ms, worst {p['max_ms']:.0f} ms "
                    f"(5 loads; {p['candles_drawn']:,} candles drawn) |")
    if l:
        rows.append(f"| {l['clients']} live clients ({l['connected']} received events, {l['events_per_client_s']:.2f} "
                    f"events/s each), 200 tickers a second | < 5 % of a core | {met(l['cpu_clients_pct'] < 5)}: "
                    f"+{l['cpu_clients_pct']:.2f} % ({l['cpu_base_pct']:.2f} % without, {l['cpu_with_pct']:.2f} % with) |")
    md = f"## Dashboard figures at {rev} ({time.strftime('%Y-%m-%d')})\n\n| figure | target | measured |\n|---|---|---|\n"
    md += "\n".join(rows) + "\n"
    if len(cs) > 1:
        md += ("\nCandles paired with another build (requests alternating on the same database):\n\n"
               "| build | wall p50 | wall p95 | daemon CPU p50 | daemon CPU p95 | same answer |\n|---|---|---|---|---|---|\n")
        for x in cs:
            md += (f"| {x['label']} | {x['wall_p50']:.0f} ms | {x['wall_p95']:.0f} ms | {x['cpu_p50']:.1f} ms | "
                   f"{x['cpu_p95']:.1f} ms | {'yes' if x['same'] else 'NO'} |\n")
    md += f"\nLoad average (1 min) at the end: {loadavg():.1f}.\n"
    print(md)
    if a.out:
        open(a.out, "w").write(md)


if __name__ == "__main__":
    main()
