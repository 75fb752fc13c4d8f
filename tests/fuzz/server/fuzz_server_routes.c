/* Fuzz target: arbitrary bytes as the body of POST /api/intent (outside
 * input from any HTTP client) and, when they are a JSON array, as the
 * trials of a stored search to rank (the search store is written by
 * another process). Besides not crashing or leaking: an accepted body gives
 * a request of 1 to FEDC_INTENT_REQUEST_MAX bytes that is not blank and a
 * backend of 0 or 1, a refused one a message; ranks are 1..n, each once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/intent.h"
#include "server/server_internal.h"

static void check_request(const uint8_t *data, size_t size) {
    char request[FEDC_INTENT_REQUEST_MAX + 1];
    int llm = -1;
    fedc_error err;
    err.msg[0] = 0;
    if (intent_request_parse(data, size, request, sizeof request, &llm, &err) == 0) {
        size_t n = strnlen(request, sizeof request);
        if (n == 0 || n > FEDC_INTENT_REQUEST_MAX || strspn(request, " \t\r\n") == n || (llm != 0 && llm != 1))
            abort();
    } else if (!err.msg[0]) {
        abort();
    }
}

static void check_ranks(const uint8_t *data, size_t size) {
    json_t *trials = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_array(trials)) {
        json_decref(trials);
        return;
    }
    size_t n = json_array_size(trials);
    /* Ranks go on objects; a non-object element cannot carry one. */
    for (size_t i = 0; i < n; i++)
        if (!json_is_object(json_array_get(trials, i))) {
            json_decref(trials);
            return;
        }
    if (searches_rank_trials(trials) == 0 && n > 0) {
        unsigned char *seen = calloc(n + 1, 1);
        if (!seen) abort();
        for (size_t i = 0; i < n; i++) {
            json_int_t r = json_integer_value(json_object_get(json_array_get(trials, i), "rank"));
            if (r < 1 || (size_t)r > n || seen[r]) abort();
            seen[r] = 1;
        }
        free(seen);
    }
    json_decref(trials);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_request(data, size);
    check_ranks(data, size);
    return 0;
}
