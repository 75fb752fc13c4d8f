/* Arbitrary bytes as a request: the embedded parser never crashes, never
 * reads outside the request, and its JSON result always parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fedc/intent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > FEDC_INTENT_REQUEST_MAX + 16) size = FEDC_INTENT_REQUEST_MAX + 16;
    char *req = malloc(size + 1);
    if (!req) return 0;
    memcpy(req, data, size);
    req[size] = '\0';
    fedc_intent_result *r = malloc(sizeof *r);
    fedc_error err;
    if (r) {
        int rc = fedc_intent_parse(req, r, &err);
        char *js = fedc_intent_result_to_json(r, rc < 0 ? err.msg : NULL, 0);
        if (js) {
            json_t *v = json_loads(js, 0, NULL);
            if (!v) abort(); /* the result must be valid JSON */
            json_decref(v);
        }
        if (rc == 0) {
            fedc_error ve;
            if (fedc_task_validate(&r->task, &ve) != 0) abort(); /* an accepted task is valid */
        }
        free(js);
        free(r);
    }
    free(req);
    return 0;
}
