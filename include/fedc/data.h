/* Datasets in memory (features: the file's own pixel bytes, or floats for
 * standardised tabular data; int labels) and partitions of a dataset across
 * clients as index lists (never copies). */
#ifndef FEDC_DATA_H
#define FEDC_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/nn.h"

/* Bounds on outside input. Pixel/record bytes of one IDX or CIFAR file, and
 * the size of a (decompressed) CSV file. */
#define FEDC_DATA_MAX_BYTES ((size_t)1 << 31)
/* Labels are class ids in [0, FEDC_DATA_MAX_CLASSES). */
#define FEDC_DATA_MAX_CLASSES 65536
/* CSV: longest record (bytes) and most columns. */
#define FEDC_CSV_MAX_LINE ((size_t)1 << 22)
#define FEDC_CSV_MAX_COLUMNS 65536
/* CSV: most cells (rows x features) kept in memory. */
#define FEDC_CSV_MAX_VALUES ((size_t)1 << 28)

/* The features of every sample are held in exactly one of two forms:
 * - x8 (x is NULL): n * dim bytes as the file stores them (the pixels of
 *   IDX, CIFAR, SVHN and EMNIST files); feature j of sample i is
 *   (float)x8[i * dim + j] / x8_scale, computed when a batch is gathered
 *   (x8_scale is 255 for pixels, giving [0,1]). A quarter of the memory of
 *   floats: Fashion-MNIST's 70,000 images take 55 MB instead of 220 MB.
 * - x (x8 is NULL): n * dim floats (CSV's standardised features, data made
 *   in memory).
 * Read features through fedc_dataset_gather or fedc_dataset_rows, which
 * give the same floats for either form; touch x directly only where x8 is
 * NULL (fedc_dataset_to_float makes it so). */
typedef struct fedc_dataset {
    size_t n;          /* samples */
    fedc_shape shape;  /* per sample; tabular data is {1,1,features} */
    size_t dim;        /* c*h*w */
    int n_classes;
    float *x;          /* n * dim floats, or NULL when the features are bytes (x8) */
    int32_t *y;        /* n, each in [0, n_classes) */
    /* Natural groups (FEMNIST: the writer of each sample), or NULL: group[i]
     * in [0, n_groups), numbered in order of first appearance. */
    uint32_t *group;
    uint32_t n_groups;
    uint8_t *x8;       /* n * dim bytes, or NULL when the features are floats (x) */
    float x8_scale;    /* a feature is (float)byte / x8_scale (255 for pixels) */
} fedc_dataset;

/* IDX pair (images idx3 ubyte, labels idx1 ubyte), optionally gzipped
 * (detected by magic). Pixels kept as bytes (x8, scale 255: features in
 * [0,1]). n_classes = max label + 1
 * (at least 2). Errors name the file and the problem (magic, dims, count
 * mismatch, truncation). */
FEDC_API int fedc_load_idx(const char *images_path, const char *labels_path, fedc_dataset *out,
                           fedc_error *err);
/* As fedc_load_idx, but every label must be in [0, n_classes) and the
 * dataset gets exactly n_classes classes (n_classes <= 0: inferred). */
FEDC_API int fedc_load_idx_classes(const char *images_path, const char *labels_path, int n_classes,
                                   fedc_dataset *out, fedc_error *err);
/* The IDX pair already in memory (not compressed); the names are used in
 * error messages. n_classes as in fedc_load_idx_classes. Never reads outside
 * [p, p+len) and checks all sizes before allocating. */
FEDC_API int fedc_parse_idx(const void *images, size_t images_len, const char *images_name,
                            const void *labels, size_t labels_len, const char *labels_name,
                            int n_classes, fedc_dataset *out, fedc_error *err);

/* CIFAR-10 binary batches (each record: 1 label byte + 3072 pixel bytes, in
 * channel-major order, so shape {3,32,32}). Pixels kept as bytes (x8, scale
 * 255: features in [0,1]), as are SVHN's and EMNIST's below; labels
 * must be 0..9. Files may be gzipped. At most 64 paths. */
FEDC_API int fedc_load_cifar10(const char *const *paths, int npaths, fedc_dataset *out, fedc_error *err);
/* One CIFAR-10 batch already in memory; name is used in error messages. */
FEDC_API int fedc_parse_cifar10(const void *buf, size_t len, const char *name, fedc_dataset *out,
                                fedc_error *err);

/* CIFAR-100 binary (train.bin, test.bin): records of a coarse label byte
 * (0..19), a fine label byte (0..99) and 3072 pixel bytes laid out as in
 * CIFAR-10. coarse selects which label is kept (20 or 100 classes). */
FEDC_API int fedc_parse_cifar100(const void *buf, size_t len, const char *name, int coarse,
                        fedc_dataset *out, fedc_error *err);

/* SVHN cropped digits (train_32x32.mat ...: MATLAB level 5, compressed or
 * not): X is 32x32x3xN uint8 in MATLAB's column-major (row, column,
 * channel, sample) order, y holds N labels 1..10 where 10 stands for the
 * digit 0. Gives {3,32,32} samples and labels 0..9. */
FEDC_API int fedc_parse_svhn(const void *buf, size_t len, const char *name, fedc_dataset *out,
                    fedc_error *err);

/* EMNIST's MATLAB release (emnist-<split>.mat): the struct "dataset" whose
 * train and test structs hold images (N x 784 uint8, each row one 28x28
 * image in column-major order), labels (N) and writers (N). Gives the split
 * (train = 1 or test) upright as {1,28,28} samples like MNIST, labels in
 * [0, n_classes), and with_writers: the writer of each sample as its
 * natural group. */
FEDC_API int fedc_parse_emnist_mat(const void *buf, size_t len, const char *name, int train,
                          int n_classes, int with_writers, fedc_dataset *out, fedc_error *err);

/* EMNIST's IDX files store every image transposed (column by column):
 * turns each square sample of d upright in place (either feature form). */
FEDC_API void fedc_dataset_transpose_images(fedc_dataset *d);

/* CSV. A header row names the columns; label_column (NULL or "" means
 * "label") names the label column; every other column is a numeric
 * feature. Fields may be double-quoted (RFC 4180, "" escapes a quote);
 * records end in \n or \r\n; blank lines are skipped; a UTF-8 BOM is
 * ignored.
 * Labels: if every label cell is a whole number in [0, 65536) ("3", "3.0")
 * the labels are those integers and n_classes = max + 1 (at least 2).
 * Otherwise every label cell is a class name, and names get ids 0, 1, ... in
 * order of first appearance in the file (so "cat,dog,cat" gives cat=0,
 * dog=1); the names are kept in the schema.
 * Features are standardised: (v - mean) / std with the population std of
 * the training file; a constant column (std 0) becomes all zeros. Empty
 * cells and non-finite values are errors (naming line and column). */
typedef struct fedc_csv_schema {
    int n_features;
    char **feature_names; /* n_features, in the training file's column order */
    double *mean, *std;   /* n_features each; std is 1 for constant columns */
    int n_classes;
    char **class_names;   /* n_classes names (id order) for named labels; NULL for integer labels */
} fedc_csv_schema;

/* Loads a CSV file standardised with its own statistics. */
FEDC_API int fedc_load_csv(const char *path, const char *label_column, fedc_dataset *out, fedc_error *err);
/* Training file: as fedc_load_csv, and fills *schema (free it with
 * fedc_csv_schema_free) for loading the matching test file. */
FEDC_API int fedc_load_csv_train(const char *path, const char *label_column, fedc_dataset *out,
                                 fedc_csv_schema *schema, fedc_error *err);
/* Test file: its columns are matched to the schema's features by name (any
 * order; a missing or unknown column is an error), standardised with the
 * training statistics, and labels mapped with the training classes (a class
 * the training file never had is an error). */
FEDC_API int fedc_load_csv_test(const char *path, const char *label_column, const fedc_csv_schema *schema,
                                fedc_dataset *out, fedc_error *err);
/* The CSV text in memory; name is used in errors. train == NULL: own
 * statistics, and *schema_out (if non-NULL) receives them; otherwise as
 * fedc_load_csv_test and schema_out is not touched. */
FEDC_API int fedc_parse_csv(const char *text, size_t len, const char *name, const char *label_column,
                            const fedc_csv_schema *train, fedc_dataset *out, fedc_csv_schema *schema_out,
                            fedc_error *err);
FEDC_API void fedc_csv_schema_free(fedc_csv_schema *s);

/* Named datasets: any data catalog name (catalog.h: "mnist",
 * "fashion-mnist", "emnist-byclass", ..., "cifar10", "cifar100", "svhn") or
 * "csv" (path = train csv; test_path = test csv). For catalog datasets, path
 * (NULL or "" = the catalog's location: a system copy or the cache) is the
 * folder holding the dataset's files as downloaded; IDX files may also be
 * named "train-images.idx3-ubyte" and be gzipped or not; for "cifar10" the
 * unpacked batches (or the folder holding cifar-10-batches-bin/) work too.
 * Never downloads: fedc_dataset_load (catalog.h) with FEDC_FETCH_AUTO does.
 * For "csv" with train == 0 the training file at path is read too, so the
 * test set is standardised and labelled exactly as the training set. */
FEDC_API int fedc_dataset_open(const char *name, const char *path, const char *test_path,
                      const char *label_column, int train, fedc_dataset *out, fedc_error *err);
FEDC_API void fedc_dataset_free(fedc_dataset *d);
/* A deep copy of the samples, in src's feature form (dst is overwritten;
 * free it with fedc_dataset_free; natural groups are not copied). */
FEDC_API int fedc_dataset_copy(const fedc_dataset *src, fedc_dataset *dst, fedc_error *err);
/* A new dataset of samples idx[0..n) of src, in that order and in src's
 * feature form (dst is overwritten; natural groups are not copied; n may be
 * 0). Every idx[i] must be below src->n. */
FEDC_API int fedc_dataset_select(const fedc_dataset *src, const uint32_t *idx, size_t n, fedc_dataset *dst,
                                 fedc_error *err);
/* Turns byte features into floats in place (x8 freed, x set; the floats are
 * those gathering would give), for code that transforms the stored features
 * themselves. No-op for float features. */
FEDC_API int fedc_dataset_to_float(fedc_dataset *d, fedc_error *err);
/* Bytes the features take (n * dim, times 4 for floats). */
FEDC_API size_t fedc_dataset_feature_bytes(const fedc_dataset *d);

/* Synthetic(alpha, beta), the benchmark of the FedProx paper (Li et al.,
 * "Federated Optimization in Heterogeneous Networks", MLSys 2020), as its
 * reference generator draws it (src/data/synthetic.c and docs/datasets.md
 * state every parameter). Client k holds n_k samples of 60 features and
 * 10 classes: a model W_k (60x10), b_k (10) with entries N(u_k, 1),
 * u_k ~ N(0, alpha^2); features x ~ N(v_k, Sigma), v_k's entries
 * N(B_k, 1), B_k ~ N(0, beta^2), Sigma diagonal with Sigma_jj = j^-1.2;
 * label argmax(W_k^T x + b_k); n_k = floor(exp(4 + 2 z)) + 50, z ~ N(0, 1)
 * (at most FEDC_SYNTHETIC_MAX_SAMPLES). The first floor(0.9 n_k) samples
 * train, the rest are the client's test samples.
 * Everything about client k comes from streams of (seed, k) alone, so a
 * client is generated when it is first used, identically whichever other
 * clients were generated before it, and a million clients cost nothing
 * until sampled. */
#define FEDC_SYNTHETIC_FEATURES 60
#define FEDC_SYNTHETIC_CLASSES 10
#define FEDC_SYNTHETIC_MAX_SAMPLES 100000
/* The test set: the test samples of the first min(clients, this) clients. */
#define FEDC_SYNTHETIC_TEST_CLIENTS 1000
/* Most samples fedc_synthetic_train_set concatenates. */
#define FEDC_SYNTHETIC_MAX_TOTAL ((size_t)1 << 24)
typedef struct fedc_synthetic_config {
    double alpha, beta;  /* spreads (standard deviations) of u_k and B_k, >= 0 */
    int n_clients;       /* >= 1 */
    uint64_t seed;
} fedc_synthetic_config;
/* Samples client k holds (training and test). */
FEDC_API size_t fedc_synthetic_client_size(const fedc_synthetic_config *c, int k);
/* Its training samples: floor(0.9 n), as the reference splits each client. */
FEDC_API size_t fedc_synthetic_train_size(size_t n);
/* Client k's training (train = 1) or test samples, generated now. */
FEDC_API int fedc_synthetic_client(const fedc_synthetic_config *c, int k, int train, fedc_dataset *out,
                                   fedc_error *err);
/* The test set (see FEDC_SYNTHETIC_TEST_CLIENTS); group[i] is the client
 * sample i belongs to. */
FEDC_API int fedc_synthetic_test_set(const fedc_synthetic_config *c, fedc_dataset *out, fedc_error *err);
/* Every client's training samples in client order, group[i] = the client
 * (a natural split: one group per client); refused beyond
 * FEDC_SYNTHETIC_MAX_TOTAL samples, where only per-client generation fits. */
FEDC_API int fedc_synthetic_train_set(const fedc_synthetic_config *c, fedc_dataset *out, fedc_error *err);

/* Debian's dataset-fashion-mnist location: the default for "fashion-mnist". */
#define FEDC_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef enum {
    FEDC_PART_IID = 0,
    FEDC_PART_DIRICHLET,  /* label skew, alpha */
    FEDC_PART_SHARDS,     /* k classes per client */
    FEDC_PART_QUANTITY,   /* log-normal sizes, sigma; labels IID */
    FEDC_PART_NATURAL,    /* whole natural groups (writers) per client */
} fedc_part_kind;

/* Partitioners (all deterministic in the seed; every sample goes to exactly
 * one client; each client's ids are in ascending order):
 * - IID: shuffle, then near-equal split (sizes differ by at most 1).
 * - DIRICHLET (0 < alpha <= 1e6): per class, client proportions drawn from
 *   Dir(alpha) via gamma draws, clients already holding n/K samples get no
 *   more (as in NIID-Bench and FedLab). Every client ends with at least
 *   min_samples samples: the draw is repeated up to 16 times as those
 *   benchmarks do, then the shortfall is moved from the largest clients. An
 *   empty client cannot train and would be a wasted (or zero-weight)
 *   selection in every round, so no client is ever left empty.
 * - SHARDS (1 <= k <= classes present): each class is cut into shards of
 *   near-equal size and every client gets exactly k shards of k different
 *   classes (McMahan et al.'s "2 shards per client" generalised). It is an
 *   error when that is impossible (k*K < classes present, or too few samples
 *   in a class).
 * - QUANTITY (0 <= sigma <= 10): client sizes proportional to exp(sigma*z),
 *   z ~ N(0,1), each at least min_samples; samples drawn IID.
 * - NATURAL (datasets with natural groups, d->group set): every client gets
 *   whole groups, never a part of one: with K clients and G groups
 *   (K <= G), the groups are shuffled with the seed and client k gets groups
 *   [k*G/K, (k+1)*G/K) of that order, so K = G gives one writer per client,
 *   as LEAF's FEMNIST does.
 * min_samples (DIRICHLET, QUANTITY): 0 means min(10, max(1, n / (2K))). */
typedef struct fedc_partition_config {
    fedc_part_kind kind;
    double alpha;           /* dirichlet */
    int classes_per_client; /* shards */
    double sigma;           /* quantity */
    int min_samples;        /* dirichlet, quantity: least samples per client; 0 = default */
} fedc_partition_config;

/* Most clients in one partition. */
#define FEDC_PART_MAX_CLIENTS (1 << 24)

typedef struct fedc_partition {
    int n_clients;
    size_t *offsets;  /* n_clients + 1 */
    uint32_t *index;  /* sample ids; client k owns index[offsets[k] .. offsets[k+1]) */
} fedc_partition;

/* Needs 1 <= n_clients <= d->n and labels in [0, d->n_classes); only d->y is
 * read. Memory and time are O(n + n_clients) (DIRICHLET: plus
 * n_classes * n_clients gamma draws per attempt). */
FEDC_API int fedc_partition_make(const fedc_dataset *d, const fedc_partition_config *cfg, int n_clients,
                                 uint64_t seed, fedc_partition *out, fedc_error *err);
static inline size_t fedc_partition_size(const fedc_partition *p, int k) {
    return p->offsets[k + 1] - p->offsets[k];
}
static inline const uint32_t *fedc_partition_client(const fedc_partition *p, int k) {
    return p->index + p->offsets[k];
}
FEDC_API void fedc_partition_free(fedc_partition *p);
/* Local test splits (task partition.test_fraction): moves a uniform random
 * subset of round(fraction * n_k) samples of every client k (at least 1,
 * and never all: the client keeps one to train on; none when n_k < 2) out
 * of part into test, which gets the same clients. Both keep their ids
 * ascending. Depends only on (seed, k): the simulator and a node holding
 * client k cut the same split. fraction 0 gives empty test splits. */
FEDC_API int fedc_partition_hold_out(fedc_partition *part, double fraction, uint64_t seed, fedc_partition *test,
                                     fedc_error *err);
/* Samples fedc_partition_hold_out takes from a client holding n. */
FEDC_API size_t fedc_holdout_count(size_t n, double fraction);

typedef struct fedc_partition_summary {
    int n_clients;
    size_t n_samples;          /* assigned samples */
    size_t min_size, median_size, max_size;
    int empty_clients;
    double mean_classes;       /* mean number of distinct labels per client */
    double mean_tv;            /* mean over non-empty clients of the total-variation distance
                                  between the client's label distribution and the global one */
} fedc_partition_summary;
FEDC_API int fedc_partition_summarize(const fedc_dataset *d, const fedc_partition *p,
                                      fedc_partition_summary *out, fedc_error *err);
/* Per-client sample counts and label histograms (first max_rows clients),
 * plus summary lines. */
FEDC_API void fedc_partition_print(FILE *f, const fedc_dataset *d, const fedc_partition *p, int max_rows);
/* "iid", "dirichlet", "shards", "quantity", "natural"; -1 if unknown. */
FEDC_API int fedc_part_kind_parse(const char *s, fedc_part_kind *out);
FEDC_API const char *fedc_part_kind_name(fedc_part_kind k);

/* Feature skew (multi-domain clients; src/data/feature_skew.c): a list of
 * domains, each a deterministic transform of image samples. Client k sees
 * domain k mod n, test sample i domain i mod n. Spec: "none", "mixed"
 * (= id,rotate:45,noise:0.3,blur:1,contrast:0.3,invert) or a comma list of
 * id, rotate:DEG ([-180, 180], bilinear, zero fill), noise:SIGMA ([0, 1],
 * Gaussian, fixed per (seed, sample id)), blur:R (box blur of radius 1..5),
 * contrast:F ([0, 4], around 0.5), invert (1 - x), grey (luminance into
 * every channel; 3-channel data only). Results are clamped to [0, 1]. */
typedef enum {
    FEDC_DOMAIN_ID = 0,
    FEDC_DOMAIN_ROTATE,
    FEDC_DOMAIN_NOISE,
    FEDC_DOMAIN_BLUR,
    FEDC_DOMAIN_CONTRAST,
    FEDC_DOMAIN_INVERT,
    FEDC_DOMAIN_GREY,
} fedc_domain_kind;
typedef struct fedc_domain {
    fedc_domain_kind kind;
    double arg;
} fedc_domain;
#define FEDC_MAX_DOMAINS 16
typedef struct fedc_feature_skew {
    int n; /* 0 = no feature skew */
    fedc_domain d[FEDC_MAX_DOMAINS];
} fedc_feature_skew;
/* Parses a spec for data of the given shape (refused for non-image data,
 * grey for non-colour data); errors name the domain. */
FEDC_API int fedc_feature_skew_parse(const char *spec, fedc_shape shape, fedc_feature_skew *out, fedc_error *err);
static inline const fedc_domain *fedc_feature_skew_domain(const fedc_feature_skew *fs, size_t k) {
    return fs && fs->n > 0 ? &fs->d[k % (size_t)fs->n] : NULL;
}
FEDC_API const char *fedc_domain_kind_name(fedc_domain_kind k);
/* Transforms n gathered samples x (n * c*h*w floats) in place; ids are their
 * sample ids (they key the noise with seed; NULL = 0..n-1). */
FEDC_API void fedc_domain_apply(const fedc_domain *d, fedc_shape shape, uint64_t seed, const uint32_t *ids, float *x,
                       size_t n);

/* Gathers samples idx[0..n) into contiguous x (n*dim floats, byte features
 * scaled) and y (n; y may be NULL). */
FEDC_API void fedc_dataset_gather(const fedc_dataset *d, const uint32_t *idx, size_t n, float *x,
                                  int32_t *y);
/* The features of samples first .. first+n-1 as floats (n*dim), as
 * fedc_dataset_gather gives them. */
FEDC_API void fedc_dataset_rows(const fedc_dataset *d, size_t first, size_t n, float *x);

#endif
