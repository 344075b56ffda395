// Helpers of the tests that read Parquet files with hyparquet (parquet_read.mjs, parquet_vs_sqlite.mjs).
// SPDX-License-Identifier: MIT
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// hyparquet and its compressors, from tests/services/node_modules ($SERVICES_DIR)
export async function loadReader() {
  const req = createRequire(join(process.env.SERVICES_DIR, 'package.json'));
  const hp = await import(pathToFileURL(req.resolve('hyparquet')));
  const { compressors } = await import(pathToFileURL(req.resolve('hyparquet-compressors')));
  return { ...hp, compressors };
}

// a DECIMAL read raw -> exact decimal text at `scale`: big-endian two's complement bytes
// (FIXED_LEN_BYTE_ARRAY), a BigInt (INT64) or a number (INT32)
export function decText(raw, scale) {
  let v = 0n;
  if (typeof raw === 'bigint' || typeof raw === 'number') {
    v = BigInt(raw);
  } else {
    for (const b of raw) v = (v << 8n) | BigInt(b);
    if (raw.length && raw[0] & 0x80) v -= 1n << BigInt(8 * raw.length);
  }
  const neg = v < 0n;
  let s = (neg ? -v : v).toString().padStart(scale + 1, '0');
  if (scale > 0) s = s.slice(0, s.length - scale) + '.' + s.slice(s.length - scale);
  return (neg ? '-' : '') + s;
}

// the file's metadata with DECIMAL columns read as their raw bytes (the reader would make floats)
export function rawDecimals(meta) {
  return { ...meta, schema: meta.schema.map((e) => (e.logical_type?.type === 'DECIMAL' ?
    { ...e, converted_type: undefined, logical_type: undefined } : e)) };
}
