/* MATLAB level-5 MAT-files (the format of "save -v6" and "-v7"; SVHN's
 * cropped digits and EMNIST's MATLAB release), private to src/data.
 *
 * A file is a 128-byte header (text, version 0x0100, endian mark "IM" for
 * little-endian, "MI" for big-endian) followed by data elements, each with an
 * 8-byte tag (type, byte count) or a 4-byte "small element" tag holding up to
 * 4 bytes of data. A variable is a miMATRIX element (array flags, dimensions,
 * name, then the class's contents), or a miCOMPRESSED element whose zlib
 * stream inflates to one miMATRIX element. Numeric arrays are stored
 * column-major, often in a narrower type than their class (a double array of
 * small integers may be stored as miUINT8). Structs hold, after the field
 * names, one miMATRIX per field and element; cells one per element.
 *
 * The parser checks every length against its container before use, bounds
 * the nesting depth, the number of arrays and the bytes inflated, and names
 * the file, the variable path (dataset.train.images) and the problem. */
#ifndef FEDC_DATA_MAT5_H
#define FEDC_DATA_MAT5_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"

/* MATLAB array classes (mxCLASS_ID). */
enum {
    MAT5_CELL = 1,
    MAT5_STRUCT = 2,
    MAT5_OBJECT = 3,
    MAT5_CHAR = 4,
    MAT5_SPARSE = 5,
    MAT5_DOUBLE = 6,
    MAT5_SINGLE = 7,
    MAT5_INT8 = 8,
    MAT5_UINT8 = 9,
    MAT5_INT16 = 10,
    MAT5_UINT16 = 11,
    MAT5_INT32 = 12,
    MAT5_UINT32 = 13,
    MAT5_INT64 = 14,
    MAT5_UINT64 = 15,
};

/* Data element types (miINT8 ...). */
enum {
    MAT5_MI_INT8 = 1,
    MAT5_MI_UINT8 = 2,
    MAT5_MI_INT16 = 3,
    MAT5_MI_UINT16 = 4,
    MAT5_MI_INT32 = 5,
    MAT5_MI_UINT32 = 6,
    MAT5_MI_SINGLE = 7,
    MAT5_MI_DOUBLE = 9,
    MAT5_MI_INT64 = 12,
    MAT5_MI_UINT64 = 13,
    MAT5_MI_MATRIX = 14,
    MAT5_MI_COMPRESSED = 15,
    MAT5_MI_UTF8 = 16,
    MAT5_MI_UTF16 = 17,
    MAT5_MI_UTF32 = 18,
};

#define MAT5_MAX_DIMS 8
#define MAT5_NAME_MAX 64     /* names (and field names) are shorter than this */
#define MAT5_MAX_DEPTH 8     /* struct/cell nesting */
#define MAT5_MAX_ARRAYS 65536
#define MAT5_MAX_FIELDS 256

typedef struct mat5_array {
    char name[MAT5_NAME_MAX];
    int mclass;                       /* MAT5_DOUBLE, MAT5_STRUCT, ... */
    int complex, logical;
    int ndims;
    uint64_t dims[MAT5_MAX_DIMS];
    uint64_t numel;                   /* product of dims */
    /* Numeric and char arrays: the real part as stored. */
    int dtype;                        /* MAT5_MI_UINT8, ... */
    const uint8_t *data;              /* numel elements of dtype, file byte order */
    size_t nbytes;
    int swap;                         /* big-endian file */
    /* Structs: field names and numel * nfields values (element e, field f
     * at [e * nfields + f]); cells: numel values, nfields = 0. */
    int nfields;
    char (*field_names)[MAT5_NAME_MAX];
    struct mat5_array *values;
    size_t nvalues;
} mat5_array;

typedef struct mat5_file {
    char text[117];                   /* the header's descriptive text */
    mat5_array *vars;
    int nvars;
    uint8_t **inflated;               /* buffers the arrays point into */
    int ninflated;
    size_t inflated_bytes;
} mat5_file;

/* Parses a whole MAT-file held in memory (buf must outlive *out); name is
 * used in messages. max_inflate bounds the total bytes inflated from
 * compressed elements. */
int mat5_parse(const uint8_t *buf, size_t len, const char *name, size_t max_inflate,
               mat5_file *out, fedc_error *err);
void mat5_free(mat5_file *f);

/* The top-level variable called name, or NULL. */
const mat5_array *mat5_var(const mat5_file *f, const char *name);
/* Field of element `elem` of a struct array, or NULL. */
const mat5_array *mat5_field(const mat5_array *s, uint64_t elem, const char *field);
/* Element i (column-major index) of a numeric or char array as a double. */
double mat5_get(const mat5_array *a, uint64_t i);
/* Bytes per element of a storage type (0 for non-numeric types). */
size_t mat5_dtype_size(int dtype);
const char *mat5_class_name(int mclass);

#endif
