package io.jseek.model;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufMetadata;
import io.jseek.core.gguf.GgufValue;

/**
 * Every hyper-parameter a forward pass needs, read once from GGUF metadata (keys and defaults as llama.cpp
 * b10573 reads them; see {@code docs/gguf.md}). Architecture variants are fields decided here, never
 * guessed inside the forward pass.
 *
 * @param keyLength   per-head query/key width of the attention as computed (MLA: nope + rope)
 * @param valueLength per-head value width
 * @param mla         the MLA shape; null for architectures without MLA
 * @param moe         the DeepSeekMoE shape; null for dense models
 * @param indexer     V3.2's lightning indexer (DeepSeek Sparse Attention); null for dense attention
 * @param v4          DeepSeek-V4's own shape ({@link Architecture#DEEPSEEK4}); null for every other architecture
 * @param nextnLayers multi-token-prediction (MTP) blocks stored after the {@code blockCount} main blocks
 *                    ({@code nextn_predict_layers}; GGUF's {@code block_count} counts both, as llama.cpp writes it)
 */
public record ModelConfig(
        Architecture architecture,
        String name,
        int blockCount,
        int contextLength,
        int embeddingLength,
        int feedForwardLength,
        int headCount,
        int headCountKv,
        int keyLength,
        int valueLength,
        float rmsNormEps,
        float ropeFreqBase,
        int ropeDimensionCount,
        RopeScaling ropeScaling,
        int vocabSize,
        Mla mla,
        Moe moe,
        Indexer indexer,
        int nextnLayers,
        V4 v4) {

    /** Refuses values no model has (a non-finite or non-positive epsilon or RoPE base) wherever a config comes from. */
    public ModelConfig {
        if (!(rmsNormEps > 0) || !Float.isFinite(rmsNormEps)) {
            throw new IllegalArgumentException("the RMS norm epsilon must be a positive number, not " + rmsNormEps);
        }
        if (!(ropeFreqBase > 0) || !Float.isFinite(ropeFreqBase)) {
            throw new IllegalArgumentException("the RoPE frequency base must be a positive number, not " + ropeFreqBase);
        }
        if (nextnLayers < 0 || nextnLayers > 1) {
            throw new IllegalArgumentException("nextn_predict_layers " + nextnLayers + " is not supported (0 or 1 MTP block)");
        }
    }

    /** A config without MTP blocks. */
    public ModelConfig(Architecture architecture, String name, int blockCount, int contextLength, int embeddingLength,
                       int feedForwardLength, int headCount, int headCountKv, int keyLength, int valueLength, float rmsNormEps,
                       float ropeFreqBase, int ropeDimensionCount, RopeScaling ropeScaling, int vocabSize, Mla mla, Moe moe,
                       Indexer indexer) {
        this(architecture, name, blockCount, contextLength, embeddingLength, feedForwardLength, headCount, headCountKv,
                keyLength, valueLength, rmsNormEps, ropeFreqBase, ropeDimensionCount, ropeScaling, vocabSize, mla, moe, indexer,
                0);
    }

    /** A config of any architecture but V4. */
    public ModelConfig(Architecture architecture, String name, int blockCount, int contextLength, int embeddingLength,
                       int feedForwardLength, int headCount, int headCountKv, int keyLength, int valueLength, float rmsNormEps,
                       float ropeFreqBase, int ropeDimensionCount, RopeScaling ropeScaling, int vocabSize, Mla mla, Moe moe,
                       Indexer indexer, int nextnLayers) {
        this(architecture, name, blockCount, contextLength, embeddingLength, feedForwardLength, headCount, headCountKv,
                keyLength, valueLength, rmsNormEps, ropeFreqBase, ropeDimensionCount, ropeScaling, vocabSize, mla, moe, indexer,
                nextnLayers, null);
    }

    /**
     * DeepSeek-V4's shape beyond the common fields (docs/deepseek.md §6.3; keys as llama.cpp b10573 reads them): the
     * sliding window, each layer's compress ratio (0 window only, 4 CSA with the indexer, 128 HCA), the compressed
     * layers' RoPE base, the hyper-connection streams and their Sinkhorn iterations and epsilon, the hash-routed
     * layers, the grouped output projection, the query LoRA rank and each layer's SwiGLU clamps.
     */
    public record V4(int window, int[] compressRatios, float compressRopeBase, int hc, int sinkhornIterations, float hcEps,
                     int hashLayers, int outputGroups, int outputLoraRank, int qLoraRank, float[] clampExperts,
                     float[] clampShared) {
        @Override
        public boolean equals(Object o) {
            return o instanceof V4 v && window == v.window && java.util.Arrays.equals(compressRatios, v.compressRatios)
                    && Float.compare(compressRopeBase, v.compressRopeBase) == 0 && hc == v.hc
                    && sinkhornIterations == v.sinkhornIterations && Float.compare(hcEps, v.hcEps) == 0
                    && hashLayers == v.hashLayers && outputGroups == v.outputGroups && outputLoraRank == v.outputLoraRank
                    && qLoraRank == v.qLoraRank && java.util.Arrays.equals(clampExperts, v.clampExperts)
                    && java.util.Arrays.equals(clampShared, v.clampShared);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(window, java.util.Arrays.hashCode(compressRatios), compressRopeBase, hc,
                    sinkhornIterations, hcEps, hashLayers, outputGroups, outputLoraRank, qLoraRank,
                    java.util.Arrays.hashCode(clampExperts), java.util.Arrays.hashCode(clampShared));
        }

        @Override
        public String toString() {
            return "V4[window=" + window + ", compressRatios=" + java.util.Arrays.toString(compressRatios)
                    + ", compressRopeBase=" + compressRopeBase + ", hc=" + hc + ", sinkhornIterations=" + sinkhornIterations
                    + ", hcEps=" + hcEps + ", hashLayers=" + hashLayers + ", outputGroups=" + outputGroups
                    + ", outputLoraRank=" + outputLoraRank + ", qLoraRank=" + qLoraRank + ", clampExperts="
                    + java.util.Arrays.toString(clampExperts) + ", clampShared=" + java.util.Arrays.toString(clampShared) + "]";
        }
    }

    /** RoPE context scaling. {@code type} NONE means plain RoPE. */
    public record RopeScaling(Type type, float factor, int originalContextLength, float yarnLogMultiplier) {
        public enum Type { NONE, LINEAR, YARN }

        static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 0, 0);
    }

    /**
     * Multi-head latent attention. {@code splitKvB} is true for the current GGUF layout (per-head
     * {@code attn_k_b}/{@code attn_v_b}, absorbed attention, a cache of kv_lora + rope values per token) and
     * false for the legacy one ({@code attn_kv_b}, per-head K and V cached).
     */
    public record Mla(int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim, int vHeadDim, boolean splitKvB) {
    }

    /** DeepSeekMoE routing and expert shapes. */
    public record Moe(
            int leadingDenseBlockCount,
            int expertCount,
            int expertUsedCount,
            int expertSharedCount,
            int expertFeedForwardLength,
            int groupCount,
            int groupUsedCount,
            float weightsScale,
            boolean weightsNorm,
            Gating gating) {
        public enum Gating { SOFTMAX, SIGMOID, SQRT_SOFTPLUS }

        /** The routing must be able to run: experts used within the experts, groups that divide them. */
        public Moe {
            if (expertCount < 1 || expertUsedCount < 1 || expertUsedCount > expertCount) {
                throw new IllegalArgumentException("expert_used_count " + expertUsedCount + " must be in 1.." + expertCount);
            }
            if (groupCount < 1 || groupCount > 1 && (expertCount % groupCount != 0 || groupUsedCount <= 0
                    || groupUsedCount >= groupCount)) {
                throw new IllegalArgumentException(groupCount + " expert groups with " + groupUsedCount
                        + " used do not fit " + expertCount + " experts");
            }
            if (leadingDenseBlockCount < 0 || expertSharedCount < 0 || expertFeedForwardLength < 1
                    || !Float.isFinite(weightsScale)) {
                throw new IllegalArgumentException("invalid MoE shape: " + leadingDenseBlockCount + " leading dense blocks, "
                        + expertSharedCount + " shared experts, expert width " + expertFeedForwardLength + ", weights scale "
                        + weightsScale);
            }
        }
    }

    /**
     * DeepSeek-V3.2's lightning indexer (docs/deepseek.md §6.1): {@code headCount} heads of {@code keyLength}
     * (the first rope-dimension values of each rotated NEOX-style), one shared key per position; each query
     * attends to the {@code topK} positions it scores highest.
     */
    public record Indexer(int headCount, int keyLength, int topK) {
    }

    /** This config with another indexer (null: dense attention). */
    public ModelConfig withIndexer(Indexer i) {
        return new ModelConfig(architecture, name, blockCount, contextLength, embeddingLength, feedForwardLength,
                headCount, headCountKv, keyLength, valueLength, rmsNormEps, ropeFreqBase, ropeDimensionCount, ropeScaling,
                vocabSize, mla, moe, i, nextnLayers, v4);
    }

    /** This config with other MoE constants. */
    public ModelConfig withMoe(Moe m) {
        return new ModelConfig(architecture, name, blockCount, contextLength, embeddingLength, feedForwardLength,
                headCount, headCountKv, keyLength, valueLength, rmsNormEps, ropeFreqBase, ropeDimensionCount, ropeScaling,
                vocabSize, mla, m, indexer, nextnLayers, v4);
    }

    /** This config with {@code n} MTP blocks. */
    public ModelConfig withNextnLayers(int n) {
        return new ModelConfig(architecture, name, blockCount, contextLength, embeddingLength, feedForwardLength,
                headCount, headCountKv, keyLength, valueLength, rmsNormEps, ropeFreqBase, ropeDimensionCount, ropeScaling,
                vocabSize, mla, moe, indexer, n, v4);
    }

    public boolean isMoe() {
        return moe != null;
    }

    /** Reads the configuration; a missing, mistyped or inconsistent key is an error naming file and key. */
    public static ModelConfig fromGguf(GgufMetadata md) {
        try {
            return read(md);
        } catch (IllegalArgumentException e) {
            throw new JseekException(md.source() + ": " + e.getMessage());
        }
    }

    private static ModelConfig read(GgufMetadata md) {
        String arch = md.string("general.architecture");
        Architecture a = Architecture.byGgufName(arch);
        if (a == null) {
            throw new JseekException(md.source() + ": architecture \"" + io.jseek.core.Excerpt.of(arch, 60) + "\" is not supported (jseek runs "
                    + Architecture.names() + ")");
        }
        String p = arch + ".";
        int nextn = md.u32(p + "nextn_predict_layers", 0);
        int blocks = positive(md, p + "block_count", md.u32(p + "block_count") - nextn);
        int embd = positive(md, p + "embedding_length", md.u32(p + "embedding_length"));
        int heads = positive(md, p + "attention.head_count", md.u32(p + "attention.head_count"));
        int headsKv = md.u32(p + "attention.head_count_kv", heads);
        int ctx = md.u32(p + "context_length");
        int ff = md.u32(p + "feed_forward_length", 0);
        float eps = md.f32(p + "attention.layer_norm_rms_epsilon");
        float base = md.f32(p + "rope.freq_base", 10000f);
        int vocab = md.has(p + "vocab_size") ? md.u32(p + "vocab_size")
                : md.has("tokenizer.ggml.tokens") ? md.stringArray("tokenizer.ggml.tokens").length : 0;
        RopeScaling scaling = ropeScaling(md, p, ctx);
        String name = md.string("general.name", "");

        if (a == Architecture.DEEPSEEK4) {
            return readV4(md, p, name, blocks, ctx, embd, ff, heads, eps, base, scaling, vocab);
        }
        if (!a.latentAttention) {
            if (embd % heads != 0 && !md.has(p + "attention.key_length")) {
                throw new JseekException(md.source() + ": embedding_length " + embd + " is not a multiple of head_count " + heads);
            }
            int headDim = embd / heads;
            int kLen = md.u32(p + "attention.key_length", headDim);
            int vLen = md.u32(p + "attention.value_length", headDim);
            int rot = md.u32(p + "rope.dimension_count", kLen);
            if (a == Architecture.LLAMA && rot != kLen) {
                throw new JseekException(md.source() + ": " + p + "rope.dimension_count is " + rot + ", expected the head size " + kLen);
            }
            if (headsKv <= 0 || heads % headsKv != 0) {
                throw new JseekException(md.source() + ": head_count " + heads + " is not a multiple of head_count_kv " + headsKv);
            }
            return new ModelConfig(a, name, blocks, ctx, embd, ff, heads, headsKv, kLen, vLen, eps, base, rot, scaling, vocab, null, null,
                    null);
        }

        int rope = md.u32(p + "rope.dimension_count");
        int kvLora = positive(md, p + "attention.kv_lora_rank", md.u32(p + "attention.kv_lora_rank"));
        int qLora = md.u32(p + "attention.q_lora_rank", 0);
        int kMla = md.u32(p + "attention.key_length_mla", 0);
        int vMla = md.u32(p + "attention.value_length_mla", 0);
        boolean split = kMla > 0 && vMla > 0;
        int kLen = split ? kMla : md.u32(p + "attention.key_length");
        int vLen = split ? vMla : md.u32(p + "attention.value_length");
        if (kLen <= rope) {
            throw new JseekException(md.source() + ": key length " + kLen + " must exceed rope.dimension_count " + rope);
        }
        Mla mla = new Mla(qLora, kvLora, kLen - rope, rope, vLen, split);

        int experts = md.u32(p + "expert_count", 0);
        Moe moe = null;
        if (experts > 0) {
            int used = md.u32(p + "expert_used_count");
            int groups = md.u32(p + "expert_group_count", 1);
            int groupsUsed = md.u32(p + "expert_group_used_count", 1);
            int gating = md.u32(p + "expert_gating_func", 1);
            if (gating != 1 && gating != 2) {
                throw new JseekException(md.source() + ": expert_gating_func " + gating + " is unknown (1 softmax, 2 sigmoid)");
            }
            moe = new Moe(md.u32(p + "leading_dense_block_count", 0), experts, used,
                    md.u32(p + "expert_shared_count"), md.u32(p + "expert_feed_forward_length"), groups, groupsUsed,
                    md.f32(p + "expert_weights_scale", 0f), md.bool(p + "expert_weights_norm", false),
                    gating == 2 ? Moe.Gating.SIGMOID : Moe.Gating.SOFTMAX);
        }
        Indexer indexer = null;
        if (a == Architecture.DEEPSEEK32) {
            // As llama.cpp b10573 loads deepseek32: split W_UK/W_UV and a query latent are required.
            if (!split || qLora == 0) {
                throw new JseekException(md.source() + ": deepseek32 needs MLA with key_length_mla/value_length_mla and q_lora_rank > 0");
            }
            indexer = new Indexer(positive(md, p + "attention.indexer.head_count", md.u32(p + "attention.indexer.head_count")),
                    positive(md, p + "attention.indexer.key_length", md.u32(p + "attention.indexer.key_length")),
                    positive(md, p + "attention.indexer.top_k", md.u32(p + "attention.indexer.top_k")));
            if (indexer.keyLength() < rope) {
                throw new JseekException(md.source() + ": attention.indexer.key_length " + indexer.keyLength()
                        + " is shorter than rope.dimension_count " + rope);
            }
        }
        if (nextn > 0 && moe == null) {
            throw new JseekException(md.source() + ": " + p + "nextn_predict_layers needs a DeepSeekMoE model");
        }
        return new ModelConfig(a, name, blocks, ctx, embd, ff, heads, headsKv, kLen, vLen, eps, base, rope, scaling, vocab, mla, moe,
                indexer, nextn);
    }

    private static ModelConfig readV4(GgufMetadata md, String p, String name, int blocks, int ctx, int embd, int ff, int heads,
                                      float eps, float base, RopeScaling scaling, int vocab) {
        // What deepseek4 does not compute is refused, not run wrong: RoPE scaling other than YaRN (which the
        // compressed layers take, Rope.v4). A multi-token-prediction block is loaded past, as llama.cpp does unless
        // asked for it (DeepSeek4Model), and not run.
        if (scaling.type() == RopeScaling.Type.LINEAR) {
            throw new JseekException(md.source() + ": deepseek4 with linear RoPE scaling is not supported (YaRN is)");
        }
        int nextn = md.u32(p + "nextn_predict_layers", 0);
        int hd = positive(md, p + "attention.key_length", md.u32(p + "attention.key_length"));
        int rot = md.u32(p + "rope.dimension_count");
        int total = md.u32(p + "block_count");
        int[] ratios = md.intArray(p + "attention.compress_ratios");
        if (ratios.length < total) {
            throw new JseekException(md.source() + ": " + p + "attention.compress_ratios has " + ratios.length
                    + " entries for " + total + " blocks");
        }
        for (int r : ratios) {
            if (r != 0 && r != 4 && r != 128) {
                throw new JseekException(md.source() + ": compress ratio " + r + " is not supported (0, 4 or 128, as llama.cpp)");
            }
        }
        int gating = md.u32(p + "expert_gating_func");
        if (gating != 4) {
            throw new JseekException(md.source() + ": deepseek4 needs sqrt-softplus expert scoring (expert_gating_func 4), not "
                    + gating);
        }
        Moe moe = new Moe(0, md.u32(p + "expert_count"), md.u32(p + "expert_used_count"), md.u32(p + "expert_shared_count"),
                md.u32(p + "expert_feed_forward_length"), 1, 1, md.f32(p + "expert_weights_scale", 0f),
                md.bool(p + "expert_weights_norm", false), Moe.Gating.SQRT_SOFTPLUS);
        Indexer indexer = new Indexer(md.u32(p + "attention.indexer.head_count"), md.u32(p + "attention.indexer.key_length"),
                md.u32(p + "attention.indexer.top_k"));
        float[] clampExp = md.floatArray(p + "swiglu_clamp_exp");
        float[] clampSh = md.has(p + "swiglu_clamp_shexp") ? md.floatArray(p + "swiglu_clamp_shexp") : clampExp;
        V4 v4 = new V4(md.u32(p + "attention.sliding_window"), java.util.Arrays.copyOf(ratios, total),
                md.f32(p + "attention.compress_rope_freq_base"), md.u32(p + "hyper_connection.count"),
                md.u32(p + "hyper_connection.sinkhorn_iterations"), md.f32(p + "hyper_connection.epsilon"),
                md.u32(p + "hash_layer_count", 0), md.u32(p + "attention.output_group_count"),
                md.u32(p + "attention.output_lora_rank"), md.u32(p + "attention.q_lora_rank"), clampExp, clampSh);
        return new ModelConfig(Architecture.DEEPSEEK4, name, blocks, ctx, embd, ff, heads, 1, hd, hd, eps, base, rot, scaling,
                vocab, null, moe, indexer, nextn, v4);
    }

    /**
     * This config as the GGUF metadata {@link #fromGguf} reads back to an equal config (the architecture's
     * keys and {@code general.architecture} / {@code general.name}; no tokenizer). What an exporter writes.
     */
    public java.util.Map<String, GgufValue> toGguf() {
        String a = architecture.ggufName;
        String p = a + ".";
        java.util.Map<String, GgufValue> m = new java.util.LinkedHashMap<>();
        m.put("general.architecture", GgufValue.string(a));
        m.put("general.name", GgufValue.string(name));
        m.put(p + "block_count", GgufValue.u32(blockCount + nextnLayers));
        m.put(p + "context_length", GgufValue.u32(contextLength));
        m.put(p + "embedding_length", GgufValue.u32(embeddingLength));
        m.put(p + "feed_forward_length", GgufValue.u32(feedForwardLength));
        m.put(p + "attention.head_count", GgufValue.u32(headCount));
        m.put(p + "attention.head_count_kv", GgufValue.u32(headCountKv));
        m.put(p + "attention.layer_norm_rms_epsilon", GgufValue.f32(rmsNormEps));
        m.put(p + "rope.freq_base", GgufValue.f32(ropeFreqBase));
        m.put(p + "rope.dimension_count", GgufValue.u32(ropeDimensionCount));
        m.put(p + "vocab_size", GgufValue.u32(vocabSize));
        if (ropeScaling.type() != RopeScaling.Type.NONE) {
            m.put(p + "rope.scaling.type", GgufValue.string(ropeScaling.type().name().toLowerCase(java.util.Locale.ROOT)));
            m.put(p + "rope.scaling.factor", GgufValue.f32(ropeScaling.factor()));
            m.put(p + "rope.scaling.original_context_length", GgufValue.u32(ropeScaling.originalContextLength()));
            m.put(p + "rope.scaling.yarn_log_multiplier", GgufValue.f32(ropeScaling.yarnLogMultiplier()));
        }
        // The absorbed form's shapes as llama.cpp writes them (keys [cKv ‖ kRope], values cKv), the per-head ones
        // as the _mla keys; otherwise the per-head shapes.
        boolean absorbed = mla != null && mla.splitKvB();
        m.put(p + "attention.key_length", GgufValue.u32(absorbed ? mla.kvLoraRank() + mla.qkRopeHeadDim() : keyLength));
        m.put(p + "attention.value_length", GgufValue.u32(absorbed ? mla.kvLoraRank() : valueLength));
        if (absorbed) {
            m.put(p + "attention.key_length_mla", GgufValue.u32(keyLength));
            m.put(p + "attention.value_length_mla", GgufValue.u32(valueLength));
        }
        if (mla != null) {
            m.put(p + "attention.q_lora_rank", GgufValue.u32(mla.qLoraRank()));
            m.put(p + "attention.kv_lora_rank", GgufValue.u32(mla.kvLoraRank()));
        }
        if (indexer != null) {
            m.put(p + "attention.indexer.head_count", GgufValue.u32(indexer.headCount()));
            m.put(p + "attention.indexer.key_length", GgufValue.u32(indexer.keyLength()));
            m.put(p + "attention.indexer.top_k", GgufValue.u32(indexer.topK()));
        }
        if (moe != null) {
            m.put(p + "leading_dense_block_count", GgufValue.u32(moe.leadingDenseBlockCount()));
            m.put(p + "expert_count", GgufValue.u32(moe.expertCount()));
            m.put(p + "expert_used_count", GgufValue.u32(moe.expertUsedCount()));
            m.put(p + "expert_shared_count", GgufValue.u32(moe.expertSharedCount()));
            m.put(p + "expert_feed_forward_length", GgufValue.u32(moe.expertFeedForwardLength()));
            m.put(p + "expert_group_count", GgufValue.u32(moe.groupCount()));
            m.put(p + "expert_group_used_count", GgufValue.u32(moe.groupUsedCount()));
            m.put(p + "expert_weights_scale", GgufValue.f32(moe.weightsScale()));
            m.put(p + "expert_weights_norm", GgufValue.bool(moe.weightsNorm()));
            m.put(p + "expert_gating_func", GgufValue.u32(switch (moe.gating()) {
                case SOFTMAX -> 1;
                case SIGMOID -> 2;
                case SQRT_SOFTPLUS -> 4;
            }));
        }
        if (v4 != null) {
            m.put(p + "attention.sliding_window", GgufValue.u32(v4.window()));
            m.put(p + "attention.compress_ratios", GgufValue.array(io.jseek.core.gguf.GgufValueType.UINT32,
                    v4.compressRatios().clone()));
            m.put(p + "attention.compress_rope_freq_base", GgufValue.f32(v4.compressRopeBase()));
            m.put(p + "hyper_connection.count", GgufValue.u32(v4.hc()));
            m.put(p + "hyper_connection.sinkhorn_iterations", GgufValue.u32(v4.sinkhornIterations()));
            m.put(p + "hyper_connection.epsilon", GgufValue.f32(v4.hcEps()));
            m.put(p + "hash_layer_count", GgufValue.u32(v4.hashLayers()));
            m.put(p + "attention.output_group_count", GgufValue.u32(v4.outputGroups()));
            m.put(p + "attention.output_lora_rank", GgufValue.u32(v4.outputLoraRank()));
            m.put(p + "attention.q_lora_rank", GgufValue.u32(v4.qLoraRank()));
            m.put(p + "swiglu_clamp_exp", GgufValue.array(io.jseek.core.gguf.GgufValueType.FLOAT32, v4.clampExperts().clone()));
            m.put(p + "swiglu_clamp_shexp", GgufValue.array(io.jseek.core.gguf.GgufValueType.FLOAT32, v4.clampShared().clone()));
            m.put(p + "embedding_length_out", GgufValue.u32(v4.hc() * embeddingLength));
        }
        if (nextnLayers > 0) {
            m.put(p + "nextn_predict_layers", GgufValue.u32(nextnLayers));
        }
        return m;
    }

    private static RopeScaling ropeScaling(GgufMetadata md, String p, int ctx) {
        String type = md.string(p + "rope.scaling.type", "none");
        RopeScaling.Type t = switch (type) {
            case "none" -> RopeScaling.Type.NONE;
            case "linear" -> RopeScaling.Type.LINEAR;
            case "yarn" -> RopeScaling.Type.YARN;
            default -> throw new JseekException(md.source() + ": " + p + "rope.scaling.type \"" + type + "\" is not supported");
        };
        if (t == RopeScaling.Type.NONE) {
            return RopeScaling.NONE;
        }
        return new RopeScaling(t, md.f32(p + "rope.scaling.factor", 1f),
                md.u32(p + "rope.scaling.original_context_length", ctx), md.f32(p + "rope.scaling.yarn_log_multiplier", 0f));
    }

    private static int positive(GgufMetadata md, String key, int v) {
        if (v <= 0) {
            throw new JseekException(md.source() + ": key " + key + " must be positive, is " + v);
        }
        return v;
    }

    /**
     * The KV cache's rows, values per position: entry l < blockCount is layer l's attention cache — MLA's
     * normalized latent and shared rope key (kv_lora + rope; both W_UK/W_UV layouts: jseek decompresses nothing
     * into the cache, unlike llama.cpp's MHA mode for legacy files), or every KV head's K and V — and with a
     * lightning indexer, entry blockCount + l is layer l's indexer keys; V4's per block ({@link #cacheLayers}).
     */
    public int[] cacheWidths() {
        return cacheLayers().stream().mapToInt(CacheLayer::width).toArray();
    }

    /**
     * One cache layer: {@code width} values per row; {@code exact}: F32 whatever the cache type; a row per {@code
     * stride} positions ({@link KvLayer#of}); the positions before the next one it must still hold ({@code horizon},
     * {@link Integer#MAX_VALUE} for all; a session gives older rows back, {@link Session}).
     */
    record CacheLayer(int width, boolean exact, int stride, int horizon) {
        static CacheLayer full(int width) {
            return new CacheLayer(width, false, 1, Integer.MAX_VALUE);
        }
    }

    /**
     * The cache layers, in {@link #cacheWidths}' order. MLA/MHA: each block's attention rows, then with a lightning
     * indexer each block's indexer keys. V4, per block ({@link #v4CacheLayers}).
     */
    java.util.List<CacheLayer> cacheLayers() {
        java.util.List<CacheLayer> layers = new java.util.ArrayList<>();
        if (v4 != null) {
            for (int l = 0; l < blockCount; l++) {
                layers.addAll(v4CacheLayers(v4.compressRatios()[l]));
            }
            return layers;
        }
        int attention = mla != null ? mla.kvLoraRank() + mla.qkRopeHeadDim() : headCountKv * (keyLength + valueLength);
        for (int l = 0; l < blockCount; l++) {
            layers.add(CacheLayer.full(attention));
        }
        for (int l = 0; indexer != null && l < blockCount; l++) {
            layers.add(CacheLayer.full(indexer.keyLength()));
        }
        return layers;
    }

    /**
     * A V4 block's cache layers, at offsets V4Attention reads them by: 0, its kv rows (key = value), of which only the
     * window is attended to (horizon window − 1). For a compressing block (ratio 4 or 128): 1 and 2, the compressor's
     * kv and gate projections (two blocks' halves with ratio 4's overlap), F32 as llama.cpp keeps them (a softmax over
     * gate logits rounded to 8 bits would move every pooled row), needed only until their block is pooled (horizon
     * 2·ratio − 1 with the overlap, else ratio − 1); 3, the pooled rows, one per block at its last position. For ratio 4
     * also the indexer's: 4 and 5 its compressor's projections, 6 its pooled keys.
     */
    private java.util.List<CacheLayer> v4CacheLayers(int ratio) {
        java.util.List<CacheLayer> layers = new java.util.ArrayList<>();
        layers.add(new CacheLayer(keyLength, false, 1, v4.window() - 1));
        if (ratio != 0) {
            int overlap = ratio == 4 ? 2 : 1;
            CacheLayer state = new CacheLayer(overlap * keyLength, true, 1, overlap * ratio - 1);
            layers.addAll(java.util.List.of(state, state, new CacheLayer(keyLength, false, ratio, Integer.MAX_VALUE)));
        }
        if (ratio == 4) {
            CacheLayer state = new CacheLayer(2 * indexer.keyLength(), true, 1, 2 * ratio - 1);
            layers.addAll(java.util.List.of(state, state, new CacheLayer(indexer.keyLength(), false, ratio, Integer.MAX_VALUE)));
        }
        return layers;
    }

    /** How each cache layer of {@link #cacheWidths} is stored when the cache type {@code type} is asked for. */
    public CacheType[] cacheTypes(CacheType type) {
        return cacheLayers().stream().map(c -> c.exact() ? CacheType.F32 : type).toArray(CacheType[]::new);
    }

    /** Positions per stored row of each cache layer of {@link #cacheWidths}. */
    public int[] cacheStrides() {
        return cacheLayers().stream().mapToInt(CacheLayer::stride).toArray();
    }

    /** How many positions before the next one each cache layer of {@link #cacheWidths} must still hold. */
    public int[] cacheHorizons() {
        return cacheLayers().stream().mapToInt(CacheLayer::horizon).toArray();
    }

    /** V4: the first cache layer of block l (see {@link #v4CacheLayers}). */
    int v4CacheBase(int l) {
        int at = 0;
        for (int k = 0; k < l; k++) {
            at += v4CacheLayers(v4.compressRatios()[k]).size();
        }
        return at;
    }
}
