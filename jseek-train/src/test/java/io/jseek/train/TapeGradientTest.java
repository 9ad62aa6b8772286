package io.jseek.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.model.Architecture;
import io.jseek.model.ModelConfig;
import io.jseek.model.Rope;
import io.jseek.model.Router;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every op's hand-written backward against finite differences, in double precision. */
class TapeGradientTest {
    private final Random rnd = new Random(42);
    private static final double TOL = 1e-6;

    @Test
    void matmul() {
        Var x = GradCheck.random("x", 3, 5, rnd, 1);
        Var w = GradCheck.random("w", 4, 5, rnd, 1);
        GradCheck.check(List.of(x, w), t -> GradCheck.project(t, t.matmul(x, w), 1), 100, TOL);
    }

    @Test
    void elementwise() {
        Var a = GradCheck.random("a", 3, 4, rnd, 1);
        Var b = GradCheck.random("b", 3, 4, rnd, 1);
        GradCheck.check(List.of(a, b), t -> GradCheck.project(t, t.mul(t.add(a, b), t.silu(a)), 2), 100, TOL);
    }

    @Test
    void rmsNorm() {
        Var x = GradCheck.random("x", 3, 6, rnd, 1);
        Var w = GradCheck.random("w", 1, 6, rnd, 1);
        GradCheck.check(List.of(x, w), t -> GradCheck.project(t, t.rmsNorm(x, w, 1e-6), 3), 100, TOL);
    }

    @Test
    void embeddingAndColumns() {
        Var table = GradCheck.random("table", 5, 4, rnd, 1);
        int[] ids = {3, 1, 3, 0};
        GradCheck.check(List.of(table), t -> GradCheck.project(t, t.columns(t.embedding(table, ids), 1, 3), 4), 100, TOL);
    }

    @Test
    void concatAndScale() {
        Var a = GradCheck.random("a", 3, 4, rnd, 1);
        Var b = GradCheck.random("b", 3, 2, rnd, 1);
        GradCheck.check(List.of(a, b), t -> GradCheck.project(t, t.scale(t.concat(a, t.silu(b)), -0.3), 6), 100, TOL);
    }

    @Test
    void rope() {
        Var x = GradCheck.random("x", 3, 2 * 10, rnd, 1);
        int[] pos = {0, 5, 17};
        GradCheck.check(List.of(x), t -> GradCheck.project(t, t.rope(x, 2, 10, 4, pos, Rope.plain(6, 10000, Architecture.RopeStyle.NORM)), 5), 100, TOL);
    }

    @Test
    void mlaAttentionOverTwoSequences() {
        int heads = 2;
        int nope = 3;
        int rot = 2;
        int vd = 3;
        Var q = GradCheck.random("q", 5, heads * (nope + rot), rnd, 1);
        Var kv = GradCheck.random("kv", 5, heads * (nope + vd), rnd, 1);
        Var kr = GradCheck.random("kRope", 5, rot, rnd, 1);
        int[] seqStart = {0, 0, 0, 3, 3};
        GradCheck.check(List.of(q, kv, kr),
                t -> GradCheck.project(t, DeepSeekOps.mlaAttention(t, q, kv, kr, heads, nope, rot, vd, 0.4, seqStart), 6), 100, TOL);
    }

    @Test
    void crossEntropyWithMaskedRows() {
        Var logits = GradCheck.random("logits", 4, 7, rnd, 2);
        int[] targets = {3, -1, 0, 6};
        GradCheck.check(List.of(logits), t -> t.crossEntropy(logits, targets), 100, TOL);
    }

    @Test
    void logProbsAndGrpoLoss() {
        Var logits = GradCheck.random("logits", 5, 6, rnd, 1.5);
        int[] targets = {2, -1, 0, 5, 1};
        double[] old = {-1.9, 0, -1.5, -2.2, -1.7};
        double[] ref = {-1.6, 0, -2.0, -1.8, -1.9};
        double[] adv = {0.8, 0, -1.2, 0.5, -0.3};
        double[] weight = {0.25, 0, 0.25, 0.25, 0.25};
        GradCheck.check(List.of(logits), t -> GradCheck.project(t, t.logProbs(logits, targets), 8), 100, TOL);
        for (double beta : new double[] {0, 0.1}) {
            // Ratios away from the clip boundaries, some inside and some beyond it (the clipped branch has no gradient).
            GradCheck.check(List.of(logits), t -> Grpo.objective(t, t.logProbs(logits, targets), old, ref, adv, weight,
                    0.2, 0.28, beta), 100, TOL);
        }
    }

    @Test
    void moeBothGatings() {
        for (boolean sigmoid : new boolean[] {true, false}) {
            for (boolean normalize : new boolean[] {true, false}) {
                int experts = 4;
                int f = 3;
                int d = 5;
                Var h = GradCheck.random("h", 3, d, rnd, 1);
                Var router = GradCheck.random("router", experts, d, rnd, 1);
                Var gate = GradCheck.random("gate", experts * f, d, rnd, 0.5);
                Var up = GradCheck.random("up", experts * f, d, rnd, 0.5);
                Var down = GradCheck.random("down", experts * d, f, rnd, 0.5);
                float[] bias = {0.1f, -0.2f, 0.05f, 0};
                var m = new ModelConfig.Moe(0, experts, 2, 0, f, 1, 1, 1.5f, normalize,
                        sigmoid ? ModelConfig.Moe.Gating.SIGMOID : ModelConfig.Moe.Gating.SOFTMAX);
                Router routing = new Router(m, bias);
                int[] load = new int[experts];
                GradCheck.check(List.of(h, router, gate, up, down), t -> GradCheck.project(t,
                        DeepSeekOps.moe(t, h, router, m, routing, gate, up, down, null), 7), 200, TOL);
                Tape t = new Tape();
                DeepSeekOps.moe(t, h, router, m, routing, gate, up, down, load);
                assertTrue(java.util.Arrays.stream(load).sum() == 3 * 2);
            }
        }
    }
}
