/* Arbitrary bytes as an LLM endpoint's answer body: reading the chat
 * completion and finding the JSON object in its content never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intent/intent_llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_error err;
    char *content = intent_llm_content((const char *)data, size, &err);
    /* the body itself as a model's text answer, too */
    char *json = intent_extract_json((const char *)data, size, &err);
    free(json);
    if (content) {
        json = intent_extract_json(content, strlen(content), &err);
        if (json) {
            fedc_task t;
            fedc_task_from_json(json, strlen(json), &t, &err);
        }
        free(json);
        free(content);
    }
    return 0;
}
