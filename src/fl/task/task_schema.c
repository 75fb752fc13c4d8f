/* JSON Schema (draft 2020-12) of the task spec, generated from the field
 * table so it never drifts from the validator. The web form builds its
 * inputs from it and the LLM backend reads the descriptions, so each field
 * says what it means, its unit and when it applies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/manifest.h"
#include "fl/task/task_internal.h"

static const char schema_description[] =
    "A federated-learning task for fedc: the data and how it is split across clients, the "
    "model, the rounds, local training, the server strategy, compression, client scheduling, "
    "privacy, the seed and when to stop. Every field is optional and takes its default when "
    "missing, so {} is the Fashion-MNIST MLP benchmark (100 IID clients, 10 per round, 1 local "
    "epoch of SGD with batch 32 and learning rate 0.05, 50 rounds). Unknown fields are errors. "
    "Rules across fields: clients_per_round <= clients; deploy.min_updates <= "
    "clients_per_round; deploy.min_nodes <= clients; with partition.kind shards, "
    "partition.classes_per_client <= the dataset's class count; model must fit the dataset's "
    "input shape and class count; compression.up and compression.down must be valid codec "
    "pipelines; dataset.path, dataset.test_path and dataset.label_column are required for csv "
    "(catalog datasets are located, and fetched when missing, by the data catalog); "
    "dataset.labels coarse only with cifar100, dataset.extra only with svhn, partition.kind "
    "natural only with femnist; with "
    "scheduling.policy power-of-choice, scheduling.choice_d is 0 or between clients_per_round "
    "and clients; scheduling.policy deadline needs scheduling.deadline_s > 0.";

static const char example_task[] =
    "{\"name\": \"fmnist-dirichlet-fedprox\", \"partition\": {\"kind\": \"dirichlet\", "
    "\"alpha\": 0.1}, \"model\": \"cnn\", \"rounds\": 100, \"local\": {\"epochs\": 2, \"lr\": "
    "0.02}, \"strategy\": {\"name\": \"fedprox\", \"mu\": 0.01}, \"compression\": {\"up\": "
    "\"q8|zstd\"}, \"seed\": 7}";

/* A bound as JSON: an integer when the field holds integers. */
static json_t *bound(const task_field *f, double v) {
    return f->type == TASK_NUMBER ? json_real(v) : json_integer((json_int_t)v);
}

static json_t *leaf_schema(const task_field *f, const fedc_task *defaults) {
    const void *p = task_field_cptr(defaults, f);
    json_t *s = json_object();
    static const char *const type_names[] = {
        [TASK_STRING] = "string", [TASK_INT] = "integer",  [TASK_U64] = "integer",
        [TASK_NUMBER] = "number", [TASK_BOOL] = "boolean",
    };
    json_object_set_new(s, "type", json_string(type_names[f->type]));
    json_object_set_new(s, "description", json_string(f->description));
    switch (f->type) {
    case TASK_STRING:
        json_object_set_new(s, "default", json_string(p));
        if (f->choices) {
            json_t *e = json_array();
            for (const char *const *c = f->choices; *c; c++)
                json_array_append_new(e, json_string(*c));
            json_object_set_new(s, "enum", e);
        } else {
            json_object_set_new(s, "minLength", json_integer((json_int_t)f->min_len));
            json_object_set_new(s, "maxLength", json_integer((json_int_t)(f->size - 1)));
        }
        break;
    case TASK_INT:
    case TASK_NUMBER:
        json_object_set_new(s, "default",
                            f->type == TASK_INT ? json_integer(*(const int *)p)
                                                : json_real(*(const double *)p));
        json_object_set_new(s, f->min_open ? "exclusiveMinimum" : "minimum", bound(f, f->min));
        json_object_set_new(s, f->max_open ? "exclusiveMaximum" : "maximum", bound(f, f->max));
        break;
    case TASK_U64:
        json_object_set_new(s, "default", json_integer((json_int_t) * (const uint64_t *)p));
        json_object_set_new(s, "minimum", json_integer(0));
        json_object_set_new(s, "maximum", json_integer(INT64_MAX));
        break;
    case TASK_BOOL:
        json_object_set_new(s, "default", json_boolean(*(const int *)p));
        break;
    }
    return s;
}

static json_t *object_schema(const char *description) {
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("object"));
    json_object_set_new(o, "description", json_string(description));
    json_object_set_new(o, "additionalProperties", json_false());
    json_object_set_new(o, "properties", json_object());
    return o;
}

char *fedc_task_schema_json(void) {
    fedc_task defaults;
    fedc_task_defaults(&defaults);
    json_t *root = json_object();
    if (!root) return NULL;
    json_object_set_new(root, "$schema",
                        json_string("https://json-schema.org/draft/2020-12/schema"));
    json_object_set_new(root, "title", json_string("fedc task spec"));
    json_t *top = object_schema(schema_description);
    json_object_update(root, top); /* type, description, additionalProperties, properties */
    json_decref(top);
    json_t *props = json_object_get(root, "properties");
    for (int i = 0; i < task_nfields; i++) {
        const task_field *f = &task_fields[i];
        const char *dot = strchr(f->path, '.');
        if (!strcmp(f->path, "model.manifest")) {
            /* "model": a string, or {"name": "external", "manifest": [...]}. */
            json_t *str = json_object_get(props, "model");
            json_incref(str);
            json_t *tensor = json_pack(
                "{s:s,s:b,s:[s,s],s:{s:{s:s,s:i,s:i},s:{s:s,s:{s:s,s:i},s:i},s:{s:[s]}}}", "type", "object",
                "additionalProperties", 0, "required", "name", "shape", "properties", "name", "type", "string",
                "minLength", 1, "maxLength", FEDC_MANIFEST_NAME_MAX, "shape", "type", "array", "items", "type",
                "integer", "minimum", 1, "maxItems", FEDC_MANIFEST_MAX_DIMS, "dtype", "enum", "f32");
            json_t *obj = json_pack("{s:s,s:s,s:b,s:[s],s:{s:{s:s},s:{s:s,s:s,s:[],s:o,s:i,s:i}}}", "type", "object",
                                    "description", f->description, "additionalProperties", 0, "required", "name",
                                    "properties", "name", "type", "string", "manifest", "type", "array",
                                    "description", f->description, "default", "items", tensor, "minItems", 1,
                                    "maxItems", FEDC_MANIFEST_MAX_TENSORS);
            json_t *one = json_pack("{s:s,s:O,s:[o,o]}", "description",
                                    json_string_value(json_object_get(str, "description")), "default",
                                    json_object_get(str, "default"), "oneOf", str, obj);
            if (one) json_object_set_new(props, "model", one);
            continue;
        }
        if (!dot) {
            json_object_set_new(props, f->path, leaf_schema(f, &defaults));
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(dot - f->path), f->path);
        json_t *g = json_object_get(props, name);
        if (!g) {
            const task_group *tg = task_group_find(name);
            g = object_schema(tg ? tg->description : "");
            json_object_set_new(props, name, g);
        }
        json_object_set_new(json_object_get(g, "properties"), dot + 1, leaf_schema(f, &defaults));
    }
    json_t *examples = json_array();
    json_array_append_new(examples, json_loads(example_task, 0, NULL));
    json_object_set_new(root, "examples", examples);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(root);
    return s;
}
