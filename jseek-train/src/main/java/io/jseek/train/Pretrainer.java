package io.jseek.train;

import java.util.Random;

/**
 * Pretraining on generated task documents: each step samples a batch of documents (BOS + text + EOS),
 * takes the mean next-token cross-entropy over every token, and updates with AdamW.
 */
public final class Pretrainer {
    private final TrainableDeepSeek model;
    private final CharVocabulary vocab;
    private final AdditionTask task;
    private final AdamW optimizer;
    private final int batch;
    private final long seed;

    public Pretrainer(TrainableDeepSeek model, CharVocabulary vocab, AdditionTask task, AdamW.Settings settings, int batch,
                      long seed) {
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

    /** What one step did. */
    public record Step(int step, double loss, double gradNorm, double learningRate, int tokens) {
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
        Var loss = t.crossEntropy(model.forward(t, docs), targets);
        t.backward(loss);
        int n = optimizer.steps();
        double lr = optimizer.learningRate(n);
        double norm = optimizer.step();
        model.updateSelectionBias();
        return new Step(n, loss.v[0], norm, lr, tokens);
    }
}
