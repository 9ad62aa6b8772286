package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A model with a multi-token-prediction block (testdata/mtp/mtp-tiny-f32.gguf, made by jseek's trainer): llama.cpp's
 * main-model logits with the block in the file, and the hidden states the block drafts from. The block's own logits
 * are checked against the trainer's (jseek-train's TrainableDeepSeekTest) and through a Hugging Face directory
 * (HfDirectoryTest).
 */
class MtpHeadTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final WorkerPool POOL = new WorkerPool(2);
    private static final int[] IDS = {0, 60, 7, 19, 14, 23, 18, 14, 24, 22, 29, 3, 22, 15, 33};

    @AfterAll
    static void closePool() {
        POOL.close();
    }

    @Test
    void mainLogitsAreLlamaCppsWithTheBlockInTheFile() throws Exception {
        byte[] raw = Files.readAllBytes(DATA.resolve("mtp/mtp-tiny-f32.logits.f32"));
        float[] ref = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(ref);
        try (GgufFile f = GgufFile.open(DATA.resolve("mtp/mtp-tiny-f32.gguf"))) {
            Model m = Model.load(f, POOL);
            assertEquals(3, m.config().blockCount(), "block_count 4 holds 3 main layers and the MTP block");
            assertEquals(1, m.config().nextnLayers());
            assertTrue(m.mtp() != null);
            int vocab = m.config().vocabSize();
            assertEquals(IDS.length * vocab, ref.length);
            float[][] got = m.forward(m.newSession(64), IDS, true);
            for (int i = 0; i < IDS.length; i++) {
                for (int v = 0; v < vocab; v++) {
                    assertEquals(ref[i * vocab + v], got[i][v], 1e-4, "row " + i + " token " + v);
                }
            }
        }
    }

    /**
     * The captured hidden states are the final norm's output the head reads (the logits are the output matrix times
     * them), for consecutive positions across passes; cutting the session back drops those past the cut.
     */
    @Test
    void capturedHiddenStatesFollowTheSession() throws Exception {
        try (GgufFile f = GgufFile.open(DATA.resolve("mtp/mtp-tiny-f32.gguf"))) {
            Model m = Model.load(f, POOL);
            int e = m.config().embeddingLength();
            Session s = m.newSession(64);
            m.forward(s, java.util.Arrays.copyOf(IDS, 3), false);
            s.captureHidden(true, e);
            float[] logits = m.forward(s, java.util.Arrays.copyOfRange(IDS, 3, 8), false)[0].clone();
            m.forward(s, new int[] {IDS[8]}, false);
            HiddenStates h = s.hidden();
            assertEquals(3, h.first());
            assertEquals(6, h.count());
            io.jseek.core.tensor.Tensor out = f.tensor("output.weight");
            float[] row = new float[e];
            for (int v = 0; v < logits.length; v++) {
                out.dequantizeRow(v, row);
                double dot = 0;
                for (int k = 0; k < e; k++) {
                    dot += (double) row[k] * h.row(4)[k];
                }
                assertEquals(logits[v], dot, 1e-4, "logit " + v + " from the hidden state of position 7");
            }
            s.truncate(5);
            assertEquals(2, h.count());
            m.forward(s, new int[] {IDS[5]}, false);
            assertEquals(3, h.count(), "position 5 follows the kept rows");
            h.clear();
            m.forward(s, new int[] {IDS[6]}, false);
            assertEquals(6, h.first());
            assertEquals(1, h.count());
        }
    }
}
