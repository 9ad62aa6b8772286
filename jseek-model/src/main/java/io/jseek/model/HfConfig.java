package io.jseek.model;

import io.jseek.core.JseekException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A Hugging Face model's {@code config.json} read into the {@link ModelConfig} that its GGUF conversion
 * carries (docs/deepseek.md §1.2 and §9.2: the keys and values llama.cpp's converter writes), so a
 * safetensors directory runs through the same forward passes as a GGUF file. MLA models are described in
 * the split W_UK/W_UV layout (the loader splits {@code kv_b_proj}); a {@code deepseek_v3} config with the
 * indexer keys is V3.2. A missing or mistyped key is an error naming the file and the key.
 */
public final class HfConfig {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private HfConfig() {
    }

    /** Reads {@code config.json}; the model's name is its directory's. */
    public static ModelConfig read(Path configJson) {
        JsonNode c;
        try {
            c = JSON.readTree(Files.readString(configJson));
        } catch (IOException e) {
            throw new JseekException(configJson + ": cannot read: " + e.getMessage(), e);
        } catch (JacksonException e) {
            throw new JseekException(configJson + ": not JSON: " + e.getOriginalMessage());
        }
        Path dir = configJson.toAbsolutePath().getParent();
        return fromJson(c, configJson.toString(), dir == null ? "" : dir.getFileName().toString());
    }

    static ModelConfig fromJson(JsonNode c, String source, String name) {
        if (c == null || !c.isObject()) {
            throw new JseekException(source + ": not a JSON object");
        }
        Keys k = new Keys(c, source);
        String type = k.string("model_type");
        Architecture a = switch (type) {
            case "deepseek_v2" -> Architecture.DEEPSEEK2;
            case "deepseek_v3", "deepseek_v32" -> c.has("index_topk") ? Architecture.DEEPSEEK32 : Architecture.DEEPSEEK2;
            case "qwen2" -> Architecture.QWEN2;
            case "llama" -> Architecture.LLAMA;
            case "deepseek_v4" -> throw new JseekException(source + ": DeepSeek-V4 checkpoint directories are not read yet "
                    + "(their FP8 weights' E8M0 scales and MXFP4 experts); convert it with llama.cpp's convert_hf_to_gguf.py "
                    + "and run the GGUF, which jseek runs");
            default -> throw new JseekException(source + ": model_type \"" + type
                    + "\" is not supported (deepseek_v2, deepseek_v3, deepseek_v32, qwen2, llama)");
        };
        int layers = k.positive("num_hidden_layers");
        int embd = k.positive("hidden_size");
        int heads = k.positive("num_attention_heads");
        int ctx = k.positive("max_position_embeddings");
        int ff = k.integer("intermediate_size", 0);
        float eps = (float) k.number("rms_norm_eps");
        float base = (float) k.number("rope_theta", 10000);
        int vocab = k.positive("vocab_size");
        ModelConfig.RopeScaling scaling = ropeScaling(c.get("rope_scaling"), source, ctx);
        if (!a.latentAttention) {
            int headsKv = k.integer("num_key_value_heads", heads);
            int headDim = k.integer("head_dim", embd / heads);
            return new ModelConfig(a, name, layers, ctx, embd, ff, heads, headsKv, headDim, headDim, eps, base, headDim,
                    scaling, vocab, null, null, null);
        }
        int rope = k.positive("qk_rope_head_dim");
        int nope = k.positive("qk_nope_head_dim");
        ModelConfig.Mla mla = new ModelConfig.Mla(k.integer("q_lora_rank", 0), k.positive("kv_lora_rank"), nope, rope,
                k.positive("v_head_dim"), true);
        ModelConfig.Moe moe = null;
        int experts = k.integer("n_routed_experts", 0);
        if (experts > 0) {
            String scoring = k.string("scoring_func", "softmax");
            if (!scoring.equals("softmax") && !scoring.equals("sigmoid")) {
                throw new JseekException(source + ": scoring_func \"" + scoring + "\" is not supported (softmax, sigmoid)");
            }
            moe = new ModelConfig.Moe(k.integer("first_k_dense_replace", 0), experts, k.positive("num_experts_per_tok"),
                    k.integer("n_shared_experts", 0), k.positive("moe_intermediate_size"), k.integer("n_group", 1),
                    k.integer("topk_group", 1), (float) k.number("routed_scaling_factor", 1), k.bool("norm_topk_prob", false),
                    scoring.equals("sigmoid") ? ModelConfig.Moe.Gating.SIGMOID : ModelConfig.Moe.Gating.SOFTMAX);
        }
        ModelConfig.Indexer indexer = a == Architecture.DEEPSEEK32 ? new ModelConfig.Indexer(k.positive("index_n_heads"),
                k.positive("index_head_dim"), k.positive("index_topk")) : null;
        // V3's MTP module (layer num_hidden_layers), run when its tensors are there (DeepSeek2Model checks).
        int nextn = moe != null ? Math.clamp(k.integer("num_nextn_predict_layers", 0), 0, 1) : 0;
        return new ModelConfig(a, name, layers, ctx, embd, ff, heads, 1, nope + rope, mla.vHeadDim(), eps, base, rope,
                scaling, vocab, mla, moe, indexer, nextn);
    }

    /**
     * {@code rope_scaling}: YaRN with GGUF's {@code yarn_log_multiplier} = 0.1 × {@code mscale_all_dim}, linear,
     * or none. llama3's scaling is no scaling type in GGUF but a tensor of per-pair frequency divisors
     * ({@link #llama3RopeFactors}).
     */
    private static ModelConfig.RopeScaling ropeScaling(JsonNode r, String source, int ctx) {
        if (r == null || r.isNull()) {
            return ModelConfig.RopeScaling.NONE;
        }
        Keys k = new Keys(r, source + " rope_scaling");
        String type = r.has("rope_type") ? k.string("rope_type") : k.string("type");
        return switch (type) {
            case "yarn" -> new ModelConfig.RopeScaling(ModelConfig.RopeScaling.Type.YARN, (float) k.number("factor"),
                    k.integer("original_max_position_embeddings", ctx), (float) (0.1 * k.number("mscale_all_dim", 0)));
            case "linear" -> new ModelConfig.RopeScaling(ModelConfig.RopeScaling.Type.LINEAR, (float) k.number("factor"), ctx, 0);
            case "default", "llama3" -> ModelConfig.RopeScaling.NONE;
            default -> throw new JseekException(source + ": rope_scaling type \"" + type + "\" is not supported");
        };
    }

    /**
     * llama3 rope scaling's per-pair frequency divisors (GGUF's {@code rope_freqs.weight}), computed from
     * {@code rope_scaling} as llama.cpp's converter computes them: pairs whose wavelength is below
     * {@code original_max_position_embeddings / high_freq_factor} keep their frequency (1), those above
     * {@code … / low_freq_factor} are divided by {@code factor}, and those between blend smoothly. Null unless
     * the config's rope scaling is llama3.
     */
    static float[] llama3RopeFactors(Path configJson, ModelConfig c) {
        JsonNode r;
        try {
            r = JSON.readTree(Files.readString(configJson)).get("rope_scaling");
        } catch (IOException | JacksonException e) {
            throw new JseekException(configJson + ": cannot read: " + e.getMessage(), e);
        }
        if (r == null || !r.isObject() || !"llama3".equals(r.path("rope_type").asString(r.path("type").asString("")))) {
            return null;
        }
        Keys k = new Keys(r, configJson + " rope_scaling");
        double factor = k.number("factor", 8.0);
        double low = k.number("low_freq_factor", 1.0);
        double high = k.number("high_freq_factor", 4.0);
        double oldCtx = k.number("original_max_position_embeddings", 8192);
        int dim = c.ropeDimensionCount();
        float[] out = new float[dim / 2];
        for (int i = 0; i < out.length; i++) {
            double freq = 1.0 / Math.pow(c.ropeFreqBase(), 2.0 * i / dim);
            double wavelength = 2 * Math.PI / freq;
            if (wavelength < oldCtx / high) {
                out[i] = 1;
            } else if (wavelength > oldCtx / low) {
                out[i] = (float) factor;
            } else {
                double smooth = (oldCtx / wavelength - low) / (high - low);
                out[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return out;
    }

    /** Typed reads of one JSON object's keys, errors naming the source and key. */
    private record Keys(JsonNode o, String source) {
        private JseekException bad(String key, String what) {
            return new JseekException(source + ": " + key + " " + what);
        }

        String string(String key) {
            JsonNode v = o.get(key);
            if (v == null || !v.isString()) {
                throw bad(key, v == null ? "is missing" : "must be a string");
            }
            return v.asString();
        }

        String string(String key, String dflt) {
            return o.has(key) && !o.get(key).isNull() ? string(key) : dflt;
        }

        int integer(String key, int dflt) {
            JsonNode v = o.get(key);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw bad(key, "must be an integer, is " + v);
            }
            return v.asInt();
        }

        int positive(String key) {
            if (!o.has(key) || o.get(key).isNull()) {
                throw bad(key, "is missing");
            }
            int v = integer(key, 0);
            if (v <= 0) {
                throw bad(key, "must be positive, is " + v);
            }
            return v;
        }

        double number(String key) {
            JsonNode v = o.get(key);
            if (v == null || !v.isNumber()) {
                throw bad(key, v == null ? "is missing" : "must be a number, is " + v);
            }
            return v.asDouble();
        }

        double number(String key, double dflt) {
            return o.has(key) && !o.get(key).isNull() ? number(key) : dflt;
        }

        boolean bool(String key, boolean dflt) {
            JsonNode v = o.get(key);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isBoolean()) {
                throw bad(key, "must be true or false, is " + v);
            }
            return v.asBoolean();
        }
    }
}
