/* The catalog's built-in entries. Sizes and SHA-256 digests are those
 * published for the canonical files (TensorFlow Datasets' url_checksums,
 * cross-checked against other projects that pin the same files); the
 * Debian copy of Fashion-MNIST was measured from the package itself.
 * docs/datasets.md gives the source of every figure. Where a figure could
 * not be established it is left out (size 0 or sha256 "") and the policy
 * for that file is stated next to it. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "data/catalog_internal.h"

#define MB (1000ull * 1000ull)

/* MNIST and Fashion-MNIST keep MNIST's four IDX file names. */
#define IDX_FILE(base, file, bytes, digest)                                                        \
    {.name = file, .urls = {base file}, .size = bytes, .max_size = bytes, .sha256 = digest}

static const char k_emnist_citation[] =
    "Cohen, G., Afshar, S., Tapson, J., van Schaik, A. (2017). EMNIST: an extension of MNIST to "
    "handwritten letters. International Joint Conference on Neural Networks (IJCNN), "
    "arXiv:1702.05373.";
static const char k_emnist_licence[] =
    "No licence is stated by the publisher; EMNIST is derived from NIST Special Database 19 "
    "(see https://www.nist.gov/srd/nist-special-database-19 for its terms).";
static const char k_cifar_citation[] =
    "Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images. Technical "
    "report, University of Toronto.";
static const char k_cifar_licence[] =
    "No licence is stated by the authors; the page asks that the technical report be cited.";

/* EMNIST's binary (IDX) release: every split inside one zip. */
#define EMNIST_GZIP_ZIP                                                                            \
    {.name = "gzip.zip",                                                                           \
     .urls = {"https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",                              \
              "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/gzip.zip"},                       \
     .size = 561753746,                                                                            \
     .max_size = 561753746,                                                                        \
     .sha256 = "fb9bb67e33772a9cc0b895e4ecf36d2cf35be8b709693c3564cea2a019fcda8e"}

#define EMNIST_ENTRY(split, title_, classes, train, test)                                         \
    {.name = "emnist-" split,                                                                      \
     .aliases = "emnist_" split ",emnist " split ",emnist" split,                                  \
     .title = title_,                                                                              \
     .summary = "Handwritten characters from NIST Special Database 19 in MNIST's 28x28 format "    \
                "(the " split " split).",                                                          \
     .dir = "emnist",                                                                              \
     .format = "IDX (gzip) inside gzip.zip, member gzip/emnist-" split                             \
               "-{train,test}-{images-idx3,labels-idx1}-ubyte.gz; images stored transposed, "      \
               "turned upright on load",                                                           \
     .shape = {1, 28, 28},                                                                         \
     .n_classes = classes,                                                                         \
     .n_train = train,                                                                             \
     .n_test = test,                                                                               \
     .licence = k_emnist_licence,                                                                  \
     .citation = k_emnist_citation,                                                                \
     .homepage = "https://www.nist.gov/itl/products-and-services/emnist-dataset",                  \
     .nfiles = 1,                                                                                  \
     .files = {EMNIST_GZIP_ZIP}}

static const fedc_catalog_entry k_builtin[] = {
    {.name = "mnist",
     .aliases = "mnist-digits",
     .title = "MNIST",
     .summary = "Handwritten digits, 60,000 training and 10,000 test images.",
     .dir = "mnist",
     .format = "IDX (gzip): {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
     .shape = {1, 28, 28},
     .n_classes = 10,
     .n_train = 60000,
     .n_test = 10000,
     .licence = "CC BY-SA 3.0 (Yann LeCun and Corinna Cortes hold the copyright; a derivative of "
                "NIST data).",
     .citation = "LeCun, Y., Bottou, L., Bengio, Y., Haffner, P. (1998). Gradient-based learning "
                 "applied to document recognition. Proceedings of the IEEE 86(11), 2278-2324.",
     .homepage = "http://yann.lecun.com/exdb/mnist/",
     .nfiles = 4,
     /* The canonical site now often refuses downloads; the mirrors of
      * TensorFlow Datasets and torchvision serve the same files. */
     .files = {{.name = "train-images-idx3-ubyte.gz",
                .urls = {"https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz",
                         "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
                         "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz"},
                .size = 9912422,
                .max_size = 9912422,
                .sha256 = "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
               {.name = "train-labels-idx1-ubyte.gz",
                .urls = {"https://storage.googleapis.com/cvdf-datasets/mnist/train-labels-idx1-ubyte.gz",
                         "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
                         "http://yann.lecun.com/exdb/mnist/train-labels-idx1-ubyte.gz"},
                .size = 28881,
                .max_size = 28881,
                .sha256 = "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
               {.name = "t10k-images-idx3-ubyte.gz",
                .urls = {"https://storage.googleapis.com/cvdf-datasets/mnist/t10k-images-idx3-ubyte.gz",
                         "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
                         "http://yann.lecun.com/exdb/mnist/t10k-images-idx3-ubyte.gz"},
                .size = 1648877,
                .max_size = 1648877,
                .sha256 = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
               {.name = "t10k-labels-idx1-ubyte.gz",
                .urls = {"https://storage.googleapis.com/cvdf-datasets/mnist/t10k-labels-idx1-ubyte.gz",
                         "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
                         "http://yann.lecun.com/exdb/mnist/t10k-labels-idx1-ubyte.gz"},
                .size = 4542,
                .max_size = 4542,
                .sha256 = "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"}}},

    {.name = "fashion-mnist",
     .aliases = "fashion_mnist,fmnist,fashionmnist",
     .title = "Fashion-MNIST",
     .summary = "Zalando's article images, 10 classes of clothing, MNIST's sizes and format.",
     .dir = "fashion-mnist",
     .format = "IDX (gzip): {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
     .shape = {1, 28, 28},
     .n_classes = 10,
     .n_train = 60000,
     .n_test = 10000,
     .licence = "MIT (Zalando SE).",
     .citation = "Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset "
                 "for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.",
     .homepage = "https://github.com/zalandoresearch/fashion-mnist",
     /* Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1 recompressed
      * the files (no stored file name in the gzip header): same images,
      * different bytes, so its own sizes and digests are recorded. */
     .system_dir = "/usr/share/datasets/fashion-mnist",
     .system_package = "dataset-fashion-mnist",
     .nsystem = 4,
     .system_files =
         {{.name = "train-images-idx3-ubyte.gz",
           .size = 26421856,
           .max_size = 26421856,
           .sha256 = "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"},
          {.name = "train-labels-idx1-ubyte.gz",
           .size = 29491,
           .max_size = 29491,
           .sha256 = "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"},
          {.name = "t10k-images-idx3-ubyte.gz",
           .size = 4422079,
           .max_size = 4422079,
           .sha256 = "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"},
          {.name = "t10k-labels-idx1-ubyte.gz",
           .size = 5125,
           .max_size = 5125,
           .sha256 = "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"}},
     .nfiles = 4,
     .files = {{.name = "train-images-idx3-ubyte.gz",
                .urls = {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
                         "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/train-images-idx3-ubyte.gz"},
                .size = 26421880,
                .max_size = 26421880,
                .sha256 = "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"},
               {.name = "train-labels-idx1-ubyte.gz",
                .urls = {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz",
                         "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/train-labels-idx1-ubyte.gz"},
                .size = 29515,
                .max_size = 29515,
                .sha256 = "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"},
               {.name = "t10k-images-idx3-ubyte.gz",
                .urls = {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz",
                         "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/t10k-images-idx3-ubyte.gz"},
                .size = 4422102,
                .max_size = 4422102,
                .sha256 = "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"},
               {.name = "t10k-labels-idx1-ubyte.gz",
                .urls = {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz",
                         "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/t10k-labels-idx1-ubyte.gz"},
                .size = 5148,
                .max_size = 5148,
                .sha256 = "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"}}},

    EMNIST_ENTRY("byclass", "EMNIST ByClass", 62, 697932, 116323),
    EMNIST_ENTRY("balanced", "EMNIST Balanced", 47, 112800, 18800),
    EMNIST_ENTRY("digits", "EMNIST Digits", 10, 240000, 40000),

    {.name = "femnist",
     .aliases = "federated-emnist,fed-emnist,leaf-femnist",
     .title = "FEMNIST (EMNIST ByClass by writer)",
     .summary = "EMNIST ByClass (62 classes: digits, upper and lower case letters) with the writer "
                "of every sample from NIST SD19, for LEAF's natural partition: one client per "
                "writer.",
     .dir = "emnist",
     .format = "MATLAB level-5 .mat inside matlab.zip, member matlab/emnist-byclass.mat: struct "
               "dataset.{train,test}.{images,labels,writers}",
     .shape = {1, 28, 28},
     .n_classes = 62,
     .n_train = 697932,
     .n_test = 116323,
     .natural = 1,
     .licence = k_emnist_licence,
     .citation = "Caldas, S. et al. (2018). LEAF: A Benchmark for Federated Settings. "
                 "arXiv:1812.01097. Data: Cohen, G. et al. (2017), EMNIST, arXiv:1702.05373.",
     .homepage = "https://leaf.cmu.edu/",
     .nfiles = 1,
     /* The SHA-256 is pinned identically by two independent projects (Full
      * Stack Deep Learning's text recognizer and Julia's MLDatasets); no
      * public record of the byte size was found, so the download is capped
      * at 1 GB and the digest decides. */
     .files = {{.name = "matlab.zip",
                .urls = {"https://biometrics.nist.gov/cs_links/EMNIST/matlab.zip",
                         "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/matlab.zip"},
                .size = 0,
                .max_size = 1000 * MB,
                .sha256 = "e1fa805cdeae699a52da0b77c2db17f6feb77eed125f9b45c022e7990444df95"}}},

    {.name = "cifar10",
     .aliases = "cifar-10,cifar_10",
     .title = "CIFAR-10",
     .summary = "32x32 colour images in 10 classes, 50,000 training and 10,000 test images.",
     .dir = "cifar10",
     .format = "CIFAR binary batches in cifar-10-binary.tar.gz (cifar-10-batches-bin/"
               "data_batch_{1..5}.bin, test_batch.bin): 1 label byte + 3072 pixel bytes, "
               "channel-major",
     .shape = {3, 32, 32},
     .n_classes = 10,
     .n_train = 50000,
     .n_test = 10000,
     .licence = k_cifar_licence,
     .citation = k_cifar_citation,
     .homepage = "https://www.cs.toronto.edu/~kriz/cifar.html",
     .nfiles = 1,
     /* No public mirror is known to serve the identical file; add your own
      * with FEDC_DATA_MIRROR. */
     .files = {{.name = "cifar-10-binary.tar.gz",
                .urls = {"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"},
                .size = 170052171,
                .max_size = 170052171,
                .sha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"}}},

    {.name = "cifar100",
     .aliases = "cifar-100,cifar_100",
     .title = "CIFAR-100",
     .summary = "32x32 colour images in 100 fine classes grouped into 20 coarse superclasses "
                "(dataset.labels), 50,000 training and 10,000 test images.",
     .dir = "cifar100",
     .format = "CIFAR binary in cifar-100-binary.tar.gz (cifar-100-binary/train.bin, test.bin): "
               "coarse label byte, fine label byte, 3072 pixel bytes",
     .shape = {3, 32, 32},
     .n_classes = 100,
     .n_classes_coarse = 20,
     .n_train = 50000,
     .n_test = 10000,
     .licence = k_cifar_licence,
     .citation = k_cifar_citation,
     .homepage = "https://www.cs.toronto.edu/~kriz/cifar.html",
     .nfiles = 1,
     .files = {{.name = "cifar-100-binary.tar.gz",
                .urls = {"https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"},
                .size = 168513733,
                .max_size = 168513733,
                .sha256 = "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"}}},

    {.name = "svhn",
     .aliases = "svhn-cropped,svhn_cropped",
     .title = "SVHN (cropped digits)",
     .summary = "Street View House Numbers, 32x32 colour crops of single digits: 73,257 training, "
                "26,032 test and 531,131 extra images (dataset.extra).",
     .dir = "svhn",
     .format = "MATLAB level-5 .mat (compressed): X 32x32x3xN uint8, y Nx1 labels 1..10 (10 is "
               "the digit 0)",
     .shape = {3, 32, 32},
     .n_classes = 10,
     .n_train = 73257,
     .n_test = 26032,
     .n_extra = 531131,
     .licence = "For non-commercial use only (the dataset page's terms).",
     .citation = "Netzer, Y., Wang, T., Coates, A., Bissacco, A., Wu, B., Ng, A. Y. (2011). "
                 "Reading Digits in Natural Images with Unsupervised Feature Learning. NIPS "
                 "Workshop on Deep Learning and Unsupervised Feature Learning.",
     .homepage = "http://ufldl.stanford.edu/housenumbers/",
     .nfiles = 3,
     .files = {{.name = "train_32x32.mat",
                .urls = {"http://ufldl.stanford.edu/housenumbers/train_32x32.mat"},
                .size = 182040794,
                .max_size = 182040794,
                .sha256 = "435e94d69a87fde4fd4d7f3dd208dfc32cb6ae8af2240d066de1df7508d083b8"},
               {.name = "test_32x32.mat",
                .urls = {"http://ufldl.stanford.edu/housenumbers/test_32x32.mat"},
                .size = 64275384,
                .max_size = 64275384,
                .sha256 = "cdce80dfb2a2c4c6160906d0bd7c68ec5a99d7ca4831afa54f09182025b6a75b"},
               {.name = "extra_32x32.mat",
                .urls = {"http://ufldl.stanford.edu/housenumbers/extra_32x32.mat"},
                .size = 1329278602,
                .max_size = 1329278602,
                .sha256 = "a133a4beb38a00fcdda90c9489e0c04f900b660ce8a316a5e854838379a71eb3",
                .optional = 1}}},

    /* Generated, not downloaded: no files, so it is always present. */
    {.name = "synthetic",
     .aliases = "synthetic-fedprox,fedprox-synthetic",
     .title = "Synthetic(alpha, beta) of FedProx",
     .summary = "The FedProx paper's synthetic federated benchmark: per-client softmax models and "
                "feature means drawn with spreads dataset.synthetic_alpha and "
                "dataset.synthetic_beta, log-normal client sizes; each client's data is generated "
                "from the seed when the client is first used.",
     .dir = "synthetic",
     .format = "generated from (seed, client): 60 features, 10 classes, 90% of each client's "
               "samples train, 10% test",
     .shape = {1, 1, FEDC_SYNTHETIC_FEATURES},
     .n_classes = FEDC_SYNTHETIC_CLASSES,
     .natural = 1,
     .licence = "Generated by fedc; no licence applies.",
     .citation = "Li, T., Sahu, A. K., Zaheer, M., Sanjabi, M., Talwalkar, A., Smith, V. (2020). "
                 "Federated Optimization in Heterogeneous Networks. MLSys, arXiv:1812.06127.",
     .homepage = "https://github.com/litian96/FedProx",
     .nfiles = 0},
};

#define NBUILTIN ((int)(sizeof k_builtin / sizeof k_builtin[0]))

const fedc_catalog_entry *catalog_builtin_entries(int *n) {
    *n = NBUILTIN;
    return k_builtin;
}

/* Whether s is name or one of the comma-separated aliases (any case). */
int catalog_name_matches(const fedc_catalog_entry *e, const char *s) {
    if (!strcasecmp(e->name, s))
        return 1;
    const char *a = e->aliases;
    while (a && *a) {
        const char *comma = strchr(a, ',');
        size_t n = comma ? (size_t)(comma - a) : strlen(a);
        if (n == strlen(s) && !strncasecmp(a, s, n))
            return 1;
        a = comma ? comma + 1 : NULL;
    }
    return 0;
}

const fedc_catalog_entry *fedc_catalog_builtin(const char *name) {
    if (!name)
        return NULL;
    for (int i = 0; i < NBUILTIN; i++)
        if (catalog_name_matches(&k_builtin[i], name))
            return &k_builtin[i];
    return NULL;
}

static char g_names[512];
static pthread_once_t g_names_once = PTHREAD_ONCE_INIT;

static void names_init(void) {
    size_t o = 0;
    for (int i = 0; i < NBUILTIN && o < sizeof g_names; i++)
        o += (size_t)snprintf(g_names + o, sizeof g_names - o, "%s%s", i ? ", " : "",
                              k_builtin[i].name);
}

const char *fedc_catalog_names(void) {
    pthread_once(&g_names_once, names_init);
    return g_names;
}
