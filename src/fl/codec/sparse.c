/* Sparsifiers. Top-k finds the k-th largest |x| by selection (expected
 * O(n), no sort) and keeps, in index order, every value above it plus the
 * first ties. Its indices travel as LEB128 varints of the gaps (first index,
 * then idx[i] - idx[i-1] - 1) or as a bitmap of n bits, whichever is
 * smaller. Random-k regenerates its indices from a 64-bit seed. */
#include <stdlib.h>
#include <string.h>

#include "fl/codec/codec_internal.h"

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void insertion_sort(float *a, size_t lo, size_t hi) {
    for (size_t i = lo + 1; i <= hi; i++) {
        float v = a[i];
        size_t j = i;
        while (j > lo && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

/* The value that would sit at position kth if a[0..n) were sorted
 * ascending. Hoare partitioning around a median of three handles runs of
 * equal values (e.g. many zeros) in linear time; a depth limit falls back to
 * sorting the remaining range, so the worst case stays O(n log n). */
static float select_kth(float *a, size_t n, size_t kth_u) {
    int64_t lo = 0, hi = (int64_t)n - 1, kth = (int64_t)kth_u;
    int depth = 0;
    while (hi > lo) {
        if (hi - lo < 16) {
            insertion_sort(a, (size_t)lo, (size_t)hi);
            break;
        }
        if (++depth > 64) {
            qsort(a + lo, (size_t)(hi - lo + 1), sizeof *a, cmp_float);
            break;
        }
        int64_t mid = lo + (hi - lo) / 2;
        float x = a[lo], y = a[mid], z = a[hi];
        float pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int64_t i = lo, j = hi;
        do {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        /* a[lo..j] <= pivot, a[i..hi] >= pivot, anything between == pivot. */
        if (kth <= j)
            hi = j;
        else if (kth >= i)
            lo = i;
        else
            return pivot;
    }
    return a[kth];
}

int codec_topk_select(const float *x, size_t n, size_t k, uint32_t *idx, fedc_error *err) {
    if (k == 0) return 0;
    if (k >= n) {
        for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
        return 0;
    }
    float *mag = malloc(n * sizeof *mag);
    if (!mag) return fedc_fail(err, "topk: out of memory for %zu values", n);
    for (size_t i = 0; i < n; i++) mag[i] = x[i] < 0 ? -x[i] : x[i];
    float threshold = select_kth(mag, n, n - k);
    free(mag);
    size_t above = 0;
    for (size_t i = 0; i < n; i++) above += (x[i] < 0 ? -x[i] : x[i]) > threshold;
    size_t ties = k - above, m = 0;
    for (size_t i = 0; i < n && m < k; i++) {
        float v = x[i] < 0 ? -x[i] : x[i];
        if (v > threshold || (v == threshold && ties > 0)) {
            if (v == threshold) ties--;
            idx[m++] = (uint32_t)i;
        }
    }
    return 0;
}

static size_t varint_len(uint32_t v) {
    size_t len = 1;
    while (v >= 0x80) {
        v >>= 7;
        len++;
    }
    return len;
}

size_t codec_index_varint_size(const uint32_t *idx, size_t k) {
    size_t size = 0;
    for (size_t i = 0; i < k; i++) size += varint_len(i ? idx[i] - idx[i - 1] - 1 : idx[0]);
    return size;
}

size_t codec_index_bitmap_size(size_t n) { return (n + 7) / 8; }

int codec_index_encode(int mode, const uint32_t *idx, size_t k, size_t n, fedc_buf *out,
                       fedc_error *err) {
    size_t size =
        mode == INDEX_BITMAP ? codec_index_bitmap_size(n) : codec_index_varint_size(idx, k);
    if (size == 0) return 0;
    if (fedc_buf_reserve(out, size))
        return fedc_fail(err, "topk: out of memory for %zu indices", k);
    uint8_t *dst = out->data + out->len;
    if (mode == INDEX_BITMAP) {
        memset(dst, 0, size);
        for (size_t i = 0; i < k; i++) dst[idx[i] >> 3] |= (uint8_t)(1u << (idx[i] & 7));
    } else {
        uint8_t *p = dst;
        for (size_t i = 0; i < k; i++) {
            uint32_t v = i ? idx[i] - idx[i - 1] - 1 : idx[0];
            while (v >= 0x80) {
                *p++ = (uint8_t)(v | 0x80);
                v >>= 7;
            }
            *p++ = (uint8_t)v;
        }
    }
    out->len += size;
    return 0;
}

static int decode_varints(fedc_reader *r, uint32_t *idx, size_t k, size_t n, fedc_error *err) {
    uint64_t next = 0; /* smallest index the next entry may take */
    for (size_t i = 0; i < k; i++) {
        uint64_t v = 0;
        int shift = 0;
        for (;;) {
            uint8_t b;
            if (fedc_read_u8(r, &b))
                return fedc_fail(err, "topk index %zu of %zu: varint truncated", i, k);
            if (shift == 28 && (b & 0xF0))
                return fedc_fail(err, "topk index %zu: varint exceeds 32 bits", i);
            if (shift > 0 && b == 0)
                return fedc_fail(err, "topk index %zu: varint has a redundant zero byte", i);
            v |= (uint64_t)(b & 0x7F) << shift;
            if (!(b & 0x80)) break;
            shift += 7;
        }
        uint64_t pos = next + v;
        if (pos >= n)
            return fedc_fail(err, "topk index %zu is %llu; indices must be < n = %zu", i,
                             (unsigned long long)pos, n);
        idx[i] = (uint32_t)pos;
        next = pos + 1; /* gaps are >= 0, so indices strictly increase */
    }
    return 0;
}

static int decode_bitmap(fedc_reader *r, uint32_t *idx, size_t k, size_t n, fedc_error *err) {
    size_t size = codec_index_bitmap_size(n);
    const uint8_t *p;
    if (fedc_read_view(r, &p, size))
        return fedc_fail(err, "topk bitmap needs %zu bytes for n = %zu, %zu left", size, n,
                         fedc_reader_left(r));
    if ((n & 7) && (p[size - 1] >> (n & 7)))
        return fedc_fail(err, "topk bitmap has bits set past n = %zu", n);
    size_t m = 0;
    for (size_t byte = 0; byte < size; byte++) {
        for (uint8_t b = p[byte]; b; b &= (uint8_t)(b - 1)) {
            if (m == k)
                return fedc_fail(err,
                                 "topk bitmap has more than the %zu set bits the header "
                                 "announces",
                                 k);
            idx[m++] = (uint32_t)(8 * byte + (size_t)__builtin_ctz(b));
        }
    }
    if (m != k)
        return fedc_fail(err, "topk bitmap has %zu set bits; the header announces %zu", m, k);
    return 0;
}

int codec_index_decode(int mode, fedc_reader *r, uint32_t *idx, size_t k, size_t n,
                       fedc_error *err) {
    if (mode == INDEX_BITMAP) return decode_bitmap(r, idx, k, n, err);
    return decode_varints(r, idx, k, n, err);
}

/* Draws distinct indices into a bitmap until `want` are set; with want <=
 * n/2 this takes fewer than 2 * want draws on average. The sorted index list
 * is then a scan of the bitmap. The draws depend only on the seed, so the
 * receiver regenerates exactly the sender's indices. */
int codec_randk_indices(uint64_t seed, size_t n, size_t k, uint32_t *idx, fedc_error *err) {
    if (k == 0) return 0;
    if (k >= n) {
        for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
        return 0;
    }
    size_t words = (n + 63) / 64;
    uint64_t *mark = calloc(words, sizeof *mark);
    if (!mark) return fedc_fail(err, "randk: out of memory for n = %zu", n);
    int complement = k > n / 2;
    size_t want = complement ? n - k : k;
    fedc_rng rng;
    fedc_rng_seed(&rng, seed);
    for (size_t got = 0; got < want;) {
        uint32_t i = fedc_rng_below(&rng, (uint32_t)n);
        uint64_t bit = 1ull << (i & 63);
        if (mark[i >> 6] & bit) continue;
        mark[i >> 6] |= bit;
        got++;
    }
    size_t m = 0;
    for (size_t w = 0; w < words; w++) {
        uint64_t bits = complement ? ~mark[w] : mark[w];
        if (w == words - 1 && (n & 63)) bits &= (1ull << (n & 63)) - 1;
        for (; bits; bits &= bits - 1)
            idx[m++] = (uint32_t)(64 * w + (size_t)__builtin_ctzll(bits));
    }
    free(mark);
    return 0;
}
