package io.jseek.train;

import java.util.Random;

/**
 * Pretraining on generated task documents: each step samples a batch of documents (BOS + text + EOS),
 * takes the mean next-token cross-entropy over every token — plus, for a model with an MTP block, λ times the
 * block's mean cross-entropy for the token after the next (DeepSeek-V3's objective) — and updates with AdamW.
 */
public final class Pretrainer {
    private final TrainableDeepSeek model;
    private final CharVocabulary vocab;
    private final AdditionTask task;
    private final AdamW optimizer;
    private final int batch;
    private final long seed;
    private final double mtpWeight;

    /** As below, without an MTP loss. */
    public Pretrainer(TrainableDeepSeek model, CharVocabulary vocab, AdditionTask task, AdamW.Settings settings, int batch,
                      long seed) {
        this(model, vocab, task, settings, batch, seed, 0);
    }

    /** {@code mtpWeight}: λ of the MTP block's loss (V3: 0.3, later 0.1); 0 for none, else the model must have the block. */
    public Pretrainer(TrainableDeepSeek model, CharVocabulary vocab, AdditionTask task, AdamW.Settings settings, int batch,
                      long seed, double mtpWeight) {
        if (mtpWeight != 0 && model.config().nextnLayers() == 0) {
            throw new io.jseek.core.JseekException("an MTP loss (--mtp) needs a model with an MTP block; this one (a checkpoint"
                    + " trained without --mtp?) has none");
        }
        this.mtpWeight = mtpWeight;
        this.model = model;
        this.vocab = vocab;
        this.task = task;
        this.optimizer = new AdamW(model.parameters(), settings);
        this.batch = batch;
        this.seed = seed;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /**
     * What one step did; {@code loss} is the main model's, {@code mtpLoss} and {@code mtpAccuracy} (how often the MTP
     * block's likeliest token was the token after the next) the block's, NaN without one.
     */
    public record Step(int step, double loss, double gradNorm, double learningRate, int tokens, double mtpLoss,
                       double mtpAccuracy) {
    }

    public Step step() {
        // Each step's documents depend only on the seed and the step, so a resumed run sees the same data.
        Random rnd = new Random(seed * 1_000_003L + optimizer.steps());
        int[][] docs = new int[batch][];
        int tokens = 0;
        for (int b = 0; b < batch; b++) {
            int[] body = vocab.encode(task.document(rnd));
            int[] seq = new int[body.length + 2];
            seq[0] = vocab.bos();
            System.arraycopy(body, 0, seq, 1, body.length);
            seq[seq.length - 1] = vocab.eos();
            docs[b] = seq;
            tokens += seq.length;
        }
        int[] targets = new int[tokens];
        for (int b = 0, r = 0; b < batch; b++) {
            for (int i = 0; i < docs[b].length; i++, r++) {
                targets[r] = i + 1 < docs[b].length ? docs[b][i + 1] : -1;
            }
        }
        Tape t = new Tape();
        TrainableDeepSeek.Outputs o = model.forward(t, docs, mtpWeight != 0);
        Var main = t.crossEntropy(o.logits(), targets);
        double mtpLoss = Double.NaN;
        double mtpAccuracy = Double.NaN;
        Var loss = main;
        if (mtpWeight != 0) {
            int[] mtpTargets = TrainableDeepSeek.mtpTargets(docs, targets);
            Var mtp = t.crossEntropy(o.mtp(), mtpTargets);
            loss = t.add(main, t.scale(mtp, mtpWeight));
            mtpLoss = mtp.v[0];
            mtpAccuracy = accuracy(o.mtp(), mtpTargets);
        }
        t.backward(loss);
        int n = optimizer.steps();
        double lr = optimizer.learningRate(n);
        double norm = optimizer.step();
        model.updateSelectionBias();
        return new Step(n, main.v[0], norm, lr, tokens, mtpLoss, mtpAccuracy);
    }

    /** The share of rows with a target (≥ 0) whose largest logit is the target's. */
    static double accuracy(Var logits, int[] targets) {
        int v = logits.cols;
        int right = 0;
        int counted = 0;
        for (int r = 0; r < logits.rows; r++) {
            if (targets[r] < 0) {
                continue;
            }
            int best = 0;
            for (int i = 1; i < v; i++) {
                if (logits.v[r * v + i] > logits.v[r * v + best]) {
                    best = i;
                }
            }
            counted++;
            right += best == targets[r] ? 1 : 0;
        }
        return counted == 0 ? Double.NaN : (double) right / counted;
    }
}
