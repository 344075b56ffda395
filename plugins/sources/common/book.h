/* One side of a local order book, for the streaming sources that keep a book from a snapshot and
 * change messages (Binance's depth diffs, Coinbase's level2_batch).
 * SPDX-License-Identifier: MIT
 *
 * Levels are kept best first (bids highest first: `desc`), found by binary search on the price's
 * value; each keeps its price and size as the exchange wrote them, so the rows a source writes
 * from the book carry the exchange's decimals verbatim. Compiled into each source that uses it.
 */
#ifndef COINPIPE_SRC_BOOK_H
#define COINPIPE_SRC_BOOK_H

#include <stdbool.h>
#include <stddef.h>

#define SU_BOOK_TEXT 40 /* room for a level's price or size text, NUL included */

typedef struct su_book_level {
    double px;
    char price[SU_BOOK_TEXT], size[SU_BOOK_TEXT];
} su_book_level;

typedef struct su_side {
    su_book_level *v;
    size_t n, cap;
    size_t max; /* levels kept at most (the deepest go first); 0: no bound */
    bool desc;  /* bids: best (highest) first */
} su_side;

/* Sets the level at price `px` to `size` (qty > 0), or removes it (qty == 0). `price` and `size`
 * are the texts of px and qty, NUL-terminated and shorter than SU_BOOK_TEXT (the caller checks
 * them). A new level deeper than `max` is not kept. False only when out of memory. */
bool su_side_set(su_side *s, double px, double qty, const char *price, const char *size);

/* Frees the levels; the side is empty and usable again. */
void su_side_free(su_side *s);

#endif
