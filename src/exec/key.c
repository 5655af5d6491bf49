/* key.c - action keys, XXH3-128 over a tagged, length-prefixed encoding so
 * that no two different actions can produce the same byte stream. */
#include "exec/key.h"

#include <assert.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define KEY_FORMAT "vlbuild-action-key-1"

static void add_string(XXH3_state_t *st, const char *s)
{
    uint64_t n = strlen(s);
    XXH3_128bits_update(st, &n, sizeof n);
    XXH3_128bits_update(st, s, n);
}

static struct vl_hash digest(XXH3_state_t *st)
{
    struct vl_hash out;
    XXH128_canonicalFromHash((XXH128_canonical_t *)out.bytes, XXH3_128bits_digest(st));
    return out;
}

struct vl_hash vl_key_definition(const struct vl_edge *e)
{
    XXH3_state_t st;
    XXH3_128bits_reset(&st);
    add_string(&st, KEY_FORMAT);
    const struct vl_rule_decl *r = e->rule;
    if (r->kind == VL_RULE_RUN) {
        add_string(&st, "run");
        add_string(&st, e->command);
    } else {
        struct vl_strbuf params = VL_STRBUF_INIT;
        vl_params_canonical(&r->values, &params);
        add_string(&st, "do");
        add_string(&st, r->def->name);
        uint64_t version = (uint64_t)r->def->version, copy = (uint64_t)e->copy;
        XXH3_128bits_update(&st, &version, sizeof version);
        XXH3_128bits_update(&st, &copy, sizeof copy);
        add_string(&st, params.buf);
        vl_strbuf_release(&params);
    }
    uint64_t n = e->n_outputs;
    XXH3_128bits_update(&st, &n, sizeof n);
    for (size_t i = 0; i < e->n_outputs; i++) add_string(&st, e->outputs[i]->path);
    n = e->n_inputs;
    XXH3_128bits_update(&st, &n, sizeof n);
    for (size_t i = 0; i < e->n_inputs; i++) add_string(&st, e->inputs[i]->path);
    return digest(&st);
}

struct vl_hash vl_key_action(const struct vl_edge *e, const struct vl_hash *definition)
{
    XXH3_state_t st;
    XXH3_128bits_reset(&st);
    XXH3_128bits_update(&st, definition->bytes, sizeof definition->bytes);
    for (size_t i = 0; i < e->n_inputs; i++) {
        assert(e->inputs[i]->hash_known);
        XXH3_128bits_update(&st, e->inputs[i]->hash.bytes, sizeof e->inputs[i]->hash.bytes);
    }
    return digest(&st);
}
