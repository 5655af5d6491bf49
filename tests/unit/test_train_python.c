/* test_train_python.c - a checkpoint loads with Python's safetensors package
 * into arrays of the documented shapes, and the documented formula
 * (standardise with scaler.*, then linear.*) reproduces the model's
 * predictions in NumPy.  Skips (exit 77) where python3 lacks safetensors or
 * numpy. */
#include <stdarg.h>

#include "test.h"
#include "test_train_util.h"

static const char *script =
    "import csv, json, os, sys\n"
    "import numpy as np\n"
    "from safetensors import safe_open\n"
    "from safetensors.numpy import load_file\n"
    "ckpt, labels = sys.argv[1], sys.argv[2]\n"
    "t = load_file(ckpt)\n"
    "with safe_open(ckpt, framework='np') as f:\n"
    "    meta = f.metadata()\n"
    "assert meta['format'] == 'vlbuild.checkpoint' and meta['format_version'] == '1', meta\n"
    "classes = json.loads(meta['classes'])\n"
    "shape = json.loads(meta['input'])['shape']\n"
    "k, d = len(classes), shape[0]\n"
    "assert t['linear.weight'].shape == (k, d) and t['linear.weight'].dtype == np.float32\n"
    "assert t['linear.bias'].shape == (k,)\n"
    "assert t['scaler.mean'].shape == (d,) and t['scaler.scale'].shape == (d,)\n"
    "assert json.loads(meta['config'])['model'] == 'logreg'\n"
    "assert int(meta['epoch']) == 8 and len(meta['data_fingerprint']) == 32\n"
    "m = json.loads(meta['metrics'])\n"
    "ok = n = 0\n"
    "d0 = os.path.dirname(labels)\n"
    "for row in csv.DictReader(open(labels)):\n"
    "    x = np.load(os.path.join(d0, row['video'].replace('.mp4', '.npy')))\n"
    "    z = (x - t['scaler.mean']) / t['scaler.scale']\n"
    "    logits = t['linear.weight'] @ z + t['linear.bias']\n"
    "    ok += classes[int(np.argmax(logits))] == row['label']\n"
    "    n += 1\n"
    "print('python: %d/%d correct, val_accuracy %s' % (ok, n, m['val_accuracy']))\n"
    "assert ok >= 0.99 * n\n";

int main(void)
{
    if (system("python3 -c 'import safetensors, numpy' >/dev/null 2>&1") != 0)
        TEST_SKIP("python3 with safetensors and numpy is not available "
                  "(pip install safetensors numpy)");
    tt_init("test_train_python");
    struct tt_set s;
    tt_make_separable(&s, "p", 300, 5, 3, 1.5, 11);
    struct vl_error err = {{0}};
    struct vl_strbuf log = VL_STRBUF_INIT;
    char *out = tt_path("m.safetensors"), *py = tt_path("check.py");
    CHECK(tt_train("model=logreg epochs=8 C=100", &s, out, NULL, NULL, &log, &err) == 0);
    CHECK(vl_write_file_atomic(py, script, strlen(script), &err) == 0);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s' '%s'", py, out, s.inputs[s.n - 1]);
    CHECK(system(cmd) == 0);
    free(out);
    free(py);
    vl_strbuf_release(&log);
    tt_set_free(&s);
    tt_cleanup();
    TEST_DONE();
}
