#!/usr/bin/env python3
"""Generates core/include/coinpipe/streams.h from the stream catalog of SCHEMA.md.

Column syntax: name[*][:type]; '*' marks a key column; type is text (default), ts, dec,
int, dbl or bool. Run from the repository root: python3 tools/gen-streams.py
"""
SPEC = {
 "ticker": "exchange* symbol* native_symbol:text ts*:ts received_at:ts last:dec bid:dec bid_size:dec ask:dec ask_size:dec open:dec high:dec low:dec prev_close:dec change:dec change_pct:dec vwap:dec base_volume:dec quote_volume:dec open_time:ts close_time:ts trade_count:int",
 "ohlcv": "exchange* symbol* native_symbol:text interval*:text open_time*:ts close_time:ts open:dec high:dec low:dec close:dec volume:dec quote_volume:dec trade_count:int taker_buy_base_volume:dec taker_buy_quote_volume:dec received_at:ts",
 "book_top": "exchange* symbol* native_symbol:text ts*:ts received_at:ts sequence:int bid:dec bid_size:dec ask:dec ask_size:dec levels:int",
 "book_level": "exchange* symbol* ts*:ts sequence:int side*:text level*:int price:dec size:dec",
 "trade": "exchange* symbol* native_symbol:text trade_id*:text ts:ts received_at:ts price:dec size:dec quote_size:dec side:text",
 "funding": "exchange* symbol* native_symbol:text ts*:ts received_at:ts mark_price:dec index_price:dec estimated_settle_price:dec funding_rate:dec interest_rate:dec next_funding_time:ts",
 "open_interest": "exchange* symbol* native_symbol:text ts*:ts received_at:ts open_interest:dec",
 "market": "source* coin_id* vs_currency* ts*:ts received_at:ts symbol:text name:text price:dec market_cap:dec market_cap_rank:int fully_diluted_valuation:dec total_volume:dec high_24h:dec low_24h:dec price_change_24h:dec price_change_pct_24h:dec market_cap_change_24h:dec market_cap_change_pct_24h:dec circulating_supply:dec total_supply:dec max_supply:dec ath:dec ath_change_pct:dec ath_date:ts atl:dec atl_change_pct:dec atl_date:ts",
 "spot_price": "source* coin_id* vs_currency* ts*:ts received_at:ts price:dec market_cap:dec volume_24h:dec change_24h_pct:dec",
 "global": "source* ts*:ts received_at:ts active_cryptocurrencies:int markets:int total_market_cap_usd:dec total_volume_usd:dec btc_dominance_pct:dec eth_dominance_pct:dec market_cap_change_pct_24h_usd:dec",
 "spread": "exchange* symbol* ts*:ts received_at:ts bid:dec ask:dec mid:dbl spread:dbl spread_bps:dbl microprice:dbl imbalance:dbl bid_depth:dbl ask_depth:dbl",
 "alert": "pipeline* rule* exchange* symbol* ts*:ts state:text value:dec threshold:dec message:text",
}
TMAP = {"text": "CP_T_STRING", "ts": "CP_T_TIMESTAMP", "dec": "CP_T_DECIMAL", "int": "CP_T_INT64",
        "dbl": "CP_T_DOUBLE", "bool": "CP_T_BOOL"}

HEAD = '''/* The stream catalog of SCHEMA.md as ready-made schemas and column indexes.
 * SPDX-License-Identifier: MIT
 *
 * Generated from the data contract (../shared/SCHEMA.md) by tools/gen-streams.py; edit that
 * script, not this file. Sources build batches with these schemas so that a pipeline's
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


def main():
    out = [HEAD]
    for stream, cols in SPEC.items():
        fields, enum = [], []
        for i, c in enumerate(cols.split()):
            n, t = c.split(":") if ":" in c else (c, "text")
            key = n.endswith("*")
            n = n.rstrip("*")
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
        out.append(f"/** Schema of stream `{stream}` (SCHEMA.md). */")
        out.append(f'static const cp_schema cp_{stream}_schema = {{"{stream}", CP_{stream.upper()}_NCOLS, '
                   f"cp_{stream}_fields}};")
        out.append("")
    out.append("/** Every schema of the catalog, NULL-terminated (the indicator stream is built per config). */")
    out.append("static const cp_schema *const cp_stream_catalog[] = {")
    out += [f"    &cp_{s}_schema," for s in SPEC]
    out.append("    NULL,\n};")
    out.append(TAIL)
    with open("core/include/coinpipe/streams.h", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
