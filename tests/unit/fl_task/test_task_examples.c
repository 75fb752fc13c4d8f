/* The shipped task files in examples/ are valid and say what their names
 * promise, and docs/task-spec.md documents every field and choice. */
#include <dirent.h>

#include "task_test_util.h"

static const char *source_dir(void) {
    const char *d = getenv("FEDC_SOURCE_DIR");
    if (!d) fail_msg("FEDC_SOURCE_DIR is not set (ctest sets it)");
    return d;
}

static fedc_task load_example(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/%s", source_dir(), name);
    fedc_task t;
    fedc_error err = {{0}};
    if (fedc_task_load(path, &t, &err) != 0) fail_msg("%s", err.msg);
    return t;
}

static void test_all_examples_validate(void **state) {
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/examples", source_dir());
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open %s", dir);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
        fedc_task t = load_example(e->d_name);
        fedc_error err = {{0}};
        if (fedc_task_validate(&t, &err) != 0) fail_msg("%s: %s", e->d_name, err.msg);
        count++;
    }
    closedir(d);
    assert_true(count >= 5);
}

static void test_benchmark_example(void **state) {
    (void)state;
    fedc_task t = load_example("fmnist-mlp.json"), d;
    fedc_task_defaults(&d);
    /* The benchmark is the default task, its learning rate (sgd's default)
     * written out. */
    assert_true(fedc_task_local_lr_base(&d) == 0.05);
    d.local.lr = 0.05;
    assert_true(task_equal(&t, &d));
    assert_string_equal(t.model, "mlp");
    assert_int_equal(t.clients, 100);
    assert_int_equal(t.clients_per_round, 10);
    assert_int_equal(t.local.epochs, 1);
    assert_int_equal(t.local.batch, 32);
    assert_true(t.local.lr == 0.05);
    assert_int_equal(t.rounds, 50);
}

static void test_named_examples(void **state) {
    (void)state;
    fedc_task t = load_example("fmnist-cnn.json");
    assert_string_equal(t.model, "cnn");
    assert_int_equal(t.rounds, 30);
    assert_string_equal(t.partition.kind, "iid");
    assert_int_equal(t.clients_per_round, 10);

    t = load_example("fmnist-noniid-fedprox.json");
    assert_string_equal(t.strategy.name, "fedprox");
    assert_string_equal(t.partition.kind, "shards");
    assert_true(t.strategy.mu > 0);

    t = load_example("fmnist-dirichlet-fedadam.json");
    assert_string_equal(t.strategy.name, "fedadam");
    assert_string_equal(t.partition.kind, "dirichlet");
    assert_true(t.strategy.server_lr < 1);

    t = load_example("quick.json");
    assert_int_equal(t.rounds, 3);
    assert_true(t.clients <= 10);
}

static char *read_docs(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/task-spec.md", source_dir());
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_docs_cover_every_field_and_choice(void **state) {
    (void)state;
    char *doc = read_docs();
    for (int i = 0; i < task_nfields; i++) {
        const task_field *f = &task_fields[i];
        char quoted[128];
        snprintf(quoted, sizeof quoted, "`%s`", f->path);
        if (!strstr(doc, quoted)) fail_msg("docs/task-spec.md does not document %s", quoted);
        for (const char *const *c = f->choices; c && *c; c++) {
            snprintf(quoted, sizeof quoted, "`%s`", *c);
            if (!strstr(doc, quoted))
                fail_msg("docs/task-spec.md does not document %s of %s", quoted, f->path);
        }
    }
    free(doc);
}

/* Every ```json block of the document is a valid task. */
static void test_docs_examples_validate(void **state) {
    (void)state;
    char *doc = read_docs();
    int blocks = 0;
    const char *p = doc;
    while ((p = strstr(p, "```json\n"))) {
        p += 8;
        const char *end = strstr(p, "```");
        assert_non_null(end);
        fedc_task t;
        fedc_error err = {{0}};
        if (fedc_task_from_json(p, (size_t)(end - p), &t, &err) != 0)
            fail_msg("docs/task-spec.md example %d: %s\n%.*s", blocks + 1, err.msg, (int)(end - p),
                     p);
        blocks++;
        p = end + 3;
    }
    assert_true(blocks >= 3);
    free(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_examples_validate),
        cmocka_unit_test(test_benchmark_example),
        cmocka_unit_test(test_named_examples),
        cmocka_unit_test(test_docs_cover_every_field_and_choice),
        cmocka_unit_test(test_docs_examples_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
