package io.jseek.model;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufTensorInfo;
import io.jseek.core.tensor.Tensor;
import io.jseek.core.tensor.TensorSource;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A GGUF file as a tensor source that remembers which tensors the model read, so that loading can refuse a file
 * with tensors the architecture never reads, as llama.cpp does ("wrong number of tensors"). Such a tensor is a
 * misnamed one — a damaged name turns an optional tensor (a bias, {@code rope_freqs}, the routing bias) into an
 * unknown one, and the model would silently run without it — or one from another architecture.
 */
final class UsedTensors implements TensorSource {
    private final GgufFile file;
    private final Set<String> used = ConcurrentHashMap.newKeySet();

    UsedTensors(GgufFile file) {
        this.file = file;
    }

    /**
     * Refuses the file if it holds a tensor the model did not read (the MTP block's included: the model reads it),
     * or a 1-D tensor (a norm, a bias, {@code rope_freqs}) not stored as F32 — llama.cpp's converter and quantizer
     * always write those as F32 and its kernels require it; another type there means a damaged type field whose
     * smaller size the alignment padding hid.
     */
    void requireAllUsed() {
        for (GgufTensorInfo t : file.tensorInfos()) {
            if (t.shape().length == 1 && t.type() != io.jseek.core.tensor.GgmlType.F32) {
                throw new JseekException(file.sourceName() + ": 1-D tensor " + io.jseek.core.Excerpt.of(t.name(), 80)
                        + " is " + t.type() + "; GGUF files store norms and biases as F32");
            }
            if (!used.contains(t.name())) {
                throw new JseekException(file.sourceName() + ": tensor " + io.jseek.core.Excerpt.of(t.name(), 80)
                        + " is not part of a " + file.metadata().string("general.architecture")
                        + " model (a misnamed or foreign tensor; llama.cpp refuses it too)");
            }
        }
    }

    @Override
    public String sourceName() {
        return file.sourceName();
    }

    @Override
    public boolean hasTensor(String name) {
        return file.hasTensor(name);
    }

    @Override
    public Tensor tensor(String name) {
        Tensor t = file.tensor(name);
        used.add(name);
        return t;
    }

    @Override
    public List<Tensor> matrices(String name) {
        List<Tensor> m = file.matrices(name);
        used.add(name);
        return m;
    }

    @Override
    public MemorySegment allocate(long bytes, long alignment) {
        return file.allocate(bytes, alignment);
    }
}
