package io.jseek.spark;

import io.jseek.core.JseekException;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.Scheduler;
import io.jseek.train.InProcessRollouts;
import io.jseek.train.RolloutExecutor;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The trainer's {@link RolloutExecutor} on Spark: each call publishes the current policy (the exported GGUF) under a
 * directory every executor can read, spreads the (prompt, sample) pairs over {@code partitions} partitions, and each
 * executor JVM samples its share through one scheduler loaded from that file ({@link ExecutorEngine#current}:
 * replaced when the policy changes). The
 * seeding and scheduler settings are {@link InProcessRollouts}'s, so with batch-invariant kernels a training run
 * gives the same trajectory here as in process. The training loop is unchanged: pass this to {@code Grpo} or the
 * recipe's distillation.
 */
public final class SparkRolloutExecutor implements RolloutExecutor {
    private final SparkSession spark;
    private final Path shared;
    private final int partitions;
    private final int parallel;
    private final int threads;
    private final boolean batchInvariant;
    private final AtomicLong calls = new AtomicLong();

    /**
     * @param shared     a directory every executor reads at this path (the policy is copied there per call)
     * @param partitions partitions per call (at least the executors' cores, so every executor gets work)
     * @param parallel   scheduler slots per executor JVM
     * @param threads    compute threads per executor JVM
     */
    public SparkRolloutExecutor(SparkSession spark, Path shared, int partitions, int parallel, int threads,
                                boolean batchInvariant) {
        this.spark = spark;
        this.shared = shared;
        this.partitions = partitions;
        this.parallel = parallel;
        this.threads = threads;
        this.batchInvariant = batchInvariant;
    }

    @Override
    public List<List<Generation>> sample(Path policy, List<int[]> prompts, int samples, SamplerConfig sampler, long seed,
                                         int maxTokens) {
        Path published = shared.resolve("policy-" + ProcessHandle.current().pid() + "-" + calls.incrementAndGet() + ".gguf");
        try {
            Files.createDirectories(shared);
            Files.copy(policy, published, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new JseekException("cannot publish the policy under " + shared + ": " + e.getMessage(), e);
        }
        try {
            List<Row> jobs = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                for (int j = 0; j < samples; j++) {
                    jobs.add(RowFactory.create(i, j, prompts.get(i)));
                }
            }
            StructType in = new StructType().add("i", DataTypes.IntegerType).add("j", DataTypes.IntegerType)
                    .add("prompt", DataTypes.createArrayType(DataTypes.IntegerType, false));
            int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(1);
            Work work = new Work(published.toString(), samples, sampler, seed, maxTokens, parallel, threads, longest,
                    prompts.size() * samples, batchInvariant);
            Dataset<Row> out = spark.createDataFrame(jobs, in).repartition(partitions)
                    .mapPartitions(work, Encoders.row(OUT));
            List<List<Generation>> result = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                List<Generation> group = new ArrayList<>();
                for (int j = 0; j < samples; j++) {
                    group.add(null);
                }
                result.add(group);
            }
            for (Row r : out.collectAsList()) {
                result.get(r.getInt(0)).set(r.getInt(1), generation(r));
            }
            return result;
        } finally {
            try {
                Files.deleteIfExists(published);
            } catch (IOException ignored) {
                // a leftover file in the shared directory; the next call uses another name
            }
        }
    }

    private static final StructType OUT = new StructType().add("i", DataTypes.IntegerType).add("j", DataTypes.IntegerType)
            .add("reasoning", DataTypes.StringType).add("content", DataTypes.StringType)
            .add("stop", DataTypes.StringType).add("prompt_tokens", DataTypes.IntegerType)
            .add("reused_tokens", DataTypes.IntegerType)
            .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false))
            .add("prompt_seconds", DataTypes.DoubleType).add("generation_seconds", DataTypes.DoubleType)
            .add("reasoning_tokens", DataTypes.IntegerType);

    private static Generation generation(Row r) {
        List<Integer> t = r.getList(7);
        int[] tokens = new int[t.size()];
        for (int k = 0; k < tokens.length; k++) {
            tokens[k] = t.get(k);
        }
        return new Generation(r.getString(2), r.getString(3), Generation.StopReason.valueOf(r.getString(4)), r.getInt(5),
                r.getInt(6), tokens, r.getDouble(8), r.getDouble(9), r.getInt(10), 0, 0);
    }

    /** One partition's samples, on an executor. */
    private record Work(String policy, int samples, SamplerConfig sampler, long seed, int maxTokens, int parallel,
                        int threads, int longest, int requests, boolean batchInvariant)
            implements MapPartitionsFunction<Row, Row>, Serializable {
        @Override
        public Iterator<Row> call(Iterator<Row> rows) throws Exception {
            String key = policy + "|" + parallel + "|" + threads + "|" + longest + "|" + maxTokens + "|" + batchInvariant;
            Scheduler scheduler = ExecutorEngine.current(key, () -> {
                LoadedModel model = LoadedModel.open(ExecutorEngine.resolve(policy), ExecutorEngine.threads(threads));
                return new ExecutorEngine.Engine(model, new Scheduler(model, InProcessRollouts.config(parallel, longest,
                        maxTokens, requests, batchInvariant)));
            }).scheduler();
            List<Row> in = new ArrayList<>();
            List<Scheduler.Handle> handles = new ArrayList<>();
            while (rows.hasNext()) {
                Row r = rows.next();
                in.add(r);
                List<Integer> p = r.getList(2);
                int[] prompt = new int[p.size()];
                for (int k = 0; k < prompt.length; k++) {
                    prompt[k] = p.get(k);
                }
                handles.add(scheduler.submit(prompt, InProcessRollouts.options(sampler, seed, r.getInt(0), samples,
                        r.getInt(1), maxTokens), new GenerationListener() {
                }));
            }
            List<Row> out = new ArrayList<>();
            for (int k = 0; k < in.size(); k++) {
                Generation g;
                try {
                    g = handles.get(k).result().get();
                } catch (ExecutionException e) {
                    throw new JseekException("a rollout failed: " + e.getCause(), e.getCause());
                }
                out.add(RowFactory.create(in.get(k).getInt(0), in.get(k).getInt(1), g.reasoning(), g.content(),
                        g.stopReason().name(), g.promptTokens(), g.reusedTokens(), g.tokens(),
                        g.promptSeconds(), g.generationSeconds(), g.reasoningTokens()));
            }
            return out.iterator();
        }
    }
}
