/* Fuzz target: the outside inputs of a cost-aware search — a limit as given
 * on the command line (--max-client-cpu, --max-bytes), a list of Pareto axes,
 * a stored trial's costs JSON and a stored search's options JSON (the goal's
 * keys among them). Besides not crashing or leaking: a limit that parses is
 * positive and finite and formats back to a limit that parses to the same
 * unit; options that parse normalise or fail with a message. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/tune.h"
#include "tune/tune_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    fedc_error err;
    for (int bytes = 0; bytes < 2; bytes++) {
        fedc_tune_limit l;
        if (fedc_tune_limit_parse(text, bytes, &l, &err) == 0) {
            if (!(l.value > 0) || !isfinite(l.value) || l.unit == FEDC_TUNE_LIMIT_OFF) abort();
            char back[64];
            fedc_tune_limit_format(&l, back, sizeof back);
            fedc_tune_limit l2;
            if (fedc_tune_limit_parse(back, bytes, &l2, &err) != 0 || l2.unit != l.unit) abort();
        } else if (!err.msg[0]) {
            abort();
        }
    }
    unsigned axes;
    if (fedc_tune_axes_parse(text, &axes, &err) == 0 && (axes == 0 || axes > 7)) abort();
    fedc_tune_measure m;
    memset(&m, 0, sizeof m);
    tune_costs_read(text, &m);
    fedc_tune_options o;
    memset(&o, 0, sizeof o);
    if (tune_options_from_json(text, &o, &err) == 0) {
        o.budget = 4;
        o.parallel = 1;
        if (tune_options_normalize(&o, NULL, &err) != 0 && !err.msg[0]) abort();
    }
    free(text);
    return 0;
}
