/* Shared handling of "TASK.json [--set PATH=VALUE ...]" for subcommands. */
#ifndef FEDC_CLI_TASK_ARGS_H
#define FEDC_CLI_TASK_ARGS_H

#include "fedc/task.h"

/* Loads the task file ("-" = stdin, NULL = defaults) and applies the --set
 * assignments in order. Prints the error (naming file or --set) on failure. */
int fedc_cli_load_task(const char *path, char **sets, int nsets, fedc_task *t);

#endif
