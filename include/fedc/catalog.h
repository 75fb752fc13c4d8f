/* The data catalog: the datasets fedc knows by name (dataset.name), where
 * their files come from (download URLs in the order they are tried, sizes,
 * SHA-256), what they hold (format, shape, classes, licence, citation), and
 * the local cache they are fetched into.
 *
 * Where the files of a dataset are looked up, first match wins:
 *   1. dataset.path, when the task gives one (the user's own copy);
 *   2. a distribution's copy (Debian's /usr/share/datasets/fashion-mnist);
 *   3. the cache: $FEDC_DATA, else $XDG_CACHE_HOME/fedc, else ~/.cache/fedc,
 *      one sub-folder per catalog entry (<cache>/cifar10/...).
 *
 * Fetching (fedc_data_fetch): each file is downloaded with libcurl (TLS
 * verification on, connect and stall timeouts, at most the catalog's size
 * accepted) into <file>.part, resumed with an HTTP Range request after a cut
 * connection, checked against the catalog's SHA-256, and only then renamed
 * into place, so a partial or corrupt file is never used. A lock file per
 * file makes concurrent fetches of the same data download it once.
 *
 * Environment:
 *   FEDC_DATA          the cache folder
 *   FEDC_DATA_MIRROR   base URLs (comma-separated) tried before the catalog's
 *                      own, as <base>/<entry dir>/<file> (a mirror has the
 *                      cache's layout)
 *   FEDC_DATA_CA       CA bundle (PEM) used to verify HTTPS servers instead of
 *                      the system's
 *   FEDC_DATA_CATALOG  a JSON file overriding entries (URLs, sizes, SHA-256,
 *                      the system copy), see fedc_catalog_load */
#ifndef FEDC_CATALOG_H
#define FEDC_CATALOG_H

#include <stdint.h>
#include <stdio.h>

#include "fedc/data.h"
#include "fedc/error.h"

#define FEDC_CATALOG_MAX_URLS 6
#define FEDC_CATALOG_MAX_FILES 4
#define FEDC_CATALOG_URL_MAX 512
/* Bytes of a catalog override file read. */
#define FEDC_CATALOG_OVERRIDE_MAX (1 << 20)

typedef struct fedc_catalog_file {
    char name[96];                  /* file name in the dataset's folder */
    char urls[FEDC_CATALOG_MAX_URLS][FEDC_CATALOG_URL_MAX]; /* tried in order */
    uint64_t size;                  /* exact bytes; 0 = not established */
    uint64_t max_size;              /* bytes a download may reach (= size when known) */
    char sha256[65];                /* lowercase hex; "" = not established */
    int optional;                   /* fetched only when asked for (SVHN extra) */
} fedc_catalog_file;

typedef struct fedc_catalog_entry {
    const char *name;               /* the dataset.name value */
    const char *aliases;            /* other accepted spellings, comma-separated */
    const char *title, *summary;
    const char *dir;                /* folder under the cache (EMNIST splits share one) */
    const char *format;             /* how the files are laid out */
    fedc_shape shape;               /* per sample, channel-major */
    int n_classes;
    int n_classes_coarse;           /* cifar100's 20 superclasses; 0 = none */
    uint64_t n_train, n_test, n_extra;
    int natural;                    /* has a natural partition (writers) */
    const char *licence, *citation, *homepage;
    /* A distribution's copy, used as is when all its files are present. */
    char system_dir[256];           /* "" = none */
    const char *system_package;
    int nsystem;
    fedc_catalog_file system_files[FEDC_CATALOG_MAX_FILES];
    int nfiles;
    fedc_catalog_file files[FEDC_CATALOG_MAX_FILES];
} fedc_catalog_entry;

typedef struct fedc_catalog fedc_catalog;

/* The built-in entries, with $FEDC_DATA_CATALOG applied when it is set.
 * override_path (NULL = the environment variable) names a JSON file like
 *   {"datasets": {"cifar10": {"files": {"cifar-10-binary.tar.gz":
 *        {"urls": ["https://mirror.example/cifar-10-binary.tar.gz"],
 *         "size": 170052171, "sha256": "c4a3..."}}},
 *    "fashion-mnist": {"system_dir": null}}}
 * Only known datasets and files may be named; errors name the field. */
FEDC_API fedc_catalog *fedc_catalog_load(const char *override_path, fedc_error *err);
/* The same with the override JSON given as text (name used in messages). */
FEDC_API fedc_catalog *fedc_catalog_load_json(const char *json, size_t len, const char *name,
                                     fedc_error *err);
FEDC_API void fedc_catalog_free(fedc_catalog *c);
FEDC_API int fedc_catalog_count(const fedc_catalog *c);
FEDC_API const fedc_catalog_entry *fedc_catalog_at(const fedc_catalog *c, int i);
/* By name or alias, case-insensitive; NULL if unknown. */
FEDC_API const fedc_catalog_entry *fedc_catalog_find(const fedc_catalog *c, const char *name);
/* The built-in entry (no overrides): shapes and classes for validators. */
FEDC_API const fedc_catalog_entry *fedc_catalog_builtin(const char *name);
/* "mnist, fashion-mnist, ...": the names, for messages. */
FEDC_API const char *fedc_catalog_names(void);

/* Bytes a fetch downloads (optional files only with with_optional); when a
 * size is not published its cap counts and *unknown is set. */
FEDC_API uint64_t fedc_catalog_entry_bytes(const fedc_catalog_entry *e, int with_optional, int *unknown);
/* The catalog as JSON text (malloc'ed): an array of entries with name,
 * title, summary, format, shape, classes, sample counts, licence, citation,
 * files (URLs, sizes, SHA-256), and with with_status the local state
 * (state absent|partial|present|system, present, dir). */
FEDC_API char *fedc_catalog_json(const fedc_catalog *c, int with_status, fedc_error *err);

/* ---- local copies ---- */

/* The cache folder ($FEDC_DATA, $XDG_CACHE_HOME/fedc or ~/.cache/fedc). */
FEDC_API int fedc_data_cache_dir(char *out, size_t cap, fedc_error *err);
/* <cache>/<entry dir>. */
FEDC_API int fedc_data_entry_dir(const fedc_catalog_entry *e, char *out, size_t cap, fedc_error *err);

typedef enum {
    FEDC_DATA_IN_CACHE = 0,
    FEDC_DATA_IN_SYSTEM,            /* the distribution's copy */
    FEDC_DATA_IN_USER,              /* the folder dataset.path names */
} fedc_data_source;

typedef struct fedc_data_status {
    fedc_data_source source;
    char dir[1024];                 /* where the files are, or will be fetched to */
    int present;                    /* every file needed is there */
    int missing;                    /* index in files[] of the first missing one; -1 */
    uint64_t bytes_present;         /* of the files needed */
    uint64_t bytes_needed;          /* catalog sizes (lower bound when unknown) */
    uint64_t bytes_partial;         /* resumable .part bytes in the cache */
} fedc_data_status;

/* Where the entry's files are. with_optional includes optional files;
 * user_dir is dataset.path ("" or NULL = none). A cached file counts as
 * present when its size matches the catalog. */
FEDC_API int fedc_data_status_get(const fedc_catalog_entry *e, const char *user_dir, int with_optional,
                         fedc_data_status *st, fedc_error *err);

typedef struct fedc_fetch_options {
    int with_optional;              /* also the optional files (SVHN extra) */
    int force;                      /* download again files already present */
    int quiet;                      /* no progress and no messages */
    FILE *out;                      /* messages and progress; NULL = stderr */
    double connect_timeout_s;       /* per attempt; 0 = 30 */
    double stall_timeout_s;         /* give up below 1 KB/s for this long; 0 = 60 */
    int retries;                    /* attempts per URL after a cut connection; 0 = 5 */
    /* One line per file fetched (what, from where, into where), for logs. */
    void (*note)(void *ctx, const char *msg);
    void *note_ctx;
    /* Asked while downloading or waiting for another fetch: nonzero stops
     * the fetch (the part file is kept for a later resume). */
    int (*stop)(void *ctx);
    void *stop_ctx;
} fedc_fetch_options;

/* Downloads the entry's missing files into the cache (see the top of this
 * file). Files already present and verified are kept. */
FEDC_API int fedc_data_fetch(const fedc_catalog_entry *e, const fedc_fetch_options *o, fedc_error *err);

/* Checks every present file's size and SHA-256 against the catalog (a
 * system copy against the package's recorded files), one line per file on
 * out; *bad counts mismatches. Returns -1 only when checking was
 * impossible. */
FEDC_API int fedc_data_verify(const fedc_catalog_entry *e, const char *user_dir, int with_optional,
                     FILE *out, int *bad, fedc_error *err);

/* The message for a missing file when fetching is not allowed or failed:
 * which file, where to put it, and the `fedc data fetch` command. */
FEDC_API void fedc_data_missing_message(const fedc_catalog_entry *e, const fedc_data_status *st,
                               char *out, size_t cap);

/* ---- opening datasets by name ---- */

typedef enum {
    FEDC_FETCH_AUTO = 0,            /* download missing catalog files before loading */
    FEDC_FETCH_NEVER,               /* fail, saying what is missing and how to get it */
} fedc_fetch_policy;

typedef struct fedc_dataset_spec {
    const char *name;               /* a catalog name or alias, or "csv" */
    const char *path;               /* folder holding the files (csv: the training file) */
    const char *test_path, *label_column; /* csv */
    const char *labels;             /* cifar100: "fine" (100 classes, default) or "coarse" (20) */
    int extra;                      /* svhn: add the extra split to the training set */
    fedc_fetch_policy fetch;
    const fedc_fetch_options *fetch_options; /* NULL = defaults */
    /* synthetic: the generator's settings (n_clients 0 = the reference's
     * Synthetic(1, 1) over 30 clients, seed 0). The training set is every
     * client's training samples with the client as natural group. */
    fedc_synthetic_config synthetic;
} fedc_dataset_spec;

/* Loads the training (train = 1) or test set. For catalog datasets the
 * files are located as above, and fetched first when the policy allows. */
FEDC_API int fedc_dataset_load(const fedc_dataset_spec *s, int train, fedc_dataset *out, fedc_error *err);

/* Makes sure the catalog dataset's files are present (fetching them when
 * the policy allows); *dir receives their folder. "csv" needs nothing. */
FEDC_API int fedc_dataset_prepare(const fedc_dataset_spec *s, char *dir, size_t cap, fedc_error *err);

#endif
