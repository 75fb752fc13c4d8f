/* Runs a libFuzzer target without libFuzzer: every file in the corpus folder
 * given as argv[1], then a fixed number of seeded random and mutated
 * inputs, so each decoder's fuzz target also runs under ctest (and under
 * the sanitizer build). A crash or sanitizer report fails the test, and so
 * does a corpus folder that is missing, unreadable or empty: the mutated
 * inputs start from the seeds, so without them the target is barely run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bytes that matter to the parsers (JSON punctuation, digits, 0xff). */
static const char k_interesting[] = "{}[]\":,0-9e.\xff";

static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int run_file(const char *path, uint8_t **seeds, size_t *seed_len, int *nseeds) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint8_t *buf = malloc(1 << 20);
    if (!buf) {
        fclose(f);
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        exit(1);
    }
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    if (*nseeds < 256) {
        seeds[*nseeds] = buf;
        seed_len[(*nseeds)++] = n;
    } else {
        free(buf);
    }
    return 1;
}

int main(int argc, char **argv) {
    uint8_t *seeds[256];
    size_t seed_len[256];
    int nseeds = 0, files = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_FOLDER\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "replay: corpus folder %s: cannot open\n", argv[1]);
        return 1;
    }
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        files += run_file(path, seeds, seed_len, &nseeds);
    }
    closedir(d);
    if (files == 0) {
        fprintf(stderr, "replay: corpus folder %s holds no readable seed file\n", argv[1]);
        return 1;
    }
    uint64_t s = 42;
    uint8_t buf[4096];
    int iters = getenv("FEDC_FUZZ_ITERS") ? atoi(getenv("FEDC_FUZZ_ITERS")) : 20000;
    for (int it = 0; it < iters; it++) {
        size_t n;
        if (nseeds > 0 && (it & 1)) { /* mutate a seed: flip, overwrite, truncate */
            int k = (int)(next_u64(&s) % (uint64_t)nseeds);
            n = seed_len[k] < sizeof buf ? seed_len[k] : sizeof buf;
            memcpy(buf, seeds[k], n);
            int muts = 1 + (int)(next_u64(&s) % 8);
            for (int m = 0; m < muts && n > 0; m++) {
                size_t pos = next_u64(&s) % n;
                switch (next_u64(&s) % 4) {
                case 0: buf[pos] ^= (uint8_t)(1u << (next_u64(&s) % 8)); break;
                case 1: buf[pos] = (uint8_t)next_u64(&s); break;
                case 2: n = pos; break;
                default: buf[pos] = (uint8_t)k_interesting[next_u64(&s) % (sizeof k_interesting - 1)]; break;
                }
            }
        } else {
            n = next_u64(&s) % 512;
            for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)next_u64(&s);
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    for (int i = 0; i < nseeds; i++) free(seeds[i]);
    printf("replayed %d corpus files and %d generated inputs\n", files, iters);
    return 0;
}
