package io.jseek.server;

import io.jseek.engine.Generation;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.tools.ToolCall;
import io.jseek.engine.tools.ToolCallParser;
import io.jseek.engine.tools.ToolSyntax;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Ollama's API on the same server, so Ollama clients (Open WebUI, the {@code ollama} npm client, LangChain4j's Ollama
 * module) work unchanged: {@code /api/chat} and {@code /api/generate} (streaming NDJSON by default, as Ollama),
 * {@code /api/tags}, {@code /api/show}, {@code /api/version}, {@code /api/ps}. A request is translated into the
 * OpenAI form and goes through the same checks, prompt and scheduler as {@link Completions}: {@code options}
 * ({@code num_predict}, {@code temperature}, {@code top_p}, {@code top_k}, {@code min_p}, {@code seed}, {@code stop},
 * {@code repeat_penalty}, {@code presence_penalty}, {@code frequency_penalty}), {@code format} ({@code "json"} or a
 * JSON schema), {@code think}, {@code tools} (calls come back as {@code message.tool_calls} with arguments as
 * objects). Errors are Ollama's {@code {"error": "…"}}.
 */
final class Ollama {
    /** The Ollama version clients are told (one with thinking, tools and structured outputs). */
    static final String VERSION = "0.12.0";

    private final Server server;
    private final LoadedModel model;
    private final Completions completions;

    Ollama(Server server, LoadedModel model, Completions completions) {
        this.server = server;
        this.model = model;
        this.completions = completions;
    }

    int chat(Exchange ex, JsonNode req) throws IOException {
        ObjectNode o = common(req);
        JsonNode messages = req.get("messages");
        if (messages == null || !messages.isArray()) {
            throw ApiException.invalid("messages", "messages must be an array");
        }
        ArrayNode out = o.putArray("messages");
        for (JsonNode m : messages) {
            ObjectNode c = out.addObject();
            c.put("role", m.path("role").asString(""));
            c.put("content", m.path("content").asString(""));
            JsonNode calls = m.get("tool_calls");
            if (calls != null && calls.isArray() && !calls.isEmpty()) {
                ArrayNode oc = c.putArray("tool_calls");
                for (int i = 0; i < calls.size(); i++) {
                    JsonNode f = calls.get(i).path("function");
                    JsonNode args = f.get("arguments");
                    oc.addObject().put("id", "call_" + i).put("type", "function").putObject("function")
                            .put("name", f.path("name").asString(""))
                            .put("arguments", args == null ? "{}" : args.isString() ? args.asString() : Server.JSON.writeValueAsString(args));
                }
            }
        }
        if (req.has("tools")) {
            o.set("tools", req.get("tools"));
        }
        return answer(ex, completions.prepareChat(o), true, req.path("stream").asBoolean(true));
    }

    int generate(Exchange ex, JsonNode req) throws IOException {
        ObjectNode o = common(req);
        String prompt = req.path("prompt").asString("");
        if (req.path("raw").asBoolean(false)) {
            o.put("prompt", prompt);
            if (req.hasNonNull("suffix")) {
                o.put("suffix", req.get("suffix").asString());
            }
            return answer(ex, completions.prepareText(o), false, req.path("stream").asBoolean(true));
        }
        ArrayNode messages = o.putArray("messages");
        if (req.hasNonNull("system")) {
            messages.addObject().put("role", "system").put("content", req.get("system").asString());
        }
        messages.addObject().put("role", "user").put("content", prompt);
        return answer(ex, completions.prepareChat(o), false, req.path("stream").asBoolean(true));
    }

    /** The fields /api/chat and /api/generate share, in OpenAI's form. */
    private ObjectNode common(JsonNode req) {
        if (!req.isObject()) {
            throw ApiException.invalid("body", "the request must be a JSON object");
        }
        ObjectNode o = Server.JSON.createObjectNode();
        if (req.hasNonNull("model")) {
            o.put("model", req.get("model").asString());
        }
        JsonNode opt = req.path("options");
        copy(opt, "num_predict", o, "max_tokens");
        copy(opt, "temperature", o, "temperature");
        copy(opt, "top_p", o, "top_p");
        copy(opt, "top_k", o, "top_k");
        copy(opt, "min_p", o, "min_p");
        copy(opt, "seed", o, "seed");
        copy(opt, "repeat_penalty", o, "repetition_penalty");
        copy(opt, "presence_penalty", o, "presence_penalty");
        copy(opt, "frequency_penalty", o, "frequency_penalty");
        if (o.has("max_tokens") && o.get("max_tokens").asInt() < 0) {
            o.remove("max_tokens");  // -1 (or -2): as much as the context holds
        }
        JsonNode stop = opt.get("stop");
        if (stop != null && !stop.isNull()) {
            o.set("stop", stop);
        }
        JsonNode format = req.get("format");
        if (format != null && !format.isNull() && !(format.isString() && format.asString().isEmpty())) {
            if (format.isString() && format.asString().equals("json")) {
                o.putObject("response_format").put("type", "json_object");
            } else if (format.isObject()) {
                ObjectNode rf = o.putObject("response_format").put("type", "json_schema");
                rf.putObject("json_schema").put("name", "format").set("schema", format);
            } else {
                throw ApiException.invalid("format", "format must be \"json\" or a JSON schema");
            }
        }
        JsonNode think = req.get("think");
        if (think != null && think.isBoolean()) {
            o.putObject("thinking").put("type", think.asBoolean() ? "enabled" : "disabled");
        }
        return o;
    }

    private static void copy(JsonNode from, String key, ObjectNode to, String as) {
        JsonNode v = from.get(key);
        if (v != null && !v.isNull()) {
            to.set(as, v);
        }
    }

    /** Runs the request and writes Ollama's answer: NDJSON lines while streaming, else one object. */
    private int answer(Exchange ex, Completions.Prepared p, boolean chat, boolean stream) throws IOException {
        Completions.Submission s = completions.submit(p);
        ToolCallParser parser = p.req().tools() != null ? ToolSyntax.of(model.format()).parser() : null;
        String name = p.req().model() != null ? p.req().model() : server.modelId();
        OutputStream out = null;
        if (stream) {
            ex.setHeader("Content-Type", "application/x-ndjson");
            out = ex.start(200, -1);
        }
        try {
            while (true) {
                Completions.Event e;
                try {
                    e = s.events().poll(server.options().keepAliveMs(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted");
                }
                if (e == null || e instanceof Completions.Token) {
                    continue;
                }
                if (e instanceof Completions.Delta d) {
                    if (!stream) {
                        continue;
                    }
                    String text = d.reasoning() || parser == null ? d.text() : parser.push(d.text());
                    if (!text.isEmpty()) {
                        line(out, piece(name, chat, d.reasoning(), text));
                    }
                    continue;
                }
                Completions.Done done = (Completions.Done) e;
                if (done.error() != null || done.generation().stopReason() == Generation.StopReason.CANCELLED) {
                    ApiException err = Completions.failure(done);
                    ObjectNode body = Server.JSON.createObjectNode().put("error", err.getMessage());
                    if (out != null) {
                        line(out, body);
                        return 200;
                    }
                    return Server.sendJson(ex, err.status, body);
                }
                Generation g = done.generation();
                completions.finished(ex, s, p.prompt().length, g);
                String content = g.content();
                List<ToolCall> calls = null;
                if (parser != null) {
                    if (stream) {
                        calls = parser.finish();
                        content = calls == null ? parser.rest() : "";
                    } else {
                        ToolCallParser.Parsed parsed = ToolCallParser.parse(ToolSyntax.of(model.format()), content);
                        calls = parsed.calls().isEmpty() ? null : parsed.calls();
                        content = parsed.text();
                    }
                }
                ObjectNode last = piece(name, chat, false, content);
                if (!stream && chat && !g.reasoning().isEmpty()) {
                    ((ObjectNode) last.get("message")).put("thinking", g.reasoning());
                } else if (!stream && !chat && !g.reasoning().isEmpty()) {
                    last.put("thinking", g.reasoning());
                }
                if (calls != null && chat) {
                    ArrayNode tc = ((ObjectNode) last.get("message")).putArray("tool_calls");
                    for (ToolCall c : calls) {
                        JsonNode args;
                        try {
                            args = Server.JSON.readTree(c.arguments());
                        } catch (JacksonException bad) {
                            args = Server.JSON.createObjectNode();
                        }
                        tc.addObject().putObject("function").put("name", c.name()).set("arguments", args);
                    }
                }
                last.put("done", true);
                last.put("done_reason", g.stopReason() == Generation.StopReason.MAX_TOKENS
                        || g.stopReason() == Generation.StopReason.CONTEXT_FULL ? "length" : "stop");
                long total = System.nanoTime() - s.t0();
                long promptNs = Math.round(g.promptSeconds() * 1e9);
                last.put("total_duration", total).put("load_duration", 0)
                        .put("prompt_eval_count", p.prompt().length).put("prompt_eval_duration", promptNs)
                        .put("eval_count", g.tokens().length).put("eval_duration", Math.round(g.generationSeconds() * 1e9));
                if (out != null) {
                    line(out, last);
                    return 200;
                }
                return Server.sendJson(ex, 200, last);
            }
        } catch (IOException gone) {
            s.gone().set(true);
            s.handle().cancel();
            server.metrics.cancelled.inc();
            return 499;
        } finally {
            if (out != null) {
                out.close();
            }
        }
    }

    /** One piece of the answer: chat's {@code message} or generate's {@code response} (and {@code thinking}). */
    private static ObjectNode piece(String name, boolean chat, boolean reasoning, String text) {
        ObjectNode o = Server.JSON.createObjectNode().put("model", name).put("created_at", Instant.now().toString());
        if (chat) {
            ObjectNode m = o.putObject("message").put("role", "assistant").put("content", reasoning ? "" : text);
            if (reasoning) {
                m.put("thinking", text);
            }
        } else {
            o.put("response", reasoning ? "" : text);
            if (reasoning) {
                o.put("thinking", text);
            }
        }
        o.put("done", false);
        return o;
    }

    private static void line(OutputStream out, JsonNode o) throws IOException {
        out.write((Server.JSON.writeValueAsString(o) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        out.flush();
    }

    /** {@code /api/tags}: the one model, described as Ollama describes its models. */
    ObjectNode tags() {
        ObjectNode o = Server.JSON.createObjectNode();
        o.putArray("models").add(describe());
        return o;
    }

    /** {@code /api/ps}: the model, loaded. */
    ObjectNode ps() {
        ObjectNode o = Server.JSON.createObjectNode();
        o.putArray("models").add(describe().put("size_vram", 0));
        return o;
    }

    private ObjectNode describe() {
        long size = 0;
        try {
            size = java.nio.file.Files.size(model.path());
        } catch (IOException | UnsupportedOperationException e) {
            // a directory model: size unknown
        }
        ObjectNode m = Server.JSON.createObjectNode().put("name", server.modelId()).put("model", server.modelId())
                .put("modified_at", Instant.ofEpochSecond(server.created()).toString()).put("size", size)
                .put("digest", Integer.toHexString(server.modelId().hashCode()));
        m.set("details", details());
        return m;
    }

    private ObjectNode details() {
        ObjectNode d = Server.JSON.createObjectNode().put("format", "gguf")
                .put("family", model.config().architecture().ggufName).put("parameter_size", "").put("quantization_level", "");
        d.putArray("families").add(model.config().architecture().ggufName);
        return d;
    }

    /** {@code /api/show}: details, the chat format and what the model can do. */
    ObjectNode show() {
        ObjectNode o = Server.JSON.createObjectNode().put("modelfile", "").put("parameters", "")
                .put("template", model.format().name());
        o.set("details", details());
        o.putObject("model_info").put("general.architecture", model.config().architecture().ggufName);
        ArrayNode caps = o.putArray("capabilities").add("completion").add("tools");
        if (model.isReasoningModel()) {
            caps.add("thinking");
        }
        return o;
    }

    /** Ollama's error body. */
    static ObjectNode error(String message) {
        return Server.JSON.createObjectNode().put("error", message);
    }
}
