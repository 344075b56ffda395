/* Unit tests of the core's small helpers (core/util.c): the process's malloc settings.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#if defined(__GLIBC__) && !defined(UNDER_ASAN) && __GLIBC_PREREQ(2, 33)
/* a block the compiler cannot drop: every page written */
static void *touch(size_t n)
{
    char *p = malloc(n);
    assert_non_null(p);
    memset(p, 1, n);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

static size_t mapped_blocks(void) { return mallinfo2().hblks; }
#endif

/* After core_util_tune_memory, a 3 MiB block comes from the heap (glibc's own threshold, raised
 * to 2 MiB by the 2 MiB block freed first, would map it), a 5 MiB one is still mapped, and 6 MiB
 * freed at the heap's top stay there (glibc would give back what passes twice its threshold).
 * Settings in the environment win: then nothing is changed. */
static void test_tune_memory(void **state)
{
    (void)state;
#if defined(__GLIBC__) && !defined(UNDER_ASAN) && __GLIBC_PREREQ(2, 33)
    unsetenv("MALLOC_MMAP_THRESHOLD_");
    unsetenv("MALLOC_TRIM_THRESHOLD_");
    unsetenv("MALLOC_TOP_PAD_");
    setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2", 1);
    assert_false(core_util_tune_memory());
    unsetenv("GLIBC_TUNABLES");

    size_t m0 = mapped_blocks();
    void *p = touch(2u << 20);
    assert_int_equal(mapped_blocks(), m0 + 1); /* glibc's default: a block this big is mapped */
    free(p);

    assert_true(core_util_tune_memory());
    m0 = mapped_blocks();
    void *a = touch(3u << 20), *b = touch(3u << 20);
    assert_int_equal(mapped_blocks(), m0); /* from the heap */
    void *big = touch(5u << 20);
    assert_int_equal(mapped_blocks(), m0 + 1); /* past 4 MiB: a mapping of its own */
    free(big);
    assert_int_equal(mapped_blocks(), m0);
    free(b);
    free(a);
    assert_true(mallinfo2().keepcost >= (6u << 20)); /* kept at the top, not trimmed */
#else
    skip(); /* ASan's allocator or another libc: mallopt has nothing to tune */
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tune_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
