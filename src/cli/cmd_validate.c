/* fedc validate TASK.json [--set PATH=VALUE ...]: the validator's verdict and
 * the task with every default filled in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/task_args.h"

int fedc_cmd_validate(int argc, char **argv) {
    const char *path = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fedc validate: out of memory\n");
        return 1;
    }
    int nsets = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            sets[nsets++] = argv[++i];
        } else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: fedc validate TASK.json [--set PATH=VALUE ...] [--quiet]\n"
                   "Checks a task spec; prints it with defaults filled in, or the first error.\n");
            free(sets);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "fedc validate: unknown option %s\n", argv[i]);
            free(sets);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "fedc validate: one task file expected\n");
            free(sets);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: fedc validate TASK.json [--set PATH=VALUE ...]\n");
        free(sets);
        return 2;
    }
    fedc_task t;
    int rc = fedc_cli_load_task(path, sets, nsets, &t);
    free(sets);
    if (rc != 0) return 1;
    if (!quiet) {
        char *js = fedc_task_to_json(&t, 1);
        if (!js) {
            fprintf(stderr, "fedc validate: out of memory\n");
            return 1;
        }
        printf("%s\n", js);
        free(js);
    }
    fprintf(stderr, "%s: valid\n", path);
    return 0;
}
