/* Renyi differential privacy of the sampled Gaussian mechanism (SGM), and
 * its conversion to (epsilon, delta)-DP.
 *
 * One SGM step: each record is included with probability q, the clipped
 * contributions are summed and N(0, sigma^2) noise (in units of the
 * sensitivity) is added. Mironov, Talwar and Zhang, "Renyi Differential
 * Privacy of the Sampled Gaussian Mechanism" (2019), give its RDP at order
 * alpha as log(A_alpha) / (alpha - 1) with
 *   A_alpha = E_{z ~ mu0} [ ((1 - q) + q mu1(z)/mu0(z))^alpha ],
 * mu0 = N(0, sigma^2), mu1 = N(1, sigma^2). For an integer alpha the
 * binomial expansion is finite (section 3.3, eq. for integer alpha); for a
 * fractional alpha the expectation splits at z0 = sigma^2 log(1/q - 1) + 1/2
 * into two convergent series with erfc tails. Everything is summed in log
 * space, so large orders and tiny rates neither overflow nor underflow. */
#include <math.h>

#include "fedc/privacy.h"

/* log(exp(a) + exp(b)) */
static double log_add(double a, double b) {
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    double hi = a > b ? a : b, lo = a > b ? b : a;
    return hi + log1p(exp(lo - hi));
}

/* log(exp(a) - exp(b)) for a >= b; -inf when they are equal. A series term
 * that would make the running sum negative can only come from rounding, so
 * it is clamped to -inf rather than produce NaN. */
static double log_sub(double a, double b) {
    if (b == -INFINITY) return a;
    if (b >= a) return -INFINITY;
    return a + log1p(-exp(b - a));
}

/* log(erfc(x)), also where erfc underflows (x beyond ~26): there the
 * asymptotic series erfc(x) ~ exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) +
 * 3/(4x^4) - 15/(8x^6)) is accurate to double precision. */
static double log_erfc(double x) {
    if (x < 20) return log(erfc(x));
    double r = 1.0 / (x * x);
    return -x * x - log(x) - 0.5 * log(M_PI) + log1p(r * (-0.5 + r * (0.75 - r * 1.875)));
}

static double log_a_integer(double q, double sigma, int alpha) {
    double log_a = -INFINITY, log_binom = 0; /* log C(alpha, 0) */
    double lq = log(q), l1q = log1p(-q), s2 = 2 * sigma * sigma;
    for (int k = 0; k <= alpha; k++) {
        if (k > 0) log_binom += log((double)(alpha - k + 1)) - log((double)k);
        double term = log_binom + k * lq + (alpha - k) * l1q + ((double)k * k - k) / s2;
        log_a = log_add(log_a, term);
    }
    return log_a;
}

static double log_a_fractional(double q, double sigma, double alpha) {
    double a0 = -INFINITY, a1 = -INFINITY;
    double z0 = sigma * sigma * log(1 / q - 1) + 0.5;
    double lq = log(q), l1q = log1p(-q), s2 = 2 * sigma * sigma, sq2 = sqrt(2.0) * sigma;
    double log_coef = 0; /* log |C(alpha, i)|, generalised binomial */
    int sign = 1;
    /* The terms fall off like i^(-alpha-1) times a Gaussian tail; 10^5
     * terms is far beyond what any order up to 1024 needs. */
    for (int i = 0; i < 100000; i++) {
        if (i > 0) {
            double f = alpha - (i - 1);
            log_coef += log(fabs(f)) - log((double)i);
            if (f < 0) sign = -sign;
        }
        double j = alpha - i;
        double t0 = log_coef + i * lq + j * l1q;
        double t1 = log_coef + j * lq + i * l1q;
        double e0 = log(0.5) + log_erfc((i - z0) / sq2);
        double e1 = log(0.5) + log_erfc((z0 - j) / sq2);
        double s0 = t0 + ((double)i * i - i) / s2 + e0;
        double s1 = t1 + (j * j - j) / s2 + e1;
        if (sign > 0) {
            a0 = log_add(a0, s0);
            a1 = log_add(a1, s1);
        } else {
            a0 = log_sub(a0, s0);
            a1 = log_sub(a1, s1);
        }
        if (fmax(s0, s1) < -30) break;
    }
    return log_add(a0, a1);
}

double fedc_rdp_sampled_gaussian(double q, double sigma, double alpha) {
    if (!(alpha > 1) || !(q >= 0) || q > 1 || !(sigma >= 0)) return NAN;
    if (q == 0) return 0;
    if (sigma == 0) return INFINITY;
    if (q == 1) return alpha / (2 * sigma * sigma);
    if (isinf(alpha)) return INFINITY;
    double log_a = alpha == floor(alpha) && alpha < 1e6 ? log_a_integer(q, sigma, (int)alpha)
                                                        : log_a_fractional(q, sigma, alpha);
    return log_a / (alpha - 1);
}

double fedc_rdp_to_epsilon(const double *orders, const double *rdp, int n, double delta,
                           double *best_order) {
    double best = INFINITY, at = NAN;
    for (int i = 0; i < n; i++) {
        double a = orders[i], r = rdp[i], eps;
        if (!(r >= 0) || !(a > 1)) continue;
        if (delta * delta + expm1(-r) > 0) {
            /* Pinsker: delta <= sqrt(1 - exp(-KL)) already holds. */
            eps = 0;
        } else if (a > 1.01) {
            /* Tighter than the classic r + log(1/delta)/(a-1) (Balle et al.
             * 2020, Theorem 21); not numerically stable as a -> 1. */
            eps = r + log1p(-1 / a) - log(delta * a) / (a - 1);
        } else {
            continue;
        }
        if (eps < best) {
            best = eps;
            at = a;
        }
    }
    if (best_order) *best_order = at;
    return best < 0 ? 0 : best;
}

int fedc_rdp_default_orders(double *out) {
    int n = 0;
    for (int x = 1; x < 100; x++) out[n++] = 1 + x / 10.0;
    for (int a = 11; a <= 64; a++) out[n++] = a;
    static const double big[] = {80, 96, 128, 256, 512, 1024};
    for (int i = 0; i < 6; i++) out[n++] = big[i];
    return n;
}

double fedc_dp_epsilon(double q, double sigma, long steps, double delta) {
    if (steps <= 0) return 0;
    double orders[FEDC_RDP_MAX_ORDERS], rdp[FEDC_RDP_MAX_ORDERS];
    int n = fedc_rdp_default_orders(orders);
    for (int i = 0; i < n; i++) rdp[i] = (double)steps * fedc_rdp_sampled_gaussian(q, sigma, orders[i]);
    return fedc_rdp_to_epsilon(orders, rdp, n, delta, NULL);
}
