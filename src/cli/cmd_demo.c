/* fedc demo: a parameter server and N edge-node processes on loopback,
 * each node holding one Dirichlet partition of Fashion-MNIST, running the
 * default task with live progress, the dashboard URL and a summary. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/num_args.h"
#include "cli/task_args.h"
#include "fedc/certs.h"
#include "fedc/log.h"
#include "fedc/server.h"
#include "fedc/timer.h"

int fedc_split_listen(const char *s, char *host, size_t cap, int *port);

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

typedef struct demo_progress {
    int rounds_total;
    int64_t run_id;
    volatile int finished;
    char status[16];
} demo_progress;

static void human_bytes(double b, char *out, size_t n) {
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000 && i < 4) {
        b /= 1000;
        i++;
    }
    snprintf(out, n, "%.1f %s", b, u[i]);
}

static void on_progress(void *ctx, int64_t run_id, const fedc_round_metrics *m, const char *status) {
    demo_progress *p = ctx;
    if (run_id != p->run_id) return;
    if (m) {
        char dn[32], up[32];
        human_bytes((double)m->bytes_down_total, dn, sizeof dn);
        human_bytes((double)m->bytes_up_total, up, sizeof up);
        printf("round %3d/%-3d  acc %.4f  loss %.4f  nodes %d/%d%s  %s down  %s up  %.2fs\n", m->round,
               p->rounds_total, m->accuracy, m->loss, m->participants, m->selected,
               m->dropped || m->rejected ? " (some dropped/refused)" : "", dn, up, m->wall_s);
        fflush(stdout);
        return;
    }
    snprintf(p->status, sizeof p->status, "%s", status);
    if (strcmp(status, "running") != 0) p->finished = 1;
}

static int ensure_dir(const char *p) { return mkdir(p, 0700) == 0 || errno == EEXIST ? 0 : -1; }

/* The demo's node credentials persist in STATE/demo-nodes so demos can be repeated. */
static int node_credential(const char *state, const char *certs, int k, char *path, size_t cap) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/demo-nodes", state);
    if (ensure_dir(dir) != 0) {
        fprintf(stderr, "fedc demo: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    snprintf(path, cap, "%s/demo-node-%d.pem", dir, k);
    if (access(path, R_OK) == 0) return 0;
    char name[32];
    snprintf(name, sizeof name, "demo-node-%d", k);
    int64_t id;
    char *pem = NULL;
    fedc_error err;
    if (fedc_certs_issue_node(certs, name, &id, &pem, &err) != 0) {
        fprintf(stderr, "fedc demo: %s\n", err.msg);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int ok = fd >= 0 && write(fd, pem, strlen(pem)) == (ssize_t)strlen(pem);
    if (fd >= 0 && close(fd) != 0) ok = 0;
    free(pem);
    if (!ok) fprintf(stderr, "fedc demo: cannot write %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

static pid_t spawn_node(const char *self, const char *url, const char *cred, const char *data, const char *log) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    execl(self, self, "node", "--server", url, "--credential", cred, "--data", data, "--max-backoff", "5",
          (char *)NULL);
    _exit(127);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: fedc demo [TASK.json] [options]\n"
            "  --nodes N          edge-node processes (default 10), each with partition K/N of Fashion-MNIST\n"
            "  --alpha A          Dirichlet label skew of the partitions (default 0.5)\n"
            "  --rounds R         rounds (default: the task file's, else 20)\n"
            "  --set PATH=VALUE   override a task field (repeatable)\n"
            "  --state DIR        server state (default runs/demo-state)\n"
            "  --listen ADDR:PORT (default 127.0.0.1:8443)\n"
            "  --insecure         no TLS\n"
            "  --exit-when-done   stop everything when the run ends (default: serve until Ctrl-C)\n");
}

int fedc_cmd_demo(int argc, char **argv) {
    const char *task_path = NULL, *state = "runs/demo-state";
    char host[256] = "127.0.0.1";
    /* rounds_given: --rounds wins over the task file's rounds (and the demo's 20). */
    int port = 8443, nodes = 10, rounds = 20, rounds_given = 0, insecure = 0, exit_when_done = 0;
    double alpha = 0.5;
    char **sets = calloc((size_t)argc + 8, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fedc demo: out of memory\n");
        return 1;
    }
    int nsets = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        int bad = 0;
        if (!strcmp(a, "--nodes") && has) bad = fedc_cli_int("demo", a, argv[++i], 1, 1000, &nodes);
        else if (!strcmp(a, "--alpha") && has) bad = fedc_cli_double("demo", a, argv[++i], 0, 1, 1e6, &alpha);
        else if (!strcmp(a, "--rounds") && has) {
            bad = fedc_cli_int("demo", a, argv[++i], 1, 1000000, &rounds);
            rounds_given = 1;
        } else if (!strcmp(a, "--set") && has) sets[nsets++] = argv[++i];
        else if (!strcmp(a, "--state") && has) state = argv[++i];
        else if (!strcmp(a, "--listen") && has) {
            if (fedc_split_listen(argv[++i], host, sizeof host, &port) != 0) {
                fprintf(stderr, "fedc demo: --listen %s: expected ADDRESS:PORT\n", argv[i]);
                free(sets);
                return 2;
            }
        } else if (!strcmp(a, "--insecure")) insecure = 1;
        else if (!strcmp(a, "--exit-when-done")) exit_when_done = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(sets);
            return 0;
        } else if (a[0] != '-' && !task_path) task_path = a;
        else {
            fprintf(stderr, "fedc demo: unknown or incomplete option %s\n", a);
            usage(stderr);
            free(sets);
            return 2;
        }
        if (bad) {
            free(sets);
            return 2;
        }
    }
    /* The federation is the demo's nodes; explicit --set still win. */
    char s_clients[64], s_cpr[64], s_alpha[64], s_rounds[64], s_min[64];
    snprintf(s_clients, sizeof s_clients, "clients=%d", nodes);
    snprintf(s_cpr, sizeof s_cpr, "clients_per_round=%d", nodes);
    snprintf(s_alpha, sizeof s_alpha, "partition={\"kind\":\"dirichlet\",\"alpha\":%g}", alpha);
    snprintf(s_rounds, sizeof s_rounds, "rounds=%d", rounds);
    snprintf(s_min, sizeof s_min, "deploy={\"min_nodes\":%d,\"connect_timeout_s\":120}", nodes);
    char *all[8 + 64];
    int na = 0;
    all[na++] = s_clients;
    all[na++] = s_cpr;
    all[na++] = s_alpha;
    if (!task_path || rounds_given) all[na++] = s_rounds;
    all[na++] = s_min;
    if (nsets > 64) {
        fprintf(stderr, "fedc demo: %d --set options; at most 64\n", nsets);
        free(sets);
        return 2;
    }
    for (int i = 0; i < nsets; i++) all[na++] = sets[i];
    fedc_task t;
    int rc = fedc_cli_load_task(task_path, all, na, &t);
    free(sets);
    if (rc != 0) return 1;
    char *task_json = fedc_task_to_json(&t, 0);
    if (!task_json) {
        fprintf(stderr, "fedc demo: out of memory\n");
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fedc_log_set_level(FEDC_LOG_WARN);
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", state);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = 0;
        if (parent[0] && ensure_dir(parent) != 0) {
            fprintf(stderr, "fedc demo: cannot create %s: %s\n", parent, strerror(errno));
            free(task_json);
            return 1;
        }
    }
    fedc_server_config cfg = {0};
    cfg.state_dir = state;
    cfg.bind = host;
    cfg.port = port;
    cfg.insecure = insecure;
    fedc_error err;
    fedc_server *s = fedc_server_start(&cfg, &err);
    if (!s) {
        fprintf(stderr, "fedc demo: %s\n", err.msg);
        free(task_json);
        return 1;
    }
    char certs[1100], self[1024];
    snprintf(certs, sizeof certs, "%s/certs", state);
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        fprintf(stderr, "fedc demo: cannot find the fedc binary\n");
        fedc_server_stop(s);
        free(task_json);
        return 1;
    }
    self[sl] = 0;
    pid_t *pids = calloc((size_t)nodes, sizeof *pids);
    if (!pids) {
        fprintf(stderr, "fedc demo: out of memory\n");
        fedc_server_stop(s);
        free(task_json);
        return 1;
    }
    printf("fedc demo: %d edge nodes, %s, %d rounds, Fashion-MNIST Dirichlet(%g) partitions\n", nodes, t.model,
           t.rounds, alpha);
    printf("dashboard: %s   (admin token: %s)\n", fedc_server_dashboard_url(s), fedc_server_admin_token(s));
    for (int k = 0; k < nodes; k++) {
        char cred[1100], data[128], log[1200];
        if (node_credential(state, certs, k, cred, sizeof cred) != 0) {
            g_stop = 1;
            break;
        }
        snprintf(data, sizeof data, "fmnist:partition=%d/%d,alpha=%g", k, nodes, alpha);
        snprintf(log, sizeof log, "%s/demo-nodes/demo-node-%d.log", state, k);
        pids[k] = spawn_node(self, fedc_server_node_url(s), cred, data, log);
    }
    printf("node logs: %s/demo-nodes/*.log\n", state);
    fflush(stdout);
    demo_progress prog = {t.rounds, 0, 0, ""};
    int64_t run_id = 0;
    /* Listen before the run can start, so no round is missed. */
    prog.run_id = -1;
    fedc_server_set_listener(s, on_progress, &prog);
    if (!g_stop && fedc_server_submit(s, task_json, strlen(task_json), &run_id, &err) != 0) {
        fprintf(stderr, "fedc demo: %s\n", err.msg);
        g_stop = 1;
    }
    prog.run_id = run_id;
    free(task_json);
    double t0 = fedc_wall_s();
    int status = 0, summarized = 0;
    while (!g_stop) {
        struct timespec ts = {0, 200000000L};
        nanosleep(&ts, NULL);
        if (prog.finished && !summarized) {
            fedc_server_run_info info;
            if (fedc_server_run_info_get(s, run_id, &info, &err) == 0) {
                char dn[32], up[32];
                human_bytes((double)info.bytes_down, dn, sizeof dn);
                human_bytes((double)info.bytes_up, up, sizeof up);
                printf("\nrun %lld %s: %d/%d rounds, accuracy %.4f (best %.4f), %s down, %s up, %.1fs\n",
                       (long long)run_id, info.status, info.rounds_done, info.rounds_total, info.accuracy,
                       info.best_accuracy, dn, up, fedc_wall_s() - t0);
                if (info.error[0]) printf("reason: %s\n", info.error);
                printf("model and metrics: %sapi/runs/%lld/model, .../metrics.csv\n", fedc_server_dashboard_url(s),
                       (long long)run_id);
                status = strcmp(info.status, "done") == 0 ? 0 : 1;
            }
            summarized = 1;
            if (exit_when_done) break;
            printf("serving the dashboard until Ctrl-C\n");
            fflush(stdout);
        }
    }
    for (int k = 0; k < nodes; k++)
        if (pids[k] > 0) kill(pids[k], SIGTERM);
    for (int k = 0; k < nodes; k++)
        if (pids[k] > 0) waitpid(pids[k], NULL, 0);
    free(pids);
    fedc_server_stop(s);
    return status;
}
