/* libFuzzer target for the spool's reading of its segment files at open (core_spool_open):
 * torn tails, corrupt bytes, and a reused segment's earlier data cut off. No crash, every
 * record it indexes reads back, and opening the repaired spool again indexes the same records
 * and changes nothing more.
 * SPDX-License-Identifier: MIT
 *
 * The input's first byte chooses the file: bit 0 a reused segment ("<id>.rseg", whose records
 * start at its first sequence number id) or a new one ("<id>.seg"), bits 1-7 the id (1 to 128);
 * the rest is the file. A record is "CPR2", u32 length, u64 sequence number, u32 CRC-32C of the
 * sequence number and the payload, the payload (core/spool.c): the seeds (tools/run-fuzz.sh)
 * are segments of real records, so mutations keep some of them whole.
 */
#include "fuzz.h"

#include "core/batch.h"
#include "core/log.h"
#include "core/spool.h"
#include "core/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64];
static const core_log_tag tag = {"fuzz", "sink", "fuzz", "spool"};

static void clear_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[128];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
}

/* the pending records of the spool in dir (the first max of their numbers into seqs), each read
 * back; *size: the segment file's size after the open (-1: deleted) */
static size_t open_and_read(uint64_t *seqs, size_t max, off_t *size, const char *file)
{
    char err[256];
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    if (!s)
        abort();
    size_t n = core_spool_pending(s);
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = core_spool_replay_seq(s, i);
        if (i < max)
            seqs[i] = seq;
        cp_batch *b = NULL;
        /* an indexed record's checksum held: its bytes are what the spool wrote, or a payload
         * that is none (the fuzzer's), which the decoder refuses without a crash */
        (void)core_spool_read(s, seq, NULL, &b);
        core_batch_unref(b);
    }
    struct stat st;
    *size = stat(file, &st) == 0 ? st.st_size : -1;
    /* closed without a confirmation: nothing is deleted or cut at close */
    core_spool_close(s);
    return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "/tmp/fuzz-spool-%d", (int)getpid());
    if (mkdir(dir, 0700) != 0)
        abort();
    core_log_setup(CP_LOG_ERROR, CORE_LOG_LOGFMT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    clear_dir();
    char file[128];
    snprintf(file, sizeof file, "%s/%016llx.%s", dir, (unsigned long long)(1 + (data[0] >> 1)),
             data[0] & 1 ? "rseg" : "seg");
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1)
        abort();
    fclose(f);
    uint64_t a[64], b[64];
    off_t sa, sb;
    /* every repair is logged (an error for corrupt bytes): not into the fuzzer's log (a crash
     * report would not be there either: rerun its input alone to read it) */
    fflush(stderr);
    int err = dup(2), null = open("/dev/null", O_WRONLY);
    if (err < 0 || null < 0 || dup2(null, 2) < 0)
        abort();
    size_t na = open_and_read(a, 64, &sa, file);
    size_t nb = open_and_read(b, 64, &sb, file);
    fflush(stderr);
    dup2(err, 2);
    close(err);
    close(null);
    if (na != nb || sa != sb || memcmp(a, b, (na < 64 ? na : 64) * sizeof a[0]) != 0)
        abort(); /* the first open's repairs are all there is to repair */
    if (na == 0 && sa != -1)
        abort(); /* a segment with nothing to deliver is deleted at open */
    return 0;
}
