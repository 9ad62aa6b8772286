package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.engine.ContextPlan;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.Scheduler;
import io.jseek.server.Server;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jseek serve}: the DeepSeek/OpenAI-compatible HTTP server. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the model over HTTP with the DeepSeek / OpenAI API (/v1/chat/completions, "
                + "/v1/completions, /v1/models), /health, /metrics, /tokenize, /detokenize, /apply-template and a "
                + "chat page at /. Concurrent requests are batched together. Ctrl-C stops it."})
final class ServeCommand implements Callable<Integer> {
    /** Held so the level set on it stays (java.util.logging keeps loggers weakly). */
    private static final java.util.logging.Logger JETTY_LOG = java.util.logging.Logger.getLogger("org.eclipse.jetty");

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Mixin
    ThreadsOption threadsOption;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Address to listen on (default ${DEFAULT-VALUE}: this machine only).")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "PORT", description = "Port (default ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--parallel", defaultValue = "8", paramLabel = "N", description = "Requests generated at once (default ${DEFAULT-VALUE}).")
    int parallel;

    /** --ctx: the most tokens one request may use, prompt and answer. */
    @Mixin
    ContextOptions context;

    @Option(names = "--kv-tokens", paramLabel = "N", description = "KV-cache positions shared by all requests and the "
            + "prefix cache (default: --ctx times --parallel, so every request can fill its context, within a third of "
            + "the free heap, at least --ctx).")
    Integer kvTokens;

    @Option(names = "--prefill-chunk", defaultValue = "256", paramLabel = "N",
            description = "Prompt tokens computed per step, so long prompts do not stall running streams (default ${DEFAULT-VALUE}).")
    int prefillChunk;

    @Option(names = "--queue", defaultValue = "64", paramLabel = "N", description = "Requests that may wait; more get 503 (default ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--max-connections", paramLabel = "N", description = "Open connections at most; beyond it the oldest "
            + "connection that has not sent a request yet is closed to make room (default: 4096, or three quarters of "
            + "the file-descriptor limit if lower).")
    Integer maxConnections;

    @Option(names = "--header-timeout", defaultValue = "10", paramLabel = "SECONDS",
            description = "A new connection's request head must arrive within this (default ${DEFAULT-VALUE}).")
    double headerTimeout;

    @Option(names = "--idle-timeout", defaultValue = "60", paramLabel = "SECONDS", description = "A connection whose "
            + "read or write makes no progress for this long, or an idle keep-alive connection, is closed (default ${DEFAULT-VALUE}).")
    double idleTimeout;

    @Option(names = "--batch-invariant", description = "Compute each request as it would be alone, whatever runs beside "
            + "it, so a seeded sample is reproducible bit for bit (slower; no prefix cache). See docs/spark.md.")
    boolean batchInvariant;

    @Mixin
    SpecOption speculation;

    @Option(names = "--restart-on-fault", description = "When the engine stops on a fault (e.g. the model file changed "
            + "under it), reopen the model and serve again; /health answers 503 until then (default: stay down, 503).")
    boolean restartOnFault;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require Authorization: Bearer KEY (repeatable).")
    List<String> apiKeys = new ArrayList<>();

    @Option(names = "--api-key-file", paramLabel = "FILE", description = "Read accepted keys from FILE, one per line.")
    Path apiKeyFile;

    @Option(names = "--cors-origin", paramLabel = "ORIGIN", description = "Allow browser calls from ORIGIN (repeatable; * for any). Off by default.")
    List<String> corsOrigins = new ArrayList<>();

    @Option(names = "--alias", paramLabel = "NAME", description = "The model id clients see (default: the file name).")
    String alias;

    @Option(names = "--log-format", defaultValue = "text", paramLabel = "FORMAT",
            description = "Request log lines on standard error, one per request: text (key=value) or json (default ${DEFAULT-VALUE}).")
    String logFormat;

    @Option(names = "--strict-model", description = "Reject requests that name another model (default: serve them with this one).")
    boolean strictModel;

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        List<String> keys = new ArrayList<>(apiKeys);
        if (apiKeyFile != null) {
            for (String line : Files.readAllLines(apiKeyFile, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    keys.add(line.strip());
                }
            }
            if (keys.isEmpty()) {
                throw new JseekException(apiKeyFile + " has no API keys");
            }
        }
        Path path = modelOption.resolve();
        // The request log (System.Logger "jseek.server", java.util.logging here): one line each, no source line.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT %4$s %5$s%6$s%n");
        }
        JETTY_LOG.setLevel(java.util.logging.Level.WARNING); // its start-up banner is not news
        Server.Limits limits;
        try {
            limits = new Server.Limits(maxConnections != null ? maxConnections : Server.Limits.defaultMaxConnections(),
                    seconds("--header-timeout", headerTimeout), seconds("--idle-timeout", idleTimeout), 16 << 10);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Server server = Server.start(new Server.Options(host, port, keys, corsOrigins, alias, strictModel, 8 << 20, 5000,
                logFormat, limits));
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            err.println("jseek: stopping");
            err.flush();
            server.stop(2);
            stopped.countDown();
        });
        Runtime.getRuntime().addShutdownHook(hook);
        LoadedModel m = speculation.apply(LoadedModel.open(path, threadsOption.threads()), threadsOption.threads());
        ContextPlan plan = context.plan(m, err);
        Runtime rt = Runtime.getRuntime();
        int kv = kvTokens != null ? kvTokens : defaultKvTokens(plan.contextLength(), parallel,
                rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()), m.kvBytesPerToken(plan.cacheType()));
        server.ready(m, new Scheduler.Config(parallel, plan.contextLength(), kv, plan.cacheType(), prefillChunk, queue,
                batchInvariant));
        if (restartOnFault) {
            server.restartOnFault(() -> speculation.apply(LoadedModel.open(path, threadsOption.threads()), threadsOption.threads()));
        }
        err.printf("jseek: serving %s on %s (context %d per request, KV cache %d positions %s shared by %d parallel requests)%n",
                path.getFileName(), server.url(), plan.contextLength(), Math.max(kv, plan.contextLength()), plan.cacheType(), parallel);
        err.flush();
        stopped.await();
        server.model().close();
        return 0;
    }

    private java.time.Duration seconds(String flag, double value) {
        if (!(value > 0) || value > 86_400) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), flag + " must be between 0 and 86400 seconds, got " + value);
        }
        return java.time.Duration.ofMillis(Math.max(1, Math.round(value * 1000)));
    }

    /**
     * The KV pool: a full context for every parallel request (the prefix cache lives in what they leave free), capped
     * at a third of the free heap, at least one context. (Sizing it from the heap alone gave a 128-token model millions
     * of positions.)
     */
    static int defaultKvTokens(int context, int parallel, long freeBytes, long bytesPerToken) {
        long wanted = (long) context * Math.max(1, parallel);
        long fit = freeBytes / 3 / Math.max(1, bytesPerToken);
        return (int) Math.max(context, Math.min(Integer.MAX_VALUE / 2, Math.min(wanted, fit)));
    }
}
