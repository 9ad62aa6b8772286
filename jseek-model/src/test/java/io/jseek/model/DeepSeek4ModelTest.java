package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * DeepSeek-V4 with YaRN (every released V4 file has it): the compressing layers rotate at the compress base with YaRN's
 * frequencies, the window-only layers without (ReferenceLogitsTest covers ds4-f32 and ds4-q8_0, which have no rope
 * scaling). testdata/ds4/ds4-yarn-f32: the v4-tiny preset with YaRN factor 16 over 64 positions (so most of the
 * rope pairs are interpolated), one 150-token sequence — across the window, CSA blocks past the indexer's top-k and an
 * HCA block — fed as one batch (logits at every position), then its greedy continuation one token at a time through
 * the cache; logits recorded with llama.cpp (testdata/ds4/README.md). YaRN moves these logits by up to 2.6.
 */
class DeepSeek4ModelTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @Test
    void yarnModelIsLlamaCpps() throws Exception {
        JsonNode c = JsonMapper.builder().build().readTree(Files.readString(DATA.resolve("ds4/ds4-yarn-f32.json")));
        byte[] raw = Files.readAllBytes(DATA.resolve("ds4/ds4-yarn-f32.logits.f32"));
        float[] ref = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(ref);
        int vocab = c.get("n_vocab").asInt();
        double tolerance = 1e-4;  // ReferenceLogitsTest's for F32 weights
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4/ds4-yarn-f32.gguf")); WorkerPool pool = new WorkerPool(2)) {
            Model m = Model.load(f, pool);
            assertEquals(ModelConfig.RopeScaling.Type.YARN, m.config().ropeScaling().type());
            for (JsonNode s : c.get("sequences")) {
                String seq = s.get("name").asString();
                int[] tokens = ints(s.get("tokens"));
                Session session = m.newSession(256);
                float[][] got = m.forward(session, tokens, true);
                int at = s.get("logits_offset").asInt();
                for (int i = 0; i < tokens.length; i++) {
                    close(ref, at + i * vocab, got[i], tolerance, seq + " prompt row " + i);
                }
                int[] greedy = ints(s.at("/greedy/tokens"));
                int gat = s.at("/greedy/logits_offset").asInt();
                float[] logits = got[tokens.length - 1];
                for (int k = 0; k < greedy.length; k++) {
                    assertEquals(greedy[k], argmax(logits), seq + " greedy token " + k);
                    logits = m.forward(session, new int[] {greedy[k]}, false)[0];
                    if (k + 1 < greedy.length) {
                        close(ref, gat + k * vocab, logits, tolerance, seq + " step " + k);
                    }
                }
            }
        }
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private static void close(float[] ref, int at, float[] got, double tolerance, String what) {
        double worst = 0;
        for (int v = 0; v < got.length; v++) {
            worst = Math.max(worst, Math.abs(got[v] - ref[at + v]));
        }
        assertTrue(worst <= tolerance, what + ": logits differ from llama.cpp's by " + worst);
    }
}
