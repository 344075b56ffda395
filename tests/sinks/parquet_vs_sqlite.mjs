// Reads every .parquet file under DIR with an independent reader (hyparquet, zstd and snappy
// through hyparquet-compressors) and compares its rows cell by cell with the SQLite database DB
// the same pipeline wrote: for each stream, the Parquet rows (over all its files) and the table's
// rows must be the same multiset. Cells are compared as canonical text: decimals exactly (the
// Parquet DECIMAL's unscaled integer vs the exchange's text SQLite kept with decimal_as = "text", both
// without insignificant zeros), times as epoch milliseconds, doubles as the shortest text that
// reads back (SQLite's REAL read by Python's sqlite3, exactly), integers and booleans as digits.
// Usage: node parquet_vs_sqlite.mjs DIR DB   (from tests/integration/objstore_parquet.sh)
// SPDX-License-Identifier: MIT
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { decText, loadReader, rawDecimals } from './parquet_util.mjs';
import { execFileSync } from 'node:child_process';

const [dir, db] = process.argv.slice(2);
const { parquetMetadata, parquetReadObjects, compressors } = await loadReader();
let fails = 0;
const fail = (m) => { console.error('FAIL: ' + m); fails++; };

// exact decimal text -> canonical form: no leading zeros, no trailing fraction zeros, "-0" -> "0"
function canon(text) {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return 'bad:' + text;
  let digits = (m[2] || '') + (m[3] || '');
  let point = (m[2] || '').length + Number(m[4] || 0); // digits before the point
  while (point < 0) { digits = '0' + digits; point++; }
  while (digits.length < point) digits += '0';
  let int = digits.slice(0, point).replace(/^0+/, '') || '0';
  let frac = digits.slice(point).replace(/0+$/, '');
  const zero = int === '0' && frac === '';
  return (m[1] === '-' && !zero ? '-' : '') + int + (frac ? '.' + frac : '');
}


function files(d) {
  const out = [];
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.parquet')) out.push(p);
  }
  return out.sort();
}

const byStream = new Map(); // stream -> { cols, kinds, rows: [] }
let codecs = new Set(), groups = 0, dictChunks = 0, deltaChunks = 0;
const decTypes = new Set(); // physical types of the DECIMAL columns
for (const path of files(dir)) {
  const rel = relative(dir, path);
  const m = /(?:^|\/)([^/]+)\/year=\d{4}\/month=\d\d\/day=\d\d\/[^/]+\.parquet$/.exec(rel);
  if (!m) { fail(`${rel}: not in the <stream>/year=/month=/day=/ layout`); continue; }
  const stream = m[1];
  const buf = readFileSync(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const meta = parquetMetadata(file);
  groups += meta.row_groups.length;
  for (const rg of meta.row_groups)
    for (const c of rg.columns) {
      codecs.add(c.meta_data.codec);
      if (c.meta_data.encodings.includes('RLE_DICTIONARY')) dictChunks++;
      if (c.meta_data.encodings.includes('DELTA_BINARY_PACKED')) deltaChunks++;
    }
  const elems = meta.schema.slice(1);
  const kinds = {};
  for (const e of elems) {
    const lt = e.logical_type?.type;
    if (lt === 'DECIMAL') decTypes.add(`${e.type}(${e.logical_type.precision},${e.logical_type.scale})`);
    kinds[e.name] = lt === 'DECIMAL' ? 'dec:' + e.logical_type.scale : lt === 'TIMESTAMP' ? 'ts'
      : e.type === 'DOUBLE' ? 'dbl' : e.type === 'INT64' ? 'int' : e.type === 'BOOLEAN' ? 'bool' : 'text';
    if (lt === 'TIMESTAMP' && (e.logical_type.unit !== 'MILLIS' || !e.logical_type.isAdjustedToUTC))
      fail(`${rel}: ${e.name}: ${JSON.stringify(e.logical_type)}`);
  }
  const rows = await parquetReadObjects({ file, metadata: rawDecimals(meta), compressors });
  if (rows.length !== Number(meta.num_rows)) fail(`${rel}: ${rows.length} rows read, num_rows ${meta.num_rows}`);
  const cols = elems.map((e) => e.name);
  let s = byStream.get(stream);
  if (!s) byStream.set(stream, s = { cols, kinds, rows: [] });
  else if (s.cols.join() !== cols.join()) fail(`${rel}: columns differ from the stream's other files`);
  for (const row of rows)
    s.rows.push(cols.map((c) => {
      const v = row[c];
      if (v === null || v === undefined) return null;
      const k = kinds[c];
      if (k.startsWith('dec:')) return canon(decText(v, Number(k.slice(4))));
      if (k === 'ts') return String(v instanceof Date ? v.getTime() : v);
      if (k === 'dbl') return String(v);
      if (k === 'bool') return v ? '1' : '0';
      return String(v);
    }));
}

if (!byStream.size) fail(`no Parquet file under ${dir}`);
const READ = `import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(sys.argv[2])
print(json.dumps([[None if v is None else repr(v) if isinstance(v, float) else str(v) for v in r] for r in rows]))`;
let cells = 0;
for (const [stream, s] of byStream) {
  // Python's sqlite3 module reads the table: a REAL comes out exactly (repr), an INTEGER whole
  const out = execFileSync('python3', ['-c', READ, db, `SELECT ${s.cols.map((c) => `"${c}"`).join(', ')} FROM "${stream}"`],
    { encoding: 'utf8' });
  const sqlRows = JSON.parse(out).map((r) => r.map((v, i) => {
    if (v === null) return null;
    const k = s.kinds[s.cols[i]];
    if (k.startsWith('dec:')) return canon(v);
    if (k === 'dbl') return String(Number(v));
    return v;
  }));
  const key = (r) => JSON.stringify(r);
  const want = new Map();
  for (const r of sqlRows) want.set(key(r), (want.get(key(r)) || 0) + 1);
  const got = new Map();
  for (const r of s.rows) got.set(key(r), (got.get(key(r)) || 0) + 1);
  let shown = 0;
  for (const [k, n] of got)
    if (want.get(k) !== n && shown++ < 5) fail(`${stream}: Parquet row ${k} x${n}, SQLite has it x${want.get(k) || 0}`);
  for (const [k, n] of want)
    if (got.get(k) !== n && shown++ < 10) fail(`${stream}: SQLite row ${k} x${n}, the Parquet files have it x${got.get(k) || 0}`);
  if (s.rows.length !== sqlRows.length) fail(`${stream}: ${s.rows.length} Parquet rows, ${sqlRows.length} SQLite rows`);
  cells += s.rows.length * s.cols.length;
  console.log(`${stream}: ${s.rows.length} rows x ${s.cols.length} columns equal to SQLite's`);
}
console.log(`streams ${[...byStream.keys()].sort().join(',')}; ${groups} row groups; codecs ${[...codecs].sort().join(',')}; ` +
  `${dictChunks} dictionary-encoded chunks; ${deltaChunks} DELTA_BINARY_PACKED chunks; ` +
  `decimals ${[...decTypes].sort().join(',')}; ${cells} cells compared`);
process.exit(fails ? 1 : 0);
