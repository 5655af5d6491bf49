/* test_cuda_nn_cache.c - the CUDA backend's shape cache (src/cuda/nn/shape_cache.h), the store of
 * gemm.cu's cuBLASLt plans and conv.cu's cuDNN plans, on the host: lookups by key bytes, least
 * recently used eviction handing the value back, draining, and the find-or-make lookup the
 * backend uses. */
#include <stdint.h>
#include <string.h>

#include "cuda/nn/shape_cache.h"
#include "test.h"

struct shape {
    int32_t m, n, k, trans;
};

static struct shape shape_of(int m, int n, int k, int trans)
{
    struct shape s;
    memset(&s, 0, sizeof s);
    s.m = m;
    s.n = n;
    s.k = k;
    s.trans = trans;
    return s;
}

static struct vl_cuda_nn_cache cache; /* large: static, as the backend keeps it on the heap */
static int values[8];

static void test_find_returns_what_was_put(void)
{
    vl_cuda_nn_cache_init(&cache, sizeof(struct shape), 4);
    struct shape a = shape_of(4, 5, 6, 0), b = shape_of(4, 5, 6, 1);
    CHECK(vl_cuda_nn_cache_find(&cache, &a) == NULL);
    CHECK(vl_cuda_nn_cache_put(&cache, &a, &values[0]) == NULL);
    CHECK(vl_cuda_nn_cache_put(&cache, &b, &values[1]) == NULL);
    CHECK(vl_cuda_nn_cache_find(&cache, &a) == &values[0]);
    CHECK(vl_cuda_nn_cache_find(&cache, &b) == &values[1]);
    struct shape c = shape_of(4, 5, 7, 0);
    CHECK(vl_cuda_nn_cache_find(&cache, &c) == NULL);
    CHECK(cache.count == 2);
}

static void test_full_cache_evicts_least_recently_used(void)
{
    vl_cuda_nn_cache_init(&cache, sizeof(struct shape), 3);
    struct shape s[4];
    for (int i = 0; i < 4; i++)
        s[i] = shape_of(i + 1, 2, 3, 0);
    for (int i = 0; i < 3; i++)
        CHECK(vl_cuda_nn_cache_put(&cache, &s[i], &values[i]) == NULL);
    /* s[0] used again: s[1] is now the least recent */
    CHECK(vl_cuda_nn_cache_find(&cache, &s[0]) == &values[0]);
    CHECK(vl_cuda_nn_cache_put(&cache, &s[3], &values[3]) == &values[1]);
    CHECK(vl_cuda_nn_cache_find(&cache, &s[1]) == NULL);
    CHECK(vl_cuda_nn_cache_find(&cache, &s[0]) == &values[0]);
    CHECK(vl_cuda_nn_cache_find(&cache, &s[2]) == &values[2]);
    CHECK(vl_cuda_nn_cache_find(&cache, &s[3]) == &values[3]);
    CHECK(cache.count == 3);
}

static void test_pop_drains_every_value_once(void)
{
    vl_cuda_nn_cache_init(&cache, sizeof(struct shape), 5);
    for (int i = 0; i < 5; i++) {
        struct shape s = shape_of(7, i, 1, 1);
        vl_cuda_nn_cache_put(&cache, &s, &values[i]);
    }
    int seen[5] = {0};
    void *v;
    int popped = 0;
    while ((v = vl_cuda_nn_cache_pop(&cache)) != NULL) {
        int i = (int)((int *)v - values);
        CHECK(i >= 0 && i < 5);
        if (i >= 0 && i < 5) seen[i]++;
        popped++;
    }
    CHECK(popped == 5);
    for (int i = 0; i < 5; i++)
        CHECK(seen[i] == 1);
    CHECK(cache.count == 0);
    struct shape s = shape_of(7, 0, 1, 1);
    CHECK(vl_cuda_nn_cache_find(&cache, &s) == NULL);
    /* the freed entries are reused without eviction */
    CHECK(vl_cuda_nn_cache_put(&cache, &s, &values[0]) == NULL);
}

static void test_keys_compare_all_their_bytes(void)
{
    /* a key as long as the cache allows, differing only in its last byte */
    unsigned char a[VL_CUDA_NN_CACHE_KEY_MAX], b[VL_CUDA_NN_CACHE_KEY_MAX];
    memset(a, 9, sizeof a);
    memcpy(b, a, sizeof b);
    b[sizeof b - 1] = 10;
    vl_cuda_nn_cache_init(&cache, sizeof a, 2);
    vl_cuda_nn_cache_put(&cache, a, &values[0]);
    CHECK(vl_cuda_nn_cache_find(&cache, b) == NULL);
    vl_cuda_nn_cache_put(&cache, b, &values[1]);
    CHECK(vl_cuda_nn_cache_find(&cache, a) == &values[0]);
    CHECK(vl_cuda_nn_cache_find(&cache, b) == &values[1]);
}

/* make and destroy for vl_cuda_nn_cache_get: values[] handed out in turn, -1 making nothing */
struct maker {
    int next, made, destroyed;
    void *last_destroyed;
};

static void *make_value(void *context, const void *key)
{
    struct maker *mk = (struct maker *)context;
    (void)key;
    if (mk->next < 0) return NULL;
    mk->made++;
    return &values[mk->next++];
}

static struct maker *destroying; /* destroy takes no context: the test's maker */

static void destroy_value(void *value)
{
    destroying->destroyed++;
    destroying->last_destroyed = value;
}

static void test_get_makes_once_and_destroys_what_it_evicts(void)
{
    struct maker mk = {0, 0, 0, NULL};
    destroying = &mk;
    vl_cuda_nn_cache_init(&cache, sizeof(struct shape), 2);
    struct shape a = shape_of(1, 1, 1, 0), b = shape_of(2, 1, 1, 0), c = shape_of(3, 1, 1, 0);
    CHECK(vl_cuda_nn_cache_get(&cache, &a, make_value, destroy_value, &mk) == &values[0]);
    CHECK(vl_cuda_nn_cache_get(&cache, &a, make_value, destroy_value, &mk) == &values[0]);
    CHECK(mk.made == 1);
    CHECK(vl_cuda_nn_cache_get(&cache, &b, make_value, destroy_value, &mk) == &values[1]);
    CHECK(mk.destroyed == 0);
    /* a used after b: c evicts b */
    CHECK(vl_cuda_nn_cache_get(&cache, &a, make_value, destroy_value, &mk) == &values[0]);
    CHECK(vl_cuda_nn_cache_get(&cache, &c, make_value, destroy_value, &mk) == &values[2]);
    CHECK(mk.destroyed == 1 && mk.last_destroyed == &values[1]);
    CHECK(mk.made == 3);
}

static void test_get_stores_nothing_when_make_fails(void)
{
    struct maker mk = {-1, 0, 0, NULL};
    destroying = &mk;
    vl_cuda_nn_cache_init(&cache, sizeof(struct shape), 2);
    struct shape a = shape_of(1, 2, 3, 1);
    CHECK(vl_cuda_nn_cache_get(&cache, &a, make_value, destroy_value, &mk) == NULL);
    CHECK(cache.count == 0);
    mk.next = 4;
    CHECK(vl_cuda_nn_cache_get(&cache, &a, make_value, destroy_value, &mk) == &values[4]);
    CHECK(mk.made == 1 && mk.destroyed == 0);
}

int main(void)
{
    test_find_returns_what_was_put();
    test_full_cache_evicts_least_recently_used();
    test_pop_drains_every_value_once();
    test_keys_compare_all_their_bytes();
    test_get_makes_once_and_destroys_what_it_evicts();
    test_get_stores_nothing_when_make_fails();
    TEST_DONE();
}
