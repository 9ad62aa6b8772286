package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector shapes the fused kernels use: the preferred float species (8 or 16 lanes) and 16-byte loads
 * widened to it. Kernels are written for any float species of 4 to 16 lanes; 16 values of a block are
 * processed as {@code 16 / F.length()} float vectors. Loaded only when {@link io.jseek.core.VectorApi#USABLE}, which
 * also checks the lane count.
 */
final class Simd {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Float vectors per 16 values. */
    static final int PARTS = 16 / F.length();

    private Simd() {
    }

    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    /**
     * Part {@code p} of 16 byte lanes as ints (sign-extended), one float vector's worth. Nibble and bit
     * fields are then cut with int shifts and masks: x86 has no byte shifts, so doing it on bytes is slow.
     * (Widening bytes straight to floats with convertShape was seen to box vectors in some compiled
     * contexts, i.e. to allocate per call; this path does not.)
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
}
