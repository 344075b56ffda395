/* One side of a local order book (see book.h).
 * SPDX-License-Identifier: MIT */
#include "common/book.h"

#include <stdlib.h>
#include <string.h>

/* where px is, or would go, in s (best first) */
static size_t side_find(const su_side *s, double px, bool *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        double m = s->v[mid].px;
        if (m == px) {
            *found = true;
            return mid;
        }
        if (s->desc ? m > px : m < px)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

bool su_side_set(su_side *s, double px, double qty, const char *price, const char *size)
{
    bool found;
    size_t i = side_find(s, px, &found);
    if (qty == 0) {
        if (found) {
            memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
            s->n--;
        }
        return true;
    }
    if (!found) {
        if (s->max && i >= s->max)
            return true; /* deeper than what is kept */
        if (s->max && s->n == s->max)
            s->n--; /* the deepest level goes */
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 64;
            su_book_level *v = realloc(s->v, cap * sizeof *v);
            if (!v)
                return false;
            s->v = v, s->cap = cap;
        }
        memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
        s->n++;
        s->v[i].px = px;
    }
    memcpy(s->v[i].price, price, strlen(price) + 1);
    memcpy(s->v[i].size, size, strlen(size) + 1);
    return true;
}

void su_side_free(su_side *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
