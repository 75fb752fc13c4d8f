/* A task compared with the defaults: the fields that differ (the compact
 * form the dataset's answers and the LLM's few-shot examples use) and
 * explanations for a task that came whole from the LLM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intent/intent_internal.h"

static json_t *task_value(const fedc_task *t) {
    char *s = fedc_task_to_json(t, 0);
    json_t *v = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    return v;
}

json_t *intent_task_diff(const fedc_task *t) {
    fedc_task d;
    fedc_task_defaults(&d);
    json_t *a = task_value(t), *b = task_value(&d), *out = json_object();
    if (!a || !b || !out) {
        json_decref(a);
        json_decref(b);
        json_decref(out);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(a, key, v) {
        json_t *dv = json_object_get(b, key);
        if (json_is_object(v)) {
            json_t *sub = json_object();
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                if (!json_equal(v2, json_object_get(dv, k2))) json_object_set(sub, k2, v2);
            }
            if (json_object_size(sub))
                json_object_set_new(out, key, sub);
            else
                json_decref(sub);
        } else if (!json_equal(v, dv)) {
            json_object_set(out, key, v);
        }
    }
    json_decref(a);
    json_decref(b);
    return out;
}

static const char *const core[] = {"dataset.name", "partition.kind", "model", "rounds", "clients",
                                   "clients_per_round", "local.epochs", "local.batch", "local.lr",
                                   "local.optimizer", "strategy.name", "compression.up", "compression.down",
                                   "scheduling.policy", "privacy.mode", "seed", NULL};

static void add_choice(fedc_intent_result *out, const char *path, json_t *v, int changed, fedc_intent_source source) {
    int is_core = 0;
    for (int k = 0; core[k]; k++) is_core |= !strcmp(core[k], path);
    if ((!changed && !is_core) || out->n_choices >= FEDC_INTENT_MAX_CHOICES) return;
    fedc_intent_choice *c = &out->choices[out->n_choices++];
    memset(c, 0, sizeof *c);
    snprintf(c->field, sizeof c->field, "%s", path);
    char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    snprintf(c->value, sizeof c->value, "%s", txt ? txt : "?");
    free(txt);
    intent_utf8_sanitise(c->value);
    c->source = changed ? source : FEDC_INTENT_FROM_DEFAULT;
    snprintf(c->reason, sizeof c->reason, "%s",
             changed ? "set by the language model's answer (checked by the task validator)"
                     : "default (the Fashion-MNIST MLP benchmark setting)");
}

void intent_explain_whole(const fedc_task *t, fedc_intent_source source, fedc_intent_result *out) {
    fedc_task d;
    fedc_task_defaults(&d);
    json_t *a = task_value(t), *b = task_value(&d);
    const char *key;
    json_t *v;
    json_object_foreach(a, key, v) {
        json_t *dv = json_object_get(b, key);
        if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                char path[64];
                snprintf(path, sizeof path, "%s.%s", key, k2);
                add_choice(out, path, v2, !json_equal(v2, json_object_get(dv, k2)), source);
            }
        } else {
            add_choice(out, key, v, !json_equal(v, dv), source);
        }
    }
    json_decref(a);
    json_decref(b);
}
