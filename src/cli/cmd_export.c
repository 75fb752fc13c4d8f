/* fedc export MODEL.safetensors --pytorch [--out FILE] [--input C,H,W]:
 * writes a PyTorch module definition for the built-in architecture a fedc
 * model file names (its "arch" metadata). The module's state_dict keys are
 * fedc's tensor names (layers.<i>.weight/bias, i = position in the
 * canonical spec, dimensions already in PyTorch order), so
 * `model.load_state_dict(safetensors.torch.load_file(path))` or the
 * generated load_fedc() loads the file as it is. The forward pass applies
 * ReLU exactly where fedc does (after every conv and dense layer but the
 * last; after a group or batch norm that directly follows one instead).
 * Scaled weight-standardised convolutions (wsconv) get a small module of
 * their own that standardises the weights exactly as fedc does. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/nn.h"

#define HEADER_MAX (16u << 20)

/* The "arch" and "input" metadata and the last tensor's first dimension
 * (the class count) of a safetensors file. */
static int read_meta(const char *path, char *arch, size_t cap, char *input, size_t icap, int *classes) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fedc export: cannot open %s\n", path);
        return -1;
    }
    unsigned char lb[8];
    uint64_t n = 0;
    if (fread(lb, 1, 8, f) == 8)
        for (int i = 0; i < 8; i++) n |= (uint64_t)lb[i] << (8 * i);
    char *hdr = n > 0 && n <= HEADER_MAX ? malloc(n + 1) : NULL;
    int ok = hdr && fread(hdr, 1, n, f) == n;
    fclose(f);
    json_t *root = ok ? json_loadb(hdr, n, 0, NULL) : NULL;
    free(hdr);
    json_t *meta = json_object_get(root, "__metadata__");
    const char *a = json_string_value(json_object_get(meta, "arch"));
    const char *in = json_string_value(json_object_get(meta, "input"));
    if (!a || strlen(a) >= cap || !strcmp(a, "external")) {
        fprintf(stderr, "fedc export: %s is not a fedc model of a built-in architecture (no \"arch\" metadata%s)\n",
                path, a && !strcmp(a, "external") ? "; an external model is already the nodes' own" : "");
        json_decref(root);
        return -1;
    }
    snprintf(arch, cap, "%s", a);
    if (in) snprintf(input, icap, "%s", in);
    /* The class count: rows of the last layer's weight. */
    const char *key;
    json_t *v;
    int best = -1;
    json_object_foreach(root, key, v) {
        int idx;
        char tail[16];
        if (sscanf(key, "layers.%d.%15s", &idx, tail) == 2 && !strcmp(tail, "weight") && idx > best) {
            best = idx;
            *classes = (int)json_integer_value(json_array_get(json_object_get(v, "shape"), 0));
        }
    }
    json_decref(root);
    return 0;
}

/* Splits the canonical spec into tokens and fields. */
static int tokens(const char *spec, char tok[][64], int max) {
    int n = 0;
    const char *p = spec;
    while (*p && n < max) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        snprintf(tok[n++], 64, "%.*s", (int)len, p);
        p = c ? c + 1 : p + len;
    }
    return n;
}

static int is_conv_dense(const char *t) {
    return !strncmp(t, "conv:", 5) || !strncmp(t, "wsconv:", 7) || !strncmp(t, "dense:", 6);
}

static int is_norm(const char *t) { return !strncmp(t, "gn:", 3) || !strcmp(t, "bn"); }

/* fedc's epsilon of the weight standardisation (src/nn: NN_WS_EPS). */
#define WS_EPS 1e-6

/* Writes the module to o; -1 (nothing usable written) for a layer kind it
 * cannot map. */
static int emit_module(FILE *o, const fedc_arch *a, fedc_error *err) {
    char tok[128][64];
    int n = tokens(fedc_arch_spec(a), tok, 128);
    fedc_shape in = fedc_arch_input(a);
    fprintf(o,
            "\"\"\"PyTorch definition of the fedc model \"%s\"\n"
            "(input %dx%dx%d, %d classes), written by `fedc export --pytorch`.\n\n"
            "The state_dict keys are fedc's tensor names, so a fedc safetensors file loads\n"
            "as it is:  model = FedcModel(); load_fedc(model, 'model.safetensors').\n"
            "Inputs are NCHW float32 scaled as fedc scales them (IDX images: pixel / 255).\n"
            "\"\"\"\n"
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"
            "class WSConv2d(nn.Conv2d):\n"
            "    \"\"\"fedc's wsconv: each output channel's weights standardised over their\n"
            "    fan-in N (biased variance), scaled by gain / sqrt(N).\"\"\"\n"
            "    def __init__(self, *args, **kwargs):\n"
            "        super().__init__(*args, **kwargs)\n"
            "        self.gain = nn.Parameter(torch.ones(self.out_channels))\n\n"
            "    def forward(self, x):\n"
            "        w = self.weight.double()\n"
            "        n = w[0].numel()\n"
            "        mean = w.mean(dim=(1, 2, 3), keepdim=True)\n"
            "        var = ((w - mean) ** 2).mean(dim=(1, 2, 3), keepdim=True)\n"
            "        scale = (1.0 / torch.sqrt(var + %.17g) / n ** 0.5).float() * self.gain.view(-1, 1, 1, 1)\n"
            "        w_std = (self.weight - mean.float()) * scale\n"
            "        return F.conv2d(x, w_std, self.bias, self.stride, self.padding)\n\n\n"
            "class FedcModel(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.layers = nn.ModuleList([\n",
            fedc_arch_spec(a), in.c, in.h, in.w, fedc_arch_nclasses(a), WS_EPS);
    /* Module i holds spec token i, so parameters are named layers.<i>.*. */
    fedc_shape cur = in;
    int flat = 0;
    for (int i = 0; i < n; i++) {
        int c, k, s, pd, g;
        double dp;
        int ws = !strncmp(tok[i], "wsconv:", 7);
        if (sscanf(tok[i] + ws * 2, "conv:%d:%d:%d:%d", &c, &k, &s, &pd) >= 2) {
            int fields = sscanf(tok[i] + ws * 2, "conv:%d:%d:%d:%d", &c, &k, &s, &pd);
            if (fields < 3) s = 1;
            if (fields < 4) pd = (k - 1) / 2;
            fprintf(o, "            %s(%d, %d, %d, stride=%d, padding=%d),\n", ws ? "WSConv2d" : "nn.Conv2d", cur.c, c,
                    k, s, pd);
            cur = (fedc_shape){c, (cur.h + 2 * pd - k) / s + 1, (cur.w + 2 * pd - k) / s + 1};
        } else if (sscanf(tok[i], "pool:%d", &k) == 1) {
            fprintf(o, "            nn.MaxPool2d(%d),\n", k);
            cur = (fedc_shape){cur.c, cur.h / k, cur.w / k};
        } else if (sscanf(tok[i], "avgpool:%d", &k) == 1) {
            fprintf(o, "            nn.AvgPool2d(%d),\n", k);
            cur = (fedc_shape){cur.c, cur.h / k, cur.w / k};
        } else if (sscanf(tok[i], "dense:%d", &c) == 1) {
            int fan_in = flat ? cur.c : cur.c * cur.h * cur.w;
            fprintf(o, "            nn.Linear(%d, %d),\n", fan_in, c);
            cur = (fedc_shape){c, 1, 1};
            flat = 1;
        } else if (sscanf(tok[i], "gn:%d", &g) == 1) {
            fprintf(o, "            nn.GroupNorm(%d, %d, eps=1e-5),\n", g, cur.c);
        } else if (!strcmp(tok[i], "bn")) {
            /* Over the channels (2d after a conv, 1d after a dense layer). */
            fprintf(o, "            nn.BatchNorm%dd(%d, eps=1e-5, momentum=0.1),\n", flat ? 1 : 2, cur.c);
        } else if (sscanf(tok[i], "drop:%lf", &dp) == 1) {
            fprintf(o, "            nn.Dropout(%.17g),\n", dp);
        } else if (!strcmp(tok[i], "relu")) {
            fprintf(o, "            nn.ReLU(),\n");
        } else if (!strcmp(tok[i], "flatten")) {
            fprintf(o, "            nn.Flatten(),\n");
            cur = (fedc_shape){cur.c * cur.h * cur.w, 1, 1};
            flat = 1;
        } else {
            /* A layer kind this exporter does not know: never a wrong module. */
            return fedc_fail(err, "layer \"%s\" cannot be exported to PyTorch yet", tok[i]);
        }
    }
    fprintf(o, "        ])\n\n    def forward(self, x):\n");
    /* ReLU where fedc applies it (arch.c): after conv/dense unless last or
     * followed by a norm (gn, bn); after a norm directly following a conv/dense. */
    for (int i = 0; i < n; i++) {
        int relu = 0;
        if (is_conv_dense(tok[i]) && i + 1 < n && !is_norm(tok[i + 1])) relu = 1;
        if (is_norm(tok[i]) && i > 0 && is_conv_dense(tok[i - 1])) relu = 1;
        if (!strncmp(tok[i], "dense:", 6)) fprintf(o, "        x = x.flatten(1)\n");
        fprintf(o, "        x = self.layers[%d](x)\n", i);
        if (relu) fprintf(o, "        x = F.relu(x)\n");
    }
    fprintf(o, "        return x\n\n\n"
               "def load_fedc(model, path):\n"
               "    \"\"\"Loads a fedc safetensors file (F32 tensors, little-endian) without\n"
               "    the safetensors package.\"\"\"\n"
               "    import json, struct\n"
               "    with open(path, 'rb') as f:\n"
               "        n = struct.unpack('<Q', f.read(8))[0]\n"
               "        header = json.loads(f.read(n))\n"
               "        data = f.read()\n"
               "    state = {}\n"
               "    for name, t in header.items():\n"
               "        if name == '__metadata__':\n"
               "            continue\n"
               "        b, e = t['data_offsets']\n"
               "        state[name] = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(t['shape'])\n"
               "    # fedc keeps no batch counter: PyTorch's num_batches_tracked stay 0.\n"
               "    missing, unexpected = model.load_state_dict(state, strict=False)\n"
               "    missing = [k for k in missing if not k.endswith('num_batches_tracked')]\n"
               "    if missing or unexpected:\n"
               "        raise RuntimeError(f'{path}: missing {missing}, unexpected {unexpected}')\n"
               "    return model\n");
    return 0;
}

int fedc_cmd_export(int argc, char **argv) {
    const char *path = NULL, *out = NULL, *input_opt = NULL;
    int pytorch = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pytorch")) pytorch = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--input") && i + 1 < argc) input_opt = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: fedc export MODEL.safetensors --pytorch [--out FILE.py] [--input C,H,W]\n"
                   "Writes a PyTorch module (class FedcModel, function load_fedc) that loads the fedc model\n"
                   "file as it is. --input: the input shape when the file does not record it (default\n"
                   "1,28,28).\n");
            return 0;
        } else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "fedc export: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!path || !pytorch) {
        fprintf(stderr, "usage: fedc export MODEL.safetensors --pytorch [--out FILE.py] [--input C,H,W]\n");
        return 2;
    }
    char arch[1100], input[64] = "1,28,28";
    int classes = 0;
    if (read_meta(path, arch, sizeof arch, input, sizeof input, &classes) != 0) return 1;
    if (input_opt) snprintf(input, sizeof input, "%s", input_opt);
    fedc_shape in;
    if (sscanf(input, "%d,%d,%d", &in.c, &in.h, &in.w) != 3) {
        fprintf(stderr, "fedc export: input shape \"%s\" is not C,H,W\n", input);
        return 2;
    }
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(arch, in, classes, &err);
    float *params = a ? malloc(fedc_arch_nparams(a) * sizeof(float)) : NULL;
    /* The file must be exactly this arch's (every tensor, shape and value checked). */
    if (!a || !params || fedc_safetensors_load(path, a, params, &err) != 0) {
        fprintf(stderr, "fedc export: %s: %s\n", path, a && !params ? "out of memory" : err.msg);
        free(params);
        fedc_arch_free(a);
        return 1;
    }
    free(params);
    /* Written in memory first: a refused layer leaves no half module behind. */
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    int rc = mem ? emit_module(mem, a, &err) : fedc_fail(&err, "out of memory");
    if (mem && fclose(mem) != 0 && rc == 0) rc = fedc_fail(&err, "out of memory");
    fedc_arch_free(a);
    if (rc != 0) {
        fprintf(stderr, "fedc export: %s: %s\n", path, err.msg);
        free(text);
        return 1;
    }
    FILE *o = out ? fopen(out, "w") : stdout;
    if (!o) {
        fprintf(stderr, "fedc export: cannot write %s\n", out);
        free(text);
        return 1;
    }
    int bad = fwrite(text, 1, text_len, o) != text_len;
    free(text);
    bad |= out ? fclose(o) != 0 : fflush(o) != 0;
    if (bad) {
        fprintf(stderr, "fedc export: write failed\n");
        return 1;
    }
    return 0;
}
