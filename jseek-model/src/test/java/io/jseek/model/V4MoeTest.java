package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** V4's MoE against the float64 reference, layer by layer on ds4-f32: the same experts (hash and scored) and outputs. */
class V4MoeTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    /** ds4's experts: 8 routed (top 2) + 1 shared, 32 wide, normalised weights scaled 1.5. */
    static final ModelConfig.Moe MOE = new ModelConfig.Moe(0, 8, 2, 1, 32, 1, 1, 1.5f, true,
            ModelConfig.Moe.Gating.SQRT_SOFTPLUS);

    @Test
    void expertsAndOutputsAreTheReferences() throws Exception {
        V4LayerDump dump = new V4LayerDump(DATA.resolve("ds4/ds4-f32"));
        float[][] tok = dump.rows("tokens");
        int t = tok.length;
        int[] tokens = new int[t];
        for (int i = 0; i < t; i++) {
            tokens[i] = (int) tok[i][0];
        }
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4-f32.gguf")); WorkerPool pool = new WorkerPool(1)) {
            Weights w = new Weights(f, pool, false);
            for (int l = 0; l < 4; l++) {
                V4Moe moe = new V4Moe(w, pool, l, 64, V4MoeTest.MOE, l < 1, 1.5f, 1.5f);
                float[][] in = dump.rows(l + ".ffn.input");
                float[] norm = w.vector("blk." + l + ".ffn_norm.weight", 64);
                float[][] h = new float[t][64];
                for (int i = 0; i < t; i++) {
                    VectorMath.rmsNorm(h[i], 0, in[i], 0, norm, 64, 1e-6f);
                }
                float[][] out = new float[t][64];
                int[][] chosen = new int[t][2];
                moe.forward(null, h, tokens, t, out, chosen);
                float[][] want = dump.rows(l + ".ffn.experts");
                for (int i = 0; i < t; i++) {
                    assertArrayEquals(new int[] {(int) want[i][0], (int) want[i][1]}, chosen[i], "layer " + l + " row " + i);
                }
                HyperConnectionsTest.close(dump.rows(l + ".ffn.output"), out, "layer " + l + " MoE output");
            }
        }
    }
}
