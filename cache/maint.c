/* maint.c - `vlbuild cache stats | gc --max-size SIZE | verify` on the local
 * store (layout: local.c).
 *
 * gc evicts in least-recently-used order: an entry's last use is its mtime
 * (set when stored and on every restore); a blob goes when the last entry
 * naming it goes.  Blobs no entry names (a store that died between its blobs
 * and its entry, or a race with another gc) are evicted by their own mtime,
 * but never within ORPHAN_GRACE_S of being written, since a store that is
 * running writes its blobs before its entry.  Damaged entries and entries
 * whose blobs are gone are removed first: they can only miss.
 *
 * What concurrent users see: gc and verify only unlink complete files, so a
 * reader that already opened (or linked) a file keeps a whole one, and a
 * reader that comes later misses.  A store racing with gc may re-use a blob
 * that gc then removes; its entry then misses on its next lookup (a warning
 * and a rebuild, never a wrong file) and is replaced when the action is
 * stored again. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/entry.h"
#include "cache/local.h"
#include "util/size.h"
#include "util/strbuf.h"

#define ORPHAN_GRACE_S 600
#define STALE_TMP_S 3600

struct blob_info {
    struct vl_hash hash;
    uint64_t size;
    int64_t mtime_ns;
    size_t refs;
    int gone;
};

struct entry_info {
    char *path; /* owned */
    uint64_t size;
    int64_t mtime_ns;
    struct vl_cache_entry entry; /* empty when damaged */
    int damaged, gone;
    int dangling; /* 1: a blob is missing; 2: an output's size is not its blob's */
};

struct scan {
    struct blob_info *blobs; /* sorted by hash */
    size_t n_blobs, cap_blobs;
    struct entry_info *entries;
    size_t n_entries, cap_entries;
    size_t n_tmp;
    uint64_t tmp_bytes;
};

static int64_t mtime_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Calls fn for every regular file DIR/kind/HH/<32 hex>. */
static void each_hashed_file(const char *dir, const char *kind,
                             void (*fn)(struct scan *, const char *, const struct vl_hash *,
                                        const struct stat *),
                             struct scan *s)
{
    struct vl_strbuf top = VL_STRBUF_INIT, path = VL_STRBUF_INIT;
    vl_strbuf_addf(&top, "%s/%s", dir, kind);
    DIR *d = opendir(top.buf);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strlen(de->d_name) != 2 || de->d_name[0] == '.') continue;
        vl_strbuf_reset(&path);
        vl_strbuf_addf(&path, "%s/%s", top.buf, de->d_name);
        DIR *sub = opendir(path.buf);
        struct dirent *fe;
        while (sub && (fe = readdir(sub))) {
            struct vl_hash h;
            if (vl_hash_parse(fe->d_name, &h) < 0) continue;
            struct vl_strbuf file = VL_STRBUF_INIT;
            vl_strbuf_addf(&file, "%s/%s", path.buf, fe->d_name);
            struct stat st;
            if (lstat(file.buf, &st) == 0 && S_ISREG(st.st_mode)) fn(s, file.buf, &h, &st);
            vl_strbuf_release(&file);
        }
        if (sub) closedir(sub);
    }
    if (d) closedir(d);
    vl_strbuf_release(&top);
    vl_strbuf_release(&path);
}

static void add_blob(struct scan *s, const char *path, const struct vl_hash *h,
                     const struct stat *st)
{
    if (s->n_blobs == s->cap_blobs) {
        s->cap_blobs = s->cap_blobs ? 2 * s->cap_blobs : 256;
        s->blobs = realloc(s->blobs, s->cap_blobs * sizeof *s->blobs);
        if (!s->blobs) abort();
    }
    s->blobs[s->n_blobs++] = (struct blob_info){*h, (uint64_t)st->st_size, mtime_of(st), 0, 0};
}

static void add_entry(struct scan *s, const char *path, const struct vl_hash *h,
                      const struct stat *st)
{
    if (s->n_entries == s->cap_entries) {
        s->cap_entries = s->cap_entries ? 2 * s->cap_entries : 256;
        s->entries = realloc(s->entries, s->cap_entries * sizeof *s->entries);
        if (!s->entries) abort();
    }
    struct entry_info *e = &s->entries[s->n_entries++];
    memset(e, 0, sizeof *e);
    e->path = strdup(path);
    if (!e->path) abort();
    e->size = (uint64_t)st->st_size;
    e->mtime_ns = mtime_of(st);
    char *data;
    size_t n;
    struct vl_error err;
    if (vl_cache_local_read_entry_file(path, &data, &n, &err) < 0) {
        e->damaged = 1;
        return;
    }
    e->damaged = vl_cache_entry_parse(data, n, &e->entry, &err) < 0;
    free(data);
}

static int compare_blobs(const void *a, const void *b)
{
    return memcmp(((const struct blob_info *)a)->hash.bytes,
                  ((const struct blob_info *)b)->hash.bytes, 16);
}

static struct blob_info *find_blob(struct scan *s, const struct vl_hash *h)
{
    struct blob_info key = {.hash = *h};
    return bsearch(&key, s->blobs, s->n_blobs, sizeof *s->blobs, compare_blobs);
}

/* Counts references from live entries and marks dangling ones. */
static void link_entries(struct scan *s)
{
    for (size_t i = 0; i < s->n_blobs; i++)
        s->blobs[i].refs = 0;
    for (size_t i = 0; i < s->n_entries; i++) {
        struct entry_info *e = &s->entries[i];
        e->dangling = 0;
        if (e->damaged || e->gone) continue;
        for (size_t j = 0; j < e->entry.n; j++) {
            struct blob_info *b = find_blob(s, &e->entry.outputs[j].hash);
            if (!b || b->gone)
                e->dangling = 1;
            else if (b->size != e->entry.outputs[j].size && !e->dangling)
                e->dangling = 2; /* can only miss; the blob itself is fine */
        }
        if (e->dangling) continue;
        for (size_t j = 0; j < e->entry.n; j++)
            find_blob(s, &e->entry.outputs[j].hash)->refs++;
    }
}

static void scan_tmp(const char *dir, struct scan *s, int remove_stale, size_t *removed)
{
    struct vl_strbuf top = VL_STRBUF_INIT;
    vl_strbuf_addf(&top, "%s/tmp", dir);
    DIR *d = opendir(top.buf);
    struct dirent *de;
    time_t now = time(NULL);
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        struct vl_strbuf file = VL_STRBUF_INIT;
        vl_strbuf_addf(&file, "%s/%s", top.buf, de->d_name);
        struct stat st;
        if (lstat(file.buf, &st) == 0 && S_ISREG(st.st_mode)) {
            if (remove_stale && now - st.st_mtim.tv_sec > STALE_TMP_S && unlink(file.buf) == 0) {
                (*removed)++;
            } else {
                s->n_tmp++;
                s->tmp_bytes += (uint64_t)st.st_size;
            }
        }
        vl_strbuf_release(&file);
    }
    if (d) closedir(d);
    vl_strbuf_release(&top);
}

static void scan_store(const char *dir, struct scan *s)
{
    memset(s, 0, sizeof *s);
    each_hashed_file(dir, "cas", add_blob, s);
    qsort(s->blobs, s->n_blobs, sizeof *s->blobs, compare_blobs);
    each_hashed_file(dir, "ac", add_entry, s);
    link_entries(s);
}

static void scan_free(struct scan *s)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        free(s->entries[i].path);
        vl_cache_entry_free(&s->entries[i].entry);
    }
    free(s->entries);
    free(s->blobs);
}

static void format_size(uint64_t n, char out[32])
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    if (u == 0)
        snprintf(out, 32, "%" PRIu64 " B", n);
    else
        snprintf(out, 32, "%.1f %s", v, units[u]);
}


static void read_counters(const char *dir, struct vl_cache_counters *k)
{
    memset(k, 0, sizeof *k);
    struct vl_strbuf path = VL_STRBUF_INIT;
    vl_strbuf_addf(&path, "%s/stats.log", dir);
    FILE *f = fopen(path.buf, "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long h, r, m, st;
        if (sscanf(line, "v1 %lu %lu %lu %lu", &h, &r, &m, &st) != 4) continue;
        k->hits += h;
        k->remote_hits += r;
        k->misses += m;
        k->stores += st;
    }
    if (f) fclose(f);
    vl_strbuf_release(&path);
}

static int cmd_stats(const struct vl_cache_local *l)
{
    const char *dir = l->dir;
    struct scan s;
    scan_store(dir, &s);
    size_t tmp_removed = 0;
    scan_tmp(dir, &s, 0, &tmp_removed);
    uint64_t blob_bytes = 0, entry_bytes = 0;
    for (size_t i = 0; i < s.n_blobs; i++)
        blob_bytes += s.blobs[i].size;
    size_t damaged = 0, dangling = 0, orphans = 0;
    int64_t oldest = 0, newest = 0;
    for (size_t i = 0; i < s.n_entries; i++) {
        const struct entry_info *e = &s.entries[i];
        entry_bytes += e->size;
        damaged += e->damaged != 0;
        dangling += e->dangling != 0;
        if (!oldest || e->mtime_ns < oldest) oldest = e->mtime_ns;
        if (e->mtime_ns > newest) newest = e->mtime_ns;
    }
    for (size_t i = 0; i < s.n_blobs; i++)
        orphans += s.blobs[i].refs == 0;
    struct vl_cache_counters k;
    read_counters(dir, &k);
    char total[32], blobs[32], tmp[32];
    format_size(blob_bytes + entry_bytes, total);
    format_size(blob_bytes, blobs);
    format_size(s.tmp_bytes, tmp);
    printf("cache:        %s (layout %d)\n", dir, VL_CACHE_LAYOUT_VERSION);
    printf("size:         %s (%" PRIu64 " bytes)\n", total, blob_bytes + entry_bytes);
    printf("entries:      %zu (%zu damaged, %zu with missing blobs)\n", s.n_entries, damaged,
           dangling);
    printf("blobs:        %zu, %s (%zu named by no entry)\n", s.n_blobs, blobs, orphans);
    printf("temporary:    %zu files, %s\n", s.n_tmp, tmp);
    if (s.n_entries) {
        time_t now = time(NULL);
        printf("last used:    %.1f h ago (newest), %.1f h ago (oldest)\n",
               (double)(now - newest / 1000000000) / 3600,
               (double)(now - oldest / 1000000000) / 3600);
    }
    unsigned long lookups = k.hits + k.misses;
    printf("lookups:      %lu: %lu hits (%lu remote), %lu misses", lookups, k.hits, k.remote_hits,
           k.misses);
    if (lookups) printf(", %.1f%% hit rate", 100.0 * (double)k.hits / (double)lookups);
    printf("\nstores:       %lu\n", k.stores);
    scan_free(&s);
    return 0;
}

struct victim {
    int64_t time_ns;
    int is_entry;
    size_t index;
};

static int compare_victims(const void *a, const void *b)
{
    const struct victim *x = a, *y = b;
    return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

static int cmd_gc(const struct vl_cache_local *l, uint64_t max_size)
{
    const char *dir = l->dir;
    struct scan s;
    scan_store(dir, &s);
    size_t tmp_removed = 0, entries_removed = 0, blobs_removed = 0;
    uint64_t bytes_removed = 0, total = 0;
    scan_tmp(dir, &s, 1, &tmp_removed);
    for (size_t i = 0; i < s.n_blobs; i++)
        total += s.blobs[i].size;
    for (size_t i = 0; i < s.n_entries; i++)
        total += s.entries[i].size;

    /* Entries that can only miss go first, whatever the size. */
    for (size_t i = 0; i < s.n_entries; i++) {
        struct entry_info *e = &s.entries[i];
        if ((e->damaged || e->dangling) && unlink(e->path) == 0) {
            e->gone = 1;
            entries_removed++;
            bytes_removed += e->size;
            total -= e->size;
        }
    }
    link_entries(&s);

    struct victim *v = calloc(s.n_entries + s.n_blobs + 1, sizeof *v);
    if (!v) abort();
    size_t n = 0;
    int64_t grace_end = vl_now_ns() - (int64_t)ORPHAN_GRACE_S * 1000000000;
    for (size_t i = 0; i < s.n_entries; i++)
        if (!s.entries[i].gone) v[n++] = (struct victim){s.entries[i].mtime_ns, 1, i};
    for (size_t i = 0; i < s.n_blobs; i++)
        if (s.blobs[i].refs == 0 && s.blobs[i].mtime_ns < grace_end)
            v[n++] = (struct victim){s.blobs[i].mtime_ns, 0, i};
    qsort(v, n, sizeof *v, compare_victims);

    for (size_t i = 0; i < n && total > max_size; i++) {
        if (!v[i].is_entry) {
            struct blob_info *b = &s.blobs[v[i].index];
            struct vl_strbuf path = VL_STRBUF_INIT;
            vl_cache_local_blob_path(l, &b->hash, &path);
            if (!b->gone && b->refs == 0 && unlink(path.buf) == 0) {
                b->gone = 1;
                blobs_removed++;
                bytes_removed += b->size;
                total -= b->size;
            }
            vl_strbuf_release(&path);
            continue;
        }
        struct entry_info *e = &s.entries[v[i].index];
        if (unlink(e->path) != 0) continue;
        e->gone = 1;
        entries_removed++;
        bytes_removed += e->size;
        total -= e->size;
        for (size_t j = 0; j < e->entry.n; j++) {
            struct blob_info *b = find_blob(&s, &e->entry.outputs[j].hash);
            if (!b || b->gone || --b->refs > 0) continue;
            struct vl_strbuf path = VL_STRBUF_INIT;
            vl_cache_local_blob_path(l, &b->hash, &path);
            if (unlink(path.buf) == 0) {
                blobs_removed++;
                bytes_removed += b->size;
                total -= b->size;
            }
            b->gone = 1;
            vl_strbuf_release(&path);
        }
    }
    char removed[32], left[32], limit[32];
    format_size(bytes_removed, removed);
    format_size(total, left);
    format_size(max_size, limit);
    printf("removed %zu entries, %zu blobs (%s) and %zu stale temporary files; %s left "
           "(limit %s)\n",
           entries_removed, blobs_removed, removed, tmp_removed, left, limit);
    free(v);
    scan_free(&s);
    return 0;
}

static int cmd_verify(const struct vl_cache_local *l)
{
    const char *dir = l->dir;
    struct scan s;
    scan_store(dir, &s);
    size_t bad_blobs = 0, bad_entries = 0;
    struct vl_strbuf path = VL_STRBUF_INIT;
    for (size_t i = 0; i < s.n_blobs; i++) {
        struct blob_info *b = &s.blobs[i];
        vl_strbuf_reset(&path);
        vl_cache_local_blob_path(l, &b->hash, &path);
        struct vl_hash got;
        struct vl_error err;
        if (vl_hash_file(path.buf, &got, &err) < 0) {
            if (access(path.buf, F_OK) != 0) continue; /* removed meanwhile (gc) */
            printf("unreadable blob %s: %s; removed it\n", path.buf, err.msg);
        } else if (!vl_hash_equal(&got, &b->hash)) {
            char hex[33];
            vl_hash_hex(&got, hex);
            printf("damaged blob %s: its content hashes to %s; removed it\n", path.buf, hex);
        } else {
            continue;
        }
        unlink(path.buf);
        b->gone = 1;
        bad_blobs++;
    }
    link_entries(&s);
    for (size_t i = 0; i < s.n_entries; i++) {
        struct entry_info *e = &s.entries[i];
        if (!e->damaged && !e->dangling) continue;
        printf("%s entry %s; removed it\n",
               e->damaged         ? "damaged"
               : e->dangling == 2 ? "wrong-size (an output's size is not its blob's)"
                                  : "incomplete (blob missing)",
               e->path);
        unlink(e->path);
        bad_entries++;
    }
    printf("verified %zu blobs and %zu entries: %zu damaged blobs, %zu bad entries removed\n",
           s.n_blobs, s.n_entries, bad_blobs, bad_entries);
    vl_strbuf_release(&path);
    scan_free(&s);
    return bad_blobs || bad_entries ? 1 : 0;
}

static const char usage[] = "usage: vlbuild cache stats | gc --max-size SIZE | verify\n";

int vl_cache_command(int argc, char **argv, const struct vl_cache_options *o)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *sub = argv[1];
    uint64_t max_size = 0;
    int have_max = 0;
    for (int i = 2; i < argc; i++) {
        const char *value = NULL;
        if (!strcmp(argv[i], "--max-size") && i + 1 < argc)
            value = argv[++i];
        else if (!strncmp(argv[i], "--max-size=", 11))
            value = argv[i] + 11;
        if (!value || strcmp(sub, "gc") != 0) {
            fprintf(stderr, "vlbuild cache %s: unexpected argument %s\n%s", sub, argv[i], usage);
            return 2;
        }
        if (vl_parse_size(value, &max_size) < 0) {
            fprintf(stderr, "vlbuild cache gc: bad size %s (e.g. 500M, 20G)\n", value);
            return 2;
        }
        have_max = 1;
    }
    int is_gc = !strcmp(sub, "gc");
    if (strcmp(sub, "stats") != 0 && !is_gc && strcmp(sub, "verify") != 0) {
        fprintf(stderr, "vlbuild cache: unknown command %s\n%s", sub, usage);
        return 2;
    }
    if (is_gc && !have_max) {
        fprintf(stderr, "vlbuild cache gc: --max-size SIZE is required\n%s", usage);
        return 2;
    }
    const char *dir = o && o->dir ? o->dir : ".vlbuild/cache";
    struct vl_cache_local l;
    struct vl_error err;
    int missing;
    if (vl_cache_local_open(&l, dir, 0, &missing, &err) < 0) {
        if (missing) {
            printf("no cache in %s yet\n", dir);
            return 0;
        }
        fprintf(stderr, "vlbuild: error: %s\n", err.msg);
        return 1;
    }
    int rc = !strcmp(sub, "stats") ? cmd_stats(&l) : is_gc ? cmd_gc(&l, max_size) : cmd_verify(&l);
    vl_cache_local_close(&l);
    fflush(stdout);
    return rc;
}
