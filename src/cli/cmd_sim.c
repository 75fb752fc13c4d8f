/* fedc sim TASK.json: the task in one process, clients trained in parallel,
 * same round engine, strategies and codecs as a deployment. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/num_args.h"
#include "cli/task_args.h"
#include "fedc/deploy.h"
#include "fedc/engine.h"
#include "fedc/log.h"
#include "fedc/timer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: fedc sim TASK.json [options]\n"
            "  --set PATH=VALUE   override a task field (repeatable), e.g. --set rounds=10\n"
            "  --metrics FILE     per-round metrics as JSONL (default OUT/metrics.jsonl)\n"
            "  --csv FILE         per-round metrics as CSV too\n"
            "  --out DIR          run folder: task.json, metrics.jsonl, model.safetensors\n"
            "                     (default runs/NAME-sSEED)\n"
            "  --threads N        worker threads (default: all cores)\n"
            "  --eval-batch N     test samples a worker evaluates at once (default 64); the figures\n"
            "                     do not depend on it, each worker's memory grows with it\n"
            "  --quiet            no per-round lines\n"
            "  --gossip-relay     decentralised strategies (dpsgd, gossip, gossip-vc, dfedsam,\n"
            "                     dfedsam-mgs): run the gossip steps as a deployment does, relayed\n"
            "                     frames the nodes mix; the same models, and the bytes a deployment sends\n"
            "TASK.json may be '-' for stdin; without it the default task runs.\n");
}

static int mkdirs(const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    }
    return (mkdir(tmp, 0755) != 0 && errno != EEXIST) ? -1 : 0;
}

static void human_bytes(double b, char *out, size_t n) {
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000 && i < 4) {
        b /= 1000;
        i++;
    }
    snprintf(out, n, "%.1f %s", b, u[i]);
}

static void progress_bar(int done, int total, const fedc_round_metrics *m) {
    int width = 30, fill = total ? done * width / total : 0;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '-';
    bar[width] = 0;
    fprintf(stdout, "\r[%s] %d/%d  acc %.4f  %.1fs ", bar, done, total, m->accuracy, m->elapsed_s);
    fflush(stdout);
}

int fedc_cmd_sim(int argc, char **argv) {
    const char *path = NULL, *metrics_path = NULL, *csv_path = NULL, *out_dir = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fedc sim: out of memory\n");
        return 1;
    }
    int nsets = 0, threads = 0, quiet = 0, eval_batch = 0, relay = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--set") && has) sets[nsets++] = argv[++i];
        else if (!strcmp(a, "--metrics") && has) metrics_path = argv[++i];
        else if (!strcmp(a, "--csv") && has) csv_path = argv[++i];
        else if (!strcmp(a, "--out") && has) out_dir = argv[++i];
        else if (!strcmp(a, "--threads") && has) {
            if (fedc_cli_int("sim", a, argv[++i], 0, 1024, &threads) != 0) {
                free(sets);
                return 2;
            }
        }
        else if (!strcmp(a, "--eval-batch") && has) {
            if (fedc_cli_int("sim", a, argv[++i], 1, 65536, &eval_batch) != 0) {
                free(sets);
                return 2;
            }
        }
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = 1;
        else if (!strcmp(a, "--gossip-relay")) relay = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(sets);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "fedc sim: unknown or incomplete option %s\n", a);
            usage(stderr);
            free(sets);
            return 2;
        } else if (!path) path = a;
        else {
            fprintf(stderr, "fedc sim: one task file expected, got '%s' too\n", a);
            free(sets);
            return 2;
        }
    }
    fedc_task task;
    int rc = fedc_cli_load_task(path, sets, nsets, &task);
    free(sets);
    if (rc != 0) return 1;

    char dir[768];
    if (out_dir) snprintf(dir, sizeof dir, "%s", out_dir);
    else snprintf(dir, sizeof dir, "runs/%s-s%" PRIu64, task.name, task.seed);
    if (mkdirs(dir) != 0) {
        fprintf(stderr, "fedc sim: cannot create the run folder %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char p_task[1024], p_metrics[1024], p_model[1024];
    snprintf(p_task, sizeof p_task, "%s/task.json", dir);
    snprintf(p_metrics, sizeof p_metrics, "%s", metrics_path ? metrics_path : "");
    if (!metrics_path) snprintf(p_metrics, sizeof p_metrics, "%s/metrics.jsonl", dir);
    snprintf(p_model, sizeof p_model, "%s/model.safetensors", dir);

    fedc_error err;
    fedc_run_options ro = {.threads = threads, .quiet = quiet, .eval_batch = eval_batch};
    double t0 = fedc_wall_s();
    fedc_run *run = fedc_run_create(&task, &ro, &err);
    if (!run) {
        fprintf(stderr, "fedc sim: %s\n", err.msg);
        return 1;
    }
    fedc_run_set_gossip_relay(run, relay);
    fedc_transport *tp = fedc_sim_transport_create(run, &err);
    if (!tp) {
        fprintf(stderr, "fedc sim: %s\n", err.msg);
        fedc_run_free(run);
        return 1;
    }
    /* The run folder holds the task it ran: the run is reproducible from it. */
    char *js = fedc_task_to_json(&task, 1);
    FILE *tf = js ? fopen(p_task, "w") : NULL;
    int task_ok = tf && fprintf(tf, "%s\n", js) > 0;
    if (tf && fclose(tf) != 0) task_ok = 0;
    free(js);
    if (!task_ok) {
        fprintf(stderr, "fedc sim: cannot write %s: %s\n", p_task, js ? strerror(errno) : "out of memory");
        tp->ops->destroy(tp);
        fedc_run_free(run);
        return 1;
    }
    FILE *mf = fopen(p_metrics, "w");
    FILE *cf = csv_path ? fopen(csv_path, "w") : NULL;
    if (!mf || (csv_path && !cf)) {
        fprintf(stderr, "fedc sim: cannot write %s: %s\n", !mf ? p_metrics : csv_path, strerror(errno));
        if (mf) fclose(mf);
        tp->ops->destroy(tp);
        fedc_run_free(run);
        return 1;
    }
    if (cf) fedc_metrics_write_csv_header(cf);
    int tty = isatty(STDOUT_FILENO) && !quiet;
    if (!quiet)
        printf("fedc sim: %s | %s (%zu params) | %d clients, %d per round | %s | %d threads | setup %.2fs\n",
               task.name, fedc_arch_spec(fedc_run_arch(run)), fedc_run_nparams(run), task.clients,
               task.clients_per_round, task.strategy.name, fedc_pool_size(fedc_run_pool(run)),
               fedc_wall_s() - t0);
    if (!quiet && !tty)
        printf("%5s %8s %8s %11s %11s %9s %8s\n", "round", "acc", "loss", "down", "up", "cpu_s", "wall_s");
    fedc_round_metrics m = {0};
    int failures = 0, status = 0;
    while (!fedc_run_done(run)) {
        if (fedc_run_round(run, tp, &m, &err) != 0) {
            fprintf(stderr, "\nfedc sim: %s\n", err.msg);
            if (++failures >= 3) {
                status = 1;
                break;
            }
            continue;
        }
        fedc_metrics_write_jsonl(mf, &m);
        if (cf) fedc_metrics_write_csv(cf, &m);
        if (tty) {
            progress_bar(m.round, task.rounds, &m);
        } else if (!quiet) {
            char dn[32], up[32];
            human_bytes((double)m.bytes_down, dn, sizeof dn);
            human_bytes((double)m.bytes_up, up, sizeof up);
            printf("%5d %8.4f %8.4f %11s %11s %9.2f %8.2f\n", m.round, m.accuracy, m.loss, dn, up,
                   m.client_cpu_s, m.wall_s);
            fflush(stdout);
        }
    }
    if (tty) printf("\n");
    fclose(mf);
    if (cf) fclose(cf);
    if (fedc_run_save_model(run, p_model, &err) != 0) {
        fprintf(stderr, "fedc sim: saving the model: %s\n", err.msg);
        status = 1;
    }
    if (!quiet) {
        char dn[32], up[32];
        human_bytes((double)m.bytes_down_total, dn, sizeof dn);
        human_bytes((double)m.bytes_up_total, up, sizeof up);
        printf("done: %d rounds, accuracy %.4f, loss %.4f, %s down, %s up, %.1fs wall, peak RSS %.0f MB\n"
               "run folder: %s (task.json, metrics.jsonl, model.safetensors)\n",
               fedc_run_rounds_done(run), m.accuracy, m.loss, dn, up, fedc_wall_s() - t0,
               (double)fedc_peak_rss_bytes() / 1e6, dir);
    }
    tp->ops->destroy(tp);
    fedc_run_free(run);
    return status;
}
