package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The V4 pieces composed over whole sequences — embedding into 4 streams, per layer hyper-connections around attention
 * and MoE, the hyper-connection head, the output norm and head — against llama.cpp b10573's logits for every prompt of
 * ds4-f32 (the model does not run in the engine yet: no cache, no session; this pins the arithmetic first).
 */
class V4WholeSequenceTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @Test
    void logitsAreLlamaCpps() throws Exception {
        JsonNode c = JsonMapper.builder().build().readTree(Files.readString(DATA.resolve("ds4-f32.json")));
        byte[] raw = Files.readAllBytes(DATA.resolve("ds4-f32.logits.f32"));
        float[] ref = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(ref);
        int vocab = c.get("n_vocab").asInt();
        int[] ratios = {0, 4, 128, 4};
        int hc = 4;
        int e = 64;
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4-f32.gguf")); WorkerPool pool = new WorkerPool(1)) {
            Weights w = new Weights(f, pool, false);
            io.jseek.core.tensor.Tensor embd = w.rows("token_embd.weight", e);
            Matrix output = w.matrix("output.weight", e, vocab);
            float[] outNorm = w.vector("output_norm.weight", e);
            Matrix headFn = w.matrix("output_hc_fn.weight", (long) hc * e, hc);
            float[] headScale = w.vector("output_hc_scale.weight", 1);
            float[] headBase = w.vector("output_hc_base.weight", hc);
            for (JsonNode s : c.get("sequences")) {
                JsonNode ids = s.get("tokens");
                int t = ids.size();
                int[] tokens = new int[t];
                float[][] streams = new float[t][hc * e];
                float[] row = new float[e];
                for (int i = 0; i < t; i++) {
                    tokens[i] = ids.get(i).asInt();
                    embd.dequantizeRow(tokens[i], row);
                    for (int h = 0; h < hc; h++) {
                        System.arraycopy(row, 0, streams[i], h * e, e);
                    }
                }
                for (int l = 0; l < 4; l++) {
                    for (String sub : new String[] {"attn", "ffn"}) {
                        HyperConnections mix = new HyperConnections(w, pool, "blk." + l + ".hc_" + sub, hc, e, 20, 1e-6f, 1e-6f);
                        float[][] input = new float[t][e];
                        float[][] post = new float[t][hc];
                        float[][] comb = new float[t][hc * hc];
                        mix.pre(streams, t, new float[t][hc * e], new float[t][mix.mixWidth()], input, post, comb);
                        float[] norm = w.vector("blk." + l + "." + sub + "_norm.weight", e);
                        float[][] h = new float[t][e];
                        for (int i = 0; i < t; i++) {
                            VectorMath.rmsNorm(h[i], 0, input[i], 0, norm, e, 1e-6f);
                        }
                        float[][] y;
                        if (sub.equals("attn")) {
                            y = V4AttentionTest.run(new V4Attention(w, pool, ModelConfig.fromGguf(f.metadata()), l), ratios[l], h, t);
                        } else {
                            y = new float[t][e];
                            new V4Moe(w, pool, l, e, V4MoeTest.MOE, l < 1, 1.5f, 1.5f).forward(null, h, tokens, t, y,
                                    new int[t][2]);
                        }
                        float[][] next = new float[t][hc * e];
                        mix.post(y, streams, t, post, comb, next);
                        streams = next;
                    }
                }
                float[][] normed = new float[t][hc * e];
                float[][] m = new float[t][hc];
                for (int i = 0; i < t; i++) {
                    HyperConnections.rmsNormNoGain(streams[i], normed[i], HyperConnections.ones(hc * e), 1e-6f);
                }
                MatMul.mul(pool, headFn, 0, hc, normed, 0, t, m, 0);
                float[][] x = new float[t][e];
                for (int i = 0; i < t; i++) {
                    float[] merged = new float[e];
                    for (int h = 0; h < hc; h++) {
                        float pre = HyperConnections.sigmoid(m[i][h] * headScale[0] + headBase[h]) + 1e-6f;
                        for (int k = 0; k < e; k++) {
                            merged[k] += pre * streams[i][h * e + k];
                        }
                    }
                    VectorMath.rmsNorm(x[i], 0, merged, 0, outNorm, e, 1e-6f);
                }
                float[][] logits = new float[t][vocab];
                MatMul.mul(pool, output, 0, vocab, x, 0, t, logits, 0);
                int offset = s.get("logits_offset").asInt();
                double worst = 0;
                for (int i = 0; i < t; i++) {
                    for (int v = 0; v < vocab; v++) {
                        worst = Math.max(worst, Math.abs(logits[i][v] - ref[offset + i * vocab + v]));
                    }
                }
                assertTrue(worst < 1e-4, s.get("name").asString() + ": logits differ from llama.cpp's by " + worst);
            }
        }
    }
}
