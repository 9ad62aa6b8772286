package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** V4's hyper-connections against the float64 reference's values, layer by layer, on ds4-f32 (V4LayerDump). */
class HyperConnectionsTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @Test
    void mixingAndSinkhornAreTheReferences() throws Exception {
        V4LayerDump dump = new V4LayerDump(DATA.resolve("ds4/ds4-f32"));
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4-f32.gguf")); WorkerPool pool = new WorkerPool(1)) {
            Weights w = new Weights(f, pool, false);
            int hc = 4;
            int e = 64;
            for (int l = 0; l < 4; l++) {
                for (String sub : new String[] {"attn", "ffn"}) {
                    String p = l + "." + sub + ".";
                    HyperConnections h = new HyperConnections(w, pool, "blk." + l + ".hc_" + sub, hc, e, 20, 1e-6f, 1e-6f);
                    float[][] streams = dump.rows(p + "streams");
                    int t = streams.length;
                    float[][] input = new float[t][e];
                    float[][] post = new float[t][hc];
                    float[][] comb = new float[t][hc * hc];
                    h.pre(streams, t, new float[t][hc * e], new float[t][h.mixWidth()], input, post, comb);
                    close(dump.rows(p + "input"), input, p + "input");
                    close(dump.rows(p + "post"), post, p + "post");
                    close(dump.rows(p + "comb"), comb, p + "comb");
                    float[][] next = new float[t][hc * e];
                    h.post(dump.rows(p + "output"), streams, t, post, comb, next);
                    close(dump.rows(sub.equals("attn") ? l + ".ffn.streams" : l + 1 < 4 ? (l + 1) + ".attn.streams" : "final.streams"),
                            next, p + "new streams");
                }
            }
        }
    }

    /** Every value within 1e-5 of the row's largest. */
    static void close(float[][] want, float[][] got, String what) {
        for (int r = 0; r < want.length; r++) {
            float scale = 0;
            for (float v : want[r]) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int k = 0; k < want[r].length; k++) {
                assertTrue(Math.abs(want[r][k] - got[r][k]) <= 1e-5f * Math.max(1, scale),
                        what + " row " + r + " [" + k + "]: " + got[r][k] + " vs " + want[r][k]);
            }
        }
    }
}
