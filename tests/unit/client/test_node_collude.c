/* Colluding hostile nodes share benign updates through a folder: two
 * nodes posting at once both get the mean and standard deviation of both;
 * files of another run, round or size, half-written or non-finite ones are
 * not counted; without a folder a node has only its own update. And the
 * hostile mode's spec: an honest node drops the server's attack section. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client_internal.h"

enum { D = 6 };

typedef struct {
    node_board *board;
    int64_t node;
    float benign[D], mean[D], std[D];
    int count, rc;
} colluder;

static void *post_and_wait(void *arg) {
    colluder *c = arg;
    fedc_error err;
    c->rc = node_collude(c->board, 7, 3, c->node, c->benign, D, c->mean, c->std, &c->count, NULL, &err);
    return NULL;
}

static void test_two_colluders(void **state) {
    (void)state;
    char dir[] = "/tmp/fedc-collude-XXXXXX";
    assert_non_null(mkdtemp(dir));
    node_board b = {{0}, 2, 30};
    snprintf(b.dir, sizeof b.dir, "%s", dir);
    /* Junk beside the real files: another round, a temporary, garbage. */
    char path[600];
    snprintf(path, sizeof path, "%s/r7-4-n9.upd", dir);
    FILE *f = fopen(path, "wb");
    fputs("FEDCCOL1 not really", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/r7-3-n9.upd.tmp", dir);
    f = fopen(path, "wb");
    fputs("half", f);
    fclose(f);
    colluder c[2] = {{&b, 1, {1, 2, 3, 4, 5, 6}, {0}, {0}, 0, 0}, {&b, 2, {3, 2, 1, 0, -1, 6}, {0}, {0}, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, post_and_wait, &c[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(c[i].rc, 0);
        assert_int_equal(c[i].count, 2);
        for (int j = 0; j < D; j++) {
            float m = (c[0].benign[j] + c[1].benign[j]) / 2, s = fabsf(c[0].benign[j] - c[1].benign[j]) / sqrtf(2);
            assert_true(fabsf(c[i].mean[j] - m) < 1e-6f && fabsf(c[i].std[j] - s) < 1e-5f);
        }
    }
    /* A third file of the same round that is not finite is not counted. */
    snprintf(path, sizeof path, "%s/r7-3-n5.upd", dir);
    f = fopen(path, "wb");
    uint8_t h[32] = "FEDCCOL1";
    h[8] = D;
    h[16] = 7;
    h[24] = 3;
    fwrite(h, 1, 32, f);
    float bad[D] = {NAN, 0, 0, 0, 0, 0};
    fwrite(bad, sizeof bad, 1, f);
    fclose(f);
    b.colluders = 3;
    b.wait_s = 0.2;
    colluder again = {&b, 1, {1, 2, 3, 4, 5, 6}, {0}, {0}, 0, 0};
    post_and_wait(&again);
    assert_int_equal(again.count, 2);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_without_a_folder(void **state) {
    (void)state;
    colluder c = {NULL, 1, {1, -2, 3, 0, 0, 9}, {0}, {0}, 0, 0};
    post_and_wait(&c);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.count, 1);
    for (int j = 0; j < D; j++) assert_true(c.mean[j] == c.benign[j] && c.std[j] == 0);
}

static void test_decode_checks_everything(void **state) {
    (void)state;
    uint8_t buf[32 + 4 * D] = "FEDCCOL1";
    buf[8] = D;
    buf[16] = 7;
    buf[24] = 3;
    float v[D] = {1, 2, 3, 4, 5, 6}, out[D];
    memcpy(buf + 32, v, sizeof v);
    fedc_error err;
    assert_int_equal(node_collude_decode(buf, sizeof buf, 7, 3, D, out, &err), 0);
    assert_memory_equal(out, v, sizeof v);
    assert_int_equal(node_collude_decode(buf, sizeof buf - 1, 7, 3, D, out, &err), -1);
    assert_non_null(strstr(err.msg, "bytes"));
    assert_int_equal(node_collude_decode(buf, sizeof buf, 7, 4, D, out, &err), -1);
    assert_non_null(strstr(err.msg, "round"));
    assert_int_equal(node_collude_decode(buf, sizeof buf, 8, 3, D, out, &err), -1);
    assert_int_equal(node_collude_decode(buf, sizeof buf, 7, 3, D + 1, out, &err), -1);
    assert_non_null(strstr(err.msg, "values"));
    buf[0] = 'X';
    assert_int_equal(node_collude_decode(buf, sizeof buf, 7, 3, D, out, &err), -1);
}

static void test_attack_spec(void **state) {
    (void)state;
    node_attack a;
    fedc_error err;
    fedc_task t;
    /* An honest node drops whatever attack the server's task names. */
    fedc_task_defaults(&t);
    snprintf(t.attack.kind, sizeof t.attack.kind, "sign-flip");
    assert_int_equal(node_attack_apply(NULL, 0, &t, &err), 0);
    assert_string_equal(t.attack.kind, "none");
    /* A hostile one attacks in every slot, with its own settings. */
    assert_int_equal(node_attack_parse("scaling,scale=100", &a, &err), 0);
    fedc_task_defaults(&t);
    assert_int_equal(node_attack_apply(&a, 0, &t, &err), 0);
    assert_string_equal(t.attack.kind, "scaling");
    assert_true(t.attack.fraction == 1 && t.attack.scale == 100);
    /* ALIE's z from the round size and the colluders: 10 per round, 2 -> 0.2533. */
    assert_int_equal(node_attack_parse("alie", &a, &err), 0);
    fedc_task_defaults(&t);
    assert_int_equal(node_attack_apply(&a, 2, &t, &err), 0);
    assert_true(fabs(t.attack.scale - 0.2533) < 1e-3);
    assert_int_equal(node_attack_parse("unreliable", &a, &err), 0);
    fedc_task_defaults(&t);
    assert_int_equal(node_attack_apply(&a, 0, &t, &err), 0);
    assert_true(t.attack.unreliable == 1 && strcmp(t.attack.kind, "none") == 0);
    /* Refusals name what is wrong. */
    assert_int_equal(node_attack_parse("none", &a, &err), -1);
    assert_int_equal(node_attack_parse("scaling,speed=3", &a, &err), -1);
    assert_non_null(strstr(err.msg, "speed=3"));
    assert_int_equal(node_attack_parse("backdoor,target=12", &a, &err), 0);
    fedc_task_defaults(&t);
    assert_int_equal(node_attack_apply(&a, 0, &t, &err), -1);
    assert_non_null(strstr(err.msg, "attack.target"));
    assert_int_equal(node_attack_parse("sign flip", &a, &err), -1);
    assert_int_equal(node_attack_parse("", &a, &err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_colluders),
        cmocka_unit_test(test_without_a_folder),
        cmocka_unit_test(test_decode_checks_everything),
        cmocka_unit_test(test_attack_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
