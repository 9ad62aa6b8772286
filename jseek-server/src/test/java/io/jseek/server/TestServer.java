package io.jseek.server;

import io.jseek.engine.LoadedModel;
import io.jseek.engine.Scheduler;
import io.jseek.model.CacheType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

/** An in-process server on an ephemeral loopback port with a bundled test model. */
final class TestServer implements AutoCloseable {
    static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    /** R1-Distill-Qwen shape, R1 chat template (replies open inside {@code <think>}). */
    static final String MODEL = "r1qwen-q8_0.gguf";
    static final String KEY = "test-key";

    final LoadedModel model;
    final Server server;
    final HttpClient http = HttpClient.newHttpClient();

    TestServer(List<String> keys, int parallel, int context, int kvTokens, int queue) {
        this(keys, parallel, context, kvTokens, queue, "text");
    }

    TestServer(List<String> keys, int parallel, int context, int kvTokens, int queue, String logFormat) {
        this(DATA.resolve(MODEL), keys, parallel, context, kvTokens, queue, logFormat);
    }

    /** jseek's embedded model (models/jseek-r1-addition.gguf) as the README runs it: its 128-token context. */
    static TestServer embedded() {
        return new TestServer(Path.of(System.getProperty("jseek.models", "../models"), "jseek-r1-addition.gguf"), List.of(),
                2, 128, 1024, 8, "text");
    }

    private TestServer(Path file, List<String> keys, int parallel, int context, int kvTokens, int queue, String logFormat) {
        model = LoadedModel.open(file, 2);
        server = Server.start(new Server.Options("127.0.0.1", 0, keys, List.of("http://allowed.example"), "test-model",
                false, 64 * 1024, 300, logFormat, Server.Limits.defaults()));
        server.ready(model, new Scheduler.Config(parallel, context, kvTokens, CacheType.F32, 32, queue));
    }

    TestServer() {
        this(List.of(KEY), 4, 256, 4096, 64);
    }

    String base() {
        return server.url().toString();
    }

    /** The token id of the end-of-sequence token, as a logit_bias key that bans it (so lengths are predictable). */
    String noEos() {
        return "{\"" + model.tokenizer().eos() + "\": -100}";
    }

    HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base() + path.substring(1)))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base() + path.substring(1)))
                .header("Authorization", "Bearer " + KEY).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Waits until no sequence runs and only the prefix cache holds KV blocks. */
    void awaitIdle() throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            Scheduler.Stats s = server.scheduler().stats();
            if (s.running() == 0 && s.waiting() == 0 && s.kvBlocksUsed() == s.prefixCacheBlocks()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the server did not go idle: " + server.scheduler().stats());
    }

    @Override
    public void close() {
        server.close();
        model.close();
        server.model().close(); // a model reopened after a fault
    }
}
