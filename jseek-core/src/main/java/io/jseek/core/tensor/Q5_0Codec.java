package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** Q5_0: blocks of 32 = f16 d @0, u32 qh @2 (bit j = 5th bit of value j), nibbles @6; value = (q−16)·d. */
final class Q5_0Codec implements BlockCodec, PackedLayout.Packable {
    static final Q5_0Codec INSTANCE = new Q5_0Codec();
    private static final int QK = 32;
    private static final int BYTES = 22;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            int qh = Bytes.u32(src, o + 2);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = Bytes.u8(src, o + 6 + j);
                int h0 = ((qh >>> j) << 4) & 0x10;
                int h1 = (qh >>> (j + 12)) & 0x10;
                dst[y + j] = (((q & 0x0F) | h0) - 16) * d;
                dst[y + j + QK / 2] = (((q >> 4) | h1) - 16) * d;
            }
        }
    }


    private static final PackedLayout LAYOUT = PackedLayout.bytes(5, QK, QK, false, false, 16);

    @Override
    public PackedLayout layout() {
        return LAYOUT;
    }

    /** w = d·(q − 16): D = d, zero point 16. */
    @Override
    public void unpack(MemorySegment src, long offset, PackedLayout.Superblock out) {
        out.d = src.get(Bytes.SHORT, offset);
        unpackFiveBit(src, offset + 2, offset + 6, out);
    }

    /** The 32 values (q − 16) of a Q5_0/Q5_1 block, natural order, as byte pairs. */
    static void unpackFiveBit(MemorySegment src, long qhOffset, long qsOffset, PackedLayout.Superblock out) {
        int qh = Bytes.u32(src, qhOffset);
        byte[] q = out.values;
        for (int j = 0; j < QK / 2; j++) {
            int b = Bytes.u8(src, qsOffset + j);
            q[j] = (byte) (((b & 0x0F) | ((qh >>> j) & 1) << 4) - 16);
            q[j + QK / 2] = (byte) (((b >> 4) | ((qh >>> (j + QK / 2)) & 1) << 4) - 16);
        }
        out.putValues();
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /**
     * ggml's reference quantizer: d = (value of largest magnitude)/−16, q = min(31, trunc(x/d + 16.5)), low 4
     * bits in the nibbles, the fifth in qh. Produces the same bytes as llama-quantize without an importance matrix.
     */
    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        for (int b = 0; b < n / QK; b++) {
            int x = srcOffset + b * QK;
            long o = offset + (long) b * BYTES;
            float d = Extremes.largest(src, x, QK) / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bytes.putF16(dst, o, d);
            int qh = 0;
            for (int j = 0; j < QK / 2; j++) {
                int q0 = Math.min(31, (int) (src[x + j] * id + 16.5f));
                int q1 = Math.min(31, (int) (src[x + QK / 2 + j] * id + 16.5f));
                Bytes.putU8(dst, o + 6 + j, (q0 & 0x0F) | (q1 & 0x0F) << 4);
                qh |= (q0 >> 4 & 1) << j | (q1 >> 4 & 1) << (j + QK / 2);
            }
            dst.set(Bytes.INT, o + 2, qh);
        }
    }
}
