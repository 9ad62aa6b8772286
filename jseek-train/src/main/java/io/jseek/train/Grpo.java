package io.jseek.train;

import io.jseek.engine.Generation;
import io.jseek.engine.SamplerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Group Relative Policy Optimization as in DeepSeekMath and R1 (docs/training.md §1): per prompt, a group
 * of completions sampled from the current policy (by the inference engine, through a
 * {@link RolloutExecutor}); rule-based rewards; advantages normalized within each group; a clipped
 * surrogate with an optional k3 KL penalty to a frozen reference; the later fixes as options.
 */
public final class Grpo {
    /** How per-token losses are combined. */
    public enum Aggregation {
        /** DeepSeekMath: mean over each sequence's tokens, then over sequences. */
        SEQUENCE_MEAN,
        /** DAPO: mean over all tokens of the batch. */
        TOKEN_MEAN,
        /** Dr. GRPO: sum over tokens divided by a constant (sequences × max tokens). */
        CONSTANT
    }

    /** How a group's advantages are scaled after subtracting its mean reward. */
    public enum AdvantageScale { GROUP_STD, NONE }

    /**
     * @param updates         optimizer updates per batch of rollouts (1: on-policy, ratio 1, clipping inert)
     * @param dynamicSampling leave out groups whose rewards are all equal (they carry no signal)
     * @param maskTruncated   leave out completions cut by maxTokens (DAPO's overlong filtering) instead
     *                        of training on their 0 reward
     */
    public record Settings(int prompts, int groupSize, int maxTokens, float temperature, AdamW.Settings optimizer,
                           Aggregation aggregation, AdvantageScale advantageScale, double epsLow, double epsHigh,
                           double beta, int updates, boolean dynamicSampling, boolean maskTruncated, double mtpWeight) {
        /** As above, without an MTP loss. */
        public Settings(int prompts, int groupSize, int maxTokens, float temperature, AdamW.Settings optimizer,
                        Aggregation aggregation, AdvantageScale advantageScale, double epsLow, double epsHigh,
                        double beta, int updates, boolean dynamicSampling, boolean maskTruncated) {
            this(prompts, groupSize, maxTokens, temperature, optimizer, aggregation, advantageScale, epsLow, epsHigh, beta,
                    updates, dynamicSampling, maskTruncated, 0);
        }
    }

    /** What one step did. */
    public record Step(int step, double meanReward, double accuracy, double thinkRate, double meanLength,
                       double zeroVarianceGroups, double loss, double kl) {
    }

    /** λ of the MTP loss: the settings', for a model with an MTP block; else 0. */
    private final double mtpWeight;
    private final TrainableDeepSeek model;
    private final TrainableDeepSeek reference;
    private final CharVocabulary vocab;
    private final AdditionTask task;
    private final Settings s;
    private final RolloutExecutor rollouts;
    private final AdamW optimizer;
    private final long seed;
    private int step;

    /** {@code reference}: the frozen model of the KL penalty (may be null when beta is 0). */
    public Grpo(TrainableDeepSeek model, TrainableDeepSeek reference, CharVocabulary vocab, AdditionTask task,
                Settings settings, RolloutExecutor rollouts, long seed) {
        if (settings.beta() != 0 && reference == null) {
            throw new IllegalArgumentException("beta > 0 needs a reference model");
        }
        this.model = model;
        this.mtpWeight = model.config().nextnLayers() > 0 ? settings.mtpWeight() : 0;
        this.reference = reference;
        this.vocab = vocab;
        this.task = task;
        this.s = settings;
        this.rollouts = rollouts;
        this.optimizer = new AdamW(model.parameters(), settings.optimizer());
        this.seed = seed;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /** Continues a run from its step (problems and sampling seeds depend only on the seed and the step). */
    public void resumeAt(int step) {
        this.step = step;
    }

    /** Judges a rollout: its text without the end-of-sequence token; cut off by the token limit = malformed. */
    static AdditionTask.Verdict verdict(AdditionTask.Problem p, Generation g, CharVocabulary vocab) {
        return verdict(p, "", g, vocab);
    }

    /** As above, for a completion that continues {@code begun} (text the prompt already put after "="). */
    static AdditionTask.Verdict verdict(AdditionTask.Problem p, String begun, Generation g, CharVocabulary vocab) {
        String text = begun + vocab.decode(g.tokens());
        if (g.stopReason() != Generation.StopReason.END_OF_GENERATION) {
            return new AdditionTask.Verdict(false, false, text.startsWith("<think>"));
        }
        return AdditionTask.judge(p, text);
    }

    public Step step() {
        Random rnd = new Random(seed * 1_000_003L + step);
        List<AdditionTask.Problem> problems = new ArrayList<>();
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < s.prompts(); i++) {
            AdditionTask.Problem p = task.problem(rnd);
            problems.add(p);
            prompts.add(Evaluation.prompt(vocab, p));
        }
        List<List<Generation>> groups = sample(prompts, rnd.nextLong());
        // Rewards and group-relative advantages.
        List<int[]> seqs = new ArrayList<>();
        List<Integer> promptLengths = new ArrayList<>();
        List<Double> advantages = new ArrayList<>();
        double rewardSum = 0;
        int correct = 0;
        int thought = 0;
        long length = 0;
        int zeroVariance = 0;
        for (int i = 0; i < problems.size(); i++) {
            List<Generation> group = groups.get(i);
            double[] r = new double[group.size()];
            boolean[] truncated = new boolean[group.size()];
            for (int j = 0; j < group.size(); j++) {
                Generation g = group.get(j);
                AdditionTask.Verdict v = verdict(problems.get(i), g, vocab);
                r[j] = v.reward();
                truncated[j] = g.stopReason() != Generation.StopReason.END_OF_GENERATION;
                rewardSum += r[j];
                correct += v.correct() ? 1 : 0;
                thought += v.thought() ? 1 : 0;
                length += g.tokens().length;
            }
            double mean = java.util.Arrays.stream(r).average().orElse(0);
            double var = java.util.Arrays.stream(r).map(x -> (x - mean) * (x - mean)).sum() / r.length;
            double std = Math.sqrt(var);
            if (std == 0) {
                zeroVariance++;
                if (s.dynamicSampling()) {
                    continue;
                }
            }
            for (int j = 0; j < group.size(); j++) {
                if (s.maskTruncated() && truncated[j]) {
                    continue;
                }
                double a = r[j] - mean;
                if (s.advantageScale() == AdvantageScale.GROUP_STD) {
                    a /= std + 1e-4;
                }
                int[] completion = group.get(j).tokens();
                int[] seq = new int[prompts.get(i).length + completion.length];
                System.arraycopy(prompts.get(i), 0, seq, 0, prompts.get(i).length);
                System.arraycopy(completion, 0, seq, prompts.get(i).length, completion.length);
                seqs.add(seq);
                promptLengths.add(prompts.get(i).length);
                advantages.add(a);
            }
        }
        int total = s.prompts() * s.groupSize();
        double loss = 0;
        double kl = 0;
        if (!seqs.isEmpty()) {
            double[] out = update(seqs, promptLengths, advantages);
            loss = out[0];
            kl = out[1];
        }
        return new Step(step++, rewardSum / total, correct / (double) total, thought / (double) total,
                length / (double) total, zeroVariance / (double) problems.size(), loss, kl);
    }

    private List<List<Generation>> sample(List<int[]> prompts, long samplingSeed) {
        return GgufExport.withTemporaryFile(model, vocab, "policy", file -> rollouts.sample(file, prompts, s.groupSize(),
                new SamplerConfig(s.temperature(), 0, 1, 0, 1, 0, 0, 64, 0), samplingSeed, s.maxTokens()));
    }

    /** The policy-gradient updates on one batch; returns {loss, mean KL to the reference}. */
    private double[] update(List<int[]> seqs, List<Integer> promptLengths, List<Double> advantages) {
        int rows = seqs.stream().mapToInt(q -> q.length).sum();
        int[] targets = new int[rows];
        double[] adv = new double[rows];
        double[] weight = new double[rows];
        int counted = 0;
        for (int q = 0, r = 0; q < seqs.size(); q++) {
            int[] seq = seqs.get(q);
            int completion = seq.length - promptLengths.get(q);
            counted += completion;
            for (int i = 0; i < seq.length; i++, r++) {
                // Row i predicts token i+1; only completion tokens count.
                boolean predictsCompletion = i + 1 < seq.length && i + 1 >= promptLengths.get(q);
                targets[r] = predictsCompletion ? seq[i + 1] : -1;
                if (predictsCompletion) {
                    adv[r] = advantages.get(q);
                    weight[r] = switch (s.aggregation()) {
                        case SEQUENCE_MEAN -> 1.0 / completion / seqs.size();
                        case TOKEN_MEAN -> 1;
                        case CONSTANT -> 1.0 / ((double) s.prompts() * s.groupSize() * s.maxTokens());
                    };
                }
            }
        }
        if (s.aggregation() == Aggregation.TOKEN_MEAN) {
            for (int r = 0; r < rows; r++) {
                weight[r] /= Math.max(1, counted);
            }
        }
        int[][] batch = seqs.toArray(new int[0][]);
        double[] refLp = new double[rows];
        double klSum = 0;
        if (s.beta() != 0) {
            Tape t = new Tape();
            Var lp = t.logProbs(reference.forward(t, batch), targets);
            refLp = lp.v.clone();
        }
        double[] oldLp = null;
        double loss = 0;
        for (int u = 0; u < s.updates(); u++) {
            Tape t = new Tape();
            TrainableDeepSeek.Outputs o = model.forward(t, batch, mtpWeight != 0);
            Var lp = t.logProbs(o.logits(), targets);
            if (oldLp == null) {
                oldLp = lp.v.clone();
                if (s.beta() != 0) {
                    for (int r = 0; r < rows; r++) {
                        if (targets[r] >= 0) {
                            double d = refLp[r] - lp.v[r];
                            klSum += Math.exp(d) - d - 1;
                        }
                    }
                }
            }
            Var l = objective(t, lp, oldLp, refLp, adv, weight, s.epsLow(), s.epsHigh(), s.beta());
            Var total = l;
            if (mtpWeight != 0) {
                // The MTP block keeps learning the policy's own answers (cross-entropy on the sampled completions), so
                // that its drafts follow the policy RL made.
                total = t.add(l, t.scale(t.crossEntropy(o.mtp(), TrainableDeepSeek.mtpTargets(batch, targets)), mtpWeight));
            }
            t.backward(total);
            optimizer.step();
            model.updateSelectionBias();
            loss = l.v[0];
        }
        return new double[] {loss, klSum / Math.max(1, counted)};
    }

    /**
     * The GRPO objective as a loss (docs/training.md §1): per token t with weight {@code weight[t]} (0 for
     * tokens that do not count: prompts, padding, masked sequences; else the aggregation's normaliser),
     * ratio ρ = exp(lp − oldLp), surrogate min(ρ·A, clip(ρ, 1−εlo, 1+εhi)·A) with the token's advantage A,
     * minus β times the k3 estimate of KL to the reference, exp(refLp − lp) − (refLp − lp) − 1. The loss is
     * −Σ_t weight·(surrogate − β·KL); {@code lp} is a {@code T × 1} Var of the policy's log-probabilities.
     */
    static Var objective(Tape tape, Var lp, double[] oldLp, double[] refLp, double[] advantage, double[] weight,
                         double epsLow, double epsHigh, double beta) {
        int t = lp.rows;
        double loss = 0;
        double[] dl = new double[t];
        for (int i = 0; i < t; i++) {
            if (weight[i] == 0) {
                continue;
            }
            double a = advantage[i];
            double ratio = Math.exp(lp.v[i] - oldLp[i]);
            double clipped = Math.min(Math.max(ratio, 1 - epsLow), 1 + epsHigh);
            double surrogate;
            double dSurrogate;
            if (ratio * a <= clipped * a) {
                surrogate = ratio * a;
                dSurrogate = ratio * a;
            } else {
                surrogate = clipped * a;
                dSurrogate = 0;
            }
            double kl = 0;
            double dKl = 0;
            if (beta != 0) {
                double diff = refLp[i] - lp.v[i];
                kl = Math.exp(diff) - diff - 1;
                dKl = -Math.exp(diff) + 1;
            }
            loss -= weight[i] * (surrogate - beta * kl);
            dl[i] = -weight[i] * (dSurrogate - beta * dKl);
        }
        Var y = Tape.out(1, 1);
        y.v[0] = loss;
        tape.record(() -> {
            double g = y.grad()[0];
            double[] glp = lp.grad();
            for (int i = 0; i < t; i++) {
                glp[i] += g * dl[i];
            }
        });
        return y;
    }
}
