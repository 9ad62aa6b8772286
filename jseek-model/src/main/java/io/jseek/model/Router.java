package io.jseek.model;

import io.jseek.core.kernel.VectorMath;
import java.util.Arrays;

/**
 * DeepSeekMoE's router for one layer: from a token's router logits, the experts it goes to and their gate
 * weights (docs/gguf.md §2.1, docs/deepseek.md §3.2) — gate probabilities by softmax (V2) or sigmoid (V3),
 * selection scores = probabilities + the layer's selection bias (V3), groups of experts scored and the best
 * kept when the model routes by groups, the top-k experts by selection score (ties to the lower id), gate
 * weights = their probabilities, normalized and scaled as the model says (V4: sqrt-softplus probabilities). Holds the layer's bias and the
 * model's constants; the per-call buffers are the caller's ({@link Scratch}), so one router serves
 * forward passes on several threads. The trainer chooses experts with this class too, so that its routing is
 * the engine's.
 */
public final class Router {
    /** How an expert group is scored when routing with groups (docs/deepseek.md §3.2). */
    enum GroupScore { MAX, TOP2_SUM }

    /**
     * The least denominator when gate weights are normalized (llama.cpp b10573 clamps the sum of the chosen
     * probabilities to this, F16's smallest normal value).
     */
    public static final float WEIGHT_SUM_MIN = 6.103515625e-5f;

    private final ModelConfig.Moe m;
    private final float[] bias;

    /** {@code bias}: the layer's selection bias (V3's {@code exp_probs_b}), or null. */
    public Router(ModelConfig.Moe m, float[] bias) {
        this.m = m;
        this.bias = bias;
    }

    /** The factor gate weights are multiplied by after any normalization: the model's scale, 0 meaning 1. */
    public static float weightScale(ModelConfig.Moe m) {
        return m.weightsScale() != 0 ? m.weightsScale() : 1;
    }

    /** One caller's buffers for {@link #route}. */
    public static final class Scratch {
        final float[] probs;
        final float[] selection;
        final float[] groupScores;
        final int[] top;
        final boolean[] taken;

        /** For the model's MoE constants ({@code m} null: a dense model, nothing to route). */
        public Scratch(ModelConfig.Moe m) {
            int x = m == null ? 1 : m.expertCount();
            int k = m == null ? 1 : m.expertUsedCount();
            int groups = m == null ? 1 : Math.max(1, m.groupCount());
            probs = new float[x];
            selection = new float[x];
            groupScores = new float[groups];
            top = new int[Math.max(k, groups)];
            taken = new boolean[Math.max(x, groups)];
        }
    }

    /**
     * Chooses experts for one token (docs/gguf.md §2.1, docs/deepseek.md §3.2): their ids into
     * {@code chosen} in selection order (best first; ties to the lower id) — or {@code forced}'s, when not
     * null — their gate weights into {@code weights}, every expert's selection score into {@code scores}.
     */
    public void route(float[] logits, int[] forced, Scratch scratch, int[] chosen, float[] weights, float[] scores) {
        int n = logits.length;
        float[] probs = scratch.probs;
        if (m.gating() == ModelConfig.Moe.Gating.SOFTMAX) {
            System.arraycopy(logits, 0, probs, 0, n);
            VectorMath.softmax(probs, 0, n);
        } else if (m.gating() == ModelConfig.Moe.Gating.SQRT_SOFTPLUS) {
            // V4: sqrt(softplus(z)), softplus(z) = z where exp(z) would swamp the 1.
            for (int i = 0; i < n; i++) {
                float z = logits[i];
                probs[i] = (float) Math.sqrt(z > 20 ? z : Math.log1p(Math.exp(z)));
            }
        } else {
            for (int i = 0; i < n; i++) {
                probs[i] = VectorMath.sigmoid(logits[i]);
            }
        }
        float[] sel = scratch.selection;
        for (int i = 0; i < n; i++) {
            sel[i] = bias != null ? probs[i] + bias[i] : probs[i];
        }
        System.arraycopy(sel, 0, scores, 0, n);
        if (m.groupCount() > 1) {
            GroupScore rule = bias != null ? GroupScore.TOP2_SUM : GroupScore.MAX;
            int groups = m.groupCount();
            int size = n / groups;
            for (int g = 0; g < groups; g++) {
                int picks = rule == GroupScore.MAX ? 1 : 2;
                topK(sel, g * size, size, picks, scratch.top, scratch.taken);
                scratch.groupScores[g] = 0;
                for (int k = 0; k < picks; k++) {
                    scratch.groupScores[g] += sel[g * size + scratch.top[k]];
                }
            }
            topK(scratch.groupScores, 0, groups, m.groupUsedCount(), scratch.top, scratch.taken);
            for (int g = 0; g < groups; g++) {
                boolean keep = false;
                for (int k = 0; k < m.groupUsedCount(); k++) {
                    keep |= scratch.top[k] == g;
                }
                if (!keep) {
                    Arrays.fill(sel, g * size, (g + 1) * size, Float.NEGATIVE_INFINITY);
                }
            }
        }
        topK(sel, 0, n, chosen.length, chosen, scratch.taken);
        if (forced != null) {
            System.arraycopy(forced, 0, chosen, 0, chosen.length);
        }
        float sum = 0;
        for (int k = 0; k < chosen.length; k++) {
            weights[k] = probs[chosen[k]];
            sum += weights[k];
        }
        if (m.weightsNorm()) {
            float denom = Math.max(sum, WEIGHT_SUM_MIN);
            for (int k = 0; k < weights.length; k++) {
                weights[k] /= denom;
            }
        }
        float scale = weightScale(m);
        if (scale != 1) {
            for (int k = 0; k < weights.length; k++) {
                weights[k] *= scale;
            }
        }
    }

    /**
     * Positions (relative to {@code from}) of the k largest of v[from, from + n), largest first, equal values
     * by lower position, into {@code out}; {@code taken} is scratch of at least n.
     */
    static void topK(float[] v, int from, int n, int k, int[] out, boolean[] taken) {
        Arrays.fill(taken, 0, n, false);
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                if (!taken[i] && (best < 0 || v[from + i] > v[from + best])) {
                    best = i;
                }
            }
            out[j] = best;
            taken[best] = true;
        }
    }
}
