/* fedc topology [TASK.json] [--set ...] [--json]: the task's communication
 * graph (topology.kind over `clients` nodes): degrees and the spectral gap
 * of its mixing matrix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/task_args.h"
#include "fedc/topology.h"

/* --json: one JSON object instead of the table. */
static int topology_option(void *ctx, int argc, char **argv, int *i) {
    (void)argc;
    if (strcmp(argv[*i], "--json")) return 0;
    *(int *)ctx = 1;
    return 1;
}

int fedc_cmd_topology(int argc, char **argv) {
    int json = 0;
    const fedc_cli_task_command cmd = {
        "topology",
        "usage: fedc topology [TASK.json] [--set PATH=VALUE ...] [--json]\n"
        "Prints the task's communication graph (topology.kind over `clients` nodes, topology.mixing\n"
        "weights): edges, degree min/mean/max, the second largest eigenvalue magnitude of the mixing\n"
        "matrix and the spectral gap 1 - lambda2 (of the expected matrix for matching).\n",
        0, topology_option, &json};
    fedc_task t;
    const char *path;
    int exit_code;
    if (fedc_cli_task_command_parse(&cmd, argc, argv, &t, &path, &exit_code) != 0) return exit_code;
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
    int rc = fedc_topology_stats_get(topo, &st, &err);
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
