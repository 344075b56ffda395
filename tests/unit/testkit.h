/* Test kit: loads real plugins through the real loader and drives their callbacks.
 * SPDX-License-Identifier: MIT
 *
 * Every unit test links this (tests/CMakeLists.txt). Plugins are searched in
 * $COINPIPE_BUILD_PLUGIN_DIR and $COINPIPE_TEST_PLUGIN_DIR (set by ctest). Emitted
 * batches are captured instead of routed. Each tk instance gets a fresh state directory
 * unless tk_create_in() names one (to simulate a restart that keeps state).
 */
#ifndef COINPIPE_TESTKIT_H
#define COINPIPE_TESTKIT_H

#include <coinpipe/coinpipe.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

typedef struct tk_instance tk_instance;

/* Loads `plugin`, validates `config_text` (the body of its config group in libconfig
 * syntax, e.g. "symbols = [\"BTCUSDT\"]; base_url = \"http://127.0.0.1:8080\";") against
 * its option table and creates an instance. Fails the running test on any error. */
tk_instance *tk_create(const char *plugin, const char *config_text);
/* Same with an explicit state directory (kept across instances: restart simulation). */
tk_instance *tk_create_in(const char *plugin, const char *config_text, const char *state_dir);
/* For negative tests: returns the status; on failure *err (malloc'd, caller frees) holds
 * the validation errors or the create() failure, one per line. */
cp_status tk_try_create(const char *plugin, const char *config_text, const char *state_dir,
                        tk_instance **out, char **err);
void tk_destroy(tk_instance *t);

cp_ctx *tk_ctx(tk_instance *t);            /* the instance's context (for cp_batch_* helpers) */
/* The plugin's descriptor as the loader read it and the plugin's instance, to call callbacks the
 * kit has no helper for (candle_series, stored_series, candle_gaps). */
const cp_plugin *tk_plugin(tk_instance *t);
void *tk_instance_data(tk_instance *t);
const char *tk_state_dir(tk_instance *t);  /* its state directory */

cp_status tk_collect(tk_instance *t);                       /* source */
cp_status tk_backfill(tk_instance *t, int64_t from_ms, int64_t to_ms); /* source with a backfill callback */
cp_status tk_process(tk_instance *t, const cp_batch *b);    /* transform; input is NOT captured */
cp_status tk_tick(tk_instance *t, int64_t now_ms);          /* transform with a tick callback */
bool tk_input_dropped(tk_instance *t);                      /* did the last process() drop its input */
cp_status tk_write(tk_instance *t, const cp_batch *b);      /* sink */
cp_status tk_flush(tk_instance *t, unsigned flags);         /* sink (CP_OK if no flush callback) */

/* Captured emitted batches (owned by the kit, freed by tk_clear_emitted/tk_destroy). */
size_t tk_emitted_count(tk_instance *t);
const cp_batch *tk_emitted(tk_instance *t, size_t i);
/* The nth (0-based) emitted batch of `stream`, or NULL. */
const cp_batch *tk_find(tk_instance *t, const char *stream, size_t nth);
/* Total rows emitted for `stream`. */
size_t tk_rows(tk_instance *t, const char *stream);
void tk_clear_emitted(tk_instance *t);

/* Cell accessors by column name; fail the test when the column does not exist. */
bool tk_is_null(const cp_batch *b, size_t row, const char *col);
const char *tk_text(const cp_batch *b, size_t row, const char *col); /* STRING / DECIMAL text; NULL if null */
int64_t tk_int(const cp_batch *b, size_t row, const char *col);
double tk_double(const cp_batch *b, size_t row, const char *col);
/* The first row whose STRING/DECIMAL `col` is `text` (rows arrive in response order, which the
 * network decides); fails the test when there is none. */
size_t tk_row_where(const cp_batch *b, const char *col, const char *text);
/* Asserts the cell's text (DECIMAL/STRING) equals `want`, or that it is NULL when want == NULL. */
#define tk_assert_text(b, row, col, want) tk_assert_text_at(b, row, col, want, __FILE__, __LINE__)
void tk_assert_text_at(const cp_batch *b, size_t row, const char *col, const char *want, const char *file,
                       int line);

/* Builds a batch for tests; caller owns it (free with tk_batch_free). */
cp_batch *tk_batch_new(const cp_schema *schema);
void tk_batch_free(cp_batch *b);
const cp_host *tk_host(void);

/* Log capture: every log line (formatted as logfmt) since the last tk_log_clear(). */
const char *tk_log(void);
void tk_log_clear(void);
/* Asserts that the captured log contains `needle`. */
#define tk_assert_log_contains(needle) tk_assert_log_contains_at(needle, __FILE__, __LINE__)
void tk_assert_log_contains_at(const char *needle, const char *file, int line);

/* Asserts that `got` holds `want`'s schema and every cell of it: NULLs, texts byte for byte
 * (NUL-terminated), integers, doubles bit for bit. */
void tk_assert_same_batch(const cp_batch *want, const cp_batch *got);

/* Pins the clock plugins see through cp_now_ms (0 unpins). */
void tk_pin_clock(int64_t ms);

/* A fresh empty temporary directory (removed at exit); path valid for the process. */
const char *tk_tmpdir(void);

#endif
