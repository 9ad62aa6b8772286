package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector shapes the fused kernels use: the preferred float species (8 or 16 lanes) and 16-byte loads
 * widened to it. Kernels are written for any float species of 4 to 16 lanes; 16 values of a block are
 * processed as {@code 16 / F.length()} float vectors.
 */
final class Simd {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Float vectors per 16 values. */
    static final int PARTS = 16 / F.length();
    static final boolean USABLE = F.length() >= 4 && F.length() <= 16;

    private Simd() {
    }

    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    /**
     * Part {@code p} of 16 byte lanes as ints (sign-extended), one float vector's worth. Nibble and bit
     * fields are then cut with int shifts and masks: x86 has no byte shifts, so doing it on bytes is slow.
     */
    static IntVector widen(ByteVector v, int p) {
        return (IntVector) v.castShape(I, p);
    }

    /** Int lanes as floats. */
    static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.castShape(F, 0);
    }

    /** 16 bytes at {@code offset}. */
    static ByteVector load16(MemorySegment s, long offset) {
        return ByteVector.fromMemorySegment(B16, s, offset, ByteOrder.LITTLE_ENDIAN);
    }

    /** Part {@code p} (of {@link #PARTS}) of 16 byte lanes, as floats. */
    static FloatVector toFloat(ByteVector v, int p) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, p);
    }

    /**
     * acc + Σ over the 16 values q (signed bytes) times x[xOff..xOff+16), as a vector (not reduced).
     */
    static FloatVector dot16(ByteVector q, float[] x, int xOff, FloatVector acc) {
        for (int p = 0; p < PARTS; p++) {
            acc = toFloat(q, p).fma(FloatVector.fromArray(F, x, xOff + p * F.length()), acc);
        }
        return acc;
    }

    /** acc + Σ x[xOff..xOff+n) as a vector; n a multiple of the lane count. */
    static FloatVector sum(float[] x, int xOff, int n, FloatVector acc) {
        for (int i = 0; i < n; i += F.length()) {
            acc = acc.add(FloatVector.fromArray(F, x, xOff + i));
        }
        return acc;
    }
}
