/* remote.c - the remote cache client, over HTTP(S) with libcurl.
 *
 * Protocol: the path layout of Bazel's HTTP cache under the base URL, so any
 * server that stores what is PUT and serves it back (nginx with its WebDAV
 * module, a bucket behind a proxy) will do:
 *
 *   GET  BASE/ac/<key>      the action entry of key (32 hex digits), in
 *                           vlbuild's own text format (entry.c), not Bazel's
 *                           ActionResult protobuf
 *   PUT  BASE/ac/<key>      stores it; sent only after all its blobs
 *   HEAD BASE/cas/<hash>    does the server have this blob?
 *   GET  BASE/cas/<hash>    a blob; <hash> is the 32 hex digits of the
 *                           XXH3-128 of its bytes, not a SHA-256: servers that
 *                           check digests themselves (bazel-remote) refuse it
 *   PUT  BASE/cas/<hash>    stores it
 *
 * 200 is found, 404 absent; PUT accepts any 2xx.  The header line in the
 * environment variable the options name (e.g. "Authorization: Bearer t") is
 * sent with every request.  Each downloaded blob is hashed as it arrives and
 * refused (warning) when its digest differs; a download stops as soon as it
 * passes the size the entry declares (and is refused when shorter), and an
 * entry stops at VL_CACHE_ENTRY_MAX bytes, so a server streaming without end
 * cannot fill the disk or the memory.  A connection failure or a
 * timeout (connect, and total per transfer) disables the remote for the rest
 * of the handle's life with one warning, as do three HTTP errors, so a dead
 * server costs one timeout per run; a rejected upload (401/403) stops
 * uploads.  Transfers run in parallel (up to 8) on a curl multi handle; idle
 * multi handles are kept so connections are reused between calls. */
#include "cache/remote.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/entry.h"
#include "util/strbuf.h"

#define MAX_PARALLEL 8
#define MAX_HTTP_ERRORS 3

struct vl_cache_remote {
    char *base; /* without a trailing slash */
    int readonly;
    long timeout_ms, connect_timeout_ms;
    struct curl_slist *headers;
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
    atomic_int disabled, uploads_refused, http_errors;
    pthread_mutex_t lock; /* guards idle */
    CURLM **idle;
    size_t n_idle, cap_idle;
};

enum method { GET_MEMORY, GET_FILE, HEAD, PUT_FILE, PUT_MEMORY };

struct transfer {
    enum method method;
    char *url;
    struct vl_strbuf body; /* GET_MEMORY */
    int fd;                /* GET_FILE: the destination */
    XXH3_state_t *hash;    /* GET_FILE: of what arrived */
    uint64_t limit, received; /* GET_FILE: the declared size, the bytes so far */
    int too_large;            /* GET_FILE: the server sent more than limit */
    int write_failed;
    FILE *in; /* PUT_FILE */
    curl_off_t in_size;
    const char *data; /* PUT_MEMORY */
    size_t data_n, data_off;
    CURLcode result;
    long status;
    char error[CURL_ERROR_SIZE];
};

__attribute__((format(printf, 2, 3))) static void warnf(struct vl_cache_remote *r, const char *fmt,
                                                        ...)
{
    if (!r->warn) return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->warn(r->warn_ctx, msg);
}

static int remote_open(const struct vl_cache_options *o, struct vl_cache_remote **out,
                         struct vl_error *err)
{
    *out = NULL;
    const char *url = o->remote_url;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return vl_error_set(err, "remote cache %s: not an http:// or https:// url", url);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return vl_error_set(err, "remote cache: cannot initialise libcurl");
    struct vl_cache_remote *r = calloc(1, sizeof *r);
    if (!r) abort();
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    r->base = strndup(url, n);
    if (!r->base) abort();
    r->readonly = o->remote_readonly;
    double total = o->remote_timeout_s > 0 ? o->remote_timeout_s : 60;
    double connect =
        o->remote_connect_timeout_s > 0 ? o->remote_connect_timeout_s : (total < 5 ? total : 5);
    r->timeout_ms = (long)(total * 1000);
    r->connect_timeout_ms = (long)(connect * 1000);
    if (r->timeout_ms < 1) r->timeout_ms = 1;
    if (r->connect_timeout_ms < 1) r->connect_timeout_ms = 1;
    r->warn = o->warn;
    r->warn_ctx = o->warn_ctx;
    /* curl would otherwise send "Expect: 100-continue" and wait for an answer
     * before large uploads */
    r->headers = curl_slist_append(NULL, "Expect:");
    const char *header = o->auth_header_env ? getenv(o->auth_header_env) : NULL;
    if (header && *header) {
        if (!strchr(header, ':'))
            warnf(r, "remote cache: $%s is not a header line (\"Name: value\"); not sending it",
                  o->auth_header_env);
        else
            r->headers = curl_slist_append(r->headers, header);
    }
    if (!r->headers) abort();
    atomic_init(&r->disabled, 0);
    atomic_init(&r->uploads_refused, 0);
    atomic_init(&r->http_errors, 0);
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

static void remote_close(struct vl_cache_remote *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_idle; i++)
        curl_multi_cleanup(r->idle[i]);
    free(r->idle);
    pthread_mutex_destroy(&r->lock);
    curl_slist_free_all(r->headers);
    free(r->base);
    free(r);
    curl_global_cleanup();
}

static int remote_usable(struct vl_cache_remote *r)
{
    return !atomic_load(&r->disabled);
}

static void disable(struct vl_cache_remote *r, const char *why)
{
    if (atomic_exchange(&r->disabled, 1) == 0)
        warnf(r, "remote cache %s: %s; continuing without it", r->base, why);
}

static CURLM *take_multi(struct vl_cache_remote *r)
{
    CURLM *m = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->n_idle) m = r->idle[--r->n_idle];
    pthread_mutex_unlock(&r->lock);
    if (!m) m = curl_multi_init();
    if (!m) abort();
    return m;
}

static void give_multi(struct vl_cache_remote *r, CURLM *m)
{
    pthread_mutex_lock(&r->lock);
    if (r->n_idle == r->cap_idle) {
        r->cap_idle = r->cap_idle ? 2 * r->cap_idle : 4;
        r->idle = realloc(r->idle, r->cap_idle * sizeof *r->idle);
        if (!r->idle) abort();
    }
    r->idle[r->n_idle++] = m;
    pthread_mutex_unlock(&r->lock);
}

static size_t write_memory(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    if (n > VL_CACHE_ENTRY_MAX - t->body.len) return 0; /* an entry is never that large */
    vl_strbuf_add(&t->body, ptr, n);
    return n;
}

static size_t write_file(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    if (n > t->limit - t->received) { /* a short count makes curl abort the transfer */
        t->too_large = 1;
        return 0;
    }
    t->received += n;
    XXH3_128bits_update(t->hash, ptr, n);
    for (size_t done = 0; done < n;) {
        ssize_t w = write(t->fd, ptr + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            t->write_failed = errno;
            return 0;
        }
        done += (size_t)w;
    }
    return n;
}

static size_t read_memory(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nitems, left = t->data_n - t->data_off;
    if (n > left) n = left;
    memcpy(buf, t->data + t->data_off, n);
    t->data_off += n;
    return n;
}

static CURL *make_easy(struct vl_cache_remote *r, struct transfer *t)
{
    CURL *e = curl_easy_init();
    if (!e) abort();
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    /* no redirects: the auth header must not travel to another host */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    switch (t->method) {
    case GET_MEMORY:
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_memory);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
        break;
    case GET_FILE:
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_file);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
        break;
    case HEAD:
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        break;
    case PUT_FILE:
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READDATA, t->in);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, t->in_size);
        break;
    case PUT_MEMORY:
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_memory);
        curl_easy_setopt(e, CURLOPT_READDATA, t);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->data_n);
        break;
    }
    return e;
}

/* Runs the n transfers, MAX_PARALLEL at a time, filling each one's result
 * and status.  A transport failure (connect, timeout) disables the remote and
 * abandons the transfers not yet started (their result: CURLE_ABORTED_BY_CALLBACK). */
static void run_transfers(struct vl_cache_remote *r, struct transfer *t, size_t n)
{
    CURLM *m = take_multi(r);
    size_t next = 0, running = 0;
    for (size_t i = 0; i < n; i++)
        t[i].result = CURLE_ABORTED_BY_CALLBACK;
    while (next < n || running > 0) {
        while (next < n && running < MAX_PARALLEL && !atomic_load(&r->disabled)) {
            curl_multi_add_handle(m, make_easy(r, &t[next++]));
            running++;
        }
        if (running == 0) break;
        int still;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            CURL *e = msg->easy_handle;
            struct transfer *done;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&done);
            done->result = msg->data.result;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &done->status);
            curl_multi_remove_handle(m, e);
            curl_easy_cleanup(e);
            running--;
            switch (done->result) {
            case CURLE_OK:
            case CURLE_WRITE_ERROR: /* ours: a full disk or an oversized entry */
                break;
            default: {
                char why[CURL_ERROR_SIZE + 64];
                snprintf(why, sizeof why, "%s",
                         done->error[0] ? done->error : curl_easy_strerror(done->result));
                disable(r, why);
            }
            }
        }
        if (running > 0) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    give_multi(r, m);
}

static char *make_url(struct vl_cache_remote *r, const char *kind, const struct vl_hash *h)
{
    char hex[33];
    vl_hash_hex(h, hex);
    struct vl_strbuf sb = VL_STRBUF_INIT;
    vl_strbuf_addf(&sb, "%s/%s/%s", r->base, kind, hex);
    return vl_strbuf_detach(&sb, NULL);
}

/* Warns of an unexpected HTTP status, disabling the remote after a few. */
static void http_error(struct vl_cache_remote *r, const char *method, const struct transfer *t)
{
    if (atomic_load(&r->disabled)) return;
    warnf(r, "remote cache: %s %s: HTTP %ld", method, t->url, t->status);
    if (atomic_fetch_add(&r->http_errors, 1) + 1 >= MAX_HTTP_ERRORS) disable(r, "too many errors");
}

static int remote_get_entry(struct vl_cache_remote *r, const struct vl_hash *key, char **data,
                              size_t *n)
{
    if (atomic_load(&r->disabled)) return 0;
    struct transfer t = {.method = GET_MEMORY, .url = make_url(r, "ac", key)};
    t.body = (struct vl_strbuf)VL_STRBUF_INIT;
    run_transfers(r, &t, 1);
    int rc = 0;
    if (t.result == CURLE_OK && t.status == 200) {
        *data = vl_strbuf_detach(&t.body, n);
        rc = 1;
    } else if (t.result == CURLE_WRITE_ERROR) {
        warnf(r, "remote cache: GET %s: the entry is too large; ignoring it", t.url);
    } else if (t.result == CURLE_OK && t.status != 404) {
        http_error(r, "GET", &t);
    }
    vl_strbuf_release(&t.body);
    free(t.url);
    return rc;
}

static int remote_get_blobs(struct vl_cache_remote *r, const struct vl_hash *hashes,
                            const uint64_t *sizes, const char *const *paths, size_t n)
{
    if (atomic_load(&r->disabled)) return 0;
    struct transfer *t = calloc(n ? n : 1, sizeof *t);
    if (!t) abort();
    int ok = 1;
    size_t opened = 0;
    for (; opened < n; opened++) {
        t[opened].method = GET_FILE;
        t[opened].url = make_url(r, "cas", &hashes[opened]);
        t[opened].limit = sizes[opened];
        t[opened].fd = open(paths[opened], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (t[opened].fd < 0) {
            warnf(r, "remote cache: cannot create %s: %s", paths[opened], strerror(errno));
            free(t[opened].url);
            ok = 0;
            break;
        }
        t[opened].hash = XXH3_createState();
        if (!t[opened].hash) abort();
        XXH3_128bits_reset(t[opened].hash);
    }
    if (ok) run_transfers(r, t, n);
    for (size_t i = 0; i < opened; i++) {
        if (close(t[i].fd) != 0 && !t[i].write_failed) t[i].write_failed = errno;
        if (!ok) {
        } else if (t[i].write_failed) {
            warnf(r, "remote cache: cannot write %s: %s", paths[i], strerror(t[i].write_failed));
            ok = 0;
        } else if (t[i].too_large && t[i].status == 200) {
            warnf(r, "remote cache: refusing blob %s: the server sent more than the %" PRIu64
                  " bytes its entry declares", t[i].url, t[i].limit);
            ok = 0;
        } else if (t[i].status != 200 && t[i].status != 0) {
            if (t[i].status != 404) http_error(r, "GET", &t[i]);
            ok = 0;
        } else if (t[i].result != CURLE_OK) {
            ok = 0; /* disabled, and warned, by run_transfers */
        } else if (t[i].received != t[i].limit) {
            warnf(r, "remote cache: refusing blob %s: %" PRIu64 " bytes, its entry declares %" PRIu64,
                  t[i].url, t[i].received, t[i].limit);
            ok = 0;
        } else {
            struct vl_hash got;
            XXH128_canonicalFromHash((XXH128_canonical_t *)got.bytes,
                                     XXH3_128bits_digest(t[i].hash));
            if (!vl_hash_equal(&got, &hashes[i])) {
                char hex[33];
                vl_hash_hex(&got, hex);
                warnf(r, "remote cache: refusing blob %s: its content hashes to %s", t[i].url, hex);
                ok = 0;
            }
        }
        XXH3_freeState(t[i].hash);
        free(t[i].url);
    }
    if (!ok)
        for (size_t i = 0; i < opened; i++)
            unlink(paths[i]);
    free(t);
    return ok;
}

static int upload_refused(struct vl_cache_remote *r, const struct transfer *t)
{
    if (t->status != 401 && t->status != 403) return 0;
    if (atomic_exchange(&r->uploads_refused, 1) == 0)
        warnf(r, "remote cache: %s: HTTP %ld; not uploading any more", t->url, t->status);
    return 1;
}

static int remote_put(struct vl_cache_remote *r, const struct vl_hash *key,
                        const struct vl_hash *hashes, const char *const *blob_paths, size_t n,
                        const char *entry, size_t entry_n)
{
    if (r->readonly || atomic_load(&r->disabled) || atomic_load(&r->uploads_refused)) return 0;
    struct transfer *t = calloc(n ? n : 1, sizeof *t);
    if (!t) abort();
    for (size_t i = 0; i < n; i++) {
        t[i].method = HEAD;
        t[i].url = make_url(r, "cas", &hashes[i]);
    }
    run_transfers(r, t, n);
    struct transfer *puts = calloc(n ? n : 1, sizeof *puts);
    if (!puts) abort();
    int ok = 1;
    size_t n_put = 0;
    for (size_t i = 0; i < n && ok; i++) {
        if (t[i].result != CURLE_OK) {
            ok = 0;
        } else if (t[i].status == 200) {
            continue;
        } else if (t[i].status != 404) {
            if (!upload_refused(r, &t[i])) http_error(r, "HEAD", &t[i]);
            ok = 0;
        } else {
            int dup = 0; /* two outputs with one content: upload it once */
            for (size_t j = 0; j < n_put && !dup; j++)
                dup = !strcmp(puts[j].url, t[i].url);
            if (dup) continue;
            struct transfer *put = &puts[n_put];
            put->method = PUT_FILE;
            put->in = fopen(blob_paths[i], "rb");
            struct stat st;
            if (!put->in || fstat(fileno(put->in), &st) != 0) {
                warnf(r, "remote cache: cannot read %s: %s", blob_paths[i], strerror(errno));
                if (put->in) fclose(put->in);
                ok = 0;
                continue;
            }
            put->in_size = (curl_off_t)st.st_size;
            put->url = t[i].url;
            t[i].url = NULL;
            n_put++;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(t[i].url);
    if (ok && n_put) run_transfers(r, puts, n_put);
    for (size_t i = 0; i < n_put; i++) {
        if (ok && puts[i].result != CURLE_OK) {
            ok = 0;
        } else if (ok && (puts[i].status < 200 || puts[i].status > 299)) {
            if (!upload_refused(r, &puts[i])) http_error(r, "PUT", &puts[i]);
            ok = 0;
        }
        fclose(puts[i].in);
        free(puts[i].url);
    }
    free(puts);
    free(t);
    if (!ok) return 0;

    struct transfer e = {.method = PUT_MEMORY, .url = make_url(r, "ac", key)};
    e.data = entry;
    e.data_n = entry_n;
    run_transfers(r, &e, 1);
    if (e.result == CURLE_OK && (e.status < 200 || e.status > 299)) {
        if (!upload_refused(r, &e)) http_error(r, "PUT", &e);
        ok = 0;
    } else if (e.result != CURLE_OK) {
        ok = 0;
    }
    free(e.url);
    return ok;
}

const struct vl_cache_remote_api vl_cache_remote_http = {
    remote_open, remote_close, remote_usable, remote_get_entry, remote_get_blobs, remote_put,
};
