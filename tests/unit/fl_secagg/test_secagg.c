/* SecAgg+: Shamir sharing, the masking graph, and whole rounds of the
 * protocol driven in-process (server and n node halves exchanging real
 * frames), with nodes dropping at every step: the server's result equals
 * the weighted mean of the survivors' clipped updates within the
 * fixed-point step, and one node's masked upload is statistically
 * indistinguishable from uniform words. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "fl/secagg/secagg_internal.h"

static void test_shamir_threshold(void **state) {
    (void)state;
    assert_true(sodium_init() >= 0);
    uint8_t secret[SA_SECRET], back[SA_SECRET];
    randombytes_buf(secret, sizeof secret);
    secret[31] = 0xff; /* the last, partial chunk too */
    uint32_t xs[10];
    for (int i = 0; i < 10; i++) xs[i] = (uint32_t)(3 * i + 7);
    sa_share sh[10];
    sa_shamir_split(secret, 10, 4, xs, sh);
    /* Any 4 reconstruct, in any order. */
    sa_share pick[4] = {sh[9], sh[2], sh[5], sh[0]};
    assert_int_equal(sa_shamir_combine(pick, 4, 4, back), 0);
    assert_memory_equal(secret, back, SA_SECRET);
    assert_int_equal(sa_shamir_combine(sh + 6, 4, 4, back), 0);
    assert_memory_equal(secret, back, SA_SECRET);
    /* Fewer than t: refused; with t lowered they give something else. */
    assert_int_equal(sa_shamir_combine(sh, 3, 4, back), -1);
    if (sa_shamir_combine(sh, 3, 3, back) == 0) assert_memory_not_equal(secret, back, SA_SECRET);
    /* Repeated points are refused; a tampered share changes the result. */
    sa_share dup[4] = {sh[1], sh[1], sh[2], sh[3]};
    assert_int_equal(sa_shamir_combine(dup, 4, 4, back), -1);
    sa_share bad[4] = {sh[0], sh[1], sh[2], sh[3]};
    bad[2].y[1] ^= 1;
    if (sa_shamir_combine(bad, 4, 4, back) == 0) assert_memory_not_equal(secret, back, SA_SECRET);
    /* Pack / unpack round trip, and a point 0 is refused. */
    uint8_t wire[SA_SHARE_BYTES];
    sa_share u;
    sa_share_pack(&sh[3], wire);
    assert_int_equal(sa_share_unpack(wire, &u), 0);
    assert_int_equal(u.x, sh[3].x);
    for (int k = 0; k < SA_CHUNKS; k++) assert_true(u.y[k] == sh[3].y[k]);
    memset(wire, 0, 4);
    assert_int_equal(sa_share_unpack(wire, &u), -1);
}

static void test_graph(void **state) {
    (void)state;
    assert_int_equal(sa_graph_degree(10, 0), 9);  /* small: complete */
    assert_int_equal(sa_graph_degree(64, 0), 63); /* up to 64: complete */
    assert_int_equal(sa_graph_degree(100, 0), 40); /* ceil(6 log2 100) = 40 */
    assert_int_equal(sa_graph_degree(10, 3), 4);   /* odd -> even for Harary */
    assert_int_equal(sa_threshold(9, 0.5), 5);
    assert_int_equal(sa_threshold(4, 1.0), 4);
    for (int n = 5; n <= 160; n += 31) {
        int k = sa_graph_degree(n, n > 100 ? 0 : 4);
        int *adj = malloc((size_t)n * k * sizeof(int)), *adj2 = malloc((size_t)n * k * sizeof(int));
        sa_graph_build(n, k, 77, 3, adj);
        sa_graph_build(n, k, 77, 3, adj2);
        assert_memory_equal(adj, adj2, (size_t)n * k * sizeof(int)); /* public, reproducible */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++) {
                int v = adj[i * k + j];
                assert_true(v >= 0 && v < n && v != i);
                for (int q = 0; q < j; q++) assert_int_not_equal(adj[i * k + q], v);
                int back = 0;
                for (int q = 0; q < k; q++) back += adj[v * k + q] == i;
                assert_int_equal(back, 1); /* symmetric */
            }
        sa_graph_build(n, k, 77, 4, adj2);
        if (k < n - 1) assert_memory_not_equal(adj, adj2, (size_t)n * k * sizeof(int)); /* fresh per round */
        free(adj);
        free(adj2);
    }
}

/* ---- an in-process round ---- */
enum { MAXN = 40 };
enum { AT_NONE = 0, AT_KEYS, AT_SHARES, AT_COLLECT, AT_TRAIN, AT_UNMASK };

typedef struct round_result {
    int rc;
    float *out;
    double weight;
    char err[FEDC_ERROR_MAX];
    fedc_buf masked[MAXN]; /* each node's masked upload */
} round_result;

/* Runs one round; node i leaves when step exit_at[i] arrives. */
static void run_round(fedc_task *t, size_t d, int n, float **delta, const double *samples, const int *exit_at,
                      round_result *res) {
    const fedc_protocol_ops *po = &sa_protocol_ops;
    fedc_error e = {{0}};
    void *srv = po->server_create(t, d, &e);
    assert_non_null(srv);
    int clients[MAXN];
    for (int i = 0; i < n; i++) clients[i] = 100 + i;
    assert_int_equal(po->begin(srv, 5, n, clients, &e), 0);
    fedc_protocol_client *st[MAXN] = {0};
    fedc_buf frames[MAXN] = {{0}}, reply = {0};
    char alive[MAXN];
    for (int i = 0; i < n; i++) alive[i] = 1;
    int stepno = AT_KEYS;
    for (int phase = 0; phase < 2; phase++) {
        for (;;) {
            int more = po->step(srv, phase, alive, frames, &e);
            assert_true(more >= 0);
            if (more == 0) break;
            for (int i = 0; i < n; i++) {
                if (!alive[i]) continue;
                if (exit_at[i] == stepno) {
                    alive[i] = 0;
                    po->drop(srv, i);
                    continue;
                }
                fedc_msg m;
                assert_int_equal(fedc_msg_decode(frames[i].data, frames[i].len, &m, &e), 0);
                assert_int_equal(m.type, FEDC_MSG_STEP);
                int rc = po->client_step(t, d, samples[i], &st[i], &m, &reply, &e);
                fedc_msg_free(&m);
                assert_int_equal(rc, 0);
                assert_int_equal(fedc_msg_decode(reply.data, reply.len, &m, &e), 0);
                rc = po->reply(srv, i, &m, &e);
                fedc_msg_free(&m);
                if (rc != 0) fprintf(stderr, "reply %d: %s\n", i, e.msg);
                assert_int_equal(rc, 0);
            }
            stepno++;
        }
        if (phase == 0) {
            /* TRAIN: each node seals its update. */
            assert_int_equal(stepno, AT_TRAIN);
            for (int i = 0; i < n; i++) {
                if (!alive[i]) continue;
                if (exit_at[i] == AT_TRAIN) {
                    alive[i] = 0;
                    po->drop(srv, i);
                    continue;
                }
                float *copy = malloc(d * sizeof(float));
                memcpy(copy, delta[i], d * sizeof(float));
                fedc_buf_clear(&res->masked[i]);
                assert_int_equal(po->client_seal(t, st[i], 5, copy, d, &res->masked[i], &e), 0);
                free(copy);
                assert_int_equal(po->update(srv, i, res->masked[i].data, res->masked[i].len, &e), 0);
            }
            stepno = AT_UNMASK;
        }
    }
    res->out = calloc(d, sizeof(float));
    res->rc = po->finish(srv, res->out, &res->weight, &e);
    snprintf(res->err, sizeof res->err, "%s", e.msg);
    for (int i = 0; i < n; i++) {
        fedc_buf_free(&frames[i]);
        if (st[i]) st[i]->free_state(st[i]);
    }
    fedc_buf_free(&reply);
    po->server_free(srv);
}

static void free_result(round_result *r, int n) {
    free(r->out);
    for (int i = 0; i < n; i++) fedc_buf_free(&r->masked[i]);
}

static void secagg_task(fedc_task *t, double clip, int degree) {
    memset(t, 0, sizeof *t);
    snprintf(t->secagg.mode, sizeof t->secagg.mode, "secagg+");
    t->secagg.clip = clip;
    t->secagg.degree = degree;
    t->secagg.threshold = 0.5;
    t->seed = 11;
}

/* Survivors' weighted mean vs the protocol's, with nodes leaving at each
 * step: those leaving before TRAIN are out, the one leaving at unmask is in. */
static void check_round(int n, int degree, const int *exit_at) {
    fedc_task t;
    secagg_task(&t, 10.0, degree);
    size_t d = 3000;
    float *delta[MAXN];
    double samples[MAXN];
    fedc_rng rng = fedc_rng_derive(1, (uint64_t)n, 2);
    for (int i = 0; i < n; i++) {
        delta[i] = malloc(d * sizeof(float));
        for (size_t j = 0; j < d; j++) delta[i][j] = (float)(0.02 * fedc_rng_normal(&rng));
        samples[i] = 50 + 37 * i;
    }
    delta[0][0] = 500; /* norm far above clip 10: clipped on the node */
    round_result res = {0};
    run_round(&t, d, n, delta, samples, exit_at, &res);
    if (res.rc != 0) fprintf(stderr, "finish: %s\n", res.err);
    assert_int_equal(res.rc, 0);
    /* Reference: weights over those that answered keys, mean over U3. */
    double wsum = 0, ssum = 0;
    for (int i = 0; i < n; i++)
        if (exit_at[i] == AT_NONE || exit_at[i] == AT_UNMASK) {
            wsum += samples[i];
            ssum += samples[i];
        }
    assert_float_equal(res.weight, ssum, 1e-9);
    double worst = 0;
    /* Each node clips its update to L2 norm 10 before quantising. */
    double scale[MAXN];
    for (int i = 0; i < n; i++) {
        double norm = 0;
        for (size_t q = 0; q < d; q++) norm += (double)delta[i][q] * delta[i][q];
        norm = sqrt(norm);
        scale[i] = norm > 10.0 ? 10.0 / norm : 1.0;
    }
    for (size_t j = 0; j < d; j++) {
        double ref = 0;
        for (int i = 0; i < n; i++)
            if (exit_at[i] == AT_NONE || exit_at[i] == AT_UNMASK) ref += samples[i] * delta[i][j] * scale[i];
        ref /= wsum;
        double diff = fabs(ref - res.out[j]);
        if (diff > worst) worst = diff;
    }
    /* Fixed-point step clip / 2^30 per node, float output rounding. */
    assert_true(worst < 1e-6);
    free_result(&res, n);
    for (int i = 0; i < n; i++) free(delta[i]);
}

static void test_round_no_drop(void **state) {
    (void)state;
    int none[MAXN] = {0};
    check_round(10, 0, none);  /* complete graph */
    check_round(30, 8, none);  /* sparse: k = 8 of 29 */
}

static void test_round_one_drop(void **state) {
    (void)state;
    int ex[MAXN] = {0};
    ex[4] = AT_TRAIN; /* shared its keys: its pair masks are rebuilt */
    check_round(10, 0, ex);
    check_round(30, 6, ex); /* sparse graph, degree 6 */
}

static void test_round_thirty_percent_drop(void **state) {
    (void)state;
    /* 9 of 30 leave: at keys, shares, collect, train and unmask. */
    int ex[MAXN] = {0};
    int at[9] = {AT_KEYS, AT_SHARES, AT_SHARES, AT_COLLECT, AT_TRAIN, AT_TRAIN, AT_TRAIN, AT_UNMASK, AT_UNMASK};
    int who[9] = {1, 3, 7, 10, 12, 15, 20, 24, 28};
    for (int q = 0; q < 9; q++) ex[who[q]] = at[q];
    check_round(30, 0, ex);
    /* Same drops among 10 nodes (3 = 30%). */
    int ex10[MAXN] = {0};
    ex10[2] = AT_SHARES;
    ex10[5] = AT_TRAIN;
    ex10[8] = AT_UNMASK;
    check_round(10, 0, ex10);
}

/* Too many neighbours gone: the server cannot unmask and says why. */
static void test_round_too_many_drops_fails(void **state) {
    (void)state;
    fedc_task t;
    secagg_task(&t, 10.0, 4);
    size_t d = 16;
    int n = 8;
    float *delta[MAXN];
    double samples[MAXN];
    int ex[MAXN] = {0};
    for (int i = 0; i < n; i++) {
        delta[i] = calloc(d, sizeof(float));
        samples[i] = 10;
    }
    for (int i = 1; i < n; i++) ex[i] = AT_UNMASK; /* every survivor silent at unmask but node 0 */
    round_result res = {0};
    run_round(&t, d, n, delta, samples, ex, &res);
    assert_int_equal(res.rc, -1);
    assert_non_null(strstr(res.err, "cannot be rebuilt"));
    free_result(&res, n);
    for (int i = 0; i < n; i++) free(delta[i]);
}

/* Chi-square of the top byte of each word over 256 bins. */
static double chi2_top_byte(const uint8_t *words, size_t L, int byte) {
    double count[256] = {0};
    for (size_t j = 0; j < L; j++) count[words[4 * j + byte]]++;
    double e = (double)L / 256, x = 0;
    for (int b = 0; b < 256; b++) x += (count[b] - e) * (count[b] - e) / e;
    return x;
}

/* One node's masked upload alone: uniform words. With 255 degrees of
 * freedom, chi-square above 400 has probability < 1e-8 for uniform data;
 * the same update quantised but unmasked is far from uniform. */
static void test_masked_upload_is_uniform(void **state) {
    (void)state;
    fedc_task t;
    secagg_task(&t, 10.0, 0);
    size_t d = 1 << 16;
    int n = 4;
    float *delta[MAXN];
    double samples[MAXN] = {100, 100, 100, 100};
    int none[MAXN] = {0};
    fedc_rng rng = fedc_rng_derive(5, 5, 5);
    for (int i = 0; i < n; i++) {
        delta[i] = malloc(d * sizeof(float));
        for (size_t j = 0; j < d; j++) delta[i][j] = (float)(0.01 * fedc_rng_normal(&rng));
    }
    round_result res = {0};
    run_round(&t, d, n, delta, samples, none, &res);
    assert_int_equal(res.rc, 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(res.masked[i].len, (d + 1) * 4);
        for (int byte = 0; byte < 4; byte++) {
            double x = chi2_top_byte(res.masked[i].data, d + 1, byte);
            assert_true(x < 400);
        }
    }
    /* Negative control: the same values quantised, without masks. */
    uint8_t *plain = malloc((d + 1) * 4);
    for (size_t j = 0; j < d; j++) sa_put32(plain + 4 * j, sa_quantise(0.25 * delta[0][j], SA_FIX_ONE / 10.0));
    sa_put32(plain + 4 * d, sa_quantise(0.25, SA_FIX_ONE));
    assert_true(chi2_top_byte(plain, d + 1, 3) > 10000);
    free(plain);
    free_result(&res, n);
    for (int i = 0; i < n; i++) free(delta[i]);
}

/* Steps out of order, repeated, or malformed are refused by the node. */
static void test_client_refusals(void **state) {
    (void)state;
    fedc_task t;
    secagg_task(&t, 10.0, 0);
    fedc_protocol_client *st = NULL;
    fedc_buf reply = {0};
    fedc_error e;
    const char *j = "{\"round\":3,\"step\":\"unmask\"}";
    uint8_t flags[4] = {0};
    fedc_msg m = {.type = FEDC_MSG_STEP, .json = j, .json_len = strlen(j), .nblobs = 1};
    m.blobs[0].data = flags;
    m.blobs[0].len = 4;
    assert_int_equal(sa_client_step(&t, 8, 10, &st, &m, &reply, &e), -1);
    assert_non_null(strstr(e.msg, "out of order"));
    const char *k = "{\"round\":3,\"step\":\"keys\",\"index\":0,\"n\":3,\"t\":2}";
    uint8_t nb[8];
    sa_put32(nb, 1);
    sa_put32(nb + 4, 1);
    fedc_msg mk = {.type = FEDC_MSG_STEP, .json = k, .json_len = strlen(k), .nblobs = 1};
    mk.blobs[0].data = nb;
    mk.blobs[0].len = 8;
    assert_int_equal(sa_client_step(&t, 8, 10, &st, &mk, &reply, &e), -1);
    assert_non_null(strstr(e.msg, "listed twice"));
    const char *bogus = "{\"round\":3,\"step\":\"reveal-all\"}";
    fedc_msg mb = {.type = FEDC_MSG_STEP, .json = bogus, .json_len = strlen(bogus)};
    assert_int_equal(sa_client_step(&t, 8, 10, &st, &mb, &reply, &e), -1);
    assert_non_null(strstr(e.msg, "not a step"));
    float dlt[8] = {0};
    fedc_buf out = {0};
    assert_int_equal(sa_client_seal(&t, st, 3, dlt, 8, &out, &e), -1);
    if (st) st->free_state(st);
    fedc_buf_free(&reply);
    fedc_buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shamir_threshold),
        cmocka_unit_test(test_graph),
        cmocka_unit_test(test_round_no_drop),
        cmocka_unit_test(test_round_one_drop),
        cmocka_unit_test(test_round_thirty_percent_drop),
        cmocka_unit_test(test_round_too_many_drops_fails),
        cmocka_unit_test(test_masked_upload_is_uniform),
        cmocka_unit_test(test_client_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
