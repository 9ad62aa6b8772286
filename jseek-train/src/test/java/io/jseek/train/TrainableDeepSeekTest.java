package io.jseek.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tokenizer.Tokenizer;
import io.jseek.model.Model;
import io.jseek.model.ModelConfig;
import io.jseek.model.Session;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainable DeepSeek model: its gradient against finite differences, its logits against jseek's
 * inference engine (which ReferenceLogitsTest checks against llama.cpp) after export, and overfitting.
 */
class TrainableDeepSeekTest {
    static final CharVocabulary VOCAB = new CharVocabulary();

    static TrainableDeepSeek.Config tiny(int embd) {
        return new TrainableDeepSeek.Config(VOCAB.size(), embd, 2, 2, 8, 4, 4, 4, 2 * embd, 1, 4, 2, 8, 1,
                10000, 1e-6, 64, 0.001);
    }

    private static int[][] sequences(String... texts) {
        int[][] out = new int[texts.length][];
        for (int i = 0; i < texts.length; i++) {
            int[] body = VOCAB.encode(texts[i]);
            out[i] = new int[body.length + 1];
            out[i][0] = VOCAB.bos();
            System.arraycopy(body, 0, out[i], 1, body.length);
        }
        return out;
    }

    /** Next-token targets of packed sequences: each token predicts the next of its own sequence. */
    static int[] targets(int[][] seqs) {
        List<Integer> t = new ArrayList<>();
        for (int[] s : seqs) {
            for (int i = 0; i < s.length; i++) {
                t.add(i + 1 < s.length ? s[i + 1] : -1);
            }
        }
        return t.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void wholeModelGradientMatchesFiniteDifferences() {
        TrainableDeepSeek m = new TrainableDeepSeek(tiny(8), 3);
        int[][] seqs = sequences("12+7=19", "<think>3</think>");
        int[] targets = targets(seqs);
        GradCheck.check(m.parameters(), t -> t.crossEntropy(m.forward(t, seqs), targets), 6, 1e-5);
    }

    /** The main loss plus λ times the MTP block's (V3's objective): every parameter, the block's included. */
    @Test
    void multiTokenPredictionGradientMatchesFiniteDifferences() {
        TrainableDeepSeek.Config tc = tiny(8);
        TrainableDeepSeek m = new TrainableDeepSeek(tc.toModelConfig().withNextnLayers(1), tc.biasRate(), 3);
        int[][] seqs = sequences("12+7=19", "<think>3</think>");
        int[] targets = targets(seqs);
        int[] mtpTargets = TrainableDeepSeek.mtpTargets(seqs, targets);
        assertEquals(seqs[0].length + seqs[1].length - 2, mtpTargets.length);
        assertEquals(seqs[1][2], mtpTargets[seqs[0].length - 1], "the second sequence's first MTP row predicts its third token");
        assertTrue(m.parameters().stream().anyMatch(p -> p.name.equals("blk.2.nextn.eh_proj.weight")));
        GradCheck.check(m.parameters(), t -> {
            TrainableDeepSeek.Outputs o = m.forward(t, seqs, true);
            return t.add(t.crossEntropy(o.logits(), targets), t.scale(t.crossEntropy(o.mtp(), mtpTargets), 0.3));
        }, 6, 1e-5);
    }

    /**
     * After export the engine's MTP head gives the trainer's MTP logits (to 1e-4) from the engine's own hidden states,
     * and the main logits are unchanged by the block's presence; the file says {@code nextn_predict_layers = 1} and
     * counts the block in {@code block_count}, as llama.cpp's converter writes it.
     */
    @Test
    void exportedMtpBlockGivesTheEngineTheSameLogits() throws Exception {
        TrainableDeepSeek.Config tc = tiny(32);
        TrainableDeepSeek m = new TrainableDeepSeek(tc.toModelConfig().withNextnLayers(1), tc.biasRate(), 5);
        int[][] seqs = sequences("47+38+95=<think>7+8+5=20;4+3+9+2=18</think><answer>180</answer>", "Q 12+30=");
        TrainableDeepSeek.Outputs o = m.forward(new Tape(), seqs, true);
        Path file = tmp.resolve("tiny-mtp.gguf");
        GgufExport.write(m, VOCAB, file, GgmlType.F32, "tiny-mtp", null);
        try (GgufFile f = GgufFile.open(file); WorkerPool pool = new WorkerPool(1)) {
            assertEquals(3, f.metadata().u32("deepseek2.block_count"));
            assertEquals(1, f.metadata().u32("deepseek2.nextn_predict_layers"));
            Model engine = Model.load(f, pool);
            assertEquals(2, engine.config().blockCount());
            assertTrue(engine.mtp() != null, "the engine loads the MTP block");
            int row = 0;
            int mtpRow = 0;
            int v = VOCAB.size();
            for (int[] s : seqs) {
                Session session = engine.newSession(128);
                session.captureHidden(true, 32);
                float[][] got = engine.forward(session, s, true);
                for (int i = 0; i < s.length; i++, row++) {
                    for (int k = 0; k < v; k++) {
                        assertEquals(o.logits().v[row * v + k], got[i][k], 1e-4, "main row " + row + " token " + k);
                    }
                }
                float[][] hidden = new float[s.length - 1][];
                for (int i = 0; i < hidden.length; i++) {
                    hidden[i] = session.hidden().row(i).clone();
                }
                Session own = engine.mtp().newSession(128, io.jseek.model.CacheType.F32);
                float[][] mtp = engine.mtp().forward(own, java.util.Arrays.copyOfRange(s, 1, s.length), hidden, true, null);
                for (int i = 0; i + 1 < s.length; i++, mtpRow++) {
                    for (int k = 0; k < v; k++) {
                        assertEquals(o.mtp().v[mtpRow * v + k], mtp[i][k], 1e-4, "MTP row " + mtpRow + " token " + k);
                    }
                }
            }
        }
    }

    @TempDir
    Path tmp;

    @Test
    void exportedGgufGivesTheEngineTheSameLogits() throws Exception {
        TrainableDeepSeek m = new TrainableDeepSeek(tiny(32), 5);
        int[][] seqs = sequences("47+38+95=<think>7+8+5=20;4+3+9+2=18</think><answer>180</answer>", "Q 12+30=");
        Var logits = m.forward(new Tape(), seqs);
        Path file = tmp.resolve("tiny.gguf");
        GgufExport.write(m, VOCAB, file, GgmlType.F32, "tiny-test", null);
        try (GgufFile f = GgufFile.open(file); WorkerPool pool = new WorkerPool(1)) {
            Model engine = Model.load(f, pool);
            Tokenizer tok = Tokenizer.fromGguf(f.metadata());
            int row = 0;
            for (int[] s : seqs) {
                assertArrayEquals(s, tok.encode(VOCAB.decode(s), true, true), "the GGUF vocabulary tokenizes alike");
                Session session = engine.newSession(128);
                float[][] got = engine.forward(session, s, true);
                for (int i = 0; i < s.length; i++, row++) {
                    for (int v = 0; v < VOCAB.size(); v++) {
                        assertEquals(logits.v[row * VOCAB.size() + v], got[i][v], 1e-4, "row " + row + " token " + v);
                    }
                }
            }
        }
    }

    /**
     * One spec for engine and trainer: a model routing by expert groups (4 groups of 2 experts, 2 kept,
     * top-2 sum group scores), with a non-zero selection bias, softmax-free sigmoid gating and a scale of
     * 2.5, exported and run by the engine: the same logits and, per MoE layer, the same expert load (the
     * engine's recorded choices counted). A trainer that ignored the groups or the bias would choose
     * differently.
     */
    @Test
    void groupedBiasedRoutingIsTheEngines() throws Exception {
        ModelConfig base = tiny(32).toModelConfig();
        ModelConfig c = base.withMoe(new ModelConfig.Moe(1, 8, 2, 1, 8, 4, 2, 2.5f, true, ModelConfig.Moe.Gating.SIGMOID));
        TrainableDeepSeek m = new TrainableDeepSeek(c, 0, 21);
        java.util.Random rnd = new java.util.Random(5);
        for (int l : m.moeLayers()) {
            double[] bias = m.selectionBias(l);
            for (int e = 0; e < bias.length; e++) {
                bias[e] = 0.3 * rnd.nextGaussian();
            }
        }
        int[] s = sequences("47+38+95=<think>7+8+5=20;4+3+9+2=18</think><answer>180</answer>")[0];
        Var logits = m.forward(new Tape(), new int[][] {s});
        Path file = tmp.resolve("grouped.gguf");
        GgufExport.write(m, VOCAB, file, GgmlType.F32, "grouped", null);
        try (GgufFile f = GgufFile.open(file); WorkerPool pool = new WorkerPool(1)) {
            assertEquals(c.moe(), ModelConfig.fromGguf(f.metadata()).moe(), "export writes the config's routing");
            Model engine = Model.load(f, pool);
            Session session = engine.newSession(128);
            session.recordRouting();
            float[][] got = engine.forward(session, s, true);
            for (int i = 0; i < s.length; i++) {
                for (int v = 0; v < VOCAB.size(); v++) {
                    assertEquals(logits.v[i * VOCAB.size() + v], got[i][v], 1e-4, "row " + i + " token " + v);
                }
            }
            int j = 0;
            for (int l : m.moeLayers()) {
                int[] load = new int[8];
                for (int[] chosen : session.routing().get(j++)) {
                    for (int e : chosen) {
                        load[e]++;
                    }
                }
                assertArrayEquals(m.expertLoad(l), load, "layer " + l + " expert load");
            }
        }
    }

    /**
     * Rollouts run in the inference engine on exported weights; the trainer must compute the same
     * log-probabilities for the tokens they sampled (the engine reports its own, from its raw logits).
     */
    @Test
    void rolloutAndTrainerLogProbsAgree() throws Exception {
        TrainableDeepSeek m = new TrainableDeepSeek(tiny(32), 11);
        Path file = tmp.resolve("policy.gguf");
        GgufExport.write(m, VOCAB, file, GgmlType.F32, "policy", null);
        int[] prompt = sequences("Q 12+34=<answer>")[0];
        List<io.jseek.engine.TokenLogprob> seen = new ArrayList<>();
        io.jseek.engine.Generation g;
        try (io.jseek.engine.LoadedModel lm = io.jseek.engine.LoadedModel.open(file, 1);
             io.jseek.engine.Scheduler s = new io.jseek.engine.Scheduler(lm,
                     new io.jseek.engine.Scheduler.Config(2, 64, 128, io.jseek.model.CacheType.F32, 64, 4))) {
            var opt = new io.jseek.engine.GenerationOptions(12, new io.jseek.engine.SamplerConfig(1f, 0, 1, 0, 1, 0, 0, 64, 5),
                    List.of(), false, 0, null);
            g = s.submit(prompt, opt, new io.jseek.engine.GenerationListener() {
                @Override
                public void onToken(io.jseek.engine.TokenLogprob token) {
                    seen.add(token);
                }
            }).result().get();
        }
        int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + g.tokens().length);
        System.arraycopy(g.tokens(), 0, seq, prompt.length, g.tokens().length);
        int[] targets = new int[seq.length];
        java.util.Arrays.fill(targets, -1);
        for (int i = prompt.length - 1; i + 1 < seq.length; i++) {
            targets[i] = seq[i + 1];
        }
        Tape t = new Tape();
        Var lp = t.logProbs(m.forward(t, new int[][] {seq}), targets);
        assertTrue(seen.size() >= 3, "tokens reported: " + seen.size());
        for (int k = 0; k < seen.size(); k++) {
            assertEquals(seq[prompt.length + k], seen.get(k).id());
            assertEquals(lp.v[prompt.length - 1 + k], seen.get(k).logprob(), 1e-4, "token " + k);
        }
    }

    @Test
    void overfitsEightSequences() {
        TrainableDeepSeek m = new TrainableDeepSeek(tiny(32), 9);
        int[][] seqs = sequences("11+22=33", "40+2=42", "<think>1+1=2</think>", "9+9=18", "Q 5+5=10", "S 7+1=8",
                "<answer>99</answer>", "72+12=84");
        // The first token after BOS is a free choice among the eight; every later one is determined.
        int[] targets = targets(seqs);
        for (int r = 0, i = 0; i < seqs.length; r += seqs[i].length, i++) {
            targets[r] = -1;
        }
        AdamW opt = new AdamW(m.parameters(), new AdamW.Settings(1e-2, 0.9, 0.99, 1e-8, 0.0, 1.0, 10, 300, 0.1));
        double loss = Double.NaN;
        double first = Double.NaN;
        for (int step = 0; step < 300; step++) {
            Tape t = new Tape();
            Var l = t.crossEntropy(m.forward(t, seqs), targets);
            t.backward(l);
            opt.step();
            m.updateSelectionBias();
            loss = l.v[0];
            if (step == 0) {
                first = loss;
            }
        }
        assertTrue(first > 3, "starts near log(vocab): " + first);
        assertTrue(loss < 0.05, "loss after 300 steps: " + loss);
    }
}
