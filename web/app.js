/* coinpipe's dashboard: markets, a symbol's chart and statistics, and pipeline health, from the
 * daemon's JSON API (docs/dashboard.md) with live rows from its event stream.
 * SPDX-License-Identifier: MIT
 *
 * State kept by the page is bounded: one latest row per series (as the server's table), the
 * candles of the one chart shown (at most the API's limit), 50 trades; a page left open for a
 * day holds the same amount as after a minute.
 */
"use strict";

const Q = window.CP_QUERY || "";
const api = (path, args) => {
  const u = new URL("api/v1/" + path, location.href);
  for (const [k, v] of Object.entries(args || {})) if (v !== undefined && v !== null) u.searchParams.set(k, v);
  const t = Q.match(/access_token=([^&]*)/);
  if (t) u.searchParams.set("access_token", decodeURIComponent(t[1]));
  return fetch(u).then(r => r.ok ? r.json() : r.json().then(e => Promise.reject(new Error(e.error || r.status))));
};

/* ---- state ---------------------------------------------------------------------------------- */
const latest = new Map();  /* series key -> {stream, seq, ts, row} */
let maxSeq = 0;
const seriesKey = (stream, row) =>
  [stream, row.exchange || row.source, row.symbol || row.coin_id, row.interval || row.vs_currency || (row.rule ? row.pipeline + "/" + row.rule : "")].join("|");
const marketKey = row => (row.exchange || row.source) + "|" + (row.symbol || row.coin_id);
const sparks = new Map();  /* market key -> closes (at most 48) */

const $ = s => document.querySelector(s);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (k === "class") e.className = v; else e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k == null ? "" : String(k)));
  return e;
};
const fmtNum = v => {
  if (v == null || v === "") return "–";
  const n = Number(v);
  if (!isFinite(n)) return String(v);
  return n.toLocaleString(undefined, {maximumSignificantDigits: Math.abs(n) >= 1e6 ? 15 : 10});
};
const fmtBps = v => v == null ? "–" : Number(v).toFixed(Math.abs(v) < 1 ? 4 : 2);
const fmtTime = ms => ms ? new Date(ms).toLocaleString() : "–";
const fmtAgo = ms => {
  if (!ms) return "never";
  const s = Math.round((Date.now() - ms) / 1000);
  return s < 0 ? "in " + (-s) + " s" : s < 90 ? s + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : fmtTime(ms);
};
const fmtIn = ms => {
  if (!ms) return "–";
  const s = Math.round((ms - Date.now()) / 1000);
  return s <= 0 ? "now" : s < 90 ? "in " + s + " s" : "in " + Math.round(s / 60) + " min";
};
const fmtBytes = n => n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " kB" : (n / 1048576).toFixed(1) + " MB";
/* lightweight-charts draws UTC seconds: shifted so that its axis shows the browser's zone */
const tzShift = ms => (ms - new Date(ms).getTimezoneOffset() * 60000) / 1000;

function take(rows) {
  const changed = [];
  for (const r of rows) {
    const k = seriesKey(r.stream, r.row);
    const old = latest.get(k);
    /* by time, not by seq: a restarted daemon numbers its rows from 0 again */
    if (old && r.ts != null && old.ts != null && r.ts < old.ts) continue;
    latest.set(k, r);
    if (r.seq > maxSeq) maxSeq = r.seq;
    changed.push(r);
  }
  return changed;
}

/* ---- markets -------------------------------------------------------------------------------- */
function markets() {
  const m = new Map();
  for (const r of latest.values()) {
    if (!["ticker", "book_top", "spread", "ohlcv", "trade", "market", "spot_price"].includes(r.stream)) continue;
    const k = marketKey(r.row);
    if (!m.has(k)) m.set(k, {exchange: r.row.exchange || r.row.source, symbol: r.row.symbol || r.row.coin_id});
    m.get(k)[r.stream] = r;
  }
  return [...m.values()].sort((a, b) => (a.exchange + a.symbol).localeCompare(b.exchange + b.symbol));
}

/* the last traded price: the ticker's, else the newest trade's, candle close or CoinGecko price */
function lastPrice(mk) {
  if (mk.ticker && mk.ticker.row.last != null) return mk.ticker.row.last;
  if (mk.trade) return mk.trade.row.price;
  if (mk.ohlcv) return mk.ohlcv.row.close;
  if (mk.market) return mk.market.row.price;
  return mk.spot_price ? mk.spot_price.row.price : null;
}

function sparkSvg(vals) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 100 24");
  if (vals && vals.length > 1) {
    const lo = Math.min(...vals), hi = Math.max(...vals), span = hi - lo || 1;
    const pts = vals.map((v, i) => (i * 100 / (vals.length - 1)).toFixed(1) + "," + (22 - (v - lo) / span * 20).toFixed(1));
    const p = document.createElementNS(svg.namespaceURI, "polyline");
    p.setAttribute("points", pts.join(" "));
    p.setAttribute("fill", "none");
    p.setAttribute("stroke", vals[vals.length - 1] >= vals[0] ? "#26a69a" : "#ef5350");
    p.setAttribute("stroke-width", "1.5");
    svg.append(p);
  }
  return svg;
}

const sparkAsked = new Set();
function loadSpark(mk) {
  const k = mk.exchange + "|" + mk.symbol;
  if (sparkAsked.has(k) || !mk.ohlcv || sparkAsked.size > 200) return;
  sparkAsked.add(k);
  api("candles", {exchange: mk.exchange, symbol: mk.symbol, interval: mk.ohlcv.row.interval, limit: 48})
    .then(cs => { sparks.set(k, cs.map(c => Number(c.close))); renderMarkets(); }).catch(() => {});
}

/* the `alert` rows whose newest state is firing, newest first */
function renderAlerts() {
  const firing = [...latest.values()].filter(r => r.stream === "alert" && r.row.state === "firing")
    .sort((a, b) => (b.ts || 0) - (a.ts || 0));
  $("#alerts").hidden = firing.length === 0;
  const frag = document.createDocumentFragment();
  for (const r of firing)
    frag.append(el("tr", {class: "alert", "data-rule": r.row.rule},
      el("td", null, r.row.rule), el("td", null, r.row.exchange), el("td", null, r.row.symbol),
      el("td", {class: "num"}, fmtNum(r.row.value)), el("td", null, r.row.message), el("td", {class: "num"}, fmtAgo(r.ts))));
  $("#alert-table tbody").replaceChildren(frag);
}

function renderMarkets() {
  renderAlerts();
  const body = $("#market-table tbody");
  const rows = markets();
  $("#market-empty").hidden = rows.length > 0;
  const frag = document.createDocumentFragment();
  for (const mk of rows) {
    loadSpark(mk);
    const last = lastPrice(mk);
    const chg = mk.ticker ? mk.ticker.row.change_pct : mk.market ? mk.market.row.price_change_percentage_24h : null;
    const bps = mk.spread ? mk.spread.row.spread_bps : null;
    const upd = Math.max(...["ticker", "trade", "book_top", "spread", "ohlcv", "market"].map(s => mk[s] ? mk[s].ts || 0 : 0));
    const tr = el("tr", {"data-exchange": mk.exchange, "data-symbol": mk.symbol, "data-ts": String(upd),
                         "data-last": last == null ? "" : String(last)},
      el("td", {}, mk.exchange), el("td", {class: "sym"}, mk.symbol),
      el("td", {class: "num last"}, fmtNum(last)),
      el("td", {class: "num " + (chg > 0 ? "up" : chg < 0 ? "down" : "")}, chg == null ? "–" : Number(chg).toFixed(2) + " %"),
      el("td", {}, sparkSvg(sparks.get(mk.exchange + "|" + mk.symbol))),
      el("td", {class: "num"}, fmtBps(bps)),
      el("td", {class: "num", title: fmtTime(upd)}, fmtAgo(upd)));
    tr.addEventListener("click", () => { location.hash = "#/s/" + encodeURIComponent(mk.exchange) + "/" + encodeURIComponent(mk.symbol); });
    frag.append(tr);
  }
  body.replaceChildren(frag);
}

/* ---- one symbol ----------------------------------------------------------------------------- */
let view = null; /* {exchange, symbol, interval, chart, candles, volume, lines, lower, data} */

function closeSymbol() {
  if (!view) return;
  view.chart.remove();
  if (view.lowerChart) view.lowerChart.remove();
  view = null;
}

function intervalsOf(exchange, symbol) {
  const iv = [];
  for (const r of latest.values())
    if (r.stream === "ohlcv" && r.row.exchange === exchange && r.row.symbol === symbol) iv.push(r.row.interval);
  const ms = s => ({m: 6e4, h: 36e5, d: 864e5, w: 6048e5}[s.slice(-1)] || 1) * parseInt(s, 10);
  return iv.sort((a, b) => ms(a) - ms(b));
}

function candleOf(c) {
  return {time: tzShift(c.open_time), open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close)};
}
function volumeOf(c) {
  return {time: tzShift(c.open_time), value: Number(c.volume), color: Number(c.close) >= Number(c.open) ? "rgba(38,166,154,.45)" : "rgba(239,83,80,.45)"};
}

async function openSymbol(exchange, symbol, interval) {
  closeSymbol();
  $("#sym-title").textContent = exchange + " · " + symbol;
  const ivs = intervalsOf(exchange, symbol);
  interval = interval || ivs[0];
  const sel = $("#sym-interval");
  sel.replaceChildren(...ivs.map(i => el("option", i === interval ? {selected: ""} : {}, i)));
  sel.onchange = () => openSymbol(exchange, symbol, sel.value);
  const opts = {layout: {background: {color: "#0f1419"}, textColor: "#d8dee9"},
                grid: {vertLines: {color: "#1c2430"}, horzLines: {color: "#1c2430"}},
                timeScale: {timeVisible: true, secondsVisible: false}, rightPriceScale: {borderColor: "#263040"}};
  const chart = LightweightCharts.createChart($("#chart"), opts);
  const candles = chart.addCandlestickSeries();
  const volume = chart.addHistogramSeries({priceFormat: {type: "volume"}, priceScaleId: "vol"});
  chart.priceScale("vol").applyOptions({scaleMargins: {top: 0.8, bottom: 0}});
  view = {exchange, symbol, interval, chart, candles, volume, data: [], lines: {}, lowerChart: null, lower: {}};
  const v = view;
  renderSymbolSide();
  if (!interval) { $("#stats").replaceChildren(el("tr", {}, el("td", {class: "hint"}, "No candles collected for this symbol."))); return; }
  const data = await api("candles", {exchange, symbol, interval, limit: 5000}).catch(e => { console.error(e); return []; });
  if (view !== v) return;
  v.data = data;
  candles.setData(data.map(candleOf));
  volume.setData(data.map(volumeOf));
  $("#chart").dataset.candles = String(candles.data().length); /* as the chart holds them */
  chart.timeScale().fitContent();
  renderStats();
  loadIndicators(v);
}

async function loadIndicators(v) {
  const rows = await api("rows", {stream: "indicator", exchange: v.exchange, symbol: v.symbol, interval: v.interval, limit: 5000})
    .catch(() => []);
  if (view !== v || !rows.length) return;
  const cols = Object.keys(rows[0]).filter(c => /^(sma|ema|bb_upper|bb_middle|bb_lower)/.test(c));
  const colors = ["#f5c542", "#4c9aff", "#b48ead", "#88c0d0", "#d08770", "#a3be8c"];
  cols.forEach((c, i) => {
    const s = v.chart.addLineSeries({color: colors[i % colors.length], lineWidth: c.startsWith("bb_") ? 1 : 2,
                                     title: c, priceLineVisible: false, lastValueVisible: false});
    s.setData(rows.filter(r => r[c] != null).map(r => ({time: tzShift(r.open_time), value: Number(r[c])})));
    v.lines[c] = s;
  });
  const lower = Object.keys(rows[0]).filter(c => /^(rsi|macd)/.test(c));
  const byTime = new Map(rows.map(r => [r.open_time, r]));
  if (!lower.length) return;
  const box = $("#chart-lower");
  box.hidden = false;
  v.lowerChart = LightweightCharts.createChart(box, {layout: {background: {color: "#0f1419"}, textColor: "#d8dee9"},
    grid: {vertLines: {color: "#1c2430"}, horzLines: {color: "#1c2430"}}, timeScale: {timeVisible: true}});
  lower.forEach((c, i) => {
    const s = c.endsWith("hist") ? v.lowerChart.addHistogramSeries({color: "#4c9aff", title: c})
                                 : v.lowerChart.addLineSeries({color: colors[(i + 2) % colors.length], lineWidth: 1, title: c});
    /* a point (blank where the indicator has no value yet) for every candle: both panes have the
     * same bars, so they scroll together bar for bar */
    s.setData(v.data.map(k => {
      const r = byTime.get(k.open_time);
      return r && r[c] != null ? {time: tzShift(k.open_time), value: Number(r[c])} : {time: tzShift(k.open_time)};
    }));
    v.lower[c] = s;
  });
  const sync = () => { const r = v.chart.timeScale().getVisibleLogicalRange(); if (r && v.lowerChart) v.lowerChart.timeScale().setVisibleLogicalRange(r); };
  v.chart.timeScale().subscribeVisibleLogicalRangeChange(sync);
  sync();
}

function renderStats() {
  if (!view) return;
  const win = Number($("#sym-window").value);
  const end = view.data.length ? view.data[view.data.length - 1].close_time : Date.now();
  const cs = view.data.filter(c => !win || c.open_time >= end - win);
  $("#stats-window").textContent = cs.length + " candles of " + (view.interval || "–");
  const t = $("#stats");
  if (!cs.length) { t.replaceChildren(el("tr", {}, el("td", {class: "hint"}, "No candles in this window."))); return; }
  const closes = cs.map(c => Number(c.close));
  const first = Number(cs[0].open), last = closes[closes.length - 1];
  const lo = Math.min(...cs.map(c => Number(c.low))), hi = Math.max(...cs.map(c => Number(c.high)));
  const mean = closes.reduce((a, b) => a + b, 0) / closes.length;
  const vol = cs.reduce((a, c) => a + Number(c.volume), 0);
  const row = (k, v, cls) => el("tr", {}, el("th", {}, k), el("td", {class: "num " + (cls || "")}, v));
  t.replaceChildren(row("Min", fmtNum(lo)), row("Max", fmtNum(hi)), row("Mean", fmtNum(mean)),
    row("Change", fmtNum(last - first), last >= first ? "up" : "down"),
    row("Change %", ((last - first) / first * 100).toFixed(2) + " %", last >= first ? "up" : "down"),
    row("Volume", fmtNum(vol)), row("From", fmtTime(cs[0].open_time)), row("To", fmtTime(cs[cs.length - 1].close_time)));
}

let tradesShown = [];
function renderSymbolSide() {
  if (!view) return;
  const mk = markets().find(m => m.exchange === view.exchange && m.symbol === view.symbol) || {};
  $("#sym-last").textContent = fmtNum(lastPrice(mk));
  const b = mk.book_top ? mk.book_top.row : mk.ticker ? mk.ticker.row : null;
  const row = (k, v) => el("tr", {}, el("th", {}, k), el("td", {class: "num"}, v));
  $("#book").replaceChildren(...(b ? [row("Bid", fmtNum(b.bid)), row("Bid size", fmtNum(b.bid_size)),
    row("Ask", fmtNum(b.ask)), row("Ask size", fmtNum(b.ask_size)),
    row("Spread (bps)", fmtBps(mk.spread ? mk.spread.row.spread_bps : null)),
    row("At", fmtTime(mk.book_top ? mk.book_top.ts : mk.ticker.ts))] : [el("tr", {}, el("td", {class: "hint"}, "No book data."))]));
}

function loadTrades() {
  if (!view) return;
  const v = view;
  api("rows", {stream: "trade", exchange: v.exchange, symbol: v.symbol, limit: 50}).then(ts => {
    if (view !== v) return;
    tradesShown = ts.reverse();
    renderTrades();
  }).catch(() => { tradesShown = []; renderTrades(); });
}
function renderTrades() {
  $("#trades tbody").replaceChildren(...tradesShown.slice(0, 50).map(t => el("tr", {},
    el("td", {}, new Date(t.ts).toLocaleTimeString()), el("td", {class: t.side === "buy" ? "up" : "down"}, t.side || "–"),
    el("td", {class: "num"}, fmtNum(t.price)), el("td", {class: "num"}, fmtNum(t.size)))));
}

/* a live row for the symbol shown: the forming or a new candle, a trade, the book */
function liveSymbol(r) {
  if (!view || r.row.exchange !== view.exchange || r.row.symbol !== view.symbol) return;
  if (r.stream === "ohlcv" && r.row.interval === view.interval) {
    const d = view.data, c = r.row;
    if (d.length && d[d.length - 1].open_time === c.open_time) d[d.length - 1] = c;
    else if (!d.length || d[d.length - 1].open_time < c.open_time) { d.push(c); if (d.length > 100000) d.shift(); }
    else return;
    view.candles.update(candleOf(c));
    view.volume.update(volumeOf(c));
    $("#chart").dataset.candles = String(view.candles.data().length);
    renderStats();
  } else if (r.stream === "trade") {
    if (tradesShown.some(t => t.trade_id === r.row.trade_id)) return; /* re-delivered: stored once */
    tradesShown.unshift(r.row);
    tradesShown.length = Math.min(tradesShown.length, 50);
    renderTrades();
  } else if (r.stream === "indicator" && r.row.interval === view.interval) {
    for (const [c, s] of Object.entries(view.lines)) if (r.row[c] != null) s.update({time: tzShift(r.row.open_time), value: Number(r.row[c])});
    for (const [c, s] of Object.entries(view.lower)) if (r.row[c] != null) s.update({time: tzShift(r.row.open_time), value: Number(r.row[c])});
  }
  renderSymbolSide();
}

/* ---- health --------------------------------------------------------------------------------- */
async function renderHealth() {
  const h = await api("pipelines").catch(() => null);
  if (!h) return;
  const td = (v, cls, title) => el("td", Object.assign({}, cls ? {class: cls} : {}, title ? {title} : {}), v);
  $("#pipelines tbody").replaceChildren(...h.pipelines.map(p => el("tr", {},
    el("td", {}, el("span", {class: p.healthy ? "ok-dot" : "bad-dot"}), p.name), td(p.plugin), td(p.schedule),
    td(fmtAgo(p.last_cycle), null, fmtTime(p.last_cycle)), td(fmtIn(p.next_cycle), null, fmtTime(p.next_cycle)),
    td(p.cycles, "num"), td(p.rows, "num"), td(p.failures, "num" + (p.failures ? " down" : "")), td(p.skipped, "num"),
    td(p.last_error ? fmtAgo(p.last_error.at) + ": " + p.last_error.message : "–", p.last_error ? "err" : "",
       p.last_error ? p.errors + " error lines; last at " + fmtTime(p.last_error.at) : ""))));
  $("#sinks tbody").replaceChildren(...h.sinks.map(s => el("tr", {},
    el("td", {}, el("span", {class: s.healthy ? "ok-dot" : "bad-dot"}), s.pipeline + "/" + s.sink), td(s.plugin),
    td(s.rows_written, "num"), td(s.queued, "num"), td(fmtBytes(s.spool_bytes), "num"), td(s.retries, "num"),
    td(s.dead_lettered, "num" + (s.dead_lettered ? " down" : "")), td(fmtAgo(s.last_success), null, fmtTime(s.last_success)))));
  $("#hosts tbody").replaceChildren(...h.hosts.map(x => el("tr", {}, td(x.host), td(x.requests, "num"),
    td(x.failed, "num"), td(x.retries, "num"), td(x.rate_limit_wait_seconds.toFixed(1) + " s", "num"))));
}

/* ---- live ----------------------------------------------------------------------------------- */
let source = null;
function connect() {
  if (source) source.close();
  const u = new URL("api/v1/events", location.href);
  u.searchParams.set("after", String(maxSeq));
  const t = Q.match(/access_token=([^&]*)/);
  if (t) u.searchParams.set("access_token", decodeURIComponent(t[1]));
  source = new EventSource(u);
  source.addEventListener("open", () => { $("#live").textContent = "live"; $("#live").className = "live on"; });
  source.addEventListener("error", () => {
    $("#live").textContent = "reconnecting"; $("#live").className = "live off";
    if (source.readyState === EventSource.CLOSED) setTimeout(() => api("latest").then(take).then(() => { renderMarkets(); connect(); }), 2000);
  });
  source.addEventListener("rows", ev => {
    const changed = take(JSON.parse(ev.data));
    if (!changed.length) return;
    if (!$("#markets").hidden) renderMarkets();
    for (const r of changed) liveSymbol(r);
    document.body.dataset.liveRows = String(Number(document.body.dataset.liveRows || 0) + changed.length);
  });
}

/* ---- routing -------------------------------------------------------------------------------- */
function route() {
  const h = location.hash;
  const m = h.match(/^#\/s\/([^/]+)\/([^/]+)$/);
  $("#markets").hidden = !!m || h === "#/health";
  $("#symbol").hidden = !m;
  $("#health").hidden = h !== "#/health";
  $("#nav-markets").className = $("#markets").hidden ? "" : "active";
  $("#nav-health").className = h === "#/health" ? "active" : "";
  if (m) { openSymbol(decodeURIComponent(m[1]), decodeURIComponent(m[2])); loadTrades(); }
  else closeSymbol();
  if (!$("#markets").hidden) renderMarkets();
  if (!$("#health").hidden) renderHealth();
}

$("#sym-window").addEventListener("change", renderStats);
window.addEventListener("hashchange", route);
setInterval(() => {
  $("#clock").textContent = new Date().toLocaleTimeString();
  if (!$("#health").hidden) renderHealth();
}, 2000);
setInterval(() => { if (!$("#markets").hidden) renderMarkets(); }, 10000); /* the "updated" column ages */

api("latest").then(rows => {
  take(rows);
  route();
  connect();
  document.body.dataset.ready = "1";
}).catch(e => { $("#market-empty").textContent = "Cannot load the latest rows: " + e.message; });
