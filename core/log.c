/* Logging: logfmt, JSON or text lines on stderr, tagged with pipeline and [kind:plugin:instance].
 * SPDX-License-Identifier: MIT
 */
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static cp_log_level g_level = CP_LOG_INFO;
static core_log_format g_format = CORE_LOG_LOGFMT;
static core_log_hook g_hook;
static void *g_hook_user;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_names[] = {"error", "warn", "info", "debug"};

void core_log_setup(cp_log_level level, core_log_format format)
{
    g_level = level;
    g_format = format;
}

bool core_log_would(cp_log_level level) { return level <= g_level || g_hook; }

void core_log_set_hook(core_log_hook hook, void *user)
{
    pthread_mutex_lock(&g_lock);
    g_hook = hook;
    g_hook_user = user;
    pthread_mutex_unlock(&g_lock);
}

int core_log_parse_level(const char *s, cp_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (cp_log_level)i;
            return 0;
        }
    if (strcmp(s, "warning") == 0) {
        *out = CP_LOG_WARN;
        return 0;
    }
    return -1;
}

int core_log_parse_format(const char *s, core_log_format *out)
{
    if (strcmp(s, "logfmt") == 0)
        *out = CORE_LOG_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = CORE_LOG_JSON;
    else if (strcmp(s, "text") == 0)
        *out = CORE_LOG_TEXT;
    else if (strcmp(s, "auto") == 0)
        *out = isatty(STDERR_FILENO) ? CORE_LOG_TEXT : CORE_LOG_LOGFMT;
    else
        return -1;
    return 0;
}

/* logfmt value: bare when safe, else quoted with \" \\ \n escaped */
static void put_logfmt(cp_buf *b, const char *v)
{
    bool quote = !*v;
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
            quote = true;
    if (!quote) {
        cp_buf_puts(b, v);
        return;
    }
    cp_buf_putc(b, '"');
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') {
            cp_buf_putc(b, '\\');
            cp_buf_putc(b, *p);
        } else if (*p == '\n')
            cp_buf_puts(b, "\\n");
        else if ((unsigned char)*p < 0x20)
            cp_buf_printf(b, "\\x%02x", (unsigned char)*p);
        else
            cp_buf_putc(b, *p);
    }
    cp_buf_putc(b, '"');
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, surrogates or code
 * points past U+10FFFF), 0 when the bytes there are not one. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (c >= 0xF5 || !n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) /* the terminating NUL fails here too */
            return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] > 0x8F))
        return 0;
    return n;
}

/* A JSON string; a byte that is not part of well-formed UTF-8 (a name from a hostile response, a
 * path in another encoding) is written as the escape \u00XX of its value, so every line stays
 * valid JSON and the byte can still be told. */
static void put_json_str(cp_buf *b, const char *v)
{
    cp_buf_putc(b, '"');
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            size_t n = utf8_len((const unsigned char *)p);
            if (n) {
                cp_buf_put(b, p, n);
                p += n - 1;
            } else {
                cp_buf_printf(b, "\\u%04x", c);
            }
        } else if (c == '"' || c == '\\') {
            cp_buf_putc(b, '\\');
            cp_buf_putc(b, (char)c);
        } else if (c == '\n')
            cp_buf_puts(b, "\\n");
        else if (c == '\t')
            cp_buf_puts(b, "\\t");
        else if (c < 0x20)
            cp_buf_printf(b, "\\u%04x", c);
        else
            cp_buf_putc(b, (char)c);
    }
    cp_buf_putc(b, '"');
}

static void format_line(cp_buf *b, core_log_format fmt, const core_log_tag *tag, cp_log_level level,
                        const char *ts, const char *msg)
{
    const char *keys[] = {"pipeline", "kind", "plugin", "instance"};
    const char *vals[] = {tag ? tag->pipeline : NULL, tag ? tag->kind : NULL, tag ? tag->plugin : NULL,
                          tag ? tag->instance : NULL};
    switch (fmt) {
    case CORE_LOG_JSON:
        cp_buf_printf(b, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_names[level]);
        for (int i = 0; i < 4; i++)
            if (vals[i]) {
                cp_buf_printf(b, ",\"%s\":", keys[i]);
                put_json_str(b, vals[i]);
            }
        cp_buf_puts(b, ",\"msg\":");
        put_json_str(b, msg);
        cp_buf_putc(b, '}');
        break;
    case CORE_LOG_TEXT:
        cp_buf_printf(b, "%s %-5s ", ts, level_names[level]);
        if (tag && tag->kind)
            cp_buf_printf(b, "[%s:%s:%s] ", tag->kind, tag->plugin ? tag->plugin : "-",
                            tag->instance ? tag->instance : "-");
        if (tag && tag->pipeline)
            cp_buf_printf(b, "%s: ", tag->pipeline);
        cp_buf_puts(b, msg);
        break;
    default:
        cp_buf_printf(b, "ts=%s level=%s", ts, level_names[level]);
        for (int i = 0; i < 4; i++)
            if (vals[i]) {
                cp_buf_printf(b, " %s=", keys[i]);
                put_logfmt(b, vals[i]);
            }
        cp_buf_puts(b, " msg=");
        put_logfmt(b, msg);
        break;
    }
}

void core_log_vtagged(const core_log_tag *tag, cp_log_level level, const char *fmt, va_list ap)
{
    if ((int)level < 0 || level > CP_LOG_DEBUG)
        level = CP_LOG_ERROR;
    if (level > g_level && !g_hook)
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* one line per message: fold embedded newlines */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (level == CP_LOG_ERROR && tag && tag->pipeline) /* the health view shows each pipeline's last error */
        core_metrics_pipeline_error(tag->pipeline, msg);
    char ts[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    core_util_iso8601((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, ts, sizeof ts);
    cp_buf b = {0};
    pthread_mutex_lock(&g_lock);
    if (level <= g_level) {
        format_line(&b, g_format, tag, level, ts, msg);
        if (b.p) {
            cp_buf_putc(&b, '\n');
            fwrite(b.p, 1, b.len, stderr);
            fflush(stderr);
        }
    }
    if (g_hook) {
        b.len = 0;
        format_line(&b, CORE_LOG_LOGFMT, tag, level, ts, msg);
        if (b.p)
            g_hook(level, b.p, g_hook_user);
    }
    pthread_mutex_unlock(&g_lock);
    cp_buf_free(&b);
}

void core_log_tagged(const core_log_tag *tag, cp_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_log_vtagged(tag, level, fmt, ap);
    va_end(ap);
}
