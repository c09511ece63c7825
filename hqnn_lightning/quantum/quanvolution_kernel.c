/* Fused CPU kernel of the multilinear quanvolution (see pauli_expansion.py).
 *
 * For each patch, output q is sum_P c[q, P] prod_i f_i(P_i) with f_i = (1, cos(pi x_i),
 * sin(pi x_i)). The patch's qubits are split into a head (the first n_head) and a tail; the
 * products over each part are built once per patch (3^n_head and 3^n_tail of them) and each
 * output is sum_r head[r] * (sum_s c[q, r, s] tail[s]) over its nonzero coefficients only,
 * stored row by row (CSR). Patches are processed BLOCK at a time along an output row, so every
 * intermediate lives in a few kilobytes of stack and the compiler vectorises across patches:
 * only the images are read and only the outputs written.
 *
 * quanvolution_kernel.py compiles this file twice, for float and for double, defining
 * SCALAR, COS, SIN and NAME on the command line.
 */
#include <math.h>
#include <stdint.h>

#define BLOCK 32
#define MAX_QUBITS 9
#define MAX_PART 243 /* 3^5, the tail of a 9-qubit patch */
#define PI 3.14159265358979323846

/* products[(a_first, ..., a_{last-1}) row-major][j] = prod_i f_i(a_i) for patch j. */
static void products(SCALAR out[MAX_PART][BLOCK], SCALAR cosine[MAX_QUBITS][BLOCK],
                     SCALAR sine[MAX_QUBITS][BLOCK], int64_t first, int64_t last) {
    int64_t size = 1;
    for (int64_t j = 0; j < BLOCK; ++j) out[0][j] = 1;
    for (int64_t q = first; q < last; ++q) {
        /* Descending, so that entry r is read before 3r..3r+2 overwrite it. */
        for (int64_t r = size - 1; r >= 0; --r) {
            for (int64_t j = 0; j < BLOCK; ++j) {
                const SCALAR p = out[r][j];
                out[3 * r + 2][j] = p * sine[q][j];
                out[3 * r + 1][j] = p * cosine[q][j];
                out[3 * r][j] = p;
            }
        }
        size *= 3;
    }
}

/* Output rows [row_begin, row_end) of (B*C, n, out_h, out_w) from images (B*C, height, width).
 * Row r is output row r % out_h of plane r / out_h. Coefficients of output o: CSR rows
 * output_rows[o] .. output_rows[o+1], each a head index row_index[r] with the terms
 * row_terms[r] .. row_terms[r+1] (tail index term_index[t], coefficient term_coef[t]). */
void NAME(const SCALAR *images, SCALAR *out, int64_t height, int64_t width, int64_t kernel,
          int64_t stride, int64_t out_h, int64_t out_w, int64_t n_head,
          const int64_t *output_rows, const int64_t *row_index, const int64_t *row_terms,
          const int64_t *term_index, const SCALAR *term_coef, int64_t row_begin,
          int64_t row_end) {
    const int64_t n = kernel * kernel;
    SCALAR pixel[BLOCK], cosine[MAX_QUBITS][BLOCK], sine[MAX_QUBITS][BLOCK];
    SCALAR head[MAX_PART][BLOCK], tail[MAX_PART][BLOCK], partial[BLOCK], acc[BLOCK];
    for (int64_t row = row_begin; row < row_end; ++row) {
        const int64_t plane = row / out_h, i = row % out_h;
        const SCALAR *source = images + (plane * height + i * stride) * width;
        SCALAR *target = out + plane * n * out_h * out_w + i * out_w;
        for (int64_t j0 = 0; j0 < out_w; j0 += BLOCK) {
            const int64_t count = out_w - j0 < BLOCK ? out_w - j0 : BLOCK;
            for (int64_t q = 0; q < n; ++q) {
                const SCALAR *at = source + (q / kernel) * width + q % kernel + j0 * stride;
                for (int64_t j = 0; j < count; ++j) pixel[j] = at[j * stride];
                for (int64_t j = count; j < BLOCK; ++j) pixel[j] = 0;
                /* Separate loops: GCC fuses a cos and a sin of one argument into a scalar
                 * sincos call, which blocks their vectorisation. */
                for (int64_t j = 0; j < BLOCK; ++j) cosine[q][j] = COS((SCALAR)PI * pixel[j]);
                for (int64_t j = 0; j < BLOCK; ++j) sine[q][j] = SIN((SCALAR)PI * pixel[j]);
            }
            products(head, cosine, sine, 0, n_head);
            products(tail, cosine, sine, n_head, n);
            for (int64_t o = 0; o < n; ++o) {
                for (int64_t j = 0; j < BLOCK; ++j) acc[j] = 0;
                for (int64_t r = output_rows[o]; r < output_rows[o + 1]; ++r) {
                    for (int64_t j = 0; j < BLOCK; ++j) partial[j] = 0;
                    for (int64_t t = row_terms[r]; t < row_terms[r + 1]; ++t) {
                        const SCALAR c = term_coef[t];
                        const SCALAR *factor = tail[term_index[t]];
                        for (int64_t j = 0; j < BLOCK; ++j) partial[j] += c * factor[j];
                    }
                    const SCALAR *prefix = head[row_index[r]];
                    for (int64_t j = 0; j < BLOCK; ++j) acc[j] += prefix[j] * partial[j];
                }
                SCALAR *dst = target + o * out_h * out_w + j0;
                for (int64_t j = 0; j < count; ++j) dst[j] = acc[j];
            }
        }
    }
}
