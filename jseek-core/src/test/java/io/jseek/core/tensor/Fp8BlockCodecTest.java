package io.jseek.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** FP8 e4m3fn with 128×128 block scales: the byte values (OCP FP8 definition), the blocks, the fused product. */
class Fp8BlockCodecTest {
    @Test
    void theByteValuesAreE4m3fn() {
        assertEquals(0f, Fp8BlockCodec.E4M3[0x00]);
        assertEquals(-0f, Fp8BlockCodec.E4M3[0x80]);
        assertEquals(1f, Fp8BlockCodec.E4M3[0x38], "exponent 7 = 2^0");
        assertEquals(-1.5f, Fp8BlockCodec.E4M3[0xBC]);
        assertEquals(448f, Fp8BlockCodec.E4M3[0x7E], "the largest finite value");
        assertEquals(0x1p-9f, Fp8BlockCodec.E4M3[0x01], "the smallest subnormal");
        assertEquals(0x1p-6f, Fp8BlockCodec.E4M3[0x08], "the smallest normal");
        assertTrue(Float.isNaN(Fp8BlockCodec.E4M3[0x7F]) && Float.isNaN(Fp8BlockCodec.E4M3[0xFF]));
    }

    /** Rows of 300 (a partial last block) in two groups of 200 rows: every value and row product. */
    @Test
    void blocksAndGroupsAndTheFusedProduct() {
        int cols = 300;
        int groupRows = 200;
        int rows = 2 * groupRows;
        Random rnd = new Random(7);
        int scaleCols = 3;
        int scaleRows = 2;
        float[] scales = new float[2 * scaleRows * scaleCols];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) Math.scalb(1.0, rnd.nextInt(8) - 12) * (1 + rnd.nextInt(3));
        }
        Fp8BlockCodec codec = new Fp8BlockCodec(scales, cols, groupRows);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate((long) rows * cols);
            for (long i = 0; i < data.byteSize(); i++) {
                int b;
                do {
                    b = rnd.nextInt(256);
                } while ((b & 0x7F) == 0x7F);
                data.set(ValueLayout.JAVA_BYTE, i, (byte) b);
            }
            Tensor t = new Tensor("w", GgmlType.FP8_E4M3, new long[] {cols, rows}, data, codec);
            float[] x = new float[cols];
            for (int i = 0; i < cols; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] row = new float[cols];
            for (int r = 0; r < rows; r += 37) {
                t.dequantizeRow(r, row);
                double exact = 0;
                double scale = 0;
                for (int c = 0; c < cols; c++) {
                    int g = r / groupRows;
                    float s = scales[(g * scaleRows + r % groupRows / 128) * scaleCols + c / 128];
                    float want = Fp8BlockCodec.E4M3[data.get(ValueLayout.JAVA_BYTE, (long) r * cols + c) & 0xFF] * s;
                    assertEquals(want, row[c], "row " + r + " col " + c);
                    exact += (double) want * x[c];
                    scale += Math.abs((double) want * x[c]);
                }
                assertEquals(exact, t.dotRow(r, x, 0), 1e-5 * scale, "row " + r);
            }
        }
    }
}
