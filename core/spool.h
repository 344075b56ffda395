/* The spool: a durable append-only queue behind a sink.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_SPOOL_H
#define COINPIPE_CORE_SPOOL_H

#include "log.h"

#include <coinpipe/coinpipe.h>
#include <pthread.h>

typedef struct core_spool core_spool;
core_spool *core_spool_open(const char *dir, const core_log_tag *tag, char *err, size_t errlen);
void core_spool_close(core_spool *s);
/* unconfirmed records found at open (to replay, oldest first): count and sequence numbers */
size_t core_spool_pending(const core_spool *s);
uint64_t core_spool_replay_seq(const core_spool *s, size_t i);
/* appends a record (not yet fsync'd); CP_ERR_IO with errno on failure (ENOSPC...) */
cp_status core_spool_append(core_spool *s, const cp_batch *b, uint64_t *seq, int64_t *bytes);
cp_status core_spool_sync(core_spool *s); /* fdatasync what was appended */
/* core_spool_sync for a caller that holds `lock` (the one guarding s): the lock is released during
 * the fdatasync, so the sink's worker goes on writing meanwhile, and held again on return. What
 * was appended before the call is durable on CP_OK; CP_ERR_IO with errno when it is not. */
cp_status core_spool_sync_unlocked(core_spool *s, pthread_mutex_t *lock);
/* the batch of record seq, a new one (*out, the caller's) or `reuse` refilled: reuse (NULL, or a
 * batch of the caller's nothing else holds) is taken either way (core_batch_deserialize_into).
 * CP_ERR_NOT_FOUND, CP_ERR_IO, CP_ERR_PARSE (checksum), CP_ERR_NOMEM; *out NULL then. */
cp_status core_spool_read(core_spool *s, uint64_t seq, cp_batch *reuse, cp_batch **out);
void core_spool_done(core_spool *s, uint64_t seq); /* confirmed, dropped or dead-lettered */
int64_t core_spool_bytes(const core_spool *s);      /* of unconfirmed records (what the bound limits) */
void core_spool_set_limit(core_spool *s, int64_t max_bytes); /* sizes segments for the bound */

#endif /* COINPIPE_CORE_SPOOL_H */
