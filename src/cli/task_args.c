#include "cli/task_args.h"

#include <stdio.h>
#include <stdlib.h>

#include "fedc/error.h"

int fedc_cli_load_task(const char *path, char **sets, int nsets, fedc_task *t) {
    fedc_error err;
    fedc_task_defaults(t);
    /* Messages from the loader already start with the file name. */
    if (path && fedc_task_load(path, t, &err) != 0) {
        fprintf(stderr, "fedc: %s\n", err.msg);
        return -1;
    }
    /* All overrides at once, validated together: some only make sense as a
     * pair (scheduling.policy=deadline with scheduling.deadline_s). */
    if (nsets > 0 && fedc_task_set_many(t, (const char *const *)sets, nsets, &err) != 0) {
        fprintf(stderr, "fedc: --set: %s\n", err.msg);
        return -1;
    }
    return 0;
}
