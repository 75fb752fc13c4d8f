/* Fuzz target: arbitrary bytes as the body of POST /api/intent (outside
 * input from any HTTP client), as the body of POST /api/runs/{id}/notes
 * (accepted: at most RUN_TAGS_MAX tags, notes within RUN_NOTES_MAX), as an Accept-Encoding header (a coding is
 * accepted only when its name is in the value) and, when they are a JSON array, as the
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

static void check_accept_encoding(const uint8_t *data, size_t size) {
    char ae[1024];
    size_t n = size < sizeof ae - 1 ? size : sizeof ae - 1;
    memcpy(ae, data, n);
    ae[n] = 0;
    for (const char *coding = "br"; coding; coding = !strcmp(coding, "br") ? "gzip" : NULL) {
        int yes = http_accepts_encoding(ae, coding);
        if (yes != 0 && yes != 1) abort();
        if (yes && !strstr(ae, coding)) abort();
    }
}

static void check_notes(const uint8_t *data, size_t size) {
    json_t *tags = NULL;
    char *notes = NULL;
    fedc_error err;
    err.msg[0] = 0;
    if (run_notes_parse(data, size, &tags, &notes, &err) == 0) {
        if (tags && (!json_is_array(tags) || json_array_size(tags) > RUN_TAGS_MAX)) abort();
        if (notes && strlen(notes) > RUN_NOTES_MAX) abort();
    } else if (!err.msg[0] || tags || notes) {
        abort();
    }
    json_decref(tags);
    free(notes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_notes(data, size);
    check_request(data, size);
    check_accept_encoding(data, size);
    check_ranks(data, size);
    return 0;
}
