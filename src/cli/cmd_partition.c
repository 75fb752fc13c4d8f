/* fedc partition TASK.json: how the task's training data is split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/num_args.h"
#include "cli/task_args.h"
#include "fedc/engine.h"
#include "fedc/data.h"

/* --rows N: how many clients the table lists. */
static int partition_option(void *ctx, int argc, char **argv, int *i) {
    if (strcmp(argv[*i], "--rows") || *i + 1 >= argc) return 0;
    return fedc_cli_int("partition", "--rows", argv[++*i], 0, 1000000, (int *)ctx) == 0 ? 1 : -1;
}

int fedc_cmd_partition(int argc, char **argv) {
    int rows = 20;
    const fedc_cli_task_command cmd = {
        "partition",
        "usage: fedc partition [TASK.json] [--set PATH=VALUE ...] [--rows N]\n"
        "Prints samples and label histogram per client, and skew statistics.\n",
        0, partition_option, &rows};
    fedc_task t;
    const char *path;
    int exit_code;
    if (fedc_cli_task_command_parse(&cmd, argc, argv, &t, &path, &exit_code) != 0) return exit_code;
    fedc_error err;
    fedc_dataset d;
    if (fedc_task_dataset_load(&t, 1, NULL, &d, &err) != 0) {
        fprintf(stderr, "fedc partition: %s\n", err.msg);
        return 1;
    }
    fedc_partition_config pc = {0};
    fedc_part_kind_parse(t.partition.kind, &pc.kind);
    pc.alpha = t.partition.alpha;
    pc.classes_per_client = t.partition.classes_per_client;
    pc.sigma = t.partition.sigma;
    fedc_partition p;
    if (fedc_partition_make(&d, &pc, t.clients, t.seed, &p, &err) != 0) {
        fprintf(stderr, "fedc partition: %s\n", err.msg);
        fedc_dataset_free(&d);
        return 1;
    }
    fedc_partition_print(stdout, &d, &p, rows);
    fedc_partition_free(&p);
    fedc_dataset_free(&d);
    return 0;
}
