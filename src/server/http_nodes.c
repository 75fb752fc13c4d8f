/* /api/nodes routes: the registry (stored rows merged with live
 * connections), enrolment (issues a credential from the built-in CA) and
 * revocation (effective at once: an online node is disconnected). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/certs.h"
#include "server/server_internal.h"

static json_t *nodes_with_live(fedc_server *s, int64_t only) {
    json_t *a = store_nodes_json(&s->db_net, only);
    if (!a) return NULL;
    size_t i;
    json_t *n;
    pthread_mutex_lock(&s->mu);
    json_array_foreach(a, i, n) {
        const char *st = json_string_value(json_object_get(n, "status"));
        if (st && !strcmp(st, "revoked")) continue;
        registry_node_live(s, json_integer_value(json_object_get(n, "id")), n);
    }
    pthread_mutex_unlock(&s->mu);
    return a;
}

static void h_enrol(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    const char *name = NULL;
    json_t *o = NULL;
    if (req->body_len) {
        o = json_loadb((const char *)req->body, req->body_len, 0, NULL);
        if (!json_is_object(o)) {
            json_decref(o);
            http_error(resp, 400, "POST /api/nodes: body must be a JSON object like {\"name\": \"lab-pi-3\"}");
            return;
        }
        json_t *nm = json_object_get(o, "name");
        if (nm && !json_is_string(nm) && !json_is_null(nm)) {
            json_decref(o);
            http_error(resp, 400, "name must be a string");
            return;
        }
        name = json_string_value(nm);
    }
    int64_t id;
    char *pem = NULL;
    fedc_error err;
    if (fedc_certs_issue_node(s->certs_dir, name, &id, &pem, &err) != 0) {
        json_decref(o);
        http_error(resp, strstr(err.msg, "already issued") ? 409 : strstr(err.msg, "not valid") ? 400 : 500, "%s",
                   err.msg);
        return;
    }
    char nm[FEDC_NODE_NAME_MAX + 1];
    if (name && name[0]) snprintf(nm, sizeof nm, "%s", name);
    else snprintf(nm, sizeof nm, "node-%lld", (long long)id);
    json_decref(o);
    store_node_upsert(&s->db_net, id, nm, NULL, NULL);
    char file[FEDC_NODE_NAME_MAX + 8], cmd[700];
    snprintf(file, sizeof file, "%s.pem", nm);
    /* Node ids count up from 1: node k suggests share (k-1) mod 10 of ten, so
     * the first ten nodes enrolled hold disjoint shares of the data. */
    snprintf(cmd, sizeof cmd, "fedc node --server %s --credential %s --data fmnist:partition=%lld/10", s->node_url,
             file, (long long)((id - 1) % 10));
    json_t *arr = nodes_with_live(s, id);
    json_t *node = arr ? json_incref(json_array_get(arr, 0)) : NULL;
    json_decref(arr);
    /* The feed gets the whole node object (counts at 0), as GET /api/nodes/ID gives it. */
    json_t *node_event = node ? json_pack("{s:O}", "node", node)
                         : json_pack("{s:{s:I,s:s,s:s}}", "node", "id", (json_int_t)id, "name", nm, "status", "offline");
    http_json(resp, 201, json_pack("{s:o,s:s,s:s,s:s}", "node", node ? node : json_null(), "credential", pem,
                                   "credential_file", file, "command", cmd));
    free(pem);
    events_publish(s, "node", 0, node_event);
}

static void h_revoke(fedc_server *s, int64_t id, fedc_http_response *resp) {
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    fedc_error err;
    if (fedc_certs_revoke(s->certs_dir, idtext, NULL, &err) != 0) {
        http_error(resp, 404, "%s", err.msg);
        return;
    }
    store_node_revoked(&s->db_net, id);
    char why[64];
    snprintf(why, sizeof why, "node %lld is revoked", (long long)id);
    registry_kick(s, id, why);
    json_t *a = nodes_with_live(s, id);
    json_t *node = a ? json_incref(json_array_get(a, 0)) : NULL;
    json_decref(a);
    if (!node) {
        http_error(resp, 404, "node %lld does not exist", (long long)id);
        return;
    }
    json_object_set_new(node, "status", json_string("revoked"));
    events_publish(s, "node", 0, json_pack("{s:O}", "node", node));
    http_json(resp, 200, node);
}

int http_nodes_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest) {
    int get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST");
    if (rest[0] == 0 || !strcmp(rest, "/")) {
        if (get) {
            json_t *a = nodes_with_live(s, 0);
            if (a) http_json(resp, 200, json_pack("{s:o}", "nodes", a));
            else http_store_failed(s, &s->db_net, resp);
        } else if (post) {
            h_enrol(s, req, resp);
        } else {
            http_error(resp, 405, "%s /api/nodes: use GET or POST", req->method);
        }
        return 1;
    }
    char *end;
    long long id = strtoll(rest + 1, &end, 10);
    if (rest[0] != '/' || end == rest + 1 || id <= 0) return 0;
    if (*end == 0 && get) {
        json_t *a = nodes_with_live(s, id);
        json_t *node = a ? json_array_get(a, 0) : NULL;
        if (node) http_json(resp, 200, json_incref(node));
        else if (!a) http_store_failed(s, &s->db_net, resp);
        else http_error(resp, 404, "node %lld does not exist", id);
        json_decref(a);
        return 1;
    }
    if (!strcmp(end, "/participation") && get) {
        char v[32] = "200";
        fedc_http_query_get(req->query, "limit", v, sizeof v);
        int limit = atoi(v);
        if (limit < 1 || limit > 10000) {
            http_error(resp, 400, "limit: %s is out of range; allowed: an integer >= 1 and <= 10000", v);
            return 1;
        }
        json_t *a = store_node_participation_json(&s->db_net, id, limit);
        if (a) http_json(resp, 200, json_pack("{s:o}", "participation", a));
        else http_store_failed(s, &s->db_net, resp);
        return 1;
    }
    if (!strcmp(end, "/revoke") && post) {
        h_revoke(s, id, resp);
        return 1;
    }
    return 0;
}
