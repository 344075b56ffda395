#!/usr/bin/env python3
"""NATS JetStream throughput: collector -> 3-node cluster (replicas 3, acks) -> writer.

Starts three clustered nats-server processes on free loopback ports (stores in a temp dir,
stopped by pid), then measures, for ROWS ticker rows of fake-source (the test plugin: 2000-row
batches, one symbol):
  publish   a collector (`coinpipe --once`, nats sink) publishes them all and gets every ack
  sqlite    a writer (nats-consumer -> sqlite) drains the backlog until SQLite holds them all
  postgres  the same into PostgreSQL (when COINPIPE_TEST_PG is set: run under
            tests/services/run.sh)
  zstd      publish and SQLite again with compression = "zstd"
  e2e       collector (zstd) and SQLite writer at once: first row published to last row stored
and prints rows/s (wall clock) and CPU per row of the coinpipe process (user + system, from
/proc) and of the three servers together. Usage:
  tests/services/run.sh python3 bench/bench_nats.py [--build build] [--rows 1000000] [--out FILE]
The cluster is warmed up first (a stream of its own), so that the JetStream meta leader's
election in the servers' first seconds is not timed.
"""
# SPDX-License-Identifier: MIT
import argparse
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HZ = os.sysconf("SC_CLK_TCK")
WRITER_PIPELINE = os.environ.get("BENCH_NATS_PIPELINE", 'batch_interval = "250ms"; batch_rows = 20000;')
WRITER_SOURCE = os.environ.get("BENCH_NATS_SOURCE", "fetch_batch = 64;")


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
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def cpu_s(pid):
    """user + system seconds of a running process"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / HZ
    except OSError:
        return 0.0


class Cluster:
    def __init__(self, tmp):
        self.tmp = tmp
        names = ["n1", "n2", "n3"]
        self.port = {n: free_port() for n in names}
        route = {n: free_port() for n in names}
        self.procs = []
        for n in names:
            routes = ", ".join(f'"nats-route://127.0.0.1:{route[m]}"' for m in names if m != n)
            conf = os.path.join(tmp, f"{n}.conf")
            with open(conf, "w") as f:
                f.write(f'server_name: {n}\nlisten: 127.0.0.1:{self.port[n]}\n'
                        f'jetstream {{ store_dir: "{tmp}/js-{n}" }}\n'
                        f'cluster {{ name: bench, listen: "127.0.0.1:{route[n]}", routes: [{routes}] }}\n')
            log = open(os.path.join(tmp, f"{n}.log"), "w")
            self.procs.append(subprocess.Popen(["nats-server", "-c", conf], stdout=log, stderr=log))
        for n in names:
            wait_port(self.port[n])

    def servers(self):
        return ", ".join(f'"nats://127.0.0.1:{p}"' for p in self.port.values())

    def cpu(self):
        return sum(cpu_s(p.pid) for p in self.procs)

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait()


def write_conf(path, tmp, build, body, state):
    with open(path, "w") as f:
        f.write(f'global = {{ state_dir = "{tmp}/{state}"; log_format = "logfmt"; '
                f'plugin_path = ["{build}/test-plugins", "{build}/plugins"]; shutdown_timeout = "60s"; }};\n'
                f"pipelines = ( {body} );\n")


def collector_conf(tmp, build, cl, rows, stream, start, extra=""):
    path = os.path.join(tmp, f"col-{stream}.conf")
    batches = rows // 2000
    write_conf(path, tmp, build,
               f'{{ name = "col"; interval = "1h"; source = {{ plugin = "fake-source"; rows = 2000; '
               f'batches = {batches}; start = {start}; }}; sinks = ( {{ plugin = "nats"; servers = [{cl.servers()}]; '
               f'replicas = 3; stream = "{stream}"; subject_prefix = "{stream.lower()}"; max_pending = 1024; '
               f'queue_size = 64; {extra} }} ); }}', f"state-col-{stream}")
    return path


def writer_conf(tmp, build, cl, stream, sink, state):
    path = os.path.join(tmp, f"wr-{state}.conf")
    write_conf(path, tmp, build,
               f'{{ name = "wr"; {WRITER_PIPELINE} '
               f'source = {{ plugin = "nats-consumer"; servers = [{cl.servers()}]; stream = "{stream}"; '
               f'durable = "{state}"; subject = "{stream.lower()}.>"; {WRITER_SOURCE} }}; '
               f'sinks = ( {sink} ); }}', f"state-{state}")
    return path


def run_collector(bin_, conf):
    t0 = time.time()
    p = subprocess.Popen([bin_, "--once", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.time() - t0
    err = p.stderr.read().decode()
    if status != 0:
        sys.exit("collector failed: " + err[-2000:])
    if os.environ.get("BENCH_NATS_LOG"):
        sys.stderr.write(err)
    return wall, ru.ru_utime + ru.ru_stime


def run_writer(bin_, conf, count, rows, timeout=600):
    t0 = time.time()
    p = subprocess.Popen([bin_, "-c", conf], stdout=subprocess.DEVNULL, stderr=open(conf + ".err", "w"))
    n = 0
    while time.time() - t0 < timeout:
        n = count()
        if n >= rows:
            break
        time.sleep(0.05)
    wall = time.time() - t0
    cpu = cpu_s(p.pid)
    p.send_signal(signal.SIGTERM)
    p.wait()
    if n < rows:
        sys.exit(f"writer stored {n} of {rows} rows in {timeout}s")
    return wall, cpu


def sqlite_count(path):
    def f():
        try:
            c = sqlite3.connect(path, timeout=1)
            try:
                return c.execute("SELECT count(*) FROM ticker").fetchone()[0]
            finally:
                c.close()
        except sqlite3.Error:
            return 0
    return f


def pg_count(conninfo, table):
    def f():
        r = subprocess.run(["psql", conninfo, "-XAtqc", f"SELECT count(*) FROM {table}"], capture_output=True,
                           text=True)
        return int(r.stdout.strip() or 0) if r.returncode == 0 else 0
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--out", help="markdown file to write the table to")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    bin_ = os.path.join(a.build, "coinpipe")
    rows = a.rows - a.rows % 2000
    tmp = tempfile.mkdtemp(prefix="coinpipe-bench-nats-")
    res = []
    cl = Cluster(tmp)
    try:
        # warm-up, not timed: the cluster elects its JetStream meta leader in the first seconds
        run_collector(bin_, collector_conf(tmp, a.build, cl, 2000, "WARM", 1600000000000))

        def publish(title, stream, start, extra=""):
            c0 = cl.cpu()
            wall, cpu = run_collector(bin_, collector_conf(tmp, a.build, cl, rows, stream, start, extra))
            res.append((title, rows, wall, cpu, cl.cpu() - c0))

        def consume_sqlite(title, stream, state):
            c0 = cl.cpu()
            db = os.path.join(tmp, state + ".db")
            wall, cpu = run_writer(bin_, writer_conf(tmp, a.build, cl, stream, f'{{ plugin = "sqlite"; path = "{db}"; }}',
                                                     state), sqlite_count(db), rows)
            res.append((title, rows, wall, cpu, cl.cpu() - c0))

        publish("publish: collector -> 3 servers (R3, acks)", "BENCH", 1700000000000)
        consume_sqlite("consume: 3 servers -> writer -> SQLite (acks)", "BENCH", "sq")
        publish("publish, zstd: collector -> 3 servers (R3, acks)", "BENCHZ", 1750000000000, 'compression = "zstd";')
        consume_sqlite("consume, zstd: 3 servers -> writer -> SQLite (acks)", "BENCHZ", "sqz")

        pg = os.environ.get("COINPIPE_TEST_PG")
        if pg and shutil.which("psql"):
            prefix = f"bn{os.getpid()}_"
            c0 = cl.cpu()
            sink = f'{{ plugin = "postgresql"; conninfo = "{pg}"; table_prefix = "{prefix}"; }}'
            try:
                wall, cpu = run_writer(bin_, writer_conf(tmp, a.build, cl, "BENCH", sink, "pg"),
                                       pg_count(pg, prefix + "ticker"), rows)
                res.append(("consume: 3 servers -> writer -> PostgreSQL (acks)", rows, wall, cpu, cl.cpu() - c0))
            finally:
                subprocess.run(["psql", pg, "-XAtqc", f"DROP TABLE IF EXISTS {prefix}ticker"], capture_output=True)

        # end to end: both at once, first publish to last row stored
        db2 = os.path.join(tmp, "e2e.db")
        wconf = writer_conf(tmp, a.build, cl, "E2E", f'{{ plugin = "sqlite"; path = "{db2}"; }}', "e2e")
        cconf = collector_conf(tmp, a.build, cl, rows, "E2E", 1800000000000, 'compression = "zstd";')
        c0 = cl.cpu()
        t0 = time.time()
        col = subprocess.Popen([bin_, "--once", "-c", cconf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # the collector creates the stream; the writer binds to it
        wall, wcpu = run_writer(bin_, wconf, sqlite_count(db2), rows)
        _, status, ru = os.wait4(col.pid, 0)
        res.append(("end to end, zstd: collector + writer -> SQLite at once", rows, time.time() - t0 if wall else 0,
                    ru.ru_utime + ru.ru_stime + wcpu, cl.cpu() - c0))
    finally:
        cl.stop()
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    lines = [f"NATS JetStream bench: {rows} ticker rows of fake-source (2000-row batches, 1000-row messages), "
             f"3 nats-servers on loopback, stream replicas 3, file storage; {os.cpu_count()} CPUs shared by all",
             "",
             "| path | rows | seconds | rows/s | coinpipe CPU µs/row | servers CPU µs/row |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, n, wall, cpu, scpu in res:
        lines.append(f"| {name} | {n} | {wall:.2f} | {n / wall:,.0f} | {cpu * 1e6 / n:.2f} | {scpu * 1e6 / n:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
