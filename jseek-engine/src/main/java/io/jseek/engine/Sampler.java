package io.jseek.engine;

import io.jseek.core.kernel.TopK;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Picks tokens from logits by a {@link SamplerConfig}. One per generation stream (it holds the random state). */
public final class Sampler {
    private final SamplerConfig config;
    private final SplittableRandom random;

    public Sampler(SamplerConfig config) {
        this.config = config;
        this.random = new SplittableRandom(config.seed());
    }

    /**
     * The next token. {@code logits} is not modified; {@code recent} holds the tokens seen so far (the
     * penalties look at the last {@code penaltyLastN} of them).
     */
    public int sample(float[] logits, int[] recent, int recentCount) {
        float[] l = logits.clone();
        config.logitBias().forEach((id, bias) -> {
            if (id >= 0 && id < l.length) {
                l[id] += bias;
            }
        });
        applyPenalties(l, recent, recentCount);
        if (config.isGreedy()) {
            return argmax(l);
        }
        int n = l.length;
        int[] order;
        int keep;
        // Share of the probability mass (over the candidates top-p sees) held by the tokens in order.
        double coverage = 1;
        if (config.topK() > 0) {
            keep = Math.min(n, config.topK());
            order = top(l, keep);
        } else {
            // No top-k: find just enough of the best tokens to cover top-p's mass (all when top-p is off).
            double max = l[argmax(l)];
            double total = 0;
            for (float v : l) {
                total += Math.exp(v - max);
            }
            keep = config.topP() < 1 ? Math.min(n, 64) : n;
            while (true) {
                order = top(l, keep);
                double cum = 0;
                for (int i = 0; i < keep; i++) {
                    cum += Math.exp(l[order[i]] - max) / total;
                }
                if (cum >= config.topP() || keep == n) {
                    coverage = keep == n ? 1 : cum;
                    break;
                }
                keep = Math.min(n, keep * 4);
            }
        }
        double[] p = softmax(l, order, keep, 1f);
        if (config.topP() < 1) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += p[i] * coverage;
                if (cum >= config.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        if (config.minP() > 0) {
            float threshold = (float) (l[order[0]] + Math.log(config.minP()));
            int k = 1;
            while (k < keep && l[order[k]] >= threshold) {
                k++;
            }
            keep = k;
        }
        p = softmax(l, order, keep, config.temperature());
        double r = random.nextDouble();
        double cum = 0;
        for (int i = 0; i < keep; i++) {
            cum += p[i];
            if (r < cum) {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    private void applyPenalties(float[] l, int[] recent, int count) {
        if (config.repeatPenalty() == 1 && config.presencePenalty() == 0 && config.frequencyPenalty() == 0) {
            return;
        }
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = Math.max(0, count - config.penaltyLastN()); i < count; i++) {
            counts.merge(recent[i], 1, Integer::sum);
        }
        counts.forEach((id, c) -> {
            if (id < 0 || id >= l.length) {
                return;
            }
            l[id] = l[id] > 0 ? l[id] / config.repeatPenalty() : l[id] * config.repeatPenalty();
            l[id] -= c * config.frequencyPenalty() + config.presencePenalty();
        });
    }

    static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Ids of the k largest logits, largest first, equal logits by lower id (a bounded heap, O(n log k)). */
    static int[] top(float[] l, int k) {
        int[] heap = new int[k];
        TopK.select(l, l.length, k, heap);
        TopK.bestFirst(l, heap, k);
        return heap;
    }

    /** Probabilities of the first {@code keep} tokens of {@code order} at this temperature. */
    private static double[] softmax(float[] l, int[] order, int keep, float temperature) {
        double[] p = new double[keep];
        double max = l[order[0]] / temperature;
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(l[order[i]] / temperature - max);
            sum += p[i];
        }
        for (int i = 0; i < keep; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
