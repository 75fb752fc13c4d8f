/* fedc partition TASK.json: how the task's training data is split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/num_args.h"
#include "cli/task_args.h"
#include "fedc/engine.h"
#include "fedc/data.h"

int fedc_cmd_partition(int argc, char **argv) {
    const char *path = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fedc partition: out of memory\n");
        return 1;
    }
    int nsets = 0, rows = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) sets[nsets++] = argv[++i];
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc) {
            if (fedc_cli_int("partition", "--rows", argv[++i], 0, 1000000, &rows) != 0) {
                free(sets);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: fedc partition [TASK.json] [--set PATH=VALUE ...] [--rows N]\n"
                   "Prints samples and label histogram per client, and skew statistics.\n");
            free(sets);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "fedc partition: unknown option %s\n", argv[i]);
            free(sets);
            return 2;
        } else path = argv[i];
    }
    fedc_task t;
    int rc = fedc_cli_load_task(path, sets, nsets, &t);
    free(sets);
    if (rc != 0) return 1;
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
