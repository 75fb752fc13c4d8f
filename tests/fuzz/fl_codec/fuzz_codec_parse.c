/* Fuzz target for codec pipeline strings (they come from task specs): parse
 * must accept or refuse with a message, the canonical name of an accepted
 * pipeline must parse to itself, and check() must agree with parse(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char s[512];
    size_t len = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, len);
    s[len] = '\0';
    fedc_error err, err2;
    err.msg[0] = '\0';
    fedc_codec *c = fedc_codec_parse(s, &err);
    int checked = fedc_codec_check(s, &err2);
    if ((c != NULL) != (checked == 0)) abort();
    if (!c) {
        if (err.msg[0] == '\0' || strcmp(err.msg, err2.msg) != 0) abort();
        return 0;
    }
    fedc_codec *again = fedc_codec_parse(fedc_codec_name(c), &err);
    if (!again || strcmp(fedc_codec_name(again), fedc_codec_name(c)) != 0) abort();
    if (fedc_codec_uses_error_feedback(again) != fedc_codec_uses_error_feedback(c)) abort();
    fedc_codec_free(again);
    fedc_codec_free(c);
    return 0;
}
