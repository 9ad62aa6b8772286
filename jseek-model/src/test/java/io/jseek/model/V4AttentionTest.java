package io.jseek.model;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * V4's attention against the float64 reference on ds4-f32's 176-token sequence, layer by layer: a window-only layer,
 * two CSA layers (ratio 4, the indexer choosing 4 of up to 44 compressed rows) and an HCA layer (ratio 128, its one
 * compressed row seen from position 127 on).
 */
class V4AttentionTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @Test
    void everyLayerIsTheReferences() throws Exception {
        V4LayerDump dump = new V4LayerDump(DATA.resolve("ds4/ds4-f32"));
        int[] ratios = {0, 4, 128, 4};
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4/ds4-f32.gguf")); WorkerPool pool = new WorkerPool(1)) {
            Weights w = new Weights(f, pool, false);
            for (int l = 0; l < 4; l++) {
                V4Attention a = new V4Attention(w, pool, l, 64, 4, 64, 16, 32, 8, ratios[l], 2, 32, 1e-6f, 10000, 160000,
                        16, 64, 4);
                float[][] in = dump.rows(l + ".attn.input");
                int t = in.length;
                float[] norm = w.vector("blk." + l + ".attn_norm.weight", 64);
                float[][] h = new float[t][64];
                for (int i = 0; i < t; i++) {
                    VectorMath.rmsNorm(h[i], 0, in[i], 0, norm, 64, 1e-6f);
                }
                HyperConnectionsTest.close(dump.rows(l + ".attn.output"), a.forward(h, t), "layer " + l + " attention");
            }
        }
    }
}
