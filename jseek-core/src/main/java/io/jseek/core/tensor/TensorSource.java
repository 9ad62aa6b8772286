package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Where a model's weights come from, by their GGUF tensor names: a GGUF file, or a Hugging Face directory
 * of safetensors mapped onto those names. Tensors are views into memory the source owns; {@link #allocate}
 * gives memory that lives as long as the source (packed or rearranged copies).
 */
public interface TensorSource {
    /** A short name for messages (the file's or directory's). */
    String sourceName();

    boolean hasTensor(String name);

    /** The tensor called {@code name} (GGUF naming); an error naming it when there is none. */
    Tensor tensor(String name);

    /**
     * The matrices of the stacked 3-D tensor {@code name} (GGUF's {@code ffn_*_exps}: one per routed expert), one
     * tensor each: views of the stack by default; a source that stores them apart returns each as stored, so
     * that no stack is ever copied together.
     */
    default java.util.List<Tensor> matrices(String name) {
        Tensor t = tensor(name);
        java.util.List<Tensor> out = new java.util.ArrayList<>();
        for (int i = 0; i < t.dim(2); i++) {
            out.add(t.matrix(i));
        }
        return out;
    }

    /** Zeroed off-heap memory freed with the source. Safe to call from any thread. */
    MemorySegment allocate(long bytes, long alignment);
}
