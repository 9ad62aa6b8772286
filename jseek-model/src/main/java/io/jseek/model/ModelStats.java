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
        long total = 0;
        long routed = 0;
        Map<GgmlType, Integer> types = new EnumMap<>(GgmlType.class);
        Map<GgmlType, Long> byType = new EnumMap<>(GgmlType.class);
        for (Tensor t : file.tensors()) {
            long n = t.elementCount();
            total += n;
            types.merge(t.type(), 1, Integer::sum);
            byType.merge(t.type(), n, Long::sum);
            if (t.name().contains("_exps.")) {
                routed += n;
            }
        }
        long active = total;
        if (config.isMoe() && routed > 0) {
            active = total - routed + routed / config.moe().expertCount() * config.moe().expertUsedCount();
        }
        return new ModelStats(total, active, types, byType, file.tensors().size(), file.fileSize());
    }

    /** Bytes of KV cache per token for all layers, stored as {@code type}. */
    public static long kvBytesPerToken(ModelConfig config, CacheType type) {
        long bytes = 0;
        for (int w : config.cacheWidths()) {
            bytes += type.bytes(w);
        }
        return bytes;
    }
}
