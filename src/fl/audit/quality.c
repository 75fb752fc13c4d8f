/* Reconstruction quality: PSNR and SSIM (Wang, Bovik, Sheikh, Simoncelli,
 * "Image Quality Assessment: From Error Visibility to Structural
 * Similarity", 2004) for images with pixels in [0, 1]. */
#include <math.h>

#include "fedc/audit.h"

double fedc_psnr(const float *a, const float *b, size_t n) {
    double mse = 0;
    for (size_t i = 0; i < n; i++) mse += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    mse /= (double)(n ? n : 1);
    if (mse <= 1e-12) return 120.0; /* identical: report a finite ceiling */
    return 10 * log10(1.0 / mse);
}

double fedc_ssim(const float *a, const float *b, int w, int h) {
    enum { R = 5 }; /* 11 x 11 window */
    double g[2 * R + 1];
    for (int k = -R; k <= R; k++) g[k + R] = exp(-(double)(k * k) / (2 * 1.5 * 1.5));
    const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
    double total = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double sw = 0, ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
            for (int dy = -R; dy <= R; dy++)
                for (int dx = -R; dx <= R; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                    double wt = g[dy + R] * g[dx + R], va = a[yy * w + xx], vb = b[yy * w + xx];
                    sw += wt;
                    ma += wt * va;
                    mb += wt * vb;
                    saa += wt * va * va;
                    sbb += wt * vb * vb;
                    sab += wt * va * vb;
                }
            ma /= sw;
            mb /= sw;
            double va = saa / sw - ma * ma, vb = sbb / sw - mb * mb, cov = sab / sw - ma * mb;
            total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        }
    return total / ((double)w * h);
}
