/* fedc server: the parameter server, REST API and web app on one port. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/num_args.h"
#include "cli/task_args.h"
#include "fedc/log.h"
#include "fedc/server.h"

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: fedc server --state DIR [options]\n"
            "  --state DIR          run store (runs.db), checkpoints, admin token, CA (DIR/certs)\n"
            "  --listen ADDR:PORT   where to listen (default 127.0.0.1:8443; port 0 = any free port)\n"
            "  --insecure           plain HTTP/WebSocket, no TLS (loopback development only)\n"
            "  --certs DIR          CA directory (default DIR/certs, created on first start)\n"
            "  --host NAME          host name or address nodes and browsers use (URLs, certificate)\n"
            "  --admin-token TOKEN  API token (default $FEDC_ADMIN_TOKEN or DIR/admin-token)\n"
            "  --checkpoint-every N rounds between checkpoints (default 1)\n"
            "  --threads N          evaluation threads (default: all cores)\n"
            "  --hello-timeout S    seconds a new node connection has to authenticate (default 10)\n"
            "  --max-flags N        refused updates before a node is left out of a run (default 3)\n"
            "  --header-timeout S   the TLS handshake and each request head must arrive within S\n"
            "                       seconds (default 10); else 408 and the connection is closed\n"
            "  --body-timeout S     each request body must arrive within S seconds of its head\n"
            "                       (default 30)\n"
            "  --max-unauth-per-address N  connections from one address that have not yet completed\n"
            "                       a request or authenticated as a node (default 32); more are\n"
            "                       refused at once\n"
            "  --max-active-runs N  runs that may train at once, 1..64 (default 0 = auto: 1 below 4\n"
            "                       cores, else cores/4 up to 4); another run never starts while less\n"
            "                       than 1 GiB of memory is available\n"
            "  --run TASK.json      queue a run at start (with --set PATH=VALUE overrides)\n"
            "  --set PATH=VALUE     override a field of the --run task (repeatable)\n"
            "  --port-file FILE     write the port actually used (for --listen ...:0)\n"
            "  --upstream URL       hierarchical aggregation: also be one node of the server at\n"
            "                       wss://HOST:PORT; each of its rounds runs over this server's own\n"
            "                       nodes and goes up as one update (their weighted mean, weighted\n"
            "                       by the sum of their samples)\n"
            "  --credential FILE    with --upstream: this server's node credential, issued by the\n"
            "                       upstream's CA (`fedc certs issue-node`), as `fedc node` uses it\n"
            "  --leaf-clients N     with --upstream: client slots below (the nodes' partitions K/N;\n"
            "                       default: the upstream task's clients)\n"
            "  --leaf-min-nodes N   with --upstream: nodes to wait for before joining an upstream\n"
            "                       run (default 1); only they train for it\n"
            "  --log-level LEVEL    debug|info|warn|error (default info)\n"
            "  --check-store        check STATE/runs.db in full (SQLite integrity_check and every\n"
            "                       row's checksum), print what is wrong and exit (0 sound, 1 damaged)\n"
            "  --recover-store      recover a damaged STATE/runs.db into a new store that takes its\n"
            "                       place (rows that fail their checksum are dropped); the damaged\n"
            "                       file is kept as runs.db.damaged-TIME. Stop the server first\n"
            "Runs until SIGINT/SIGTERM; unfinished runs resume at the next start. The server does\n"
            "not start on a damaged run store (it says so and how to recover it).\n");
}

/* --check-store / --recover-store: offline work on STATE/runs.db. */
static int store_maintenance(const char *state_dir, int recover) {
    fedc_error err;
    char *report = NULL;
    int damaged = fedc_server_check_store(state_dir, 1, &report, &err);
    if (damaged < 0) {
        fprintf(stderr, "fedc server: %s\n", err.msg);
        return 1;
    }
    if (!damaged) {
        printf("fedc server: the run store %s/runs.db is sound (integrity_check and every row's checksum)%s\n",
               state_dir, recover ? "; nothing to recover" : "");
        free(report);
        return 0;
    }
    printf("fedc server: the run store %s/runs.db is damaged:\n%s", state_dir, report ? report : "");
    free(report);
    if (!recover) {
        printf("Recover it with: fedc server --state %s --recover-store\n", state_dir);
        return 1;
    }
    report = NULL;
    int rc = fedc_server_recover_store(state_dir, &report, &err);
    printf("%s", report ? report : "");
    free(report);
    if (rc != 0) {
        fprintf(stderr, "fedc server: recovery failed: %s\n", err.msg);
        return 1;
    }
    printf("fedc server: recovered; the server can start on %s again\n", state_dir);
    return 0;
}

int fedc_split_listen(const char *s, char *host, size_t cap, int *port) {
    const char *colon = strrchr(s, ':');
    if (!colon) return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || p < 0 || p > 65535) return -1;
    size_t hl = (size_t)(colon - s);
    if (hl && s[0] == '[' && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl == 0 || hl >= cap) return -1;
    memcpy(host, s, hl);
    host[hl] = 0;
    *port = (int)p;
    return 0;
}

int fedc_cmd_server(int argc, char **argv) {
    fedc_server_config cfg = {0};
    cfg.port = 8443;
    char host[256] = "127.0.0.1";
    const char *run_path = NULL, *port_file = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fedc server: out of memory\n");
        return 1;
    }
    int nsets = 0, want_run = 0, check_store = 0, recover_store = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--state") && has) cfg.state_dir = argv[++i];
        else if (!strcmp(a, "--listen") && has) {
            if (fedc_split_listen(argv[++i], host, sizeof host, &cfg.port) != 0) {
                fprintf(stderr, "fedc server: --listen %s: expected ADDRESS:PORT (port 0..65535)\n", argv[i]);
                free(sets);
                return 2;
            }
        } else if (!strcmp(a, "--insecure")) cfg.insecure = 1;
        else if (!strcmp(a, "--certs") && has) cfg.certs_dir = argv[++i];
        else if (!strcmp(a, "--host") && has) cfg.public_host = argv[++i];
        else if (!strcmp(a, "--admin-token") && has) cfg.admin_token = argv[++i];
        else if (!strcmp(a, "--checkpoint-every") && has) {
            if (fedc_cli_int("server", a, argv[++i], 1, 1000000, &cfg.checkpoint_every) != 0) {
                free(sets);
                return 2;
            }
        } else if (!strcmp(a, "--threads") && has) { /* 0: all cores */
            if (fedc_cli_int("server", a, argv[++i], 0, 1024, &cfg.threads) != 0) {
                free(sets);
                return 2;
            }
        } else if (!strcmp(a, "--hello-timeout") && has) {
            if (fedc_cli_double("server", a, argv[++i], 0, 1, 3600, &cfg.hello_timeout_s) != 0) {
                free(sets);
                return 2;
            }
        } else if (!strcmp(a, "--max-flags") && has) {
            if (fedc_cli_int("server", a, argv[++i], 1, 1000000, &cfg.max_flags) != 0) {
                free(sets);
                return 2;
            }
        } else if ((!strcmp(a, "--header-timeout") || !strcmp(a, "--body-timeout")) && has) {
            double v;
            if (fedc_cli_double("server", a, argv[++i], 0, 1, 3600, &v) != 0) {
                free(sets);
                return 2;
            }
            if (!strcmp(a, "--header-timeout")) cfg.header_timeout_s = v;
            else cfg.body_timeout_s = v;
        } else if (!strcmp(a, "--max-unauth-per-address") && has) {
            if (fedc_cli_int("server", a, argv[++i], 1, 1000000, &cfg.max_unauth_per_address) != 0) {
                free(sets);
                return 2;
            }
        } else if (!strcmp(a, "--max-active-runs") && has) { /* 0: automatic */
            if (fedc_cli_int("server", a, argv[++i], 0, 64, &cfg.max_active_runs) != 0) {
                free(sets);
                return 2;
            }
        } else if (!strcmp(a, "--run") && has) {
            run_path = argv[++i];
            want_run = 1;
        } else if (!strcmp(a, "--set") && has) sets[nsets++] = argv[++i];
        else if (!strcmp(a, "--port-file") && has) port_file = argv[++i];
        else if (!strcmp(a, "--upstream") && has) cfg.upstream_url = argv[++i];
        else if (!strcmp(a, "--credential") && has) cfg.upstream_credential = argv[++i];
        else if ((!strcmp(a, "--leaf-clients") || !strcmp(a, "--leaf-min-nodes")) && has) {
            int v;
            if (fedc_cli_int("server", a, argv[++i], 1, 100000, &v) != 0) {
                free(sets);
                return 2;
            }
            if (!strcmp(a, "--leaf-clients")) cfg.leaf_clients = v;
            else cfg.leaf_min_nodes = v;
        }
        else if (!strcmp(a, "--check-store")) check_store = 1;
        else if (!strcmp(a, "--recover-store")) recover_store = 1;
        else if (!strcmp(a, "--log-level") && has) {
            fedc_log_level lv;
            if (fedc_log_level_parse(argv[++i], &lv) != 0) {
                fprintf(stderr, "fedc server: --log-level %s: allowed: debug, info, warn, error, off\n", argv[i]);
                free(sets);
                return 2;
            }
            fedc_log_set_level(lv);
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(sets);
            return 0;
        } else {
            fprintf(stderr, "fedc server: unknown or incomplete option %s\n", a);
            usage(stderr);
            free(sets);
            return 2;
        }
    }
    if (!cfg.state_dir) {
        fprintf(stderr, "fedc server: --state DIR is required\n");
        usage(stderr);
        free(sets);
        return 2;
    }
    if (check_store || recover_store) {
        free(sets);
        return store_maintenance(cfg.state_dir, recover_store);
    }
    const char *needs_upstream = cfg.upstream_credential ? "--credential"
                                 : cfg.leaf_clients         ? "--leaf-clients"
                                 : cfg.leaf_min_nodes       ? "--leaf-min-nodes"
                                                            : NULL;
    if (needs_upstream && !cfg.upstream_url) {
        fprintf(stderr, "fedc server: %s applies to a mid-level server; give --upstream wss://HOST:PORT\n",
                needs_upstream);
        free(sets);
        return 2;
    }
    if (cfg.upstream_url) {
        if (!cfg.upstream_credential) {
            fprintf(stderr, "fedc server: --upstream needs --credential FILE (this server's node credential, "
                            "issued by the upstream's CA)\n");
            free(sets);
            return 2;
        }
        if (strncmp(cfg.upstream_url, "wss://", 6) != 0 && strncmp(cfg.upstream_url, "ws://", 5) != 0) {
            fprintf(stderr, "fedc server: --upstream %s: expected wss://HOST:PORT\n", cfg.upstream_url);
            free(sets);
            return 2;
        }
        if (want_run) {
            fprintf(stderr, "fedc server: --run with --upstream: a mid-level server trains the upstream's runs; "
                            "queue runs on the upstream server\n");
            free(sets);
            return 2;
        }
        if (cfg.leaf_clients && cfg.leaf_min_nodes > cfg.leaf_clients) {
            fprintf(stderr, "fedc server: --leaf-min-nodes %d is more than --leaf-clients %d\n", cfg.leaf_min_nodes,
                    cfg.leaf_clients);
            free(sets);
            return 2;
        }
    }
    if (nsets && !want_run) {
        fprintf(stderr, "fedc server: --set applies to the --run task; give --run TASK.json (or --run -)\n");
        free(sets);
        return 2;
    }
    cfg.bind = host;
    char *task_json = NULL;
    if (want_run) {
        fedc_task t;
        if (fedc_cli_load_task(!strcmp(run_path, "default") ? NULL : run_path, sets, nsets, &t) != 0) {
            free(sets);
            return 1;
        }
        task_json = fedc_task_to_json(&t, 0);
        if (!task_json) {
            fprintf(stderr, "fedc server: out of memory\n");
            free(sets);
            return 1;
        }
    }
    free(sets);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    fedc_error err;
    fedc_server *s = fedc_server_start(&cfg, &err);
    if (!s) {
        fprintf(stderr, "fedc server: %s\n", err.msg);
        free(task_json);
        return 1;
    }
    printf("fedc server: dashboard %s\n             nodes connect to %s\n", fedc_server_dashboard_url(s),
           fedc_server_node_url(s));
    if (fedc_server_token_generated(s))
        printf("             admin token (shown once; kept in %s/admin-token): %s\n", cfg.state_dir,
               fedc_server_admin_token(s));
    fflush(stdout);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "%d\n", fedc_server_port(s));
            fclose(f);
        } else {
            fprintf(stderr, "fedc server: cannot write %s\n", port_file);
        }
    }
    if (task_json) {
        int64_t id;
        if (fedc_server_submit(s, task_json, strlen(task_json), &id, &err) != 0)
            fprintf(stderr, "fedc server: --run: %s\n", err.msg);
        else
            printf("fedc server: queued run %lld\n", (long long)id);
        fflush(stdout);
        free(task_json);
    }
    while (!g_stop) {
        struct timespec ts = {0, 200000000L};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "fedc server: stopping\n");
    fedc_server_stop(s);
    return 0;
}
