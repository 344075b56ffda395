/* Small utilities: clocks, durations and sizes, files, a growable buffer.
 * SPDX-License-Identifier: MIT
 */
#include "util.h"

#include <coinpipe/buf.h>
#include <coinpipe/utc.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Atomic int64_t pinned_clock;

int64_t core_util_now_ms(void)
{
    int64_t p = atomic_load(&pinned_clock);
    if (p)
        return p;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void core_util_pin_clock(int64_t ms) { atomic_store(&pinned_clock, ms); }

int64_t core_util_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses "<number><unit>" where unit is looked up in `units`; bare numbers use `bare`. */
struct unit {
    const char *name;
    double mult;
};

static int parse_with_units(const char *s, const struct unit *units, double bare, int64_t *out)
{
    if (!s)
        return -1;
    while (*s == ' ')
        s++;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || v != v)
        return -1;
    while (*end == ' ')
        end++;
    double mult = bare;
    if (*end) {
        mult = -1;
        for (const struct unit *u = units; u->name; u++)
            if (strcmp(end, u->name) == 0) {
                mult = u->mult;
                break;
            }
        if (mult < 0)
            return -1;
    }
    double r = v * mult;
    if (r > 9.2e18)
        return -1;
    *out = (int64_t)(r + 0.5);
    return 0;
}

int core_util_parse_duration(const char *s, int64_t *ms)
{
    static const struct unit units[] = {{"ms", 1},       {"s", 1000},       {"m", 60000}, {"min", 60000},
                                        {"h", 3600000},  {"d", 86400000},   {NULL, 0}};
    return parse_with_units(s, units, 1000, ms);
}

int64_t core_util_interval_ms(const char *s)
{
    static const struct unit units[] = {{"s", 1000},         {"m", 60000},         {"h", 3600000},
                                        {"d", 86400000},     {"w", 604800000},     {NULL, 0}};
    int64_t ms = 0;
    return parse_with_units(s, units, 0, &ms) == 0 && ms > 0 ? ms : -1; /* bare numbers give 0 */
}

int core_util_parse_size(const char *s, int64_t *bytes)
{
    static const struct unit units[] = {{"k", 1024.0},          {"K", 1024.0},         {"KB", 1024.0},
                                        {"KiB", 1024.0},        {"M", 1048576.0},      {"MB", 1048576.0},
                                        {"MiB", 1048576.0},     {"G", 1073741824.0},   {"GB", 1073741824.0},
                                        {"GiB", 1073741824.0},  {"B", 1},              {NULL, 0}};
    return parse_with_units(s, units, 1, bytes);
}

void core_util_format_duration(int64_t ms, char *buf, size_t len)
{
    if (ms % 86400000 == 0 && ms)
        snprintf(buf, len, "%lldd", (long long)(ms / 86400000));
    else if (ms % 3600000 == 0 && ms)
        snprintf(buf, len, "%lldh", (long long)(ms / 3600000));
    else if (ms % 60000 == 0 && ms)
        snprintf(buf, len, "%lldm", (long long)(ms / 60000));
    else if (ms % 1000 == 0)
        snprintf(buf, len, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, len, "%lldms", (long long)ms);
}

void core_util_iso8601(int64_t ms, char *buf, size_t len)
{
    char iso[CP_UTC_ISO8601_SIZE];
    cp_utc_iso8601(ms, iso);
    snprintf(buf, len, "%s", iso);
}

int core_util_mkdirs(const char *path, unsigned mode)
{
    /* the usual case, a directory that exists already (every state write, every start after the
     * first): one call instead of one per component from the root */
    if (*path) {
        if (mkdir(path, mode) == 0 || errno == EEXIST)
            return 0;
        if (errno != ENOENT) /* ENOENT: a parent is missing */
            return -1;
    }
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int core_util_write_file_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    (void)fchmod(fd, 0640); /* whatever the umask: owner and group read, nobody else */
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            errno = e;
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    /* make the rename durable */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        int dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

char *core_util_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    cp_buf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cp_buf_put(&b, chunk, n);
    bool err = ferror(f);
    fclose(f);
    if (err || b.oom) {
        cp_buf_free(&b);
        return NULL;
    }
    cp_buf_putc(&b, '\0');
    if (b.oom) {
        cp_buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len - 1;
    return b.p;
}

double core_util_random(void)
{
    static _Thread_local uint64_t s;
    if (!s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec ^ ((uint64_t)(uintptr_t)&s << 16) ^ (uint64_t)getpid() ^ 0x9E3779B97F4A7C15ull;
    }
    /* xorshift64* */
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return (double)((s * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

char *core_util_strdup(const char *s) { return s ? strdup(s) : NULL; }

char *core_util_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void core_util_path_component(cp_buf *b, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.';
        if (ok && !(c == '.' && (s[1] == '.' || s[1] == '\0')))
            cp_buf_putc(b, c);
        else
            cp_buf_printf(b, "%%%02X", (unsigned char)c);
    }
}

/* ---- CRC-32C (Castagnoli, reflected 0x82F63B78) ------------------------------------- */

static uint32_t crc32c_tab[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_tab[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (uint32_t i = 0; i < 256; i++)
            crc32c_tab[t][i] = (crc32c_tab[t - 1][i] >> 8) ^ crc32c_tab[0][crc32c_tab[t - 1][i] & 0xFF];
}

uint32_t core_util_crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc32c_once, crc32c_init);
    const unsigned char *p = data;
    uint32_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) { /* slicing by 8 */
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        c = crc32c_tab[7][lo & 0xFF] ^ crc32c_tab[6][(lo >> 8) & 0xFF] ^ crc32c_tab[5][(lo >> 16) & 0xFF] ^
            crc32c_tab[4][lo >> 24] ^ crc32c_tab[3][p[4]] ^ crc32c_tab[2][p[5]] ^ crc32c_tab[1][p[6]] ^
            crc32c_tab[0][p[7]];
    }
    while (n--)
        c = (c >> 8) ^ crc32c_tab[0][(c ^ *p++) & 0xFF];
    return ~c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* a(x) * b(x) modulo CRC-32C's polynomial, both reflected as the CRC's register is (bit 31: x^0) */
static uint32_t crc32c_mul(uint32_t a, uint32_t b)
{
    uint32_t p = 0;
    for (uint32_t m = UINT32_C(1) << 31; m; m >>= 1) {
        if (a & m)
            p ^= b;
        b = b & 1 ? (b >> 1) ^ 0x82F63B78u : b >> 1; /* times x */
    }
    return p;
}

enum { CRC_LANE = 4096 }; /* bytes of each of the three lanes of a block */

/* x^(8 * CRC_LANE) and x^(16 * CRC_LANE) modulo the polynomial, reflected: what CRC_LANE and
 * 2 * CRC_LANE zero bytes after a register make of it (times it). Square-and-multiply with
 * crc32c_mul from x^8 gives them; test_spool's test_crc32c checks the lanes against the table
 * at lengths around the blocks'. */
#define CRC_X8_LANE UINT32_C(0x35D73A62)
#define CRC_X8_2LANES UINT32_C(0x28461564)

/* The instruction takes 3 cycles and another can start each cycle: three lanes of a block (a
 * spool record is a megabyte) run at once, from 0 but the first, and are joined by the CRC's
 * linearity: the register after A B C is A's times x^(8 |B C|), B's times x^(8 |C|), and C's. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t c = ~crc;
    for (; n >= 3 * CRC_LANE; n -= 3 * CRC_LANE, p += 3 * CRC_LANE) {
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < CRC_LANE; i += 8) {
            uint64_t v0, v1, v2;
            memcpy(&v0, p + i, 8);
            memcpy(&v1, p + CRC_LANE + i, 8);
            memcpy(&v2, p + 2 * CRC_LANE + i, 8);
            c = __builtin_ia32_crc32di(c, v0);
            c1 = __builtin_ia32_crc32di(c1, v1);
            c2 = __builtin_ia32_crc32di(c2, v2);
        }
        c = crc32c_mul(CRC_X8_2LANES, (uint32_t)c) ^ crc32c_mul(CRC_X8_LANE, (uint32_t)c1) ^ (uint32_t)c2;
    }
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

uint32_t core_util_crc32c(uint32_t crc, const void *data, size_t n)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static atomic_int hw = -1; /* the instruction when the CPU has it: ~10x faster than the table */
    int h = atomic_load_explicit(&hw, memory_order_relaxed);
    if (h < 0) {
        h = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        atomic_store_explicit(&hw, h, memory_order_relaxed);
    }
    if (h)
        return crc32c_hw(crc, data, n);
#endif
    return core_util_crc32c_sw(crc, data, n);
}

/* glibc keeps what a cycle freed in its arenas (one per thread that allocated): after a
 * cycle of 200 symbols an idle collector held about 4 MB of free heap pages. malloc_trim
 * gives every whole free page back; the next cycle faults them in again. */
void core_util_release_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* glibc's defaults start its mmap threshold at 128 KiB and let it follow the largest block freed,
 * and give a thread arena's free top back once it passes twice that: a poll cycle's batches,
 * response bodies and spool records (0.1 to a few MB, allocated by one thread and freed by
 * another) went back to the system and were faulted in again, page by page (about 9,000 minor
 * faults in an N = 200 cycle, every page of the peak RSS touched fresh). Fixed at 4 MiB (mmap) and
 * 8 MiB (trim), they are reused from the arenas: 5,700 faults, CPU -4 %, peak RSS +1.3 MB. A
 * bigger block (a body past 4 MiB, a hostile server's bomb) is still its own mapping, unmapped
 * when freed, so a burst does not stay in the heap; going idle still trims every free page
 * (core_util_release_memory). Settings made in GLIBC_TUNABLES or MALLOC_*_ are left alone. */
bool core_util_tune_memory(void)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    const char *t = getenv("GLIBC_TUNABLES");
    if ((t && strstr(t, "glibc.malloc.")) || getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_") ||
        getenv("MALLOC_TOP_PAD_"))
        return false;
    return mallopt(M_MMAP_THRESHOLD, 4 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 8 << 20) == 1;
#else
    return false;
#endif
}

void core_util_json_string(cp_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    cp_buf_putc(b, '"');
    size_t run = 0; /* start of the bytes that need no escape, copied at once */
    for (size_t i = 0; s && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f)
            continue;
        cp_buf_put(b, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            cp_buf_put(b, e, sizeof e);
        } else {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            cp_buf_put(b, u, sizeof u);
        }
    }
    if (s)
        cp_buf_put(b, s + run, len - run);
    cp_buf_putc(b, '"');
}
