package io.jseek.model;

/** The model architectures jseek runs, by their GGUF {@code general.architecture} name. */
public enum Architecture {
    /** DeepSeek-V2, V2-Lite, V2.5, V3, R1, V3.1: MLA attention and DeepSeekMoE. */
    DEEPSEEK2("deepseek2"),
    /** Qwen2 (DeepSeek-R1-Distill-Qwen). */
    QWEN2("qwen2"),
    /** Llama (DeepSeek-R1-Distill-Llama). */
    LLAMA("llama");

    public final String ggufName;

    Architecture(String ggufName) {
        this.ggufName = ggufName;
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
