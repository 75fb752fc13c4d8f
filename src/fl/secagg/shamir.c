/* Shamir secret sharing over the prime field GF(p), p = 2^61 - 1 (a
 * Mersenne prime: reduction is a shift and an add). A 32-byte secret is cut
 * into 5 chunks of 7 bytes, each below p, and every chunk gets its own
 * random polynomial of degree t - 1 with the chunk as constant term; a share
 * is the point x and the 5 polynomial values there. Any t shares give the
 * chunks back by Lagrange interpolation at 0; t - 1 shares are uniformly
 * distributed whatever the secret (the scheme is perfectly hiding). */
#include <sodium.h>
#include <string.h>

#include "fl/secagg/secagg_internal.h"

#define P ((uint64_t)0x1FFFFFFFFFFFFFFFull)

static uint64_t mod_p(unsigned __int128 v) {
    uint64_t lo = (uint64_t)(v & P), hi = (uint64_t)(v >> 61);
    uint64_t r = lo + hi; /* < 2^62 + ... : one more fold suffices */
    r = (r & P) + (r >> 61);
    return r >= P ? r - P : r;
}
static uint64_t add_p(uint64_t a, uint64_t b) {
    uint64_t r = a + b;
    return r >= P ? r - P : r;
}
static uint64_t sub_p(uint64_t a, uint64_t b) { return a >= b ? a - b : a + P - b; }
static uint64_t mul_p(uint64_t a, uint64_t b) { return mod_p((unsigned __int128)a * b); }
static uint64_t pow_p(uint64_t a, uint64_t e) {
    uint64_t r = 1;
    while (e) {
        if (e & 1) r = mul_p(r, a);
        a = mul_p(a, a);
        e >>= 1;
    }
    return r;
}
static uint64_t inv_p(uint64_t a) { return pow_p(a, P - 2); } /* Fermat; a != 0 */

static uint64_t random_element(void) {
    for (;;) {
        uint64_t v;
        randombytes_buf(&v, sizeof v);
        v &= P; /* 61 bits; only p itself is out of range */
        if (v < P) return v;
    }
}

static void chunks_of(const uint8_t secret[SA_SECRET], uint64_t c[SA_CHUNKS]) {
    for (int k = 0; k < SA_CHUNKS; k++) {
        c[k] = 0;
        for (int b = 0; b < 7; b++) {
            int at = k * 7 + b;
            uint64_t byte = at < SA_SECRET ? secret[at] : 0;
            c[k] |= byte << (8 * b);
        }
    }
}

void sa_shamir_split(const uint8_t secret[SA_SECRET], int n, int t, const uint32_t *xs, sa_share *out) {
    uint64_t c[SA_CHUNKS];
    chunks_of(secret, c);
    for (int i = 0; i < n; i++) out[i].x = xs[i];
    uint64_t coef[SA_MAX_DEGREE + 1];
    /* The graph degree bounds t (sa_graph_degree), so t <= SA_MAX_DEGREE. */
    int deg = (t < 1 ? 1 : t > SA_MAX_DEGREE ? SA_MAX_DEGREE : t) - 1;
    for (int k = 0; k < SA_CHUNKS; k++) {
        coef[0] = c[k];
        for (int j = 1; j <= deg; j++) coef[j] = random_element();
        for (int i = 0; i < n; i++) {
            uint64_t x = xs[i], y = 0;
            for (int j = deg; j >= 0; j--) y = add_p(mul_p(y, x), coef[j]); /* Horner */
            out[i].y[k] = y;
        }
    }
    sodium_memzero(coef, sizeof coef);
    sodium_memzero(c, sizeof c);
}

int sa_shamir_combine(const sa_share *s, int m, int t, uint8_t secret[SA_SECRET]) {
    if (t < 1 || m < t) return -1;
    for (int i = 0; i < t; i++) {
        if (s[i].x == 0) return -1; /* x is 32-bit: always below p */
        for (int j = 0; j < i; j++)
            if (s[i].x == s[j].x) return -1;
        for (int k = 0; k < SA_CHUNKS; k++)
            if (s[i].y[k] >= P) return -1;
    }
    uint64_t c[SA_CHUNKS] = {0};
    for (int i = 0; i < t; i++) {
        /* Lagrange basis at 0: prod_{j != i} x_j / (x_j - x_i). */
        uint64_t num = 1, den = 1;
        for (int j = 0; j < t; j++) {
            if (j == i) continue;
            num = mul_p(num, s[j].x);
            den = mul_p(den, sub_p(s[j].x, s[i].x));
        }
        uint64_t l = mul_p(num, inv_p(den));
        for (int k = 0; k < SA_CHUNKS; k++) c[k] = add_p(c[k], mul_p(s[i].y[k], l));
    }
    for (int k = 0; k < SA_CHUNKS; k++) {
        /* A chunk is 7 bytes; anything above them means inconsistent shares. */
        if (c[k] >> 56) return -1;
        for (int b = 0; b < 7; b++) {
            int at = k * 7 + b;
            if (at < SA_SECRET) secret[at] = (uint8_t)(c[k] >> (8 * b));
            else if ((c[k] >> (8 * b)) & 0xff) return -1;
        }
    }
    sodium_memzero(c, sizeof c);
    return 0;
}

void sa_share_pack(const sa_share *s, uint8_t out[SA_SHARE_BYTES]) {
    sa_put32(out, s->x);
    for (int k = 0; k < SA_CHUNKS; k++) {
        sa_put32(out + 4 + 8 * k, (uint32_t)s->y[k]);
        sa_put32(out + 8 + 8 * k, (uint32_t)(s->y[k] >> 32));
    }
}

int sa_share_unpack(const uint8_t in[SA_SHARE_BYTES], sa_share *s) {
    s->x = sa_get32(in);
    for (int k = 0; k < SA_CHUNKS; k++) {
        s->y[k] = (uint64_t)sa_get32(in + 4 + 8 * k) | (uint64_t)sa_get32(in + 8 + 8 * k) << 32;
        if (s->y[k] >= P) return -1;
    }
    return s->x == 0 ? -1 : 0;
}
