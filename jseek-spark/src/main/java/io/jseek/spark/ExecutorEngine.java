package io.jseek.spark;

import io.jseek.core.JseekException;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.Scheduler;
import io.jseek.model.CacheType;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkFiles;

/**
 * The models and schedulers of one executor JVM, loaded by the first task that needs one and shared by every task
 * the JVM runs (so the rows of partitions running side by side are batched together); closed when the JVM exits.
 * A generation job's engine stays for the JVM's life; a changing model (the trainer's policy, published anew every
 * step) has one {@link #current} slot, its previous engine closed when another takes it.
 */
final class ExecutorEngine {
    record Engine(LoadedModel model, Scheduler scheduler) {
        void close() {
            scheduler.close();
            model.close();
        }
    }

    private static final Map<String, Engine> ENGINES = new ConcurrentHashMap<>();
    private static String currentKey;
    private static Engine current;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            ENGINES.values().forEach(Engine::close);
            synchronized (ExecutorEngine.class) {
                if (current != null) {
                    current.close();
                }
            }
        }));
    }

    private ExecutorEngine() {
    }

    static Engine get(GenerationSpec spec) {
        String key = spec.modelPath() + "|" + spec.parallel() + "|" + spec.contextLength() + "|" + spec.threads() + "|"
                + spec.batchInvariant();
        return ENGINES.computeIfAbsent(key, k -> open(spec));
    }

    /** The engine for {@code key}, opened with {@code open} unless it is the current one (which it then replaces). */
    static synchronized Engine current(String key, java.util.function.Supplier<Engine> open) {
        if (!key.equals(currentKey)) {
            if (current != null) {
                current.close();
                current = null;
            }
            current = open.get();
            currentKey = key;
        }
        return current;
    }

    private static Engine open(GenerationSpec spec) {
        Path path = resolve(spec.modelPath());
        LoadedModel model = LoadedModel.open(path, threads(spec.threads()));
        int ctx = spec.contextLength() > 0 ? spec.contextLength() : Math.min(4096, model.config().contextLength());
        int kv = io.jseek.model.KvPool.blocksFor(ctx) * io.jseek.model.KvPool.BLOCK_TOKENS * spec.parallel();
        Scheduler.Config config = new Scheduler.Config(spec.parallel(), ctx, kv, CacheType.F16, 256,
                4 * spec.parallel(), spec.batchInvariant());
        return new Engine(model, new Scheduler(model, config));
    }

    /**
     * Compute threads for this executor JVM: as asked, else {@code spark.executor.cores} when set, else the machine's
     * cores. (Several executors on one machine each taking every core made their spinning workers fight: ten times
     * slower.)
     */
    static int threads(int asked) {
        if (asked > 0) {
            return asked;
        }
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        if (env != null && env.conf().contains("spark.executor.cores")) {
            return Math.max(1, env.conf().getInt("spark.executor.cores", 1));
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /** The path as given if this executor can read it, else a file shipped with the job (SparkFiles), else an error. */
    static Path resolve(String modelPath) {
        Path p = Path.of(modelPath);
        if (Files.isReadable(p)) {
            return p;
        }
        try {
            Path shipped = Path.of(SparkFiles.get(p.getFileName().toString()));
            if (Files.isReadable(shipped)) {
                return shipped;
            }
        } catch (RuntimeException e) {
            // no SparkContext here, or no such file: the error below says what to do
        }
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "this executor";
        }
        throw new JseekException("executor " + host + " cannot read the model at " + modelPath
                + ": put it on a path every executor can read, or ship it with spark-submit --files");
    }
}
