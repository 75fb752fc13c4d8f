/* Shared handling of "TASK.json [--set PATH=VALUE ...]" for subcommands. */
#ifndef FEDC_CLI_TASK_ARGS_H
#define FEDC_CLI_TASK_ARGS_H

#include "fedc/task.h"

/* Loads the task file ("-" = stdin, NULL = defaults) and applies the --set
 * assignments in order. Prints the error (naming file or --set) on failure. */
int fedc_cli_load_task(const char *path, char **sets, int nsets, fedc_task *t);

/* A command's own options beside the task's: returns 1 when argv[*i] is one
 * of them (with *i moved past any value it took), 0 when it is not, -1 when
 * its value is refused (the message printed). */
typedef int (*fedc_cli_own_option)(void *ctx, int argc, char **argv, int *i);

typedef struct fedc_cli_task_command {
    const char *name;      /* "partition", in messages: "fedc partition: ..." */
    const char *help;      /* printed for -h / --help, usage line first */
    int task_required;     /* 1: without TASK.json the command refuses to run */
    fedc_cli_own_option own; /* may be NULL */
    void *ctx;
} fedc_cli_task_command;

/* Parses "[TASK.json] [--set PATH=VALUE ...] [own options]" and loads the
 * task. Returns 0 with *t (and *path, NULL for the defaults) set, or -1 with
 * *exit_code the status the command should end with: 0 after --help, 2 for
 * a usage error, 1 when the task does not load. */
int fedc_cli_task_command_parse(const fedc_cli_task_command *c, int argc, char **argv, fedc_task *t,
                                const char **path, int *exit_code);

#endif
