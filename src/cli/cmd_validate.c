/* fedc validate TASK.json [--set PATH=VALUE ...]: the validator's verdict and
 * the task with every default filled in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/task_args.h"

/* -q / --quiet: the verdict only, not the filled-in task. */
static int validate_option(void *ctx, int argc, char **argv, int *i) {
    (void)argc;
    if (strcmp(argv[*i], "-q") && strcmp(argv[*i], "--quiet")) return 0;
    *(int *)ctx = 1;
    return 1;
}

int fedc_cmd_validate(int argc, char **argv) {
    int quiet = 0;
    const fedc_cli_task_command cmd = {
        "validate",
        "usage: fedc validate TASK.json [--set PATH=VALUE ...] [--quiet]\n"
        "Checks a task spec; prints it with defaults filled in, or the first error.\n",
        1, validate_option, &quiet};
    fedc_task t;
    const char *path;
    int exit_code;
    if (fedc_cli_task_command_parse(&cmd, argc, argv, &t, &path, &exit_code) != 0) return exit_code;
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
