/* fedc intent: plain-language requests -> task specs (embedded parser or an
 * LLM endpoint), the fine-tuning dataset, and the evaluation of a backend.
 *   fedc intent [options] "REQUEST"
 *   fedc intent dataset --n N --seed S [--holdout F] [--out FILE] [--holdout-out FILE]
 *   fedc intent eval FILE [--backend builtin|llm] [--verbose] [llm options] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/intent_submit.h"
#include "cli/num_args.h"

#include "fedc/intent.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: fedc intent [options] \"REQUEST\"      (REQUEST \"-\" reads standard input)\n"
            "       fedc intent dataset --n N --seed S [--holdout F] [--out FILE] [--holdout-out FILE]\n"
            "       fedc intent eval FILE [--backend builtin|llm] [--verbose] [--json] [llm options]\n"
            "\n"
            "Turns a plain-language request into a validated task spec and explains each choice.\n"
            "options:\n"
            "  --json                 machine-readable result (task, explanation, not-understood words)\n"
            "  --out FILE             also write the task spec to FILE\n"
            "  --run [-- SIM-ARGS]    launch the task with 'fedc sim' (arguments after -- go to sim)\n"
            "  --run --server URL     submit it to a fedc server instead (POST /api/runs), with\n"
            "        [--token T]      its admin token (default $FEDC_ADMIN_TOKEN) and\n"
            "        [--cacert FILE]  its CA certificate (STATE/certs/ca.crt) for https\n"
            "  --backend builtin|llm  embedded parser (default) or an OpenAI-compatible endpoint\n"
            "llm options (also from FEDC_LLM_URL, FEDC_LLM_MODEL, FEDC_LLM_KEY):\n"
            "  --url URL --model NAME --key KEY\n"
            "  --timeout S (60) --connect-timeout S (5) --repairs N (2) --max-bytes N (1048576)\n"
            "  --fallback builtin     use the embedded parser when the endpoint fails\n"
            "dataset: JSONL chat examples for fine-tuning; --holdout F sends a share F to --holdout-out,\n"
            "  written with phrasings the training part never uses.\n"
            "eval: exact-match rate of whole task specs and per-field accuracy on a JSONL file of chat\n"
            "  examples or {\"request\", \"task\" | \"refuse\" | \"ask\"} lines (see docs/intent.md);\n"
            "  --json prints the report as one JSON object.\n");
}

/* Parses an LLM option at argv[*i]; returns 1 if it was one, -1 on a bad
 * value, 0 if not an LLM option. */
static int llm_option(int argc, char **argv, int *i, fedc_llm_config *cfg) {
    const char *a = argv[*i];
    int has = *i + 1 < argc;
    if (!has) return 0;
    const char *v = argv[*i + 1];
    uint64_t bytes;
    /* The ranges are those fedc_llm_config_check allows. */
    if (!strcmp(a, "--url")) snprintf(cfg->url, sizeof cfg->url, "%s", v);
    else if (!strcmp(a, "--model")) snprintf(cfg->model, sizeof cfg->model, "%s", v);
    else if (!strcmp(a, "--key")) snprintf(cfg->api_key, sizeof cfg->api_key, "%s", v);
    else if (!strcmp(a, "--timeout")) {
        if (fedc_cli_double("intent", a, v, 0, 1, 3600, &cfg->timeout_s) != 0) return -1;
    } else if (!strcmp(a, "--connect-timeout")) {
        if (fedc_cli_double("intent", a, v, 0, 1, 600, &cfg->connect_timeout_s) != 0) return -1;
    } else if (!strcmp(a, "--repairs")) {
        if (fedc_cli_int("intent", a, v, 0, 10, &cfg->max_repairs) != 0) return -1;
    } else if (!strcmp(a, "--max-bytes")) {
        if (fedc_cli_u64("intent", a, v, 64u << 20, &bytes) != 0) return -1;
        cfg->max_response_bytes = (size_t)bytes;
    } else if (!strcmp(a, "--fallback")) {
        if (strcmp(v, "builtin") != 0) {
            fprintf(stderr, "fedc intent: --fallback %s: allowed: builtin\n", v);
            return -1;
        }
        cfg->fallback_builtin = 1;
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

static int parse_backend(const char *v, fedc_intent_backend *b) {
    if (!strcmp(v, "builtin")) *b = FEDC_INTENT_BACKEND_BUILTIN;
    else if (!strcmp(v, "llm")) *b = FEDC_INTENT_BACKEND_LLM;
    else {
        fprintf(stderr, "fedc intent: --backend %s: allowed: builtin, llm\n", v);
        return -1;
    }
    return 0;
}

static int cmd_dataset(int argc, char **argv) {
    int n = -1;
    uint64_t seed = 0;
    int seed_set = 0;
    double holdout = 0;
    const char *out = NULL, *hout = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--n") && has) {
            if (fedc_cli_int("intent dataset", a, argv[++i], 1, 10000000, &n) != 0) return 2;
        } else if (!strcmp(a, "--seed") && has) {
            if (fedc_cli_u64("intent dataset", a, argv[++i], UINT64_MAX, &seed) != 0) return 2;
            seed_set = 1;
        } else if (!strcmp(a, "--holdout") && has) {
            if (fedc_cli_double("intent dataset", a, argv[++i], 0, 0, 0.9, &holdout) != 0) return 2;
        } else if (!strcmp(a, "--out") && has) out = argv[++i];
        else if (!strcmp(a, "--holdout-out") && has) hout = argv[++i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (n < 0 || !seed_set) {
        fprintf(stderr, "fedc intent dataset: --n and --seed are required\n");
        return 2;
    }
    if (holdout > 0 && !hout) {
        fprintf(stderr, "fedc intent dataset: --holdout needs --holdout-out FILE\n");
        return 2;
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "fedc intent dataset: %s: %s\n", out, strerror(errno));
        return 1;
    }
    FILE *h = hout ? fopen(hout, "w") : NULL;
    if (hout && !h) {
        fprintf(stderr, "fedc intent dataset: %s: %s\n", hout, strerror(errno));
        if (out) fclose(f);
        return 1;
    }
    fedc_error err;
    int rc = fedc_intent_dataset_write(f, h, n, seed, holdout, &err);
    if (out && fclose(f) != 0 && rc == 0) rc = fedc_fail(&err, "%s: write failed", out);
    if (h && fclose(h) != 0 && rc == 0) rc = fedc_fail(&err, "%s: write failed", hout);
    if (rc < 0) {
        fprintf(stderr, "fedc intent dataset: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* The evaluation report as one JSON object (bench/intent_heldout.py reads it). */
static int print_eval_json(const char *backend, const fedc_intent_eval_report *r) {
    json_t *fields = json_object();
    for (int k = 0; fields && k < r->n_fields; k++)
        json_object_set_new(fields, r->fields[k].path,
                            json_pack("{s:i,s:i}", "right", r->fields[k].right, "total", r->fields[k].total));
    json_t *o = json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:o*}", "backend", backend,
                          "examples", r->n, "exact", r->exact, "asked", r->asked, "silently_wrong", r->silently_wrong,
                          "valid", r->valid, "refused_clearly", r->refused_clearly, "unclear", r->unclear,
                          "expected_refusals", r->expected_refusals, "refusals_right", r->refusals_right,
                          "expected_questions", r->expected_questions, "questions_right", r->questions_right,
                          "invalid_expected", r->invalid_expected, "fields", fields);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) {
        fprintf(stderr, "fedc intent eval: out of memory\n");
        return -1;
    }
    puts(s);
    free(s);
    return 0;
}

static int cmd_eval(int argc, char **argv) {
    const char *path = NULL;
    int verbose = 0, json = 0;
    fedc_intent_backend backend = FEDC_INTENT_BACKEND_BUILTIN;
    fedc_llm_config cfg;
    fedc_llm_config_init(&cfg);
    for (int i = 1; i < argc; i++) {
        int r = llm_option(argc, argv, &i, &cfg);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            if (parse_backend(argv[++i], &backend) < 0) return 2;
        } else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
            verbose = 1;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    fedc_error err;
    if (backend == FEDC_INTENT_BACKEND_LLM && fedc_llm_config_check(&cfg, &err) < 0) {
        fprintf(stderr, "fedc intent eval: %s\n", err.msg);
        return 2;
    }
    fedc_intent_eval_report *r = malloc(sizeof *r);
    if (!r) return 1;
    int rc = fedc_intent_eval_file(path, backend, &cfg, verbose ? (json ? stderr : stdout) : NULL, r, &err);
    if (rc < 0) {
        fprintf(stderr, "fedc intent eval: %s\n", err.msg);
        free(r);
        return 1;
    }
    const char *bname = backend == FEDC_INTENT_BACKEND_LLM ? "llm" : "builtin";
    if (json) {
        rc = print_eval_json(bname, r);
    } else {
        printf("backend: %s\n", bname);
        fedc_intent_eval_print(stdout, r);
    }
    free(r);
    return rc < 0 ? 1 : 0;
}

/* Reads all of standard input (bounded) as the request. */
static char *read_stdin(void) {
    size_t cap = FEDC_INTENT_REQUEST_MAX + 2, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    size_t k;
    while (n + 1 < cap && (k = fread(buf + n, 1, cap - 1 - n, stdin)) > 0) n += k;
    buf[n] = '\0';
    return buf;
}

static void print_text(const fedc_intent_result *r) {
    char *t = fedc_task_to_json(&r->task, 1);
    printf("task spec:\n%s\n\nexplanation:\n", t ? t : "?");
    free(t);
    for (int k = 0; k < r->n_choices; k++) {
        const fedc_intent_choice *c = &r->choices[k];
        printf("  %-26s %-14s %-8s %s\n", c->field, c->value, fedc_intent_source_name(c->source), c->reason);
    }
    if (r->n_goals) {
        printf("\ngoals:");
        for (int k = 0; k < r->n_goals; k++) printf(" %s", r->goals[k]);
        printf("\n");
    }
    printf("\nnot understood:");
    if (!r->n_unknown) printf(" (nothing)");
    for (int k = 0; k < r->n_unknown; k++) printf(" \"%s\"", r->unknown[k]);
    printf("\n");
    for (int k = 0; k < r->n_notes; k++) printf("note: %s\n", r->notes[k]);
}

/* Writes the task to a temporary file and runs "fedc sim FILE ARGS" as a
 * child process of this same binary. */
static int run_sim(const fedc_task *t, int nargs, char **args) {
    char path[] = "/tmp/fedc-intent-XXXXXX.json";
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        fprintf(stderr, "fedc intent --run: cannot create a temporary task file: %s\n", strerror(errno));
        return 1;
    }
    char *js = fedc_task_to_json(t, 1);
    size_t len = js ? strlen(js) : 0;
    int ok = js && write(fd, js, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
    free(js);
    close(fd);
    if (!ok) {
        fprintf(stderr, "fedc intent --run: cannot write %s\n", path);
        unlink(path);
        return 1;
    }
    char **av = calloc((size_t)nargs + 4, sizeof *av);
    if (!av) {
        unlink(path);
        return 1;
    }
    av[0] = "fedc";
    av[1] = "sim";
    av[2] = path;
    for (int k = 0; k < nargs; k++) av[3 + k] = args[k];
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", av);
        fprintf(stderr, "fedc intent --run: cannot start fedc sim: %s\n", strerror(errno));
        _exit(127);
    }
    free(av);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        fprintf(stderr, "fedc intent --run: %s\n", strerror(errno));
        unlink(path);
        return 1;
    }
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int fedc_cmd_intent(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "dataset")) return cmd_dataset(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "eval")) return cmd_eval(argc - 1, argv + 1);
    fedc_llm_config cfg;
    fedc_llm_config_init(&cfg);
    fedc_intent_backend backend = FEDC_INTENT_BACKEND_BUILTIN;
    int json = 0, run = 0, sim_from = argc;
    const char *server = NULL, *token = getenv("FEDC_ADMIN_TOKEN"), *cacert = NULL;
    const char *out = NULL;
    char request[FEDC_INTENT_REQUEST_MAX + 2] = "";
    size_t rlen = 0;
    int from_stdin = 0, too_long = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = llm_option(argc, argv, &i, &cfg);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--run")) run = 1;
        else if (!strcmp(a, "--server") && i + 1 < argc) server = argv[++i];
        else if (!strcmp(a, "--token") && i + 1 < argc) token = argv[++i];
        else if (!strcmp(a, "--cacert") && i + 1 < argc) cacert = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(a, "--backend") && i + 1 < argc) {
            if (parse_backend(argv[++i], &backend) < 0) return 2;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--")) {
            sim_from = i + 1;
            break;
        } else if (!strcmp(a, "-")) {
            from_stdin = 1;
        } else if (a[0] == '-' && a[1] == '-' && !strchr(a, ' ')) { /* "--rounds 12 --clients 24" is a request */
            fprintf(stderr, "fedc intent: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else {
            /* the request may come as one argument or as several words */
            size_t n = strlen(a);
            if (rlen + n + 2 > sizeof request) too_long = 1;
            else {
                if (rlen) request[rlen++] = ' ';
                memcpy(request + rlen, a, n);
                rlen += n;
                request[rlen] = '\0';
            }
        }
    }
    if (from_stdin) {
        char *in = read_stdin();
        if (!in) return 1;
        if (strlen(in) > FEDC_INTENT_REQUEST_MAX) too_long = 1;
        else snprintf(request, sizeof request, "%s", in);
        free(in);
    }
    if (too_long) {
        fprintf(stderr, "fedc intent: the request is longer than %d bytes\n", FEDC_INTENT_REQUEST_MAX);
        return 2;
    }
    if (!request[0]) {
        usage(stderr);
        return 2;
    }
    fedc_intent_result *r = malloc(sizeof *r);
    if (!r) return 1;
    fedc_error err = {{0}};
    int rc = backend == FEDC_INTENT_BACKEND_LLM ? fedc_intent_parse_llm(request, &cfg, r, &err)
                                                : fedc_intent_parse(request, r, &err);
    if (json) {
        char *s = fedc_intent_result_to_json(r, rc < 0 ? err.msg : NULL, 1);
        printf("%s\n", s ? s : "{}");
        free(s);
    } else if (rc == 0) {
        print_text(r);
    }
    if (rc < 0) {
        if (!json) fprintf(stderr, "fedc intent: %s\n", err.msg);
        free(r);
        return 1;
    }
    if (out) {
        char *s = fedc_task_to_json(&r->task, 1);
        FILE *f = fopen(out, "w");
        int ok = s && f && fprintf(f, "%s\n", s) > 0;
        if (f && fclose(f) != 0) ok = 0;
        free(s);
        if (!ok) {
            fprintf(stderr, "fedc intent: cannot write %s\n", out);
            free(r);
            return 1;
        }
    }
    int status = 0;
    if (run && server) status = fedc_cli_submit_task(&r->task, server, token, cacert);
    else if (run) status = run_sim(&r->task, argc - sim_from, argv + sim_from);
    free(r);
    return status;
}
