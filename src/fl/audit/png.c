/* Grey PNG images through libpng (Debian libpng-dev). */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>

#include "fedc/audit.h"

int fedc_png_write_gray(const char *path, const float *img, int w, int h, int scale, fedc_error *err) {
    if (w < 1 || h < 1 || scale < 1 || (long)w * scale > 65536 || (long)h * scale > 65536)
        return fedc_fail(err, "%s: image size %dx%d (scale %d) out of range", path, w, h, scale);
    FILE *f = fopen(path, "wb");
    if (!f) return fedc_fail(err, "%s: cannot create the file", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int W = w * scale, H = h * scale;
    png_bytep row = malloc((size_t)W);
    if (!png || !info || !row) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        free(row);
        fclose(f);
        return fedc_fail(err, "%s: out of memory for the PNG writer", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(row);
        fclose(f);
        return fedc_fail(err, "%s: libpng failed to write the image", path);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            float v = img[(y / scale) * w + x / scale];
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            row[x] = (png_byte)(v * 255.0f + 0.5f);
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    if (fclose(f) != 0) return fedc_fail(err, "%s: write failed", path);
    return 0;
}
