/* Arbitrary bytes as an evaluation file (fedc intent eval): lines of any
 * shape, "ask" and "refuse" lines, expected tasks that are invalid. The
 * evaluator never crashes, and its counts add up: every scored line has
 * exactly one outcome or is "neither", every refusal or question counted
 * is among the lines read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fedc/intent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/fedc-fuzz-eval-%ld.jsonl", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    fedc_intent_eval_report *r = malloc(sizeof *r);
    if (r) {
        fedc_error err;
        if (fedc_intent_eval_file(path, FEDC_INTENT_BACKEND_BUILTIN, NULL, NULL, r, &err) == 0) {
            if (r->exact + r->asked + r->silently_wrong + r->unclear != r->n) abort();
            if (r->valid + r->refused_clearly + r->unclear != r->n) abort();
            if (r->expected_refusals + r->expected_questions > r->n) abort();
            if (r->refusals_right > r->expected_refusals || r->questions_right > r->expected_questions) abort();
        }
        free(r);
    }
    remove(path);
    return 0;
}
