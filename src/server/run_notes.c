/* The body of POST /api/runs/{id}/notes: a person's tags and notes on a run.
 * Outside input: every field is bounded and named in the error. */
#include <string.h>

#include "server/server_internal.h"

static int tag_ok(const char *t, size_t n) {
    if (n == 0 || n > RUN_TAG_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
              strchr("._:-", t[i])))
            return 0;
    return 1;
}

int run_notes_parse(const void *body, size_t len, json_t **tags, char **notes, fedc_error *err) {
    *tags = NULL;
    *notes = NULL;
    json_error_t je;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return fedc_fail(err, "body: a JSON object like {\"tags\": [\"baseline\"], \"notes\": \"...\"}%s%s",
                         o ? "" : ": ", o ? "" : je.text);
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcmp(key, "tags") && strcmp(key, "notes")) {
            /* The message first: key belongs to o. */
            int rc = fedc_fail(err, "%.64s: unknown field; allowed: tags, notes", key);
            json_decref(o);
            return rc;
        }
    }
    json_t *t = json_object_get(o, "tags");
    if (t) {
        if (!json_is_array(t) || json_array_size(t) > RUN_TAGS_MAX) {
            json_decref(o);
            return fedc_fail(err, "tags: an array of at most %d tags", RUN_TAGS_MAX);
        }
        size_t i;
        json_t *e;
        json_array_foreach(t, i, e) {
            if (!json_is_string(e) || !tag_ok(json_string_value(e), json_string_length(e))) {
                json_decref(o);
                return fedc_fail(err, "tags[%zu]: allowed: 1 to %d of A-Z a-z 0-9 . _ : -", i, RUN_TAG_MAX);
            }
            for (size_t k = 0; k < i; k++)
                if (json_equal(json_array_get(t, k), e)) {
                    int rc = fedc_fail(err, "tags[%zu]: \"%s\" is given twice", i, json_string_value(e));
                    json_decref(o);
                    return rc;
                }
        }
        *tags = json_incref(t);
    }
    json_t *n = json_object_get(o, "notes");
    if (n) {
        if (!json_is_string(n) || json_string_length(n) > RUN_NOTES_MAX || strlen(json_string_value(n)) != json_string_length(n)) {
            json_decref(*tags);
            *tags = NULL;
            json_decref(o);
            return fedc_fail(err, "notes: text of at most %d bytes", RUN_NOTES_MAX);
        }
        *notes = strdup(json_string_value(n));
        if (!*notes) {
            json_decref(*tags);
            *tags = NULL;
            json_decref(o);
            return fedc_fail(err, "out of memory");
        }
    }
    json_decref(o);
    return 0;
}
