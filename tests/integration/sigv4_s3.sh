#!/usr/bin/env bash
# S3 signatures as AWS checks them: every request of the s3-csv sink passes botocore's SigV4
# verifier (tests/services/s3_verifier.py, in front of the S3 server) and every object is
# stored; the same run with a wrong secret fails with the bucket named; and the verifier does
# catch the known trap (libcurl signing an "Expect" header that an empty "Expect:" removes).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
: "${COINPIPE_TEST_S3_ENDPOINT:?run under tests/services/run.sh (make test)}"
: "${COINPIPE_TEST_S3_VERIFIER_LOG:?run under tests/services/run.sh (make test)}"
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
prefix="sigv4-$$-$RANDOM"
s3conf() { # name extra-sink-options
    { conf_head; cat <<C
pipelines = ( { name = "$1"; interval = "1m";
  source = { plugin = "fake-source"; rows = 5; batches = 3; };
  sinks = ( { plugin = "s3-csv"; bucket = "$COINPIPE_TEST_S3_BUCKET"; endpoint = "$COINPIPE_TEST_S3_ENDPOINT";
              region = "us-east-1"; prefix = "$prefix/$1"; timeout = "5s"; max_rows = 5;
              retry_initial_interval = "200ms"; retry_max_interval = "1s"; $2 } ); } );
C
    } > "$TMP/$1.conf"
}
puts() { grep -c "^$1 PUT /$COINPIPE_TEST_S3_BUCKET/$prefix/$2/" "$COINPIPE_TEST_S3_VERIFIER_LOG"; }

# 1. the right credentials: every PUT verified, every object stored
s3conf good ''
"$COINPIPE_BIN" --once -c "$TMP/good.conf" > /dev/null 2> "$TMP/good.err"; rc=$?
expect_eq "$rc" 0 "--once through the SigV4 verifier exits 0"
expect_eq "$(puts refused good)" 0 "no request of the sink was refused by botocore's check"
stored=$(aws --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 ls --recursive "s3://$COINPIPE_TEST_S3_BUCKET/$prefix/good/" | wc -l)
expect_eq "$stored" 3 "three objects stored (one per batch of 5 rows)"
expect_eq "$(puts ok good)" 3 "each of them passed the verifier"

# 2. a wrong secret: refused as a signature mismatch, and the error names the bucket
s3conf wrong 'secret_access_key = "not-the-secret";'
"$COINPIPE_BIN" --once -c "$TMP/wrong.conf" > /dev/null 2> "$TMP/wrong.err"; rc=$?
expect_eq "$rc" 1 "--once with a wrong secret fails"
expect_contains "$TMP/wrong.err" "access to bucket $COINPIPE_TEST_S3_BUCKET denied (HTTP 403 SignatureDoesNotMatch)" \
    "the error names the bucket and the cause"
expect_eq "$(grep -c "not-the-secret" "$TMP/wrong.err")" 0 "the secret is not logged"
expect_eq "$(puts ok wrong)" 0 "no request with the wrong secret passed"

# 3. the verifier is botocore's: an "Expect" signed but not sent is refused, the same upload
#    signed over what is sent passes
if curl --help all 2>/dev/null | grep -q -- --aws-sigv4; then
    printf 'a,b\n1,2\n' > "$TMP/obj.csv"
    url="$COINPIPE_TEST_S3_ENDPOINT/$COINPIPE_TEST_S3_BUCKET/$prefix/curl"
    code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" -u S3RVER:S3RVER \
        -H "x-amz-content-sha256: $(sha256sum "$TMP/obj.csv" | cut -d' ' -f1)" -H "Expect:" -T "$TMP/obj.csv" "$url/a.csv")
    if grep -q "^refused PUT /$COINPIPE_TEST_S3_BUCKET/$prefix/curl/a.csv: .*expect" "$COINPIPE_TEST_S3_VERIFIER_LOG"; then
        expect_eq "$code" 403 "libcurl's signed-but-removed Expect header is refused"
    else
        # a libcurl that no longer signs the removed header: the upload passes
        expect_eq "$code" 200 "curl's upload without the Expect trap passes"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" -u S3RVER:S3RVER \
        -H "x-amz-content-sha256: $(sha256sum "$TMP/obj.csv" | cut -d' ' -f1)" -T "$TMP/obj.csv" "$url/b.csv")
    expect_eq "$code" 200 "the same upload signed over the headers sent passes"
fi
finish
