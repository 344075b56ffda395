// Reads the integer-column files `test_parquet --write DIR` wrote (DIR/ints.json: INT64 with its
// extremes, TIMESTAMP(MILLIS), DECIMAL(18, 8) as INT64 and DECIMAL(9, 2) as INT32, DELTA_BINARY_PACKED
// and PLAIN) with hyparquet and compares them cell by cell; decimals as exact text from the
// unscaled integer. Usage: node parquet_read_ints.mjs DIR   (tests/integration/parquet_reader.sh)
// SPDX-License-Identifier: MIT
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decText, loadReader, rawDecimals } from './parquet_util.mjs';

const dir = process.argv[2];
const { parquetMetadata, parquetReadObjects, compressors } = await loadReader();
const expected = JSON.parse(readFileSync(join(dir, 'ints.json'), 'utf8'));
let fails = 0;
const fail = (m) => { if (fails++ < 20) console.error('FAIL: ' + m); };

const want = { p: ['INT64', 18, 8], q: ['INT32', 9, 2] };
for (const f of expected.files) {
  const buf = readFileSync(join(dir, f.name));
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const meta = parquetMetadata(file);
  const where = f.name;
  if (meta.row_groups.length !== f.row_groups) fail(`${where}: ${meta.row_groups.length} row groups, want ${f.row_groups}`);
  const elems = Object.fromEntries(meta.schema.slice(1).map((e) => [e.name, e]));
  for (const [n, [type, precision, scale]] of Object.entries(want)) {
    const lt = elems[n].logical_type;
    if (elems[n].type !== type || lt?.type !== 'DECIMAL' || lt.precision !== precision || lt.scale !== scale)
      fail(`${where}: ${n}: ${elems[n].type} ${JSON.stringify(lt)}`);
  }
  // a chunk is DELTA_BINARY_PACKED where that is smaller than PLAIN (not for 64-bit jumps, nor for
  // a single large value): some chunks of a delta file, none of a plain one
  let deltas = 0, chunks = 0;
  for (const rg of meta.row_groups)
    for (const c of rg.columns) {
      if (c.meta_data.codec !== f.codec) fail(`${where}: codec ${c.meta_data.codec}, want ${f.codec}`);
      chunks++;
      if (c.meta_data.encodings.includes('DELTA_BINARY_PACKED')) deltas++;
    }
  if (f.delta ? !deltas : deltas) fail(`${where}: ${deltas} of ${chunks} chunks DELTA_BINARY_PACKED`);
  const rows = await parquetReadObjects({ file, metadata: rawDecimals(meta), compressors });
  if (rows.length !== expected.rows.length) fail(`${where}: ${rows.length} rows`);
  let cells = 0;
  rows.forEach((row, r) => {
    expected.columns.forEach((col, c) => {
      let v = row[col];
      if (v === null || v === undefined) v = null;
      else if (col in want) v = decText(v, want[col][2]);
      else if (v instanceof Date) v = String(v.getTime());
      else v = String(v);
      const w = expected.rows[r][c];
      if (v !== w) fail(`${where}: row ${r}, column ${col}: read ${JSON.stringify(v)}, want ${JSON.stringify(w)}`);
      cells++;
    });
  });
  // statistics of the first row group as the reader decodes them: min/max of a and the decimals
  const st = (n) => meta.row_groups[0].columns[expected.columns.indexOf(n)].meta_data.statistics;
  const firstRows = expected.rows.slice(0, Number(meta.row_groups[0].num_rows));
  // (the reader turns a decimal's statistics into a number: compared as numbers)
  for (const n of ['a', 'p', 'q']) {
    const texts = firstRows.map((x) => x[expected.columns.indexOf(n)]).filter((x) => x !== null);
    if (!texts.length) continue;
    const vals = texts.map((x) => BigInt(x.replace('.', '')));
    let lo = 0, hi = 0;
    vals.forEach((x, k) => { if (x < vals[lo]) lo = k; if (x > vals[hi]) hi = k; });
    const s = st(n);
    const same = n === 'a' ? BigInt(s.min_value) === vals[lo] && BigInt(s.max_value) === vals[hi]
      : s.min_value === Number(texts[lo]) && s.max_value === Number(texts[hi]);
    if (!same) fail(`${where}: ${n} statistics ${s.min_value}..${s.max_value}, want ${texts[lo]}..${texts[hi]}`);
  }
  console.log(`ok: ${where}: ${rows.length} rows, ${meta.row_groups.length} row groups, ${f.codec}, ` +
    `${deltas} of ${chunks} chunks DELTA_BINARY_PACKED, ${cells} cells equal`);
}
process.exit(fails ? 1 : 0);
