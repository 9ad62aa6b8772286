package io.jseek.server;

import io.jseek.engine.LoadedModel;
import io.jseek.engine.Scheduler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * jseek's HTTP server: the DeepSeek / OpenAI API (every path with and without {@code /v1}), health,
 * metrics, tokenizer endpoints and a chat page, on an {@link HttpTransport} (Jetty) with a virtual thread per
 * request and the limits of {@link Limits}. Generation runs in a {@link Scheduler} (continuous batching); request threads only parse,
 * wait and write. Until {@link #ready} is called (the model is loading) every API path answers 503.
 */
public final class Server implements AutoCloseable {
    /**
     * @param apiKeys       keys accepted as {@code Authorization: Bearer KEY}; empty = no authentication
     * @param corsOrigins   origins allowed to call from a browser ("*" for any); empty = no CORS headers
     * @param alias         the model id clients see ({@code null}: the file name)
     * @param strictModel   reject requests naming another model (else any name is served by the one loaded)
     * @param maxBodyBytes  larger request bodies get 413
     * @param keepAliveMs   a stream with nothing to send writes an SSE comment this often (noticing a client gone)
     * @param logFormat     the request log's lines: "text" (key=value) or "json"
     * @param limits        connections, queue and timeouts
     */
    public record Options(String host, int port, List<String> apiKeys, List<String> corsOrigins, String alias,
                          boolean strictModel, long maxBodyBytes, long keepAliveMs, String logFormat, Limits limits) {
        public Options {
            apiKeys = List.copyOf(apiKeys);
            corsOrigins = List.copyOf(corsOrigins);
            RequestLog.format(logFormat);
        }

        public Options(String host, int port, List<String> apiKeys, List<String> corsOrigins, String alias,
                       boolean strictModel, long maxBodyBytes, long keepAliveMs) {
            this(host, port, apiKeys, corsOrigins, alias, strictModel, maxBodyBytes, keepAliveMs, "text", Limits.defaults());
        }

        public static Options defaults() {
            return new Options("127.0.0.1", 8080, List.of(), List.of(), null, false, 8 << 20, 5000, "text",
                    Limits.defaults());
        }

        public Options withPort(int port) {
            return new Options(host, port, apiKeys, corsOrigins, alias, strictModel, maxBodyBytes, keepAliveMs, logFormat,
                    limits);
        }

        public Options withLimits(Limits limits) {
            return new Options(host, port, apiKeys, corsOrigins, alias, strictModel, maxBodyBytes, keepAliveMs, logFormat,
                    limits);
        }
    }

    /**
     * What one client may hold of the server.
     *
     * @param maxConnections open connections at most; beyond it the oldest connection still waiting for its first
     *                       request is closed to make room (or the new one, when all are busy)
     * @param headerTimeout  a connection's first request head must arrive within this
     * @param idleTimeout    a connection with a read or write waiting this long without progress is closed (also the
     *                       keep-alive timeout)
     * @param maxHeaderBytes the request line and headers together at most (else 431)
     */
    public record Limits(int maxConnections, Duration headerTimeout, Duration idleTimeout, int maxHeaderBytes) {
        public Limits {
            if (maxConnections < 1 || maxHeaderBytes < 1024) {
                throw new IllegalArgumentException("limits out of range: " + maxConnections + " connections, "
                        + maxHeaderBytes + " header bytes");
            }
            if (!headerTimeout.isPositive() || !idleTimeout.isPositive()) {
                throw new IllegalArgumentException("timeouts must be positive");
            }
        }

        /**
         * 10 s for a request head, 60 s idle, 16 KiB of headers, and connections up to 4,096 or three quarters of the
         * process's file-descriptor limit, whichever is lower. (Requests waiting for a generation slot are bounded by
         * the scheduler's queue.)
         */
        public static Limits defaults() {
            return new Limits(defaultMaxConnections(), Duration.ofSeconds(10), Duration.ofSeconds(60), 16 << 10);
        }

        public static int defaultMaxConnections() {
            long fds = 4096;
            if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                    instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
                fds = unix.getMaxFileDescriptorCount();
            }
            return (int) Math.max(16, Math.min(4096, fds * 3 / 4));
        }
    }

    private static final System.Logger LOG = System.getLogger("jseek.server");

    /**
     * Requests' JSON. Fractions are read as exact decimals, never doubles: 1e400 would be Infinity as a double and
     * slip past a range check; as a decimal it is simply out of range (400).
     */
    static final JsonMapper JSON = JsonMapper.builder()
            .enable(tools.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();

    private final Options options;
    private final HttpTransport http;
    final Metrics metrics;
    private volatile LoadedModel model;
    private volatile Scheduler scheduler;
    private volatile String modelId;
    private final long created = System.currentTimeMillis() / 1000;

    private Server(Options options) {
        this.options = options;
        this.metrics = new Metrics(() -> scheduler, this::transportStats);
        this.http = new HttpTransport(options.host(), options.port(), options.limits(), this::handle);
    }

    private HttpTransport.Stats transportStats() {
        return http.stats();
    }

    /** Starts listening; the API answers 503 until {@link #ready}. */
    public static Server start(Options options) {
        return new Server(options);
    }

    /** Serves {@code loaded} through a scheduler with {@code config}. */
    public void ready(LoadedModel loaded, Scheduler.Config config) {
        this.modelId = options.alias() != null ? options.alias()
                : loaded.path().getFileName().toString().replaceFirst("\\.gguf$", "");
        this.scheduler = new Scheduler(loaded, config);
        this.model = loaded;
    }

    /**
     * From now on, when the scheduler stops on a fault, reopens the model with {@code reopen} and serves it with the
     * same configuration ({@code serve --restart-on-fault}). Until that succeeds {@code /health} answers 503 with the
     * fault (and the last reopening error); a failed reopening is retried every 10 s.
     */
    public void restartOnFault(java.util.concurrent.Callable<LoadedModel> reopen) {
        Thread.ofPlatform().daemon().name("jseek-restart").start(() -> {
            while (!stopping) {
                Scheduler s = scheduler;
                long pause = 200;
                if (s != null && s.fault() != null) {
                    LOG.log(System.Logger.Level.WARNING, "the engine stopped on a fault; reopening the model");
                    LoadedModel old = model;
                    try {
                        LoadedModel fresh = reopen.call();
                        s.close();
                        ready(fresh, s.config());
                        restartError = null;
                        restarts.incrementAndGet();
                        if (old != fresh) {
                            old.close();
                        }
                        LOG.log(System.Logger.Level.WARNING, "model reopened; serving again");
                    } catch (Exception | Error e) {
                        restartError = e.toString();
                        LOG.log(System.Logger.Level.ERROR, "reopening the model failed (retrying in 10 s): " + e);
                        pause = 10_000;
                    }
                }
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    private volatile boolean stopping;
    private volatile String restartError;
    private final java.util.concurrent.atomic.AtomicLong restarts = new java.util.concurrent.atomic.AtomicLong();

    /** How many times {@link #restartOnFault} has reopened the model. */
    public long restarts() {
        return restarts.get();
    }

    /** The port listened on (useful with port 0). */
    public int port() {
        return http.port();
    }

    public URI url() {
        String host = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        return URI.create("http://" + host + ":" + port() + "/");
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** The model being served (after a restart on fault, the reopened one); null while loading. */
    public LoadedModel model() {
        return model;
    }

    /** Stops accepting, cancels what runs, waits up to {@code graceSeconds} for responses to finish. */
    public void stop(int graceSeconds) {
        stopping = true;
        Scheduler s = scheduler;
        if (s != null) {
            s.close();
        }
        http.stop(Duration.ofSeconds(graceSeconds));
    }

    @Override
    public void close() {
        stop(0);
    }

    /** The metrics as {@code /metrics} shows them (also while the model loads). */
    String metricsText() {
        return new String(metrics.render(), StandardCharsets.UTF_8);
    }

    String modelId() {
        return modelId;
    }

    long created() {
        return created;
    }

    Options options() {
        return options;
    }

    private void handle(Exchange ex) {
        long start = System.nanoTime();
        String path = ex.path();
        String endpoint = path;
        int status = 500;
        try {
            cors(ex);
            if (path.startsWith("/v1/") || path.equals("/v1")) {
                path = path.substring(3);
            }
            if (path.startsWith("/beta/")) {
                path = path.substring(5);
            }
            endpoint = path.isEmpty() ? "/" : path;
            String method = ex.method();
            if (method.equals("OPTIONS")) {
                status = 204;
                ex.start(204, -1);
                return;
            }
            status = route(ex, method, endpoint);
        } catch (ApiException e) {
            status = e.status;
            sendError(ex, e);
        } catch (Exception e) {
            status = 500;
            System.Logger log = System.getLogger("jseek.server");
            log.log(System.Logger.Level.ERROR, "request " + path + " failed", e);
            sendError(ex, new ApiException(500, "server_error", "internal_error", null,
                    "internal error: " + e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + e.getMessage() : ""), 0));
        } finally {
            double ms = (System.nanoTime() - start) / 1e6;
            if (LOG.isLoggable(System.Logger.Level.INFO) && !endpoint.equals("/health") && !endpoint.equals("/metrics")) {
                LOG.log(System.Logger.Level.INFO, RequestLog.line(RequestLog.format(options.logFormat()), ex, status, ms));
            }
            metrics.request(known(endpoint), status);
            if (endpoint.endsWith("completions")) {
                metrics.e2e.observe((System.nanoTime() - start) / 1e9);
            }
        }
    }

    /** A bounded label set for the metrics: unknown paths count as "other". */
    private static String known(String endpoint) {
        return switch (endpoint) {
            case "/", "/health", "/models", "/metrics", "/chat/completions", "/completions", "/tokenize",
                 "/detokenize", "/apply-template", "/props", "/api/chat", "/api/generate", "/api/tags", "/api/show",
                 "/api/version", "/api/ps" -> endpoint;
            default -> "other";
        };
    }

    private int route(Exchange ex, String method, String path) throws IOException {
        if (path.equals("/") || path.equals("/index.html")) {
            requireMethod(method, "GET");
            return sendPage(ex);
        }
        if (path.equals("/favicon.ico")) {
            ex.start(204, -1);
            return 204;
        }
        if (path.equals("/health")) {
            Scheduler s = scheduler;
            Throwable fault = s == null ? null : s.fault();
            ObjectNode body = JSON.createObjectNode().put("status", s == null ? "loading" : fault != null ? "error" : "ok");
            if (fault != null) {
                body.put("reason", "the engine failed: " + fault);
                if (restartError != null) {
                    body.put("restart_error", restartError);
                }
            }
            return sendJson(ex, s != null && fault == null ? 200 : 503, body);
        }
        authorize(ex);
        if (scheduler == null) {
            throw new ApiException(503, "server_error", "model_loading", null, "the model is still loading", 1);
        }
        return switch (path) {
            case "/models" -> {
                requireMethod(method, "GET");
                ObjectNode m = JSON.createObjectNode().put("id", modelId).put("object", "model")
                        .put("created", created).put("owned_by", "jseek");
                ObjectNode list = JSON.createObjectNode().put("object", "list");
                list.putArray("data").add(m);
                yield sendJson(ex, 200, list);
            }
            case "/api/version" -> {
                requireMethod(method, "GET");
                yield sendJson(ex, 200, JSON.createObjectNode().put("version", Ollama.VERSION));
            }
            case "/api/tags" -> {
                requireMethod(method, "GET");
                yield sendJson(ex, 200, ollama().tags());
            }
            case "/api/ps" -> {
                requireMethod(method, "GET");
                yield sendJson(ex, 200, ollama().ps());
            }
            case "/api/show" -> {
                requireMethod(method, "POST");
                body(ex);
                yield sendJson(ex, 200, ollama().show());
            }
            case "/api/chat" -> {
                requireMethod(method, "POST");
                yield ollama().chat(ex, body(ex));
            }
            case "/api/generate" -> {
                requireMethod(method, "POST");
                yield ollama().generate(ex, body(ex));
            }
            case "/props" -> {
                requireMethod(method, "GET");
                yield sendJson(ex, 200, props());
            }
            case "/metrics" -> {
                requireMethod(method, "GET");
                yield send(ex, 200, metrics.contentType(), metrics.render());
            }
            case "/chat/completions" -> {
                requireMethod(method, "POST");
                yield new Completions(this, model, scheduler).chat(ex, body(ex));
            }
            case "/completions" -> {
                requireMethod(method, "POST");
                yield new Completions(this, model, scheduler).text(ex, body(ex));
            }
            case "/tokenize" -> {
                requireMethod(method, "POST");
                yield tokenize(ex, body(ex));
            }
            case "/detokenize" -> {
                requireMethod(method, "POST");
                yield detokenize(ex, body(ex));
            }
            case "/apply-template" -> {
                requireMethod(method, "POST");
                String prompt = new Completions(this, model, scheduler).chatPrompt(body(ex)).text();
                yield sendJson(ex, 200, JSON.createObjectNode().put("prompt", prompt));
            }
            default -> throw new ApiException(404, "invalid_request_error", "not_found", null, "no such endpoint: " + path, 0);
        };
    }

    private Ollama ollama() {
        return new Ollama(this, model, new Completions(this, model, scheduler));
    }

    /**
     * llama-server's {@code /props}, the part that applies: the context and slots, the sampling defaults (the model's
     * recommendation), the chat format, whether the model reasons, and whether its template holds a conversation
     * (a single-turn model's page starts a fresh prompt per message). The chat page reads its defaults here.
     */
    private ObjectNode props() {
        ObjectNode p = JSON.createObjectNode();
        int ctx = scheduler.config().contextLength();
        var d = model.samplerDefaults(0);
        ObjectNode settings = p.putObject("default_generation_settings").put("n_ctx", ctx);
        settings.putObject("params").put("temperature", d.temperature()).put("top_p", d.topP()).put("top_k", d.topK())
                .put("min_p", d.minP()).put("repeat_penalty", d.repeatPenalty()).put("n_predict", -1);
        p.put("total_slots", scheduler.config().parallel());
        p.put("model_alias", modelId);
        p.put("model_path", model.path().toString());
        p.put("chat_format", model.format().name());
        p.put("reasoning", model.isReasoningModel());
        p.put("multi_turn", model.format().holdsConversation());
        p.putObject("modalities").put("vision", false).put("audio", false);
        p.put("build_info", "jseek");
        return p;
    }

    private int tokenize(Exchange ex, JsonNode req) throws IOException {
        JsonNode content = req.get("content");
        if (content == null || !content.isString()) {
            throw ApiException.invalid("content", "content must be a string");
        }
        boolean special = CompletionRequest.bool(req, "add_special", "add_special");
        boolean pieces = CompletionRequest.bool(req, "with_pieces", "with_pieces");
        int[] ids = model.tokenizer().encode(content.asString(), special, true);
        ArrayNode tokens = JSON.createArrayNode();
        for (int id : ids) {
            if (pieces) {
                tokens.addObject().put("id", id).put("piece", model.tokenizer().decode(new int[] {id}, true));
            } else {
                tokens.add(id);
            }
        }
        ObjectNode out = JSON.createObjectNode();
        out.set("tokens", tokens);
        return sendJson(ex, 200, out);
    }

    private int detokenize(Exchange ex, JsonNode req) throws IOException {
        JsonNode tokens = req.get("tokens");
        if (tokens == null || !tokens.isArray()) {
            throw ApiException.invalid("tokens", "tokens must be an array of token ids");
        }
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = tokens.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= model.tokenizer().vocabSize()) {
                throw ApiException.invalid("tokens", "tokens[" + i + "] is not a token id of this model");
            }
            ids[i] = t.asInt();
        }
        return sendJson(ex, 200, JSON.createObjectNode().put("content", model.tokenizer().decode(ids, true)));
    }

    private static void requireMethod(String method, String want) {
        if (!method.equals(want)) {
            throw new ApiException(405, "invalid_request_error", "method_not_allowed", null,
                    method + " is not allowed here; use " + want, 0);
        }
    }

    private void authorize(Exchange ex) {
        if (options.apiKeys().isEmpty()) {
            return;
        }
        String auth = ex.header("Authorization");
        String given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : null;
        if (given != null) {
            for (String key : options.apiKeys()) {
                if (MessageDigest.isEqual(key.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8))) {
                    return;
                }
            }
        }
        throw new ApiException(401, "authentication_error", "invalid_api_key", null,
                given == null ? "missing API key: send Authorization: Bearer KEY" : "invalid API key", 0);
    }

    private void cors(Exchange ex) {
        String origin = ex.header("Origin");
        if (origin == null || options.corsOrigins().isEmpty()) {
            return;
        }
        boolean any = options.corsOrigins().contains("*");
        if (any || options.corsOrigins().contains(origin)) {
            ex.setHeader("Access-Control-Allow-Origin", any ? "*" : origin);
            ex.setHeader("Vary", "Origin");
            ex.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            ex.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
        }
    }

    /** The request body as JSON; 413 beyond the size limit, 400 when it does not parse or is not an object. */
    JsonNode body(Exchange ex) throws IOException {
        String length = ex.header("Content-Length");
        long max = options.maxBodyBytes();
        if (length != null) {
            long announced;
            try {
                announced = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw ApiException.invalid(null, "bad Content-Length header");
            }
            if (announced > max) {
                throw tooLarge(ex, max);
            }
        }
        byte[] bytes;
        try (InputStream in = ex.body()) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
        } catch (IOException e) {
            // A client that left mid-body, or a malformed chunked body: the client's doing, not a 500.
            throw new ApiException(400, "invalid_request_error", "unreadable_body", null,
                    "the request body could not be read: " + e.getMessage(), 0);
        }
        if (bytes.length > max) {
            throw tooLarge(ex, max);
        }
        requireUtf8(bytes);
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (JacksonException e) {
            throw new ApiException(400, "invalid_request_error", "invalid_json", null,
                    "the request body is not valid JSON: " + excerpt(e.getOriginalMessage()), 0);
        }
        if (node == null || !node.isObject()) {
            throw ApiException.invalid(null, "invalid_json", "the request body must be a JSON object");
        }
        return node;
    }

    /**
     * 400 unless {@code bytes} are well-formed UTF-8 (JSON's encoding). Jackson's parser takes overlong forms and
     * encoded surrogates; the JDK's decoder refuses those and code points beyond U+10FFFF.
     */
    private static void requireUtf8(byte[] bytes) {
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(8192);
        while (true) {
            var result = decoder.decode(in, out, true);
            if (result.isError()) {
                throw new ApiException(400, "invalid_request_error", "invalid_utf8", null,
                        "the request body is not valid UTF-8 (byte " + in.position() + ")", 0);
            }
            if (result.isUnderflow()) {
                return;
            }
            out.clear();
        }
    }

    /**
     * 413. A client still sending its body would see the connection reset instead of the answer if it were closed
     * under it, so up to as much again as the limit is read and dropped first; beyond that the connection closes.
     */
    private static ApiException tooLarge(Exchange ex, long max) {
        try (InputStream in = ex.body()) {
            long left = max;
            byte[] sink = new byte[8192];
            for (int n; left > 0 && (n = in.read(sink, 0, (int) Math.min(sink.length, left))) >= 0; ) {
                left -= n;
            }
            if (left <= 0) {
                ex.setHeader("Connection", "close");
            }
        } catch (IOException e) {
            // gone already
        }
        return tooLarge(max);
    }

    private static ApiException tooLarge(long max) {
        return new ApiException(413, "invalid_request_error", "request_too_large", null,
                "the request body is larger than " + max + " bytes", 0);
    }

    static int sendJson(Exchange ex, int status, JsonNode body) throws IOException {
        return send(ex, status, "application/json", JSON.writeValueAsBytes(body));
    }

    static int send(Exchange ex, int status, String type, byte[] body) throws IOException {
        ex.setHeader("Content-Type", type);
        try (OutputStream out = ex.start(status, body.length)) {
            out.write(body);
        }
        return status;
    }

    static ObjectNode errorBody(ApiException e) {
        ObjectNode err = JSON.createObjectNode();
        ObjectNode inner = err.putObject("error");
        inner.put("message", e.getMessage()).put("type", e.type);
        if (e.param != null) {
            inner.put("param", e.param);
        } else {
            inner.putNull("param");
        }
        if (e.code != null) {
            inner.put("code", e.code);
        } else {
            inner.putNull("code");
        }
        return err;
    }

    private static void sendError(Exchange ex, ApiException e) {
        try {
            if (ex.started()) {
                return; // headers already sent: the handler wrote its own error event
            }
            if (e.retryAfter > 0) {
                ex.setHeader("Retry-After", Integer.toString(e.retryAfter));
            }
            if (e.status >= 500 && e.status != 503) {
                ex.setHeader("x-should-retry", "false");
            }
            // Ollama's paths answer errors as Ollama does.
            sendJson(ex, e.status, ex.path().startsWith("/api/") ? Ollama.error(e.getMessage()) : errorBody(e));
        } catch (IOException ignored) {
            // the client is gone
        }
    }

    private int sendPage(Exchange ex) throws IOException {
        try (InputStream in = Server.class.getResourceAsStream("chat.html")) {
            if (in == null) {
                throw new IllegalStateException("chat.html missing from the server jar");
            }
            return send(ex, 200, "text/html; charset=utf-8", in.readAllBytes());
        }
    }

    /** Text parts of a message's content joined (OpenAI allows a string or an array of parts). */
    /** At most 200 characters of client text for an error message, control characters escaped. */
    static String excerpt(String s) {
        return io.jseek.core.Excerpt.of(s, 200);
    }

    static String text(JsonNode content, String param) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isString()) {
            return content.asString();
        }
        if (content.isArray()) {
            List<String> parts = new ArrayList<>();
            for (JsonNode part : content) {
                if (!part.isObject() || !"text".equals(part.path("type").asString(""))
                        || !part.path("text").isString()) {
                    throw ApiException.invalid(param, "only text content parts ({\"type\":\"text\",\"text\":...}) are supported");
                }
                parts.add(part.get("text").asString());
            }
            return String.join("", parts);
        }
        throw ApiException.invalid(param, param + " must be a string or an array of text parts");
    }
}
