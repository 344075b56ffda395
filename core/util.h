/* Small helpers of the core: clocks, durations and sizes, files, CRC-32C, path components.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_UTIL_H
#define COINPIPE_CORE_UTIL_H

#include <coinpipe/buf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t core_util_now_ms(void);  /* wall clock, UTC ms (tests may pin it: core_util_pin_clock) */
int64_t core_util_mono_ms(void); /* monotonic ms */
void core_util_pin_clock(int64_t ms); /* 0 unpins */
int core_util_parse_duration(const char *s, int64_t *ms);  /* 0 ok, -1 bad */
int core_util_parse_size(const char *s, int64_t *bytes);   /* 0 ok, -1 bad */
/* candle interval "1m" "4h" "1d" "1w" → ms; -1 for anything else (months have no fixed length) */
int64_t core_util_interval_ms(const char *s);
void core_util_format_duration(int64_t ms, char *buf, size_t len);
void core_util_iso8601(int64_t ms, char *buf, size_t len); /* 2026-11-21T10:55:44.123Z */
int core_util_mkdirs(const char *path, unsigned mode);       /* mkdir -p; 0 ok, -1 errno */
/* tmp+fsync+rename; the file is mode 0640 whatever the umask (state, cursor, dead letters) */
int core_util_write_file_atomic(const char *path, const void *data, size_t len);
char *core_util_read_file(const char *path, size_t *len);   /* malloc'd, NUL-terminated; NULL on error */
double core_util_random(void);                              /* uniform [0,1), thread-safe */
char *core_util_strdup(const char *s);                      /* NULL-safe strdup; NULL on OOM */
char *core_util_strndup(const char *s, size_t n);
void core_util_release_memory(void); /* free heap pages back to the system (glibc malloc_trim) */
/* Fixes glibc malloc's mmap threshold (4 MiB) and trim threshold (8 MiB) for the whole process, so
 * that blocks a cycle frees are reused instead of unmapped and faulted in again; call it before
 * any thread starts. False when it changed nothing: not glibc, the environment sets malloc's
 * tunables itself (GLIBC_TUNABLES glibc.malloc.*, MALLOC_*_), or mallopt refused. */
bool core_util_tune_memory(void);

/* CRC-32C of n bytes continuing from crc (0 to start): the CPU instruction where there is one
 * (core_util_crc32c), or the table (core_util_crc32c_sw, the same values) */
uint32_t core_util_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t core_util_crc32c_sw(uint32_t crc, const void *data, size_t n);
/* appends `s` as one safe path component (no '/', no "..": other bytes %XX-encoded) */
void core_util_path_component(cp_buf *b, const char *s);
/* appends the n bytes of s as a JSON string literal (quotes, backslashes and control bytes
 * escaped; NULL s gives "") */
void core_util_json_string(cp_buf *b, const char *s, size_t n);

#endif /* COINPIPE_CORE_UTIL_H */
