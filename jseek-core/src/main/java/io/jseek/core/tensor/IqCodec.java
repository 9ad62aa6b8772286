package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The grid i-quants (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S): super-blocks of 256 values in 32
 * groups of 8, each group a point of an {@link IqGrid} times a scale. A subclass only reads its block layout
 * into {@link Groups} ({@link #read}); decoding and the fused dot product are the same for all of them:
 * <ul>
 * <li>signed types (IQ2, IQ3): value j of group g = scale_g · point_g[j] · (bit j of sign_g ? −1 : +1);
 * <li>shifted types (IQ1): value j of group g = scale_g · (point_g[j] + delta_g), with points in {−1, 0, 1}.
 * </ul>
 * IQ3's points are 4 wide, so a group is two points. The scalar decoder evaluates in ggml's order, so it
 * matches ggml's {@code to_float} bit for bit.
 */
abstract class IqCodec implements BlockCodec {
    static final int QK = 256;
    static final int GROUPS = QK / 8;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
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

    IqCodec(IqGrid grid, int blockBytes, boolean shifted) {
        this.grid = grid;
        this.blockBytes = blockBytes;
        this.shifted = shifted;
    }

    /** Reads the super-block at {@code o} into {@code g}. */
    abstract void read(MemorySegment src, long o, Groups g);

    @Override
    public final void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        Groups g = GROUPS_OF_THREAD.get();
        float[] points = grid.values;
        for (int b = 0; b < n / QK; b++) {
            read(src, offset + (long) b * blockBytes, g);
            int y = dstOffset + b * QK;
            for (int k = 0; k < GROUPS; k++, y += 8) {
                float scale = g.scale[k];
                for (int j = 0; j < 8; j++) {
                    float v = grid.width == 8 ? points[8 * g.point[k] + j] : points[4 * g.point[2 * k + j / 4] + j % 4];
                    dst[y + j] = shifted ? scale * (v + g.delta[k]) : scale * v * IqGrid.SIGNS[8 * g.signs[k] + j];
                }
            }
        }
    }

    /**
     * Per group: the point and its signs (or shift) loaded as vectors from the float tables, times the scale,
     * fused with 8 activations; one reduction per super-block. Only the group fields are read scalar (32 per
     * 256 values).
     */
    @Override
    public final float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        if (!Simd.USABLE) {
            return BlockCodec.super.dot(src, offset, x, xOff, n);
        }
        Groups g = GROUPS_OF_THREAD.get();
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            read(src, offset + (long) b * blockBytes, g);
            int xi = xOff + b * QK;
            sum += grid.width == 4 ? signed4(g, x, xi) : shifted ? shifted8(g, x, xi) : signed8(g, x, xi);
        }
        return sum;
    }

    private float signed8(Groups g, float[] x, int xi) {
        float[] points = grid.values;
        FloatVector acc = FloatVector.zero(F8);
        for (int k = 0; k < GROUPS; k++) {
            FloatVector w = FloatVector.fromArray(F8, points, 8 * g.point[k])
                    .mul(FloatVector.fromArray(F8, IqGrid.SIGNS, 8 * g.signs[k]));
            acc = w.mul(FloatVector.fromArray(F8, x, xi + 8 * k)).fma(FloatVector.broadcast(F8, g.scale[k]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private float shifted8(Groups g, float[] x, int xi) {
        float[] points = grid.values;
        FloatVector acc = FloatVector.zero(F8);
        for (int k = 0; k < GROUPS; k++) {
            FloatVector w = FloatVector.fromArray(F8, points, 8 * g.point[k]).add(g.delta[k]);
            acc = w.mul(FloatVector.fromArray(F8, x, xi + 8 * k)).fma(FloatVector.broadcast(F8, g.scale[k]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private float signed4(Groups g, float[] x, int xi) {
        float[] points = grid.values;
        FloatVector acc = FloatVector.zero(F4);
        for (int k = 0; k < GROUPS; k++) {
            int s = 8 * g.signs[k];
            FloatVector lo = FloatVector.fromArray(F4, points, 4 * g.point[2 * k])
                    .mul(FloatVector.fromArray(F4, IqGrid.SIGNS, s))
                    .mul(FloatVector.fromArray(F4, x, xi + 8 * k));
            FloatVector hi = FloatVector.fromArray(F4, points, 4 * g.point[2 * k + 1])
                    .mul(FloatVector.fromArray(F4, IqGrid.SIGNS, s + 4))
                    .fma(FloatVector.fromArray(F4, x, xi + 8 * k + 4), lo);
            acc = hi.fma(FloatVector.broadcast(F4, g.scale[k]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
