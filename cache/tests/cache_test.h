/* cache_test.h - helpers shared by the cache tests: a fresh directory per
 * test, small files, a warning collector and stdout capture.  Each test is a
 * process of its own (ctest), so these keep their state in statics. */
#ifndef VL_CACHE_TEST_H
#define VL_CACHE_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache/cache.h"
#include "test.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* Makes $VL_TEST_TMP/<name>.<pid> (fresh), chdirs into it and returns its
 * absolute path (static storage). */
static __attribute__((unused)) const char *test_dir(const char *name)
{
    static char path[4096];
    const char *base = getenv("VL_TEST_TMP");
    snprintf(path, sizeof path, "%s/%s.%ld", base && *base ? base : "/tmp", name, (long)getpid());
    struct vl_strbuf cmd = VL_STRBUF_INIT;
    vl_strbuf_addf(&cmd, "rm -rf '%s'", path);
    if (system(cmd.buf) != 0) abort();
    vl_strbuf_release(&cmd);
    struct vl_error err;
    if (vl_mkdir_p(path, &err) < 0 || chdir(path) != 0) {
        fprintf(stderr, "cannot make %s\n", path);
        exit(1);
    }
    return path;
}

static __attribute__((unused)) void remove_test_dir(const char *path)
{
    if (chdir("/") != 0) abort();
    struct vl_strbuf cmd = VL_STRBUF_INIT;
    vl_strbuf_addf(&cmd, "chmod -R u+w '%s'; rm -rf '%s'", path, path);
    if (system(cmd.buf) != 0) fprintf(stderr, "cannot remove %s\n", path);
    vl_strbuf_release(&cmd);
}

/* Writes text to path (creating parents) and returns its fingerprint. */
static __attribute__((unused)) struct vl_hash put_file(const char *path, const char *text)
{
    struct vl_error err;
    if (vl_mkdir_parents(path, &err) < 0) abort();
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
    return vl_hash_bytes(text, strlen(text));
}

/* The content of path (static storage), or "" when unreadable. */
static __attribute__((unused)) const char *file_text(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return buf;
}

/* DIR/kind/HH/<hex of h>, a file of the store (static storage: one at a time). */
static __attribute__((unused)) const char *store_path(const char *dir, const char *kind,
                                                      const struct vl_hash *h)
{
    static struct vl_strbuf sb = VL_STRBUF_INIT;
    char hex[33];
    vl_hash_hex(h, hex);
    vl_strbuf_reset(&sb);
    vl_strbuf_addf(&sb, "%s/%s/%.2s/%s", dir, kind, hex, hex);
    return sb.buf;
}

/* The permission bits of path, or 0xffff when it cannot be stat'ed. */
static __attribute__((unused)) unsigned mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)st.st_mode & 07777 : 0xffff;
}

/* How many files are under dir (find -type f), or -1. */
static __attribute__((unused)) int count_files(const char *dir)
{
    struct vl_strbuf cmd = VL_STRBUF_INIT;
    vl_strbuf_addf(&cmd, "find '%s' -type f | wc -l", dir);
    FILE *p = popen(cmd.buf, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    vl_strbuf_release(&cmd);
    return n;
}

/* A path under the test directory (malloc'd; tests do not bother to free). */
static __attribute__((unused)) char *sub_path(const char *root, const char *name)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    vl_strbuf_addf(&sb, "%s/%s", root, name);
    return vl_strbuf_detach(&sb, NULL);
}

static __attribute__((unused)) struct vl_hash key_of(const char *s)
{
    return vl_hash_bytes(s, strlen(s));
}

/* The warnings the cache gave, joined by newlines. */
static struct vl_strbuf warnings = VL_STRBUF_INIT;

static __attribute__((unused)) void collect_warning(void *ctx, const char *msg)
{
    (void)ctx;
    vl_strbuf_adds(&warnings, msg);
    vl_strbuf_addch(&warnings, '\n');
}

/* Options for a store in dir that collect warnings. */
static __attribute__((unused)) struct vl_cache_options options_for(const char *dir)
{
    struct vl_cache_options o;
    vl_cache_options_init(&o);
    o.dir = dir;
    o.remote_url = NULL;
    o.remote_readonly = 0;
    o.warn = collect_warning;
    return o;
}

static __attribute__((unused)) struct vl_cache *open_cache(const struct vl_cache_options *o)
{
    struct vl_cache *c;
    struct vl_error err;
    if (vl_cache_open(o, &c, &err) < 0) {
        fprintf(stderr, "vl_cache_open: %s\n", err.msg);
        exit(1);
    }
    return c;
}

/* Runs vl_cache_command with the given words, capturing stdout into *out
 * (static storage); returns the exit status. */
static __attribute__((unused)) int run_command(const struct vl_cache_options *o, const char **out,
                                               const char *w1, const char *w2, const char *w3)
{
    static char buf[1 << 16];
    char *argv[] = {"cache", (char *)w1, (char *)w2, (char *)w3, NULL};
    int argc = w3 ? 4 : w2 ? 3 : 2;
    fflush(stdout);
    int saved = dup(1);
    FILE *tmp = tmpfile();
    if (!tmp || saved < 0) abort();
    dup2(fileno(tmp), 1);
    int rc = vl_cache_command(argc, argv, o);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(tmp);
    size_t n = fread(buf, 1, sizeof buf - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    *out = buf;
    return rc;
}

#endif
