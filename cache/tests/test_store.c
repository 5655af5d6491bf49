/* test_store.c - the local store: round trip, hard link against copy, modes,
 * refusals, damaged blobs and entries, verify and stats, layout versions. */
#include "cache/entry.h"
#include "cache_test.h"

static void round_trip_restores_every_output(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    const char *outs[] = {"build/a.txt", "build/sub/b.txt"};
    struct vl_hash hashes[2] = {put_file(outs[0], "alpha\n"), put_file(outs[1], "beta\n")};
    struct vl_hash key = key_of("round trip");
    CHECK(vl_cache_store(c, &key, outs, hashes, 2, &err) == 0);
    unlink(outs[0]);
    unlink(outs[1]);
    struct vl_hash got[2];
    CHECK(vl_cache_restore(c, &key, outs, 2, got, &err) == 1);
    CHECK_STR(file_text(outs[0]), "alpha\n");
    CHECK_STR(file_text(outs[1]), "beta\n");
    CHECK(vl_hash_equal(&got[0], &hashes[0]) && vl_hash_equal(&got[1], &hashes[1]));

    /* restoring over existing outputs replaces them */
    put_file(outs[0], "edited by hand\n");
    CHECK(vl_cache_restore(c, &key, outs, 2, got, &err) == 1);
    CHECK_STR(file_text(outs[0]), "alpha\n");

    struct vl_hash other = key_of("never stored");
    CHECK(vl_cache_restore(c, &other, outs, 2, got, &err) == 0);
    struct vl_cache_counters k;
    vl_cache_get_counters(c, &k);
    CHECK(k.hits == 2 && k.misses == 1 && k.stores == 1 && k.remote_hits == 0);
    CHECK_STR(warnings.buf, "");
    vl_cache_close(c);
}

static void restore_links_by_default_and_copies_when_asked(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    const char *outs[] = {"build/link.bin", "build/tool.sh"};
    struct vl_hash hashes[2] = {put_file(outs[0], "shared bytes\n"),
                                put_file(outs[1], "#!/bin/sh\necho hi\n")};
    chmod(outs[0], 0640);
    chmod(outs[1], 0750);
    struct vl_hash key = key_of("link or copy");
    CHECK(vl_cache_store(c, &key, outs, hashes, 2, &err) == 0);
    unlink(outs[0]);
    unlink(outs[1]);

    struct vl_hash got[2];
    CHECK(vl_cache_restore(c, &key, outs, 2, got, &err) == 1);
    struct stat out_st, blob_st, tool_st;
    CHECK(stat(outs[0], &out_st) == 0 &&
          stat(store_path(cache_dir, "cas", &hashes[0]), &blob_st) == 0);
    CHECK(out_st.st_ino == blob_st.st_ino);  /* a hard link ... */
    CHECK((out_st.st_mode & 07777) == 0444); /* ... to a read-only blob */
    CHECK(stat(outs[1], &tool_st) == 0);
    CHECK((tool_st.st_mode & 07777) == 0755); /* executables are copied, 0777 under the umask */
    vl_cache_close(c);

    o.copy_only = 1;
    c = open_cache(&o);
    unlink(outs[0]);
    CHECK(vl_cache_restore(c, &key, outs, 2, got, &err) == 1);
    CHECK(stat(outs[0], &out_st) == 0);
    CHECK(out_st.st_ino != blob_st.st_ino);
    CHECK((out_st.st_mode & 07777) == 0644); /* writable: 0666 under the umask */
    CHECK_STR(file_text(outs[0]), "shared bytes\n");
    vl_cache_close(c);
}

static void an_output_that_changed_is_not_stored(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    vl_strbuf_reset(&warnings);
    const char *outs[] = {"build/moving.txt"};
    struct vl_hash stale = put_file(outs[0], "before\n");
    put_file(outs[0], "after\n");
    struct vl_hash key = key_of("moving target");
    CHECK(vl_cache_store(c, &key, outs, &stale, 1, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "changed after it was fingerprinted");
    struct vl_hash got;
    CHECK(vl_cache_restore(c, &key, outs, 1, &got, &err) == 0);

    /* a newline in a path cannot be recorded: not stored, a warning */
    vl_strbuf_reset(&warnings);
    const char *odd[] = {"build/odd\nname"};
    struct vl_hash h = put_file(odd[0], "x");
    CHECK(vl_cache_store(c, &key, odd, &h, 1, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "cannot be recorded");
    vl_strbuf_reset(&warnings);
    vl_cache_close(c);
}

static void an_entry_for_other_paths_misses(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    const char *outs[] = {"build/p.txt"}, *others[] = {"build/q.txt"};
    struct vl_hash h = put_file(outs[0], "p\n");
    struct vl_hash key = key_of("paths");
    CHECK(vl_cache_store(c, &key, outs, &h, 1, &err) == 0);
    struct vl_hash got;
    CHECK(vl_cache_restore(c, &key, others, 1, &got, &err) == 0);
    CHECK(access(others[0], F_OK) != 0);
    CHECK_CONTAINS(warnings.buf, "the entry is for build/p.txt, not build/q.txt");
    vl_strbuf_reset(&warnings);
    vl_cache_close(c);
}

static void a_damaged_blob_is_a_miss_and_verify_finds_it(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    const char *outs[] = {"build/good.txt", "build/bad.txt"};
    struct vl_hash hashes[2] = {put_file(outs[0], "good content\n"),
                                put_file(outs[1], "will be damaged\n")};
    struct vl_hash key = key_of("damaged");
    CHECK(vl_cache_store(c, &key, outs, hashes, 2, &err) == 0);

    /* damage the blob behind the second output (same size, other bytes) */
    char hex[33], *blob = strdup(store_path(cache_dir, "cas", &hashes[1]));
    vl_hash_hex(&hashes[1], hex);
    chmod(blob, 0644);
    put_file(blob, "WILL BE DAMAGED\n");

    put_file(outs[0], "old good\n");
    unlink(outs[1]);
    vl_strbuf_reset(&warnings);
    struct vl_hash got[2];
    CHECK(vl_cache_restore(c, &key, outs, 2, got, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "is damaged");
    CHECK_STR(file_text(outs[0]), "old good\n"); /* a miss touches no output */
    CHECK(access(outs[1], F_OK) != 0);
    CHECK(access(blob, F_OK) != 0); /* the damaged blob is gone */

    /* stored again, then damaged again: verify reports and removes it */
    put_file(outs[0], "good content\n");
    put_file(outs[1], "will be damaged\n");
    CHECK(vl_cache_store(c, &key, outs, hashes, 2, &err) == 0);
    chmod(blob, 0644);
    put_file(blob, "will be DAMAGED\n");
    vl_cache_close(c);

    const char *out;
    CHECK(run_command(&o, &out, "verify", NULL, NULL) == 1);
    CHECK_CONTAINS(out, "damaged blob");
    CHECK_CONTAINS(out, hex);
    CHECK_CONTAINS(out, "incomplete (blob missing) entry");
    CHECK(access(blob, F_OK) != 0);
    CHECK(run_command(&o, &out, "verify", NULL, NULL) == 0);
    CHECK_CONTAINS(out, "0 damaged blobs, 0 bad entries");
    vl_strbuf_reset(&warnings);
    free(blob);
}

static void a_damaged_entry_is_a_miss(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    const char *outs[] = {"build/e.txt"};
    struct vl_hash h = put_file(outs[0], "e\n");
    struct vl_hash key = key_of("damaged entry");
    CHECK(vl_cache_store(c, &key, outs, &h, 1, &err) == 0);
    char *entry = strdup(store_path(cache_dir, "ac", &key));
    const char *text = file_text(entry);
    CHECK(strncmp(text, "vlbuild-ac 1\n1\n", 15) == 0);
    CHECK(strstr(text, " 0644 build/e.txt\nend\n") != NULL || strstr(text, " build/e.txt\nend\n"));
    /* truncated: no end line */
    char cut[256];
    snprintf(cut, sizeof cut, "%.*s", (int)(strlen(text) - 4), text);
    put_file(entry, cut);
    vl_strbuf_reset(&warnings);
    struct vl_hash got;
    CHECK(vl_cache_restore(c, &key, outs, 1, &got, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "truncated entry");
    CHECK(access(entry, F_OK) != 0);
    vl_strbuf_reset(&warnings);
    vl_cache_close(c);
    free(entry);
}

static void entry_format_round_trips_and_refuses_other_versions(void)
{
    struct vl_cache_output outs[2] = {{key_of("x"), 12, 0644, "build/x y.npy"},
                                      {key_of("z"), 0, 0755, "z"}};
    struct vl_cache_entry e = {outs, 2}, back;
    struct vl_strbuf sb = VL_STRBUF_INIT;
    struct vl_error err;
    CHECK(vl_cache_entry_format(&e, &sb, &err) == 0);
    CHECK(vl_cache_entry_parse(sb.buf, sb.len, &back, &err) == 0);
    CHECK(back.n == 2);
    if (back.n == 2) {
        CHECK_STR(back.outputs[0].path, "build/x y.npy");
        CHECK(back.outputs[0].size == 12 && back.outputs[0].mode == 0644);
        CHECK(back.outputs[1].mode == 0755 && back.outputs[1].size == 0);
        CHECK(vl_hash_equal(&back.outputs[1].hash, &outs[1].hash));
    }
    vl_cache_entry_free(&back);
    sb.buf[11] = '2';
    CHECK(vl_cache_entry_parse(sb.buf, sb.len, &back, &err) < 0);
    CHECK_CONTAINS(err.msg, "another format version");
    CHECK(vl_cache_entry_parse("garbage", 7, &back, &err) < 0);
    vl_strbuf_release(&sb);
}

static void a_store_of_another_layout_is_refused(const char *root)
{
    char *dir = sub_path(root, "future-cache"), *version = sub_path(dir, "VERSION");
    put_file(version, "vlbuild-cache 2\n");
    struct vl_cache_options o = options_for(dir);
    struct vl_cache *c;
    struct vl_error err;
    CHECK(vl_cache_open(&o, &c, &err) < 0);
    CHECK_CONTAINS(err.msg, "vlbuild-cache 2");
    const char *out;
    CHECK(run_command(&o, &out, "stats", NULL, NULL) == 1);
    free(version);
    free(dir);
}

static void stats_counts_entries_blobs_and_lookups(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    const char *out;
    CHECK(run_command(&o, &out, "stats", NULL, NULL) == 0);
    CHECK_CONTAINS(out, "entries:");
    CHECK_CONTAINS(out, "blobs:");
    CHECK_CONTAINS(out, "hits");
    CHECK_CONTAINS(out, "stores:");
    CHECK(run_command(&o, &out, "frobnicate", NULL, NULL) == 2);
    CHECK(run_command(&o, &out, "gc", NULL, NULL) == 2);
    CHECK(run_command(&o, &out, "gc", "--max-size", "lots") == 2);
    struct vl_cache_options none = options_for("does/not/exist");
    CHECK(run_command(&none, &out, "stats", NULL, NULL) == 0);
    CHECK_CONTAINS(out, "no cache in does/not/exist");
    CHECK(access("does", F_OK) != 0);
}

int main(void)
{
    umask(022);
    const char *root = test_dir("cache_store");
    char *cache_dir = sub_path(root, "shared-cache");
    round_trip_restores_every_output(cache_dir);
    restore_links_by_default_and_copies_when_asked(cache_dir);
    an_output_that_changed_is_not_stored(cache_dir);
    an_entry_for_other_paths_misses(cache_dir);
    a_damaged_blob_is_a_miss_and_verify_finds_it(cache_dir);
    a_damaged_entry_is_a_miss(cache_dir);
    entry_format_round_trips_and_refuses_other_versions();
    a_store_of_another_layout_is_refused(root);
    stats_counts_entries_blobs_and_lookups(cache_dir);
    if (!vl_test_failures) remove_test_dir(root);
    vl_strbuf_release(&warnings);
    free(cache_dir);
    TEST_DONE();
}
