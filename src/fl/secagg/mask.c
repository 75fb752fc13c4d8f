/* Mask streams and fixed-point values, all in the ring Z / 2^32.
 *
 * A mask is the ChaCha20 keystream (IETF variant, zero nonce: every seed is
 * fresh per round, so no key/nonce pair repeats) read as little-endian
 * 32-bit words; masks added by one node and subtracted by another cancel
 * exactly, and a sum with at least one unknown mask is uniformly
 * distributed. Pairwise seeds come from an X25519 agreement hashed with
 * BLAKE2b over both public keys (in a fixed order) and the round. */
#include <math.h>
#include <sodium.h>
#include <string.h>

#include "fl/secagg/secagg_internal.h"

#define BLOCK_WORDS 4096 /* 16 KiB of keystream at a time */

void sa_mask_add(uint32_t *acc, size_t L, const uint8_t seed[SA_SECRET], int sign) {
    static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    uint8_t buf[BLOCK_WORDS * 4];
    for (size_t off = 0; off < L; off += BLOCK_WORDS) {
        size_t n = L - off < BLOCK_WORDS ? L - off : BLOCK_WORDS;
        memset(buf, 0, n * 4);
        /* Block counter: 64-byte blocks already used by earlier words. */
        crypto_stream_chacha20_ietf_xor_ic(buf, buf, n * 4, nonce, (uint32_t)(off * 4 / 64), seed);
        if (sign > 0)
            for (size_t j = 0; j < n; j++) acc[off + j] += sa_get32(buf + 4 * j);
        else
            for (size_t j = 0; j < n; j++) acc[off + j] -= sa_get32(buf + 4 * j);
    }
    sodium_memzero(buf, sizeof buf);
}

int sa_pair_seed(const uint8_t sk[SA_SECRET], const uint8_t pk_own[SA_PK], const uint8_t pk_other[SA_PK],
                 int round, uint8_t seed[SA_SECRET]) {
    uint8_t shared[crypto_scalarmult_BYTES];
    if (crypto_scalarmult(shared, sk, pk_other) != 0) return -1; /* low-order point */
    int own_first = memcmp(pk_own, pk_other, SA_PK) < 0;
    uint8_t r4[4];
    sa_put32(r4, (uint32_t)round);
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, SA_SECRET);
    crypto_generichash_update(&h, shared, sizeof shared);
    crypto_generichash_update(&h, own_first ? pk_own : pk_other, SA_PK);
    crypto_generichash_update(&h, own_first ? pk_other : pk_own, SA_PK);
    crypto_generichash_update(&h, r4, 4);
    crypto_generichash_final(&h, seed, SA_SECRET);
    sodium_memzero(shared, sizeof shared);
    return 0;
}

uint32_t sa_quantise(double v, double scale) {
    double q = nearbyint(v * scale);
    /* Clipping keeps |v| * scale <= 2^30; the guard only stops a stray
     * float from wrapping. */
    if (q > 2147483647.0) q = 2147483647.0;
    if (q < -2147483648.0) q = -2147483648.0;
    return (uint32_t)(int32_t)q;
}

double sa_dequantise(uint32_t w, double scale) { return (double)(int32_t)w / scale; }
