package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.core.tensor.GgmlType;
import io.jseek.train.Grpo;
import io.jseek.train.InProcessRollouts;
import io.jseek.train.Recipe;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The training commands: {@code jseek train}, {@code grpo}, {@code distill}, {@code export} (docs/training.md). */
final class TrainCommands {
    private TrainCommands() {
    }

    /** The addition task's options, shared by every phase. */
    static final class TaskOptions {
        @Option(names = "--terms", defaultValue = "3-4", paramLabel = "MIN-MAX", description = "Numbers per problem (default ${DEFAULT-VALUE}).")
        String terms;

        @Option(names = "--digits", defaultValue = "2", paramLabel = "N", description = "Digits per number (default ${DEFAULT-VALUE}).")
        int digits;

        @Option(names = "--think-share", defaultValue = "0.1", paramLabel = "P",
                description = "Share of Q documents that show a worked solution (default ${DEFAULT-VALUE}).")
        double thinkShare;

        Recipe.Task task() {
            String[] p = terms.split("-");
            try {
                int lo = Integer.parseInt(p[0].trim());
                int hi = Integer.parseInt(p[p.length - 1].trim());
                new io.jseek.train.AdditionTask(lo, hi, digits, thinkShare);
                return new Recipe.Task(lo, hi, digits, thinkShare);
            } catch (NumberFormatException e) {
                throw new JseekException("--terms takes MIN-MAX, e.g. 3-4, got " + terms);
            }
        }
    }

    static final class DirOption {
        @Option(names = {"-o", "--out"}, defaultValue = "run", paramLabel = "DIR",
                description = "Run directory: checkpoints, CSV logs, plots, eval.csv (default ${DEFAULT-VALUE}).")
        Path dir;
    }

    static PrintStream console() {
        return System.err;
    }

    @Command(name = "train", mixinStandardHelpOptions = true, description = {
        "Pretrain a small DeepSeek-architecture model (MLA + MoE) from scratch on generated addition documents "
                + "(worked column-addition solutions under S, mostly bare answers under Q), then evaluate the base "
                + "model on 256 held-out Q problems: free, forced to think, forced to answer directly. Writes "
                + "DIR/pretrain.ckpt (every --checkpoint-every steps; --resume continues it), pretrain.csv, "
                + "pretrain-loss.png, eval.csv."})
    static final class Train implements Callable<Integer> {
        @Mixin
        DirOption dir;

        @Mixin
        TaskOptions task;

        @Mixin
        ThreadsOption threads;

        @Option(names = "--size", defaultValue = "small", description = "Model size: tiny (~0.13M parameters), medium (~0.4M) or small (~1M; default).")
        String size;

        @Option(names = "--steps", defaultValue = "2000", description = "Optimizer steps (default ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--batch", defaultValue = "32", description = "Documents per step (default ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--lr", defaultValue = "2e-3", description = "Peak learning rate, warm-up then cosine (default ${DEFAULT-VALUE}).")
        double lr;

        @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights and the data (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--checkpoint-every", defaultValue = "100", description = "Steps between checkpoints (default ${DEFAULT-VALUE}).")
        int every;

        @Option(names = "--resume", description = "Continue from DIR/pretrain.ckpt if it exists.")
        boolean resume;

        @Option(names = "--mtp", defaultValue = "0", paramLabel = "LAMBDA",
                description = "Give the model DeepSeek-V3's multi-token-prediction block and add its loss with this weight "
                        + "(V3: 0.3; default ${DEFAULT-VALUE}: no block). The exported model can then draft for itself (--spec mtp).")
        double mtp;

        @Override
        public Integer call() throws Exception {
            if (!(mtp >= 0) || !Double.isFinite(mtp)) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "--mtp must be a weight ≥ 0, not " + mtp);
            }
            try (InProcessRollouts r = new InProcessRollouts(threads.threads(), 64)) {
                new Recipe(dir.dir, console()).pretrain(new Recipe.PretrainSettings(size, task.task(), steps, batch, lr, seed,
                        every, resume, mtp), r);
            }
            return 0;
        }
    }

    @Command(name = "grpo", mixinStandardHelpOptions = true, description = {
        "Improve a pretrained model with GRPO (DeepSeekMath / R1): groups of answers sampled by the inference "
                + "engine, the rule-based reward (1 correct in well-formed tags, 0.1 well-formed but wrong, 0 "
                + "malformed), group-normalised advantages, clipped ratio, optional k3 KL to the starting model. "
                + "Writes DIR/grpo.ckpt, grpo.csv, grpo-reward.png, grpo-eval.png, grpo-length.png, eval.csv."})
    static final class GrpoCmd implements Callable<Integer> {
        @Mixin
        DirOption dir;

        @Mixin
        TaskOptions task;

        @Mixin
        ThreadsOption threads;

        @Option(names = "--from", paramLabel = "CKPT", description = "Starting checkpoint (default DIR/pretrain.ckpt).")
        Path from;

        @Option(names = "--steps", defaultValue = "120", description = "GRPO steps (default ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--prompts", defaultValue = "16", description = "Problems per step (default ${DEFAULT-VALUE}).")
        int prompts;

        @Option(names = "--group", defaultValue = "8", description = "Answers sampled per problem (default ${DEFAULT-VALUE}).")
        int group;

        @Option(names = "--max-tokens", defaultValue = "64", description = "Longest answer; longer ones are cut and score 0 (default ${DEFAULT-VALUE}).")
        int maxTokens;

        @Option(names = "--temperature", defaultValue = "1.0", description = "Sampling temperature of the rollouts (default ${DEFAULT-VALUE}).")
        float temperature;

        @Option(names = "--lr", defaultValue = "1e-4", description = "Learning rate (default ${DEFAULT-VALUE}).")
        double lr;

        @Option(names = "--beta", defaultValue = "0", description = "KL penalty to the starting model (R1: 0.001; default ${DEFAULT-VALUE}).")
        double beta;

        @Option(names = "--aggregation", defaultValue = "TOKEN_MEAN",
                description = "SEQUENCE_MEAN (DeepSeekMath), TOKEN_MEAN (DAPO; default) or CONSTANT (Dr. GRPO).")
        Grpo.Aggregation aggregation;

        @Option(names = "--no-std", description = "Dr. GRPO: do not divide advantages by the group's standard deviation.")
        boolean noStd;

        @Option(names = "--eps-low", defaultValue = "0.2", description = "Clip below 1 − eps (default ${DEFAULT-VALUE}).")
        double epsLow;

        @Option(names = "--eps-high", defaultValue = "0.28", description = "Clip above 1 + eps (DAPO clip-higher; default ${DEFAULT-VALUE}).")
        double epsHigh;

        @Option(names = "--updates", defaultValue = "1", description = "Updates per batch of rollouts (default ${DEFAULT-VALUE}: on-policy).")
        int updates;

        @Option(names = "--no-dynamic-sampling", description = "Keep groups whose rewards are all equal.")
        boolean noDynamic;

        @Option(names = "--mask-truncated", description = "DAPO overlong filtering: leave cut-off answers out of the loss.")
        boolean maskTruncated;

        @Option(names = "--eval-every", defaultValue = "10", description = "Steps between held-out evaluations (default ${DEFAULT-VALUE}).")
        int evalEvery;

        @Option(names = "--seed", defaultValue = "1", description = "Seed of problems and sampling (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--resume", description = "Continue from DIR/grpo.ckpt if it exists.")
        boolean resume;

        @Option(names = "--mtp", defaultValue = "0.1", paramLabel = "LAMBDA",
                description = "Weight of the multi-token-prediction loss on the sampled answers, for a model with an MTP "
                        + "block (V3: 0.1 late in training; default ${DEFAULT-VALUE}; 0: the block is left as it is).")
        double mtp;

        @Override
        public Integer call() throws Exception {
            if (!(mtp >= 0) || !Double.isFinite(mtp)) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "--mtp must be a weight ≥ 0, not " + mtp);
            }
            Path start = from != null ? from : dir.dir.resolve("pretrain.ckpt");
            var settings = new Grpo.Settings(prompts, group, maxTokens, temperature,
                    new io.jseek.train.AdamW.Settings(lr, 0.9, 0.99, 1e-8, 0.0, 1.0, 0, steps, 1.0), aggregation,
                    noStd ? Grpo.AdvantageScale.NONE : Grpo.AdvantageScale.GROUP_STD, epsLow, epsHigh, beta, updates,
                    !noDynamic, maskTruncated, mtp);
            try (InProcessRollouts r = new InProcessRollouts(threads.threads(), 64)) {
                new Recipe(dir.dir, console()).grpo(start, new Recipe.GrpoSettings(task.task(), steps, settings,
                        Math.max(1, evalEvery), seed, resume), r);
            }
            return 0;
        }
    }

    @Command(name = "distill", mixinStandardHelpOptions = true, description = {
        "Distil the GRPO-trained teacher into a smaller student, as R1 did: the teacher answers fresh problems, "
                + "only verified-correct answers are kept (rejection sampling), and the student is trained on them "
                + "from scratch. Writes DIR/student.ckpt, distill.csv, distill-loss.png, eval.csv."})
    static final class Distill implements Callable<Integer> {
        @Mixin
        DirOption dir;

        @Mixin
        TaskOptions task;

        @Mixin
        ThreadsOption threads;

        @Option(names = "--teacher", paramLabel = "CKPT", description = "Teacher checkpoint (default DIR/grpo.ckpt).")
        Path teacher;

        @Option(names = "--student-size", defaultValue = "medium", description = "Student size: tiny, medium (~0.4M; default) or small.")
        String studentSize;

        @Option(names = "--traces", defaultValue = "4000", description = "Problems the teacher answers (default ${DEFAULT-VALUE}).")
        int traces;

        @Option(names = "--steps", defaultValue = "2000", description = "Student training steps (default ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--batch", defaultValue = "32", description = "Traces per step (default ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--lr", defaultValue = "2e-3", description = "Peak learning rate (default ${DEFAULT-VALUE}).")
        double lr;

        @Option(names = "--seed", defaultValue = "2", description = "Seed (default ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() throws Exception {
            Path t = teacher != null ? teacher : dir.dir.resolve("grpo.ckpt");
            try (InProcessRollouts r = new InProcessRollouts(threads.threads(), 64)) {
                new Recipe(dir.dir, console()).distill(t, new Recipe.DistillSettings(task.task(), studentSize, traces, steps,
                        batch, lr, seed), r);
            }
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true, description = {
        "Write a training checkpoint as a GGUF model (deepseek2, split MLA layout) that jseek and llama.cpp "
                + "load, with the character vocabulary and a chat template that turns a question into a Q prompt."})
    static final class Export implements Callable<Integer> {
        @Option(names = "--from", required = true, paramLabel = "CKPT", description = "The checkpoint.")
        Path from;

        @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "The GGUF file to write.")
        Path out;

        @Option(names = "--type", defaultValue = "Q8_0", description = "Matrix type: F32 or Q8_0 (default ${DEFAULT-VALUE}).")
        GgmlType type;

        @Option(names = "--name", defaultValue = "jseek-r1-addition", description = "general.name (default ${DEFAULT-VALUE}).")
        String name;

        @Override
        public Integer call() throws Exception {
            Recipe.export(from, out, type, name);
            console().println("jseek: wrote " + out);
            return 0;
        }
    }
}
