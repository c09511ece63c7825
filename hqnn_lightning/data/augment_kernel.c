/* The study's batch augmentation of uint8 images, fused into one pass per image on the CPU.
 *
 * The same arithmetic, in the same order, as the tensor path of BatchAugmentation
 * (batch_transforms.py), which follows torchvision's uint8 arithmetic: each colour operation
 * clamps to [0, 255] and truncates, the luma is floored, the bilinear rotation (zero padding,
 * align_corners=False, as torch.nn.functional.grid_sample) is multiplied by the coverage mask
 * and rounded half to even. Compiled without FMA contraction so that products round as
 * torch's do, with explicit fmaf where torch fuses. Hue is not handled here: batch_transforms.py
 * keeps the tensor path when it is on.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum { BRIGHTNESS = 0, CONTRAST = 1, SATURATION = 2 };

static inline float clamp255(float value) {
    return value < 0.0f ? 0.0f : (value > 255.0f ? 255.0f : value);
}

/* torch's add with alpha is a fused multiply-add on vectors; so is this. */
static inline float luma(float r, float g, float b) {
    return floorf(fmaf(b, 0.114f, fmaf(g, 0.587f, r * 0.2989f)));
}

/* Brightness, contrast or saturation of one image, planes (3, n), in place: the blend
 * factor * x + (1 - factor) * gray, whose second product torch's addcmul fuses. */
static void adjust(float *image, float *gray, int64_t n, int64_t op, float factor) {
    float *r = image, *g = image + n, *b = image + 2 * n;
    const float keep = 1.0f - factor;
    if (op == BRIGHTNESS) {
        for (int64_t i = 0; i < 3 * n; i++) image[i] = floorf(clamp255(image[i] * factor));
        return;
    }
    for (int64_t i = 0; i < n; i++) gray[i] = luma(r[i], g[i], b[i]);
    if (op == CONTRAST) {
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) sum += gray[i];
        /* The lumas are integers: below 2^24 their float sum in torch is exact too, and the
         * quotient rounds as torch's float division does. */
        const float mean = (float)sum / (float)n;
        for (int64_t i = 0; i < 3 * n; i++)
            image[i] = floorf(clamp255(fmaf(mean, keep, image[i] * factor)));
        return;
    }
    for (int64_t c = 0; c < 3; c++) {
        float *plane = image + c * n;
        for (int64_t i = 0; i < n; i++)
            plane[i] = floorf(clamp255(fmaf(gray[i], keep, plane[i] * factor)));
    }
}

static inline float coverage(float coordinate, int64_t size) {
    float weight = (float)(size + 1) * 0.5f - fabsf(coordinate) * ((float)size * 0.5f);
    return weight < 0.0f ? 0.0f : (weight > 1.0f ? 1.0f : weight);
}

static inline int32_t clamp_index(int32_t index, int32_t size) {
    return index < 0 ? 0 : (index >= size ? size - 1 : index);
}

static inline float inside(int32_t index, int32_t size) {
    return (index >= 0 && index < size) ? 1.0f : 0.0f;
}

/* Output pixel (i, j) of each channel: flip and bilinear rotation of image (3, h, w).
 * The inner loop has no branches, so that it vectorizes (gathers): a tap outside the image
 * reads a clamped neighbour with weight 0, the zero padding of grid_sample. */
static void warp(const float *image, float *out, int64_t h, int64_t w, int flip,
                 const float *cos_sin) {
    const int64_t n = h * w;
    if (cos_sin == NULL) {
        for (int64_t c = 0; c < 3; c++)
            for (int64_t i = 0; i < h; i++)
                for (int64_t j = 0; j < w; j++)
                    out[c * n + i * w + j] = image[c * n + i * w + (flip ? w - 1 - j : j)];
        return;
    }
    const int32_t h32 = (int32_t)h, w32 = (int32_t)w;
    const float mirror = flip ? -1.0f : 1.0f;
    const float cos_x = cos_sin[0] * mirror, sin_x = cos_sin[1] * mirror * ((float)h / (float)w);
    const float sin_y = cos_sin[1] * ((float)w / (float)h), cos_y = cos_sin[0];
    const float *restrict red = image, *restrict green = image + n, *restrict blue = image + 2 * n;
    for (int64_t i = 0; i < h; i++) {
        const float row = -1.0f + 1.0f / (float)h + (float)i * (2.0f / (float)h);
        float *restrict out_r = out + i * w, *restrict out_g = out_r + n, *restrict out_b = out_g + n;
        for (int32_t j = 0; j < w32; j++) {
            const float column = -1.0f + 1.0f / (float)w + (float)j * (2.0f / (float)w);
            const float gx = cos_x * column - sin_x * row;
            const float gy = sin_y * column + cos_y * row;
            const float ix = ((gx + 1.0f) * (float)w - 1.0f) / 2.0f;
            const float iy = ((gy + 1.0f) * (float)h - 1.0f) / 2.0f;
            const float x0 = floorf(ix), y0 = floorf(iy);
            const int32_t x = (int32_t)x0, y = (int32_t)y0;
            const float in_x0 = inside(x, w32), in_x1 = inside(x + 1, w32);
            const float in_y0 = inside(y, h32), in_y1 = inside(y + 1, h32);
            const float nw = (x0 + 1.0f - ix) * (y0 + 1.0f - iy) * (in_x0 * in_y0);
            const float ne = (ix - x0) * (y0 + 1.0f - iy) * (in_x1 * in_y0);
            const float sw = (x0 + 1.0f - ix) * (iy - y0) * (in_x0 * in_y1);
            const float se = (ix - x0) * (iy - y0) * (in_x1 * in_y1);
            const int32_t top = clamp_index(y, h32) * w32, bottom = clamp_index(y + 1, h32) * w32;
            const int32_t left = clamp_index(x, w32), right = clamp_index(x + 1, w32);
            const float mask = coverage(gx, w) * coverage(gy, h);
            out_r[j] = rintf(((red[top + left] * nw + red[top + right] * ne) +
                              red[bottom + left] * sw + red[bottom + right] * se) * mask);
            out_g[j] = rintf(((green[top + left] * nw + green[top + right] * ne) +
                              green[bottom + left] * sw + green[bottom + right] * se) * mask);
            out_b[j] = rintf(((blue[top + left] * nw + blue[top + right] * ne) +
                              blue[bottom + left] * sw + blue[bottom + right] * se) * mask);
        }
    }
}

/* Augments images [begin, end) of a uint8 batch (B, 3, h, w) into float32 dst (B, 3, h, w).
 *
 * ops, factors: (B, n_steps) colour operations in order and their factors (n_steps may be 0);
 * flips: (B,) or NULL; cos_sin: (B, 2) rotation cosines and sines, or NULL for no rotation;
 * mean, std: (3,) normalisation, or NULL to leave values in [0, 1].
 * Returns 0, or -1 when scratch memory cannot be allocated. */
int augment_batch(const uint8_t *src, float *dst, int64_t begin, int64_t end, int64_t h,
                  int64_t w, const int64_t *ops, const float *factors, int64_t n_steps,
                  const uint8_t *flips, const float *cos_sin, const float *mean,
                  const float *std) {
    const int64_t n = h * w;
    float *image = malloc(sizeof(float) * 4 * n);
    if (image == NULL) return -1;
    float *gray = image + 3 * n;
    for (int64_t s = begin; s < end; s++) {
        const uint8_t *in = src + s * 3 * n;
        float *out = dst + s * 3 * n;
        for (int64_t i = 0; i < 3 * n; i++) image[i] = (float)in[i];
        for (int64_t step = 0; step < n_steps; step++)
            adjust(image, gray, n, ops[s * n_steps + step], factors[s * n_steps + step]);
        warp(image, out, h, w, flips != NULL && flips[s], cos_sin ? cos_sin + 2 * s : NULL);
        for (int64_t c = 0; c < 3; c++) {
            float *plane = out + c * n;
            for (int64_t i = 0; i < n; i++) {
                float value = plane[i] * (1.0f / 255.0f);
                plane[i] = mean ? (value - mean[c]) / std[c] : value;
            }
        }
    }
    free(image);
    return 0;
}
