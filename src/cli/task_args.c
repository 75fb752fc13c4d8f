#include "cli/task_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int fedc_cli_task_command_parse(const fedc_cli_task_command *c, int argc, char **argv, fedc_task *t,
                                const char **path, int *exit_code) {
    *path = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fedc %s: out of memory\n", c->name);
        *exit_code = 1;
        return -1;
    }
    int nsets = 0;
    *exit_code = 2;
    for (int i = 1; i < argc; i++) {
        int own = c->own ? c->own(c->ctx, argc, argv, &i) : 0;
        if (own < 0) goto refuse;
        if (own > 0) continue;
        if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            sets[nsets++] = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(c->help, stdout);
            *exit_code = 0;
            goto refuse;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "fedc %s: unknown option %s\n", c->name, argv[i]);
            goto refuse;
        } else if (!*path) {
            *path = argv[i];
        } else {
            fprintf(stderr, "fedc %s: one task file expected (%s, then %s)\n", c->name, *path, argv[i]);
            goto refuse;
        }
    }
    if (!*path && c->task_required) {
        fprintf(stderr, "fedc %s: a task file is required\n%s", c->name, c->help);
        goto refuse;
    }
    int rc = fedc_cli_load_task(*path, sets, nsets, t);
    free(sets);
    if (rc == 0) return 0;
    *exit_code = 1;
    return -1;
refuse:
    free(sets);
    return -1;
}
