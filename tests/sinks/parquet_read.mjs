// Reads the files `test_parquet --write DIR` wrote with an independent Parquet reader
// (hyparquet, zstd through hyparquet-compressors) and compares them cell by cell with
// DIR/expected.json; decimals are compared as exact text made from the unscaled integer.
// Usage: node parquet_read.mjs DIR   (run from tests/integration/parquet_reader.sh)
// SPDX-License-Identifier: MIT
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decText, loadReader, rawDecimals } from './parquet_util.mjs';

const dir = process.argv[2];
const { parquetMetadata, parquetReadObjects, compressors } = await loadReader();
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
let fails = 0;
const fail = (m) => { console.error('FAIL: ' + m); fails++; };


for (const f of expected.files) {
  const buf = readFileSync(join(dir, f.name));
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const meta = parquetMetadata(file);
  const where = f.name;
  if (Number(meta.num_rows) !== expected.rows.length) fail(`${where}: num_rows ${meta.num_rows}`);
  if (meta.row_groups.length !== f.row_groups) fail(`${where}: ${meta.row_groups.length} row groups, want ${f.row_groups}`);
  for (const rg of meta.row_groups)
    for (const c of rg.columns)
      if (c.meta_data.codec !== f.codec) fail(`${where}: codec ${c.meta_data.codec}, want ${f.codec}`);
  // string columns are dictionary-encoded unless the file was written with plain strings
  const enc = meta.row_groups[0].columns[0].meta_data.encodings;
  if (enc.includes('RLE_DICTIONARY') !== f.dictionary)
    fail(`${where}: exchange encodings ${enc}, dictionary expected: ${f.dictionary}`);
  const elems = Object.fromEntries(meta.schema.slice(1).map((e) => [e.name, e]));
  const names = meta.schema.slice(1).map((e) => e.name);
  if (names.join() !== expected.columns.join()) fail(`${where}: columns ${names}`);
  const ts = elems.ts.logical_type;
  if (ts?.type !== 'TIMESTAMP' || ts.unit !== 'MILLIS' || ts.isAdjustedToUTC !== true)
    fail(`${where}: ts logical type ${JSON.stringify(ts)}`);
  if (elems.exchange.logical_type?.type !== 'STRING') fail(`${where}: exchange is not STRING`);
  const scales = {};
  for (const n of names) {
    const e = elems[n];
    if (e.logical_type?.type === 'DECIMAL') {
      if (e.logical_type.precision !== 38 || e.type !== 'FIXED_LEN_BYTE_ARRAY' || e.type_length !== 16)
        fail(`${where}: ${n}: ${JSON.stringify(e.logical_type)} ${e.type}(${e.type_length})`);
      scales[n] = e.logical_type.scale;
    }
  }
  if (scales.price !== 8 || scales.supply !== 18) fail(`${where}: decimal scales ${JSON.stringify(scales)}`);
  // decimals read as their raw bytes: the reader's own DECIMAL conversion yields floats
  const rows = await parquetReadObjects({ file, metadata: rawDecimals(meta), compressors });
  if (rows.length !== expected.rows.length) fail(`${where}: ${rows.length} rows`);
  let cells = 0;
  rows.forEach((row, r) => {
    expected.columns.forEach((col, c) => {
      let v = row[col];
      if (v === null || v === undefined) v = null;
      else if (col in scales) v = decText(v, scales[col]);
      else if (v instanceof Date) v = String(v.getTime());
      else if (typeof v === 'number') v = col === 'mid' ? (Object.is(v, -0) ? '-0' : String(v)) : String(v);
      else v = String(v);
      let want = expected.rows[r][c];
      if (col === 'mid' && want !== null) want = Object.is(Number(want), -0) ? '-0' : String(Number(want));
      if (v !== want) fail(`${where}: row ${r}, column ${col}: read ${JSON.stringify(v)}, want ${JSON.stringify(want)}`);
      cells++;
    });
  });
  // statistics as the reader decodes them
  const st = meta.row_groups[0].columns[names.indexOf('price')].meta_data.statistics;
  if (f.name === 'plain.parquet') {
    if (Number(st.null_count) !== 2) fail(`${where}: price null_count ${st.null_count}`);
    const ex = meta.row_groups[0].columns[0].meta_data.statistics;
    if (ex.min_value !== '' || ex.max_value !== '\u00e9xchange')
      fail(`${where}: exchange min/max ${JSON.stringify(ex.min_value)} ${JSON.stringify(ex.max_value)}`);
  }
  console.log(`ok: ${where}: ${rows.length} rows, ${meta.row_groups.length} row groups, ${f.codec}, ` +
    `${f.dictionary ? 'dictionary' : 'plain'} strings, ${cells} cells equal`);
}
process.exit(fails ? 1 : 0);
