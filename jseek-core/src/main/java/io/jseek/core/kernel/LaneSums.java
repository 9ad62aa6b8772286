package io.jseek.core.kernel;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sum of a vector's lanes in one fixed order: the upper half added to the lower half until one lane is left.
 * {@code reduceLanes(ADD)} leaves the order to the implementation, and the JDK's differs between the interpreter
 * (lane after lane) and compiled code (a tree): the same product then rounds differently before and after the JIT
 * compiles a kernel, so a JVM's first results and a warm JVM's could differ in the last bits — enough to tip a
 * sampled token, and against batch-invariant results on a cluster of JVMs in different states. Lane-wise adds and
 * permutes are exact in every tier, so this sum is the same everywhere. (Used only by Vector API code: see
 * {@link io.jseek.core.VectorApi}.)
 */
public final class LaneSums {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int FN = F.length();
    private static final int DN = D.length();
    // Lane i takes lane i + h: constants, and the steps written out, so compiled code keeps the vector in a register
    // (a loop over an array of shuffles made it box the vector every step).
    // Public for kernels that fold several vectors at once in this order, in registers (see Q8_0Codec's dot2x4).
    public static final VectorShuffle<Float> F8 = shuffle(F, 8);
    public static final VectorShuffle<Float> F4 = shuffle(F, 4);
    public static final VectorShuffle<Float> F2 = shuffle(F, 2);
    public static final VectorShuffle<Float> F1 = shuffle(F, 1);
    private static final VectorShuffle<Double> D4 = shuffle(D, 4);
    private static final VectorShuffle<Double> D2 = shuffle(D, 2);
    private static final VectorShuffle<Double> D1 = shuffle(D, 1);

    private LaneSums() {
    }

    public static float sum(FloatVector v) {
        if (v.species() != F) {
            return slow(v);
        }
        if (FN >= 16) {
            v = v.add(v.rearrange(F8));
        }
        if (FN >= 8) {
            v = v.add(v.rearrange(F4));
        }
        if (FN >= 4) {
            v = v.add(v.rearrange(F2));
        }
        if (FN >= 2) {
            v = v.add(v.rearrange(F1));
        }
        return v.lane(0);
    }

    public static double sum(DoubleVector v) {
        if (v.species() != D) {
            double[] a = v.toArray();
            return pairwise(a);
        }
        if (DN >= 8) {
            v = v.add(v.rearrange(D4));
        }
        if (DN >= 4) {
            v = v.add(v.rearrange(D2));
        }
        if (DN >= 2) {
            v = v.add(v.rearrange(D1));
        }
        return v.lane(0);
    }

    /**
     * The sum of {@code a[off, off + n)} ({@code n} a power of two) in the same order as {@link #sum(FloatVector)}:
     * for kernels that spill accumulators to memory rather than pass vectors to a call. Overwrites the range.
     */
    public static float sum(float[] a, int off, int n) {
        for (int half = n / 2; half >= 1; half /= 2) {
            for (int i = 0; i < half; i++) {
                a[off + i] += a[off + i + half];
            }
        }
        return a[off];
    }

    /** Another species (not used by the kernels): the same order, on an array. */
    private static float slow(FloatVector v) {
        float[] a = v.toArray();
        return sum(a, 0, a.length);
    }

    /** Doubles of another species: the same order, on an array. */
    private static double pairwise(double[] a) {
        for (int half = a.length / 2; half >= 1; half /= 2) {
            for (int i = 0; i < half; i++) {
                a[i] += a[i + half];
            }
        }
        return a[0];
    }

    private static <E> VectorShuffle<E> shuffle(VectorSpecies<E> species, int h) {
        int n = species.length();
        return VectorShuffle.fromOp(species, i -> (i + h) % n);
    }
}
