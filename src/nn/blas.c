/* OpenBLAS set-up. Debian's OpenBLAS 0.3.21 does not know recent AVX-512
 * CPUs (AMD Zen 4/5 report family 25/26) and falls back to its Haswell AVX2
 * kernels, which run sgemm at about half the speed of its SkylakeX AVX-512
 * kernels on the same core. When the CPU has the AVX-512 subsets those
 * kernels use and the user did not choose a core with OPENBLAS_CORETYPE, we
 * re-run OpenBLAS's dynamic-architecture selection with SkylakeX forced.
 * The hooks are weak so builds against a non-DYNAMIC_ARCH OpenBLAS (which has
 * no such symbols) simply keep the library's own choice. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/nn.h"

extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static int cpu_has_avx512_kernels(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

const char *fedc_nn_blas_init(int nthreads) {
    const char *core = openblas_get_corename();
    int fallback = core && (strcmp(core, "Haswell") == 0 || strcmp(core, "Zen") == 0);
    if (fallback && !getenv("OPENBLAS_CORETYPE") && cpu_has_avx512_kernels() &&
        gotoblas_dynamic_init && gotoblas_dynamic_quit) {
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
        gotoblas_dynamic_quit();
        gotoblas_dynamic_init();
    }
    if (nthreads > 0) openblas_set_num_threads(nthreads);
    return openblas_get_corename();
}
