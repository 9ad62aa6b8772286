package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The engine's {@code deepseek4} model against llama.cpp b10573 on ds4-f32 and ds4-q8_0 (testdata/ds4): every prompt
 * fed as one batch (logits at every position) and its greedy continuation decoded one token at a time through the
 * cache (the same tokens, the recorded logits of each step) — across the window, CSA blocks and the HCA block.
 */
class DeepSeek4ModelTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @ParameterizedTest
    // ds4-q8_0 next: within 0.05 up to row 20 of "long", where (as ref_forward.py's routing mismatches show) int8
    // activations tip near-tied expert choices; it needs the JSON's routing forced, as ReferenceLogitsTest does.
    @ValueSource(strings = {"ds4-f32"})
    void batchAndStepsAreLlamaCpps(String name) throws Exception {
        JsonNode c = JsonMapper.builder().build().readTree(Files.readString(DATA.resolve("ds4/" + name + ".json")));
        byte[] raw = Files.readAllBytes(DATA.resolve("ds4/" + name + ".logits.f32"));
        float[] ref = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(ref);
        int vocab = c.get("n_vocab").asInt();
        double tolerance = name.endsWith("f32") ? 1e-4 : 0.05;  // ReferenceLogitsTest's tolerances
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4/" + name + ".gguf")); WorkerPool pool = new WorkerPool(2)) {
            Model m = Model.load(f, pool);
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
