package io.jseek.bench;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufMetadata;
import io.jseek.core.gguf.GgufValue;
import io.jseek.core.gguf.GgufValueType;
import io.jseek.model.CacheType;
import io.jseek.model.ModelConfig;
import io.jseek.model.ModelStats;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The KV cache a sequence takes at 4k, 64k and 1M tokens (docs/benchmarks.md), as jseek holds it
 * ({@link ModelStats#kvBytesPerToken} × tokens + {@link ModelStats#kvBytesPerSequence}), for a V4 file's shape
 * made V4-Flash's depth (43 layers: two window-only, then CSA and HCA alternating) and a V3.2 file's made V3.2's
 * (61 layers): {@code java -cp ... io.jseek.bench.KvBytes V4.gguf V32.gguf}. Only metadata is read.
 */
public final class KvBytes {
    private KvBytes() {
    }

    public static void main(String[] args) throws Exception {
        int[] ratios = new int[43];
        for (int l = 2; l < ratios.length; l++) {
            ratios[l] = l % 2 == 0 ? 4 : 128;
        }
        ModelConfig v4 = config(Path.of(args[0]), Map.of("deepseek4.block_count", GgufValue.u32(43),
                "deepseek4.attention.compress_ratios", GgufValue.array(GgufValueType.INT32, ratios)));
        ModelConfig v32 = config(Path.of(args[1]), Map.of("deepseek32.block_count", GgufValue.u32(61)));
        System.out.println("| cache | model | bytes/token | per sequence | 4k tokens | 64k tokens | 1M tokens |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|");
        for (CacheType type : new CacheType[] {CacheType.F16, CacheType.Q8_0}) {
            row("V4-Flash shape (43 layers, 21 CSA / 20 HCA, window " + v4.v4().window() + ")", v4, type);
            row("V3.2 shape (61 layers, MLA 512+64, indexer " + v32.indexer().keyLength() + ")", v32, type);
        }
    }

    private static ModelConfig config(Path file, Map<String, GgufValue> overrides) throws Exception {
        try (GgufFile f = GgufFile.open(file)) {
            Map<String, GgufValue> m = new HashMap<>(f.metadata().asMap());
            m.putAll(overrides);
            return ModelConfig.fromGguf(new GgufMetadata(file.toString(), m));
        }
    }

    private static void row(String name, ModelConfig c, CacheType type) {
        long perToken = ModelStats.kvBytesPerToken(c, type);
        long perSequence = ModelStats.kvBytesPerSequence(c, type);
        StringBuilder b = new StringBuilder("| " + type + " | " + name + " | " + perToken + " | " + mib(perSequence));
        for (long tokens : new long[] {4096, 65536, 1 << 20}) {
            b.append(" | ").append(mib(perToken * tokens + perSequence));
        }
        System.out.println(b.append(" |"));
    }

    private static String mib(long bytes) {
        return bytes >= 1L << 30 ? String.format("%.2f GiB", bytes / (double) (1L << 30))
                : String.format("%.1f MiB", bytes / (double) (1 << 20));
    }
}
