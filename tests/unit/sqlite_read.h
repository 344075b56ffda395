/* A query's single integer from a SQLite database, for tests that read back what was written.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_TEST_SQLITE_READ_H
#define COINPIPE_TEST_SQLITE_READ_H

#include "testkit.h"

#include <sqlite3.h>

/* The first column of the first row of `sql` as an integer; fails the test when there is no row. */
static inline int64_t scalar_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

#endif
