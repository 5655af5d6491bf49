/* optim.h - the per-element updates of SGD and AdamW (the rules are written
 * out in nn/optim.h).  The CPU backend's optimiser entries run these bodies
 * over each parameter; a CUDA kernel would run them over all parameters at
 * once.  The scalars that depend on the step alone (AdamW's step size and
 * bias correction) are worked out once on the host and passed in. */
#ifndef VL_NN_KERN_OPTIM_H
#define VL_NN_KERN_OPTIM_H

#include <math.h>

#include "ops/kern/hd.h"

/* One SGD element: the decayed gradient, the momentum buffer *b (set to it
 * on the first step), Nesterov's look-ahead; returns the new weight. */
VL_HD static inline float vl_nn_kern_sgd(float w, float g, float *b, float lr, float wd, float mu,
                                         int nesterov, int first)
{
    float d = g + wd * w;
    if (mu > 0.0f) {
        *b = first ? d : mu * *b + d;
        d = nesterov ? d + mu * *b : *b;
    }
    return w - lr * d;
}

/* One AdamW element: decoupled decay, the moments *m and *v, then the step
 * step_size = lr / (1 - b1^t) over sqrt(v) / sqrt(1 - b2^t) + eps; returns
 * the new weight. */
VL_HD static inline float vl_nn_kern_adamw(float w, float g, float *m, float *v, float lr, float wd,
                                           float b1, float b2, float eps, float step_size,
                                           float bc2_sqrt)
{
    w -= lr * wd * w;
    *m = b1 * *m + (1.0f - b1) * g;
    *v = b2 * *v + (1.0f - b2) * g * g;
    w -= step_size * *m / (sqrtf(*v) / bc2_sqrt + eps);
    return w;
}

#endif
