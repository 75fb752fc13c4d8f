/* The fine-tuning dataset: chat-format lines whose answers are valid task
 * specs, deterministic in the seed, covering every task-spec field, and
 * read back correctly by the embedded parser (the generator and the
 * parser are written apart, so their agreement checks both). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fedc/intent.h"

#define N 1500

static char train_path[64], hold_path[64];

static void write_files(uint64_t seed, double holdout, char *tp, char *hp) {
    strcpy(tp, "/tmp/fedc-ds-train-XXXXXX");
    strcpy(hp, "/tmp/fedc-ds-hold-XXXXXX");
    int a = mkstemp(tp), b = mkstemp(hp);
    assert_true(a >= 0 && b >= 0);
    FILE *ft = fdopen(a, "w"), *fh = fdopen(b, "w");
    fedc_error err;
    if (fedc_intent_dataset_write(ft, fh, N, seed, holdout, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        fail();
    }
    fclose(ft);
    fclose(fh);
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return s;
}

static void collect_fields(json_t *diff, json_t *seen) {
    const char *k;
    json_t *v;
    json_object_foreach(diff, k, v) {
        if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                char path[64];
                snprintf(path, sizeof path, "%s.%s", k, k2);
                json_object_set_new(seen, path, json_true());
            }
        } else {
            json_object_set_new(seen, k, json_true());
        }
    }
}

static void test_lines_are_valid_chat_examples(void **state) {
    (void)state;
    json_t *seen = json_object();
    int lines = 0, hold = 0;
    const char *paths[2] = {train_path, hold_path};
    for (int p = 0; p < 2; p++) {
        size_t len;
        char *s = slurp(paths[p], &len);
        for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
            json_t *o = json_loads(line, 0, NULL);
            assert_non_null(o);
            json_t *m = json_object_get(o, "messages");
            assert_int_equal(json_array_size(m), 3);
            assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "role")), "system");
            assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "content")),
                                fedc_intent_system_prompt());
            assert_string_equal(json_string_value(json_object_get(json_array_get(m, 1), "role")), "user");
            assert_string_equal(json_string_value(json_object_get(json_array_get(m, 2), "role")), "assistant");
            const char *answer = json_string_value(json_object_get(json_array_get(m, 2), "content"));
            fedc_task t;
            fedc_error err;
            if (fedc_task_from_json(answer, strlen(answer), &t, &err) != 0) {
                fprintf(stderr, "%s\n%s\n", answer, err.msg);
                fail();
            }
            json_t *diff = json_loads(answer, 0, NULL);
            collect_fields(diff, seen);
            json_decref(diff);
            json_decref(o);
            lines++;
            hold += p;
        }
        free(s);
    }
    assert_int_equal(lines, N);
    assert_true(hold > N / 8 && hold < N * 3 / 8); /* about a quarter */
    /* every field of the task spec is set by some example */
    fedc_task d;
    fedc_task_defaults(&d);
    char *all = fedc_task_to_json(&d, 0);
    json_t *root = json_loads(all, 0, NULL);
    free(all);
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                char path[64];
                snprintf(path, sizeof path, "%s.%s", k, k2);
                if (!json_object_get(seen, path)) {
                    fprintf(stderr, "field %s never set by the dataset\n", path);
                    fail();
                }
            }
        } else if (!json_object_get(seen, k)) {
            fprintf(stderr, "field %s never set by the dataset\n", k);
            fail();
        }
    }
    json_decref(root);
    json_decref(seen);
}

static void test_deterministic_in_seed(void **state) {
    (void)state;
    char tp[64], hp[64];
    write_files(7, 0.25, tp, hp);
    size_t la, lb;
    char *a = slurp(train_path, &la), *b = slurp(tp, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(b);
    unlink(tp);
    unlink(hp);
    write_files(8, 0.25, tp, hp);
    b = slurp(tp, &lb);
    assert_true(la != lb || memcmp(a, b, la) != 0);
    free(a);
    free(b);
    unlink(tp);
    unlink(hp);
}

static void test_parser_reads_the_dataset(void **state) {
    (void)state;
    fedc_intent_eval_report *r = malloc(sizeof *r);
    fedc_error err;
    assert_int_equal(fedc_intent_eval_file(train_path, FEDC_INTENT_BACKEND_BUILTIN, NULL, NULL, r, &err), 0);
    printf("training part: %d/%d exact\n", r->exact, r->n);
    assert_true(r->exact * 100 >= 97 * r->n);
    assert_int_equal(r->unclear, 0);
    /* the held-out part uses phrasings the training part never shows */
    assert_int_equal(fedc_intent_eval_file(hold_path, FEDC_INTENT_BACKEND_BUILTIN, NULL, NULL, r, &err), 0);
    printf("held-out part: %d/%d exact\n", r->exact, r->n);
    assert_true(r->exact * 100 >= 90 * r->n);
    assert_int_equal(r->unclear, 0);
    free(r);
}

static void test_bad_arguments(void **state) {
    (void)state;
    fedc_error err;
    assert_int_equal(fedc_intent_dataset_write(stdout, NULL, 0, 1, 0, &err), -1);
    assert_non_null(strstr(err.msg, "--n"));
    assert_int_equal(fedc_intent_dataset_write(stdout, NULL, 10, 1, 0.95, &err), -1);
    assert_non_null(strstr(err.msg, "--holdout"));
    assert_int_equal(fedc_intent_dataset_write(stdout, NULL, 10, 1, 0.2, &err), -1);
    assert_non_null(strstr(err.msg, "held-out file"));
}

static int setup(void **state) {
    (void)state;
    write_files(7, 0.25, train_path, hold_path);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(train_path);
    unlink(hold_path);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_are_valid_chat_examples),
        cmocka_unit_test(test_deterministic_in_seed),
        cmocka_unit_test(test_parser_reads_the_dataset),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
