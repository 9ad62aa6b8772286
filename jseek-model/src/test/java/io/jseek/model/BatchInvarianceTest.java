package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.WorkerPool;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Batch-invariant products ({@link MatMul#batchInvariant}): a sequence's logits are bit for bit the same whether its
 * chunks run alone or in a batch with other sequences' prefill chunks and decode tokens — for stored, packed and MoE
 * models. (Without the mode a batch takes other kernels and the last bits differ: shown below, so the comparison is
 * known to see a difference when there is one.)
 */
class BatchInvarianceTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final int[] A = {9, 120, 33, 7, 250, 18, 64, 5, 77, 301, 12, 40, 41, 42, 43, 44, 45, 46, 47, 48};
    private static final int[] B = {15, 16, 17, 200, 201, 202, 7, 8, 9};
    private static final int[] C = {3, 4, 5, 6};
    /** Long enough that the default plan splits its attention over threads (chunks of at least 64 positions). */
    private static final int[] LONG = new java.util.Random(3).ints(1100, 5, 300).toArray();

    /** A, B and C, each fed alone in chunks of up to 6 prompt tokens then one token a step, every logit kept. */
    private static float[][][] alone(Model m, int[]... seqs) {
        float[][][] out = new float[seqs.length][][];
        for (int k = 0; k < seqs.length; k++) {
            Session s = m.newSession(2048);
            out[k] = run(m, new Session[] {s}, new int[][] {seqs[k]})[0];
        }
        return out;
    }

    /**
     * The sequences in one batch per step: each contributes its next chunk (up to 6 tokens while it has more than
     * one left, then one at a time), the logits of every row kept.
     */
    private static float[][][] run(Model m, Session[] sessions, int[][] seqs) {
        float[][][] out = new float[seqs.length][][];
        int[] fed = new int[seqs.length];
        for (int k = 0; k < seqs.length; k++) {
            out[k] = new float[seqs[k].length][];
        }
        while (true) {
            Batch.Builder b = new Batch.Builder();
            int[] parts = new int[seqs.length];
            int[] sizes = new int[seqs.length];
            int n = 0;
            for (int k = 0; k < seqs.length; k++) {
                if (fed[k] < seqs[k].length) {
                    int left = seqs[k].length - fed[k];
                    int size = left > 4 ? Math.min(fed[k] < 12 ? 6 : 256, left - 4) : 1;
                    b.add(sessions[k], Arrays.copyOfRange(seqs[k], fed[k], fed[k] + size));
                    parts[n] = k;
                    sizes[n++] = size;
                }
            }
            if (n == 0) {
                return out;
            }
            float[][] rows = m.forward(b.build(), true);
            int row = 0;
            for (int i = 0; i < n; i++) {
                int k = parts[i];
                for (int j = 0; j < sizes[i]; j++) {
                    out[k][fed[k] + j] = rows[row++].clone();
                }
                fed[k] += sizes[i];
            }
        }
    }

    @Test
    void theThreadCountDoesNotChangeTheBitsEither() {
        float[][][][] byThreads = new float[2][][][];
        for (int threads = 1; threads <= 2; threads++) {
            try (GgufFile f = GgufFile.open(DATA.resolve("r1qwen-q8_0.gguf")); WorkerPool pool = new WorkerPool(threads)) {
                Model m = Model.load(f, pool);
                MatMul.batchInvariant(true);
                try {
                    byThreads[threads - 1] = run(m, new Session[] {m.newSession(2048), m.newSession(2048)},
                            new int[][] {A, LONG});
                } finally {
                    MatMul.batchInvariant(false);
                }
            }
        }
        assertTrue(sameBits(byThreads[0], byThreads[1]), "1 and 2 threads gave other bits");
    }

    private static boolean sameBits(float[][][] a, float[][][] b) {
        for (int k = 0; k < a.length; k++) {
            for (int i = 0; i < a[k].length; i++) {
                if (!Arrays.equals(a[k][i], b[k][i])) {
                    return false;
                }
            }
        }
        return true;
    }

    @ParameterizedTest
    @ValueSource(strings = {"r1qwen-f32.gguf", "r1qwen-q8_0.gguf", "ds3-q4_0.gguf", "ds2lite-q8_0.gguf", "ds3-kquant.gguf",
        "ds32-q8_0.gguf", "r1llama-f32.gguf"})
    void aSequenceComputesTheSameBitsAloneAndInABatch(String model) {
        try (GgufFile f = GgufFile.open(DATA.resolve(model)); WorkerPool pool = new WorkerPool(2)) {
            Model m = Model.load(f, pool);
            MatMul.batchInvariant(true);
            try {
                float[][][] want = alone(m, A, B, C, LONG);
                float[][][] got = run(m, new Session[] {m.newSession(2048), m.newSession(2048), m.newSession(2048),
                    m.newSession(2048)}, new int[][] {A, B, C, LONG});
                for (int k = 0; k < 4; k++) {
                    for (int i = 0; i < want[k].length; i++) {
                        assertArrayEquals(want[k][i], got[k][i], model + " sequence " + k + " position " + i);
                    }
                }
            } finally {
                MatMul.batchInvariant(false);
            }
        }
    }

    @Test
    void withoutTheModeABatchChangesTheLastBits() {
        boolean differs = false;
        for (String model : new String[] {"r1qwen-q8_0.gguf", "ds3-q4_0.gguf"}) {
            try (GgufFile f = GgufFile.open(DATA.resolve(model)); WorkerPool pool = new WorkerPool(2)) {
                Model m = Model.load(f, pool);
                float[][][] want = alone(m, A, B, C);
                float[][][] got = run(m, new Session[] {m.newSession(64), m.newSession(64), m.newSession(64)},
                        new int[][] {A, B, C});
                differs |= !sameBits(want, got);
            }
        }
        assertTrue(differs, "the default kernels gave identical bits in a batch: this test would not see a difference");
    }
}
