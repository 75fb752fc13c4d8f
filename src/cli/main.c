/* fedc: one binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "fedc/nn.h"
#include "fedc/version.h"
#include "fedc_git_commit.h"

int fedc_cmd_sim(int argc, char **argv);
int fedc_cmd_validate(int argc, char **argv);
int fedc_cmd_audit(int argc, char **argv);
int fedc_cmd_partition(int argc, char **argv);
int fedc_cmd_topology(int argc, char **argv);
int fedc_cmd_arch(int argc, char **argv);
int fedc_cmd_export(int argc, char **argv);
int fedc_cmd_tune(int argc, char **argv);
int fedc_cmd_server(int argc, char **argv);
int fedc_cmd_node(int argc, char **argv);
int fedc_cmd_certs(int argc, char **argv);
int fedc_cmd_demo(int argc, char **argv);
int fedc_cmd_intent(int argc, char **argv);
int fedc_cmd_data(int argc, char **argv);

const fedc_command fedc_commands[] = {
    {"sim", "run a task in one process (simulated clients)", fedc_cmd_sim},
    {"validate", "check a task spec and print it with defaults filled in", fedc_cmd_validate},
    {"partition", "print how a task's data is split across clients", fedc_cmd_partition},
    {"topology", "a decentralised task's graph: degrees and spectral gap of its mixing", fedc_cmd_topology},
    {"arch", "parameters and FLOPs of a model spec", fedc_cmd_arch},
    {"export", "a PyTorch module definition that loads a fedc model file", fedc_cmd_export},
    {"audit", "gradient-inversion attacks on a client's update under the task's protections", fedc_cmd_audit},
    {"tune", "search hyperparameters and architectures by running the task", fedc_cmd_tune},
    {"server", "parameter server: edge nodes, REST API and web app on one port", fedc_cmd_server},
    {"node", "edge node: train on local data for a fedc server", fedc_cmd_node},
    {"certs", "built-in CA: server certificate, node credentials, revocation", fedc_cmd_certs},
    {"demo", "server + local edge-node processes on Fashion-MNIST, live progress", fedc_cmd_demo},
    {"intent", "plain-language request -> task spec; fine-tuning dataset; evaluation", fedc_cmd_intent},
    {"data", "data catalog: list, fetch, verify and locate datasets", fedc_cmd_data},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
    fprintf(f, "fedc %s - federated learning in C\n\nusage: fedc <command> [args]\n\ncommands:\n",
            FEDC_VERSION);
    for (const fedc_command *c = fedc_commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n'fedc <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("fedc %s (commit %s)\n", FEDC_VERSION, FEDC_GIT_COMMIT);
        return 0;
    }
    /* Parallelism is across clients; BLAS stays single-threaded per worker. */
    fedc_nn_blas_init(1);
    for (const fedc_command *c = fedc_commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "fedc: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
