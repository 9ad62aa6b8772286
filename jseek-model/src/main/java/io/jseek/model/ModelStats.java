package io.jseek.model;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import java.util.EnumMap;
import java.util.Map;

/**
 * Size facts of a model file: parameters (total and, for MoE, touched per token), tensor types, and the
 * KV cache a token costs.
 *
 * @param activeParameters parameters one token touches: everything except the routed experts it does not
 *                         choose (expert_used_count of expert_count routed experts per MoE layer)
 */
public record ModelStats(long totalParameters, long activeParameters, Map<GgmlType, Integer> tensorTypes,
                         Map<GgmlType, Long> parametersByType, int tensorCount, long fileBytes) {

    public static ModelStats of(GgufFile file, ModelConfig config) {
        Counter c = new Counter(config);
        for (Tensor t : file.tensors()) {
            c.add(t.name(), t.type(), t.elementCount());
        }
        return c.stats(file.tensors().size(), file.fileSize());
    }

    /** Tallies tensors by type; those of routed experts (names with {@code routed}) separately. */
    static final class Counter {
        private final ModelConfig config;
        private long total;
        private long routed;
        private final Map<GgmlType, Integer> types = new EnumMap<>(GgmlType.class);
        private final Map<GgmlType, Long> byType = new EnumMap<>(GgmlType.class);

        Counter(ModelConfig config) {
            this.config = config;
        }

        /** One tensor; a routed expert's when its name says so (GGUF's {@code _exps.}, Hugging Face's {@code .experts.}). */
        void add(String name, GgmlType type, long n) {
            total += n;
            types.merge(type, 1, Integer::sum);
            byType.merge(type, n, Long::sum);
            if (name.contains("_exps.") || name.contains(".mlp.experts.")) {
                routed += n;
            }
        }

        ModelStats stats(int tensors, long bytes) {
            long active = total;
            if (config.isMoe() && routed > 0) {
                active = total - routed + routed / config.moe().expertCount() * config.moe().expertUsedCount();
            }
            return new ModelStats(total, active, types, byType, tensors, bytes);
        }
    }

    /**
     * Bytes of KV cache each token adds, stored as {@code type}: the layers that keep every position (a sparse one's
     * row per stride shared out over its positions); the layers that keep only recent positions (V4's window and compressor
     * state) add none — they are {@link #kvBytesPerSequence}.
     */
    public static long kvBytesPerToken(ModelConfig config, CacheType type) {
        // Summed over the longest stride's positions, then divided: exact for the strides of V4's pooled rows.
        int[] widths = config.cacheWidths();
        CacheType[] types = config.cacheTypes(type);
        int[] strides = config.cacheStrides();
        int[] horizons = config.cacheHorizons();
        long span = java.util.Arrays.stream(strides).max().orElse(1);
        long bytes = 0;
        for (int l = 0; l < widths.length; l++) {
            if (horizons[l] == Integer.MAX_VALUE) {
                bytes += types[l].bytes(widths[l]) * (span / strides[l]);
            }
        }
        return bytes / span;
    }

    /**
     * Bytes of KV cache a sequence holds at most, whatever its length, in the layers that keep only recent positions
     * (0 for models without): per layer, the blocks spanning its horizon and {@link Session#REWIND_MARGIN}, plus the
     * block being written and one partly past.
     */
    public static long kvBytesPerSequence(ModelConfig config, CacheType type) {
        long bytes = 0;
        int[] widths = config.cacheWidths();
        CacheType[] types = config.cacheTypes(type);
        int[] horizons = config.cacheHorizons();
        for (int l = 0; l < widths.length; l++) {
            if (horizons[l] != Integer.MAX_VALUE) {
                int blocks = (horizons[l] + Session.REWIND_MARGIN) / KvPool.BLOCK_TOKENS + 2;
                bytes += (long) blocks * KvPool.BLOCK_TOKENS * types[l].bytes(widths[l]);
            }
        }
        return bytes;
    }
}
