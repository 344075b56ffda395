#!/usr/bin/env python3
"""Generates core/include/coinpipe/streams.h from the stream catalog in docs/streams.md.

The catalog is the tables under "## The catalog" in docs/streams.md: a "### name" heading per
stream, then rows "| `column` | type | ★ or empty | notes |" with type text, ts, dec, int, dbl
or bool; ★ marks a key column. Run from the repository root: python3 tools/gen-streams.py
(--check: exit 1 with a diff when the header is not what the document gives, writing nothing).
"""
import difflib
import re
import sys

DOC = "docs/streams.md"
HEADER = "core/include/coinpipe/streams.h"


def read_catalog(path=DOC):
    """{stream: [(column, type, key)]} in document order; exits with file:line on a bad row."""
    text = open(path, encoding="utf-8").read().splitlines()
    spec, stream, inside = {}, None, False
    for no, line in enumerate(text, 1):
        if line.startswith("## "):
            inside = line.strip() == "## The catalog"
            stream = None
            continue
        if not inside:
            continue
        m = re.match(r"### ([a-z0-9_]+)\s*$", line)
        if m:
            stream = m.group(1)
            spec[stream] = []
            continue
        if not stream or not line.startswith("| `"):
            continue
        m = re.match(r"\| `([a-z0-9_]+)` \| (text|ts|dec|int|dbl|bool) \| (★?) *\|", line)
        if not m:
            sys.exit(f"{path}:{no}: not a catalog row: {line}")
        spec[stream].append((m.group(1), m.group(2), m.group(3) == "★"))
    if not spec:
        sys.exit(f"{path}: no catalog found (a '## The catalog' section with '### stream' tables)")
    return spec


TMAP = {"text": "CP_T_STRING", "ts": "CP_T_TIMESTAMP", "dec": "CP_T_DECIMAL", "int": "CP_T_INT64",
        "dbl": "CP_T_DOUBLE", "bool": "CP_T_BOOL"}

HEAD = '''/* The stream catalog of docs/streams.md as ready-made schemas and column indexes.
 * SPDX-License-Identifier: MIT
 *
 * Generated from the data contract, docs/streams.md, by tools/gen-streams.py; edit the
 * document, not this file. Sources build batches with these schemas so that a pipeline's
 * output never changes shape when an exchange is swapped. Column index constants are
 * CP_<STREAM>_<COLUMN>. A plugin may append columns to a copy of a schema; it never
 * renames or drops one. Header-only: nothing here is an ABI entry point.
 */
#ifndef COINPIPE_STREAMS_H
#define COINPIPE_STREAMS_H

#include <coinpipe/coinpipe.h>
'''
TAIL = '''
/** Looks up a catalog schema by stream name; NULL when unknown. */
static inline const cp_schema *cp_stream_find(const char *stream)
{
    for (size_t i = 0; cp_stream_catalog[i]; i++) {
        const char *a = cp_stream_catalog[i]->stream, *b = stream;
        while (*a && *a == *b)
            a++, b++;
        if (*a == *b)
            return cp_stream_catalog[i];
    }
    return NULL;
}

#endif /* COINPIPE_STREAMS_H */'''


def render(spec):
    out = [HEAD]
    for stream, cols in spec.items():
        fields, enum = [], []
        for i, (n, t, key) in enumerate(cols):
            flags = "CP_FIELD_KEY" if key else "CP_FIELD_NULLABLE"
            fields.append(f'    {{"{n}", {TMAP[t]}, {flags}}},')
            enum.append(f"    CP_{stream.upper()}_{n.upper()} = {i},")
        out.append(f"/** Columns of stream `{stream}`. */")
        out.append(f"enum cp_{stream}_col {{")
        out += enum
        out.append(f"    CP_{stream.upper()}_NCOLS = {len(enum)}")
        out.append("};")
        out.append(f"static const cp_field cp_{stream}_fields[] = {{")
        out += fields
        out.append("};")
        out.append(f"/** Schema of stream `{stream}` (docs/streams.md). */")
        out.append(f'static const cp_schema cp_{stream}_schema = CP_SCHEMA("{stream}", cp_{stream}_fields);')
        out.append("")
    out.append("/** Every schema of the catalog, NULL-terminated (the indicator stream is built per config). */")
    out.append("static const cp_schema *const cp_stream_catalog[] = {")
    out += [f"    &cp_{s}_schema," for s in spec]
    out.append("    NULL,\n};")
    out.append(TAIL)
    return "\n".join(out) + "\n"


def main():
    want = render(read_catalog())
    if "--check" in sys.argv[1:]:
        have = open(HEADER, encoding="utf-8").read()
        if have != want:
            sys.stdout.writelines(difflib.unified_diff(have.splitlines(True), want.splitlines(True), HEADER,
                                                       f"{HEADER} as {DOC} gives it"))
            print(f"{HEADER} differs from {DOC}: run python3 tools/gen-streams.py", file=sys.stderr)
            sys.exit(1)
        return
    with open(HEADER, "w", encoding="utf-8") as f:
        f.write(want)


if __name__ == "__main__":
    main()
