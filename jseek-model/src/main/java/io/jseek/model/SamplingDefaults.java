package io.jseek.model;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufMetadata;
import io.jseek.core.gguf.GgufValue;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The sampling a model's makers recommend, where the model files say: a Hugging Face directory's
 * {@code generation_config.json} ({@code temperature}, {@code top_k}, {@code top_p}, {@code min_p},
 * {@code repetition_penalty}; {@code do_sample: false} meaning greedy), or the {@code general.sampling.*} keys
 * llama.cpp's converter writes from it into a GGUF. Each value is null when the files do not say.
 */
public record SamplingDefaults(Float temperature, Integer topK, Float topP, Float minP, Float repeatPenalty) {
    public static final SamplingDefaults NONE = new SamplingDefaults(null, null, null, null, null);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    public static SamplingDefaults fromGguf(GgufMetadata md) {
        return new SamplingDefaults(f32(md, "general.sampling.temp"), md.has("general.sampling.top_k") ? (Integer) ((Number) md.get("general.sampling.top_k").value()).intValue() : null,
                f32(md, "general.sampling.top_p"), f32(md, "general.sampling.min_p"), f32(md, "general.sampling.penalty_repeat"));
    }

    /** A directory's generation_config.json, or {@link #NONE} when it has none. */
    public static SamplingDefaults fromDirectory(Path dir) {
        Path file = dir.resolve("generation_config.json");
        if (!Files.isRegularFile(file)) {
            return NONE;
        }
        try {
            JsonNode g = JSON.readTree(Files.readString(file));
            Float temperature = number(g, "temperature");
            if (g.path("do_sample").isBoolean() && !g.path("do_sample").asBoolean()) {
                temperature = 0f;
            }
            Float topK = number(g, "top_k");
            return new SamplingDefaults(temperature, topK == null ? null : Math.round(topK), number(g, "top_p"),
                    number(g, "min_p"), number(g, "repetition_penalty"));
        } catch (IOException | JacksonException e) {
            throw new JseekException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** As the GGUF keys llama.cpp's converter writes (only those with a value). */
    public Map<String, GgufValue> toGguf() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        if (temperature != null) {
            m.put("general.sampling.temp", GgufValue.f32(temperature));
        }
        if (topK != null) {
            m.put("general.sampling.top_k", GgufValue.i32(topK));
        }
        if (topP != null) {
            m.put("general.sampling.top_p", GgufValue.f32(topP));
        }
        if (minP != null) {
            m.put("general.sampling.min_p", GgufValue.f32(minP));
        }
        if (repeatPenalty != null) {
            m.put("general.sampling.penalty_repeat", GgufValue.f32(repeatPenalty));
        }
        return m;
    }

    private static Float f32(GgufMetadata md, String key) {
        return md.has(key) ? md.f32(key) : null;
    }

    private static Float number(JsonNode g, String key) {
        JsonNode v = g.get(key);
        return v != null && v.isNumber() ? (float) v.asDouble() : null;
    }
}
