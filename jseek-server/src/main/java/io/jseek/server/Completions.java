package io.jseek.server;

import io.jseek.core.JseekException;
import io.jseek.engine.ChatMessage;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.OutputConstraint;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.Scheduler;
import io.jseek.engine.grammar.GrammarConstraint;
import io.jseek.engine.grammar.TriggeredConstraint;
import io.jseek.engine.tools.ToolCall;
import io.jseek.engine.tools.ToolCallParser;
import io.jseek.engine.tools.ToolSyntax;
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
 * {@code POST /chat/completions} and {@code POST /completions}: turns the request ({@link CompletionRequest})
 * into a prompt and generation options, submits it to the scheduler, and answers as DeepSeek does — one JSON body, or an
 * SSE stream of chunks. The scheduler's thread only puts events on this request's queue; this (virtual)
 * thread writes them, so a slow or vanished client never holds up the batch. A write that fails (the
 * client left) cancels the request; keep-alive writes make sure that is noticed while nothing else is
 * being sent, for streaming and non-streaming requests alike. The bodies and chunks are {@link Responses}'.
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

    int chat(Exchange ex, JsonNode json) throws IOException {
        Prepared p = prepareChat(json);
        return run(ex, p.req(), p.prompt(), p.options(), true);
    }

    /** A request parsed and checked: what it asks, its prompt's tokens, its generation options. */
    record Prepared(CompletionRequest req, int[] prompt, GenerationOptions options) {
    }

    /** A chat request (OpenAI's JSON) ready to submit. */
    Prepared prepareChat(JsonNode json) {
        CompletionRequest req = CompletionRequest.chat(json, model.tokenizer().vocabSize(), model.samplerDefaults(0));
        checkModel(req);
        LoadedModel.ChatPrompt prompt = chatPrompt(req);
        return new Prepared(req, prompt.tokens(), options(req, prompt.tokens().length, prompt.startsReasoning()));
    }

    /** The prompt of a chat request (as JSON), for {@code /apply-template}. */
    LoadedModel.ChatPrompt chatPrompt(JsonNode json) {
        return chatPrompt(CompletionRequest.chat(json, model.tokenizer().vocabSize(), model.samplerDefaults(0)));
    }

    /**
     * The prompt of a chat request: its messages, with the tools described in the system prompt, and earlier
     * calls and results, in the syntax of the model's chat format.
     */
    private LoadedModel.ChatPrompt chatPrompt(CompletionRequest req) {
        ToolSyntax syntax = ToolSyntax.of(model.format());
        List<ChatMessage> messages = new ArrayList<>();
        for (CompletionRequest.Message m : req.conversation().messages()) {
            messages.add(switch (m.role()) {
                case "system" -> ChatMessage.system(m.content());
                case "user" -> ChatMessage.user(m.content());
                case "tool" -> syntax.result(m.content());
                default -> ChatMessage.assistant(m.toolCalls() == null ? m.content()
                        : m.content() + render(syntax, m.toolCalls()));
            });
        }
        if (req.tools() != null) {
            // The tools go into the system prompt (a system message of the request's comes first).
            String block = syntax.describe(ToolCalls.functions(req.tools()));
            if (!messages.isEmpty() && messages.getFirst().role().equals("system")) {
                messages.set(0, ChatMessage.system(messages.getFirst().content() + "\n\n" + block));
            } else {
                messages.addFirst(ChatMessage.system(block));
            }
        }
        return model.chatPrompt(messages, assistantPrefix(req.conversation()), req.conversation().thinking());
    }

    /**
     * The text the reply continues. On a reasoning model a prefix continues the answer, after a closed reasoning
     * block holding the prefix message's {@code reasoning_content} (empty when it has none); with only
     * {@code reasoning_content}, the reasoning continues. A prefix that writes {@code <think>} tags itself is kept as
     * it is.
     */
    private String assistantPrefix(CompletionRequest.Conversation c) {
        String content = c.assistantPrefix();
        String reasoning = c.prefixReasoning();
        boolean thinks = model.isReasoningModel() && !Boolean.FALSE.equals(c.thinking());
        if (!thinks || content.contains("<think>") || content.contains("</think>") || content.isEmpty() && reasoning.isEmpty()) {
            return content;
        }
        return content.isEmpty() ? reasoning : reasoning + "\n</think>\n\n" + content;
    }

    /** Earlier calls in the model's syntax; a 400 naming the call when its arguments do not suit the syntax. */
    private static String render(ToolSyntax syntax, JsonNode toolCalls) {
        try {
            return syntax.render(ToolCalls.calls(toolCalls));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("messages", e.getMessage());
        }
    }

    int text(Exchange ex, JsonNode json) throws IOException {
        Prepared p = prepareText(json);
        return run(ex, p.req(), p.prompt(), p.options(), false);
    }

    /** A text completion request (OpenAI's JSON) ready to submit. */
    Prepared prepareText(JsonNode json) {
        CompletionRequest req = CompletionRequest.text(json, model.tokenizer().vocabSize(), model.samplerDefaults(0));
        checkModel(req);
        String prompt = req.suffix() == null ? req.prompt() : fillInTheMiddle(req.prompt(), req.suffix());
        int[] tokens = model.tokenizer().encode(prompt, true, true);
        if (tokens.length == 0) {
            throw ApiException.invalid("prompt", "the prompt is empty");
        }
        return new Prepared(req, tokens, options(req, tokens.length, false));
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

    private void checkModel(CompletionRequest req) {
        if (server.options().strictModel() && !server.modelId().equals(req.model())
                && !"deepseek-chat".equals(req.model()) && !"deepseek-reasoner".equals(req.model())) {
            throw ApiException.invalid("model", "model_not_found", "the model \"" + (req.model() == null ? "" : req.model())
                    + "\" is not served here; this server has \"" + server.modelId() + "\"");
        }
    }

    /** The request's sampling and limits against this prompt and context; the defaults are DeepSeek's R1 recommendation. */
    private GenerationOptions options(CompletionRequest req, int promptTokens, boolean startsReasoning) {
        int context = scheduler.config().contextLength();
        int room = context - promptTokens;
        if (room < 1) {
            throw ApiException.invalid("messages", "context_length_exceeded", "the prompt has " + promptTokens
                    + " tokens but the context holds " + context);
        }
        // More than the context leaves is clamped, as DeepSeek's API and llama-server do (the answer then ends
        // with finish_reason "length").
        int max = req.maxTokens() == null ? room : Math.min(req.maxTokens(), room);
        SamplerConfig sampler = new SamplerConfig(req.temperature(), req.topK(), req.topP(), req.minP(),
                req.repetitionPenalty(), req.presencePenalty(), req.frequencyPenalty(), 64,
                req.seed() == null ? System.nanoTime() : req.seed(), req.logitBias());
        return new GenerationOptions(max, sampler, req.stops(), startsReasoning, req.topLogprobs(), constraint(req));
    }

    /** True when some function of {@code tools} (OpenAI's array) is {@code strict}. */
    private static boolean strict(JsonNode tools) {
        for (JsonNode t : tools) {
            if (t.path("function").path("strict").asBoolean(false)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The answer's grammar: the response format's, or for {@code tool_choice} required or a named function, the
     * grammar of a call block in the model's syntax (DeepSeek's tokens or DSML), arguments held to their schemas.
     */
    private OutputConstraint constraint(CompletionRequest req) {
        if (req.tools() != null && req.toolChoice() == null && req.responseFormat() == null && strict(req.tools())) {
            // tool_choice auto with strict functions: free text, but a call block, once begun, keeps to the schemas.
            ToolSyntax syntax = ToolSyntax.of(model.format());
            try {
                return new TriggeredConstraint(syntax.trigger(), GrammarConstraint.gbnf(
                        syntax.grammar(ToolCalls.functions(req.tools()), null, req.parallelToolCalls())));
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("tools", e.getMessage());
            }
        }
        if (req.tools() == null || req.toolChoice() == null) {
            return req.responseFormat();
        }
        if (req.responseFormat() != null) {
            throw ApiException.invalid("response_format", "a response_format cannot be combined with tool_choice "
                    + (req.toolChoice().isEmpty() ? "required" : "naming a function") + ": the answer is the call");
        }
        try {
            // A named function is one call of it (as OpenAI answers such a request); required: one or, with
            // parallel_tool_calls, several.
            boolean named = !req.toolChoice().isEmpty();
            return GrammarConstraint.gbnf(ToolSyntax.of(model.format()).grammar(ToolCalls.functions(req.tools()),
                    named ? req.toolChoice() : null, !named && req.parallelToolCalls()));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("tool_choice", e.getMessage());
        }
    }

    /** What the scheduler's thread hands to the request's thread. */
    sealed interface Event {
    }

    record Delta(boolean reasoning, String text) implements Event {
    }

    record Done(Generation generation, Throwable error) implements Event {
    }

    record Token(io.jseek.engine.TokenLogprob logprob) implements Event {
    }

    /**
     * A submitted request: its handle, the queue its events arrive on, the flag that cancels it when the client has
     * gone, and when it was submitted and its first text came.
     */
    record Submission(Scheduler.Handle handle, BlockingQueue<Event> events, java.util.concurrent.atomic.AtomicBoolean gone,
                      java.util.concurrent.atomic.AtomicLong firstText, long t0) {
    }

    /** Submits a prepared request to the scheduler; 503 when the queue is full. */
    Submission submit(Prepared p) {
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
            handle = scheduler.submit(p.prompt(), p.options(), listener);
        } catch (Scheduler.QueueFullException e) {
            server.metrics.rejected.inc();
            throw new ApiException(503, "server_error", "server_busy", null, e.getMessage(), 1);
        } catch (Scheduler.StoppedException e) {
            throw new ApiException(503, "server_error", "server_unavailable", null, e.getMessage(), 0);
        } catch (JseekException e) {
            throw ApiException.invalid("messages", "context_length_exceeded", e.getMessage());
        }
        handle.result().whenComplete((g, err) -> events.add(new Done(g, err)));
        return new Submission(handle, events, gone, firstText, t0);
    }

    /** Records a finished generation in the metrics and the request log. */
    void finished(Exchange ex, Submission s, int promptTokens, Generation g) {
        server.metrics.promptTokens.inc(promptTokens);
        server.metrics.generationTokens.inc(g.tokens().length);
        RequestLog.Info info = ex.info;
        info.promptTokens = promptTokens;
        info.completionTokens = g.tokens().length;
        info.finish = g.stopReason().name().toLowerCase(java.util.Locale.ROOT);
        long first = s.firstText().get();
        if (first > 0) {
            info.ttftMs = (first - s.t0()) / 1e6;
            server.metrics.ttft.observe((first - s.t0()) / 1e9);
            if (g.tokens().length > 1) {
                server.metrics.interToken.observe((System.nanoTime() - first) / 1e9 / (g.tokens().length - 1));
            }
        }
    }

    private int run(Exchange ex, CompletionRequest req, int[] prompt, GenerationOptions opt, boolean chat)
            throws IOException {
        boolean stream = req.stream();
        boolean usageChunk = req.includeUsage();
        Submission sub = submit(new Prepared(req, prompt, opt));
        Scheduler.Handle handle = sub.handle();
        BlockingQueue<Event> events = sub.events();
        var gone = sub.gone();
        String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        Responses chunks = new Responses(id, created, server.modelId(), chat);
        ex.info.id = id;
        Done done;
        try {
            ToolCallParser parser = req.tools() != null ? ToolSyntax.of(model.format()).parser() : null;
            done = stream ? stream(ex, events, chunks, usageChunk, prompt.length, handle, parser)
                    : await(ex, events, chunks, prompt.length, handle, parser);
        } catch (IOException e) {
            gone.set(true);
            handle.cancel();
            server.metrics.cancelled.inc();
            return 499;
        }
        if (done.generation() != null) {
            finished(ex, sub, prompt.length, done.generation());
        }
        return 200;
    }

    /** Streams chunks until the request ends; returns how it ended. IOException: the client is gone. */
    private Done stream(Exchange ex, BlockingQueue<Event> events, Responses chunks, boolean usageChunk, int promptTokens,
                        Scheduler.Handle handle, ToolCallParser parser) throws IOException {
        ex.setHeader("Content-Type", "text/event-stream; charset=utf-8");
        ex.setHeader("Cache-Control", "no-cache");
        ex.setHeader("X-Accel-Buffering", "no");
        OutputStream out = ex.start(200, -1);
        if (chunks.chat()) {
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
                    List<ToolCall> calls = parser == null ? null : parser.finish();
                    if (parser != null && calls == null && !parser.rest().isEmpty()) {
                        sse(out, chunks.delta(false, parser.rest()));
                    }
                    if (calls != null) {
                        sse(out, chunks.toolCalls(calls));
                    }
                    ObjectNode usage = Responses.usage(g, promptTokens, handle.cachedTokens());
                    ObjectNode last = chunks.last(calls != null ? "tool_calls" : Responses.finishReason(g));
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
    private Done await(Exchange ex, BlockingQueue<Event> events, Responses chunks, int promptTokens,
                       Scheduler.Handle handle, ToolCallParser parser) throws IOException {
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
                    List<ToolCall> calls = null;
                    if (parser != null) {
                        String before = parser.push(content);
                        calls = parser.finish();
                        content = calls == null ? before + parser.rest() : before;
                    }
                    ObjectNode whole = chunks.whole(g, content, calls,
                            calls != null ? "tool_calls" : Responses.finishReason(g), Responses.usage(g, promptTokens, handle.cachedTokens()));
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
                    ex.setHeader("Content-Type", "application/json");
                    out = ex.start(200, -1);
                }
                out.write(' ');
                out.flush();
                nextBeat = System.nanoTime() + HEARTBEAT_MS * 1_000_000;
            }
        }
    }

    static ApiException failure(Done d) {
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

    /** One event, written and flushed as one piece. */
    private static void sse(OutputStream out, JsonNode chunk) throws IOException {
        out.write(("data: " + Server.JSON.writeValueAsString(chunk) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }


}
