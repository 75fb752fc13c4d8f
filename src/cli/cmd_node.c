/* fedc node: an edge node serving a fedc server with its local data. */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/node_load_gen.h"
#include "cli/num_args.h"
#include "fedc/log.h"
#include "fedc/node.h"

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: fedc node --server URL --credential FILE --data SPEC [options]\n"
            "  --server URL           wss://HOST:PORT (ws:// for a server started with --insecure)\n"
            "  --credential FILE      node credential from `fedc certs issue-node` or the web app\n"
            "  --data SPEC            local data:\n"
            "                           NAME:partition=K/N[,alpha=A][,kind=K][,seed=S][,path=DIR]\n"
            "                             NAME: a data catalog dataset (fedc data list), fmnist too;\n"
            "                             fetched into this node's cache when missing\n"
            "                           idx:DIR | idx:IMAGES,LABELS | csv:PATH[,label=COLUMN]\n"
            "  --state DIR            keep this node's client state (control variates, error-feedback\n"
            "                         residuals) here, so a restarted node continues where it left off\n"
            "  --connect-timeout S    per connection attempt (default 10)\n"
            "  --max-backoff S        longest wait between reconnects (default 30)\n"
            "  --max-attempts N       give up after N failed connects in a row (default: never)\n"
            "  --log-level LEVEL      debug|info|warn|error (default info)\n"
            "The node only ever sends the updates the task's strategy and codec produce.\n"
            "\n"
            "Hostile mode, to test robust aggregation in a deployment (docs/robustness.md):\n"
            "  --attack SPEC          KIND[,key=value...]: KIND sign-flip, scaling, noise, label-flip,\n"
            "                         backdoor, alie, ipm or unreliable; keys scale, target, source,\n"
            "                         poison_fraction (the task's attack.* fields), e.g. scaling,scale=100\n"
            "  --collude DIR          alie, ipm: folder shared with the other attackers' nodes\n"
            "  --colluders N          stop waiting once N attackers' updates are in DIR\n"
            "  --collude-wait S       longest wait for them per round (default 5)\n"
            "\n"
            "Load generator, for benchmarks of the server:\n"
            "  --load-gen N           open N node connections from this process, each answering every\n"
            "                         TRAIN with the model unchanged (no training, no --data); --credential\n"
            "                         is then a folder holding at least N credential files (*.pem), one\n"
            "                         per connection, the first N in name order\n");
}

int fedc_cmd_node(int argc, char **argv) {
    fedc_node_config cfg = {0};
    int load_gen = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--server") && has) cfg.server_url = argv[++i];
        else if (!strcmp(a, "--credential") && has) cfg.credential_path = argv[++i];
        else if (!strcmp(a, "--data") && has) cfg.data_spec = argv[++i];
        else if (!strcmp(a, "--state") && has) cfg.state_dir = argv[++i];
        else if (!strcmp(a, "--connect-timeout") && has) {
            if (fedc_cli_double("node", a, argv[++i], 0, 1, 3600, &cfg.connect_timeout_s) != 0) return 2;
        } else if (!strcmp(a, "--max-backoff") && has) {
            if (fedc_cli_double("node", a, argv[++i], 0, 1, 86400, &cfg.max_backoff_s) != 0) return 2;
        } else if (!strcmp(a, "--max-attempts") && has) {
            if (fedc_cli_int("node", a, argv[++i], 0, 1000000, &cfg.max_attempts) != 0) return 2;
        } else if (!strcmp(a, "--attack") && has) cfg.attack = argv[++i];
        else if (!strcmp(a, "--collude") && has) cfg.collude_dir = argv[++i];
        else if (!strcmp(a, "--colluders") && has) {
            if (fedc_cli_int("node", a, argv[++i], 1, 100000, &cfg.colluders) != 0) return 2;
        } else if (!strcmp(a, "--collude-wait") && has) {
            if (fedc_cli_double("node", a, argv[++i], 0, 1, 3600, &cfg.collude_wait_s) != 0) return 2;
        }
        else if (!strcmp(a, "--load-gen") && has) {
            if (fedc_cli_int("node", a, argv[++i], 1, 100000, &load_gen) != 0) return 2;
        }
        /* Hidden: benchmarks (echo) and the server's own tests (poison, delay, exit-at). */
        else if (!strcmp(a, "--echo")) cfg.echo = 1;
        else if (!strcmp(a, "--poison") && has) cfg.poison = argv[++i];
        else if (!strcmp(a, "--delay") && has) {
            if (fedc_cli_double("node", a, argv[++i], 0, 0, 3600, &cfg.delay_s) != 0) return 2;
        }
        else if (!strcmp(a, "--exit-at") && has) cfg.exit_at = argv[++i];
        else if (!strcmp(a, "--log-level") && has) {
            fedc_log_level lv;
            if (fedc_log_level_parse(argv[++i], &lv) != 0) {
                fprintf(stderr, "fedc node: --log-level %s: allowed: debug, info, warn, error, off\n", argv[i]);
                return 2;
            }
            fedc_log_set_level(lv);
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "fedc node: unknown or incomplete option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (load_gen && (cfg.data_spec || cfg.state_dir || cfg.attack || cfg.poison || cfg.exit_at)) {
        fprintf(stderr, "fedc node: --load-gen echoes the model: --data, --state, --attack, --poison and --exit-at "
                        "do not apply\n");
        return 2;
    }
    if (!cfg.server_url || !cfg.credential_path || (!cfg.data_spec && !cfg.echo && !load_gen)) {
        fprintf(stderr, "fedc node: --server, --credential and --data are required\n");
        usage(stderr);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    cfg.stop = &g_stop;
    if (cfg.state_dir && mkdir(cfg.state_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "fedc node: --state %s: %s\n", cfg.state_dir, strerror(errno));
        return 2;
    }
    fedc_error err;
    if (load_gen ? fedc_node_load_gen(&cfg, load_gen, &err) != 0 : fedc_node_run(&cfg, &err) != 0) {
        fprintf(stderr, "fedc node: %s\n", err.msg);
        return 1;
    }
    return 0;
}
