package io.jseek.train;

import io.jseek.core.tensor.GgmlType;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The R1 recipe in miniature, phase by phase, as the {@code jseek train / grpo / distill / export}
 * commands run it: each phase reads and writes checkpoints in one run directory, logs a CSV and plots,
 * and appends its held-out evaluations to {@code eval.csv}.
 */
public final class Recipe {
    /** Model sizes by name. */
    public static TrainableDeepSeek.Config size(String name, CharVocabulary v) {
        return switch (name) {
            // ~0.2M parameters: the unit-test size (RecipeTest).
            case "tiny" -> new TrainableDeepSeek.Config(v.size(), 64, 3, 2, 32, 16, 16, 16, 192, 1, 4, 2, 64, 1,
                    10000, 1e-6, 128, 0.001);
            // ~0.4M parameters: the distillation student.
            case "medium" -> new TrainableDeepSeek.Config(v.size(), 96, 3, 4, 32, 16, 16, 16, 288, 1, 4, 2, 96, 1,
                    10000, 1e-6, 128, 0.001);
            // ~1M parameters: MLA + 4-expert MoE, 4 layers.
            case "small" -> new TrainableDeepSeek.Config(v.size(), 128, 4, 4, 32, 16, 16, 16, 384, 1, 4, 2, 128, 1,
                    10000, 1e-6, 128, 0.001);
            default -> throw new IllegalArgumentException("unknown model size \"" + name + "\" (tiny, medium or small)");
        };
    }

    public record Task(int minTerms, int maxTerms, int digits, double qThinkShare) {
        AdditionTask task() {
            return new AdditionTask(minTerms, maxTerms, digits, qThinkShare);
        }
    }

    private final Path dir;
    private final PrintStream out;
    private final CharVocabulary vocab = new CharVocabulary();

    public Recipe(Path dir, PrintStream out) {
        this.dir = dir;
        this.out = out;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public CharVocabulary vocab() {
        return vocab;
    }

    /** {@code mtp}: λ of DeepSeek-V3's multi-token-prediction loss, the model given an MTP block; 0 for none. */
    public record PretrainSettings(String size, Task task, int steps, int batch, double lr, long seed, int checkpointEvery,
                                   boolean resume, double mtp) {
    }

    /** A new model of the named size, with an MTP block when {@code mtp}. */
    static TrainableDeepSeek newModel(String size, CharVocabulary vocab, boolean mtp, long seed) {
        TrainableDeepSeek.Config c = size(size, vocab);
        return new TrainableDeepSeek(c.toModelConfig().withNextnLayers(mtp ? 1 : 0), c.biasRate(), seed);
    }

    /** Pretraining from scratch (or from pretrain.ckpt when resuming); then the base model's evaluations. */
    public TrainableDeepSeek pretrain(PretrainSettings s, RolloutExecutor rollouts) throws IOException {
        Path ckpt = dir.resolve("pretrain.ckpt");
        TrainableDeepSeek model;
        AdamW.State state = null;
        int start = 0;
        if (s.resume() && Files.exists(ckpt)) {
            Checkpoint.Loaded l = Checkpoint.load(ckpt);
            model = l.model();
            state = l.optimizer();
            start = l.info().step();
            out.printf("resuming pretraining at step %d of %d%n", start, s.steps());
        } else {
            model = newModel(s.size(), vocab, s.mtp() != 0, s.seed());
        }
        long params = model.parameters().stream().mapToLong(Var::size).sum();
        out.printf("pretraining a %s model (%,d parameters) for %d steps of %d documents%n", s.size(), params, s.steps(), s.batch());
        Pretrainer p = new Pretrainer(model, vocab, s.task().task(),
                new AdamW.Settings(s.lr(), 0.9, 0.95, 1e-8, 0.01, 1.0, Math.min(100, s.steps() / 10 + 1), s.steps(), 0.1),
                s.batch(), s.seed(), s.mtp());
        if (state != null) {
            p.optimizer().restore(state);
        }
        try (RunLog log = new RunLog(dir.resolve("pretrain.csv"), "pretrain", s.steps(), out, start > 0,
                "loss", "grad_norm", "lr", "tokens", "mtp_loss", "mtp_accuracy")) {
            for (int i = start; i < s.steps(); i++) {
                Pretrainer.Step st = p.step();
                log.add(i, st.loss(), st.gradNorm(), st.learningRate(), st.tokens(), st.mtpLoss(), st.mtpAccuracy());
                if ((i + 1) % s.checkpointEvery() == 0 || i + 1 == s.steps()) {
                    Checkpoint.save(ckpt, model, p.optimizer(), new Checkpoint.Info("pretrain", i + 1, Map.of()));
                }
            }
            if (start == 0) {
                new Plot("pretraining loss", "step").line("loss", log.steps(), log.column("loss")).write(dir.resolve("pretrain-loss.png"));
            }
        }
        Evaluation eval = evaluation(s.task());
        record("base", eval.run(model, rollouts));
        record("base forced think", eval.run(model, rollouts, Evaluation.Start.THINK));
        record("base forced direct", eval.run(model, rollouts, Evaluation.Start.DIRECT));
        return model;
    }

    /** The fixed held-out set: 256 problems, seed 7, 64 tokens at most. */
    Evaluation evaluation(Task t) {
        return new Evaluation(t.task(), vocab, 256, 7, 64);
    }

    void record(String what, Evaluation.Result r) {
        out.printf("%s: %s%n", what, r);
        Path f = dir.resolve("eval.csv");
        try {
            if (!Files.exists(f)) {
                Files.writeString(f, "what,accuracy,think_rate,think_accuracy,direct_accuracy,mean_length\n");
            }
            Files.writeString(f, String.format(Locale.ROOT, "%s,%.4f,%.4f,%.4f,%.4f,%.2f%n", what, r.accuracy(),
                    r.thinkRate(), r.thinkAccuracy(), r.directAccuracy(), r.meanLength()), StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public record GrpoSettings(Task task, int steps, Grpo.Settings grpo, int evalEvery, long seed, boolean resume) {
    }

    /** GRPO from {@code from} (a pretrain or grpo checkpoint), evaluating on the held-out set as it goes. */
    public TrainableDeepSeek grpo(Path from, GrpoSettings s, RolloutExecutor rollouts) throws IOException {
        Path ckpt = dir.resolve("grpo.ckpt");
        boolean resuming = s.resume() && Files.exists(ckpt);
        Checkpoint.Loaded l = Checkpoint.load(resuming ? ckpt : from);
        TrainableDeepSeek model = l.model();
        TrainableDeepSeek reference = s.grpo().beta() != 0 ? Checkpoint.load(from).model() : null;
        Grpo g = new Grpo(model, reference, vocab, s.task().task(), s.grpo(), rollouts, s.seed());
        int start = 0;
        if (resuming) {
            start = l.info().step();
            g.resumeAt(start);
            if (l.optimizer() != null) {
                g.optimizer().restore(l.optimizer());
            }
            out.printf("resuming GRPO at step %d of %d%n", start, s.steps());
        }
        Evaluation eval = evaluation(s.task());
        try (RunLog log = new RunLog(dir.resolve("grpo.csv"), "grpo", s.steps(), out, resuming,
                "reward", "accuracy", "think_rate", "length", "zero_var_groups", "loss", "kl", "eval_accuracy", "eval_think_rate")) {
            for (int i = start; i < s.steps(); i++) {
                Grpo.Step st = g.step();
                double ea = Double.NaN;
                double et = Double.NaN;
                if (i % s.evalEvery() == 0 || i + 1 == s.steps()) {
                    Evaluation.Result r = eval.run(model, rollouts);
                    ea = r.accuracy();
                    et = r.thinkRate();
                }
                log.add(i, st.meanReward(), st.accuracy(), st.thinkRate(), st.meanLength(), st.zeroVarianceGroups(),
                        st.loss(), st.kl(), ea, et);
                if ((i + 1) % 10 == 0 || i + 1 == s.steps()) {
                    Checkpoint.save(ckpt, model, g.optimizer(), new Checkpoint.Info("grpo", i + 1, Map.of()));
                }
            }
            if (!resuming) {
                double[] x = log.steps();
                new Plot("GRPO: in-training reward, accuracy and think-rate", "step")
                        .line("reward", x, log.column("reward")).line("accuracy", x, log.column("accuracy"))
                        .line("think-rate", x, log.column("think_rate")).write(dir.resolve("grpo-reward.png"));
                new Plot("GRPO: held-out accuracy and think-rate", "step")
                        .line("held-out accuracy", every(x, log.column("eval_accuracy")), dropNaN(log.column("eval_accuracy")))
                        .line("held-out think-rate", every(x, log.column("eval_think_rate")), dropNaN(log.column("eval_think_rate")))
                        .write(dir.resolve("grpo-eval.png"));
                new Plot("GRPO: mean response length (tokens)", "step").line("length", x, log.column("length"))
                        .write(dir.resolve("grpo-length.png"));
            }
        }
        record("after GRPO", eval.run(model, rollouts));
        return model;
    }

    private static double[] every(double[] x, double[] y) {
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (!Double.isNaN(y[i])) {
                out.add(x[i]);
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double[] dropNaN(double[] y) {
        return java.util.Arrays.stream(y).filter(v -> !Double.isNaN(v)).toArray();
    }

    public record DistillSettings(Task task, String studentSize, int traces, int steps, int batch, double lr, long seed) {
    }

    /**
     * Distillation as R1 did it: the teacher answers fresh "Q" problems, the verifier keeps only correct,
     * well-formed answers (rejection sampling), and a smaller student is trained from scratch on them
     * (the loss on the answers, the prompts given).
     */
    public TrainableDeepSeek distill(Path teacherCkpt, DistillSettings s, RolloutExecutor rollouts) throws IOException {
        TrainableDeepSeek teacher = Checkpoint.load(teacherCkpt).model();
        AdditionTask task = s.task().task();
        Random rnd = new Random(s.seed());
        List<AdditionTask.Problem> problems = new ArrayList<>();
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < s.traces(); i++) {
            AdditionTask.Problem p = task.problem(rnd);
            problems.add(p);
            prompts.add(Evaluation.prompt(vocab, p));
        }
        List<int[]> kept = new ArrayList<>();
        List<Integer> promptLengths = new ArrayList<>();
        var gens = GgufExport.withTemporaryFile(teacher, vocab, "teacher", file -> rollouts.sample(file, prompts, 1,
                new io.jseek.engine.SamplerConfig(1.0f, 0, 1, 0, 1, 0, 0, 64, 0), s.seed(), 64));
        for (int i = 0; i < problems.size(); i++) {
            var g = gens.get(i).getFirst();
            if (Grpo.verdict(problems.get(i), g, vocab).correct()) {
                int[] seq = java.util.Arrays.copyOf(prompts.get(i), prompts.get(i).length + g.tokens().length);
                System.arraycopy(g.tokens(), 0, seq, prompts.get(i).length, g.tokens().length);
                kept.add(seq);
                promptLengths.add(prompts.get(i).length);
            }
        }
        out.printf("distillation: the teacher answered %d problems, %d correctly (kept)%n", s.traces(), kept.size());
        if (kept.isEmpty()) {
            throw new io.jseek.core.JseekException("the teacher answered nothing correctly: nothing to distill");
        }
        TrainableDeepSeek student = new TrainableDeepSeek(size(s.studentSize(), vocab), s.seed());
        AdamW opt = new AdamW(student.parameters(), new AdamW.Settings(s.lr(), 0.9, 0.95, 1e-8, 0.01, 1.0,
                Math.min(100, s.steps() / 10 + 1), s.steps(), 0.1));
        try (RunLog log = new RunLog(dir.resolve("distill.csv"), "distill", s.steps(), out, false, "loss")) {
            for (int i = 0; i < s.steps(); i++) {
                int[][] batch = new int[s.batch()][];
                int[] lens = new int[s.batch()];
                int rows = 0;
                for (int b = 0; b < s.batch(); b++) {
                    int k = rnd.nextInt(kept.size());
                    batch[b] = kept.get(k);
                    lens[b] = promptLengths.get(k);
                    rows += batch[b].length;
                }
                int[] targets = new int[rows];
                for (int b = 0, r = 0; b < batch.length; b++) {
                    for (int j = 0; j < batch[b].length; j++, r++) {
                        targets[r] = j + 1 < batch[b].length && j + 1 >= lens[b] ? batch[b][j + 1] : -1;
                    }
                }
                Tape t = new Tape();
                Var loss = t.crossEntropy(student.forward(t, batch), targets);
                t.backward(loss);
                opt.step();
                student.updateSelectionBias();
                log.add(i, loss.v[0]);
            }
            new Plot("distillation: student loss", "step").line("loss", log.steps(), log.column("loss"))
                    .write(dir.resolve("distill-loss.png"));
        }
        Checkpoint.save(dir.resolve("student.ckpt"), student, opt, new Checkpoint.Info("distill", s.steps(), Map.of()));
        record("student", evaluation(s.task()).run(student, rollouts));
        return student;
    }

    /**
     * The chat template of exported models: a user message becomes a "Q" prompt, as in training; the
     * model then answers with optional {@code <think>} reasoning and an {@code <answer>}.
     */
    public static final String CHAT_TEMPLATE = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
            + "{{ 'Q ' + message['content'] }}{% endif %}{% endfor %}";

    public static void export(Path ckpt, Path out, GgmlType type, String name) throws IOException {
        GgufExport.write(Checkpoint.load(ckpt).model(), new CharVocabulary(), out, type, name, CHAT_TEMPLATE);
    }
}
