package io.jseek.model;

import io.jseek.core.kernel.WorkerPool;

/**
 * The model architectures jseek runs, by their GGUF {@code general.architecture} name, each with how its RoPE
 * pairs values and the class that runs it. A new dense architecture is one line here (and its config keys in
 * {@link ModelConfig}); a new attention or FFN is a class beside {@link Mla} or {@link DeepSeekMoe}.
 */
public enum Architecture {
    /** DeepSeek-V2, V2-Lite, V2.5, V3, R1, V3.1: MLA attention and DeepSeekMoE. */
    DEEPSEEK2("deepseek2", RopeStyle.NORM, true,
            (c, w, pool) -> new DeepSeek2Model(c, w, pool, DeepSeek2Model.AttentionForm.CHEAPER)),
    /** DeepSeek-V3.2, V3.2-Speciale: V3 with the lightning indexer's sparse attention (DSA). */
    DEEPSEEK32("deepseek32", RopeStyle.NORM, true,
            (c, w, pool) -> new DeepSeek2Model(c, w, pool, DeepSeek2Model.AttentionForm.CHEAPER)),
    /**
     * DeepSeek-V4: hyper-connection streams, attention over a sliding window plus compressed rows (CSA with a lightning
     * indexer, HCA), sinks, grouped low-rank output, sqrt-softplus and hash-routed MoE.
     */
    DEEPSEEK4("deepseek4", RopeStyle.NORM, false, DeepSeek4Model::new),
    /** Qwen2 (DeepSeek-R1-Distill-Qwen). */
    QWEN2("qwen2", RopeStyle.NEOX, false, DenseModel::new),
    /** Llama (DeepSeek-R1-Distill-Llama). */
    LLAMA("llama", RopeStyle.NORM, false, DenseModel::new);

    /** Which values RoPE rotates together (docs/gguf.md §2.4). */
    public enum RopeStyle {
        /** Adjacent values (2i, 2i + 1): ggml's NORM mode. */
        NORM,
        /** The two halves (i, i + n/2): ggml's NEOX mode. */
        NEOX
    }

    /** Builds the forward pass of a loaded file. */
    @FunctionalInterface
    interface Factory {
        Model create(ModelConfig config, Weights weights, WorkerPool pool);
    }

    public final String ggufName;
    public final RopeStyle ropeStyle;
    /** Whether attention is MLA (the {@code deepseek2} keys and tensors) rather than grouped-query. */
    public final boolean latentAttention;
    private final Factory factory;

    Architecture(String ggufName, RopeStyle ropeStyle, boolean latentAttention, Factory factory) {
        this.ggufName = ggufName;
        this.ropeStyle = ropeStyle;
        this.latentAttention = latentAttention;
        this.factory = factory;
    }

    /** Every GGUF name, for messages. */
    public static String names() {
        return java.util.Arrays.stream(values()).map(a -> a.ggufName).collect(java.util.stream.Collectors.joining(", "));
    }

    Model create(ModelConfig config, Weights weights, WorkerPool pool) {
        return factory.create(config, weights, pool);
    }

    /** The architecture with this GGUF name, or null. */
    public static Architecture byGgufName(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        return null;
    }
}
