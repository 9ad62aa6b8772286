package io.jseek.server;

import com.sun.net.httpserver.HttpExchange;
import io.jseek.core.JseekException;
import io.jseek.engine.ChatMessage;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.Scheduler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code POST /chat/completions} and {@code POST /completions}: parses the request into a prompt and
 * generation options, submits it to the scheduler, and answers as DeepSeek does — one JSON body, or an
 * SSE stream of chunks. The scheduler's thread only puts events on this request's queue; this (virtual)
 * thread writes them, so a slow or vanished client never holds up the batch. A write that fails (the
 * client left) cancels the request; keep-alive writes make sure that is noticed while nothing else is
 * being sent, for streaming and non-streaming requests alike.
 */
final class Completions {
    /** Non-streaming: after this long without a result, the status line is committed and whitespace keeps the connection checked. */
    private static final long HEARTBEAT_AFTER_MS = 1000;
    /** Then a space this often: a write is the only way to find out that the client has left. */
    private static final long HEARTBEAT_MS = 250;

    private final Server server;
    private final LoadedModel model;
    private final Scheduler scheduler;

    Completions(Server server, LoadedModel model, Scheduler scheduler) {
        this.server = server;
        this.model = model;
        this.scheduler = scheduler;
    }

    /** The messages of a chat request, and the text of a final {@code prefix: true} assistant message. */
    record Conversation(List<ChatMessage> messages, String assistantPrefix) {
    }

    static Conversation messages(JsonNode req) {
        JsonNode list = req.get("messages");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array");
        }
        List<ChatMessage> out = new ArrayList<>();
        String prefix = "";
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String param = "messages[" + i + "]";
            if (!m.isObject() || !m.path("role").isString()) {
                throw ApiException.invalid(param, param + " must be an object with a role");
            }
            String role = m.get("role").asString();
            String content = Server.text(m.get("content"), param + ".content");
            switch (role) {
                case "system", "developer" -> out.add(ChatMessage.system(content));
                case "user" -> out.add(ChatMessage.user(content));
                // Tool results go back in DeepSeek's tool-output syntax, in a user turn (the chat formats
                // have no tool role).
                case "tool" -> out.add(ChatMessage.user(ToolCalls.output(content)));
                case "assistant" -> {
                    // Incoming reasoning_content is accepted and left out, as R1's template does with history.
                    if (m.path("prefix").asBoolean(false)) {
                        if (i != list.size() - 1) {
                            throw ApiException.invalid(param + ".prefix", "only the last message can be an assistant prefix");
                        }
                        prefix = content;
                    } else {
                        JsonNode calls = m.get("tool_calls");
                        out.add(ChatMessage.assistant(calls != null && calls.isArray() && !calls.isEmpty()
                                ? content + ToolCalls.render(calls) : content));
                    }
                }
                default -> throw ApiException.invalid(param + ".role", "unknown role \"" + role
                        + "\" (system, developer, user, assistant or tool)");
            }
        }
        return new Conversation(out, prefix);
    }

    int chat(HttpExchange ex, JsonNode req) throws IOException {
        checkModel(req);
        LoadedModel.ChatPrompt prompt = chatPrompt(req);
        GenerationOptions opt = options(req, prompt.tokens().length, prompt.startsReasoning());
        return run(ex, req, prompt.tokens(), opt, true, tools(req));
    }

    /** The prompt of a chat request: its messages, with the tools described in the system prompt. */
    LoadedModel.ChatPrompt chatPrompt(JsonNode req) {
        Conversation c = messages(req);
        List<ChatMessage> messages = c.messages();
        boolean tools = tools(req);
        if (tools) {
            // The tools go into the system prompt (a system message of the request's comes first).
            String block = ToolCalls.describe(req.get("tools"));
            messages = new ArrayList<>(messages);
            if (!messages.isEmpty() && messages.getFirst().role().equals("system")) {
                messages.set(0, ChatMessage.system(messages.getFirst().content() + "\n\n" + block));
            } else {
                messages.addFirst(ChatMessage.system(block));
            }
        }
        return model.chatPrompt(messages, c.assistantPrefix());
    }

    /** True when the request offers tools the model may call (tool_choice none turns them off). */
    private static boolean tools(JsonNode req) {
        JsonNode t = req.get("tools");
        if (t == null || t.isNull() || (t.isArray() && t.isEmpty())) {
            return false;
        }
        JsonNode choice = req.get("tool_choice");
        if (choice == null || choice.isNull()) {
            return true;
        }
        if (choice.isString()) {
            return switch (choice.asString()) {
                case "none" -> false;
                case "auto", "required" -> true;
                default -> throw ApiException.invalid("tool_choice", "tool_choice must be none, auto, required or a function");
            };
        }
        if (choice.isObject() && choice.path("function").path("name").isString()) {
            return true;
        }
        throw ApiException.invalid("tool_choice", "tool_choice must be none, auto, required or a function");
    }

    int text(HttpExchange ex, JsonNode req) throws IOException {
        checkModel(req);
        JsonNode p = req.get("prompt");
        if (p != null && p.isArray() && p.size() == 1) {
            p = p.get(0);
        }
        if (p == null || !p.isString()) {
            throw ApiException.invalid("prompt", "prompt must be a string");
        }
        String prompt = p.asString();
        JsonNode suffix = req.get("suffix");
        if (suffix != null && !suffix.isNull()) {
            if (!suffix.isString()) {
                throw ApiException.invalid("suffix", "suffix must be a string");
            }
            prompt = fillInTheMiddle(prompt, suffix.asString());
        }
        int[] tokens = model.tokenizer().encode(prompt, true, true);
        if (tokens.length == 0) {
            throw ApiException.invalid("prompt", "the prompt is empty");
        }
        return run(ex, req, tokens, options(req, tokens.length, false), false, false);
    }

    /** The model's fill-in-the-middle prompt (DeepSeek's or Qwen's FIM tokens); 400 when it has none. */
    private String fillInTheMiddle(String prefix, String suffix) {
        var t = model.tokenizer();
        if (t.id("<｜fim▁begin｜>") >= 0 && t.id("<｜fim▁hole｜>") >= 0 && t.id("<｜fim▁end｜>") >= 0) {
            return "<｜fim▁begin｜>" + prefix + "<｜fim▁hole｜>" + suffix + "<｜fim▁end｜>";
        }
        if (t.id("<|fim_prefix|>") >= 0 && t.id("<|fim_suffix|>") >= 0 && t.id("<|fim_middle|>") >= 0) {
            return "<|fim_prefix|>" + prefix + "<|fim_suffix|>" + suffix + "<|fim_middle|>";
        }
        throw ApiException.invalid("suffix", "fim_not_supported",
                "this model has no fill-in-the-middle tokens, so suffix cannot be used");
    }

    private void checkModel(JsonNode req) {
        JsonNode m = req.get("model");
        if (m != null && !m.isNull() && !m.isString()) {
            throw ApiException.invalid("model", "model must be a string");
        }
        if (server.options().strictModel() && (m == null || !server.modelId().equals(m.asString()))) {
            throw ApiException.invalid("model", "model_not_found", "the model \"" + (m == null ? "" : m.asString())
                    + "\" is not served here; this server has \"" + server.modelId() + "\"");
        }
    }

    /** Sampling and limits from the request, validated; the defaults are DeepSeek's R1 recommendation. */
    private GenerationOptions options(JsonNode req, int promptTokens, boolean startsReasoning) {
        int n = integer(req, "n", 1, 1, Integer.MAX_VALUE);
        if (n != 1) {
            throw ApiException.invalid("n", "only n = 1 is supported");
        }
        int context = scheduler.config().contextLength();
        int room = context - promptTokens;
        if (room < 1) {
            throw ApiException.invalid("messages", "context_length_exceeded", "the prompt has " + promptTokens
                    + " tokens but the context holds " + context);
        }
        String limitField = req.has("max_completion_tokens") && !req.get("max_completion_tokens").isNull()
                ? "max_completion_tokens" : "max_tokens";
        int max = integer(req, limitField, room, 1, Integer.MAX_VALUE);
        if ((long) promptTokens + max > context) {
            throw ApiException.invalid(limitField, "context_length_exceeded", "the prompt has " + promptTokens
                    + " tokens and " + limitField + " asks for " + max + " more, but the context holds " + context
                    + " (at most " + room + " can be generated)");
        }
        SamplerConfig d = SamplerConfig.defaults(0);
        float temperature = number(req, "temperature", d.temperature(), 0, 2);
        float topP = number(req, "top_p", d.topP(), 0, 1);
        if (topP == 0) {
            throw ApiException.invalid("top_p", "top_p must be greater than 0");
        }
        int topK = integer(req, "top_k", d.topK(), 0, Integer.MAX_VALUE);
        float minP = number(req, "min_p", d.minP(), 0, 1);
        float presence = number(req, "presence_penalty", 0, -2, 2);
        float frequency = number(req, "frequency_penalty", 0, -2, 2);
        float repetition = number(req, "repetition_penalty", 1, 0.01f, 10);
        JsonNode seedNode = req.get("seed");
        long seed;
        if (seedNode == null || seedNode.isNull()) {
            seed = System.nanoTime();
        } else if (seedNode.isIntegralNumber()) {
            seed = seedNode.asLong();
        } else {
            throw ApiException.invalid("seed", "seed must be an integer");
        }
        SamplerConfig sampler = new SamplerConfig(temperature, topK, topP, minP, repetition, presence, frequency, 64, seed,
                logitBias(req));
        return new GenerationOptions(max, sampler, stops(req), startsReasoning, topLogprobs(req), responseFormat(req));
    }

    /** -1 when no log-probabilities are asked for, else how many alternatives per token (0–20). */
    private static int topLogprobs(JsonNode req) {
        JsonNode lp = req.get("logprobs");
        if (lp == null || lp.isNull() || (lp.isBoolean() && !lp.asBoolean())) {
            if (req.hasNonNull("top_logprobs")) {
                throw ApiException.invalid("top_logprobs", "top_logprobs needs logprobs: true");
            }
            return -1;
        }
        if (lp.isBoolean()) {
            return integer(req, "top_logprobs", 0, 0, 20);
        }
        if (lp.isIntegralNumber() && lp.asInt() >= 0 && lp.asInt() <= 20) {
            return lp.asInt(); // the legacy completions form: logprobs = N alternatives
        }
        throw ApiException.invalid("logprobs", "logprobs must be true/false (chat) or an integer from 0 to 20 (completions)");
    }

    private static io.jseek.engine.OutputConstraint responseFormat(JsonNode req) {
        JsonNode f = req.get("response_format");
        if (f == null || f.isNull()) {
            return null;
        }
        String type = f.path("type").asString("");
        return switch (type) {
            case "text" -> null;
            case "json_object" -> io.jseek.engine.JsonConstraint.OBJECT;
            default -> throw ApiException.invalid("response_format", "response_format type must be \"text\" or "
                    + "\"json_object\"" + (type.equals("json_schema") ? " (json_schema is not supported yet)" : ""));
        };
    }

    /** OpenAI's logit_bias: token id (as a string key) → bias from -100 (ban) to 100. */
    private java.util.Map<Integer, Float> logitBias(JsonNode req) {
        JsonNode b = req.get("logit_bias");
        if (b == null || b.isNull()) {
            return java.util.Map.of();
        }
        if (!b.isObject()) {
            throw ApiException.invalid("logit_bias", "logit_bias must be an object of token id → bias");
        }
        java.util.Map<Integer, Float> out = new java.util.HashMap<>();
        for (var e : b.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException x) {
                throw ApiException.invalid("logit_bias", "logit_bias keys must be token ids, got \"" + e.getKey() + "\"");
            }
            if (id < 0 || id >= model.tokenizer().vocabSize() || !e.getValue().isNumber()
                    || Math.abs(e.getValue().asDouble()) > 100) {
                throw ApiException.invalid("logit_bias", "logit_bias[" + e.getKey() + "] must be a bias from -100 to 100 for a token id of this model");
            }
            double v = e.getValue().asDouble();
            out.put(id, v <= -100 ? Float.NEGATIVE_INFINITY : (float) v);
        }
        return out;
    }

    private static List<String> stops(JsonNode req) {
        JsonNode s = req.get("stop");
        if (s == null || s.isNull()) {
            return List.of();
        }
        if (s.isString()) {
            return List.of(s.asString());
        }
        if (!s.isArray() || s.size() > 16) {
            throw ApiException.invalid("stop", "stop must be a string or an array of at most 16 strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode x : s) {
            if (!x.isString()) {
                throw ApiException.invalid("stop", "stop must be a string or an array of at most 16 strings");
            }
            out.add(x.asString());
        }
        return out;
    }

    private static int integer(JsonNode req, String field, int dflt, int min, int max) {
        JsonNode v = req.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
            throw ApiException.invalid(field, field + " must be an integer" + (min > Integer.MIN_VALUE ? " ≥ " + min : "")
                    + (max < Integer.MAX_VALUE ? " and ≤ " + max : ""));
        }
        return v.asInt();
    }

    private static float number(JsonNode req, String field, float dflt, float min, float max) {
        JsonNode v = req.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
            throw ApiException.invalid(field, field + " must be a number from " + min + " to " + max);
        }
        return (float) v.asDouble();
    }

    /** What the scheduler's thread hands to the request's thread. */
    private sealed interface Event {
    }

    private record Delta(boolean reasoning, String text) implements Event {
    }

    private record Done(Generation generation, Throwable error) implements Event {
    }

    private record Token(io.jseek.engine.TokenLogprob logprob) implements Event {
    }

    private int run(HttpExchange ex, JsonNode req, int[] prompt, GenerationOptions opt, boolean chat, boolean tools)
            throws IOException {
        boolean stream = req.path("stream").asBoolean(false);
        boolean usageChunk = req.path("stream_options").path("include_usage").asBoolean(false);
        long t0 = System.nanoTime();
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        var gone = new java.util.concurrent.atomic.AtomicBoolean();
        var firstText = new java.util.concurrent.atomic.AtomicLong();
        GenerationListener listener = new GenerationListener() {
            @Override
            public void onReasoning(String delta) {
                firstText.compareAndSet(0, System.nanoTime());
                events.add(new Delta(true, delta));
            }

            @Override
            public void onContent(String delta) {
                firstText.compareAndSet(0, System.nanoTime());
                events.add(new Delta(false, delta));
            }

            @Override
            public void onToken(io.jseek.engine.TokenLogprob token) {
                events.add(new Token(token));
            }

            @Override
            public boolean cancelled() {
                return gone.get();
            }
        };
        Scheduler.Handle handle;
        try {
            handle = scheduler.submit(prompt, opt, listener);
        } catch (Scheduler.QueueFullException e) {
            throw new ApiException(503, "server_error", "server_busy", null, e.getMessage(), 1);
        } catch (JseekException e) {
            throw ApiException.invalid("messages", "context_length_exceeded", e.getMessage());
        }
        handle.result().whenComplete((g, err) -> events.add(new Done(g, err)));
        String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        Chunks chunks = new Chunks(id, created, server.modelId(), chat);
        Done done;
        try {
            ToolCalls.Parser parser = tools ? new ToolCalls.Parser() : null;
            done = stream ? stream(ex, events, chunks, usageChunk, prompt.length, handle, parser)
                    : await(ex, events, chunks, prompt.length, handle, parser);
        } catch (IOException e) {
            gone.set(true);
            handle.cancel();
            server.metrics.cancelled.incrementAndGet();
            return 499;
        }
        if (done.generation() != null) {
            Generation g = done.generation();
            server.metrics.promptTokens.addAndGet(prompt.length);
            server.metrics.generationTokens.addAndGet(g.tokens().length);
            if (firstText.get() > 0) {
                server.metrics.ttft.observe((firstText.get() - t0) / 1e9);
                if (g.tokens().length > 1) {
                    server.metrics.interToken.observe((System.nanoTime() - firstText.get()) / 1e9 / (g.tokens().length - 1));
                }
            }
        }
        return 200;
    }

    /** Streams chunks until the request ends; returns how it ended. IOException: the client is gone. */
    private Done stream(HttpExchange ex, BlockingQueue<Event> events, Chunks chunks, boolean usageChunk, int promptTokens,
                        Scheduler.Handle handle, ToolCalls.Parser parser) throws IOException {
        var h = ex.getResponseHeaders();
        h.set("Content-Type", "text/event-stream; charset=utf-8");
        h.set("Cache-Control", "no-cache");
        h.set("X-Accel-Buffering", "no");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        if (chunks.chat) {
            sse(out, chunks.first());
        }
        List<io.jseek.engine.TokenLogprob> pending = new ArrayList<>();
        while (true) {
            Event e;
            try {
                e = events.poll(server.options().keepAliveMs(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
            if (e == null) {
                out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                continue;
            }
            switch (e) {
                case Token t -> pending.add(t.logprob());
                case Delta d -> {
                    String text = d.reasoning() || parser == null ? d.text() : parser.push(d.text());
                    if (text.isEmpty()) {
                        continue;
                    }
                    ObjectNode c = chunks.delta(d.reasoning(), text);
                    if (!d.reasoning() && !pending.isEmpty()) {
                        ((ObjectNode) c.withArray("choices").get(0)).set("logprobs", chunks.logprobs(pending));
                        pending.clear();
                    }
                    sse(out, c);
                }
                case Done d -> {
                    if (d.error() != null || d.generation().stopReason() == Generation.StopReason.CANCELLED) {
                        ApiException err = failure(d);
                        sse(out, Server.errorBody(err));
                        out.close();
                        return d;
                    }
                    Generation g = d.generation();
                    List<ToolCalls.Call> calls = parser == null ? null : parser.finish();
                    if (parser != null && calls == null && !parser.rest().isEmpty()) {
                        sse(out, chunks.delta(false, parser.rest()));
                    }
                    if (calls != null) {
                        sse(out, chunks.toolCalls(calls));
                    }
                    ObjectNode usage = usage(g, promptTokens, handle.cachedTokens());
                    ObjectNode last = chunks.last(calls != null ? "tool_calls" : finishReason(g));
                    if (!pending.isEmpty()) {
                        ((ObjectNode) last.withArray("choices").get(0)).set("logprobs", chunks.logprobs(pending));
                    }
                    sse(out, last);
                    if (usageChunk) {
                        sse(out, chunks.usage(usage));
                    }
                    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                    out.close();
                    return d;
                }
            }
        }
    }

    /** Waits for the whole answer, committing the status line and writing whitespace while it takes long. */
    private Done await(HttpExchange ex, BlockingQueue<Event> events, Chunks chunks, int promptTokens,
                       Scheduler.Handle handle, ToolCalls.Parser parser) throws IOException {
        long nextBeat = System.nanoTime() + HEARTBEAT_AFTER_MS * 1_000_000;
        OutputStream out = null;
        List<io.jseek.engine.TokenLogprob> logprobs = new ArrayList<>();
        while (true) {
            Event e;
            try {
                // Text deltas are not needed here; only the end, or the time for the next heartbeat.
                e = events.poll(Math.max(1, (nextBeat - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
            if (e instanceof Token t) {
                logprobs.add(t.logprob());
            }
            if (e instanceof Done d) {
                byte[] body;
                int status = 200;
                if (d.error() != null || d.generation().stopReason() == Generation.StopReason.CANCELLED) {
                    ApiException err = failure(d);
                    status = err.status;
                    body = Server.JSON.writeValueAsBytes(Server.errorBody(err));
                } else {
                    Generation g = d.generation();
                    String content = g.content();
                    List<ToolCalls.Call> calls = null;
                    if (parser != null) {
                        String before = parser.push(content);
                        calls = parser.finish();
                        content = calls == null ? before + parser.rest() : before;
                    }
                    ObjectNode whole = chunks.whole(g, content, calls,
                            calls != null ? "tool_calls" : finishReason(g), usage(g, promptTokens, handle.cachedTokens()));
                    if (!logprobs.isEmpty()) {
                        ((ObjectNode) whole.withArray("choices").get(0)).set("logprobs", chunks.logprobs(logprobs));
                    }
                    body = Server.JSON.writeValueAsBytes(whole);
                }
                if (out == null) {
                    Server.send(ex, status, "application/json", body);
                } else {
                    out.write(body);
                    out.close();
                }
                return d;
            }
            if (System.nanoTime() >= nextBeat) {
                if (out == null) {
                    ex.getResponseHeaders().set("Content-Type", "application/json");
                    ex.sendResponseHeaders(200, 0);
                    out = ex.getResponseBody();
                }
                out.write(' ');
                out.flush();
                nextBeat = System.nanoTime() + HEARTBEAT_MS * 1_000_000;
            }
        }
    }

    private static ApiException failure(Done d) {
        Throwable t = d.error();
        if (t instanceof java.util.concurrent.CompletionException || t instanceof ExecutionException) {
            t = t.getCause();
        }
        if (t == null) {
            // Cancelled while the client is still here: only a shutdown does that.
            return new ApiException(503, "server_error", "server_shutting_down", null,
                    "the server is shutting down; the request was stopped", 0);
        }
        return new ApiException(500, "server_error", "internal_error", null, "generation failed: " + t.getMessage(), 0);
    }

    static String finishReason(Generation g) {
        return switch (g.stopReason()) {
            case END_OF_GENERATION, STOP_STRING, CANCELLED -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
            case NO_MEMORY -> "insufficient_system_resource";
        };
    }

    static ObjectNode usage(Generation g, int promptTokens, int cached) {
        ObjectNode u = Server.JSON.createObjectNode();
        int completion = g.tokens().length;
        u.put("prompt_tokens", promptTokens).put("completion_tokens", completion)
                .put("total_tokens", promptTokens + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", cached);
        u.putObject("completion_tokens_details").put("reasoning_tokens", g.reasoningTokens());
        u.put("prompt_cache_hit_tokens", cached).put("prompt_cache_miss_tokens", promptTokens - cached);
        return u;
    }

    private static void sse(OutputStream out, JsonNode chunk) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.UTF_8));
        out.write(Server.JSON.writeValueAsBytes(chunk));
        out.write("\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Response bodies and stream chunks of one request, in chat or text-completion shape. */
    private record Chunks(String id, long created, String model, boolean chat) {
        private ObjectNode base(String object) {
            return Server.JSON.createObjectNode().put("id", id).put("object", object).put("created", created)
                    .put("model", model).put("system_fingerprint", "jseek");
        }

        private ObjectNode chunk() {
            return base(chat ? "chat.completion.chunk" : "text_completion");
        }

        /** A stream chunk with one choice, filled by {@code fill}; {@code finish} null while the answer runs. */
        private ObjectNode streamChunk(java.util.function.Consumer<ObjectNode> fill, String finish) {
            ObjectNode c = chunk();
            ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
            fill.accept(choice);
            choice.putNull("logprobs");
            if (finish != null) {
                choice.put("finish_reason", finish);
            } else {
                choice.putNull("finish_reason");
            }
            c.putNull("usage");
            return c;
        }

        ObjectNode first() {
            return streamChunk(choice -> choice.putObject("delta").put("role", "assistant").put("content", ""), null);
        }

        ObjectNode delta(boolean reasoning, String text) {
            return streamChunk(choice -> {
                if (!chat) {
                    choice.put("text", text);
                } else if (reasoning) {
                    choice.putObject("delta").putNull("content").put("reasoning_content", text);
                } else {
                    choice.putObject("delta").put("content", text);
                }
            }, null);
        }

        ObjectNode last(String finish) {
            return streamChunk(choice -> {
                if (chat) {
                    choice.putObject("delta");
                } else {
                    choice.put("text", "");
                }
            }, finish);
        }

        ObjectNode usage(ObjectNode usage) {
            ObjectNode c = chunk();
            c.putArray("choices");
            c.set("usage", usage);
            return c;
        }

        /** Chat: {content: [{token, logprob, bytes, top_logprobs}]}; completions: the legacy parallel lists. */
        ObjectNode logprobs(List<io.jseek.engine.TokenLogprob> tokens) {
            ObjectNode lp = Server.JSON.createObjectNode();
            if (chat) {
                var content = lp.putArray("content");
                for (var t : tokens) {
                    ObjectNode entry = entry(content.addObject(), t.bytes(), t.logprob());
                    var top = entry.putArray("top_logprobs");
                    for (int i = 0; i < t.topIds().length; i++) {
                        entry(top.addObject(), t.topBytes()[i], t.topLogprobs()[i]);
                    }
                }
            } else {
                var text = lp.putArray("tokens");
                var values = lp.putArray("token_logprobs");
                var tops = lp.putArray("top_logprobs");
                for (var t : tokens) {
                    text.add(new String(t.bytes(), StandardCharsets.UTF_8));
                    values.add(t.logprob());
                    ObjectNode top = tops.addObject();
                    for (int i = 0; i < t.topIds().length; i++) {
                        top.put(new String(t.topBytes()[i], StandardCharsets.UTF_8), t.topLogprobs()[i]);
                    }
                }
            }
            return lp;
        }

        private static ObjectNode entry(ObjectNode e, byte[] bytes, float logprob) {
            e.put("token", new String(bytes, StandardCharsets.UTF_8)).put("logprob", logprob);
            var b = e.putArray("bytes");
            for (byte x : bytes) {
                b.add(x & 0xFF);
            }
            return e;
        }

        /** A stream chunk carrying the answer's function calls, each whole. */
        ObjectNode toolCalls(List<ToolCalls.Call> calls) {
            return streamChunk(choice -> {
                var list = choice.putObject("delta").putArray("tool_calls");
                for (int i = 0; i < calls.size(); i++) {
                    call(list.addObject().put("index", i), calls.get(i));
                }
            }, null);
        }

        private static void call(ObjectNode o, ToolCalls.Call call) {
            o.put("id", call.id()).put("type", "function");
            o.putObject("function").put("name", call.name()).put("arguments", call.arguments());
        }

        ObjectNode whole(Generation g, String content, List<ToolCalls.Call> calls, String finish, ObjectNode usage) {
            ObjectNode c = base(chat ? "chat.completion" : "text_completion");
            ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
            if (chat) {
                ObjectNode m = choice.putObject("message").put("role", "assistant");
                if (calls != null && content.isBlank()) {
                    m.putNull("content");
                } else {
                    m.put("content", content);
                }
                if (calls != null) {
                    var list = m.putArray("tool_calls");
                    for (ToolCalls.Call call : calls) {
                        call(list.addObject(), call);
                    }
                }
                if (!g.reasoning().isEmpty() || g.reasoningTokens() > 0) {
                    m.put("reasoning_content", g.reasoning());
                }
            } else {
                choice.put("text", g.reasoning() + g.content());
            }
            choice.putNull("logprobs");
            choice.put("finish_reason", finish);
            c.set("usage", usage);
            return c;
        }
    }
}
