package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * TQ1_0, ternary weights at 1.69 bits: super-blocks of 256 = 48 bytes of five trits each @0, 4 bytes of four
 * trits each @48, f16 d @52; value = (t − 1) · d for trit t ∈ {0, 1, 2}. A byte holds its trits as a base-3
 * fraction: trit n of byte q is the top of (q · 3^n mod 256) · 3 / 256. Values run: bytes 0–31 trit 0, …,
 * trit 4; bytes 32–47 likewise; then bytes 48–51 trit 0, …, trit 3.
 */
final class TQ1_0Codec implements BlockCodec {
    static final TQ1_0Codec INSTANCE = new TQ1_0Codec();
    private static final int QK = 256;
    private static final int BYTES = 54;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o + 52);
            int y = dstOffset + b * QK;
            y = trits(src, o, 32, 5, d, dst, y);
            y = trits(src, o + 32, 16, 5, d, dst, y);
            trits(src, o + 48, 4, 4, d, dst, y);
        }
    }

    /** Trit 0 of each of {@code bytes} bytes, then trit 1, … up to {@code count}; returns the next output index. */
    private static int trits(MemorySegment src, long at, int bytes, int count, float d, float[] dst, int y) {
        int pow = 1;
        for (int t = 0; t < count; t++, pow *= 3) {
            for (int m = 0; m < bytes; m++) {
                int q = Bytes.u8(src, at + m) * pow & 0xFF;
                dst[y++] = ((q * 3 >> 8) - 1) * d;
            }
        }
        return y;
    }
}
