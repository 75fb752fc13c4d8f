/* Architecture parser: presets, canonical specs, shapes, parameter views,
 * implied ReLU/flatten placement, bounds and error messages. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/nn.h"
#include "nn/nn_internal.h"

static const fedc_shape MNIST = {1, 28, 28};

static fedc_arch *parse_ok(const char *spec, fedc_shape in, int classes) {
    fedc_error err = {{0}};
    fedc_arch *a = fedc_arch_parse(spec, in, classes, &err);
    if (!a) fail_msg("unexpected parse error for \"%s\": %s", spec, err.msg);
    return a;
}

/* Parses a bad spec and checks that the message contains every needle. */
static void expect_error(const char *spec, fedc_shape in, int classes, const char *n1, const char *n2) {
    fedc_error err = {{0}};
    fedc_arch *a = fedc_arch_parse(spec, in, classes, &err);
    if (a) fail_msg("\"%s\" parsed but should fail", spec);
    if (n1 && !strstr(err.msg, n1)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, n1);
    if (n2 && !strstr(err.msg, n2)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, n2);
}

static void test_cnn_preset(void **state) {
    (void)state;
    fedc_arch *a = parse_ok("cnn", MNIST, 10);
    assert_string_equal(fedc_arch_spec(a), "conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:10");
    /* 32*1*25+32 + 64*32*25+64 + 3136*512+512 + 512*10+10 */
    assert_int_equal(fedc_arch_nparams(a), 832 + 51264 + 1606144 + 5130);
    assert_int_equal(fedc_arch_ntensors(a), 8);
    assert_int_equal(fedc_arch_input_size(a), 784);
    fedc_tensor_info t0 = fedc_arch_tensor(a, 0), t2 = fedc_arch_tensor(a, 2), t4 = fedc_arch_tensor(a, 4);
    fedc_tensor_info t7 = fedc_arch_tensor(a, 7);
    assert_string_equal(t0.name, "layers.0.weight");
    assert_int_equal(t0.ndim, 4);
    assert_int_equal(t0.dims[0], 32);
    assert_int_equal(t0.dims[1], 1);
    assert_int_equal(t0.dims[2], 5);
    assert_int_equal(t0.dims[3], 5);
    assert_string_equal(t2.name, "layers.2.weight");
    assert_int_equal(t2.dims[0], 64);
    assert_int_equal(t2.dims[1], 32);
    assert_string_equal(t4.name, "layers.4.weight");
    assert_int_equal(t4.ndim, 2);
    assert_int_equal(t4.dims[0], 512);
    assert_int_equal(t4.dims[1], 3136);
    assert_string_equal(t7.name, "layers.5.bias");
    assert_int_equal(t7.ndim, 1);
    assert_int_equal(t7.dims[0], 10);
    assert_int_equal(t7.offset + t7.count, fedc_arch_nparams(a));
    /* Tensors tile the parameter vector in order. */
    size_t off = 0;
    for (int i = 0; i < fedc_arch_ntensors(a); i++) {
        fedc_tensor_info t = fedc_arch_tensor(a, i);
        assert_int_equal(t.offset, off);
        size_t prod = 1;
        for (int d = 0; d < t.ndim; d++) prod *= (size_t)t.dims[d];
        assert_int_equal(prod, t.count);
        off += t.count;
    }
    assert_int_equal(fedc_arch_tensor(a, 8).count, 0); /* out of range: empty */
    /* forward MACs x2: 784*32*25 + 196*64*800 + 3136*512 + 512*10 */
    assert_true(fedc_arch_flops_per_sample(a) == 2.0 * (784.0 * 32 * 25 + 196.0 * 64 * 800 + 3136.0 * 512 + 5120));
    fedc_arch_free(a);
}

static void test_mlp_preset_uses_class_count(void **state) {
    (void)state;
    fedc_arch *a = parse_ok("mlp", (fedc_shape){3, 32, 32}, 100);
    assert_string_equal(fedc_arch_spec(a), "dense:200,dense:200,dense:100");
    assert_int_equal(fedc_arch_nparams(a), 3072 * 200 + 200 + 200 * 200 + 200 + 200 * 100 + 100);
    assert_int_equal(fedc_arch_nclasses(a), 100);
    fedc_shape in = fedc_arch_input(a);
    assert_int_equal(in.c * in.h * in.w, 3072);
    fedc_arch_free(a);
}

static void test_canonical_forms_and_shapes(void **state) {
    (void)state;
    fedc_arch *a = parse_ok("conv:8:3:1:1,conv:16:3:2,conv:4:3:2:0,avgpool:2,flatten,drop:0.25,dense:10",
                            (fedc_shape){3, 17, 17}, 10);
    assert_string_equal(fedc_arch_spec(a), "conv:8:3,conv:16:3:2,conv:4:3:2:0,avgpool:2,flatten,drop:0.25,dense:10");
    /* 17 -> 17 (pad 1) -> 9 (stride 2, pad 1) -> 4 (stride 2, no pad) -> 2 (avgpool) */
    assert_int_equal(a->ops[1].out.h, 9);
    assert_int_equal(a->ops[2].out.h, 4);
    assert_int_equal(a->ops[3].out.h, 2);
    assert_int_equal(a->ops[5].in_size, 16);
    assert_string_equal(fedc_arch_tensor(a, 6).name, "layers.6.weight");
    assert_int_equal(fedc_arch_tensor(a, 6).dims[1], 16);
    /* A canonical spec parses to itself. */
    fedc_arch *b = parse_ok(fedc_arch_spec(a), (fedc_shape){3, 17, 17}, 10);
    assert_string_equal(fedc_arch_spec(a), fedc_arch_spec(b));
    assert_int_equal(fedc_arch_nparams(a), fedc_arch_nparams(b));
    fedc_arch_free(a);
    fedc_arch_free(b);
}

static void test_implied_relu_placement(void **state) {
    (void)state;
    /* conv,gn: ReLU after the norm; explicit relu next to an implied one merges;
     * relu after avgpool stays a separate op; the last dense has none. */
    fedc_arch *a = parse_ok("conv:4:3,gn:2,conv:4:3,relu,gn:2,avgpool:2,relu,dense:8,dense:3",
                            (fedc_shape){1, 8, 8}, 3);
    assert_int_equal(a->n_ops, 8);
    assert_int_equal(a->ops[0].kind, NN_CONV);
    assert_int_equal(a->ops[0].relu, 0);
    assert_int_equal(a->ops[1].kind, NN_GROUPNORM);
    assert_int_equal(a->ops[1].relu, 1);
    assert_int_equal(a->ops[2].relu, 1); /* conv, relu: fused */
    assert_int_equal(a->ops[3].kind, NN_GROUPNORM);
    assert_int_equal(a->ops[3].relu, 0);
    assert_int_equal(a->ops[5].kind, NN_RELU);
    assert_int_equal(a->ops[6].relu, 1);
    assert_int_equal(a->ops[7].relu, 0);
    /* Only ops after the first parameterised one propagate input gradients. */
    assert_int_equal(a->ops[0].need_dx, 0);
    assert_int_equal(a->ops[1].need_dx, 1);
    fedc_arch_free(a);
    fedc_arch *b = parse_ok("pool:2,dense:4", MNIST, 4);
    assert_int_equal(b->ops[0].need_dx, 0);
    assert_int_equal(b->ops[1].need_dx, 0);
    assert_int_equal(b->ops[1].in_size, 196);
    fedc_arch_free(b);
}

static void test_batchnorm_and_wsconv_layers(void **state) {
    (void)state;
    fedc_arch *a = parse_ok("wsconv:4:3:1:1,bn,pool:2,conv:2:3,bn,relu,dense:6,bn,dense:3", (fedc_shape){2, 8, 8}, 3);
    assert_string_equal(fedc_arch_spec(a), "wsconv:4:3,bn,pool:2,conv:2:3,bn,relu,dense:6,bn,dense:3");
    assert_true(fedc_arch_has_buffers(a));
    /* The implied ReLU moves after a bn that follows its conv/dense. */
    assert_int_equal(a->ops[0].relu, 0);
    assert_int_equal(a->ops[1].kind, NN_BATCHNORM);
    assert_int_equal(a->ops[1].relu, 1);
    assert_int_equal(a->ops[4].relu, 1); /* explicit relu merged into the bn */
    assert_int_equal(a->ops[6].relu, 1);
    /* Tensors: wsconv weight, bias, gain; bn weight, bias and two buffers. */
    static const char *const names[] = {"layers.0.weight", "layers.0.bias", "layers.0.gain", "layers.1.weight",
                                        "layers.1.bias", "layers.1.running_mean", "layers.1.running_var"};
    for (int i = 0; i < 7; i++) assert_string_equal(fedc_arch_tensor(a, i).name, names[i]);
    assert_string_equal(fedc_arch_tensor(a, 0).layer, "wsconv");
    assert_string_equal(fedc_arch_tensor(a, 5).layer, "bn");
    assert_int_equal(fedc_arch_tensor(a, 5).buffer, 1);
    assert_int_equal(fedc_arch_tensor(a, 3).buffer, 0);
    assert_int_equal(fedc_arch_tensor(a, 2).count, 4);
    size_t total = 0;
    for (int i = 0; i < fedc_arch_ntensors(a); i++) total += fedc_arch_tensor(a, i).count;
    assert_int_equal(total, fedc_arch_nparams(a));
    /* Init: gains 1, bn weight 1 and bias 0, running mean 0 and variance 1. */
    float *p = malloc(fedc_arch_nparams(a) * sizeof *p);
    fedc_rng r;
    fedc_rng_seed(&r, 1);
    fedc_arch_init_kind(a, p, &r, FEDC_INIT_TORCH);
    const nn_op *bn = &a->ops[1];
    for (int c = 0; c < 4; c++) {
        assert_true(p[a->ops[0].gain_off + c] == 1.0f);
        assert_true(p[bn->w_off + c] == 1.0f && p[bn->b_off + c] == 0.0f);
        assert_true(p[bn->rmean_off + c] == 0.0f && p[bn->rvar_off + c] == 1.0f);
    }
    free(p);
    fedc_arch_free(a);
    a = parse_ok("conv:4:3,pool:2,dense:3", (fedc_shape){1, 6, 6}, 3);
    assert_false(fedc_arch_has_buffers(a));
    fedc_arch_free(a);
    expect_error("conv:4:3,bn:2,dense:3", MNIST, 3, "wrong number of fields", "\"bn:2\"");
    expect_error("wsconv:4,dense:3", MNIST, 3, "wsconv:C:K", NULL);
}

static void test_parse_errors_name_token_and_position(void **state) {
    (void)state;
    expect_error("conv:32:5,pool:2,bogus:3,dense:10", MNIST, 10, "layer 3 \"bogus:3\"", "char 17");
    expect_error("conv:x:5,dense:10", MNIST, 10, "\"conv:x:5\"", "channels C");
    expect_error("conv:32,dense:10", MNIST, 10, "conv:C:K[:S[:P]]", "layer 1");
    expect_error("conv:32:5:0,dense:10", MNIST, 10, "stride S", "[1, 5]");
    expect_error("conv:32:5:1:5,dense:10", MNIST, 10, "padding P", NULL);
    expect_error("conv:8:40:1:0,dense:10", MNIST, 10, "kernel", "does not fit");
    expect_error("pool:29,dense:10", MNIST, 10, "window 29", "28x28");
    expect_error("conv:6:3,gn:4,dense:10", MNIST, 10, "4 groups", "6 input channels");
    expect_error("dense:10,drop:1.0,dense:10", MNIST, 10, "drop:1.0", "[0, 1)");
    expect_error("dense:10,drop:nan,dense:10", MNIST, 10, "rate P", NULL);
    expect_error("dense:64,relu", MNIST, 10, "last layer must be dense", "\"relu\"");
    expect_error("dense:64,dense:7", MNIST, 10, "7 outputs", "10 classes");
    expect_error("dense:64,,dense:10", MNIST, 10, "layer 2", "empty");
    expect_error("dense:10,", MNIST, 10, "layer 2", "empty");
    expect_error("", MNIST, 10, "empty", NULL);
    expect_error("dense:-5,dense:10", MNIST, 10, "units N", NULL);
    expect_error("dense:99999999999999999999,dense:10", MNIST, 10, "units N", "out of range");
    expect_error("relu:1,dense:10", MNIST, 10, "wrong number of fields", NULL);
    expect_error("conv:1:1:1:0:0:0,dense:10", MNIST, 10, "fields", NULL);
    expect_error("dense:1048576,dense:1048576,dense:10", (fedc_shape){1, 64, 64}, 10, "parameters", NULL);
    expect_error("conv:65536:64,dense:10", (fedc_shape){1, 64, 64}, 10, "values per sample", NULL);
    expect_error("cnn", MNIST, 1, "n_classes 1", NULL);
    expect_error("cnn", (fedc_shape){0, 28, 28}, 10, "input shape", NULL);
    fedc_error err;
    assert_null(fedc_arch_parse(NULL, MNIST, 10, &err));
    assert_null(fedc_arch_parse("conv:0:5,dense:10", MNIST, 10, NULL)); /* err may be NULL */
}

static void test_length_and_layer_limits(void **state) {
    (void)state;
    char spec[2048] = "";
    for (int i = 0; i < 63; i++) strcat(spec, "relu,");
    strcat(spec, "dense:10"); /* 64 layers: accepted */
    fedc_arch *a = parse_ok(spec, MNIST, 10);
    fedc_arch_free(a);
    char more[2048] = "relu,";
    strcat(more, spec); /* 65 layers */
    expect_error(more, MNIST, 10, "more than 64 layers", NULL);
    char longspec[1100];
    memset(longspec, ' ', sizeof longspec - 1);
    longspec[sizeof longspec - 1] = '\0';
    expect_error(longspec, MNIST, 10, "1099 characters", "at most 1024");
}

static void test_init_is_seeded_and_scaled(void **state) {
    (void)state;
    fedc_arch *a = parse_ok("conv:16:5,gn:4,dense:300,dense:10", MNIST, 10);
    size_t n = fedc_arch_nparams(a);
    float *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
    fedc_rng r1, r2;
    fedc_rng_seed(&r1, 5);
    fedc_rng_seed(&r2, 5);
    fedc_arch_init(a, p, &r1);
    fedc_arch_init(a, q, &r2);
    assert_memory_equal(p, q, n * sizeof *p);
    /* He normal: var 2/fan_in; Xavier uniform on the last: var 2/(in+out). */
    for (int t = 0; t < fedc_arch_ntensors(a); t++) {
        fedc_tensor_info ti = fedc_arch_tensor(a, t);
        double s2 = 0.0;
        for (size_t j = 0; j < ti.count; j++) s2 += (double)p[ti.offset + j] * p[ti.offset + j];
        double var = s2 / (double)ti.count;
        if (strstr(ti.name, "bias")) {
            assert_true(var == 0.0);
        } else if (t == 2) { /* group norm gamma */
            assert_true(var == 1.0);
        } else if (t == 0) {
            assert_true(var > 2.0 / 25 * 0.7 && var < 2.0 / 25 * 1.3);
        } else if (t == 4) {
            double fan = 16.0 * 28 * 28;
            assert_true(var > 2.0 / fan * 0.95 && var < 2.0 / fan * 1.05);
        } else if (t == 6) {
            double lim2 = 6.0 / (300 + 10);
            assert_true(var > lim2 / 3 * 0.9 && var < lim2 / 3 * 1.1);
        }
    }
    free(p);
    free(q);
    fedc_arch_free(a);
}

/* PyTorch default init: every weight and bias in [-1/sqrt(fan_in), 1/sqrt(fan_in)],
 * variance bound^2/3, GN gamma 1 / beta 0, same rng -> same model, and the
 * draws differ from the He init. */
static void test_torch_init_bounds_and_variance(void **state) {
    (void)state;
    fedc_arch *a = parse_ok("conv:16:5,gn:4,dense:300,dense:10", MNIST, 10);
    size_t n = fedc_arch_nparams(a);
    float *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
    fedc_rng r1, r2;
    fedc_rng_seed(&r1, 11);
    fedc_rng_seed(&r2, 11);
    fedc_arch_init_kind(a, p, &r1, FEDC_INIT_TORCH);
    fedc_arch_init_kind(a, q, &r2, FEDC_INIT_TORCH);
    assert_memory_equal(p, q, n * sizeof *p);
    /* fan_in per tensor: conv 1*5*5, gn (none), dense 16*28*28, dense 300. */
    const double fan[8] = {25, 25, 0, 0, 16.0 * 28 * 28, 16.0 * 28 * 28, 300, 300};
    assert_int_equal(fedc_arch_ntensors(a), 8);
    for (int t = 0; t < 8; t++) {
        fedc_tensor_info ti = fedc_arch_tensor(a, t);
        const float *v = p + ti.offset;
        if (t == 2 || t == 3) { /* group norm gamma / beta */
            for (size_t j = 0; j < ti.count; j++) assert_true(v[j] == (t == 2 ? 1.0f : 0.0f));
            continue;
        }
        double lim = 1.0 / sqrt(fan[t]);
        double s2 = 0.0;
        int nonzero = 0;
        for (size_t j = 0; j < ti.count; j++) {
            if (!(fabs(v[j]) <= lim)) fail_msg("%s[%zu] = %g outside +-%g", ti.name, j, v[j], lim);
            s2 += (double)v[j] * v[j];
            nonzero += v[j] != 0.0f;
        }
        assert_true(nonzero > (int)(ti.count * 9 / 10));
        /* Small tensors (16/10 biases) get a loose band; large ones a tight one. */
        double var = s2 / (double)ti.count, want = lim * lim / 3.0;
        double tol = ti.count >= 1000 ? 0.05 : ti.count >= 250 ? 0.3 : 0.75;
        if (var < want * (1 - tol) || var > want * (1 + tol))
            fail_msg("%s variance %g, expected about %g", ti.name, var, want);
    }
    fedc_rng_seed(&r1, 11);
    fedc_arch_init_kind(a, q, &r1, FEDC_INIT_HE);
    assert_true(memcmp(p, q, n * sizeof *p) != 0);
    free(p);
    free(q);
    fedc_arch_free(a);
}

/* fedc_arch_init is the He kind: identical draws for the same seed. */
static void test_default_init_is_he_kind(void **state) {
    (void)state;
    fedc_arch *a = parse_ok("conv:8:3,gn:2,dense:20,dense:10", MNIST, 10);
    size_t n = fedc_arch_nparams(a);
    float *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
    fedc_rng r1, r2;
    fedc_rng_seed(&r1, 3);
    fedc_rng_seed(&r2, 3);
    fedc_arch_init(a, p, &r1);
    fedc_arch_init_kind(a, q, &r2, FEDC_INIT_HE);
    assert_memory_equal(p, q, n * sizeof *p);
    free(p);
    free(q);
    fedc_arch_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_preset),
        cmocka_unit_test(test_mlp_preset_uses_class_count),
        cmocka_unit_test(test_canonical_forms_and_shapes),
        cmocka_unit_test(test_implied_relu_placement),
        cmocka_unit_test(test_batchnorm_and_wsconv_layers),
        cmocka_unit_test(test_parse_errors_name_token_and_position),
        cmocka_unit_test(test_length_and_layer_limits),
        cmocka_unit_test(test_init_is_seeded_and_scaled),
        cmocka_unit_test(test_torch_init_bounds_and_variance),
        cmocka_unit_test(test_default_init_is_he_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
