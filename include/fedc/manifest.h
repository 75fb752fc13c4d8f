/* Tensor manifests of external models (task model "external"): the named
 * float32 tensors a node's own model (PyTorch, NumPy, an embedding C
 * program) exchanges, in order. The flat parameter vector the server
 * aggregates is their concatenation, each tensor row-major.
 *
 * JSON form (task field model.manifest, a node's HELLO "manifest"):
 *   [{"name": "conv1.weight", "shape": [32, 1, 5, 5], "dtype": "f32"}, ...]
 * dtype may be omitted (f32 is the only one). Names are 1..127 printable
 * ASCII characters without quotes or backslashes, unique; a shape has 0..8
 * dimensions, each 1..2^31-1 (no dimension: a scalar); at most 4096 tensors
 * and 2^28 values in all (a 1 GiB model). The canonical text (compact, keys
 * name/shape/dtype in that order) is what the task stores and compares. */
#ifndef FEDC_MANIFEST_H
#define FEDC_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"
#include "fedc/export.h"

#define FEDC_MANIFEST_TEXT_MAX 16384 /* bytes of canonical text a task holds (with the NUL) */
#define FEDC_MANIFEST_MAX_TENSORS 4096
#define FEDC_MANIFEST_NAME_MAX 127
#define FEDC_MANIFEST_MAX_DIMS 8
#define FEDC_MANIFEST_MAX_VALUES ((size_t)1 << 28)

typedef struct fedc_manifest_tensor {
    char name[FEDC_MANIFEST_NAME_MAX + 1];
    int ndim;
    int64_t dims[FEDC_MANIFEST_MAX_DIMS];
    size_t offset, count; /* in floats, within the flat vector */
} fedc_manifest_tensor;

typedef struct fedc_manifest {
    int n;
    fedc_manifest_tensor *t;
    size_t total; /* floats in all */
} fedc_manifest;

/* Parses the JSON text of a manifest (hostile input: every count and length
 * bounded); errors name the tensor and key. m is filled only on success. */
FEDC_API int fedc_manifest_parse(const char *json, size_t len, fedc_manifest *m, fedc_error *err);
FEDC_API void fedc_manifest_free(fedc_manifest *m);
/* Canonical compact JSON text, malloc'd (NULL when out of memory). */
FEDC_API char *fedc_manifest_to_json(const fedc_manifest *m);
/* The built-in model's tensors as a manifest (names "layers.<i>.weight"). */
struct fedc_arch;
FEDC_API int fedc_manifest_from_arch(const struct fedc_arch *a, fedc_manifest *m, fedc_error *err);
/* 0 if equal; else fills err with the first difference ("tensor 3: name
 * \"fc.bias\" here, \"fc.b\" there"). */
FEDC_API int fedc_manifest_compare(const fedc_manifest *a, const fedc_manifest *b, fedc_error *err);

#endif
