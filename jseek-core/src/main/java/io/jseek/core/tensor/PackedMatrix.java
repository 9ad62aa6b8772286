package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * A copy of a 4- to 6-bit quantized matrix laid out for integer kernels: rows interleaved in groups of
 * {@value #GROUP}, so a vector holds one value of every row of a group and the kernels accumulate each
 * row in its own lane — no horizontal sums, and each row's block scales applied to a whole vector at once.
 *
 * <p>Why (docs/architecture.md, "Packed weights"): a float kernel must widen and convert every weight to
 * a float before an FMA; here 16-bit multiplies take 32 weights per instruction against activations
 * quantized to int8 ({@link PackedActivation}), and sums stay in 16 bits for a whole run of columns before
 * being widened once. Measured on Zen 4, one core, Q4_K: 34 against 8 billion weights per second.
 *
 * <p>Layout, per group of 16 rows and per superblock of columns (see {@link PackedLayout}), all little-endian:
 * D[16] f16, M[16] f16 (types with mins), s[sub][16] int8 and m[sub][16] int8 (K types), then the byte
 * pairs: pair k of row r at {@code 32k + 2r}. A group's superblocks follow each other, so a group is one
 * contiguous stream; a 3-D tensor is packed matrix by matrix, each padded to whole groups with zero rows.
 *
 * <p>Overflow: 4-bit products are at most 15·127 and a run adds at most 16 of them per lane; 6-bit values
 * are centred to [−32, 31] and a run adds at most 8 products of at most 32·127. Both stay below 2^15.
 */
public abstract sealed class PackedMatrix implements Matrix permits PackedMatrix.Lanes {
    /** Rows per group. */
    public static final int GROUP = 16;

    /** True when matrices are packed: the Vector API is usable and its vectors are 256 or 512 bits. */
    public static final boolean SUPPORTED = VectorApi.USABLE && Lanes.SUPPORTED;


    final Tensor source;
    final PackedLayout layout;
    final PackedLayout.Packable codec;
    final int rowLength;
    final int rowsPerMatrix;
    final long groupsPerMatrix;
    final int superblocks;
    final int subBlocks;
    final int runs;
    final int mOff;
    final int sOff;
    final int mnOff;
    final int pairsOff;
    final int sbBytes;
    final long groupBytes;
    final long groups;
    final MemorySegment data;

    /** The integer kernel for this layout. */
    enum Kernel { BLOCKS4, KQUANT4, BYTES8 }

    final Kernel kernel;

    /*
     * Where the kernels read s, m and M, chosen once per matrix so that the kernels themselves have no
     * branch on the layout: a branch one matrix never takes is compiled as a trap, and each trap throws
     * the compiled kernel away (while it is recompiled it runs slowly and allocates). Types without
     * sub-block scales read 1s (stride 0), types without mins read M = 0.
     */
    private static final MemorySegment ONES = java.lang.foreign.Arena.global().allocate(64)
            .fill((byte) 1);
    private static final MemorySegment ZEROS = java.lang.foreign.Arena.global().allocate(64);
    final MemorySegment scaleData;
    /** 1 when scaleData is this matrix's own data (offsets then count from the superblock), else 0; likewise for the others. */
    final long scaleInData;
    final long scaleOff;
    final int scaleStride;
    final MemorySegment minData;
    final long minInData;
    final long minOff;
    final int minStride;
    final MemorySegment minScaleData;
    final long minScaleInData;
    final long minScaleOff;
    /** Sub-blocks the epilogue sums Σ s·XQ over (0 when centre = zero), and Σ m·XQ (0 without mins). */
    final int scaleSubs;
    final int minSubs;
    /** 1 for K types (min term M·Σ m·XQ·dx), else 0. */
    final float integerMins;
    /** 1 for Q4_1 and Q5_1 (llama.cpp's Q8_1 min term M·s), else 0. */
    final float floatMins;

    /** Where packed copies get their memory: {@code bytes} with the given alignment. */
    @FunctionalInterface
    public interface Allocator {
        MemorySegment allocate(long bytes, long alignment);
    }

    PackedMatrix(Tensor source, Allocator memory) {
        this.source = source;
        this.codec = (PackedLayout.Packable) source.type().codec();
        this.layout = codec.layout();
        this.rowLength = source.rowLength();
        this.rowsPerMatrix = Math.toIntExact(source.dim(1));
        this.groupsPerMatrix = (rowsPerMatrix + GROUP - 1) / GROUP;
        this.superblocks = rowLength / layout.superblock();
        this.subBlocks = layout.subBlocks();
        this.runs = layout.runs();
        this.mOff = 2 * GROUP;
        this.sOff = mOff + (layout.mins() ? 2 * GROUP : 0);
        this.mnOff = sOff + (layout.subScales() ? subBlocks * GROUP : 0);
        this.pairsOff = mnOff + (layout.subScales() && layout.mins() ? subBlocks * GROUP : 0);
        this.sbBytes = pairsOff + 2 * GROUP * layout.pairsPerSuperblock();
        this.groupBytes = (long) sbBytes * superblocks;
        long matrices = source.rowCount() / Math.max(1, rowsPerMatrix);
        this.groups = Math.multiplyExact(matrices, groupsPerMatrix);
        this.data = memory.allocate(Math.multiplyExact(groups, groupBytes), 64);
        boolean scaled = layout.subScales();
        this.scaleData = scaled ? data : ONES;
        this.scaleInData = scaled ? 1 : 0;
        this.scaleOff = scaled ? sOff : 0;
        this.scaleStride = scaled ? GROUP : 0;
        this.minData = scaled && layout.mins() ? data : ONES;
        this.minInData = scaled && layout.mins() ? 1 : 0;
        this.minOff = scaled && layout.mins() ? mnOff : 0;
        this.minStride = scaled && layout.mins() ? GROUP : 0;
        this.minScaleData = layout.mins() ? data : ZEROS;
        this.minScaleInData = layout.mins() ? 1 : 0;
        this.minScaleOff = layout.mins() ? mOff : 0;
        this.scaleSubs = layout.centre() != layout.zero() ? subBlocks : 0;
        this.minSubs = layout.mins() ? subBlocks : 0;
        this.integerMins = scaled ? 1 : 0;
        this.floatMins = !scaled && layout.mins() ? 1 : 0;
        this.kernel = layout.bits() == 8 ? Kernel.BYTES8 : scaled ? Kernel.KQUANT4 : Kernel.BLOCKS4;
    }

    /** True when {@code t} can be packed: a packable type, vectors of 256 or 512 bits, a 2-D or 3-D matrix. */
    public static boolean canPack(Tensor t) {
        return SUPPORTED && t.type().isSupported() && t.type().codec() instanceof PackedLayout.Packable
                && t.dims() >= 2 && t.dims() <= 3 && t.dim(1) > 0 && t.rowLength() > 0;
    }

    /**
     * Space for the packed copy of {@code t} from {@code memory} (which owns it, e.g. an arena or the GGUF
     * file); fill it with {@link #packGroups} over [0, {@link #groups()}), from any number of threads.
     */
    public static PackedMatrix allocate(Tensor t, Allocator memory) {
        if (!canPack(t)) {
            throw new IllegalArgumentException("tensor " + t.name() + " (" + t.type() + ") cannot be packed");
        }
        return new Lanes(t, memory);
    }

    @Override
    public Tensor tensor() {
        return source;
    }

    public PackedLayout layout() {
        return layout;
    }

    /** Groups of {@value #GROUP} rows, over all matrices. */
    public long groups() {
        return groups;
    }

    /** Bytes of the packed copy. */
    public long byteSize() {
        return data.byteSize();
    }

    /** The group holding row {@code row} (which must start a group: a multiple of 16 within its matrix). */
    public long groupOf(long row) {
        return row / rowsPerMatrix * groupsPerMatrix + row % rowsPerMatrix / GROUP;
    }

    /** True when rows [row, row + rows) are whole groups of one matrix, or end at the matrix's end. */
    public boolean coversGroups(long row, int rows) {
        long within = row % rowsPerMatrix;
        return within % GROUP == 0 && within + rows <= rowsPerMatrix
                && (rows % GROUP == 0 || within + rows == rowsPerMatrix);
    }

    /** Rows of group {@code g} that exist (the last group of a matrix may be partly padding). */
    public int rowsIn(long g) {
        return (int) Math.min(GROUP, rowsPerMatrix - g % groupsPerMatrix * GROUP);
    }

    /**
     * Packs groups [from, to). Returns false, writing nothing more, if a scale is not finite (the caller
     * then keeps the tensor as stored, whose kernels reproduce ggml's infinities and NaNs).
     */
    public boolean packGroups(long from, long to) {
        PackedLayout.Superblock sb = new PackedLayout.Superblock(layout);
        byte[] buf = new byte[Math.toIntExact(groupBytes)];
        long srcRowBytes = source.rowBytes();
        long blockBytes = source.type().bytesFor(layout.superblock());
        int pairs = layout.pairsPerSuperblock();
        for (long g = from; g < to; g++) {
            long matrix = g / groupsPerMatrix;
            int firstRow = (int) (g % groupsPerMatrix * GROUP);
            int rows = rowsIn(g);
            if (rows < GROUP) {
                java.util.Arrays.fill(buf, (byte) 0);
            }
            for (int r = 0; r < rows; r++) {
                long src = (matrix * rowsPerMatrix + firstRow + r) * srcRowBytes;
                for (int b = 0, at = 0; b < superblocks; b++, at += sbBytes) {
                    codec.unpack(source.data(), src + b * blockBytes, sb);
                    if (!finite(sb.d) || layout.mins() && !finite(sb.m)) {
                        return false;
                    }
                    SHORTS.set(buf, at + 2 * r, sb.d);
                    if (layout.mins()) {
                        SHORTS.set(buf, at + mOff + 2 * r, sb.m);
                    }
                    if (layout.subScales()) {
                        for (int j = 0; j < subBlocks; j++) {
                            buf[at + sOff + GROUP * j + r] = sb.scales[j];
                            if (layout.mins()) {
                                buf[at + mnOff + GROUP * j + r] = sb.mins[j];
                            }
                        }
                    }
                    for (int k = 0, p = at + pairsOff + 2 * r; k < pairs; k++, p += 2 * GROUP) {
                        SHORTS.set(buf, p, sb.pairs[k]);
                    }
                }
            }
            MemorySegment.copy(buf, 0, data, java.lang.foreign.ValueLayout.JAVA_BYTE, g * groupBytes, buf.length);
        }
        return true;
    }

    private static final java.lang.invoke.VarHandle SHORTS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    private static boolean finite(short f16) {
        return (f16 & 0x7C00) != 0x7C00;
    }

    /**
     * y[yOff + i] = row i of group {@code g} · x for the group's rows, x given as {@code a} (quantized for
     * this matrix's layout).
     */
    public abstract void dotGroup(long g, PackedActivation a, float[] y, int yOff);

    /**
     * {@link #dotGroup} for tokens [0, tokens) of {@code a} into {@code y[t][yOff ..]}, four and two at a time
     * ({@link #dotGroup4}, {@link #dotGroup2}): the same results as one by one, bit for bit.
     */
    public final void dotGroup(long g, PackedActivation[] a, int tokens, float[][] y, int yOff) {
        int t = 0;
        for (; t + 3 < tokens; t += 4) {
            dotGroup4(g, a, t, y, yOff);
        }
        for (; t + 1 < tokens; t += 2) {
            dotGroup2(g, a[t], a[t + 1], y[t], yOff, y[t + 1], yOff);
        }
        if (t < tokens) {
            dotGroup(g, a[t], y[t], yOff);
        }
    }

    /**
     * {@link #dotGroup} for two tokens at once: each weight vector loaded and unpacked once for both (a verify pass
     * or a small batch pays the decoding once), each token's sums computed exactly as {@link #dotGroup} computes them,
     * so the results are the one-token results bit for bit.
     */
    public abstract void dotGroup2(long g, PackedActivation a, PackedActivation b, float[] ya, int yaOff, float[] yb,
                                   int ybOff);

    /** {@link #dotGroup2} for tokens [t0, t0 + 4) of {@code a} into {@code y[t][yOff ..]}. */
    abstract void dotGroup4(long g, PackedActivation[] a, int t0, float[][] y, int yOff);

    /**
     * Decodes columns [c0, c1) (whole superblocks) of group {@code g} into {@code panel[(c − c0)·16 + i]} =
     * row i, column c (column-major), bit for bit as ggml decodes the stored blocks: (D·s)·(q − zero) − M·m.
     */
    public abstract void decodeGroup(long g, int c0, int c1, float[] panel);

    /**
     * The Vector API kernels, the one implementation: loaded only when {@link VectorApi#USABLE} (see there); without
     * it nothing is packed ({@link #canPack}) and the stored tensors' own kernels run.
     */
    static final class Lanes extends PackedMatrix {
        private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
        private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
        private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
        /** Rows of a group per vector. */
        private static final int L = F.length();
        private static final int PARTS = GROUP / Math.max(1, L);
        private static final VectorSpecies<Byte> HALF_BYTES = L >= 8
                ? VectorSpecies.of(byte.class, VectorShape.forBitSize(16 * L)) : null;
        private static final VectorSpecies<Byte> QUARTER_BYTES = L >= 8
                ? VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * L)) : null;
        private static final VectorSpecies<Short> HALF_SHORTS = L >= 8
                ? VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L)) : null;
        private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

        /** True when the platform's vectors suit these kernels (256- or 512-bit). */
        static final boolean SUPPORTED = L == 8 || L == 16;

        Lanes(Tensor source, Allocator memory) {
            super(source, memory);
        }

        // ---- kernels
        //
        // Every vector operation is written out in the kernel method itself, not in small helpers of ours: the
        // Vector API's own methods are force-inlined whatever the size of the method they land in, but an
        // ordinary helper is not inlined once that method has grown past the compiler's limit (DesiredMethodLimit,
        // which the force-inlined code counts towards), and a vector passed to or returned from a call that is
        // not inlined is allocated. Kernels are also longer than the compiler's limit for inlining a hot method
        // (FreqInlineSize, 325 bytes of bytecode), so each is compiled on its own rather than into its caller.
        //
        // Recurring expressions: ZERO_EXTEND_B2S of 2L bytes gives each row's byte pair as two 16-bit lanes;
        // castShape sign-extends (convertShape(B2I/B2S) and convert(I2F) are not intrinsified on JDK 25 and
        // allocate); an int broadcast seen as shorts gives every row the same activation pair; a row's two 16-bit
        // sums are added as (v << 16 >> 16) + (v >> 16) on the int view; f16 D and M become floats as
        // bits((h << 17) >>> 4 | (h << 16 & sign)) · 2^112, exact for normal and subnormal values.

        // ---- one token

        /** Each thread's buffers between kernel stages: a run's 16-bit sums, a superblock's dot products, the float sums. */
        private static final class Sums {
            final short[] runs = new short[4 * 2 * L];
            final int[] dots = new int[L];
            final float[] acc = new float[L];
        }

        private static final ThreadLocal<Sums> SUMS = ThreadLocal.withInitial(Sums::new);
        /** The second token's, for the two-token kernels. */
        private static final ThreadLocal<Sums> SUMS_B = ThreadLocal.withInitial(Sums::new);
        /** Four tokens' sums, for the four-token kernel. */
        private static final ThreadLocal<Sums[]> SUMS_4 = ThreadLocal.withInitial(
                () -> new Sums[] {new Sums(), new Sums(), new Sums(), new Sums()});

        @Override
        void dotGroup4(long g, PackedActivation[] a, int t0, float[][] y, int yOff) {
            if (kernel != Kernel.KQUANT4) {
                dotGroup2(g, a[t0], a[t0 + 1], y[t0], yOff, y[t0 + 1], yOff);
                dotGroup2(g, a[t0 + 2], a[t0 + 3], y[t0 + 2], yOff, y[t0 + 3], yOff);
                return;
            }
            int rows = rowsIn(g);
            Sums[] sums = SUMS_4.get();
            for (int part = 0; part < PARTS; part++) {
                for (Sums s : sums) {
                    java.util.Arrays.fill(s.acc, 0f);
                }
                kquant4x4(g, part, a, t0, sums);
                int valid = Math.min(L, rows - part * L);
                if (valid > 0) {
                    for (int k = 0; k < 4; k++) {
                        System.arraycopy(sums[k].acc, 0, y[t0 + k], yOff + part * L, valid);
                    }
                }
            }
        }

        /**
         * y[yOff + i] = row i of group {@code g} · x for the group's rows, x given as {@code a} (quantized for
         * this matrix's layout).
         */
        @Override
        public void dotGroup(long g, PackedActivation a, float[] y, int yOff) {
            int rows = rowsIn(g);
            Sums sums = SUMS.get();
            for (int part = 0; part < PARTS; part++) {
                java.util.Arrays.fill(sums.acc, 0f);
                switch (kernel) {
                    case BLOCKS4 -> blocks4(g, part, a, sums);
                    case KQUANT4 -> kquant4(g, part, a, sums);
                    case BYTES8 -> bytes8(g, part, a, sums);
                }
                int valid = Math.min(L, rows - part * L);
                if (valid > 0) {
                    System.arraycopy(sums.acc, 0, y, yOff + part * L, valid);
                }
            }
        }

        @Override
        public void dotGroup2(long g, PackedActivation a, PackedActivation b, float[] ya, int yaOff, float[] yb,
                              int ybOff) {
            if (kernel == Kernel.BLOCKS4) {
                // Everything of Q4_0 / Q4_1 stays in registers per token; two tokens would not fit them.
                dotGroup(g, a, ya, yaOff);
                dotGroup(g, b, yb, ybOff);
                return;
            }
            int rows = rowsIn(g);
            Sums sa = SUMS.get();
            Sums sb = SUMS_B.get();
            for (int part = 0; part < PARTS; part++) {
                java.util.Arrays.fill(sa.acc, 0f);
                java.util.Arrays.fill(sb.acc, 0f);
                if (kernel == Kernel.KQUANT4) {
                    kquant4x2(g, part, a, b, sa, sb);
                } else {
                    bytes8x2(g, part, a, b, sa, sb);
                }
                int valid = Math.min(L, rows - part * L);
                if (valid > 0) {
                    System.arraycopy(sa.acc, 0, ya, yaOff + part * L, valid);
                    System.arraycopy(sb.acc, 0, yb, ybOff + part * L, valid);
                }
            }
        }

        /*
         * The kernels: rows [part·L, part·L + L) of group g times the activation. Three stages, each its own
         * method and each small enough that the compiler inlines every vector operation into it (a vector
         * operation left as a real call allocates its vectors; one method doing all of it went over the inlining
         * budget): the run loop (16-bit products, per width), addRun (widen, scale by s, add to the superblock's
         * dot products), finishSuperblock (the float epilogue). Vectors never cross a call of ours: the stages
         * hand over through the small arrays of Sums.
         */

        /**
         * 4-bit types with one scale per 32 columns (Q4_0, Q4_1): everything in registers; per block the 8 byte
         * pairs, dx·D·(dot − zero·XQ), and for Q4_1 llama.cpp's Q8_1 min term −M·s.
         */
        private void blocks4(long g, int part, PackedActivation a, Sums sums) {
            int[] xp = a.pairs;
            int zeroShift = -layout.zero();
            boolean mins = layout.mins();
            long o = g * groupBytes + part * 2L * L;
            FloatVector acc = FloatVector.zero(F);
            int xi = 0;
            for (int b = 0; b < superblocks; b++, o += sbBytes) {
                ShortVector lo = ShortVector.zero(S);
                ShortVector hi = lo;
                long p = o + pairsOff;
                for (int k = 0; k < 8; k++, p += 2 * GROUP, xi += 2) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, data, p, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                    lo = v.and((short) 15).mul(IntVector.broadcast(I, xp[xi]).reinterpretAsShorts()).add(lo);
                    hi = v.lanewise(VectorOperators.LSHR, 4).mul(IntVector.broadcast(I, xp[xi + 1]).reinterpretAsShorts()).add(hi);
                }
                // Each lane holds at most 8 + 8 products of at most 15·127: lo + hi still fits in 16 bits.
                IntVector both = lo.add(hi).reinterpretAsInts();
                IntVector dot = both.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(both.lanewise(VectorOperators.ASHR, 16)).add(zeroShift * a.sums[b]);
                IntVector h = (IntVector) ShortVector.fromMemorySegment(HALF_SHORTS, data, o, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                FloatVector d = h.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4)
                        .or(h.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats().mul(0x1p112f);
                acc = ((FloatVector) dot.castShape(F, 0)).mul(d).fma(FloatVector.broadcast(F, a.scales[b]), acc);
                if (mins) {
                    IntVector hm = (IntVector) ShortVector.fromMemorySegment(HALF_SHORTS, data, o + mOff, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                    FloatVector m = hm.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4)
                            .or(hm.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats().mul(0x1p112f);
                    acc = m.fma(FloatVector.broadcast(F, -a.minTerms[b]), acc);
                }
            }
            acc.intoArray(sums.acc, 0);
        }

        /** 4-bit K types (Q4_K): runs of 16 byte pairs, each run's two sub-blocks scaled by s in registers. */
        private void kquant4(long g, int part, PackedActivation a, Sums sums) {
            int[] xp = a.pairs;
            int[] subs = layout.runSubs();
            int steps = layout.runLength();
            long o = g * groupBytes;
            int xi = 0;
            for (int b = 0; b < superblocks; b++, o += sbBytes) {
                IntVector dot = IntVector.zero(I);
                long p = o + pairsOff + part * 2L * L;
                long sc = o + sOff + part * L;
                for (int run = 0; run < runs; run++) {
                    ShortVector lo = ShortVector.zero(S);
                    ShortVector hi = lo;
                    for (int k = 0; k < steps; k++, p += 2 * GROUP, xi += 2) {
                        ShortVector v = (ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, data, p, LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                        lo = v.and((short) 15).mul(IntVector.broadcast(I, xp[xi]).reinterpretAsShorts()).add(lo);
                        hi = v.lanewise(VectorOperators.LSHR, 4).mul(IntVector.broadcast(I, xp[xi + 1]).reinterpretAsShorts()).add(hi);
                    }
                    IntVector l = lo.reinterpretAsInts();
                    IntVector u = hi.reinterpretAsInts();
                    IntVector sl = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, data, sc + GROUP * subs[2 * run], LE).castShape(I, 0);
                    IntVector su = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, data, sc + GROUP * subs[2 * run + 1], LE).castShape(I, 0);
                    dot = l.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(l.lanewise(VectorOperators.ASHR, 16)).mul(sl)
                            .add(u.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(u.lanewise(VectorOperators.ASHR, 16)).mul(su))
                            .add(dot);
                }
                dot.intoArray(sums.dots, 0);
                finishSuperblock(o, part, b, a, sums);
            }
        }

        /** The byte layout (5- and 6-bit types): runs of centred signed values, each run scaled by its sub-block's s. */
        private void bytes8(long g, int part, PackedActivation a, Sums sums) {
            int[] xp = a.pairs;
            int[] subs = layout.runSubs();
            int steps = layout.runLength();
            long o = g * groupBytes;
            int xi = 0;
            for (int b = 0; b < superblocks; b++, o += sbBytes) {
                IntVector dot = IntVector.zero(I);
                long p = o + pairsOff + part * 2L * L;
                long sc = o * scaleInData + scaleOff + part * L;
                for (int run = 0; run < runs; run++) {
                    ShortVector acc = ShortVector.zero(S);
                    for (int k = 0; k < steps; k++, p += 2 * GROUP, xi++) {
                        ShortVector v = (ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, data, p, LE).castShape(S, 0);
                        acc = v.mul(IntVector.broadcast(I, xp[xi]).reinterpretAsShorts()).add(acc);
                    }
                    IntVector w = acc.reinterpretAsInts();
                    IntVector s = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, scaleData, sc + (long) scaleStride * subs[run], LE)
                            .castShape(I, 0);
                    dot = w.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(w.lanewise(VectorOperators.ASHR, 16))
                            .mul(s).add(dot);
                }
                dot.intoArray(sums.dots, 0);
                finishSuperblock(o, part, b, a, sums);
            }
        }

        /** kquant4 for two tokens: each byte vector loaded and split into nibbles once, the products per token. */
        private void kquant4x2(long g, int part, PackedActivation a, PackedActivation a2, Sums sums, Sums sums2) {
            int[] xp = a.pairs;
            int[] xp2 = a2.pairs;
            int[] subs = layout.runSubs();
            int steps = layout.runLength();
            long o = g * groupBytes;
            int xi = 0;
            for (int b = 0; b < superblocks; b++, o += sbBytes) {
                IntVector dot = IntVector.zero(I);
                IntVector dot2 = dot;
                long p = o + pairsOff + part * 2L * L;
                long sc = o + sOff + part * L;
                for (int run = 0; run < runs; run++) {
                    ShortVector lo = ShortVector.zero(S);
                    ShortVector hi = lo;
                    ShortVector lo2 = lo;
                    ShortVector hi2 = lo;
                    for (int k = 0; k < steps; k++, p += 2 * GROUP, xi += 2) {
                        ShortVector v = (ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, data, p, LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                        ShortVector vl = v.and((short) 15);
                        ShortVector vh = v.lanewise(VectorOperators.LSHR, 4);
                        lo = vl.mul(IntVector.broadcast(I, xp[xi]).reinterpretAsShorts()).add(lo);
                        hi = vh.mul(IntVector.broadcast(I, xp[xi + 1]).reinterpretAsShorts()).add(hi);
                        lo2 = vl.mul(IntVector.broadcast(I, xp2[xi]).reinterpretAsShorts()).add(lo2);
                        hi2 = vh.mul(IntVector.broadcast(I, xp2[xi + 1]).reinterpretAsShorts()).add(hi2);
                    }
                    IntVector sl = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, data, sc + GROUP * subs[2 * run], LE).castShape(I, 0);
                    IntVector su = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, data, sc + GROUP * subs[2 * run + 1], LE).castShape(I, 0);
                    IntVector l = lo.reinterpretAsInts();
                    IntVector u = hi.reinterpretAsInts();
                    dot = l.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(l.lanewise(VectorOperators.ASHR, 16)).mul(sl)
                            .add(u.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(u.lanewise(VectorOperators.ASHR, 16)).mul(su))
                            .add(dot);
                    IntVector l2 = lo2.reinterpretAsInts();
                    IntVector u2 = hi2.reinterpretAsInts();
                    dot2 = l2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(l2.lanewise(VectorOperators.ASHR, 16)).mul(sl)
                            .add(u2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(u2.lanewise(VectorOperators.ASHR, 16)).mul(su))
                            .add(dot2);
                }
                dot.intoArray(sums.dots, 0);
                dot2.intoArray(sums2.dots, 0);
                finishSuperblock(o, part, b, a, sums);
                finishSuperblock(o, part, b, a2, sums2);
            }
        }

        /** kquant4 for four tokens (the widest that keeps every accumulator in the 16 registers of AVX2). */
        private void kquant4x4(long g, int part, PackedActivation[] a, int t0, Sums[] sums) {
            int[] xp = a[t0].pairs;
            int[] xp2 = a[t0 + 1].pairs;
            int[] xp3 = a[t0 + 2].pairs;
            int[] xp4 = a[t0 + 3].pairs;
            int[] subs = layout.runSubs();
            int steps = layout.runLength();
            long o = g * groupBytes;
            int xi = 0;
            for (int b = 0; b < superblocks; b++, o += sbBytes) {
                IntVector dot = IntVector.zero(I);
                IntVector dot2 = dot;
                IntVector dot3 = dot;
                IntVector dot4 = dot;
                long p = o + pairsOff + part * 2L * L;
                long sc = o + sOff + part * L;
                for (int run = 0; run < runs; run++) {
                    ShortVector lo = ShortVector.zero(S);
                    ShortVector hi = lo;
                    ShortVector lo2 = lo;
                    ShortVector hi2 = lo;
                    ShortVector lo3 = lo;
                    ShortVector hi3 = lo;
                    ShortVector lo4 = lo;
                    ShortVector hi4 = lo;
                    for (int k = 0; k < steps; k++, p += 2 * GROUP, xi += 2) {
                        ShortVector v = (ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, data, p, LE)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                        ShortVector vl = v.and((short) 15);
                        ShortVector vh = v.lanewise(VectorOperators.LSHR, 4);
                        lo = vl.mul(IntVector.broadcast(I, xp[xi]).reinterpretAsShorts()).add(lo);
                        hi = vh.mul(IntVector.broadcast(I, xp[xi + 1]).reinterpretAsShorts()).add(hi);
                        lo2 = vl.mul(IntVector.broadcast(I, xp2[xi]).reinterpretAsShorts()).add(lo2);
                        hi2 = vh.mul(IntVector.broadcast(I, xp2[xi + 1]).reinterpretAsShorts()).add(hi2);
                        lo3 = vl.mul(IntVector.broadcast(I, xp3[xi]).reinterpretAsShorts()).add(lo3);
                        hi3 = vh.mul(IntVector.broadcast(I, xp3[xi + 1]).reinterpretAsShorts()).add(hi3);
                        lo4 = vl.mul(IntVector.broadcast(I, xp4[xi]).reinterpretAsShorts()).add(lo4);
                        hi4 = vh.mul(IntVector.broadcast(I, xp4[xi + 1]).reinterpretAsShorts()).add(hi4);
                    }
                    IntVector sl = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, data, sc + GROUP * subs[2 * run], LE).castShape(I, 0);
                    IntVector su = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, data, sc + GROUP * subs[2 * run + 1], LE).castShape(I, 0);
                    IntVector l = lo.reinterpretAsInts();
                    IntVector u = hi.reinterpretAsInts();
                    dot = l.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(l.lanewise(VectorOperators.ASHR, 16)).mul(sl)
                            .add(u.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(u.lanewise(VectorOperators.ASHR, 16)).mul(su))
                            .add(dot);
                    l = lo2.reinterpretAsInts();
                    u = hi2.reinterpretAsInts();
                    dot2 = l.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(l.lanewise(VectorOperators.ASHR, 16)).mul(sl)
                            .add(u.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(u.lanewise(VectorOperators.ASHR, 16)).mul(su))
                            .add(dot2);
                    l = lo3.reinterpretAsInts();
                    u = hi3.reinterpretAsInts();
                    dot3 = l.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(l.lanewise(VectorOperators.ASHR, 16)).mul(sl)
                            .add(u.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(u.lanewise(VectorOperators.ASHR, 16)).mul(su))
                            .add(dot3);
                    l = lo4.reinterpretAsInts();
                    u = hi4.reinterpretAsInts();
                    dot4 = l.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(l.lanewise(VectorOperators.ASHR, 16)).mul(sl)
                            .add(u.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(u.lanewise(VectorOperators.ASHR, 16)).mul(su))
                            .add(dot4);
                }
                dot.intoArray(sums[0].dots, 0);
                dot2.intoArray(sums[1].dots, 0);
                dot3.intoArray(sums[2].dots, 0);
                dot4.intoArray(sums[3].dots, 0);
                for (int k = 0; k < 4; k++) {
                    finishSuperblock(o, part, b, a[t0 + k], sums[k]);
                }
            }
        }

        /** bytes8 for two tokens: each byte vector loaded and widened once. */
        private void bytes8x2(long g, int part, PackedActivation a, PackedActivation a2, Sums sums, Sums sums2) {
            int[] xp = a.pairs;
            int[] xp2 = a2.pairs;
            int[] subs = layout.runSubs();
            int steps = layout.runLength();
            long o = g * groupBytes;
            int xi = 0;
            for (int b = 0; b < superblocks; b++, o += sbBytes) {
                IntVector dot = IntVector.zero(I);
                IntVector dot2 = dot;
                long p = o + pairsOff + part * 2L * L;
                long sc = o * scaleInData + scaleOff + part * L;
                for (int run = 0; run < runs; run++) {
                    ShortVector acc = ShortVector.zero(S);
                    ShortVector acc2 = acc;
                    for (int k = 0; k < steps; k++, p += 2 * GROUP, xi++) {
                        ShortVector v = (ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, data, p, LE).castShape(S, 0);
                        acc = v.mul(IntVector.broadcast(I, xp[xi]).reinterpretAsShorts()).add(acc);
                        acc2 = v.mul(IntVector.broadcast(I, xp2[xi]).reinterpretAsShorts()).add(acc2);
                    }
                    IntVector s = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, scaleData, sc + (long) scaleStride * subs[run], LE)
                            .castShape(I, 0);
                    IntVector w = acc.reinterpretAsInts();
                    dot = w.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(w.lanewise(VectorOperators.ASHR, 16))
                            .mul(s).add(dot);
                    IntVector w2 = acc2.reinterpretAsInts();
                    dot2 = w2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(w2.lanewise(VectorOperators.ASHR, 16))
                            .mul(s).add(dot2);
                }
                dot.intoArray(sums.dots, 0);
                dot2.intoArray(sums2.dots, 0);
                finishSuperblock(o, part, b, a, sums);
                finishSuperblock(o, part, b, a2, sums2);
            }
        }

        /**
         * acc += dx·(D·(dot + (centre − zero)·Σ s·XQ) − M·Σ m·XQ) for superblock b (at o): the scaled integer
         * dot product plus the zero-point and min terms, which need only each sub-block's Σ xq. Types without
         * sub-scales read s = m = 1 (see ONES); Q5_1 takes llama.cpp's Q8_1 min term instead.
         */
        private void finishSuperblock(long o, int part, int b, PackedActivation a, Sums sums) {
            long scales = o * scaleInData + scaleOff + part * L;
            long mins = o * minInData + minOff + part * L;
            IntVector scaleSum = IntVector.zero(I);
            IntVector minSum = scaleSum;
            for (int j = 0; j < scaleSubs; j++) {
                IntVector s = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, scaleData, scales + (long) scaleStride * j, LE).castShape(I, 0);
                scaleSum = s.mul(a.sums[b * subBlocks + j]).add(scaleSum);
            }
            for (int j = 0; j < minSubs; j++) {
                IntVector m = (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, minData, mins + (long) minStride * j, LE).castShape(I, 0);
                minSum = m.mul(a.sums[b * subBlocks + j]).add(minSum);
            }
            int shift = layout.centre() - layout.zero();
            IntVector h = (IntVector) ShortVector.fromMemorySegment(HALF_SHORTS, data, o + part * 2L * L, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            FloatVector d = h.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4)
                    .or(h.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats().mul(0x1p112f);
            IntVector hm = (IntVector) ShortVector.fromMemorySegment(HALF_SHORTS, minScaleData,
                    o * minScaleInData + minScaleOff + part * 2L * L, LE).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            FloatVector m = hm.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4)
                    .or(hm.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats().mul(0x1p112f);
            FloatVector dot = (FloatVector) IntVector.fromArray(I, sums.dots, 0).add(scaleSum.mul(shift)).castShape(F, 0);
            FloatVector v = dot.mul(d).sub(((FloatVector) minSum.castShape(F, 0)).mul(m).mul(integerMins));
            FloatVector acc = v.fma(FloatVector.broadcast(F, a.scales[b]), FloatVector.fromArray(F, sums.acc, 0));
            // Q5_1: llama.cpp's Q8_1 min term is M·s, s = f16(d·Σ xq), rather than M·dx·Σ xq.
            m.fma(FloatVector.broadcast(F, -floatMins * a.minTerms[b]), acc).intoArray(sums.acc, 0);
        }

        // ---- decoding to floats (prefill panels, tests)

        /**
         * Decodes columns [c0, c1) (whole superblocks) of group {@code g} into {@code panel[(c − c0)·16 + i]} =
         * row i, column c (column-major), bit for bit as ggml decodes the stored blocks: (D·s)·(q − zero) − M·m.
         * One run at a time (decodeRun4, decodeRun8: small methods, see the kernels' note on inlining).
         */
        @Override
        public void decodeGroup(long g, int c0, int c1, float[] panel) {
            int sb = layout.superblock();
            int pairsPerRun = layout.runLength();
            for (int part = 0; part < PARTS; part++) {
                long o = g * groupBytes + (long) (c0 / sb) * sbBytes;
                for (int b = c0 / sb; b < c1 / sb; b++, o += sbBytes) {
                    int at = (b * sb - c0) * GROUP + part * L;
                    for (int run = 0; run < runs; run++) {
                        long p = o + pairsOff + part * 2L * L + 2L * GROUP * pairsPerRun * run;
                        if (layout.bits() == 4) {
                            decodeRun4(o, part, run, p, at, panel);
                        } else {
                            decodeRun8(o, part, run, p, at, panel);
                        }
                    }
                }
            }
        }

        /** One 4-bit run: its low nibbles (sub-block runSubs[2·run]) and high ones (runSubs[2·run + 1]) to floats. */
        private void decodeRun4(long o, int part, int run, long p, int at, float[] panel) {
            int[] order = layout.order();
            int[] subs = layout.runSubs();
            short toQ = (short) -layout.zero();
            IntVector h = (IntVector) ShortVector.fromMemorySegment(HALF_SHORTS, data, o + part * 2L * L, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            FloatVector d = h.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4)
                    .or(h.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats().mul(0x1p112f);
            IntVector hm = (IntVector) ShortVector.fromMemorySegment(HALF_SHORTS, minScaleData,
                    o * minScaleInData + minScaleOff + part * 2L * L, LE).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            FloatVector m = hm.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4)
                    .or(hm.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats().mul(0x1p112f);
            long sc = o * scaleInData + scaleOff + part * L;
            long mn = o * minInData + minOff + part * L;
            FloatVector scaleLo = d.mul((FloatVector) ByteVector.fromMemorySegment(QUARTER_BYTES, scaleData,
                    sc + (long) scaleStride * subs[2 * run], LE).castShape(I, 0).castShape(F, 0));
            FloatVector scaleHi = d.mul((FloatVector) ByteVector.fromMemorySegment(QUARTER_BYTES, scaleData,
                    sc + (long) scaleStride * subs[2 * run + 1], LE).castShape(I, 0).castShape(F, 0));
            FloatVector offsetLo = m.mul((FloatVector) ByteVector.fromMemorySegment(QUARTER_BYTES, minData,
                    mn + (long) minStride * subs[2 * run], LE).castShape(I, 0).castShape(F, 0));
            FloatVector offsetHi = m.mul((FloatVector) ByteVector.fromMemorySegment(QUARTER_BYTES, minData,
                    mn + (long) minStride * subs[2 * run + 1], LE).castShape(I, 0).castShape(F, 0));
            int kpos = 4 * layout.runLength() * run;
            for (int k = 0; k < layout.runLength(); k++, p += 2 * GROUP, kpos += 4) {
                ShortVector nib = (ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, data, p, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                IntVector lo = nib.and((short) 15).add(toQ).reinterpretAsInts();
                IntVector hi = nib.lanewise(VectorOperators.LSHR, 4).add(toQ).reinterpretAsInts();
                scaleLo.mul((FloatVector) lo.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).castShape(F, 0))
                        .sub(offsetLo).intoArray(panel, at + order[kpos] * GROUP);
                scaleLo.mul((FloatVector) lo.lanewise(VectorOperators.ASHR, 16).castShape(F, 0))
                        .sub(offsetLo).intoArray(panel, at + order[kpos + 1] * GROUP);
                scaleHi.mul((FloatVector) hi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).castShape(F, 0))
                        .sub(offsetHi).intoArray(panel, at + order[kpos + 2] * GROUP);
                scaleHi.mul((FloatVector) hi.lanewise(VectorOperators.ASHR, 16).castShape(F, 0))
                        .sub(offsetHi).intoArray(panel, at + order[kpos + 3] * GROUP);
            }
        }

        /** One byte run (sub-block runSubs[run]) to floats: the stored q − centre, then + centre − zero. */
        private void decodeRun8(long o, int part, int run, long p, int at, float[] panel) {
            int sub = layout.runSubs()[run];
            int toQ = layout.centre() - layout.zero();
            IntVector h = (IntVector) ShortVector.fromMemorySegment(HALF_SHORTS, data, o + part * 2L * L, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            FloatVector d = h.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4)
                    .or(h.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats().mul(0x1p112f);
            IntVector hm = (IntVector) ShortVector.fromMemorySegment(HALF_SHORTS, minScaleData,
                    o * minScaleInData + minScaleOff + part * 2L * L, LE).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            FloatVector m = hm.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4)
                    .or(hm.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats().mul(0x1p112f);
            FloatVector scale = d.mul((FloatVector) ByteVector.fromMemorySegment(QUARTER_BYTES, scaleData,
                    o * scaleInData + scaleOff + (long) scaleStride * sub + part * L, LE).castShape(I, 0).castShape(F, 0));
            FloatVector offset = m.mul((FloatVector) ByteVector.fromMemorySegment(QUARTER_BYTES, minData,
                    o * minInData + minOff + (long) minStride * sub + part * L, LE).castShape(I, 0).castShape(F, 0));
            int col = 2 * layout.runLength() * run;
            for (int k = 0; k < layout.runLength(); k++, p += 2 * GROUP, col += 2) {
                IntVector v = ((ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, data, p, LE).castShape(S, 0)).reinterpretAsInts();
                scale.mul((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(toQ).castShape(F, 0))
                        .sub(offset).intoArray(panel, at + col * GROUP);
                scale.mul((FloatVector) v.lanewise(VectorOperators.ASHR, 16).add(toQ).castShape(F, 0))
                        .sub(offset).intoArray(panel, at + (col + 1) * GROUP);
            }
        }
    }
}
