/* FEDC_API marks a declaration as part of libfedc's public API: the
 * library is built with hidden visibility (-fvisibility=hidden), so only
 * functions and variables declared with FEDC_API in include/fedc/ are
 * exported from libfedc.so. Every public function is declared here, in
 * include/fedc/, prefixed with FEDC_API and named fedc_*; anything else
 * stays internal (declared in a header under src/). The ctest
 * library_exports checks both ways (tests/tools/check_exports.py). */
#ifndef FEDC_EXPORT_H
#define FEDC_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define FEDC_API __attribute__((visibility("default")))
#else
#define FEDC_API
#endif

#endif
