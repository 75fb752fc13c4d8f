/* fedc topology [TASK.json] [--set ...] [--json]: the task's communication
 * graph (topology.kind over `clients` nodes): degrees and the spectral gap
 * of its mixing matrix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/task_args.h"
#include "fedc/topology.h"

int fedc_cmd_topology(int argc, char **argv) {
    const char *path = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fedc topology: out of memory\n");
        return 1;
    }
    int nsets = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) sets[nsets++] = argv[++i];
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: fedc topology [TASK.json] [--set PATH=VALUE ...] [--json]\n"
                   "Prints the task's communication graph (topology.kind over `clients` nodes, topology.mixing\n"
                   "weights): edges, degree min/mean/max, the second largest eigenvalue magnitude of the mixing\n"
                   "matrix and the spectral gap 1 - lambda2 (of the expected matrix for matching).\n");
            free(sets);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "fedc topology: unknown option %s\n", argv[i]);
            free(sets);
            return 2;
        } else path = argv[i];
    }
    fedc_task t;
    int rc = fedc_cli_load_task(path, sets, nsets, &t);
    free(sets);
    if (rc != 0) return 1;
    fedc_topology_config tc = {{0}, {0}, t.topology.p, t.topology.k, t.topology.seed ? t.topology.seed : t.seed};
    snprintf(tc.kind, sizeof tc.kind, "%s", t.topology.kind);
    snprintf(tc.mixing, sizeof tc.mixing, "%s", t.topology.mixing);
    fedc_error err;
    fedc_topology *topo = fedc_topology_create(&tc, t.clients, &err);
    if (!topo) {
        fprintf(stderr, "fedc topology: %s\n", err.msg);
        return 1;
    }
    fedc_topology_stats st;
    rc = fedc_topology_stats_get(topo, &st, &err);
    fedc_topology_free(topo);
    if (rc != 0) {
        fprintf(stderr, "fedc topology: %s\n", err.msg);
        return 1;
    }
    if (json)
        printf("{\"kind\":\"%s\",\"mixing\":\"%s\",\"nodes\":%d,\"edges\":%d,\"degree_min\":%d,\"degree_mean\":%.6f,"
               "\"degree_max\":%d,\"lambda2\":%.9f,\"spectral_gap\":%.9f}\n",
               tc.kind, tc.mixing, st.n, st.edges, st.degree_min, st.degree_mean, st.degree_max, st.lambda2,
               st.spectral_gap);
    else
        fedc_topology_print(stdout, &st, &tc);
    return 0;
}
