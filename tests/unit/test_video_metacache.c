/* test_video_metacache.c - the metadata cache: a miss probes and stores, a
 * renamed copy hits by content, a decode pass corrects the frame count, and
 * the `probe` action and `vlbuild meta` go through it. */
#include "test.h"
#include "test_video_fixtures.h"
#include "actions/action.h"
#include "video/metacache.h"
#include "video/metacmd.h"
#include "video/probe.h"

#include <sqlite3.h>
#include <unistd.h>

int main(void)
{
    const char *dir0 = fixture_dir("video_metacache");
    char dir[1024], video[1200], copy[1200], state[1200], out[1200], bad[1200];
    snprintf(dir, sizeof dir, "%s", dir0);
    snprintf(video, sizeof video, "%s/a.mkv", dir);
    snprintf(copy, sizeof copy, "%s/renamed.mkv", dir);
    snprintf(state, sizeof state, "%s/.vlbuild/state.db", dir);
    snprintf(out, sizeof out, "%s/meta/a.json", dir);
    snprintf(bad, sizeof bad, "%s/bad.mp4", dir);
    struct vl_error err;
    struct vl_testgen_opts o = {.codec = "ffv1", .width = 32, .height = 24, .frames = 9};
    CHECK(vl_testgen_write(video, &o, &err) == 0);
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", video, copy);
    CHECK(system(cmd) == 0);
    struct vl_hash h;
    CHECK(vl_hash_file(video, &h, &err) == 0);

    struct vl_strbuf json = VL_STRBUF_INIT;
    int hit = -1;
    CHECK(vl_video_meta_lookup(state, video, &h, &json, &hit, &err) == 0);
    CHECK(hit == 0);
    CHECK_CONTAINS(json.buf, "\"frames\": 9,");
    vl_strbuf_reset(&json);
    CHECK(vl_video_meta_lookup(state, copy, &h, &json, &hit, &err) == 0);
    CHECK(hit == 1);
    CHECK_CONTAINS(json.buf, "\"frames\": 9,");

    struct vl_metacache *c;
    CHECK(vl_metacache_open(state, &c, &err) == 0);
    struct vl_hash other = vl_hash_bytes("x", 1);
    vl_strbuf_reset(&json);
    CHECK(vl_metacache_get(c, &other, &json, &err) == 0);
    CHECK(vl_metacache_correct_frames(c, &other, 3, &err) == 0); /* no entry: nothing */
    CHECK(vl_metacache_correct_frames(c, &h, 8, &err) == 0);
    CHECK(vl_metacache_get(c, &h, &json, &err) == 1);
    CHECK_CONTAINS(json.buf, "\"frames\": 8,");
    CHECK_CONTAINS(json.buf, "\"frames_corrected\": true");
    CHECK(vl_metacache_put(c, &other, "not json", &err) < 0);
    vl_metacache_close(c);

    sqlite3 *db;
    CHECK(sqlite3_open(state, &db) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT frames, corrected FROM video_meta", -1, &st, NULL) == 0);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) == 8 && sqlite3_column_int(st, 1) == 1);
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* the probe action */
    const struct vl_action_def *def = vl_action_find("probe");
    CHECK(def != NULL);
    if (def) {
        struct vl_params params;
        int bad_index;
        CHECK(vl_params_parse(def, NULL, 0, &params, &bad_index, &err) == 0);
        const char *ins[] = {video}, *outs[] = {out};
        struct vl_strbuf log = VL_STRBUF_INIT;
        struct vl_action_job job = {.def = def, .params = &params, .inputs = ins,
                                    .input_hashes = &h, .n_inputs = 1, .outputs = outs,
                                    .n_outputs = 1, .state_path = state, .log = &log};
        CHECK(def->run(&job, &err) == 0);
        char *text = NULL;
        CHECK(vl_read_file(out, &text, NULL, &err) == 0);
        CHECK_CONTAINS(text, "\"frames\": 8,"); /* from the cache, as corrected */
        free(text);
        FILE *f = fopen(bad, "wb");
        fputs("random bytes, not a video at all", f);
        fclose(f);
        const char *bad_ins[] = {bad};
        struct vl_hash bh = vl_hash_bytes("bad", 3);
        snprintf(out, sizeof out, "%s/meta/bad.json", dir);
        job.inputs = bad_ins;
        job.input_hashes = &bh;
        CHECK(def->run(&job, &err) < 0);
        CHECK_CONTAINS(err.msg, "bad.mp4");
        CHECK(access(out, F_OK) != 0);
        vl_params_release(&params);
        vl_strbuf_release(&log);
    }

    /* vlbuild meta */
    char *argv_ok[] = {"meta", video, copy, NULL};
    CHECK(vl_meta_command(3, argv_ok, state) == 0);
    char *argv_json[] = {"meta", "--json", video, NULL};
    CHECK(vl_meta_command(3, argv_json, state) == 0);
    char *argv_bad[] = {"meta", video, bad, NULL};
    CHECK(vl_meta_command(3, argv_bad, state) == 1);
    char *argv_none[] = {"meta", NULL};
    CHECK(vl_meta_command(1, argv_none, state) == 2);
    vl_strbuf_release(&json);
    TEST_DONE();
}
