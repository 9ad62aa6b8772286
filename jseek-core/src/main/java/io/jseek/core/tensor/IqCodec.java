package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The grid i-quants (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S): super-blocks of 256 values in 32
 * groups of 8, each group a point of an {@link IqGrid} times a scale:
 * <ul>
 * <li>signed types (IQ2, IQ3): value j of group g = scale_g · point_g[j] · (bit j of sign_g ? −1 : +1);
 * <li>shifted types (IQ1): value j of group g = scale_g · (point_g[j] + delta_g), with points in {−1, 0, 1}.
 * </ul>
 * IQ3's points are 4 wide, so a group is two points. A subclass reads its block layout into {@link Groups}
 * ({@link #read}), from which the one scalar decoder here evaluates in ggml's order, so it matches ggml's
 * {@code to_float} bit for bit. Each subclass also has its own fused dot kernel that reads the layout in
 * the loop (a round trip through {@link Groups} measured at half the speed): per group the point and its
 * signs as vector loads from the float tables, times the scale, into four accumulator chains, one
 * reduction per row.
 */
abstract class IqCodec implements BlockCodec {
    static final int QK = 256;
    static final int GROUPS = QK / 8;
    private static final ThreadLocal<Groups> GROUPS_OF_THREAD = ThreadLocal.withInitial(Groups::new);

    /** One super-block read: per group g the grid point(s), the sign byte, the scale and (IQ1) the shift. */
    static final class Groups {
        /** Point of group g at [g]; for 4-wide grids the two points at [2g] and [2g + 1]. */
        final int[] point = new int[2 * GROUPS];
        final int[] signs = new int[GROUPS];
        final float[] scale = new float[GROUPS];
        final float[] delta = new float[GROUPS];
    }

    private final IqGrid grid;
    private final int blockBytes;
    private final boolean shifted;
    private final Kernel kernel;

    /** A subclass's fused dot kernel (its nested {@code Lanes.dot}): the grid's points, then {@link BlockCodec#dot}'s arguments. */
    @FunctionalInterface
    interface Kernel {
        float dot(float[] points, MemorySegment src, long offset, float[] x, int xOff, int n);
    }

    /** {@code kernel}: the subclass's fused dot, or null without the Vector API (then the scalar decoder and a dot product). */
    IqCodec(IqGrid grid, int blockBytes, boolean shifted, Kernel kernel) {
        this.grid = grid;
        this.blockBytes = blockBytes;
        this.shifted = shifted;
        this.kernel = kernel;
    }

    @Override
    public final float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        return kernel != null ? kernel.dot(grid.values, src, offset, x, xOff, n) : BlockCodec.super.dot(src, offset, x, xOff, n);
    }

    /** Reads the super-block at {@code o} into {@code g}. */
    abstract void read(MemorySegment src, long o, Groups g);

    @Override
    public final void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Groups g = GROUPS_OF_THREAD.get();
        float[] points = grid.values;
        for (int b = 0; b < n / QK; b++) {
            read(src, offset + (long) b * blockBytes, g);
            for (int k = 0, y = dstOffset + b * QK; k < GROUPS; k++, y += 8) {
                float scale = g.scale[k];
                // The group's 8 values are one 8-wide point, or two 4-wide points side by side.
                int at0 = grid.width == 8 ? 8 * g.point[k] : 4 * g.point[2 * k];
                int at4 = grid.width == 8 ? at0 + 4 : 4 * g.point[2 * k + 1];
                for (int j = 0; j < 8; j++) {
                    int at = j < 4 ? at0 + j : at4 + j - 4;
                    dst[y + j] = shifted ? scale * (points[at] + g.delta[k]) : scale * points[at] * IqGrid.SIGNS[8 * g.signs[k] + j];
                }
            }
        }
    }

    /**
     * One group's product, shared by the subclasses' kernels, which are nested classes extending this one (so they
     * name these unqualified); loaded only when {@link io.jseek.core.VectorApi#USABLE}. Small enough that C2
     * inlines them into the loop, so the vectors stay in registers.
     */
    abstract static class GroupLanes {
        static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
        static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;

        /** acc + (point · signs · scale) × x[xi..xi+8) for an 8-wide point; signRow: the sign byte's row in {@link IqGrid#SIGNS}. */
        static FloatVector signed8(float[] points, int point, int signRow, FloatVector scale, float[] x, int xi, FloatVector acc) {
            return FloatVector.fromArray(F8, points, 8 * point).mul(FloatVector.fromArray(F8, IqGrid.SIGNS, signRow))
                    .mul(scale).fma(FloatVector.fromArray(F8, x, xi), acc);
        }

        /** acc + ((point + delta) · scale) × x[xi..xi+8) for an IQ1 point. */
        static FloatVector shifted8(float[] points, int point, float delta, FloatVector scale, float[] x, int xi, FloatVector acc) {
            return FloatVector.fromArray(F8, points, 8 * point).add(delta).mul(scale).fma(FloatVector.fromArray(F8, x, xi), acc);
        }

        /** acc + (point · signs · scale) × x[xi..xi+4) for a 4-wide point; signAt: its 4 signs' place in {@link IqGrid#SIGNS}. */
        static FloatVector signed4(float[] points, int point, int signAt, FloatVector scale, float[] x, int xi, FloatVector acc) {
            return FloatVector.fromArray(F4, points, 4 * point).mul(FloatVector.fromArray(F4, IqGrid.SIGNS, signAt))
                    .mul(scale).fma(FloatVector.fromArray(F4, x, xi), acc);
        }

        static float sum(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
            return io.jseek.core.kernel.LaneSums.sum(a0.add(a1).add(a2.add(a3)));
        }
    }
}
