/* A measurement, not part of labkit: the plain LIF liquid of bench_liquid_state_machine.py (batch 1, delta
   synapses with one step of delay, no refractoriness) as one compiled loop over steps, to price what an
   ahead-of-time compiled kernel would give against Brian2 (issue 8). Driven by compiled_lif_step.py.

   v_t = decay * v_{t-1} + ext_t + rec_t; a neuron spikes when v_t >= th and is reset to 0;
   rec_{t+1}[j] = sum of the weights of the synapses (i -> j) of the neurons i that spiked at t.
   Synapses come as a padded table (ELL): row i lists its targets, padding points at a sink, index n.
   Returns the number of spikes. */
#include <stdint.h>
#include <string.h>
int64_t lif_run(int n, int steps, int width, float decay, float th,
                const float *ext,          /* steps x n */
                const int32_t *tgt,        /* n x width, padding -> sink index n */
                const float *w,            /* n x width */
                float *v, float *rec,      /* n, n + 1 (sink) */
                int32_t *spk_buf)          /* n */
{
    int64_t total = 0;
    memset(rec, 0, sizeof(float) * (n + 1));
    for (int t = 0; t < steps; t++) {
        const float *e = ext + (int64_t)t * n;
        int ns = 0;
        for (int i = 0; i < n; i++) {
            float x = decay * v[i] + e[i] + rec[i];
            int s = x >= th;
            v[i] = s ? 0.0f : x;
            spk_buf[ns] = i;
            ns += s;
        }
        memset(rec, 0, sizeof(float) * (n + 1));
        for (int k = 0; k < ns; k++) {
            const int32_t *tr = tgt + (int64_t)spk_buf[k] * width;
            const float *wr = w + (int64_t)spk_buf[k] * width;
            for (int j = 0; j < width; j++) rec[tr[j]] += wr[j];
        }
        total += ns;
    }
    return total;
}
