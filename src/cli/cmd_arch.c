/* fedc arch SPEC [--input C,H,W] [--classes N]: parameters, tensors and
 * FLOPs of an architecture spec, as JSON (used by bench/ and the tuner). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/num_args.h"
#include "fedc/nn.h"

/* "C,H,W": three whole numbers, each 1..65536. */
static int parse_shape(const char *text, fedc_shape *out) {
    char part[3][32];
    const char *p = text;
    for (int k = 0; k < 3; k++) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof part[k] || (k < 2 && p[n] != ',') || (k == 2 && p[n])) {
            fprintf(stderr, "fedc arch: --input \"%s\": expected C,H,W, e.g. 1,28,28\n", text);
            return -1;
        }
        memcpy(part[k], p, n);
        part[k][n] = '\0';
        p += n + (k < 2);
    }
    return fedc_cli_int("arch", "--input C", part[0], 1, 65536, &out->c) == 0 &&
                   fedc_cli_int("arch", "--input H", part[1], 1, 65536, &out->h) == 0 &&
                   fedc_cli_int("arch", "--input W", part[2], 1, 65536, &out->w) == 0
               ? 0
               : -1;
}

int fedc_cmd_arch(int argc, char **argv) {
    const char *spec = NULL;
    fedc_shape in = {1, 28, 28};
    int classes = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            if (parse_shape(argv[++i], &in) != 0) return 2;
        } else if (!strcmp(argv[i], "--classes") && i + 1 < argc) {
            if (fedc_cli_int("arch", "--classes", argv[++i], 2, 100000, &classes) != 0) return 2;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: fedc arch SPEC [--input C,H,W] [--classes N]\n"
                   "Prints the parameter count, tensors and forward FLOPs per sample as JSON.\n");
            return 0;
        } else {
            spec = argv[i];
        }
    }
    if (!spec) {
        fprintf(stderr, "usage: fedc arch SPEC [--input C,H,W] [--classes N]\n");
        return 2;
    }
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(spec, in, classes, &err);
    if (!a) {
        fprintf(stderr, "fedc arch: %s\n", err.msg);
        return 1;
    }
    printf("{\"spec\":\"%s\",\"params\":%zu,\"forward_flops_per_sample\":%.0f,"
           "\"train_flops_per_sample\":%.0f,\"tensors\":[",
           fedc_arch_spec(a), fedc_arch_nparams(a), fedc_arch_flops_per_sample(a),
           fedc_arch_train_flops_per_sample(a));
    for (int i = 0; i < fedc_arch_ntensors(a); i++) {
        fedc_tensor_info ti = fedc_arch_tensor(a, i);
        printf("%s{\"name\":\"%s\",\"count\":%zu,\"shape\":[", i ? "," : "", ti.name, ti.count);
        for (int k = 0; k < ti.ndim; k++) printf("%s%d", k ? "," : "", ti.dims[k]);
        printf("]}");
    }
    printf("]}\n");
    fedc_arch_free(a);
    return 0;
}
