/* The core's logger: levels, formats (logfmt, JSON, text) and the [kind:plugin:instance] tag.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_LOG_H
#define COINPIPE_CORE_LOG_H

#include <coinpipe/coinpipe.h>
#include <stdarg.h>
#include <stdbool.h>

typedef enum core_log_format { CORE_LOG_LOGFMT = 0, CORE_LOG_JSON = 1, CORE_LOG_TEXT = 2 } core_log_format;
typedef struct core_log_tag {
    const char *pipeline;
    const char *kind;     /* "source", "transform", "sink", NULL for the core */
    const char *plugin;
    const char *instance;
} core_log_tag;
void core_log_setup(cp_log_level level, core_log_format format);
bool core_log_would(cp_log_level level);
void core_log_tagged(const core_log_tag *tag, cp_log_level level, const char *fmt, ...) CP_PRINTF(3, 4);
void core_log_vtagged(const core_log_tag *tag, cp_log_level level, const char *fmt, va_list ap) CP_PRINTF(3, 0);
/* tests: receive every formatted line (without newline) too */
typedef void (*core_log_hook)(cp_log_level level, const char *line, void *user);
void core_log_set_hook(core_log_hook hook, void *user);
int core_log_parse_level(const char *s, cp_log_level *out);
int core_log_parse_format(const char *s, core_log_format *out);
#define LOG_ERROR(...) core_log_tagged(NULL, CP_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...) core_log_tagged(NULL, CP_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) core_log_tagged(NULL, CP_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) core_log_tagged(NULL, CP_LOG_DEBUG, __VA_ARGS__)

#endif /* COINPIPE_CORE_LOG_H */
