#include "cli/task_args.h"

#include <stdio.h>
#include <stdlib.h>

#include "fedc/error.h"

int fedc_cli_load_task(const char *path, char **sets, int nsets, fedc_task *t) {
    fedc_error err;
    fedc_task_defaults(t);
    if (path && fedc_task_load(path, t, &err) != 0) {
        fprintf(stderr, "fedc: %s: %s\n", path, err.msg);
        return -1;
    }
    for (int i = 0; i < nsets; i++) {
        if (fedc_task_set(t, sets[i], &err) != 0) {
            fprintf(stderr, "fedc: --set %s: %s\n", sets[i], err.msg);
            return -1;
        }
    }
    return 0;
}
