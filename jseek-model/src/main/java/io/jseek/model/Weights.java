package io.jseek.model;

import io.jseek.core.JseekException;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.PackedMatrix;
import io.jseek.core.tensor.Tensor;
import io.jseek.core.tensor.TensorSource;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Binds GGUF tensor names (of a GGUF file or a Hugging Face directory, {@link TensorSource}) to weights, checking every shape at load with an error that names the tensor.
 * Matrices that the matmul multiplies by are packed for the integer kernels where their type allows
 * ({@link PackedMatrix}): the copy lives in memory owned by the file, so it is freed when the file is closed.
 */
final class Weights {
    private final TensorSource file;
    private final String source;
    private final WorkerPool pool;
    private final boolean pack;
    private long packedBytes;

    /** Weights of {@code file}; {@code pack}: make packed copies of the packable matrices (on {@code pool}'s threads). */
    Weights(TensorSource file, WorkerPool pool, boolean pack) {
        this.file = file;
        this.source = file.sourceName();
        this.pool = pool;
        this.pack = pack;
    }

    boolean has(String name) {
        return file.hasTensor(name);
    }

    /** The tensor {@code name}, which must have exactly this shape (ggml order) and hold numbers, not indices. */
    Tensor tensor(String name, long... shape) {
        Tensor t = shaped(name, shape);
        if (t.type() == io.jseek.core.tensor.GgmlType.I32) {
            // Only index tables are integers (a damaged type field could otherwise turn weights into integers).
            throw new JseekException(source + ": tensor " + name + " is I32; weights are never integers");
        }
        return t;
    }

    /** An index table ({@code name}, I32) of 2-D rows of {@code rowLength} values: e.g. V4's token-id → experts table. */
    Tensor table(String name, long rowLength) {
        Tensor t = file.hasTensor(name) ? file.tensor(name) : null;
        t = shaped(name, rowLength, t == null || t.dims() != 2 ? 0 : t.dim(1));
        if (t.type() != io.jseek.core.tensor.GgmlType.I32) {
            throw new JseekException(source + ": tensor " + name + " is " + t.type() + "; an index table is I32");
        }
        return t;
    }

    private Tensor shaped(String name, long... shape) {
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

    /** A matrix to multiply by: the tensor {@code name} (this exact shape), packed when its type allows. */
    Matrix matrix(String name, long... shape) {
        return packed(tensor(name, shape));
    }

    /**
     * The {@code count} matrices ({@code cols × rows} each) of the stacked tensor {@code name}, e.g. the routed
     * experts of {@code ffn_*_exps}, each packed when its type allows: views of a GGUF's stack, or a Hugging Face
     * directory's per-expert tensors as stored ({@link TensorSource#matrices}; nothing copied together).
     */
    Matrix[] matrices(String name, long cols, long rows, int count) {
        if (!file.hasTensor(name)) {
            throw new JseekException(source + ": tensor " + name + " is missing");
        }
        java.util.List<Tensor> ts = file.matrices(name);
        if (ts.size() != count) {
            throw new JseekException(source + ": tensor " + name + " has " + ts.size() + " matrices, expected " + count);
        }
        Matrix[] out = new Matrix[count];
        for (int i = 0; i < count; i++) {
            Tensor t = ts.get(i);
            if (t.type() == io.jseek.core.tensor.GgmlType.I32) {
                throw new JseekException(source + ": tensor " + name + " is I32; weights are never integers");
            }
            if (!Arrays.equals(t.shape(), new long[] {cols, rows})) {
                throw new JseekException(source + ": tensor " + t.name() + " has shape " + Arrays.toString(t.shape())
                        + ", expected " + Arrays.toString(new long[] {cols, rows}));
            }
            out[i] = packed(t);
        }
        return out;
    }

    /**
     * {@code t} packed for the integer kernels, or {@code t} itself when its type cannot be (or packing is off).
     * The file's pages of a packed tensor are then dropped from this process's memory (they stay in the
     * page cache, and come back if the tensor is read again), so that resident memory holds one copy.
     */
    Matrix packed(Tensor t) {
        return packed(t, true);
    }

    /** As {@link #packed(Tensor)}; {@code unload} false keeps the file's pages (a tensor also read row by row). */
    Matrix packed(Tensor t, boolean unload) {
        if (!pack || !PackedMatrix.canPack(t)) {
            return t;
        }
        PackedMatrix p = PackedMatrix.allocate(t, file::allocate);
        AtomicBoolean finite = new AtomicBoolean(true);
        pool.forRange(Math.toIntExact(p.groups()), (from, to) -> {
            if (!p.packGroups(from, to)) {
                finite.set(false);
            }
        });
        if (!finite.get()) {
            // A scale is infinite or NaN: keep the tensor as stored, whose kernels give ggml's result.
            return t;
        }
        packedBytes += p.byteSize();
        if (unload && t.data().isMapped()) {
            t.data().unload();
        }
        return p;
    }

    /** Bytes taken by packed copies so far. */
    long packedBytes() {
        return packedBytes;
    }

    /** A 2-D tensor with rows of {@code rowLength} values and any number of rows (e.g. one per token). */
    Tensor rows(String name, long rowLength) {
        Tensor t = file.hasTensor(name) ? file.tensor(name) : null;
        if (t == null || t.dims() != 2) {
            return tensor(name, rowLength, t == null ? 0 : t.dim(1));
        }
        return tensor(name, rowLength, t.dim(1));
    }

    /** A small vector (norm weights, biases) decoded to floats once at load. */
    float[] vector(String name, long n) {
        return tensor(name, n).dequantize();
    }

    /** Accepts the tensor {@code name}, if present, as part of the model without using it. */
    void ignore(String name) {
        if (file.hasTensor(name)) {
            file.tensor(name);
        }
    }

    float[] optionalVector(String name, long n) {
        return file.hasTensor(name) ? vector(name, n) : null;
    }
}
