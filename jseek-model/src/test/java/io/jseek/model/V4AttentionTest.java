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
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4-f32.gguf")); WorkerPool pool = new WorkerPool(1)) {
            Weights w = new Weights(f, pool, false);
            for (int l = 0; l < 4; l++) {
                V4Attention a = new V4Attention(w, pool, ModelConfig.fromGguf(f.metadata()), l);
                float[][] in = dump.rows(l + ".attn.input");
                int t = in.length;
                float[] norm = w.vector("blk." + l + ".attn_norm.weight", 64);
                float[][] h = new float[t][64];
                for (int i = 0; i < t; i++) {
                    VectorMath.rmsNorm(h[i], 0, in[i], 0, norm, 64, 1e-6f);
                }
                HyperConnectionsTest.close(dump.rows(l + ".attn.output"), run(a, ratios[l], h, t), "layer " + l + " attention");
            }
        }
    }

    /** The attention over one whole sequence of normed rows, in a cache of its own (ds4's shapes: hd 64, indexer 64). */
    static float[][] run(V4Attention a, int ratio, float[][] h, int t) {
        int[] widths = ratio == 0 ? new int[] {64} : ratio == 128 ? new int[] {64, 64, 64, 64}
                : new int[] {64, 128, 128, 64, 128, 128, 64};
        Session s = new Session(widths, t, new KvPool(widths, CacheType.F32, 0));
        Batch batch = Batch.of(s, new int[t]);
        s.reserve(t);
        float[][] out = a.forward(batch, h, t, 0);
        s.advance(t);
        return out;
    }
}
