/* test_remote.c - the HTTP remote cache against a small server on 127.0.0.1
 * (httpd.py, Python's standard library): a round trip through the remote
 * alone, read-only mode, a tampered blob, the auth header, and a closed port
 * and a slow server, which must both give a quick miss and a warning. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include "cache_test.h"

struct server {
    pid_t pid;
    int port;
    char *root, *log;
};

/* Starts httpd.py serving root (under the test directory), with extra
 * arguments; waits until it listens. */
static struct server start_server(const char *dir, const char *name, const char *extra1,
                                  const char *extra2)
{
    struct server s = {0};
    s.root = sub_path(dir, name);
    struct vl_strbuf log = VL_STRBUF_INIT, port_file = VL_STRBUF_INIT;
    vl_strbuf_addf(&log, "%s.log", s.root);
    vl_strbuf_addf(&port_file, "%s.port", s.root);
    s.log = vl_strbuf_detach(&log, NULL);
    struct vl_error err;
    if (vl_mkdir_p(s.root, &err) < 0) abort();
    unlink(port_file.buf);
    const char *script = getenv("VL_CACHE_HTTPD");
    s.pid = fork();
    if (s.pid == 0) {
        const char *argv[] = {"python3", script, "--root", s.root, "--port-file", port_file.buf,
                              "--log",   s.log,  extra1,   extra2, NULL};
        execvp("python3", (char **)argv);
        _exit(127);
    }
    for (int i = 0; i < 200 && !s.port; i++) { /* up to 10 s */
        FILE *f = fopen(port_file.buf, "r");
        if (f) {
            if (fscanf(f, "%d", &s.port) != 1) s.port = 0;
            fclose(f);
        }
        if (!s.port) usleep(50000);
    }
    if (!s.port) {
        fprintf(stderr, "httpd.py did not start\n");
        exit(1);
    }
    vl_strbuf_release(&port_file);
    return s;
}

static void stop_server(struct server *s)
{
    kill(s->pid, SIGTERM);
    int status;
    waitpid(s->pid, &status, 0);
    free(s->root);
    free(s->log);
}

static char *url_of(int port)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    vl_strbuf_addf(&sb, "http://127.0.0.1:%d/", port);
    return vl_strbuf_detach(&sb, NULL);
}

/* How many lines of the server's log start with prefix. */
static int requests(const struct server *s, const char *prefix)
{
    FILE *f = fopen(s->log, "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    if (f) fclose(f);
    return n;
}

#define N_OUTS 4
static const char *const outs[N_OUTS] = {"build/a.txt", "build/b.txt", "build/big.bin",
                                         "build/same-as-a.txt"};
static char big[300001];

/* Writes the outputs of the test action and returns their hashes. */
static void write_outputs(struct vl_hash *h)
{
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('0' + (i * 7919) % 75);
    h[0] = put_file(outs[0], "first output\n");
    h[1] = put_file(outs[1], "second output\n");
    h[2] = put_file(outs[2], big);
    h[3] = put_file(outs[3], "first output\n");
}

static void remove_outputs(void)
{
    for (int i = 0; i < N_OUTS; i++)
        unlink(outs[i]);
}

static int outputs_are_right(void)
{
    return !strcmp(file_text(outs[0]), "first output\n") &&
           !strcmp(file_text(outs[1]), "second output\n") &&
           !strcmp(file_text(outs[3]), "first output\n") &&
           !strncmp(file_text(outs[2]), big, 60000);
}

static struct vl_cache_options remote_options(const char *root, const char *local, char *url)
{
    struct vl_cache_options o = options_for(sub_path(root, local));
    o.remote_url = url;
    o.remote_timeout_s = 5;
    return o;
}

static double seconds_since(int64_t t0)
{
    return (double)(vl_mono_ns() - t0) / 1e9;
}

static void round_trip_through_the_remote_alone(const char *root, struct server *s,
                                                struct vl_hash *h)
{
    char *url = url_of(s->port);
    struct vl_cache_options o = remote_options(root, "local-a", url);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    struct vl_hash key = key_of("remote round trip"), got[N_OUTS];
    CHECK(vl_cache_store(c, &key, outs, h, N_OUTS, &err) == 0);
    vl_cache_close(c);
    CHECK(requests(s, "PUT /cas/") == 3); /* a and same-as-a share a blob */
    CHECK(requests(s, "PUT /ac/") == 1);
    /* a second store finds the blobs there (HEAD) and uploads only the entry */
    c = open_cache(&o);
    CHECK(vl_cache_store(c, &key, outs, h, N_OUTS, &err) == 0);
    vl_cache_close(c);
    CHECK(requests(s, "PUT /cas/") == 3);

    remove_outputs();
    struct vl_cache_options fresh = remote_options(root, "local-b", url);
    c = open_cache(&fresh);
    CHECK(vl_cache_restore(c, &key, outs, N_OUTS, got, &err) == 1);
    CHECK(outputs_are_right());
    for (int i = 0; i < N_OUTS; i++)
        CHECK(vl_hash_equal(&got[i], &h[i]));
    struct vl_cache_counters k;
    vl_cache_get_counters(c, &k);
    CHECK(k.hits == 1 && k.remote_hits == 1);
    /* the local store is warm now: no further request */
    int gets = requests(s, "GET ");
    remove_outputs();
    CHECK(vl_cache_restore(c, &key, outs, N_OUTS, got, &err) == 1);
    CHECK(requests(s, "GET ") == gets);
    vl_cache_close(c);
    CHECK_STR(warnings.buf, "");
    free((char *)o.dir);
    free((char *)fresh.dir);
    free(url);
}

static void read_only_uploads_nothing(const char *root, struct server *s, struct vl_hash *h)
{
    char *url = url_of(s->port);
    struct vl_cache_options o = remote_options(root, "local-ro", url);
    o.remote_readonly = 1;
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    struct vl_hash key = key_of("read only"), got[N_OUTS];
    int puts = requests(s, "PUT "), heads = requests(s, "HEAD ");
    write_outputs(h);
    CHECK(vl_cache_store(c, &key, outs, h, N_OUTS, &err) == 0);
    vl_cache_close(c);
    CHECK(requests(s, "PUT ") == puts);
    CHECK(requests(s, "HEAD ") == heads);

    struct vl_cache_options fresh = remote_options(root, "local-ro-2", url);
    c = open_cache(&fresh);
    CHECK(vl_cache_restore(c, &key, outs, N_OUTS, got, &err) == 0); /* a plain miss */
    vl_cache_close(c);
    CHECK_STR(warnings.buf, "");
    free((char *)o.dir);
    free((char *)fresh.dir);
    free(url);
}

static void a_tampered_blob_is_refused(const char *root, struct server *s, struct vl_hash *h)
{
    char *url = url_of(s->port);
    struct vl_hash key = key_of("remote round trip"), got[N_OUTS];
    char hex[33];
    vl_hash_hex(&h[1], hex);
    struct vl_strbuf blob = VL_STRBUF_INIT;
    vl_strbuf_addf(&blob, "%s/cas/%s", s->root, hex);
    CHECK(access(blob.buf, F_OK) == 0);
    put_file(blob.buf, "SECOND output\n");

    remove_outputs();
    put_file(outs[0], "kept\n");
    struct vl_cache_options fresh = remote_options(root, "local-tampered", url);
    struct vl_cache *c = open_cache(&fresh);
    struct vl_error err;
    CHECK(vl_cache_restore(c, &key, outs, N_OUTS, got, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "refusing blob");
    CHECK_CONTAINS(warnings.buf, hex);
    CHECK_STR(file_text(outs[0]), "kept\n"); /* nothing touched */
    CHECK(access(outs[1], F_OK) != 0);
    CHECK(access(store_path(fresh.dir, "cas", &h[1]), F_OK) != 0);
    CHECK(access(store_path(fresh.dir, "ac", &key), F_OK) != 0);
    vl_cache_close(c);
    vl_strbuf_reset(&warnings);
    vl_strbuf_release(&blob);
    free((char *)fresh.dir);
    free(url);
}

/* Puts text on the server as BASE/kind/<hex of h>, as a hostile writer could. */
static void serve(const struct server *s, const char *kind, const struct vl_hash *h,
                  const char *text)
{
    char hex[33];
    vl_hash_hex(h, hex);
    struct vl_strbuf path = VL_STRBUF_INIT;
    vl_strbuf_addf(&path, "%s/%s/%s", s->root, kind, hex);
    put_file(path.buf, text);
    vl_strbuf_release(&path);
}

/* An entry of one output, blob h of size bytes with the given mode, as
 * BASE/<ac>/<key> (ac: "ac", or a folder under another base). */
static void serve_entry(const struct server *s, const char *ac, const struct vl_hash *key,
                        const struct vl_hash *h, const char *size, const char *mode,
                        const char *path)
{
    char hex[33];
    vl_hash_hex(h, hex);
    struct vl_strbuf text = VL_STRBUF_INIT;
    vl_strbuf_addf(&text, "vlbuild-ac 1\n1\n%s %s %s %s\nend\n", hex, size, mode, path);
    serve(s, ac, key, text.buf);
    vl_strbuf_release(&text);
}

/* A remote entry asking for setuid, setgid and world-writable bits gets the
 * executable bit under the umask, in read-only mode too. */
static void a_remote_entry_cannot_set_special_mode_bits(const char *root, struct server *s)
{
    char *url = url_of(s->port);
    const char *out[] = {"build/remote-tool.sh"};
    const char *text = "#!/bin/sh\necho remote\n";
    struct vl_hash key = key_of("remote modes"), h = vl_hash_bytes(text, strlen(text)), got;
    serve(s, "cas", &h, text);
    serve_entry(s, "ac", &key, &h, "22", "6777", out[0]);
    struct vl_cache_options o = remote_options(root, "local-modes", url);
    o.remote_readonly = 1;
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    unlink(out[0]);
    CHECK(vl_cache_restore(c, &key, out, 1, &got, &err) == 1);
    CHECK_STR(file_text(out[0]), text);
    CHECK(mode_of(out[0]) == 0755);
    vl_cache_close(c);
    CHECK_STR(warnings.buf, "");
    free((char *)o.dir);
    free(url);
}

/* The largest "sent=N" of the server's log lines that start with prefix. */
static long long most_sent(const struct server *s, const char *prefix)
{
    FILE *f = fopen(s->log, "r");
    char line[512];
    long long most = -1;
    while (f && fgets(line, sizeof line, f)) {
        const char *sent = strstr(line, " sent=");
        if (!strncmp(line, prefix, strlen(prefix)) && sent && atoll(sent + 6) > most)
            most = atoll(sent + 6);
    }
    if (f) fclose(f);
    return most;
}

/* A server that streams without end (into a blob whose entry declares 3
 * bytes, or as the entry itself) is cut off at the declared size or at the
 * most an entry may have: a miss with a warning, no temporary left, and the
 * server sent a few MiB at most, not its 256. */
static void an_endless_server_is_cut_off(const char *root)
{
    struct server s = start_server(root, "endless-server", "--stream-under", "/endless");
    const char *out[] = {"build/endless.txt"};
    struct vl_hash key = key_of("endless"), h = vl_hash_bytes("abc", 3), got;
    serve_entry(&s, "endless-blob/ac", &key, &h, "3", "0644", out[0]);
    struct vl_strbuf url = VL_STRBUF_INIT;
    vl_strbuf_addf(&url, "http://127.0.0.1:%d/endless-blob/", s.port);
    struct vl_cache_options o = remote_options(root, "local-endless", url.buf);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    vl_strbuf_reset(&warnings);
    unlink(out[0]);
    CHECK(vl_cache_restore(c, &key, out, 1, &got, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "more than the 3 bytes its entry declares");
    CHECK(access(out[0], F_OK) != 0);
    CHECK(access(store_path(o.dir, "cas", &h), F_OK) != 0);
    CHECK(access(store_path(o.dir, "ac", &key), F_OK) != 0);
    vl_cache_close(c);

    vl_strbuf_reset(&url);
    vl_strbuf_addf(&url, "http://127.0.0.1:%d/endless-entry/", s.port);
    struct vl_cache_options e = remote_options(root, "local-endless-entry", url.buf);
    c = open_cache(&e);
    CHECK(vl_cache_restore(c, &key, out, 1, &got, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "the entry is too large");
    vl_cache_close(c);
    char *tmp = sub_path(o.dir, "tmp");
    CHECK(count_files(tmp) == 0);
    /* the server logs what it sent once the client went away */
    for (int i = 0; i < 100; i++) {
        if (most_sent(&s, "GET /endless-blob/cas/") >= 0 && most_sent(&s, "GET /endless-entry/") >= 0)
            break;
        usleep(50000);
    }
    long long blob_sent = most_sent(&s, "GET /endless-blob/cas/");
    long long entry_sent = most_sent(&s, "GET /endless-entry/");
    CHECK(blob_sent >= 0 && blob_sent < (64 << 20));
    CHECK(entry_sent >= 0 && entry_sent < (64 << 20));
    if (vl_test_failures) fprintf(stderr, "sent %lld and %lld bytes\n", blob_sent, entry_sent);
    stop_server(&s);
    free(tmp);
    vl_strbuf_reset(&warnings);
    vl_strbuf_release(&url);
    free((char *)o.dir);
    free((char *)e.dir);
}

/* A remote entry declaring another size than its blob's: a miss that says
 * so, and nothing is kept. */
static void a_remote_entry_with_a_wrong_size_is_refused(const char *root, struct server *s)
{
    char *url = url_of(s->port);
    const char *out[] = {"build/remote-sized.txt"};
    struct vl_hash key = key_of("remote wrong size"), h = vl_hash_bytes("abc", 3), got;
    serve(s, "cas", &h, "abc");
    serve_entry(s, "ac", &key, &h, "10", "0644", out[0]);
    struct vl_cache_options o = remote_options(root, "local-sized", url);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    vl_strbuf_reset(&warnings);
    CHECK(vl_cache_restore(c, &key, out, 1, &got, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "3 bytes, its entry declares 10");
    CHECK(access(out[0], F_OK) != 0);
    CHECK(access(store_path(o.dir, "ac", &key), F_OK) != 0);
    vl_cache_close(c);
    vl_strbuf_reset(&warnings);
    free((char *)o.dir);
    free(url);
}

static void the_auth_header_comes_from_the_environment(const char *root, struct vl_hash *h)
{
    struct server s =
        start_server(root, "auth-server", "--require-header", "Authorization: Bearer sekrit");
    char *url = url_of(s.port);
    setenv("VL_TEST_CACHE_AUTH", "Authorization: Bearer sekrit", 1);
    struct vl_cache_options o = remote_options(root, "local-auth", url);
    o.auth_header_env = "VL_TEST_CACHE_AUTH";
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    struct vl_hash key = key_of("with auth"), got[N_OUTS];
    write_outputs(h);
    CHECK(vl_cache_store(c, &key, outs, h, N_OUTS, &err) == 0);
    vl_cache_close(c);
    CHECK(requests(&s, "PUT /ac/") == 1);
    CHECK_STR(warnings.buf, "");

    /* without the header: refused, a warning, a miss, and the build goes on */
    unsetenv("VL_TEST_CACHE_AUTH");
    struct vl_cache_options bare = remote_options(root, "local-no-auth", url);
    bare.auth_header_env = "VL_TEST_CACHE_AUTH";
    c = open_cache(&bare);
    CHECK(vl_cache_restore(c, &key, outs, N_OUTS, got, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "HTTP 401");
    CHECK(vl_cache_store(c, &key, outs, h, N_OUTS, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "not uploading any more");
    vl_cache_close(c);
    vl_strbuf_reset(&warnings);
    stop_server(&s);
    free((char *)o.dir);
    free((char *)bare.dir);
    free(url);
}

static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

/* A lookup and a store against url give a miss, a warning and no error,
 * within max_s seconds; the next lookup does not ask the server again. */
static void fails_quickly(const char *root, const char *local, char *url, double max_s,
                          const char *expect)
{
    struct vl_cache_options o = remote_options(root, local, url);
    o.remote_timeout_s = 0.5;
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    struct vl_hash key = key_of(local), h[N_OUTS], got[N_OUTS];
    vl_strbuf_reset(&warnings);
    int64_t t0 = vl_mono_ns();
    CHECK(vl_cache_restore(c, &key, outs, N_OUTS, got, &err) == 0);
    double first = seconds_since(t0);
    CHECK(first < max_s);
    CHECK_CONTAINS(warnings.buf, expect);
    CHECK_CONTAINS(warnings.buf, "continuing without it");
    size_t warned = warnings.len;
    t0 = vl_mono_ns();
    CHECK(vl_cache_restore(c, &key, outs, N_OUTS, got, &err) == 0);
    write_outputs(h);
    CHECK(vl_cache_store(c, &key, outs, h, N_OUTS, &err) == 0);
    CHECK(seconds_since(t0) < 0.5);
    CHECK(warnings.len == warned); /* one warning per run, not per action */
    /* the local store still works */
    remove_outputs();
    CHECK(vl_cache_restore(c, &key, outs, N_OUTS, got, &err) == 1);
    vl_cache_close(c);
    if (vl_test_failures) fprintf(stderr, "%s: first lookup took %.2f s\n", local, first);
    vl_strbuf_reset(&warnings);
    free((char *)o.dir);
}

int main(void)
{
    if (system("python3 -c 'import http.server' >/dev/null 2>&1") != 0)
        TEST_SKIP("python3 is missing: the test server cannot run");
    if (!getenv("VL_CACHE_HTTPD")) TEST_SKIP("VL_CACHE_HTTPD does not name httpd.py");
    /* loopback only: never through a proxy */
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    umask(022);
    char *root = strdup(test_dir("cache_remote"));
    struct vl_hash h[N_OUTS];
    write_outputs(h);

    struct server s = start_server(root, "server", NULL, NULL);
    round_trip_through_the_remote_alone(root, &s, h);
    read_only_uploads_nothing(root, &s, h);
    write_outputs(h);
    a_tampered_blob_is_refused(root, &s, h);
    a_remote_entry_cannot_set_special_mode_bits(root, &s);
    a_remote_entry_with_a_wrong_size_is_refused(root, &s);
    stop_server(&s);
    the_auth_header_comes_from_the_environment(root, h);
    an_endless_server_is_cut_off(root);

    char *url = url_of(closed_port());
    fails_quickly(root, "local-closed", url, 2.0, "127.0.0.1");
    free(url);
    struct server slow = start_server(root, "slow-server", "--sleep", "5");
    url = url_of(slow.port);
    fails_quickly(root, "local-slow", url, 2.0, "timed out");
    free(url);
    stop_server(&slow);

    if (!vl_test_failures) remove_test_dir(root);
    free(root);
    vl_strbuf_release(&warnings);
    TEST_DONE();
}
