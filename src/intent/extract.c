/* Finding the JSON object in a language model's answer. Models asked for
 * JSON still wrap it in code fences or a sentence now and then; the object
 * is the first balanced {...} (strings and escapes respected), inside the
 * first ```json fence if there is one. The answer is outside input: every
 * index is bounded by its length. */
#include <stdlib.h>
#include <string.h>

#include "intent/intent_internal.h"

/* End (exclusive) of the object starting at s[b] == '{', or 0 if it never
 * closes. */
static size_t object_end(const char *s, size_t b, size_t len) {
    size_t depth = 0;
    int in_str = 0;
    for (size_t i = b; i < len; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = 0;
            continue;
        }
        if (ch == '"') in_str = 1;
        else if (ch == '{') depth++;
        else if (ch == '}' && --depth == 0) return i + 1;
    }
    return 0;
}

static const char *find_bounded(const char *s, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(s + i, needle, n) == 0) return s + i;
    return NULL;
}

char *intent_extract_json(const char *text, size_t len, fedc_error *err) {
    size_t b = 0, e = len;
    const char *fence = find_bounded(text, len, "```");
    if (fence) {
        size_t f = (size_t)(fence - text) + 3;
        while (f < len && text[f] != '\n' && text[f] != '{') f++; /* language tag */
        const char *close = find_bounded(text + f, len - f, "```");
        b = f;
        e = close ? (size_t)(close - text) : len;
    }
    size_t start = b;
    while (start < e && text[start] != '{') start++;
    if (start >= e) {
        fedc_fail(err, "the answer holds no JSON object (it should be one {...} with the task fields)");
        return NULL;
    }
    size_t end = object_end(text, start, e);
    if (!end) {
        fedc_fail(err, "the JSON object in the answer is not closed (a '}' is missing)");
        return NULL;
    }
    char *out = malloc(end - start + 1);
    if (!out) {
        fedc_fail(err, "out of memory");
        return NULL;
    }
    memcpy(out, text + start, end - start);
    out[end - start] = '\0';
    return out;
}
