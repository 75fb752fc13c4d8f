/* Helpers shared by the data layer's loaders (private to src/data). */
#ifndef FEDC_DATA_INTERNAL_H
#define FEDC_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/data.h"
#include "fedc/error.h"

/* Reads a whole file into *buf (malloc'ed, caller frees), transparently
 * decompressing it when it starts with the gzip magic 1f 8b. More than
 * max_bytes of (decompressed) content is an error, so a lying or hostile
 * file cannot make us allocate without bound. Errors start with the path. */
int data_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len, fedc_error *err);

/* Allocates x (n * dim floats, 64-byte aligned) and y for n samples of the
 * given shape and fills the other fields; name is used in errors. */
int data_alloc(fedc_dataset *d, size_t n, fedc_shape shape, int n_classes, const char *name,
               fedc_error *err);
/* As data_alloc, but the features are bytes: x8 (n * dim, 64-byte aligned)
 * with x8_scale 255, the loaders' pixels. */
int data_alloc_bytes(fedc_dataset *d, size_t n, fedc_shape shape, int n_classes, const char *name,
                     fedc_error *err);

/* Big-endian 32-bit read (IDX headers). */
static inline uint32_t data_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}


/* CIFAR: a .tar.gz download (cifar100 = 0: cifar-10-binary.tar.gz with
 * data_batch_1..5.bin / test_batch.bin; 1: cifar-100-binary.tar.gz with
 * train.bin / test.bin, coarse or fine labels), or one CIFAR-100 batch. */
int data_load_cifar_tar(const char *archive, int cifar100, int coarse, int train,
                        fedc_dataset *out, fedc_error *err);
int data_load_cifar100_files(const char *path, int coarse, fedc_dataset *out, fedc_error *err);

/* SVHN .mat files (train_32x32.mat ...), concatenated in order. */
int data_load_svhn(const char *const *paths, int n, fedc_dataset *out, fedc_error *err);

/* EMNIST's IDX release: the split's files inside zip_path (gzip.zip), or,
 * when zip_path is NULL, the gzipped IDX files extracted into dir. */
int data_load_emnist_idx(const char *zip_path, const char *dir, const char *split, int n_classes,
                         int train, fedc_dataset *out, fedc_error *err);
/* EMNIST's MATLAB release: matlab/emnist-<split>.mat inside zip_path
 * (matlab.zip), or the .mat file itself at mat_path. */
int data_load_emnist_mat(const char *zip_path, const char *mat_path, const char *split,
                         int n_classes, int train, int with_writers, fedc_dataset *out,
                         fedc_error *err);

/* Largest decompressed member or MAT-file content accepted: EMNIST ByClass
 * training images are 547 MB, its whole MATLAB struct about 640 MB. */
#define DATA_MAX_MEMBER ((size_t)3 << 30)

#endif
