/* test_hostile.c - local entries and blobs written by someone hostile (a
 * shared folder, or a remote whose entry was copied in): what a restore may
 * take from them and what it must not. */
#include "cache_test.h"

/* Replaces the first occurrence of from in the file path by to. */
static void edit_file(const char *path, const char *from, const char *to)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    const char *text = file_text(path);
    const char *at = strstr(text, from);
    if (!at) {
        fprintf(stderr, "%s holds no \"%s\":\n%s\n", path, from, text);
        abort();
    }
    vl_strbuf_add(&sb, text, (size_t)(at - text));
    vl_strbuf_adds(&sb, to);
    vl_strbuf_adds(&sb, at + strlen(from));
    chmod(path, 0644);
    put_file(path, sb.buf);
    vl_strbuf_release(&sb);
}

/* An entry's mode bits are not taken as given: only the executable bit,
 * under the umask; never setuid, setgid, sticky or world-writable. */
static void an_entry_cannot_set_special_mode_bits(const char *cache_dir)
{
    umask(022);
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    const char *outs[] = {"build/plain.txt", "build/tool.sh"};
    struct vl_hash h[2] = {put_file(outs[0], "plain\n"), put_file(outs[1], "#!/bin/sh\n")};
    chmod(outs[0], 04666); /* a setuid, world-writable output is recorded as 0644 */
    chmod(outs[1], 0750);
    struct vl_hash key = key_of("modes"), got[2];
    CHECK(vl_cache_store(c, &key, outs, h, 2, &err) == 0);
    char *entry = strdup(store_path(cache_dir, "ac", &key));
    CHECK_CONTAINS(file_text(entry), " 0644 build/plain.txt\n");
    CHECK_CONTAINS(file_text(entry), " 0755 build/tool.sh\n");

    /* the entry now asks for setuid, setgid, sticky and world-writable */
    edit_file(entry, " 0644 build/plain.txt", " 7777 build/plain.txt");
    edit_file(entry, " 0755 build/tool.sh", " 6777 build/tool.sh");
    unlink(outs[0]);
    unlink(outs[1]);
    CHECK(vl_cache_restore(c, &key, outs, 2, got, &err) == 1);
    CHECK(mode_of(outs[0]) == 0755);
    CHECK(mode_of(outs[1]) == 0755);
    vl_cache_close(c);

    /* copy_only: a non-executable output is 0666 under the umask */
    edit_file(entry, " 7777 build/plain.txt", " 4666 build/plain.txt");
    o.copy_only = 1;
    c = open_cache(&o);
    umask(027);
    CHECK(vl_cache_restore(c, &key, outs, 2, got, &err) == 1);
    CHECK(mode_of(outs[0]) == 0640);
    CHECK(mode_of(outs[1]) == 0750);
    umask(022);
    vl_cache_close(c);
    CHECK_STR(warnings.buf, "");
    free(entry);
}

/* A blob whose own bits were changed (setuid, world-writable) is copied, not
 * linked into place: a link would carry its bits to the output. */
static void a_blob_with_odd_bits_is_copied_not_linked(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    const char *outs[] = {"build/linked.txt"};
    struct vl_hash h = put_file(outs[0], "linked by default\n"), got;
    struct vl_hash key = key_of("odd blob");
    CHECK(vl_cache_store(c, &key, outs, &h, 1, &err) == 0);
    const char *blob = store_path(cache_dir, "cas", &h);
    CHECK(mode_of(blob) == 0444);
    unlink(outs[0]);
    CHECK(vl_cache_restore(c, &key, outs, 1, &got, &err) == 1);
    struct stat out_st, blob_st;
    CHECK(stat(outs[0], &out_st) == 0 && stat(blob, &blob_st) == 0);
    CHECK(out_st.st_ino == blob_st.st_ino); /* the sane blob is linked */

    unlink(outs[0]);
    CHECK(chmod(blob, 06777) == 0);
    CHECK(vl_cache_restore(c, &key, outs, 1, &got, &err) == 1);
    CHECK(stat(outs[0], &out_st) == 0);
    CHECK(out_st.st_ino != blob_st.st_ino);
    CHECK(mode_of(outs[0]) == 0644);
    CHECK_STR(file_text(outs[0]), "linked by default\n");
    chmod(blob, 0444);
    vl_cache_close(c);
    CHECK_STR(warnings.buf, "");
}

/* A local entry of 2 MiB, or a FIFO at an entry's name, is refused without
 * reading it all (or blocking): a miss with a warning. */
static void an_oversized_or_special_entry_is_refused(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    const char *outs[] = {"build/big-entry.txt"};
    struct vl_hash h = put_file(outs[0], "content\n"), got;
    struct vl_hash key = key_of("big entry");
    CHECK(vl_cache_store(c, &key, outs, &h, 1, &err) == 0);
    char *entry = strdup(store_path(cache_dir, "ac", &key));
    CHECK(truncate(entry, 2 << 20) == 0);
    vl_strbuf_reset(&warnings);
    CHECK(vl_cache_restore(c, &key, outs, 1, &got, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "has 2097152 bytes, more than the 1048576 an entry may have");

    unlink(entry);
    CHECK(mkfifo(entry, 0644) == 0);
    vl_strbuf_reset(&warnings);
    alarm(20); /* a blocking open would hang here */
    CHECK(vl_cache_restore(c, &key, outs, 1, &got, &err) == 0);
    alarm(0);
    CHECK_CONTAINS(warnings.buf, "is not a regular file");
    unlink(entry);
    vl_cache_close(c);
    vl_strbuf_reset(&warnings);
    free(entry);
}

/* An entry that lies about an output's size is a miss that says so; the
 * good blob it names is kept, and verify removes the entry, not the blob. */
static void a_wrong_size_keeps_the_good_blob(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    struct vl_error err;
    const char *outs[] = {"build/sized.txt"};
    struct vl_hash h = put_file(outs[0], "twelve bytes"), got;
    struct vl_hash key = key_of("wrong size");
    CHECK(vl_cache_store(c, &key, outs, &h, 1, &err) == 0);
    char *entry = strdup(store_path(cache_dir, "ac", &key));
    char *blob = strdup(store_path(cache_dir, "cas", &h));
    edit_file(entry, " 12 0644 ", " 99 0644 ");
    unlink(outs[0]);
    vl_strbuf_reset(&warnings);
    CHECK(vl_cache_restore(c, &key, outs, 1, &got, &err) == 0);
    CHECK_CONTAINS(warnings.buf, "the entry says build/sized.txt has 99 bytes, but its blob");
    CHECK_CONTAINS(warnings.buf, "has 12");
    CHECK(strstr(warnings.buf, "damaged") == NULL);
    CHECK(access(blob, F_OK) == 0);
    CHECK(access(outs[0], F_OK) != 0);
    vl_cache_close(c);

    const char *out;
    CHECK(run_command(&o, &out, "verify", NULL, NULL) == 1);
    CHECK_CONTAINS(out, "wrong-size");
    CHECK(access(entry, F_OK) != 0);
    CHECK(access(blob, F_OK) == 0);
    CHECK_STR(file_text(blob), "twelve bytes");
    vl_strbuf_reset(&warnings);
    free(entry);
    free(blob);
}

/* An output whose name is near the 255-byte limit (no room for the
 * ".vlcache-..." suffix) is restored through a short temporary name in its
 * folder: a hit, not "File name too long" on every build. */
static void an_output_name_near_the_limit_is_restored(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    char name[300] = "long/";
    memset(name + 5, 'n', 250);
    strcpy(name + 255, ".bin"); /* a 254-byte file name */
    for (int copy_only = 0; copy_only < 2; copy_only++) {
        o.copy_only = copy_only;
        struct vl_cache *c = open_cache(&o);
        struct vl_error err;
        const char *outs[] = {name};
        struct vl_hash h = put_file(outs[0], "a long name\n"), got;
        struct vl_hash key = key_of("long name");
        CHECK(vl_cache_store(c, &key, outs, &h, 1, &err) == 0);
        unlink(outs[0]);
        vl_strbuf_reset(&warnings);
        CHECK(vl_cache_restore(c, &key, outs, 1, &got, &err) == 1);
        CHECK_STR(file_text(outs[0]), "a long name\n");
        CHECK_STR(warnings.buf, "");
        CHECK(count_files("long") == 1); /* no temporary left */
        vl_cache_close(c);
    }
}

int main(void)
{
    const char *root = test_dir("cache_hostile");
    char *cache_dir = sub_path(root, "cache");
    an_entry_cannot_set_special_mode_bits(cache_dir);
    a_blob_with_odd_bits_is_copied_not_linked(cache_dir);
    an_oversized_or_special_entry_is_refused(cache_dir);
    a_wrong_size_keeps_the_good_blob(cache_dir);
    an_output_name_near_the_limit_is_restored(cache_dir);
    if (!vl_test_failures) remove_test_dir(root);
    vl_strbuf_release(&warnings);
    free(cache_dir);
    TEST_DONE();
}
