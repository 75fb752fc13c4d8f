/* The JSON Schema agrees with the validator: every field is described with
 * its type, default and bounds; documents the validator accepts satisfy the
 * schema, and documents it refuses for a per-field reason do not. */
#include <math.h>

#include "task_test_util.h"

/* The subset of JSON Schema the task schema uses. Returns NULL when doc
 * satisfies schema, else a static description of the first violation. */
static const char *schema_violation(const json_t *schema, const json_t *doc, const char *path) {
    static char why[256];
    json_t *one_of = json_object_get(schema, "oneOf");
    if (one_of) { /* exactly one form must fit */
        int fits = 0;
        for (size_t i = 0; i < json_array_size(one_of); i++)
            fits += schema_violation(json_array_get(one_of, i), doc, path) == NULL;
        return fits == 1 ? NULL : (snprintf(why, sizeof why, "%s: %d forms of oneOf fit", path, fits), why);
    }
    const char *type = json_string_value(json_object_get(schema, "type"));
    assert_non_null(type);
    if (strcmp(type, "object") == 0) {
        if (!json_is_object(doc)) return snprintf(why, sizeof why, "%s: not an object", path), why;
        json_t *props = json_object_get(schema, "properties");
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)doc, key, v) {
            json_t *sub = json_object_get(props, key);
            char sub_path[128];
            snprintf(sub_path, sizeof sub_path, "%s%s%s", path, path[0] ? "." : "", key);
            if (!sub) return snprintf(why, sizeof why, "%s: not in schema", sub_path), why;
            const char *r = schema_violation(sub, v, sub_path);
            if (r) return r;
        }
        return NULL;
    }
    if (strcmp(type, "string") == 0) {
        if (!json_is_string(doc)) return snprintf(why, sizeof why, "%s: not a string", path), why;
        json_t *e = json_object_get(schema, "enum");
        if (e) {
            size_t i;
            json_t *c;
            json_array_foreach(e, i, c) if (json_equal(c, doc)) return NULL;
            return snprintf(why, sizeof why, "%s: not in enum", path), why;
        }
        size_t len = json_string_length(doc);
        if ((json_int_t)len > json_integer_value(json_object_get(schema, "maxLength")) ||
            (json_int_t)len < json_integer_value(json_object_get(schema, "minLength")))
            return snprintf(why, sizeof why, "%s: length", path), why;
        return NULL;
    }
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(doc) ? NULL : (snprintf(why, sizeof why, "%s: not bool", path), why);
    if (strcmp(type, "integer") == 0 && !json_is_integer(doc))
        return snprintf(why, sizeof why, "%s: not an integer", path), why;
    if (!json_is_number(doc)) return snprintf(why, sizeof why, "%s: not a number", path), why;
    double v = json_number_value(doc);
    json_t *b;
    if ((b = json_object_get(schema, "minimum")) && !(v >= json_number_value(b)))
        return snprintf(why, sizeof why, "%s: below minimum", path), why;
    if ((b = json_object_get(schema, "exclusiveMinimum")) && !(v > json_number_value(b)))
        return snprintf(why, sizeof why, "%s: not above exclusiveMinimum", path), why;
    if ((b = json_object_get(schema, "maximum")) && !(v <= json_number_value(b)))
        return snprintf(why, sizeof why, "%s: above maximum", path), why;
    if ((b = json_object_get(schema, "exclusiveMaximum")) && !(v < json_number_value(b)))
        return snprintf(why, sizeof why, "%s: not below exclusiveMaximum", path), why;
    return NULL;
}

static json_t *load_schema(void) {
    char *text = fedc_task_schema_json();
    assert_non_null(text);
    json_error_t jerr;
    json_t *schema = json_loads(text, 0, &jerr);
    if (!schema) fail_msg("schema is not JSON: %s", jerr.text);
    free(text);
    return schema;
}

static json_t *leaf(json_t *schema, const char *path) {
    json_t *props = json_object_get(schema, "properties");
    /* "model": a string, or the object form of an external model. */
    json_t *model_forms = json_object_get(json_object_get(props, "model"), "oneOf");
    if (!strcmp(path, "model")) return json_array_get(model_forms, 0);
    if (!strcmp(path, "model.manifest"))
        return json_object_get(json_object_get(json_array_get(model_forms, 1), "properties"), "manifest");
    const char *dot = strchr(path, '.');
    if (!dot) return json_object_get(props, path);
    char group[32];
    snprintf(group, sizeof group, "%.*s", (int)(dot - path), path);
    return json_object_get(json_object_get(json_object_get(props, group), "properties"), dot + 1);
}

static void test_schema_header(void **state) {
    (void)state;
    json_t *s = load_schema();
    assert_string_equal(json_string_value(json_object_get(s, "$schema")),
                        "https://json-schema.org/draft/2020-12/schema");
    assert_string_equal(json_string_value(json_object_get(s, "type")), "object");
    assert_true(json_is_false(json_object_get(s, "additionalProperties")));
    assert_true(strlen(json_string_value(json_object_get(s, "description"))) > 200);
    /* Every group is a closed object with a description. */
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(s, "properties"), key, v) {
        const char *type = json_string_value(json_object_get(v, "type")); /* model: oneOf, no type */
        if (!type || strcmp(type, "object") != 0) continue;
        assert_true(json_is_false(json_object_get(v, "additionalProperties")));
        assert_non_null(json_string_value(json_object_get(v, "description")));
    }
    /* Its example is a valid task. */
    json_t *ex = json_array_get(json_object_get(s, "examples"), 0);
    assert_non_null(ex);
    char *ex_text = json_dumps(ex, 0);
    task_parse_ok(ex_text);
    assert_null(schema_violation(s, ex, ""));
    free(ex_text);
    json_decref(s);
}

static void test_every_field_in_schema(void **state) {
    (void)state;
    json_t *s = load_schema();
    fedc_task d;
    fedc_task_defaults(&d);
    for (int i = 0; i < task_nfields; i++) {
        const task_field *f = &task_fields[i];
        json_t *l = leaf(s, f->path);
        if (!l) fail_msg("%s missing from the schema", f->path);
        assert_string_equal(json_string_value(json_object_get(l, "description")), f->description);
        assert_non_null(json_object_get(l, "default"));
        const char *type = json_string_value(json_object_get(l, "type"));
        switch (f->type) {
        case TASK_STRING:
            assert_string_equal(type, strcmp(f->path, "model.manifest") ? "string" : "array");
            break;
        case TASK_INT:
        case TASK_U64:
            assert_string_equal(type, "integer");
            break;
        case TASK_NUMBER:
            assert_string_equal(type, "number");
            break;
        case TASK_BOOL:
            assert_string_equal(type, "boolean");
            break;
        }
    }
    json_t *lr = leaf(s, "local.lr");
    assert_true(json_number_value(json_object_get(lr, "minimum")) == 0.0); /* 0: the optimizer's default */
    assert_true(json_number_value(json_object_get(lr, "maximum")) == 10.0);
    assert_true(json_number_value(json_object_get(lr, "default")) == 0.0);
    json_t *strat = json_object_get(leaf(s, "strategy.name"), "enum");
    assert_int_equal(json_array_size(strat), 33);
    assert_string_equal(json_string_value(json_array_get(strat, 5)), "fedadagrad");
    assert_string_equal(json_string_value(json_array_get(strat, 18)), "fedopt");
    json_t *rounds = leaf(s, "rounds");
    assert_int_equal(json_integer_value(json_object_get(rounds, "minimum")), 1);
    assert_int_equal(json_integer_value(json_object_get(rounds, "default")), 50);
    json_t *name = leaf(s, "name");
    assert_int_equal(json_integer_value(json_object_get(name, "maxLength")), 63);
    json_decref(s);
}

static void test_defaults_satisfy_schema(void **state) {
    (void)state;
    json_t *s = load_schema();
    fedc_task d;
    fedc_task_defaults(&d);
    json_t *doc = task_to_value(&d);
    const char *why = schema_violation(s, doc, "");
    if (why) fail_msg("defaults violate the schema: %s", why);
    json_decref(doc);
    json_decref(s);
}

/* Each document the validator refuses for a per-field reason also breaks
 * the schema; cross-field rules are beyond JSON Schema. */
static void test_schema_refuses_what_validator_refuses(void **state) {
    (void)state;
    json_t *s = load_schema();
    const char *bad[] = {
        "{\"rounds\": 0}",
        "{\"rounds\": \"ten\"}",
        "{\"local\": {\"lr\": -1}}",
        "{\"local\": {\"momentum\": 1}}",
        "{\"local\": {\"lrr\": 1}}",
        "{\"strategy\": {\"name\": \"fedavgg\"}}",
        "{\"name\": \"\"}",
        "{\"seed\": -1}",
        "{\"privacy\": {\"clip\": 0}}",
        "{\"extra\": 1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        task_parse_err(bad[i]);
        json_t *doc = json_loads(bad[i], 0, NULL);
        assert_non_null(doc);
        if (!schema_violation(s, doc, "")) fail_msg("schema accepts %s", bad[i]);
        json_decref(doc);
    }
    json_decref(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_header),
        cmocka_unit_test(test_every_field_in_schema),
        cmocka_unit_test(test_defaults_satisfy_schema),
        cmocka_unit_test(test_schema_refuses_what_validator_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
