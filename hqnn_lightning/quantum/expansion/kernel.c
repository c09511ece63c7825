/* Fused CPU kernel of the multilinear quanvolution (see coefficients.py).
 *
 * For each patch, output o is sum_P c[o, P] prod_i f_i(P_i) with f_i = (1, cos(pi x_i),
 * sin(pi x_i)). The patch's qubits are split into a head (the first n_head) and a tail; the
 * products over each part are built once per patch (3^n_head and 3^n_tail of them) and each
 * output is sum_r head[r] * (sum_s c[o, r, s] tail[s]) over its nonzero coefficients only,
 * stored row by row (CSR). Patches are processed BLOCK at a time along an output row, so every
 * intermediate lives in a few kilobytes of stack and the compiler vectorises across patches:
 * only the images are read and only the outputs written.
 *
 * NAME computes outputs; NAME_grad accumulates the gradient of a loss with respect to the
 * coefficients, sum over patches of grad_out[o] * head[r] * tail[s], for trainable filters.
 *
 * kernel.py compiles this file twice, for float and for double, defining
 * SCALAR, COS, SIN and NAME on the command line.
 */
#include <math.h>
#include <stdint.h>

#define BLOCK 32
#define MAX_QUBITS 9
#define MAX_PART 243 /* 3^5, the tail of a 9-qubit patch */
#define PI 3.14159265358979323846
#define CONCAT_(a, b) a##b
#define CONCAT(a, b) CONCAT_(a, b)

/* A BLOCK of patches is VECS vectors of 64 bytes. Sums over terms run on vector values, so
 * that GCC keeps the running sums in registers rather than in an array on the stack. */
typedef SCALAR vec __attribute__((vector_size(64)));
#define VECS ((int64_t)(BLOCK * sizeof(SCALAR) / sizeof(vec)))
#define ALIGNED __attribute__((aligned(64)))

/* Geometry of one call: images (planes, height, width), outputs (planes, n, out_h, out_w). */
typedef struct {
    int64_t height, width, kernel, stride, out_h, out_w, n_head;
} Geometry;

/* Coefficients in CSR: output o's rows are output_rows[o] .. output_rows[o+1]; row r has
 * head index row_index[r] and terms row_terms[r] .. row_terms[r+1], each a tail index
 * term_index[t]. */
typedef struct {
    const int64_t *output_rows, *row_index, *row_terms, *term_index;
} Table;

/* out[(a_first, ..., a_{last-1}) row-major][j] = prod_i f_i(a_i) for patch j. */
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

/* Head and tail products of patches j0 .. j0+count-1 of output row i of a plane; patches past
 * count get pixel 0 and are never stored. */
static void block_products(const SCALAR *plane, const Geometry *g, int64_t i, int64_t j0,
                           int64_t count, SCALAR head[MAX_PART][BLOCK],
                           SCALAR tail[MAX_PART][BLOCK]) {
    const int64_t n = g->kernel * g->kernel;
    SCALAR pixel[BLOCK], cosine[MAX_QUBITS][BLOCK], sine[MAX_QUBITS][BLOCK];
    for (int64_t q = 0; q < n; ++q) {
        const SCALAR *at = plane + (i * g->stride + q / g->kernel) * g->width + q % g->kernel +
                           j0 * g->stride;
        for (int64_t j = 0; j < count; ++j) pixel[j] = at[j * g->stride];
        for (int64_t j = count; j < BLOCK; ++j) pixel[j] = 0;
        /* Separate loops: GCC fuses a cos and a sin of one argument into a scalar sincos
         * call, which blocks their vectorisation. */
        for (int64_t j = 0; j < BLOCK; ++j) cosine[q][j] = COS((SCALAR)PI * pixel[j]);
        for (int64_t j = 0; j < BLOCK; ++j) sine[q][j] = SIN((SCALAR)PI * pixel[j]);
    }
    products(head, cosine, sine, 0, g->n_head);
    products(tail, cosine, sine, g->n_head, n);
}

/* Outputs of rows [row_begin, row_end); row r is output row r % out_h of plane r / out_h. */
void NAME(const SCALAR *images, SCALAR *out, int64_t height, int64_t width, int64_t kernel,
          int64_t stride, int64_t out_h, int64_t out_w, int64_t n_head,
          const int64_t *output_rows, const int64_t *row_index, const int64_t *row_terms,
          const int64_t *term_index, const SCALAR *term_coef, int64_t row_begin,
          int64_t row_end) {
    const Geometry g = {height, width, kernel, stride, out_h, out_w, n_head};
    const Table table = {output_rows, row_index, row_terms, term_index};
    const int64_t n = kernel * kernel;
    SCALAR head[MAX_PART][BLOCK] ALIGNED, tail[MAX_PART][BLOCK] ALIGNED, acc[BLOCK] ALIGNED;
    for (int64_t row = row_begin; row < row_end; ++row) {
        const int64_t plane = row / out_h, i = row % out_h;
        SCALAR *target = out + plane * n * out_h * out_w + i * out_w;
        for (int64_t j0 = 0; j0 < out_w; j0 += BLOCK) {
            const int64_t count = out_w - j0 < BLOCK ? out_w - j0 : BLOCK;
            block_products(images + plane * height * width, &g, i, j0, count, head, tail);
            for (int64_t o = 0; o < n; ++o) {
                vec sum[VECS] = {0};
                for (int64_t r = table.output_rows[o]; r < table.output_rows[o + 1]; ++r) {
                    vec partial[VECS] = {0};
                    for (int64_t t = table.row_terms[r]; t < table.row_terms[r + 1]; ++t) {
                        const SCALAR c = term_coef[t];
                        const vec *factor = (const vec *)tail[table.term_index[t]];
                        for (int64_t v = 0; v < VECS; ++v) partial[v] += c * factor[v];
                    }
                    const vec *prefix = (const vec *)head[table.row_index[r]];
                    for (int64_t v = 0; v < VECS; ++v) sum[v] += prefix[v] * partial[v];
                }
                for (int64_t v = 0; v < VECS; ++v) ((vec *)acc)[v] = sum[v];
                SCALAR *dst = target + o * out_h * out_w + j0;
                for (int64_t j = 0; j < count; ++j) dst[j] = acc[j];
            }
        }
    }
}

/* grad_coef[t] += sum over the patches of rows [row_begin, row_end) of
 * grad_out[o] * head[r] * tail[s], in double, for term t = (o, r, s). */
void CONCAT(NAME, _grad)(const SCALAR *images, const SCALAR *grad_out, int64_t height,
                         int64_t width, int64_t kernel, int64_t stride, int64_t out_h,
                         int64_t out_w, int64_t n_head, const int64_t *output_rows,
                         const int64_t *row_index, const int64_t *row_terms,
                         const int64_t *term_index, double *grad_coef, int64_t row_begin,
                         int64_t row_end) {
    const Geometry g = {height, width, kernel, stride, out_h, out_w, n_head};
    const Table table = {output_rows, row_index, row_terms, term_index};
    const int64_t n = kernel * kernel;
    SCALAR head[MAX_PART][BLOCK] ALIGNED, tail[MAX_PART][BLOCK] ALIGNED, weight[BLOCK] ALIGNED;
    for (int64_t row = row_begin; row < row_end; ++row) {
        const int64_t plane = row / out_h, i = row % out_h;
        const SCALAR *source = grad_out + plane * n * out_h * out_w + i * out_w;
        for (int64_t j0 = 0; j0 < out_w; j0 += BLOCK) {
            const int64_t count = out_w - j0 < BLOCK ? out_w - j0 : BLOCK;
            block_products(images + plane * height * width, &g, i, j0, count, head, tail);
            for (int64_t o = 0; o < n; ++o) {
                const SCALAR *upstream = source + o * out_h * out_w + j0;
                for (int64_t j = 0; j < count; ++j) weight[j] = upstream[j];
                for (int64_t j = count; j < BLOCK; ++j) weight[j] = 0;
                for (int64_t r = table.output_rows[o]; r < table.output_rows[o + 1]; ++r) {
                    const vec *prefix = (const vec *)head[table.row_index[r]];
                    vec weighted[VECS];
                    for (int64_t v = 0; v < VECS; ++v) weighted[v] = ((vec *)weight)[v] * prefix[v];
                    for (int64_t t = table.row_terms[r]; t < table.row_terms[r + 1]; ++t) {
                        const vec *factor = (const vec *)tail[table.term_index[t]];
                        vec sum = weighted[0] * factor[0];
                        for (int64_t v = 1; v < VECS; ++v) sum += weighted[v] * factor[v];
                        SCALAR total = 0;
                        for (int64_t lane = 0; lane < (int64_t)(sizeof(vec) / sizeof(SCALAR));
                             ++lane)
                            total += sum[lane];
                        grad_coef[t] += total;
                    }
                }
            }
        }
    }
}
