package io.jseek.core.tensor;

/**
 * How a quantized type's rows are laid out for the integer kernels of {@link PackedMatrix}. Every packable
 * type is read as
 * <pre>  w = D·s·(q − zero) − M·m</pre>
 * with q an unsigned integer of at most 6 bits, D and M f16 per row and superblock of {@code superblock}
 * columns, s and m small integers per row and sub-block of {@code subBlock} columns (when
 * {@code subScales}; else both are 1), M·m present when {@code mins}.
 *
 * <p>Values are stored in byte pairs (two per row side by side, so that one 16-bit lane pair holds a row's
 * two columns):
 * <ul>
 * <li>{@code bits} 4 (Q4_0, Q4_1, Q4_K): the type's own nibble bytes, whole byte pairs moved and nothing
 * else, so the columns come in the type's nibble order; {@code order} says which column each kernel
 * position holds (per byte pair: low nibble of each byte, then high nibble of each). A run is
 * {@code runLength} byte pairs; run j's low nibbles belong to sub-block {@code runSubs[2j]}, its high
 * ones to {@code runSubs[2j + 1]}.</li>
 * <li>{@code bits} 8 (Q5_0, Q5_1, Q5_K, Q6_K): one signed byte per value, q − {@code centre} (centre 16
 * for 5-bit types, 32 for 6-bit), columns in natural order. A run is {@code runLength} byte pairs, all of
 * sub-block {@code runSubs[j]}. Unpacking 5 and 6 bits from planes cost more than the wider stream:
 * measured on Zen 4, 9 against over 30 billion weights per second per core (docs/architecture.md).</li>
 * </ul>
 * Runs are short enough that a run's 16-bit sums cannot overflow: 4-bit products are at most 15·127 and a
 * run adds 16 per lane; centred 5-bit values are at most 16 in magnitude (16 products), 6-bit 32 (8).
 */
public record PackedLayout(int bits, int superblock, int subBlock, boolean subScales, boolean mins, int zero,
                           int centre, int runLength, int[] runSubs, int[] order, int[] pairMap) {

    /** {@code pairMap}: kernel pair j holds natural column pair pairMap[j] (checked: kernel pairs are adjacent columns). */
    public PackedLayout {
        for (int j = 0; j < pairMap.length; j++) {
            if (order[2 * j] % 2 != 0 || order[2 * j + 1] != order[2 * j] + 1 || pairMap[j] != order[2 * j] / 2) {
                throw new IllegalArgumentException("kernel pair " + j + " is not an adjacent column pair");
            }
        }
    }

    private static int[] pairMap(int[] order) {
        int[] map = new int[order.length / 2];
        for (int j = 0; j < map.length; j++) {
            map[j] = order[2 * j] / 2;
        }
        return map;
    }

    /**
     * How activations are quantized for this layout: as llama.cpp quantizes them for the type's own dot
     * product (Q8_0 for Q4_0/Q5_0, Q8_1 for Q4_1/Q5_1, Q8_K for the K types), so that the integer sums are
     * llama.cpp's exactly.
     */
    enum Activation { Q8_0, Q8_1, Q8_K }

    Activation activation() {
        return superblock == 256 ? Activation.Q8_K : mins ? Activation.Q8_1 : Activation.Q8_0;
    }

    /** Byte pairs stored per row and superblock. */
    int pairsPerSuperblock() {
        return bits == 4 ? superblock / 4 : superblock / 2;
    }

    /** Values per byte pair. */
    int valuesPerPair() {
        return bits == 4 ? 4 : 2;
    }

    int subBlocks() {
        return superblock / subBlock;
    }

    /** Runs per superblock. */
    int runs() {
        return pairsPerSuperblock() / runLength;
    }

    /**
     * The 4-bit layout over byte pairs (2u, 2u + 1) of the nibble area: the low nibble of byte i is column
     * {@code lowColumn(i)}, its high nibble {@code lowColumn(i) + highOffset}.
     */
    static PackedLayout nibbles(int superblock, int subBlock, boolean subScales, boolean mins, int zero,
                                int runLength, int[] runSubs, java.util.function.IntUnaryOperator lowColumn,
                                int highOffset) {
        int[] order = new int[superblock];
        for (int u = 0; u < superblock / 4; u++) {
            for (int e = 0; e < 2; e++) {
                order[4 * u + e] = lowColumn.applyAsInt(2 * u + e);
                order[4 * u + 2 + e] = lowColumn.applyAsInt(2 * u + e) + highOffset;
            }
        }
        return new PackedLayout(4, superblock, subBlock, subScales, mins, zero, 0, runLength, runSubs, order,
                pairMap(order));
    }

    /** The byte layout: runs of one sub-block each (runLength = subBlock / 2 byte pairs, or half that for 6 bits). */
    static PackedLayout bytes(int valueBits, int superblock, int subBlock, boolean subScales, boolean mins, int zero) {
        int centre = 1 << (valueBits - 1);
        int runLength = valueBits == 6 ? Math.min(8, subBlock / 2) : Math.min(16, subBlock / 2);
        int[] runSubs = new int[superblock / 2 / runLength];
        for (int r = 0; r < runSubs.length; r++) {
            runSubs[r] = r * runLength * 2 / subBlock;
        }
        int[] order = new int[superblock];
        for (int i = 0; i < superblock; i++) {
            order[i] = i;
        }
        return new PackedLayout(8, superblock, subBlock, subScales, mins, zero, centre, runLength, runSubs, order,
                pairMap(order));
    }

    /** One row's superblock in the layout's terms, filled by {@link Packable#unpack}. */
    static final class Superblock {
        /** f16 bits of D and (when the layout has mins) M. */
        short d;
        short m;
        final byte[] scales;
        final byte[] mins;
        /** Byte pairs in kernel order, each as a little-endian short (byte layout: q − centre, two columns). */
        final short[] pairs;
        /** Byte layout: scratch for the values in natural order before {@link #putValues}. */
        final byte[] values;

        Superblock(PackedLayout layout) {
            scales = new byte[layout.subBlocks()];
            mins = new byte[layout.subBlocks()];
            pairs = new short[layout.pairsPerSuperblock()];
            values = new byte[layout.superblock()];
        }

        /** Nibble layouts: the file's nibble bytes at {@code src[offset..]}, taken as they are (pairs in file order). */
        void copyPairs(java.lang.foreign.MemorySegment src, long offset) {
            java.lang.foreign.MemorySegment.copy(src, Bytes.SHORT, offset, pairs, 0, pairs.length);
        }

        /** Byte layout: {@link #values} (natural column order) into byte pairs. */
        void putValues() {
            for (int k = 0; k < pairs.length; k++) {
                pairs[k] = (short) ((values[2 * k] & 0xFF) | values[2 * k + 1] << 8);
            }
        }
    }

    /** A codec whose type packs into a {@link PackedLayout}. */
    interface Packable {
        PackedLayout layout();

        /** Fills {@code out} from the superblock at {@code src[offset..]}. */
        void unpack(java.lang.foreign.MemorySegment src, long offset, Superblock out);
    }
}
