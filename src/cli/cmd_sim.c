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
#include "mpi/launch.h"

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
            "                     dfedsam-mgs, dadao): run the gossip steps as a deployment does, relayed\n"
            "                     frames the nodes mix (dadao: the nodes' own events); the same models,\n"
            "                     and the bytes a deployment sends\n"
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

/* Under mpirun (cl set): the ranks' MPI figures to OUT/mpi.json on rank 0
 * (every rank must call this: it is a collective). */
static int write_mpi_stats(fedc_cluster *cl, fedc_transport *tp, int rounds, const char *dir) {
    uint64_t mine[3] = {fedc_sim_transport_served(tp), cl->bytes_sent, cl->bytes_received};
    fedc_buf all = {0};
    size_t *counts = calloc((size_t)cl->size, sizeof *counts);
    fedc_error err;
    int rc = counts ? cl->ops->allgather(cl, mine, sizeof mine, &all, counts, &err) : fedc_fail(&err, "out of memory");
    if (rc == 0 && all.len != (size_t)cl->size * sizeof mine) rc = fedc_fail(&err, "the ranks' figures are malformed");
    if (rc != 0) {
        fprintf(stderr, "fedc sim: gathering the MPI figures: %s\n", err.msg);
        free(counts);
        fedc_buf_free(&all);
        return -1;
    }
    if (cl->rank == 0) {
        char path[1024];
        snprintf(path, sizeof path, "%s/mpi.json", dir);
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "fedc sim: cannot write %s: %s\n", path, strerror(errno));
            rc = -1;
        } else {
            uint64_t sent = 0;
            fprintf(f, "{\"ranks\": %d, \"rounds\": %d, \"clients_per_rank\": [", cl->size, rounds);
            for (int r = 0; r < cl->size; r++) {
                uint64_t v[3];
                memcpy(v, all.data + (size_t)r * sizeof v, sizeof v);
                sent += v[1];
                fprintf(f, "%s%" PRIu64, r ? ", " : "", v[0]);
            }
            fprintf(f, "], \"mpi_bytes_sent_by_rank\": [");
            for (int r = 0; r < cl->size; r++) {
                uint64_t v[3];
                memcpy(v, all.data + (size_t)r * sizeof v, sizeof v);
                fprintf(f, "%s%" PRIu64, r ? ", " : "", v[1]);
            }
            fprintf(f, "], \"mpi_bytes_total\": %" PRIu64 ", \"mpi_bytes_per_round\": %.1f}\n", sent,
                    rounds > 0 ? (double)sent / rounds : 0.0);
            if (fclose(f) != 0) rc = -1;
        }
    }
    free(counts);
    fedc_buf_free(&all);
    return rc;
}

static int run_sim(int argc, char **argv, fedc_cluster *cl);

/* Under mpirun every rank says whether it set up: 1 if all did. Every
 * rank calls this exactly once before the first round, having failed or
 * not, so a rank that cannot start (say rank 0 cannot write the run
 * folder) stops every rank cleanly instead of leaving them in a round. */
static int agree(fedc_cluster *cl, int ok) {
    unsigned char mine = ok != 0;
    fedc_buf all = {0};
    size_t *counts = calloc((size_t)cl->size, sizeof *counts);
    fedc_error err;
    if (!counts || cl->ops->allgather(cl, &mine, 1, &all, counts, &err) != 0 || all.len != (size_t)cl->size)
        cl->ops->abort(cl, counts ? "the ranks could not agree on starting" : "out of memory");
    int all_ok = 1;
    for (size_t r = 0; r < all.len; r++)
        if (!all.data[r]) all_ok = 0;
    if (!all_ok && ok) fprintf(stderr, "fedc sim: rank %d: another rank could not start (see its error)\n", cl->rank);
    free(counts);
    fedc_buf_free(&all);
    return all_ok;
}

static int setup_failed(fedc_cluster *cl) {
    if (cl) agree(cl, 0);
    return 1;
}

/* `mpirun -np P fedc sim ...` needs no flag: the launcher's environment
 * says so before anything of MPI is touched, so a plain run stays plain. */
int fedc_cmd_sim(int argc, char **argv) {
    int launched = fedc_mpi_launched_size();
    /* One rank of a fedc without MPI is just a plain run. */
    if (launched == 0 || (launched == 1 && !fedc_mpi_available())) return run_sim(argc, argv, NULL);
    fedc_error err;
    fedc_cluster *cl = fedc_mpi_start(&err);
    if (!cl) {
        fprintf(stderr, "fedc sim: started by an MPI launcher (%d ranks): %s\n", launched, err.msg);
        return 1;
    }
    int status = run_sim(argc, argv, cl);
    fedc_mpi_stop(cl);
    return status;
}

static int run_sim(int argc, char **argv, fedc_cluster *cl) {
    int root = !cl || cl->rank == 0;
    const char *path = NULL, *metrics_path = NULL, *csv_path = NULL, *out_dir = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fedc sim: out of memory\n");
        return setup_failed(cl);
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
    if (rc != 0) return setup_failed(cl);
    if (!root) {
        /* Rank 0 speaks for the job; the others would repeat it. */
        quiet = 1;
        if (fedc_log_get_level() < FEDC_LOG_ERROR) fedc_log_set_level(FEDC_LOG_ERROR);
    }

    char dir[768];
    if (out_dir) snprintf(dir, sizeof dir, "%s", out_dir);
    else snprintf(dir, sizeof dir, "runs/%s-s%" PRIu64, task.name, task.seed);
    if (root && mkdirs(dir) != 0) {
        fprintf(stderr, "fedc sim: cannot create the run folder %s: %s\n", dir, strerror(errno));
        return setup_failed(cl);
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
        return setup_failed(cl);
    }
    fedc_run_set_gossip_relay(run, relay);
    fedc_transport *tp = fedc_sim_transport_create(run, &err);
    if (!tp || (cl && fedc_sim_transport_set_cluster(tp, cl, &err) != 0)) {
        fprintf(stderr, "fedc sim: %s\n", err.msg);
        if (tp) tp->ops->destroy(tp);
        fedc_run_free(run);
        return setup_failed(cl);
    }
    /* The run folder holds the task it ran: the run is reproducible from it. */
    char *js = root ? fedc_task_to_json(&task, 1) : NULL;
    FILE *tf = js ? fopen(p_task, "w") : NULL;
    int task_ok = !root || (tf && fprintf(tf, "%s\n", js) > 0);
    if (tf && fclose(tf) != 0) task_ok = 0;
    free(js);
    if (!task_ok) {
        fprintf(stderr, "fedc sim: cannot write %s: %s\n", p_task, js ? strerror(errno) : "out of memory");
        tp->ops->destroy(tp);
        fedc_run_free(run);
        return setup_failed(cl);
    }
    FILE *mf = root ? fopen(p_metrics, "w") : NULL;
    FILE *cf = root && csv_path ? fopen(csv_path, "w") : NULL;
    if (root && (!mf || (csv_path && !cf))) {
        fprintf(stderr, "fedc sim: cannot write %s: %s\n", !mf ? p_metrics : csv_path, strerror(errno));
        if (mf) fclose(mf);
        tp->ops->destroy(tp);
        fedc_run_free(run);
        return setup_failed(cl);
    }
    if (cl && !agree(cl, 1)) {
        if (mf) fclose(mf);
        if (cf) fclose(cf);
        tp->ops->destroy(tp);
        fedc_run_free(run);
        return 1;
    }
    if (cf) fedc_metrics_write_csv_header(cf);
    int tty = isatty(STDOUT_FILENO) && !quiet;
    if (!quiet)
        printf("fedc sim: %s | %s (%zu params) | %d clients, %d per round | %s | %d threads%s | setup %.2fs\n",
               task.name, fedc_arch_spec(fedc_run_arch(run)), fedc_run_nparams(run), task.clients,
               task.clients_per_round, task.strategy.name, fedc_pool_size(fedc_run_pool(run)),
               cl ? " per MPI rank" : "", fedc_wall_s() - t0);
    if (!quiet && cl) printf("fedc sim: %d MPI ranks, each trains the clients k with k mod %d = its rank\n", cl->size,
                             cl->size);
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
        if (mf) fedc_metrics_write_jsonl(mf, &m);
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
    if (mf) fclose(mf);
    if (cf) fclose(cf);
    if (cl && write_mpi_stats(cl, tp, fedc_run_rounds_done(run), dir) != 0) status = 1;
    if (root && fedc_run_save_model(run, p_model, &err) != 0) {
        fprintf(stderr, "fedc sim: saving the model: %s\n", err.msg);
        status = 1;
    }
    if (!quiet) {
        char dn[32], up[32];
        human_bytes((double)m.bytes_down_total, dn, sizeof dn);
        human_bytes((double)m.bytes_up_total, up, sizeof up);
        printf("done: %d rounds, accuracy %.4f, loss %.4f, %s down, %s up, %.1fs wall, peak RSS %.0f MB\n"
               "run folder: %s (task.json, metrics.jsonl, model.safetensors%s)\n",
               fedc_run_rounds_done(run), m.accuracy, m.loss, dn, up, fedc_wall_s() - t0,
               (double)fedc_peak_rss_bytes() / 1e6, dir, cl ? ", mpi.json" : "");
    }
    tp->ops->destroy(tp);
    fedc_run_free(run);
    return status;
}
