package io.jseek.core.tensor;

/**
 * A weight matrix the matmul multiplies by: a tensor as the file stores it, or a {@link PackedMatrix} copy of
 * one laid out for the integer kernels. Rows and row length are the tensor's (a 3-D tensor's matrices are
 * stacked: row r of matrix k is row k·dim(1) + r).
 */
public sealed interface Matrix permits Tensor, PackedMatrix {

    /** The tensor as stored in the file. */
    Tensor tensor();

    default String name() {
        return tensor().name();
    }

    default GgmlType type() {
        return tensor().type();
    }

    default int rowLength() {
        return tensor().rowLength();
    }

    default long rowCount() {
        return tensor().rowCount();
    }
}
