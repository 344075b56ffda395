/* The stream catalog of docs/streams.md as ready-made schemas and column indexes.
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

/** Columns of stream `ticker`. */
enum cp_ticker_col {
    CP_TICKER_EXCHANGE = 0,
    CP_TICKER_SYMBOL = 1,
    CP_TICKER_NATIVE_SYMBOL = 2,
    CP_TICKER_TS = 3,
    CP_TICKER_RECEIVED_AT = 4,
    CP_TICKER_LAST = 5,
    CP_TICKER_BID = 6,
    CP_TICKER_BID_SIZE = 7,
    CP_TICKER_ASK = 8,
    CP_TICKER_ASK_SIZE = 9,
    CP_TICKER_OPEN = 10,
    CP_TICKER_HIGH = 11,
    CP_TICKER_LOW = 12,
    CP_TICKER_PREV_CLOSE = 13,
    CP_TICKER_CHANGE = 14,
    CP_TICKER_CHANGE_PCT = 15,
    CP_TICKER_VWAP = 16,
    CP_TICKER_BASE_VOLUME = 17,
    CP_TICKER_QUOTE_VOLUME = 18,
    CP_TICKER_OPEN_TIME = 19,
    CP_TICKER_CLOSE_TIME = 20,
    CP_TICKER_TRADE_COUNT = 21,
    CP_TICKER_NCOLS = 22
};
static const cp_field cp_ticker_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"native_symbol", CP_T_STRING, CP_FIELD_NULLABLE},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"last", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"bid", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"bid_size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"ask", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"ask_size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"open", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"high", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"low", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"prev_close", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"change", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"change_pct", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"vwap", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"base_volume", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"quote_volume", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"open_time", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"close_time", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"trade_count", CP_T_INT64, CP_FIELD_NULLABLE},
};
/** Schema of stream `ticker` (docs/streams.md). */
static const cp_schema cp_ticker_schema = CP_SCHEMA("ticker", cp_ticker_fields);

/** Columns of stream `ohlcv`. */
enum cp_ohlcv_col {
    CP_OHLCV_EXCHANGE = 0,
    CP_OHLCV_SYMBOL = 1,
    CP_OHLCV_NATIVE_SYMBOL = 2,
    CP_OHLCV_INTERVAL = 3,
    CP_OHLCV_OPEN_TIME = 4,
    CP_OHLCV_CLOSE_TIME = 5,
    CP_OHLCV_OPEN = 6,
    CP_OHLCV_HIGH = 7,
    CP_OHLCV_LOW = 8,
    CP_OHLCV_CLOSE = 9,
    CP_OHLCV_VOLUME = 10,
    CP_OHLCV_QUOTE_VOLUME = 11,
    CP_OHLCV_TRADE_COUNT = 12,
    CP_OHLCV_TAKER_BUY_BASE_VOLUME = 13,
    CP_OHLCV_TAKER_BUY_QUOTE_VOLUME = 14,
    CP_OHLCV_RECEIVED_AT = 15,
    CP_OHLCV_NCOLS = 16
};
static const cp_field cp_ohlcv_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"native_symbol", CP_T_STRING, CP_FIELD_NULLABLE},
    {"interval", CP_T_STRING, CP_FIELD_KEY},
    {"open_time", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"close_time", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"open", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"high", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"low", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"close", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"volume", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"quote_volume", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"trade_count", CP_T_INT64, CP_FIELD_NULLABLE},
    {"taker_buy_base_volume", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"taker_buy_quote_volume", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
};
/** Schema of stream `ohlcv` (docs/streams.md). */
static const cp_schema cp_ohlcv_schema = CP_SCHEMA("ohlcv", cp_ohlcv_fields);

/** Columns of stream `book_top`. */
enum cp_book_top_col {
    CP_BOOK_TOP_EXCHANGE = 0,
    CP_BOOK_TOP_SYMBOL = 1,
    CP_BOOK_TOP_NATIVE_SYMBOL = 2,
    CP_BOOK_TOP_TS = 3,
    CP_BOOK_TOP_RECEIVED_AT = 4,
    CP_BOOK_TOP_SEQUENCE = 5,
    CP_BOOK_TOP_BID = 6,
    CP_BOOK_TOP_BID_SIZE = 7,
    CP_BOOK_TOP_ASK = 8,
    CP_BOOK_TOP_ASK_SIZE = 9,
    CP_BOOK_TOP_LEVELS = 10,
    CP_BOOK_TOP_NCOLS = 11
};
static const cp_field cp_book_top_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"native_symbol", CP_T_STRING, CP_FIELD_NULLABLE},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"sequence", CP_T_INT64, CP_FIELD_NULLABLE},
    {"bid", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"bid_size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"ask", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"ask_size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"levels", CP_T_INT64, CP_FIELD_NULLABLE},
};
/** Schema of stream `book_top` (docs/streams.md). */
static const cp_schema cp_book_top_schema = CP_SCHEMA("book_top", cp_book_top_fields);

/** Columns of stream `book_level`. */
enum cp_book_level_col {
    CP_BOOK_LEVEL_EXCHANGE = 0,
    CP_BOOK_LEVEL_SYMBOL = 1,
    CP_BOOK_LEVEL_TS = 2,
    CP_BOOK_LEVEL_SEQUENCE = 3,
    CP_BOOK_LEVEL_SIDE = 4,
    CP_BOOK_LEVEL_LEVEL = 5,
    CP_BOOK_LEVEL_PRICE = 6,
    CP_BOOK_LEVEL_SIZE = 7,
    CP_BOOK_LEVEL_NCOLS = 8
};
static const cp_field cp_book_level_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"sequence", CP_T_INT64, CP_FIELD_NULLABLE},
    {"side", CP_T_STRING, CP_FIELD_KEY},
    {"level", CP_T_INT64, CP_FIELD_KEY},
    {"price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
};
/** Schema of stream `book_level` (docs/streams.md). */
static const cp_schema cp_book_level_schema = CP_SCHEMA("book_level", cp_book_level_fields);

/** Columns of stream `trade`. */
enum cp_trade_col {
    CP_TRADE_EXCHANGE = 0,
    CP_TRADE_SYMBOL = 1,
    CP_TRADE_NATIVE_SYMBOL = 2,
    CP_TRADE_TRADE_ID = 3,
    CP_TRADE_TS = 4,
    CP_TRADE_RECEIVED_AT = 5,
    CP_TRADE_PRICE = 6,
    CP_TRADE_SIZE = 7,
    CP_TRADE_QUOTE_SIZE = 8,
    CP_TRADE_SIDE = 9,
    CP_TRADE_NCOLS = 10
};
static const cp_field cp_trade_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"native_symbol", CP_T_STRING, CP_FIELD_NULLABLE},
    {"trade_id", CP_T_STRING, CP_FIELD_KEY},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"quote_size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"side", CP_T_STRING, CP_FIELD_NULLABLE},
};
/** Schema of stream `trade` (docs/streams.md). */
static const cp_schema cp_trade_schema = CP_SCHEMA("trade", cp_trade_fields);

/** Columns of stream `funding`. */
enum cp_funding_col {
    CP_FUNDING_EXCHANGE = 0,
    CP_FUNDING_SYMBOL = 1,
    CP_FUNDING_NATIVE_SYMBOL = 2,
    CP_FUNDING_TS = 3,
    CP_FUNDING_RECEIVED_AT = 4,
    CP_FUNDING_MARK_PRICE = 5,
    CP_FUNDING_INDEX_PRICE = 6,
    CP_FUNDING_ESTIMATED_SETTLE_PRICE = 7,
    CP_FUNDING_FUNDING_RATE = 8,
    CP_FUNDING_INTEREST_RATE = 9,
    CP_FUNDING_NEXT_FUNDING_TIME = 10,
    CP_FUNDING_NCOLS = 11
};
static const cp_field cp_funding_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"native_symbol", CP_T_STRING, CP_FIELD_NULLABLE},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"mark_price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"index_price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"estimated_settle_price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"funding_rate", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"interest_rate", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"next_funding_time", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
};
/** Schema of stream `funding` (docs/streams.md). */
static const cp_schema cp_funding_schema = CP_SCHEMA("funding", cp_funding_fields);

/** Columns of stream `open_interest`. */
enum cp_open_interest_col {
    CP_OPEN_INTEREST_EXCHANGE = 0,
    CP_OPEN_INTEREST_SYMBOL = 1,
    CP_OPEN_INTEREST_NATIVE_SYMBOL = 2,
    CP_OPEN_INTEREST_TS = 3,
    CP_OPEN_INTEREST_RECEIVED_AT = 4,
    CP_OPEN_INTEREST_OPEN_INTEREST = 5,
    CP_OPEN_INTEREST_NCOLS = 6
};
static const cp_field cp_open_interest_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"native_symbol", CP_T_STRING, CP_FIELD_NULLABLE},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"open_interest", CP_T_DECIMAL, CP_FIELD_NULLABLE},
};
/** Schema of stream `open_interest` (docs/streams.md). */
static const cp_schema cp_open_interest_schema = CP_SCHEMA("open_interest", cp_open_interest_fields);

/** Columns of stream `liquidation`. */
enum cp_liquidation_col {
    CP_LIQUIDATION_EXCHANGE = 0,
    CP_LIQUIDATION_SYMBOL = 1,
    CP_LIQUIDATION_NATIVE_SYMBOL = 2,
    CP_LIQUIDATION_TS = 3,
    CP_LIQUIDATION_SIDE = 4,
    CP_LIQUIDATION_RECEIVED_AT = 5,
    CP_LIQUIDATION_PRICE = 6,
    CP_LIQUIDATION_AVG_PRICE = 7,
    CP_LIQUIDATION_SIZE = 8,
    CP_LIQUIDATION_FILLED_SIZE = 9,
    CP_LIQUIDATION_LAST_FILLED_SIZE = 10,
    CP_LIQUIDATION_ORDER_TYPE = 11,
    CP_LIQUIDATION_TIME_IN_FORCE = 12,
    CP_LIQUIDATION_STATUS = 13,
    CP_LIQUIDATION_NCOLS = 14
};
static const cp_field cp_liquidation_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"native_symbol", CP_T_STRING, CP_FIELD_NULLABLE},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"side", CP_T_STRING, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"avg_price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"filled_size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"last_filled_size", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"order_type", CP_T_STRING, CP_FIELD_NULLABLE},
    {"time_in_force", CP_T_STRING, CP_FIELD_NULLABLE},
    {"status", CP_T_STRING, CP_FIELD_NULLABLE},
};
/** Schema of stream `liquidation` (docs/streams.md). */
static const cp_schema cp_liquidation_schema = CP_SCHEMA("liquidation", cp_liquidation_fields);

/** Columns of stream `market`. */
enum cp_market_col {
    CP_MARKET_SOURCE = 0,
    CP_MARKET_COIN_ID = 1,
    CP_MARKET_VS_CURRENCY = 2,
    CP_MARKET_TS = 3,
    CP_MARKET_RECEIVED_AT = 4,
    CP_MARKET_SYMBOL = 5,
    CP_MARKET_NAME = 6,
    CP_MARKET_PRICE = 7,
    CP_MARKET_MARKET_CAP = 8,
    CP_MARKET_MARKET_CAP_RANK = 9,
    CP_MARKET_FULLY_DILUTED_VALUATION = 10,
    CP_MARKET_TOTAL_VOLUME = 11,
    CP_MARKET_HIGH_24H = 12,
    CP_MARKET_LOW_24H = 13,
    CP_MARKET_PRICE_CHANGE_24H = 14,
    CP_MARKET_PRICE_CHANGE_PCT_24H = 15,
    CP_MARKET_MARKET_CAP_CHANGE_24H = 16,
    CP_MARKET_MARKET_CAP_CHANGE_PCT_24H = 17,
    CP_MARKET_CIRCULATING_SUPPLY = 18,
    CP_MARKET_TOTAL_SUPPLY = 19,
    CP_MARKET_MAX_SUPPLY = 20,
    CP_MARKET_ATH = 21,
    CP_MARKET_ATH_CHANGE_PCT = 22,
    CP_MARKET_ATH_DATE = 23,
    CP_MARKET_ATL = 24,
    CP_MARKET_ATL_CHANGE_PCT = 25,
    CP_MARKET_ATL_DATE = 26,
    CP_MARKET_NCOLS = 27
};
static const cp_field cp_market_fields[] = {
    {"source", CP_T_STRING, CP_FIELD_KEY},
    {"coin_id", CP_T_STRING, CP_FIELD_KEY},
    {"vs_currency", CP_T_STRING, CP_FIELD_KEY},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"symbol", CP_T_STRING, CP_FIELD_NULLABLE},
    {"name", CP_T_STRING, CP_FIELD_NULLABLE},
    {"price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"market_cap", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"market_cap_rank", CP_T_INT64, CP_FIELD_NULLABLE},
    {"fully_diluted_valuation", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"total_volume", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"high_24h", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"low_24h", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"price_change_24h", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"price_change_pct_24h", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"market_cap_change_24h", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"market_cap_change_pct_24h", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"circulating_supply", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"total_supply", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"max_supply", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"ath", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"ath_change_pct", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"ath_date", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"atl", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"atl_change_pct", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"atl_date", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
};
/** Schema of stream `market` (docs/streams.md). */
static const cp_schema cp_market_schema = CP_SCHEMA("market", cp_market_fields);

/** Columns of stream `spot_price`. */
enum cp_spot_price_col {
    CP_SPOT_PRICE_SOURCE = 0,
    CP_SPOT_PRICE_COIN_ID = 1,
    CP_SPOT_PRICE_VS_CURRENCY = 2,
    CP_SPOT_PRICE_TS = 3,
    CP_SPOT_PRICE_RECEIVED_AT = 4,
    CP_SPOT_PRICE_PRICE = 5,
    CP_SPOT_PRICE_MARKET_CAP = 6,
    CP_SPOT_PRICE_VOLUME_24H = 7,
    CP_SPOT_PRICE_CHANGE_24H_PCT = 8,
    CP_SPOT_PRICE_NCOLS = 9
};
static const cp_field cp_spot_price_fields[] = {
    {"source", CP_T_STRING, CP_FIELD_KEY},
    {"coin_id", CP_T_STRING, CP_FIELD_KEY},
    {"vs_currency", CP_T_STRING, CP_FIELD_KEY},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"market_cap", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"volume_24h", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"change_24h_pct", CP_T_DECIMAL, CP_FIELD_NULLABLE},
};
/** Schema of stream `spot_price` (docs/streams.md). */
static const cp_schema cp_spot_price_schema = CP_SCHEMA("spot_price", cp_spot_price_fields);

/** Columns of stream `global`. */
enum cp_global_col {
    CP_GLOBAL_SOURCE = 0,
    CP_GLOBAL_TS = 1,
    CP_GLOBAL_RECEIVED_AT = 2,
    CP_GLOBAL_ACTIVE_CRYPTOCURRENCIES = 3,
    CP_GLOBAL_MARKETS = 4,
    CP_GLOBAL_TOTAL_MARKET_CAP_USD = 5,
    CP_GLOBAL_TOTAL_VOLUME_USD = 6,
    CP_GLOBAL_BTC_DOMINANCE_PCT = 7,
    CP_GLOBAL_ETH_DOMINANCE_PCT = 8,
    CP_GLOBAL_MARKET_CAP_CHANGE_PCT_24H_USD = 9,
    CP_GLOBAL_NCOLS = 10
};
static const cp_field cp_global_fields[] = {
    {"source", CP_T_STRING, CP_FIELD_KEY},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"active_cryptocurrencies", CP_T_INT64, CP_FIELD_NULLABLE},
    {"markets", CP_T_INT64, CP_FIELD_NULLABLE},
    {"total_market_cap_usd", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"total_volume_usd", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"btc_dominance_pct", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"eth_dominance_pct", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"market_cap_change_pct_24h_usd", CP_T_DECIMAL, CP_FIELD_NULLABLE},
};
/** Schema of stream `global` (docs/streams.md). */
static const cp_schema cp_global_schema = CP_SCHEMA("global", cp_global_fields);

/** Columns of stream `coin`. */
enum cp_coin_col {
    CP_COIN_SOURCE = 0,
    CP_COIN_COIN_ID = 1,
    CP_COIN_TS = 2,
    CP_COIN_RECEIVED_AT = 3,
    CP_COIN_SYMBOL = 4,
    CP_COIN_NAME = 5,
    CP_COIN_ASSET_PLATFORM_ID = 6,
    CP_COIN_HASHING_ALGORITHM = 7,
    CP_COIN_GENESIS_DATE = 8,
    CP_COIN_CATEGORIES = 9,
    CP_COIN_HOMEPAGE = 10,
    CP_COIN_DESCRIPTION = 11,
    CP_COIN_MARKET_CAP_RANK = 12,
    CP_COIN_SENTIMENT_VOTES_UP_PCT = 13,
    CP_COIN_WATCHLIST_USERS = 14,
    CP_COIN_PRICE_USD = 15,
    CP_COIN_MARKET_CAP_USD = 16,
    CP_COIN_TOTAL_VOLUME_USD = 17,
    CP_COIN_CIRCULATING_SUPPLY = 18,
    CP_COIN_TOTAL_SUPPLY = 19,
    CP_COIN_MAX_SUPPLY = 20,
    CP_COIN_NCOLS = 21
};
static const cp_field cp_coin_fields[] = {
    {"source", CP_T_STRING, CP_FIELD_KEY},
    {"coin_id", CP_T_STRING, CP_FIELD_KEY},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"symbol", CP_T_STRING, CP_FIELD_NULLABLE},
    {"name", CP_T_STRING, CP_FIELD_NULLABLE},
    {"asset_platform_id", CP_T_STRING, CP_FIELD_NULLABLE},
    {"hashing_algorithm", CP_T_STRING, CP_FIELD_NULLABLE},
    {"genesis_date", CP_T_STRING, CP_FIELD_NULLABLE},
    {"categories", CP_T_STRING, CP_FIELD_NULLABLE},
    {"homepage", CP_T_STRING, CP_FIELD_NULLABLE},
    {"description", CP_T_STRING, CP_FIELD_NULLABLE},
    {"market_cap_rank", CP_T_INT64, CP_FIELD_NULLABLE},
    {"sentiment_votes_up_pct", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"watchlist_users", CP_T_INT64, CP_FIELD_NULLABLE},
    {"price_usd", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"market_cap_usd", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"total_volume_usd", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"circulating_supply", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"total_supply", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"max_supply", CP_T_DECIMAL, CP_FIELD_NULLABLE},
};
/** Schema of stream `coin` (docs/streams.md). */
static const cp_schema cp_coin_schema = CP_SCHEMA("coin", cp_coin_fields);

/** Columns of stream `raw`. */
enum cp_raw_col {
    CP_RAW_SOURCE = 0,
    CP_RAW_URL = 1,
    CP_RAW_RECEIVED_AT = 2,
    CP_RAW_ENDPOINT = 3,
    CP_RAW_STATUS = 4,
    CP_RAW_BODY = 5,
    CP_RAW_NCOLS = 6
};
static const cp_field cp_raw_fields[] = {
    {"source", CP_T_STRING, CP_FIELD_KEY},
    {"url", CP_T_STRING, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"endpoint", CP_T_STRING, CP_FIELD_NULLABLE},
    {"status", CP_T_INT64, CP_FIELD_NULLABLE},
    {"body", CP_T_STRING, CP_FIELD_NULLABLE},
};
/** Schema of stream `raw` (docs/streams.md). */
static const cp_schema cp_raw_schema = CP_SCHEMA("raw", cp_raw_fields);

/** Columns of stream `spread`. */
enum cp_spread_col {
    CP_SPREAD_EXCHANGE = 0,
    CP_SPREAD_SYMBOL = 1,
    CP_SPREAD_TS = 2,
    CP_SPREAD_RECEIVED_AT = 3,
    CP_SPREAD_BID = 4,
    CP_SPREAD_ASK = 5,
    CP_SPREAD_MID = 6,
    CP_SPREAD_SPREAD = 7,
    CP_SPREAD_SPREAD_BPS = 8,
    CP_SPREAD_MICROPRICE = 9,
    CP_SPREAD_IMBALANCE = 10,
    CP_SPREAD_BID_DEPTH = 11,
    CP_SPREAD_ASK_DEPTH = 12,
    CP_SPREAD_NCOLS = 13
};
static const cp_field cp_spread_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"bid", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"ask", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"mid", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"spread", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"spread_bps", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"microprice", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"imbalance", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"bid_depth", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"ask_depth", CP_T_DOUBLE, CP_FIELD_NULLABLE},
};
/** Schema of stream `spread` (docs/streams.md). */
static const cp_schema cp_spread_schema = CP_SCHEMA("spread", cp_spread_fields);

/** Columns of stream `trade_summary`. */
enum cp_trade_summary_col {
    CP_TRADE_SUMMARY_EXCHANGE = 0,
    CP_TRADE_SUMMARY_SYMBOL = 1,
    CP_TRADE_SUMMARY_TS = 2,
    CP_TRADE_SUMMARY_RECEIVED_AT = 3,
    CP_TRADE_SUMMARY_WINDOW_SIZE = 4,
    CP_TRADE_SUMMARY_TRADES = 5,
    CP_TRADE_SUMMARY_FIRST_TRADE_ID = 6,
    CP_TRADE_SUMMARY_LAST_TRADE_ID = 7,
    CP_TRADE_SUMMARY_FIRST_TS = 8,
    CP_TRADE_SUMMARY_MEAN_PRICE = 9,
    CP_TRADE_SUMMARY_VWAP = 10,
    CP_TRADE_SUMMARY_VOLUME = 11,
    CP_TRADE_SUMMARY_QUOTE_VOLUME = 12,
    CP_TRADE_SUMMARY_MIN_PRICE = 13,
    CP_TRADE_SUMMARY_MAX_PRICE = 14,
    CP_TRADE_SUMMARY_NCOLS = 15
};
static const cp_field cp_trade_summary_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"received_at", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"window_size", CP_T_INT64, CP_FIELD_NULLABLE},
    {"trades", CP_T_INT64, CP_FIELD_NULLABLE},
    {"first_trade_id", CP_T_STRING, CP_FIELD_NULLABLE},
    {"last_trade_id", CP_T_STRING, CP_FIELD_NULLABLE},
    {"first_ts", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
    {"mean_price", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"vwap", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"volume", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"quote_volume", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"min_price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"max_price", CP_T_DECIMAL, CP_FIELD_NULLABLE},
};
/** Schema of stream `trade_summary` (docs/streams.md). */
static const cp_schema cp_trade_summary_schema = CP_SCHEMA("trade_summary", cp_trade_summary_fields);

/** Columns of stream `alert`. */
enum cp_alert_col {
    CP_ALERT_PIPELINE = 0,
    CP_ALERT_RULE = 1,
    CP_ALERT_EXCHANGE = 2,
    CP_ALERT_SYMBOL = 3,
    CP_ALERT_TS = 4,
    CP_ALERT_STATE = 5,
    CP_ALERT_VALUE = 6,
    CP_ALERT_THRESHOLD = 7,
    CP_ALERT_MESSAGE = 8,
    CP_ALERT_NCOLS = 9
};
static const cp_field cp_alert_fields[] = {
    {"pipeline", CP_T_STRING, CP_FIELD_KEY},
    {"rule", CP_T_STRING, CP_FIELD_KEY},
    {"exchange", CP_T_STRING, CP_FIELD_KEY},
    {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"state", CP_T_STRING, CP_FIELD_NULLABLE},
    {"value", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"threshold", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"message", CP_T_STRING, CP_FIELD_NULLABLE},
};
/** Schema of stream `alert` (docs/streams.md). */
static const cp_schema cp_alert_schema = CP_SCHEMA("alert", cp_alert_fields);

/** Every schema of the catalog, NULL-terminated (the indicator stream is built per config). */
static const cp_schema *const cp_stream_catalog[] = {
    &cp_ticker_schema,
    &cp_ohlcv_schema,
    &cp_book_top_schema,
    &cp_book_level_schema,
    &cp_trade_schema,
    &cp_funding_schema,
    &cp_open_interest_schema,
    &cp_liquidation_schema,
    &cp_market_schema,
    &cp_spot_price_schema,
    &cp_global_schema,
    &cp_coin_schema,
    &cp_raw_schema,
    &cp_spread_schema,
    &cp_trade_summary_schema,
    &cp_alert_schema,
    NULL,
};

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

#endif /* COINPIPE_STREAMS_H */
