package io.jseek.model;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.tensor.Tensor;
import java.util.Arrays;

/** Binds GGUF tensor names to weights, checking every shape at load with an error that names the tensor. */
final class Weights {
    private final GgufFile file;
    private final String source;

    Weights(GgufFile file) {
        this.file = file;
        this.source = file.path().getFileName().toString();
    }

    boolean has(String name) {
        return file.hasTensor(name);
    }

    /** The tensor {@code name}, which must have exactly this shape (ggml order). */
    Tensor tensor(String name, long... shape) {
        if (!file.hasTensor(name)) {
            throw new JseekException(source + ": tensor " + name + " is missing");
        }
        Tensor t = file.tensor(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new JseekException(source + ": tensor " + name + " has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        return t;
    }

    /** A 2-D tensor with rows of {@code rowLength} values and any number of rows (e.g. one per token). */
    Tensor rows(String name, long rowLength) {
        Tensor t = file.hasTensor(name) ? file.tensor(name) : null;
        if (t == null || t.dims() != 2) {
            return tensor(name, rowLength, t == null ? 0 : t.dim(1));
        }
        return tensor(name, rowLength, t.dim(1));
    }

    /** The tensor if present (with this shape), else null. */
    Tensor optional(String name, long... shape) {
        return file.hasTensor(name) ? tensor(name, shape) : null;
    }

    /** A small vector (norm weights, biases) decoded to floats once at load. */
    float[] vector(String name, long n) {
        return tensor(name, n).dequantize();
    }

    float[] optionalVector(String name, long n) {
        return file.hasTensor(name) ? vector(name, n) : null;
    }
}
