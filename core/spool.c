/* Spool: the durable, append-only on-disk queue behind each sink (segments, checksums, cursor).
 * SPDX-License-Identifier: MIT
 *
 * Directory <state_dir>/spool/<pipeline>/<sink>/ holds segment files "<first seq, 16 hex>.seg"
 * (or ".rseg", below), spares ("<16 hex>.spare") and "cursor" (the highest sequence number
 * below which everything is confirmed). A record is: "CPR2", u32 payload length, u64 sequence
 * number, u32 CRC-32C of (sequence number + payload), payload (core_batch_serialize: its compact
 * layout since this release, about 40 % of the v1 layout's bytes; v1 payloads of earlier
 * releases' records are still read). Records of earlier versions, "CPR1" with zlib's CRC-32,
 * are still read. Appends are written at once and fsync'd by core_spool_sync (once per cycle):
 * the segments holding records not yet confirmed, what the spool is for (one whose records were
 * all confirmed is left to go unwritten). Confirmations advance the cursor, persisted atomically
 * at most once a second (CURSOR_MS) and at close.
 * A segment whose records are all confirmed is kept as a spare, "<its id>.spare" (up to SPARES
 * of them, within the bound with the records not yet confirmed; else deleted), and a new
 * segment is a spare renamed "<first seq>.rseg" and written over from its start, its pages in
 * the page cache already: writing into a new file costs the kernel a page, a block reservation
 * and a buffer head per 4 KiB, and deleting it as much again; since the sink queue paces the
 * source (sink.c), a poll cycle's sink is at most a few segments behind, so most of its segments
 * are spares written over. A reused segment's earlier data past its own records is cut off
 * before it is synced and at open; spares go at close (and at open: one left by a crash holds
 * confirmed records only).
 * On open, records above the cursor are indexed for replay. A torn record at a segment's end (a
 * crash mid-write: no record follows) is cut off; a corrupt record elsewhere is skipped by
 * finding the next valid record; both are logged and never stop the daemon. In a reused
 * segment, a record numbered below the segment's first, or bytes that are no record up to the
 * end or up to such a record, are the spare's earlier data: cut off there.
 */
#include "batch.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "CPR2"    /* CRC-32C, written since the spool went faster */
#define MAGIC_V1 "CPR1" /* zlib's CRC-32, still read */
#define HDR 20
/* Segments of 2 MiB at most: a sync writes only those holding records not yet confirmed (one
 * whose records were all confirmed is deleted unwritten, its pages never reach the disk), so a
 * sink that keeps up costs the spool page-cache copies, not disk writes. */
#define SEGMENT_MAX (2u << 20)
#define MAX_RECORD (512u << 20)
/* Confirmed segments kept to be written over, at most: the N = 200 poll cycle writes 7 segments
 * of 2 MiB, its paced sink one or two behind the one being written. */
#define SPARES 3
/* The cursor is written (two fsyncs, by the sink's worker) at most this often: a cursor behind
 * only means confirmed batches replayed after a crash, which keys make harmless. */
#define CURSOR_MS 1000

typedef struct segment {
    uint64_t id; /* first sequence number */
    int64_t bytes; /* of its records: they end there */
    int64_t stale; /* reused: the file's size when its earlier data reaches past `bytes`, else 0 */
    size_t live;   /* records in it not yet confirmed */
    bool deleted;
    bool reused; /* "<id>.rseg": a spare written over */
} segment;

typedef struct entry {
    uint64_t seq;
    size_t seg; /* index into segments */
    uint64_t off;
    uint32_t len; /* payload length */
    bool done;
} entry;

struct core_spool {
    char *dir;
    const core_log_tag *tag;
    segment *segs;
    size_t nsegs;
    entry *idx; /* sorted by seq; done entries are trimmed from the front */
    size_t nidx, cap, first;
    int fd; /* current segment, -1 until the first append */
    size_t cur;
    bool dirty;
    bool dir_dirty; /* a segment was created since the directory was last synced */
    struct pending { /* earlier segments with records written since the last sync */
        int fd;
        size_t seg;
    } *pending;
    size_t npending, pending_cap;
    uint64_t next_seq, cursor;
    bool cursor_dirty;
    int64_t cursor_written_mono;
    int64_t bytes;      /* on disk, in segment files */
    int64_t live_bytes; /* of records not yet confirmed: what spool_max_bytes bounds */
    int64_t segment_max;
    int64_t max_bytes; /* the bound (core_spool_set_limit; 0: none given): spares fit in it too */
    struct spare { /* "<id>.spare": a segment whose records were all confirmed */
        uint64_t id;
        int64_t size;
    } spares[SPARES];
    size_t nspares;
    cp_buf rec; /* the record being appended or read: its capacity is kept from one to the next (a
                 * fresh megabyte per batch cost a page fault per 4 KiB), given back at a sync and
                 * when every record is confirmed */
};

static void file_path(const core_spool *s, uint64_t id, const char *ext, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%016llx.%s", s->dir, (unsigned long long)id, ext);
}

static void seg_path(const core_spool *s, const segment *g, char *buf, size_t len)
{
    file_path(s, g->id, g->reused ? "rseg" : "seg", buf, len);
}

/* The checksum of a record, by the version its magic names (v1: zlib's CRC-32). */
static uint32_t record_crc(bool v1, uint64_t seq, const unsigned char *payload, uint32_t len)
{
    if (v1) {
        uLong c = crc32(0L, Z_NULL, 0);
        c = crc32(c, (const Bytef *)&seq, 8);
        c = crc32(c, payload, len);
        return (uint32_t)c;
    }
    return core_util_crc32c(core_util_crc32c(0, &seq, 8), payload, len);
}

/* 1: the magic of a current record, 2: of a v1 record, 0: neither (n bytes compared, at most 4) */
static int magic_at(const unsigned char *p, size_t n)
{
    n = n < 4 ? n : 4;
    return memcmp(p, MAGIC, n) == 0 ? 1 : memcmp(p, MAGIC_V1, n) == 0 ? 2 : 0;
}

static int cmp_seg(const void *a, const void *b)
{
    uint64_t x = ((const segment *)a)->id, y = ((const segment *)b)->id;
    return x < y ? -1 : x > y;
}

static bool idx_push(core_spool *s, entry e)
{
    if (s->nidx == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        entry *n = realloc(s->idx, cap * sizeof *n);
        if (!n)
            return false;
        s->idx = n;
        s->cap = cap;
    }
    s->idx[s->nidx++] = e;
    return true;
}

/* Parses a whole segment file into the index; repairs a torn tail, and cuts a reused segment's
 * earlier data off (see the top). */
static void scan_segment(core_spool *s, size_t si)
{
    char path[4200];
    seg_path(s, &s->segs[si], path, sizeof path);
    bool reused = s->segs[si].reused, own_torn = false;
    size_t cut = SIZE_MAX; /* where the file is cut: its records end there */
    size_t len;
    unsigned char *data = (unsigned char *)core_util_read_file(path, &len);
    if (!data) {
        core_log_tagged(s->tag, CP_LOG_ERROR, "spool: cannot read %s: %s; its records are lost", path, strerror(errno));
        return;
    }
    size_t pos = 0, skipped = 0, bad_at = 0;
    bool bad_torn = false, bad_own = false; /* the bytes at bad_at: a record's header running past
                                             * the end; a header of this segment's own */
    while (pos < len) {
        bool ok = false, torn = false;
        uint32_t plen = 0;
        uint64_t seq = 0;
        int m = magic_at(data + pos, len - pos);
        if (len - pos < HDR) {
            torn = m != 0;
        } else if (m) {
            uint32_t crc;
            memcpy(&plen, data + pos + 4, 4);
            memcpy(&seq, data + pos + 8, 8);
            memcpy(&crc, data + pos + 16, 4);
            if (plen <= MAX_RECORD && pos + HDR + plen <= len)
                ok = record_crc(m == 2, seq, data + pos + HDR, plen) == crc;
            else if (plen <= MAX_RECORD)
                torn = true; /* runs past the end of the file */
        }
        if (ok && reused && seq < s->segs[si].id) { /* the spare's: so is what is skipped before it */
            cut = skipped ? bad_at : pos;
            own_torn = skipped && bad_own;
            break;
        }
        if (ok) {
            if (skipped) {
                core_log_tagged(s->tag, CP_LOG_ERROR,
                                "spool: corrupt data in %s at offset %zu (checksum mismatch): skipped %zu bytes, "
                                "later records intact", path, bad_at, skipped);
                skipped = 0;
            }
            if (seq > s->cursor) {
                entry e = {seq, si, pos + HDR, plen, false};
                if (idx_push(s, e)) {
                    s->segs[si].live++;
                    s->live_bytes += HDR + plen;
                }
            }
            if (seq >= s->next_seq)
                s->next_seq = seq + 1;
            pos += HDR + plen;
            continue;
        }
        if (!skipped) { /* what the bytes that are no record start with */
            bad_at = pos;
            bad_torn = torn;
            bad_own = m && (!reused || (len - pos >= HDR && seq >= s->segs[si].id));
        }
        skipped++;
        pos++;
    }
    /* no record up to the end: a record cut short by a crash (its header runs past the end: had
     * a record followed, the header was corrupt, reported above), or in a reused segment the
     * spare's earlier data; both cut off */
    if (skipped && cut == SIZE_MAX && (bad_torn || reused)) {
        cut = bad_at;
        own_torn = bad_own;
    } else if (skipped && cut == SIZE_MAX) {
        core_log_tagged(s->tag, CP_LOG_ERROR, "spool: corrupt data at the end of %s from offset %zu: %zu bytes skipped",
                        path, bad_at, skipped);
    }
    if (cut != SIZE_MAX) {
        if (own_torn)
            core_log_tagged(s->tag, CP_LOG_WARN,
                            "spool: torn record at the end of %s (offset %zu, %zu bytes): an interrupted write, cut off",
                            path, cut, len - cut);
        else
            core_log_tagged(s->tag, CP_LOG_DEBUG, "spool: %s: the reused file's earlier data from offset %zu cut off",
                            path, cut);
        if (truncate(path, (off_t)cut) != 0)
            core_log_tagged(s->tag, CP_LOG_ERROR, "spool: cannot truncate %s: %s", path, strerror(errno));
        len = cut;
    }
    s->segs[si].bytes = (int64_t)len;
    s->bytes += (int64_t)len;
    free(data);
}

static void write_cursor(core_spool *s)
{
    char path[4200], text[32];
    snprintf(path, sizeof path, "%s/cursor", s->dir);
    int n = snprintf(text, sizeof text, "%llu\n", (unsigned long long)s->cursor);
    if (core_util_write_file_atomic(path, text, (size_t)n) != 0)
        core_log_tagged(s->tag, CP_LOG_ERROR, "spool: cannot write %s: %s", path, strerror(errno));
    s->cursor_dirty = false;
    s->cursor_written_mono = core_util_mono_ms();
}

core_spool *core_spool_open(const char *dir, const core_log_tag *tag, char *err, size_t errlen)
{
    if (core_util_mkdirs(dir, 0750) != 0) {
        snprintf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    core_spool *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->tag = tag;
    s->fd = -1;
    s->segment_max = SEGMENT_MAX;
    char path[4200];
    snprintf(path, sizeof path, "%s/cursor", dir);
    char *text = core_util_read_file(path, NULL);
    if (text) {
        s->cursor = strtoull(text, NULL, 10);
        free(text);
    }
    s->next_seq = s->cursor + 1;
    DIR *d = opendir(dir);
    segment *found = NULL;
    size_t nfound = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *ext = e->d_name + 16;
        if (strlen(e->d_name) < 20 || strspn(e->d_name, "0123456789abcdef") != 16)
            continue;
        if (strcmp(ext, ".spare") == 0) { /* left by a crash: confirmed records only */
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
            continue;
        }
        if (strcmp(ext, ".seg") != 0 && strcmp(ext, ".rseg") != 0)
            continue;
        segment *n = realloc(found, (nfound + 1) * sizeof *n);
        if (!n)
            break;
        found = n;
        found[nfound++] = (segment){.id = strtoull(e->d_name, NULL, 16), .reused = ext[1] == 'r'};
    }
    if (d)
        closedir(d);
    if (nfound)
        qsort(found, nfound, sizeof *found, cmp_seg);
    s->segs = calloc(nfound + 1, sizeof *s->segs);
    if (!s->segs) {
        free(found);
        core_spool_close(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < nfound; i++) {
        s->segs[s->nsegs] = found[i];
        scan_segment(s, s->nsegs++);
    }
    free(found);
    /* segments with nothing left to deliver go now */
    for (size_t i = 0; i < s->nsegs; i++)
        if (!s->segs[i].live) {
            seg_path(s, &s->segs[i], path, sizeof path);
            unlink(path);
            s->bytes -= s->segs[i].bytes;
            s->segs[i].deleted = true;
        }
    return s;
}

size_t core_spool_pending(const core_spool *s)
{
    size_t n = 0;
    for (size_t i = s->first; i < s->nidx; i++)
        n += !s->idx[i].done;
    return n;
}

uint64_t core_spool_replay_seq(const core_spool *s, size_t i) { return s->idx[s->first + i].seq; }
int64_t core_spool_bytes(const core_spool *s) { return s->live_bytes; }

void core_spool_set_limit(core_spool *s, int64_t max_bytes)
{
    /* segments of a quarter of the bound (64 KiB .. 16 MiB), so confirmed space comes back soon */
    int64_t seg = max_bytes / 4;
    s->max_bytes = max_bytes;
    s->segment_max = seg < 65536 ? 65536 : seg > (int64_t)SEGMENT_MAX ? (int64_t)SEGMENT_MAX : seg;
}

/* Segment i's records are all confirmed: its file becomes a spare (renamed "<id>.spare", to be
 * written over by a new segment) while there is room for one, else it is deleted. */
static void delete_segment(core_spool *s, size_t i)
{
    segment *g = &s->segs[i];
    char path[4200], spare[4200];
    seg_path(s, g, path, sizeof path);
    file_path(s, g->id, "spare", spare, sizeof spare);
    int64_t size = g->stale > g->bytes ? g->stale : g->bytes, kept = s->live_bytes + size;
    for (size_t k = 0; k < s->nspares; k++)
        kept += s->spares[k].size;
    if (s->nspares < SPARES && (!s->max_bytes || kept <= s->max_bytes) && rename(path, spare) == 0)
        s->spares[s->nspares++] = (struct spare){g->id, size};
    else
        unlink(path);
    g->deleted = true;
    s->bytes -= g->bytes;
}

/* A reused segment's earlier data past its records (fd open on it) is cut off: before it is
 * synced, or after a write that failed */
static void cut_stale(segment *g, int fd)
{
    if (g->stale && ftruncate(fd, (off_t)g->bytes) == 0)
        g->stale = 0;
}

/* The current segment is full: a new one follows. Its records not yet synced are synced at the
 * next sync (with the rest of the cycle's), not now: by then the sink may have confirmed them
 * all and the file is gone (fdatasync would write to the disk what is deleted a moment later). */
static void retire_segment(core_spool *s)
{
    segment *g = &s->segs[s->cur];
    if (g->live == 0 && !g->deleted) { /* every record confirmed: nothing to keep */
        close(s->fd);
        delete_segment(s, s->cur);
        return;
    }
    if (!s->dirty) {
        close(s->fd);
        return;
    }
    if (s->npending == s->pending_cap) {
        size_t cap = s->pending_cap ? s->pending_cap * 2 : 4;
        struct pending *n = realloc(s->pending, cap * sizeof *n);
        if (!n) { /* no room to remember it: sync it now */
            cut_stale(g, s->fd);
            (void)fdatasync(s->fd);
            close(s->fd);
            return;
        }
        s->pending = n;
        s->pending_cap = cap;
    }
    s->pending[s->npending++] = (struct pending){s->fd, s->cur};
}

/* Drops the pending segments whose records were all confirmed since (deleted: no sync needed). */
static void pending_prune(core_spool *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->npending; i++) {
        if (s->segs[s->pending[i].seg].deleted)
            close(s->pending[i].fd);
        else
            s->pending[k++] = s->pending[i];
    }
    s->npending = k;
}

static bool open_segment(core_spool *s)
{
    segment *n = realloc(s->segs, (s->nsegs + 1) * sizeof *n);
    if (!n)
        return false;
    s->segs = n;
    char path[4200], from[4200];
    segment g = {.id = s->next_seq, .reused = s->nspares > 0};
    int fd = -1;
    if (g.reused) { /* the newest spare, renamed: its pages are the likeliest to be in memory */
        struct spare sp = s->spares[--s->nspares];
        file_path(s, sp.id, "spare", from, sizeof from);
        seg_path(s, &g, path, sizeof path);
        if (rename(from, path) != 0)
            unlink(from);
        else if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
            unlink(path);
        g.stale = sp.size;
    }
    if (fd < 0) {
        g.reused = false;
        g.stale = 0;
        seg_path(s, &g, path, sizeof path);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
            return false;
        (void)fchmod(fd, 0640); /* whatever the umask */
    }
    if (s->fd >= 0)
        retire_segment(s);
    s->fd = fd;
    s->dirty = false;
    s->segs[s->nsegs] = g;
    s->cur = s->nsegs++;
    s->dir_dirty = true; /* the new name is made durable with the records, at the next sync */
    return true;
}

/* fsyncs the spool directory (new segments' names) */
static int sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    int rc = fsync(dfd), e = errno;
    close(dfd);
    errno = e;
    return rc;
}

cp_status core_spool_append(core_spool *s, const cp_batch *b, uint64_t *seq_out, int64_t *bytes_out)
{
    cp_buf rec = s->rec;
    s->rec = (cp_buf){0};
    cp_buf_reset(&rec);
    cp_buf_put(&rec, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", HDR);
    if (core_batch_serialize(b, &rec) != CP_OK || rec.oom) {
        cp_buf_free(&rec);
        return CP_ERR_NOMEM;
    }
    uint32_t plen = (uint32_t)(rec.len - HDR);
    uint64_t seq = s->next_seq;
    uint32_t crc = record_crc(false, seq, (unsigned char *)rec.p + HDR, plen);
    memcpy(rec.p, MAGIC, 4);
    memcpy(rec.p + 4, &plen, 4);
    memcpy(rec.p + 8, &seq, 8);
    memcpy(rec.p + 16, &crc, 4);
    if ((s->fd < 0 || s->segs[s->cur].bytes + (int64_t)rec.len > s->segment_max) && !open_segment(s)) {
        int e = errno;
        cp_buf_free(&rec);
        errno = e;
        return CP_ERR_IO;
    }
    size_t done = 0;
    segment *g = &s->segs[s->cur];
    while (done < rec.len) { /* at the records' end: a reused file's earlier data is written over */
        ssize_t w = pwrite(s->fd, rec.p + done, rec.len - done, (off_t)(g->bytes + (int64_t)done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno ? errno : EIO;
            /* take back a partial record so the segment stays well-formed */
            if (done && ftruncate(s->fd, (off_t)g->bytes) != 0)
                core_log_tagged(s->tag, CP_LOG_ERROR, "spool: cannot undo a partial write: %s", strerror(errno));
            else if (done)
                g->stale = 0;
            cp_buf_free(&rec);
            errno = e;
            return CP_ERR_IO;
        }
        done += (size_t)w;
    }
    entry e = {seq, s->cur, (uint64_t)s->segs[s->cur].bytes + HDR, plen, false};
    if (!idx_push(s, e)) {
        if (ftruncate(s->fd, (off_t)g->bytes) == 0) /* not queued: not replayed either */
            g->stale = 0;
        cp_buf_free(&rec);
        return CP_ERR_NOMEM;
    }
    s->segs[s->cur].bytes += (int64_t)rec.len;
    s->segs[s->cur].live++;
    s->bytes += (int64_t)rec.len;
    s->live_bytes += (int64_t)rec.len;
    s->next_seq++;
    s->dirty = true;
    if (seq_out)
        *seq_out = seq;
    if (bytes_out)
        *bytes_out = (int64_t)rec.len;
    s->rec = rec; /* kept for the next append */
    return CP_OK;
}

/* What both syncs do first: a sync ends a cycle's appends (or a long run of them: the record
 * buffer goes), earlier segments deleted meanwhile need no sync, and nor does the current one
 * when its records are all confirmed: the spool keeps nothing in it. */
static void sync_begin(core_spool *s)
{
    cp_buf_free(&s->rec);
    pending_prune(s);
    if (s->dirty && s->fd >= 0 && !s->segs[s->cur].live)
        s->dirty = false;
}

cp_status core_spool_sync(core_spool *s)
{
    sync_begin(s);
    while (s->npending) {
        struct pending *p = &s->pending[s->npending - 1];
        cut_stale(&s->segs[p->seg], p->fd);
        if (fdatasync(p->fd) != 0)
            return CP_ERR_IO;
        close(p->fd);
        s->npending--;
    }
    if (s->dirty && s->fd >= 0) {
        cut_stale(&s->segs[s->cur], s->fd);
        if (fdatasync(s->fd) != 0)
            return CP_ERR_IO;
        s->dirty = false;
    }
    if (s->dir_dirty) {
        if (sync_dir(s->dir) != 0)
            return CP_ERR_IO;
        s->dir_dirty = false;
    }
    return CP_OK;
}

cp_status core_spool_sync_unlocked(core_spool *s, pthread_mutex_t *lock)
{
    sync_begin(s);
    bool data = s->dirty && s->fd >= 0, dir = s->dir_dirty;
    if (!data && !dir && !s->npending)
        return CP_OK;
    /* the earlier segments to sync are this call's: appends meanwhile may add others; a reused
     * one's earlier data is cut off first (appends meanwhile write past the records only) */
    for (size_t i = 0; i < s->npending; i++)
        cut_stale(&s->segs[s->pending[i].seg], s->pending[i].fd);
    if (data)
        cut_stale(&s->segs[s->cur], s->fd);
    struct pending *olds = s->pending;
    size_t nolds = s->npending;
    s->pending = NULL;
    s->npending = s->pending_cap = 0;
    /* a descriptor of its own: the current segment may be closed (confirmed and deleted) or
     * replaced (a new segment) meanwhile; syncing the file it names is what the caller asked for */
    int fd = data ? fcntl(s->fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (data && fd < 0) { /* no descriptor to spare: everything with the lock held */
        s->pending = olds;
        s->npending = s->pending_cap = nolds;
        return core_spool_sync(s);
    }
    uint64_t mark = s->next_seq;
    s->dir_dirty = false; /* a segment created meanwhile sets it again */
    pthread_mutex_unlock(lock);
    int rc = 0, e = 0;
    size_t synced = 0; /* olds[0..synced) are synced and closed */
    while (rc == 0 && synced < nolds) {
        if ((rc = fdatasync(olds[synced].fd)) != 0)
            e = errno;
        else
            close(olds[synced++].fd);
    }
    if (rc == 0 && data && (rc = fdatasync(fd)) != 0)
        e = errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0 && dir && (rc = sync_dir(s->dir)) != 0)
        e = errno;
    pthread_mutex_lock(lock);
    /* what was not synced is pending again */
    for (size_t i = synced; i < nolds; i++) {
        if (s->npending == s->pending_cap) {
            size_t cap = s->pending_cap ? s->pending_cap * 2 : 4;
            struct pending *n = realloc(s->pending, cap * sizeof *n);
            if (!n) {
                close(olds[i].fd); /* reported below as a failed sync */
                continue;
            }
            s->pending = n;
            s->pending_cap = cap;
        }
        s->pending[s->npending++] = olds[i];
    }
    free(olds);
    if (rc != 0) {
        s->dir_dirty |= dir;
        errno = e;
        return CP_ERR_IO;
    }
    if (data && s->next_seq == mark) /* nothing appended meanwhile: all of it is durable */
        s->dirty = false;
    return CP_OK;
}

static entry *find(core_spool *s, uint64_t seq)
{
    size_t lo = s->first, hi = s->nidx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->idx[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nidx && s->idx[lo].seq == seq ? &s->idx[lo] : NULL;
}

cp_status core_spool_read(core_spool *s, uint64_t seq, cp_batch *reuse, cp_batch **out)
{
    *out = NULL;
    entry *e = find(s, seq);
    char path[4200];
    int fd = -1;
    if (e) {
        seg_path(s, &s->segs[e->seg], path, sizeof path);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        core_batch_unref(reuse);
        return e ? CP_ERR_IO : CP_ERR_NOT_FOUND;
    }
    /* read into the record buffer (the appends' and the reads' in turn, under the caller's lock):
     * its pages are mapped already, a fresh half megabyte per read was a page fault per 4 KiB */
    cp_buf *buf = &s->rec;
    cp_buf_reset(buf);
    cp_status st = cp_buf_reserve(buf, (size_t)e->len + HDR) ? CP_OK : CP_ERR_NOMEM;
    if (st == CP_OK) { /* the header and the payload in one read */
        unsigned char *hdr = (unsigned char *)buf->p, *payload = hdr + HDR;
        uint32_t crc;
        st = pread(fd, hdr, e->len + HDR, (off_t)e->off - HDR) == (ssize_t)(e->len + HDR) ? CP_OK : CP_ERR_IO;
        memcpy(&crc, hdr + 16, 4);
        if (st == CP_OK && (!magic_at(hdr, 4) || record_crc(magic_at(hdr, 4) == 2, seq, payload, e->len) != crc))
            st = CP_ERR_PARSE;
        if (st == CP_OK) { /* the checksum held: our own bytes */
            st = core_batch_deserialize_into(payload, e->len, false, reuse, out);
            reuse = NULL;
        }
    }
    core_batch_unref(reuse);
    close(fd);
    return st;
}

void core_spool_done(core_spool *s, uint64_t seq)
{
    entry *e = find(s, seq);
    if (!e || e->done)
        return;
    e->done = true;
    s->live_bytes -= HDR + (int64_t)e->len;
    segment *g = &s->segs[e->seg];
    if (g->live && --g->live == 0 && e->seg != s->cur && !g->deleted)
        delete_segment(s, e->seg); /* a spare, or gone */
    /* advance the cursor over the confirmed prefix */
    while (s->first < s->nidx && s->idx[s->first].done) {
        s->cursor = s->idx[s->first].seq;
        s->first++;
        s->cursor_dirty = true;
    }
    if (s->first == s->nidx) {
        s->first = s->nidx = 0;
        cp_buf_free(&s->rec); /* nothing to read back, and appends start a new burst */
        /* everything confirmed: the current segment can go too, a new one starts on demand */
        if (s->fd >= 0 && s->segs[s->cur].live == 0 && s->segs[s->cur].bytes > s->segment_max / 4) {
            close(s->fd);
            s->fd = -1;
            delete_segment(s, s->cur);
        }
    } else if (s->first > 4096 && s->first * 2 > s->nidx) {
        memmove(s->idx, s->idx + s->first, (s->nidx - s->first) * sizeof *s->idx);
        s->nidx -= s->first;
        s->first = 0;
    }
    if (s->cursor_dirty && core_util_mono_ms() - s->cursor_written_mono >= CURSOR_MS)
        write_cursor(s);
}

void core_spool_close(core_spool *s)
{
    if (!s)
        return;
    char path[4200];
    if (s->fd >= 0) {
        if (s->dirty) {
            cut_stale(&s->segs[s->cur], s->fd);
            (void)fdatasync(s->fd);
        }
        close(s->fd);
        /* an empty current segment leaves no file behind */
        if (s->nsegs && s->segs[s->cur].live == 0 && !s->segs[s->cur].deleted) {
            seg_path(s, &s->segs[s->cur], path, sizeof path);
            unlink(path);
        }
    }
    for (size_t i = 0; i < s->nspares; i++) { /* nothing left to write over */
        file_path(s, s->spares[i].id, "spare", path, sizeof path);
        unlink(path);
    }
    pending_prune(s);
    for (size_t i = 0; i < s->npending; i++) {
        cut_stale(&s->segs[s->pending[i].seg], s->pending[i].fd);
        (void)fdatasync(s->pending[i].fd);
        close(s->pending[i].fd);
    }
    free(s->pending);
    if (s->dir_dirty)
        (void)sync_dir(s->dir);
    if (s->cursor_dirty)
        write_cursor(s);
    cp_buf_free(&s->rec);
    free(s->segs);
    free(s->idx);
    free(s->dir);
    free(s);
}
