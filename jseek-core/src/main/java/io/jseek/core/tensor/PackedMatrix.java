package io.jseek.core.tensor;

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
public final class PackedMatrix implements Matrix {
    /** Rows per group. */
    public static final int GROUP = 16;

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
    public static final boolean SUPPORTED = L == 8 || L == 16;

    private final Tensor source;
    private final PackedLayout layout;
    private final PackedLayout.Packable codec;
    private final int rowLength;
    private final int rowsPerMatrix;
    private final long groupsPerMatrix;
    private final int superblocks;
    private final int subBlocks;
    private final int runs;
    private final int mOff;
    private final int sOff;
    private final int mnOff;
    private final int pairsOff;
    private final int sbBytes;
    private final long groupBytes;
    private final long groups;
    private final MemorySegment data;

    /** The integer kernel for this layout. */
    private enum Kernel { BLOCKS4, KQUANT4, BYTES8 }

    private final Kernel kernel;

    /*
     * Where the kernels read s, m and M, chosen once per matrix so that the kernels themselves have no
     * branch on the layout: a branch one matrix never takes is compiled as a trap, and each trap throws
     * the compiled kernel away (while it is recompiled it runs slowly and allocates). Types without
     * sub-block scales read 1s (stride 0), types without mins read M = 0.
     */
    private static final MemorySegment ONES = java.lang.foreign.Arena.global().allocate(64)
            .fill((byte) 1);
    private static final MemorySegment ZEROS = java.lang.foreign.Arena.global().allocate(64);
    private final MemorySegment scaleData;
    /** 1 when scaleData is this matrix's own data (offsets then count from the superblock), else 0; likewise for the others. */
    private final long scaleInData;
    private final long scaleOff;
    private final int scaleStride;
    private final MemorySegment minData;
    private final long minInData;
    private final long minOff;
    private final int minStride;
    private final MemorySegment minScaleData;
    private final long minScaleInData;
    private final long minScaleOff;
    /** Sub-blocks the epilogue sums Σ s·XQ over (0 when centre = zero), and Σ m·XQ (0 without mins). */
    private final int scaleSubs;
    private final int minSubs;
    /** 1 for K types (min term M·Σ m·XQ·dx), else 0. */
    private final float integerMins;
    /** 1 for Q4_1 and Q5_1 (llama.cpp's Q8_1 min term M·s), else 0. */
    private final float floatMins;

    /** Where packed copies get their memory: {@code bytes} with the given alignment. */
    @FunctionalInterface
    public interface Allocator {
        MemorySegment allocate(long bytes, long alignment);
    }

    private PackedMatrix(Tensor source, Allocator memory) {
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
        return new PackedMatrix(t, memory);
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
        byte[] chunk = new byte[sbBytes];
        MemorySegment buf = MemorySegment.ofArray(chunk);
        long srcRowBytes = source.rowBytes();
        long blockBytes = source.type().bytesFor(layout.superblock());
        for (long g = from; g < to; g++) {
            long matrix = g / groupsPerMatrix;
            int firstRow = (int) (g % groupsPerMatrix * GROUP);
            int rows = rowsIn(g);
            for (int b = 0; b < superblocks; b++) {
                java.util.Arrays.fill(chunk, (byte) 0);
                for (int r = 0; r < rows; r++) {
                    long row = matrix * rowsPerMatrix + firstRow + r;
                    codec.unpack(source.data(), row * srcRowBytes + b * blockBytes, sb);
                    if (!finite(sb.d) || layout.mins() && !finite(sb.m)) {
                        return false;
                    }
                    buf.set(Bytes.SHORT, 2L * r, sb.d);
                    if (layout.mins()) {
                        buf.set(Bytes.SHORT, mOff + 2L * r, sb.m);
                    }
                    if (layout.subScales()) {
                        for (int j = 0; j < subBlocks; j++) {
                            chunk[sOff + GROUP * j + r] = sb.scales[j];
                            if (layout.mins()) {
                                chunk[mnOff + GROUP * j + r] = sb.mins[j];
                            }
                        }
                    }
                    for (int k = 0; k < sb.pairs.length; k++) {
                        buf.set(Bytes.SHORT, pairsOff + 2L * GROUP * k + 2L * r, sb.pairs[k]);
                    }
                }
                MemorySegment.copy(buf, 0, data, g * groupBytes + (long) b * sbBytes, sbBytes);
            }
        }
        return true;
    }

    private static boolean finite(short f16) {
        return (f16 & 0x7C00) != 0x7C00;
    }

    // ---- vector helpers (small enough to be inlined everywhere: vectors must not cross real calls)

    /** 2L bytes at {@code off}, zero-extended to 2L shorts: byte 2r + e is lane 2r + e. */
    private static ShortVector pairsAt(MemorySegment s, long off) {
        return (ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, s, off, LE)
                .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
    }

    /** 2L signed bytes at {@code off} as 2L shorts (castShape sign-extends; see {@link #bytesAt}). */
    private static ShortVector signedPairsAt(MemorySegment s, long off) {
        return (ShortVector) ByteVector.fromMemorySegment(HALF_BYTES, s, off, LE).castShape(S, 0);
    }

    /**
     * L signed bytes at {@code off} as ints. (castShape, not convertShape(B2I): on JDK 25 the latter is not
     * compiled to an instruction and allocates on every call; ZERO_EXTEND conversions are fine.)
     */
    private static IntVector bytesAt(MemorySegment s, long off) {
        return (IntVector) ByteVector.fromMemorySegment(QUARTER_BYTES, s, off, LE).castShape(I, 0);
    }

    /** L f16 values at {@code off} as floats, exactly (normal and subnormal; packing rejects inf/NaN). */
    private static FloatVector halvesAt(MemorySegment s, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(HALF_SHORTS, s, off, LE)
                .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
        IntVector bits = h.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4)
                .or(h.lanewise(VectorOperators.LSHL, 16).and(0x80000000));
        return bits.reinterpretAsFloats().mul(0x1p112f);
    }

    /** Both columns of an activation pair, for every row: the int broadcast, seen as shorts. */
    private static ShortVector pair(int xy) {
        return IntVector.broadcast(I, xy).reinterpretAsShorts();
    }

    /** Each row's two 16-bit lanes (its two columns) summed into one int lane. */
    private static IntVector pairSum(ShortVector p) {
        IntVector v = p.reinterpretAsInts();
        return v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                .add(v.lanewise(VectorOperators.ASHR, 16));
    }

    /** Int lanes as floats (castShape: convert(I2F) allocates, see {@link #bytesAt}). */
    private static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.castShape(F, 0);
    }

    // ---- one token

    /** Each thread's buffers between kernel stages: a run's 16-bit sums, a superblock's dot products, the float sums. */
    private static final class Sums {
        final short[] runs = new short[4 * 2 * L];
        final int[] dots = new int[L];
        final float[] acc = new float[L];
    }

    private static final ThreadLocal<Sums> SUMS = ThreadLocal.withInitial(Sums::new);

    /**
     * y[yOff + i] = row i of group {@code g} · x for the group's rows, x given as {@code a} (quantized for
     * this matrix's layout).
     */
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

    /*
     * The kernels: rows [part·L, part·L + L) of group g times the activation. Three stages, each its own
     * method and each small enough that the compiler inlines every vector operation into it (a vector
     * operation left as a real call allocates its vectors; one method doing all of it went over the inlining
     * budget): the run loop (16-bit products, per width), addRun (widen, scale by s, add to the superblock's
     * dot products), finishSuperblock (the float epilogue). Vectors never cross a call of ours: the stages
     * hand over through the small arrays of Sums.
     */

    /**
     * 4-bit types with one scale per 32 columns (Q4_0, Q4_1): everything in registers, per block the run of
     * 8 byte pairs, the widening, dx·(D·(dot − zero·XQ)) and llama.cpp's Q8_1 min term −M·s.
     */
    private void blocks4(long g, int part, PackedActivation a, Sums sums) {
        int[] xp = a.pairs;
        int zeroShift = -layout.zero();
        long o = g * groupBytes + part * 2L * L;
        FloatVector acc = FloatVector.zero(F);
        int xi = 0;
        for (int b = 0; b < superblocks; b++, o += sbBytes) {
            ShortVector lo = ShortVector.zero(S);
            ShortVector hi = lo;
            long p = o + pairsOff;
            for (int k = 0; k < 8; k++, p += 2 * GROUP, xi += 2) {
                ShortVector v = pairsAt(data, p);
                lo = v.and((short) 15).mul(pair(xp[xi])).add(lo);
                hi = v.lanewise(VectorOperators.LSHR, 4).mul(pair(xp[xi + 1])).add(hi);
            }
            IntVector dot = pairSum(lo).add(pairSum(hi)).add(zeroShift * a.sums[b]);
            acc = toFloat(dot).mul(halvesAt(data, o)).fma(FloatVector.broadcast(F, a.scales[b]), acc);
            acc = halvesAt(minScaleData, o * minScaleInData + minScaleOff)
                    .fma(FloatVector.broadcast(F, -floatMins * a.minTerms[b]), acc);
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
                    ShortVector v = pairsAt(data, p);
                    lo = v.and((short) 15).mul(pair(xp[xi])).add(lo);
                    hi = v.lanewise(VectorOperators.LSHR, 4).mul(pair(xp[xi + 1])).add(hi);
                }
                dot = pairSum(lo).mul(bytesAt(data, sc + GROUP * subs[2 * run]))
                        .add(pairSum(hi).mul(bytesAt(data, sc + GROUP * subs[2 * run + 1]))).add(dot);
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
                ShortVector s = ShortVector.zero(S);
                for (int k = 0; k < steps; k++, p += 2 * GROUP, xi++) {
                    s = signedPairsAt(data, p).mul(pair(xp[xi])).add(s);
                }
                dot = pairSum(s).mul(bytesAt(scaleData, sc + (long) scaleStride * subs[run])).add(dot);
            }
            dot.intoArray(sums.dots, 0);
            finishSuperblock(o, part, b, a, sums);
        }
    }

    /**
     * acc += dx·(D·(dot + (centre − zero)·Σ s·XQ) − M·Σ m·XQ) for superblock b (at o): the scaled integer
     * dot product plus the zero-point and min terms, which need only each sub-block's Σ xq. Types without
     * sub-scales take llama.cpp's Q8_1 min term M·s instead (s = f16(d·Σ xq)).
     */
    private void finishSuperblock(long o, int part, int b, PackedActivation a, Sums sums) {
        long scales = o * scaleInData + scaleOff + part * L;
        long mins = o * minInData + minOff + part * L;
        IntVector scaleSum = IntVector.zero(I);
        IntVector minSum = scaleSum;
        for (int j = 0; j < scaleSubs; j++) {
            scaleSum = bytesAt(scaleData, scales + (long) scaleStride * j).mul(a.sums[b * subBlocks + j]).add(scaleSum);
        }
        for (int j = 0; j < minSubs; j++) {
            minSum = bytesAt(minData, mins + (long) minStride * j).mul(a.sums[b * subBlocks + j]).add(minSum);
        }
        int shift = layout.centre() - layout.zero();
        FloatVector d = halvesAt(data, o + part * 2L * L);
        FloatVector m = halvesAt(minScaleData, o * minScaleInData + minScaleOff + part * 2L * L);
        FloatVector dot = toFloat(IntVector.fromArray(I, sums.dots, 0).add(scaleSum.mul(shift)));
        FloatVector v = dot.mul(d).sub(toFloat(minSum).mul(m).mul(integerMins));
        FloatVector acc = v.fma(FloatVector.broadcast(F, a.scales[b]), FloatVector.fromArray(F, sums.acc, 0));
        m.fma(FloatVector.broadcast(F, -floatMins * a.minTerms[b]), acc).intoArray(sums.acc, 0);
    }

    // ---- decoding to floats (prefill panels, tests)

    /**
     * Decodes columns [c0, c1) (whole superblocks) of group {@code g} into {@code panel[(c − c0)·16 + i]} =
     * row i, column c (column-major), bit for bit as ggml decodes the stored blocks: (D·s)·(q − zero) − M·m.
     */
    public void decodeGroup(long g, int c0, int c1, float[] panel) {
        int[] order = layout.order();
        int[] subs = layout.runSubs();
        int sb = layout.superblock();
        boolean nibbles = layout.bits() == 4;
        int values = nibbles ? 2 : 1;
        int toQ = layout.centre() - layout.zero();
        for (int part = 0; part < PARTS; part++) {
            long o = g * groupBytes + (long) (c0 / sb) * sbBytes;
            for (int b = c0 / sb; b < c1 / sb; b++, o += sbBytes) {
                FloatVector d = halvesAt(data, o + part * 2L * L);
                FloatVector m = halvesAt(minScaleData, o * minScaleInData + minScaleOff + part * 2L * L);
                long p = o + pairsOff + part * 2L * L;
                int kpos = 0;
                int col0 = b * sb - c0;
                for (int run = 0; run < runs; run++) {
                    for (int k = 0; k < layout.runLength(); k++, p += 2 * GROUP) {
                        for (int v = 0; v < values; v++) {
                            int sub = subs[values * run + v];
                            FloatVector scale = d.mul(toFloat(bytesAt(scaleData,
                                    o * scaleInData + scaleOff + (long) scaleStride * sub + part * L)));
                            FloatVector offset = m.mul(toFloat(bytesAt(minData,
                                    o * minInData + minOff + (long) minStride * sub + part * L)));
                            IntVector both;
                            IntVector even;
                            IntVector odd;
                            if (nibbles) {
                                ShortVector nib = pairsAt(data, p);
                                both = (v == 0 ? nib.and((short) 15) : nib.lanewise(VectorOperators.LSHR, 4)).reinterpretAsInts();
                                even = both.and(0xFFFF);
                                odd = both.lanewise(VectorOperators.LSHR, 16);
                            } else {
                                both = signedPairsAt(data, p).reinterpretAsInts();
                                even = both.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
                                odd = both.lanewise(VectorOperators.ASHR, 16);
                            }
                            for (int e = 0; e < 2; e++) {
                                FloatVector w = scale.mul(toFloat((e == 0 ? even : odd).add(toQ))).sub(offset);
                                w.intoArray(panel, (col0 + order[kpos + 2 * v + e]) * GROUP + part * L);
                            }
                        }
                        kpos += 2 * values;
                    }
                }
            }
        }
    }
}
