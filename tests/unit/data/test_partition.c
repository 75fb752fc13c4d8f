/* Partitioners: exact cover, the statistical shape of each scheme, the
 * guarantees (sizes, k classes, minimum samples), determinism by seed,
 * 10,000 clients, bad configurations, the printed table, and gather. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "data_test_util.h"
#include "fedc/data.h"
#include "fedc/rng.h"

/* Labels only (partitioners read y): n samples, `classes` balanced classes
 * in shuffled order. */
static fedc_dataset labels_dataset(size_t n, int classes, uint64_t seed) {
    fedc_dataset d = {0};
    d.n = n;
    d.n_classes = classes;
    d.y = malloc(n * sizeof *d.y);
    uint32_t *perm = malloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    fedc_rng_shuffle_u32(&r, perm, n);
    for (size_t i = 0; i < n; i++)
        d.y[perm[i]] = (int32_t)(i % (size_t)classes);
    free(perm);
    return d;
}

/* Every sample in exactly one client; offsets consistent; ascending ids. */
static void assert_exact_cover(const fedc_partition *p, size_t n) {
    assert_int_equal(p->offsets[0], 0);
    assert_int_equal(p->offsets[p->n_clients], n);
    uint8_t *seen = calloc(n, 1);
    for (int k = 0; k < p->n_clients; k++) {
        assert_true(p->offsets[k] <= p->offsets[k + 1]);
        const uint32_t *ids = fedc_partition_client(p, k);
        for (size_t t = 0; t < fedc_partition_size(p, k); t++) {
            assert_true(ids[t] < n);
            assert_int_equal(seen[ids[t]], 0);
            seen[ids[t]] = 1;
            if (t)
                assert_true(ids[t - 1] < ids[t]);
        }
    }
    free(seen);
}

static int distinct_classes(const fedc_dataset *d, const fedc_partition *p, int k) {
    uint8_t has[256] = {0};
    int n = 0;
    const uint32_t *ids = fedc_partition_client(p, k);
    for (size_t t = 0; t < fedc_partition_size(p, k); t++) {
        if (!has[d->y[ids[t]]])
            n++;
        has[d->y[ids[t]]] = 1;
    }
    return n;
}

static fedc_partition make(const fedc_dataset *d, fedc_partition_config cfg, int clients,
                           uint64_t seed) {
    fedc_partition p;
    fedc_error err = {{0}};
    int rc = fedc_partition_make(d, &cfg, clients, seed, &p, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(p.n_clients, clients);
    assert_exact_cover(&p, d->n);
    return p;
}

static fedc_partition_summary summary(const fedc_dataset *d, const fedc_partition *p) {
    fedc_partition_summary s;
    fedc_error err = {{0}};
    assert_int_equal(fedc_partition_summarize(d, p, &s, &err), 0);
    return s;
}

static void test_iid_equal_sizes(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(10007, 10, 1);
    fedc_partition_config cfg = {.kind = FEDC_PART_IID};
    fedc_partition p = make(&d, cfg, 100, 7);
    for (int k = 0; k < 100; k++)
        assert_int_equal(fedc_partition_size(&p, k), k < 7 ? 101 : 100);
    fedc_partition_summary s = summary(&d, &p);
    assert_int_equal(s.min_size, 100);
    assert_int_equal(s.max_size, 101);
    assert_int_equal(s.empty_clients, 0);
    /* 100 samples drawn IID: the label mix is close to the global one. */
    assert_true(s.mean_tv < 0.15);
    assert_true(s.mean_classes > 9.9);
    fedc_partition_free(&p);
    free(d.y);
}

static void test_dirichlet_large_alpha_is_near_iid(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(60000, 10, 2);
    fedc_partition_config cfg = {.kind = FEDC_PART_DIRICHLET, .alpha = 1000};
    fedc_partition p = make(&d, cfg, 10, 11);
    fedc_partition_summary s = summary(&d, &p);
    assert_true(s.mean_tv < 0.05);
    assert_true(s.mean_classes == 10);
    assert_true(s.min_size > 5000 && s.max_size < 7000);
    fedc_partition_free(&p);
    free(d.y);
}

static void test_dirichlet_small_alpha_is_skewed(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(60000, 10, 3);
    fedc_partition_config cfg = {.kind = FEDC_PART_DIRICHLET, .alpha = 0.1};
    fedc_partition p = make(&d, cfg, 100, 12);
    fedc_partition_summary s = summary(&d, &p);
    assert_true(s.mean_tv > 0.5);
    assert_true(s.mean_classes < 5);
    /* Default minimum: min(10, n / (2K)) = 10 samples per client. */
    assert_true(s.min_size >= 10);
    /* Dominant class of a typical client holds most of its samples. */
    double top_share = 0;
    for (int k = 0; k < 100; k++) {
        size_t hist[10] = {0}, best = 0;
        const uint32_t *ids = fedc_partition_client(&p, k);
        for (size_t t = 0; t < fedc_partition_size(&p, k); t++)
            hist[d.y[ids[t]]]++;
        for (int c = 0; c < 10; c++)
            if (hist[c] > best)
                best = hist[c];
        top_share += (double)best / (double)fedc_partition_size(&p, k);
    }
    assert_true(top_share / 100 > 0.6);
    fedc_partition_free(&p);

    /* Larger alpha, milder skew: TV decreases with alpha. */
    double prev = 1.0;
    const double alphas[4] = {0.05, 0.5, 5, 50};
    for (int a = 0; a < 4; a++) {
        cfg.alpha = alphas[a];
        p = make(&d, cfg, 50, 13);
        double tv = summary(&d, &p).mean_tv;
        assert_true(tv < prev);
        prev = tv;
        fedc_partition_free(&p);
    }
    free(d.y);
}

static void test_dirichlet_minimum_and_tiny_alpha(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(6000, 10, 4);
    /* Minimum 50 is hard to reach with alpha 0.01 by redrawing: the
     * repair step must get every client there. */
    fedc_partition_config cfg = {.kind = FEDC_PART_DIRICHLET, .alpha = 0.01, .min_samples = 50};
    fedc_partition p = make(&d, cfg, 100, 5);
    fedc_partition_summary s = summary(&d, &p);
    assert_true(s.min_size >= 50);
    assert_true(s.mean_tv > 0.4);
    fedc_partition_free(&p);
    /* Gamma draws underflow to 0 for alpha this small: still a partition. */
    cfg.alpha = 1e-6;
    cfg.min_samples = 0;
    p = make(&d, cfg, 20, 6);
    s = summary(&d, &p);
    assert_true(s.min_size >= 10);
    fedc_partition_free(&p);
    free(d.y);
}

static void test_shards_exactly_k_classes(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(60000, 10, 5);
    const int ks[4] = {1, 2, 3, 10};
    const int clients[4] = {10, 100, 37, 40};
    for (int t = 0; t < 4; t++) {
        fedc_partition_config cfg = {.kind = FEDC_PART_SHARDS, .classes_per_client = ks[t]};
        fedc_partition p = make(&d, cfg, clients[t], 21);
        for (int k = 0; k < clients[t]; k++)
            assert_int_equal(distinct_classes(&d, &p, k), ks[t]);
        fedc_partition_summary s = summary(&d, &p);
        /* Shards are cut near-equal, so client sizes stay close. */
        assert_true((double)s.max_size <= 1.1 * (double)s.min_size + 1);
        fedc_partition_free(&p);
    }
    /* 100 clients x 2 classes on balanced MNIST-like labels: 600 each. */
    fedc_partition_config cfg = {.kind = FEDC_PART_SHARDS, .classes_per_client = 2};
    fedc_partition p = make(&d, cfg, 100, 22);
    for (int k = 0; k < 100; k++)
        assert_int_equal(fedc_partition_size(&p, k), 600);
    fedc_partition_free(&p);
    free(d.y);
}

static void test_shards_unbalanced_classes(void **state) {
    (void)state;
    /* Class c has 5 * (c + 1)^2 samples: 5 .. 500; class 0 can be shared
     * by at most 5 clients. */
    fedc_dataset d = {0};
    d.n_classes = 10;
    for (int c = 0; c < 10; c++)
        d.n += 5 * (size_t)(c + 1) * (size_t)(c + 1);
    d.y = malloc(d.n * sizeof *d.y);
    size_t i = 0;
    for (int c = 0; c < 10; c++)
        for (int t = 0; t < 5 * (c + 1) * (c + 1); t++)
            d.y[i++] = c;
    fedc_partition_config cfg = {.kind = FEDC_PART_SHARDS, .classes_per_client = 3};
    fedc_partition p = make(&d, cfg, 60, 9);
    for (int k = 0; k < 60; k++)
        assert_int_equal(distinct_classes(&d, &p, k), 3);
    fedc_partition_free(&p);
    free(d.y);
}

static void test_shards_infeasible(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(1000, 10, 6);
    fedc_partition p;
    fedc_error err = {{0}};
    fedc_partition_config cfg = {.kind = FEDC_PART_SHARDS, .classes_per_client = 11};
    assert_int_equal(fedc_partition_make(&d, &cfg, 10, 1, &p, &err), -1);
    assert_msg_has(err.msg, "classes_per_client 11 exceeds the 10 classes present");
    cfg.classes_per_client = 2;
    assert_int_equal(fedc_partition_make(&d, &cfg, 3, 1, &p, &err), -1);
    assert_msg_has(err.msg, "3 clients x 2 classes = 6 class slots cannot cover the 10 classes");
    assert_msg_has(err.msg, "classes_per_client >= 4");
    /* Only 3 samples of class 9 but 4 clients each wanting all classes. */
    for (size_t i = 0; i < d.n; i++)
        if (d.y[i] == 9)
            d.y[i] = 8;
    d.y[0] = d.y[1] = d.y[2] = 9;
    cfg.classes_per_client = 10;
    assert_int_equal(fedc_partition_make(&d, &cfg, 4, 1, &p, &err), -1);
    assert_msg_has(err.msg, "allow only 39");
    free(d.y);
}

static void test_quantity_spread(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(200000, 10, 7);
    fedc_partition_config cfg = {.kind = FEDC_PART_QUANTITY, .sigma = 0};
    fedc_partition p = make(&d, cfg, 300, 3);
    fedc_partition_summary s = summary(&d, &p);
    assert_true(s.max_size - s.min_size <= 1);
    fedc_partition_free(&p);
    /* sigma 1: log sizes spread with standard deviation about 1. */
    const double sigmas[2] = {0.5, 1.0};
    for (int t = 0; t < 2; t++) {
        cfg.sigma = sigmas[t];
        p = make(&d, cfg, 300, 4);
        double mean = 0, var = 0;
        for (int k = 0; k < 300; k++)
            mean += log((double)fedc_partition_size(&p, k));
        mean /= 300;
        for (int k = 0; k < 300; k++) {
            double z = log((double)fedc_partition_size(&p, k)) - mean;
            var += z * z;
        }
        double sd = sqrt(var / 299);
        assert_true(sd > 0.8 * sigmas[t] && sd < 1.2 * sigmas[t]);
        s = summary(&d, &p);
        assert_true(s.min_size >= 10);
        /* Labels are IID: the biggest clients see the global mix. */
        for (int k = 0; k < 300; k++) {
            if (fedc_partition_size(&p, k) < 2000)
                continue;
            size_t hist[10] = {0};
            const uint32_t *ids = fedc_partition_client(&p, k);
            for (size_t i = 0; i < fedc_partition_size(&p, k); i++)
                hist[d.y[ids[i]]]++;
            for (int c = 0; c < 10; c++) {
                double share = (double)hist[c] / (double)fedc_partition_size(&p, k);
                assert_true(share > 0.06 && share < 0.14);
            }
        }
        fedc_partition_free(&p);
    }
    /* Heavy skew still honours the minimum. */
    cfg.sigma = 4;
    cfg.min_samples = 25;
    p = make(&d, cfg, 1000, 5);
    assert_true(summary(&d, &p).min_size >= 25);
    fedc_partition_free(&p);
    free(d.y);
}

static void test_deterministic_by_seed(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(20000, 10, 8);
    fedc_partition_config cfgs[4] = {{.kind = FEDC_PART_IID},
                                     {.kind = FEDC_PART_DIRICHLET, .alpha = 0.3},
                                     {.kind = FEDC_PART_SHARDS, .classes_per_client = 2},
                                     {.kind = FEDC_PART_QUANTITY, .sigma = 1}};
    for (int t = 0; t < 4; t++) {
        fedc_partition a = make(&d, cfgs[t], 50, 99), b = make(&d, cfgs[t], 50, 99);
        fedc_partition c = make(&d, cfgs[t], 50, 100);
        assert_memory_equal(a.offsets, b.offsets, 51 * sizeof *a.offsets);
        assert_memory_equal(a.index, b.index, d.n * sizeof *a.index);
        int differs = memcmp(a.offsets, c.offsets, 51 * sizeof *a.offsets) != 0 ||
                      memcmp(a.index, c.index, d.n * sizeof *a.index) != 0;
        assert_true(differs);
        fedc_partition_free(&a);
        fedc_partition_free(&b);
        fedc_partition_free(&c);
    }
    free(d.y);
}

static void test_ten_thousand_clients(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(60000, 10, 9);
    fedc_partition_config cfgs[4] = {{.kind = FEDC_PART_IID},
                                     {.kind = FEDC_PART_DIRICHLET, .alpha = 0.1},
                                     {.kind = FEDC_PART_SHARDS, .classes_per_client = 2},
                                     {.kind = FEDC_PART_QUANTITY, .sigma = 1}};
    for (int t = 0; t < 4; t++) {
        fedc_partition p = make(&d, cfgs[t], 10000, 42);
        fedc_partition_summary s = summary(&d, &p);
        assert_int_equal(s.empty_clients, 0);
        /* Default minimum: n / (2K) = 3. */
        if (t == 1 || t == 3)
            assert_true(s.min_size >= 3);
        if (t == 0)
            assert_true(s.min_size == 6 && s.max_size == 6);
        if (t == 2)
            for (int k = 0; k < 10000; k++)
                assert_int_equal(distinct_classes(&d, &p, k), 2);
        fedc_partition_free(&p);
    }
    free(d.y);
}

static void test_bad_configurations(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(100, 10, 10);
    fedc_partition p;
    fedc_error err = {{0}};
    fedc_partition_config cfg = {.kind = FEDC_PART_IID};
    assert_int_equal(fedc_partition_make(&d, &cfg, 0, 1, &p, &err), -1);
    assert_msg_has(err.msg, "0 clients is out of range 1..100");
    assert_int_equal(fedc_partition_make(&d, &cfg, 101, 1, &p, &err), -1);
    assert_msg_has(err.msg, "101 clients");
    cfg.kind = FEDC_PART_DIRICHLET;
    cfg.alpha = 0;
    assert_int_equal(fedc_partition_make(&d, &cfg, 5, 1, &p, &err), -1);
    assert_msg_has(err.msg, "alpha 0 is out of range");
    cfg.alpha = NAN;
    assert_int_equal(fedc_partition_make(&d, &cfg, 5, 1, &p, &err), -1);
    assert_msg_has(err.msg, "alpha nan");
    cfg.alpha = 1;
    cfg.min_samples = 21;
    assert_int_equal(fedc_partition_make(&d, &cfg, 5, 1, &p, &err), -1);
    assert_msg_has(err.msg, "min_samples 21 is out of range");
    cfg.kind = FEDC_PART_QUANTITY;
    cfg.min_samples = 0;
    cfg.sigma = -1;
    assert_int_equal(fedc_partition_make(&d, &cfg, 5, 1, &p, &err), -1);
    assert_msg_has(err.msg, "sigma -1 is out of range [0, 10]");
    cfg.kind = FEDC_PART_SHARDS;
    cfg.classes_per_client = 0;
    assert_int_equal(fedc_partition_make(&d, &cfg, 5, 1, &p, &err), -1);
    assert_msg_has(err.msg, "classes_per_client 0 must be at least 1");
    cfg.kind = (fedc_part_kind)9;
    assert_int_equal(fedc_partition_make(&d, &cfg, 5, 1, &p, &err), -1);
    assert_msg_has(err.msg, "unknown kind 9");
    cfg.kind = FEDC_PART_IID;
    d.y[17] = 10;
    assert_int_equal(fedc_partition_make(&d, &cfg, 5, 1, &p, &err), -1);
    assert_msg_has(err.msg, "sample 17 has label 10, outside 0..9");
    free(d.y);

    fedc_part_kind k;
    assert_int_equal(fedc_part_kind_parse("Dirichlet", &k), 0);
    assert_int_equal(k, FEDC_PART_DIRICHLET);
    assert_int_equal(fedc_part_kind_parse("shards", &k), 0);
    assert_int_equal(k, FEDC_PART_SHARDS);
    assert_int_equal(fedc_part_kind_parse("quantity", &k), 0);
    assert_int_equal(fedc_part_kind_parse("iid", &k), 0);
    assert_int_equal(k, FEDC_PART_IID);
    assert_int_equal(fedc_part_kind_parse("natural", &k), 0);
    assert_int_equal(k, FEDC_PART_NATURAL);
    assert_int_equal(fedc_part_kind_parse("pathological", &k), -1);
    assert_string_equal(fedc_part_kind_name(FEDC_PART_QUANTITY), "quantity");
}


/* Natural partition: whole groups per client, exact cover, deterministic in
 * the seed, and balanced in groups (sizes differ by at most one group). */
static void test_natural_groups(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(5000, 10, 3);
    const uint32_t G = 347;
    d.group = malloc(d.n * sizeof *d.group);
    d.n_groups = G;
    fedc_rng r;
    fedc_rng_seed(&r, 11);
    for (size_t i = 0; i < d.n; i++) d.group[i] = i < G ? (uint32_t)i : fedc_rng_below(&r, G);
    fedc_partition_config cfg = {.kind = FEDC_PART_NATURAL};
    const int Ks[] = {1, 10, 100, 347};
    for (size_t t = 0; t < sizeof Ks / sizeof Ks[0]; t++) {
        int K = Ks[t];
        fedc_partition p, q;
        fedc_error err = {{0}};
        assert_int_equal(fedc_partition_make(&d, &cfg, K, 42, &p, &err), 0);
        assert_exact_cover(&p, d.n);
        int *owner = malloc(G * sizeof *owner);
        for (uint32_t g = 0; g < G; g++) owner[g] = -1;
        uint32_t min_groups = G, max_groups = 0;
        for (int k = 0; k < K; k++) {
            uint32_t groups = 0;
            const uint32_t *ids = fedc_partition_client(&p, k);
            for (size_t j = 0; j < fedc_partition_size(&p, k); j++) {
                uint32_t g = d.group[ids[j]];
                if (owner[g] == -1) {
                    owner[g] = k;
                    groups++;
                }
                assert_int_equal(owner[g], k); /* a group never spans clients */
            }
            min_groups = groups < min_groups ? groups : min_groups;
            max_groups = groups > max_groups ? groups : max_groups;
        }
        assert_true(min_groups >= 1 && max_groups - min_groups <= 1);
        if (K == (int)G) assert_int_equal(max_groups, 1); /* one writer per client */
        assert_int_equal(fedc_partition_make(&d, &cfg, K, 42, &q, &err), 0);
        assert_memory_equal(p.index, q.index, d.n * sizeof *p.index);
        assert_memory_equal(p.offsets, q.offsets, ((size_t)K + 1) * sizeof *p.offsets);
        fedc_partition_free(&q);
        fedc_partition_free(&p);
        free(owner);
    }
    fedc_dataset_free(&d);
}

static char *print_to_string(const fedc_dataset *d, const fedc_partition *p, int rows) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fedc_partition_print(f, d, p, rows);
    fclose(f);
    return buf;
}

static void test_print_table(void **state) {
    (void)state;
    fedc_dataset d = labels_dataset(1000, 10, 11);
    fedc_partition_config cfg = {.kind = FEDC_PART_SHARDS, .classes_per_client = 1};
    fedc_partition p = make(&d, cfg, 10, 1);
    char *out = print_to_string(&d, &p, 3);
    assert_msg_has(out, "partition: 10 clients, 1000 samples, 10 classes");
    assert_msg_has(out, "samples per class");
    /* One class per client: each printed row has a 100 and nine 0s. */
    char *row = strstr(out, "\n       0      100");
    assert_non_null(row);
    assert_msg_has(out, "... 7 more clients");
    assert_msg_has(out, "sizes: min 100, median 100, max 100; empty clients 0");
    assert_msg_has(out, "1.00 classes per client");
    assert_msg_has(out, "from the global label mix 0.900");
    assert_null(strstr(out, "\n       3 "));
    free(out);
    fedc_partition_free(&p);
    free(d.y);
    /* Many classes: the top labels instead of every column. */
    d = labels_dataset(4000, 40, 12);
    cfg.kind = FEDC_PART_IID;
    p = make(&d, cfg, 4, 2);
    out = print_to_string(&d, &p, 10);
    assert_msg_has(out, "label histogram (class:count)");
    assert_msg_has(out, "top:");
    assert_null(strstr(out, "more clients"));
    free(out);
    fedc_partition_free(&p);
    free(d.y);
}

static void test_gather_copies_rows(void **state) {
    (void)state;
    fedc_dataset d = {0};
    d.n = 6;
    d.dim = 3;
    d.shape = (fedc_shape){1, 1, 3};
    d.n_classes = 3;
    d.x = malloc(18 * sizeof(float));
    d.y = malloc(6 * sizeof(int32_t));
    for (int i = 0; i < 18; i++)
        d.x[i] = (float)i;
    for (int i = 0; i < 6; i++)
        d.y[i] = i % 3;
    uint32_t idx[4] = {5, 0, 3, 5};
    float x[12];
    int32_t y[4];
    fedc_dataset_gather(&d, idx, 4, x, y);
    const float want_x[12] = {15, 16, 17, 0, 1, 2, 9, 10, 11, 15, 16, 17};
    const int32_t want_y[4] = {2, 0, 0, 2};
    assert_memory_equal(x, want_x, sizeof want_x);
    assert_memory_equal(y, want_y, sizeof want_y);
    fedc_dataset_free(&d);
    assert_null(d.x);
    assert_null(d.y);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iid_equal_sizes),
        cmocka_unit_test(test_dirichlet_large_alpha_is_near_iid),
        cmocka_unit_test(test_dirichlet_small_alpha_is_skewed),
        cmocka_unit_test(test_dirichlet_minimum_and_tiny_alpha),
        cmocka_unit_test(test_shards_exactly_k_classes),
        cmocka_unit_test(test_shards_unbalanced_classes),
        cmocka_unit_test(test_shards_infeasible),
        cmocka_unit_test(test_quantity_spread),
        cmocka_unit_test(test_deterministic_by_seed),
        cmocka_unit_test(test_ten_thousand_clients),
        cmocka_unit_test(test_bad_configurations),
        cmocka_unit_test(test_print_table),
        cmocka_unit_test(test_gather_copies_rows),
        cmocka_unit_test(test_natural_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
