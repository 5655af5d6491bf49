/* fuzz_rules.c - libFuzzer target: the rules parser (vl_rules_parse_string)
 * on arbitrary text.  Any outcome but a crash, a sanitizer report or a hang
 * is fine; a rejected file must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct vl_rules rules;
    memset(&rules, 0, sizeof rules);
    struct vl_error err = {{0}};
    if (vl_rules_parse_string(&rules, "fuzz.rules", text, NULL, 0, &err) < 0 && !err.msg[0]) abort();
    vl_rules_release(&rules);
    free(text);
    return 0;
}
