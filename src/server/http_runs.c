/* /api/runs routes (docs/api.md): create, list, inspect, cancel, delete,
 * rounds, participation, per-node totals and downloads. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server_internal.h"

#define MAX_DOWNLOAD ((size_t)2 << 30)

/* "/17/rounds" -> id 17, tail "/rounds"; 0 if no id. */
static int64_t parse_id(const char *rest, const char **tail) {
    if (rest[0] != '/') return 0;
    char *end;
    long long id = strtoll(rest + 1, &end, 10);
    if (end == rest + 1 || id <= 0 || (*end && *end != '/')) return 0;
    *tail = end;
    return id;
}

static int read_file(const char *path, fedc_buf *out, fedc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return fedc_fail(err, "%s", strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || (size_t)n > MAX_DOWNLOAD || fedc_buf_reserve(out, (size_t)n) != 0) {
        fclose(f);
        return fedc_fail(err, "file too large");
    }
    size_t got = fread(out->data + out->len, 1, (size_t)n, f);
    fclose(f);
    out->len += got;
    return got == (size_t)n ? 0 : fedc_fail(err, "short read");
}

static void attachment(fedc_http_response *resp, const char *ctype, const char *fmt, int64_t id) {
    resp->status = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ctype);
    char name[96];
    snprintf(name, sizeof name, fmt, (long long)id);
    fedc_http_add_header(resp, "content-disposition", "attachment; filename=\"%s\"", name);
}

static void remove_run_files(const fedc_server *s, int64_t id) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/runs/%lld", s->state_dir, (long long)id);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void h_create(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    int64_t id;
    json_t *issues = NULL;
    fedc_error err;
    if (req->body_len == 0) {
        http_error(resp, 400, "POST /api/runs needs a task spec (JSON object) as the body");
        return;
    }
    if (server_submit_json(s, (const char *)req->body, req->body_len, &id, &issues, &err) != 0) {
        if (issues) {
            char head[200];
            snprintf(head, sizeof head, "the task spec is not valid (%zu problem%s)", json_array_size(issues),
                     json_array_size(issues) == 1 ? "" : "s");
            http_json(resp, 400, json_pack("{s:s,s:o}", "error", head, "issues", issues));
        } else {
            http_error(resp, 500, "%s", err.msg);
        }
        return;
    }
    json_t *run = store_run_json(&s->db_net, id, 0);
    if (!run) {
        http_store_failed(s, &s->db_net, resp);
        return;
    }
    events_publish(s, "run", id, json_pack("{s:O}", "run", run));
    http_json(resp, 201, run);
}

static void h_list(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    char v[32];
    int limit = 50, offset = 0;
    if (fedc_http_query_get(req->query, "limit", v, sizeof v) >= 0) limit = atoi(v);
    if (fedc_http_query_get(req->query, "offset", v, sizeof v) >= 0) offset = atoi(v);
    if (limit < 1 || limit > 1000 || offset < 0) {
        http_error(resp, 400, "limit must be 1..1000 and offset >= 0");
        return;
    }
    char status[16];
    const char *st = NULL;
    if (fedc_http_query_get(req->query, "status", status, sizeof status) >= 0) {
        static const char *const ok[] = {"queued", "running", "done", "failed", "cancelled"};
        for (int i = 0; i < 5; i++)
            if (!strcmp(status, ok[i])) st = ok[i];
        if (!st) {
            http_error(resp, 400, "status \"%s\" is not known; allowed: queued, running, done, failed, cancelled",
                       status);
            return;
        }
    }
    int total = 0;
    json_t *runs = store_runs_json(&s->db_net, st, limit, offset, &total);
    if (!runs) {
        http_store_failed(s, &s->db_net, resp);
        return;
    }
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r) runner_overlay(s, r);
    http_json(resp, 200, json_pack("{s:o,s:i}", "runs", runs, "total", total));
}

static void h_cancel(fedc_server *s, int64_t id, fedc_http_response *resp) {
    json_t *run = store_run_json(&s->db_net, id, 0);
    if (!run) {
        http_store_failed(s, &s->db_net, resp);
        return;
    }
    const char *st = json_string_value(json_object_get(run, "status"));
    if (strcmp(st, "running") != 0 && strcmp(st, "queued") != 0) {
        http_error(resp, 409, "run %lld already ended (%s)", (long long)id, st);
        json_decref(run);
        return;
    }
    /* No runner takes a run meanwhile: the run is either held by a runner
     * (which stops it at once) or still waiting, and cancelled here. */
    pthread_mutex_lock(&s->take_mu);
    pthread_mutex_lock(&s->mu);
    int held = runner_cancel(s, id);
    pthread_mutex_unlock(&s->mu);
    int waiting = !held && store_run_cancel(&s->db_net, id) == 1;
    pthread_mutex_unlock(&s->take_mu);
    if (waiting) {
        json_decref(run);
        run = store_run_json(&s->db_net, id, 0);
        events_publish(s, "run", id, json_pack("{s:O}", "run", run));
        http_json(resp, 200, run);
    } else if (held) {
        json_object_set_new(run, "status", json_string("cancelled"));
        http_json(resp, 200, run);
    } else {
        json_decref(run);
        run = store_run_json(&s->db_net, id, 0);
        http_error(resp, 409, "run %lld already ended (%s)", (long long)id,
                   json_string_value(json_object_get(run, "status")));
        json_decref(run);
    }
}

int http_runs_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest) {
    int get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST"), del = !strcmp(req->method, "DELETE");
    if (rest[0] == 0 || !strcmp(rest, "/")) {
        if (post) h_create(s, req, resp);
        else if (get) h_list(s, req, resp);
        else http_error(resp, 405, "%s /api/runs: use GET or POST", req->method);
        return 1;
    }
    const char *tail = NULL;
    int64_t id = parse_id(rest, &tail);
    if (!id) return 0;
    json_t *run = store_run_json(&s->db_net, id, !strcmp(tail, "") && get);
    if (!run) {
        if (s->db_net.damage[0]) http_store_failed(s, &s->db_net, resp);
        else http_error(resp, 404, "run %lld does not exist", (long long)id);
        return 1;
    }
    if (!strcmp(tail, "") && get) {
        runner_overlay(s, run);
        http_json(resp, 200, run);
        return 1;
    }
    if (!strcmp(tail, "") && del) {
        const char *st = json_string_value(json_object_get(run, "status"));
        if (!strcmp(st, "queued") || !strcmp(st, "running")) {
            http_error(resp, 409, "run %lld is %s; cancel it before deleting", (long long)id, st);
        } else if (store_run_delete(&s->db_net, id) == 0) {
            remove_run_files(s, id);
            http_json(resp, 200, json_object());
        } else {
            http_error(resp, 500, "run %lld could not be deleted: %s", (long long)id, store_fail_msg(&s->db_net));
        }
        json_decref(run);
        return 1;
    }
    json_decref(run);
    if (!strcmp(tail, "/notes") && post) {
        json_t *tags = NULL;
        char *notes = NULL;
        fedc_error err;
        if (run_notes_parse(req->body, req->body_len, &tags, &notes, &err) != 0) {
            http_error(resp, 400, "POST /api/runs/%lld/notes: %s", (long long)id, err.msg);
        } else if (store_run_notes_set(&s->db_net, id, tags, notes) != 0) {
            http_store_failed(s, &s->db_net, resp);
        } else {
            json_t *updated = store_run_json(&s->db_net, id, 0);
            if (!updated) {
                http_store_failed(s, &s->db_net, resp);
            } else {
                events_publish(s, "run", id, json_pack("{s:{s:I,s:O,s:O}}", "run", "id", (json_int_t)id, "tags",
                                                       json_object_get(updated, "tags"), "notes",
                                                       json_object_get(updated, "notes")));
                http_json(resp, 200, json_pack("{s:O,s:O}", "tags", json_object_get(updated, "tags"), "notes",
                                               json_object_get(updated, "notes")));
                json_decref(updated);
            }
        }
        json_decref(tags);
        free(notes);
        return 1;
    }
    if (!strcmp(tail, "/cancel") && post) {
        h_cancel(s, id, resp);
    } else if (!strcmp(tail, "/rounds") && get) {
        char v[32] = "0";
        fedc_http_query_get(req->query, "since", v, sizeof v);
        json_t *a = store_rounds_json(&s->db_net, id, atoi(v));
        if (a) http_json(resp, 200, json_pack("{s:o}", "rounds", a));
        else http_store_failed(s, &s->db_net, resp);
    } else if (!strcmp(tail, "/participation") && get) {
        char v[32] = "0";
        fedc_http_query_get(req->query, "round", v, sizeof v);
        json_t *a = store_participation_json(&s->db_net, id, atoi(v));
        if (a) http_json(resp, 200, json_pack("{s:o}", "participation", a));
        else http_store_failed(s, &s->db_net, resp);
    } else if (!strcmp(tail, "/events") && get) {
        int dropped = 0;
        json_t *a = store_events_json(&s->db_net, id, &dropped);
        if (a) http_json(resp, 200, json_pack("{s:o,s:i}", "events", a, "dropped", dropped));
        else http_store_failed(s, &s->db_net, resp);
    } else if (!strcmp(tail, "/nodes") && get) {
        json_t *a = store_run_nodes_json(&s->db_net, id);
        if (a) http_json(resp, 200, json_pack("{s:o}", "nodes", a));
        else http_store_failed(s, &s->db_net, resp);
    } else if (!strcmp(tail, "/task") && get) {
        json_t *full = store_run_json(&s->db_net, id, 1);
        char *text = full ? json_dumps(json_object_get(full, "task"), JSON_INDENT(2)) : NULL;
        json_decref(full);
        if (!text) {
            http_store_failed(s, &s->db_net, resp);
            return 1;
        }
        attachment(resp, "application/json", "run-%lld-task.json", id);
        int ok = fedc_buf_append(&resp->body, text, strlen(text)) == 0 && fedc_buf_append(&resp->body, "\n", 1) == 0;
        free(text);
        if (!ok) http_error(resp, 500, "out of memory");
    } else if (!strcmp(tail, "/model") && get) {
        char path[1024];
        fedc_error err;
        snprintf(path, sizeof path, "%s/runs/%lld/model.safetensors", s->state_dir, (long long)id);
        fedc_buf body = {0};
        if (read_file(path, &body, &err) != 0) {
            fedc_buf_free(&body);
            http_error(resp, 404, "run %lld has no model yet (%s)", (long long)id, err.msg);
            return 1;
        }
        attachment(resp, "application/octet-stream", "run-%lld-model.safetensors", id);
        fedc_buf_free(&resp->body);
        resp->body = body;
    } else if ((!strcmp(tail, "/metrics.csv") || !strcmp(tail, "/metrics.jsonl")) && get) {
        int csv = !strcmp(tail, "/metrics.csv");
        fedc_buf body = {0};
        if (store_metrics_export(&s->db_net, id, csv, &body) != 0) {
            fedc_buf_free(&body);
            http_store_failed(s, &s->db_net, resp);
            return 1;
        }
        attachment(resp, csv ? "text/csv" : "application/x-ndjson",
                   csv ? "run-%lld-metrics.csv" : "run-%lld-metrics.jsonl", id);
        fedc_buf_free(&resp->body);
        resp->body = body;
    } else {
        return 0;
    }
    return 1;
}
