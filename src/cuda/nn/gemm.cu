/* gemm.cu - the CUDA backend's matrix products, gemm and gemm_batched, on
 * cuBLASLt, with the CPU table's row-major semantics (nn/backend.h):
 * c[m, n] = alpha op(a) op(b) + beta c, lda/ldb/ldc the row strides as
 * stored, the batched form stepping each matrix by its element stride.
 *
 * Row-major on a column-major library.  A row-major matrix X of r rows, c
 * columns and row stride ld has the bytes of the column-major matrix X^T
 * (c rows, r columns, leading dimension ld).  So cuBLASLt, handed our c as
 * a column-major matrix, sees C^T [n, m] with leading dimension ldc, and
 *     C^T = alpha (op(a) op(b))^T + beta C^T = alpha op(b)^T op(a)^T + beta C^T.
 * That is cuBLASLt's own product D = alpha op'(A) op'(B) + beta C with
 *     A = our b, B = our a, m' = n, n' = m, k' = k.
 * op'(A) must be op(b)^T [n, k].  Untransposed, our b is [k, n] row-major,
 * which cuBLASLt reads as b^T [n, k]: op' = N, layout n x k, ld = ldb.
 * Transposed (trans_b), our b is [n, k] row-major, read as b^T [k, n], and
 * op(b)^T = b = (b^T)^T: op' = T, layout k x n, ld = ldb.  Likewise B from
 * our a: op' = trans_a ? T : N, layout trans_a ? m x k : k x m, ld = lda.
 * C = D: layout n x m, ld = ldc.  (A layout describes the matrix as
 * stored; the op is applied on top of it.)
 *
 * Each distinct call (shape, strides and the pointers' alignment) gets one
 * plan, made once and cached (shape_cache.h): the matmul descriptor, the
 * three layouts and the algorithm cublasLtMatmulAlgoGetHeuristic chose, so a
 * training step makes no descriptor and asks no heuristic per call.  The
 * alignment is part of the key because the heuristic assumes 256-byte
 * aligned buffers unless told otherwise, and a convolution's or a head's
 * operand starts anywhere inside a tensor.
 *
 * Precision: CUBLAS_COMPUTE_32F (never _FAST_TF32), fp32 scalars, C and
 * D, the state's fixed workspace and stream, so a given GPU model and
 * library version gives the same bits run after run.  In fp32 a and b are
 * read where they are.  In bf16 (VL_CUDA_NN_BF16) each call first casts a
 * and b (the rows x cols it reads of each, at their strides) into bf16
 * copies in the cache's scratch (bf16.h: round to nearest even, grown by
 * doubling), packed with the row stride rounded up to 8 values (16 bytes,
 * as tensor-core kernels want) and each matrix of a batch right after the
 * last; cuBLASLt then multiplies CUDA_R_16BF A and B with fp32
 * accumulation into the fp32 c, beta as in fp32.  The key holds the
 * precision, so the two never share a plan, and in bf16 the alignments are
 * the copies'.  The casts cost one pass over a and b per call: weights are
 * cast again at every use (GPU.md's bf16 weight shadow, cast once per
 * step, is not built).
 *
 * Zero sizes as the CPU's OpenBLAS: m or n == 0 does nothing; k == 0 or
 * alpha == 0 gives c = beta c (beta == 0 stores zeros, NaNs in c
 * included), without reading a or b.  Compiled by nvcc only; it has never
 * run on a GPU. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/nn/bf16.h"
#include "cuda/nn/nn_cuda.h"
#include "cuda/nn/shape_cache.h"

#define GEMM_WORKSPACE_BYTES ((size_t)32 << 20)
#define GEMM_CACHE_CAPACITY 128
#define GEMM_THREADS 256
#define GEMM_MAX_BLOCKS 4096

/* One call as the cache keys it: int64 fields only, so no padding. */
struct gemm_key {
    int64_t trans_a, trans_b, m, n, k, lda, ldb, ldc;
    int64_t batch, stride_a, stride_b, stride_c;
    int64_t align_a, align_b, align_c; /* bytes, powers of two up to 256 */
    int64_t precision;                 /* enum vl_cuda_nn_precision */
};
static_assert(sizeof(struct gemm_key) == 16 * sizeof(int64_t), "gemm_key has padding");
static_assert(sizeof(struct gemm_key) <= VL_CUDA_NN_CACHE_KEY_MAX, "gemm_key outgrew the cache");

/* What cublasLtMatmul takes for one key. */
struct gemm_plan {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t lt_a, lt_b, lt_c; /* cuBLASLt's A (our b), B (our a), C = D */
    cublasLtMatmulAlgo_t algo;
};

struct vl_cuda_nn_gemm_cache {
    struct vl_cuda_nn_cache plans;
    struct vl_cuda_nn_bf16_scratch operands; /* bf16: the copies of a and b */
};

/* One operand matrix as cuBLASLt reads it: rows x cols stored row-major
 * with row stride ld, a batch of them stride elements apart. */
struct operand {
    int64_t rows, cols, ld, stride;
};

/* A bf16 copy's row stride: the row rounded up to 8 values (16 bytes). */
static int64_t packed_ld(int64_t cols)
{
    return (cols + 7) & ~(int64_t)7;
}

/* Our a and b for key as cuBLASLt reads them: the caller's in fp32, the
 * packed bf16 copies (bf16.h) in bf16. */
static void operands_of(const struct gemm_key *key, struct operand *a, struct operand *b)
{
    a->rows = key->trans_a ? key->k : key->m;
    a->cols = key->trans_a ? key->m : key->k;
    b->rows = key->trans_b ? key->n : key->k;
    b->cols = key->trans_b ? key->k : key->n;
    a->ld = key->lda;
    a->stride = key->stride_a;
    b->ld = key->ldb;
    b->stride = key->stride_b;
    if (key->precision == VL_CUDA_NN_BF16) {
        a->ld = packed_ld(a->cols);
        b->ld = packed_ld(b->cols);
        a->stride = key->batch > 1 ? a->rows * a->ld : 0;
        b->stride = key->batch > 1 ? b->rows * b->ld : 0;
    }
}

/* The largest power of two up to 256 dividing the address and, when there
 * are several matrices, the byte stride (stride values of value_bytes)
 * between them. */
static int64_t alignment_of(const void *p, size_t stride, int batch, size_t value_bytes)
{
    uintptr_t bits = (uintptr_t)p | 256;
    if (batch > 1) bits |= (uintptr_t)(stride * value_bytes) | 256;
    return (int64_t)(bits & (~bits + 1));
}

/* key as text for a failure message. */
static void key_describe(const struct gemm_key *key, char *out, size_t n)
{
    snprintf(out, n,
             "gemm m %lld n %lld k %lld (trans_a %lld, trans_b %lld, lda %lld, ldb %lld, "
             "ldc %lld, batch %lld, strides %lld %lld %lld, %s)",
             (long long)key->m, (long long)key->n, (long long)key->k, (long long)key->trans_a,
             (long long)key->trans_b, (long long)key->lda, (long long)key->ldb, (long long)key->ldc,
             (long long)key->batch, (long long)key->stride_a, (long long)key->stride_b,
             (long long)key->stride_c, key->precision == VL_CUDA_NN_BF16 ? "bf16" : "fp32");
}

/* Records rc, when it is an error, as what failed for key; 0 or -1. */
static int lt_check(struct vl_cuda_nn_state *st, cublasStatus_t rc, const char *what,
                    const struct gemm_key *key)
{
    if (rc == CUBLAS_STATUS_SUCCESS) return 0;
    char shape[256];
    key_describe(key, shape, sizeof shape);
    vl_cuda_nn_fail(st, rc == CUBLAS_STATUS_ALLOC_FAILED, "%s: %s: %s (%s)", shape, what,
                    cublasLtGetStatusName(rc), cublasLtGetStatusString(rc));
    return -1;
}

/* Frees a struct gemm_plan and whatever of it was made (NULL is ignored);
 * void * for the cache. */
static void plan_free(void *value)
{
    struct gemm_plan *plan = (struct gemm_plan *)value;
    if (!plan) return;
    if (plan->lt_a) (void)cublasLtMatrixLayoutDestroy(plan->lt_a);
    if (plan->lt_b) (void)cublasLtMatrixLayoutDestroy(plan->lt_b);
    if (plan->lt_c) (void)cublasLtMatrixLayoutDestroy(plan->lt_c);
    if (plan->op) (void)cublasLtMatmulDescDestroy(plan->op);
    free(plan);
}

/* A column-major layout of type of rows x cols with leading dimension ld,
 * batch of them stride elements apart; 0 or -1 (recorded). */
static int layout_make(struct vl_cuda_nn_state *st, const struct gemm_key *key,
                       cublasLtMatrixLayout_t *out, cudaDataType_t type, int64_t rows, int64_t cols,
                       int64_t ld, int64_t stride, const char *what)
{
    if (lt_check(st, cublasLtMatrixLayoutCreate(out, type, (uint64_t)rows, (uint64_t)cols, ld),
                 what, key) < 0)
        return -1;
    if (key->batch <= 1) return 0;
    int32_t count = (int32_t)key->batch;
    if (lt_check(st,
                 cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                                                  sizeof count),
                 what, key) < 0)
        return -1;
    return lt_check(st,
                    cublasLtMatrixLayoutSetAttribute(
                        *out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride),
                    what, key);
}

/* Sets one uint32 preference; 0 or -1 (recorded). */
static int pref_set(struct vl_cuda_nn_state *st, const struct gemm_key *key,
                    cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                    uint32_t value)
{
    return lt_check(st, cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof value),
                    "cublasLtMatmulPreferenceSetAttribute", key);
}

/* The heuristic's best algorithm for plan's descriptors within the state's
 * workspace and key's alignments; 0 or -1 (recorded). */
static int plan_choose_algo(struct vl_cuda_nn_state *st, const struct gemm_key *key,
                            struct gemm_plan *plan)
{
    cublasLtMatmulPreference_t pref = NULL;
    if (lt_check(st, cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate", key) <
        0)
        return -1;
    uint64_t workspace = st->lt_workspace_bytes;
    /* cuBLASLt's A is our b and its B our a (the derivation at the top) */
    int rc =
        lt_check(st,
                 cublasLtMatmulPreferenceSetAttribute(
                     pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace),
                 "cublasLtMatmulPreferenceSetAttribute", key);
    if (rc == 0)
        rc = pref_set(st, key, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                      (uint32_t)key->align_b);
    if (rc == 0)
        rc = pref_set(st, key, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      (uint32_t)key->align_a);
    if (rc == 0)
        rc = pref_set(st, key, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                      (uint32_t)key->align_c);
    if (rc == 0)
        rc = pref_set(st, key, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                      (uint32_t)key->align_c);
    cublasLtMatmulHeuristicResult_t result;
    memset(&result, 0, sizeof result);
    int found = 0;
    if (rc == 0)
        rc = lt_check(st,
                      cublasLtMatmulAlgoGetHeuristic(st->lt, plan->op, plan->lt_a, plan->lt_b,
                                                     plan->lt_c, plan->lt_c, pref, 1, &result,
                                                     &found),
                      "cublasLtMatmulAlgoGetHeuristic", key);
    (void)cublasLtMatmulPreferenceDestroy(pref);
    if (rc < 0) return -1;
    if (found < 1 || result.state != CUBLAS_STATUS_SUCCESS) {
        lt_check(st, found < 1 ? CUBLAS_STATUS_NOT_SUPPORTED : result.state,
                 "no cublasLt algorithm for this shape", key);
        return -1;
    }
    if (result.workspaceSize > st->lt_workspace_bytes) {
        char shape[256];
        key_describe(key, shape, sizeof shape);
        vl_cuda_nn_fail(st, 0, "%s: the algorithm wants %zu bytes of workspace, over the %zu set",
                        shape, result.workspaceSize, st->lt_workspace_bytes);
        return -1;
    }
    plan->algo = result.algo;
    return 0;
}

/* A new plan for the struct gemm_key at key_bytes on the state context, or
 * NULL (recorded); void * for the cache. */
static void *plan_make(void *context, const void *key_bytes)
{
    struct vl_cuda_nn_state *st = (struct vl_cuda_nn_state *)context;
    const struct gemm_key *key = (const struct gemm_key *)key_bytes;
    struct gemm_plan *plan = (struct gemm_plan *)calloc(1, sizeof *plan);
    if (!plan) {
        vl_cuda_nn_fail(st, 0, "gemm: out of host memory");
        return NULL;
    }
    cublasOperation_t op_a = key->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t op_b = key->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    /* a row-major operand's layout is its transpose, column-major (the top) */
    struct operand a, b;
    operands_of(key, &a, &b);
    cudaDataType_t operand_type = key->precision == VL_CUDA_NN_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    int ok = lt_check(st, cublasLtMatmulDescCreate(&plan->op, CUBLAS_COMPUTE_32F, CUDA_R_32F),
                      "cublasLtMatmulDescCreate", key) == 0 &&
             lt_check(st,
                      cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a,
                                                     sizeof op_a),
                      "cublasLtMatmulDescSetAttribute(transa)", key) == 0 &&
             lt_check(st,
                      cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b,
                                                     sizeof op_b),
                      "cublasLtMatmulDescSetAttribute(transb)", key) == 0 &&
             layout_make(st, key, &plan->lt_a, operand_type, b.cols, b.rows, b.ld, b.stride,
                         "cublasLtMatrixLayoutCreate(b)") == 0 &&
             layout_make(st, key, &plan->lt_b, operand_type, a.cols, a.rows, a.ld, a.stride,
                         "cublasLtMatrixLayoutCreate(a)") == 0 &&
             layout_make(st, key, &plan->lt_c, CUDA_R_32F, key->n, key->m, key->ldc, key->stride_c,
                         "cublasLtMatrixLayoutCreate(c)") == 0 &&
             plan_choose_algo(st, key, plan) == 0;
    if (!ok) {
        plan_free(plan);
        return NULL;
    }
    return plan;
}

/* The cached plan for key, made on a miss (the least recently used one
 * freed when the cache is full), or NULL (recorded). */
static struct gemm_plan *plan_for(struct vl_cuda_nn_state *st, const struct gemm_key *key)
{
    if (!st->gemms) {
        vl_cuda_nn_fail(st, 0, "gemm: the backend was not initialised");
        return NULL;
    }
    /* cuBLASLt reads descriptors when a call is enqueued, so an evicted plan
     * can go while work that used it is still in flight */
    return (struct gemm_plan *)vl_cuda_nn_cache_get(&st->gemms->plans, key, plan_make, plan_free,
                                                    st);
}

/* c_i = beta c_i over rows x cols (row stride ld) of batch matrices stride
 * apart; beta == 0 stores zeros, as BLAS does, whatever c held. */
__global__ static void scale_matrices(float *c, int64_t rows, int64_t cols, int64_t ld,
                                      int64_t stride, int64_t total, float beta)
{
    int64_t per = rows * cols;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t b = i / per, r = (i % per) / cols, j = i % cols;
        float *p = c + b * stride + r * ld + j;
        *p = beta == 0.0f ? 0.0f : beta * *p;
    }
}

/* Casts key's a and b into bf16 copies in the cache's scratch, laid out as
 * operands_of says, and points *a16 and *b16 at them; 0 or -1 (recorded). */
static int operands_cast(struct vl_cuda_nn_state *st, const struct gemm_key *key, const float *a,
                         const float *b, const __nv_bfloat16 **a16, const __nv_bfloat16 **b16)
{
    if (!st->gemms) {
        vl_cuda_nn_fail(st, 0, "gemm: the backend was not initialised");
        return -1;
    }
    struct operand oa, ob;
    operands_of(key, &oa, &ob);
    size_t bytes_a = vl_cuda_nn_bf16_bytes((size_t)(key->batch * oa.rows * oa.ld));
    size_t bytes_b = vl_cuda_nn_bf16_bytes((size_t)(key->batch * ob.rows * ob.ld));
    unsigned char *base = (unsigned char *)vl_cuda_nn_bf16_reserve(
        st, &st->gemms->operands, bytes_a + bytes_b, "gemm bf16 operands");
    if (!base) return -1;
    __nv_bfloat16 *copy_a = (__nv_bfloat16 *)base, *copy_b = (__nv_bfloat16 *)(base + bytes_a);
    if (vl_cuda_nn_bf16_cast(st, a, key->lda, key->stride_a, copy_a, oa.ld, oa.stride, oa.rows,
                             oa.cols, key->batch, "gemm: cast a to bf16") < 0 ||
        vl_cuda_nn_bf16_cast(st, b, key->ldb, key->stride_b, copy_b, ob.ld, ob.stride, ob.rows,
                             ob.cols, key->batch, "gemm: cast b to bf16") < 0)
        return -1;
    *a16 = copy_a;
    *b16 = copy_b;
    return 0;
}

/* The product of key (the CPU's gemm, batched), on st->stream. */
static void gemm_run(struct vl_cuda_nn_state *st, struct gemm_key *key, float alpha, const float *a,
                     const float *b, float beta, float *c)
{
    if (key->m < 0 || key->n < 0 || key->k < 0 || key->batch < 0) {
        char shape[256];
        key_describe(key, shape, sizeof shape);
        vl_cuda_nn_fail(st, 0, "%s: a negative size", shape);
        return;
    }
    if (key->m == 0 || key->n == 0 || key->batch == 0) return;
    /* row strides at least the stored rows' lengths, as cblas requires */
    int64_t cols_a = key->trans_a ? key->m : key->k, cols_b = key->trans_b ? key->k : key->n;
    if (key->lda < (cols_a > 1 ? cols_a : 1) || key->ldb < (cols_b > 1 ? cols_b : 1) ||
        key->ldc < key->n) {
        char shape[256];
        key_describe(key, shape, sizeof shape);
        vl_cuda_nn_fail(st, 0, "%s: a row stride shorter than its row", shape);
        return;
    }
    if (key->k == 0 || alpha == 0.0f) {
        if (beta == 1.0f) return;
        int64_t total = key->m * key->n * key->batch;
        int64_t blocks = (total + GEMM_THREADS - 1) / GEMM_THREADS;
        if (blocks > GEMM_MAX_BLOCKS) blocks = GEMM_MAX_BLOCKS;
        scale_matrices<<<(unsigned)blocks, GEMM_THREADS, 0, st->stream>>>(
            c, key->m, key->n, key->ldc, key->stride_c, total, beta);
        vl_cuda_nn_check_rt(st, cudaPeekAtLastError(), "gemm: scale c by beta");
        return;
    }
    /* what cuBLASLt reads: a and b themselves, or their bf16 copies */
    const void *read_a = a, *read_b = b;
    size_t value_bytes = sizeof(float);
    struct operand oa = {0, 0, 0, key->stride_a}, ob = {0, 0, 0, key->stride_b};
    if (key->precision == VL_CUDA_NN_BF16) {
        const __nv_bfloat16 *a16 = NULL, *b16 = NULL;
        if (operands_cast(st, key, a, b, &a16, &b16) < 0) return;
        read_a = a16;
        read_b = b16;
        value_bytes = sizeof(__nv_bfloat16);
        operands_of(key, &oa, &ob);
    }
    key->align_a = alignment_of(read_a, (size_t)oa.stride, (int)key->batch, value_bytes);
    key->align_b = alignment_of(read_b, (size_t)ob.stride, (int)key->batch, value_bytes);
    key->align_c = alignment_of(c, (size_t)key->stride_c, (int)key->batch, sizeof(float));
    struct gemm_plan *plan = plan_for(st, key);
    if (!plan) return;
    /* our b is cuBLASLt's A and our a its B (the derivation at the top) */
    lt_check(st,
             cublasLtMatmul(st->lt, plan->op, &alpha, read_b, plan->lt_a, read_a, plan->lt_b, &beta,
                            c, plan->lt_c, c, plan->lt_c, &plan->algo, st->lt_workspace,
                            st->lt_workspace_bytes, st->stream),
             "cublasLtMatmul", key);
}

/* The backend's gemm_batched (nn/backend.h): batch products, each matrix
 * its element stride after the last, in one strided-batched call. */
static void be_gemm_batched(struct vl_nn_ctx *ctx, int trans_a, int trans_b, int m, int n, int k,
                            float alpha, const float *a, int lda, size_t stride_a, const float *b,
                            int ldb, size_t stride_b, float beta, float *c, int ldc,
                            size_t stride_c, int batch)
{
    struct gemm_key key;
    memset(&key, 0, sizeof key);
    key.trans_a = trans_a != 0;
    key.trans_b = trans_b != 0;
    key.m = m;
    key.n = n;
    key.k = k;
    key.lda = lda;
    key.ldb = ldb;
    key.ldc = ldc;
    key.batch = batch;
    key.precision = vl_cuda_nn_state_of(ctx)->precision;
    /* one matrix has no stride: keyed as 0, so it shares the plain call's plan */
    if (batch > 1) {
        key.stride_a = (int64_t)stride_a;
        key.stride_b = (int64_t)stride_b;
        key.stride_c = (int64_t)stride_c;
    }
    gemm_run(vl_cuda_nn_state_of(ctx), &key, alpha, a, b, beta, c);
}

/* The backend's gemm (nn/backend.h): one product, the batch of one. */
static void be_gemm(struct vl_nn_ctx *ctx, int trans_a, int trans_b, int m, int n, int k,
                    float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                    float *c, int ldc)
{
    be_gemm_batched(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0,
                    1);
}

/* Puts gemm and gemm_batched into b. */
void vl_cuda_nn_fill_gemm(struct vl_nn_backend *b)
{
    b->gemm = be_gemm;
    b->gemm_batched = be_gemm_batched;
}

/* Makes st's cuBLASLt handle, its fixed workspace and the plan cache; 0,
 * or -1 with the failure recorded (what was made is freed by gemm_free). */
int vl_cuda_nn_gemm_init(struct vl_cuda_nn_state *st)
{
    cublasStatus_t rc = cublasLtCreate(&st->lt);
    if (rc != CUBLAS_STATUS_SUCCESS) {
        st->lt = NULL;
        vl_cuda_nn_fail(st, rc == CUBLAS_STATUS_ALLOC_FAILED, "cublasLtCreate: %s (%s)",
                        cublasLtGetStatusName(rc), cublasLtGetStatusString(rc));
        return -1;
    }
    st->lt_workspace = vl_cuda_nn_alloc(st, GEMM_WORKSPACE_BYTES, "cublasLt workspace");
    if (!st->lt_workspace) return -1;
    st->lt_workspace_bytes = GEMM_WORKSPACE_BYTES;
    st->gemms = (struct vl_cuda_nn_gemm_cache *)calloc(1, sizeof *st->gemms);
    if (!st->gemms) {
        vl_cuda_nn_fail(st, 0, "gemm: out of host memory");
        return -1;
    }
    vl_cuda_nn_cache_init(&st->gemms->plans, sizeof(struct gemm_key), GEMM_CACHE_CAPACITY);
    return 0;
}

/* Frees what gemm_init made of st, any part of it (the stream is idle). */
void vl_cuda_nn_gemm_free(struct vl_cuda_nn_state *st)
{
    if (st->gemms) {
        void *plan;
        while ((plan = vl_cuda_nn_cache_pop(&st->gemms->plans)) != NULL)
            plan_free(plan);
        vl_cuda_nn_bf16_scratch_free(st, &st->gemms->operands);
        free(st->gemms);
        st->gemms = NULL;
    }
    if (st->lt_workspace) (void)cudaFreeAsync(st->lt_workspace, st->stream);
    st->lt_workspace = NULL;
    st->lt_workspace_bytes = 0;
    if (st->lt) (void)cublasLtDestroy(st->lt);
    st->lt = NULL;
}
