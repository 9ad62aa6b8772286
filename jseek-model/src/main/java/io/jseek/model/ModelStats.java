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

    /** Bytes of KV cache per token for all layers, stored as {@code type}. */
    public static long kvBytesPerToken(ModelConfig config, CacheType type) {
        long bytes = 0;
        int[] widths = config.cacheWidths();
        CacheType[] types = config.cacheTypes(type);
        for (int l = 0; l < widths.length; l++) {
            bytes += types[l].bytes(widths[l]);
        }
        return bytes;
    }
}
