#!/usr/bin/env bash
# The raw archive: kraken and coingecko with archive_raw = true into the s3-csv sink. Every response
# body lands as its own gzipped object under <prefix>/raw/<source>/year=/month=/day=/, and the
# bytes in the S3 server, unzipped, equal the bytes the mock exchange serves for that request;
# the tabular streams are written beside them as CSV; coinpipe ddl makes no table for the raw stream.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
: "${COINPIPE_TEST_S3_ENDPOINT:?run under tests/services/run.sh (make test)}"
export COINPIPE_HTTP_BACKOFF_MS=20
start_mock
prefix="raw-$$-$RANDOM"
cat > "$TMP/r.conf" <<C
global = { state_dir = "$TMP/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_BUILD_PLUGIN_DIR"]; };
pipelines = (
  { name = "kraken"; interval = "1m";
    source = { plugin = "kraken"; base_url = "$URL"; symbols = ["BTC-USD"]; streams = ["ticker", "book_top"];
               archive_raw = true; };
    sinks = ( { plugin = "s3-csv"; bucket = "$COINPIPE_TEST_S3_BUCKET"; endpoint = "$COINPIPE_TEST_S3_ENDPOINT";
                region = "us-east-1"; prefix = "$prefix"; timeout = "5s"; } ); },
  { name = "gecko"; interval = "1m";
    source = { plugin = "coingecko"; base_url = "$URL"; streams = ["global"]; archive_raw = true; };
    sinks = ( { plugin = "s3-csv"; bucket = "$COINPIPE_TEST_S3_BUCKET"; endpoint = "$COINPIPE_TEST_S3_ENDPOINT";
                region = "us-east-1"; prefix = "$prefix"; timeout = "5s"; } ); }
);
C
"$COINPIPE_BIN" --once -c "$TMP/r.conf" > /dev/null 2> "$TMP/once.err"; rc=$?
expect_eq "$rc" 0 "--once with archive_raw exits 0"
# the objects: key, then whether the unzipped bytes equal the mock's bytes for that endpoint
check() {
    python3 - "$COINPIPE_TEST_S3_ENDPOINT" "$COINPIPE_TEST_S3_BUCKET" "$prefix" "$URL" <<'P'
import gzip, sys, time, urllib.request
import botocore.session
ep, bucket, prefix, url = sys.argv[1:5]
s3 = botocore.session.get_session().create_client("s3", endpoint_url=ep, region_name="us-east-1",
                                                 aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER")
want = {"AssetPairs": "/0/public/AssetPairs", "Ticker": "/0/public/Ticker?pair=XXBTZUSD",
        "Depth": "/0/public/Depth?pair=XXBTZUSD&count=5", "global": "/api/v3/global"}
day = time.strftime("year=%Y/month=%m/day=%d", time.gmtime())
keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/raw/").get("Contents", []))
for k in keys:
    obj = s3.get_object(Bucket=bucket, Key=k)
    data = gzip.decompress(obj["Body"].read())
    ep_name = k.rsplit("/", 1)[1].split("-")[1]
    served = urllib.request.urlopen(url + want[ep_name]).read()
    src = k[len(prefix) + 5:].split("/")[0]
    print(src, ep_name, day in k, obj["ContentType"], "same" if data == served else "DIFFERENT %d/%d" % (len(data), len(served)))
n = len(s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/ticker/").get("Contents", []))
print("ticker-csv", n)
P
}
check > "$TMP/objs" 2> "$TMP/check.err" || { fail "cannot read the bucket"; cat "$TMP/check.err" >&2; }
expect_eq "$(grep -c . "$TMP/objs")" 5 "four raw objects and the ticker CSV line"
expect_eq "$(grep -c "^kraken AssetPairs True application/gzip same$" "$TMP/objs")" 1 "AssetPairs archived byte for byte"
expect_eq "$(grep -c "^kraken Ticker True application/gzip same$" "$TMP/objs")" 1 "Ticker archived byte for byte"
expect_eq "$(grep -c "^kraken Depth True application/gzip same$" "$TMP/objs")" 1 "Depth archived byte for byte"
expect_eq "$(grep -c "^coingecko global True application/gzip same$" "$TMP/objs")" 1 "coingecko global archived byte for byte"
expect_eq "$(grep "^ticker-csv" "$TMP/objs")" "ticker-csv 1" "the ticker rows are written as CSV beside them"
"$COINPIPE_BIN" ddl athena -c "$TMP/r.conf" > "$TMP/ddl.sql" 2>&1
expect_not_contains "$TMP/ddl.sql" '`raw`' "no Athena table over the gzipped bodies"
expect_contains "$TMP/ddl.sql" '`ticker`' "the ticker table is there"
[ "$FAILS" -eq 0 ] || sed 's/^/    /' "$TMP/objs" "$TMP/once.err" >&2
finish
