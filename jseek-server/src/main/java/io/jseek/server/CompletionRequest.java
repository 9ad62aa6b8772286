package io.jseek.server;

import io.jseek.engine.JsonConstraint;
import io.jseek.engine.OutputConstraint;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.grammar.GrammarConstraint;
import io.jseek.engine.grammar.JsonSchemaGrammar;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * A {@code /chat/completions} or {@code /completions} request as its JSON says it, every field checked with
 * an error naming it ({@link ApiException#invalid}): JSON in, record out, nothing of the model or the server
 * but the vocabulary size (for {@code logit_bias}). {@link Completions} turns it into a prompt and generation
 * options, which needs the model and the context.
 *
 * @param model          the model asked for, or null
 * @param conversation   chat: the messages; null for text completions
 * @param tools          chat: the {@code tools} array when the model may call them (null: none, or tool_choice none)
 * @param toolChoice     with tools: null (auto: the model decides), "" (required: a call of any function) or the
 *                       function the answer must call
 * @param parallelToolCalls with tools: whether an answer may call several functions
 * @param prompt         text: the prompt; null for chat
 * @param suffix         text: the fill-in-the-middle suffix, or null
 * @param limitField     which of max_completion_tokens / max_tokens set {@code maxTokens}
 * @param maxTokens      the generation limit asked for, or null (as much as the context holds)
 * @param seed           the sampling seed, or null (a fresh one)
 * @param topLogprobs    -1: no log-probabilities; else alternatives per token (0–20)
 * @param responseFormat the output constraint, or null
 */
record CompletionRequest(String model, Conversation conversation, JsonNode tools, String toolChoice,
                         boolean parallelToolCalls, String prompt, String suffix,
                         String limitField, Integer maxTokens, float temperature, float topP, int topK, float minP,
                         float presencePenalty, float frequencyPenalty, float repetitionPenalty, Long seed,
                         Map<Integer, Float> logitBias, List<String> stops, int topLogprobs,
                         OutputConstraint responseFormat, boolean stream, boolean includeUsage) {

    /**
     * The messages of a chat request, the text of a final {@code prefix: true} assistant message and its
     * {@code reasoning_content} ("" when none), and DeepSeek's {@code thinking} switch (null: the model's way;
     * {@code thinking: {type: enabled|disabled}}, or the model name {@code deepseek-reasoner} / {@code deepseek-chat}).
     */
    record Conversation(List<Message> messages, String assistantPrefix, String prefixReasoning, Boolean thinking) {
    }

    /**
     * One message: role system (developer too), user, assistant or tool; an assistant's earlier calls (OpenAI
     * {@code tool_calls}) or null. How calls and results are written depends on the model ({@link io.jseek.engine.tools.ToolSyntax}).
     */
    record Message(String role, String content, JsonNode toolCalls) {
    }

    /** A chat request; sampling fields it leaves out take {@code defaults} (the model's, {@code LoadedModel.samplerDefaults}). */
    static CompletionRequest chat(JsonNode req, int vocabSize, SamplerConfig defaults) {
        return parse(req, vocabSize, true, defaults);
    }

    static CompletionRequest text(JsonNode req, int vocabSize, SamplerConfig defaults) {
        return parse(req, vocabSize, false, defaults);
    }

    private static CompletionRequest parse(JsonNode req, int vocabSize, boolean chat, SamplerConfig d) {
        JsonNode m = req.get("model");
        if (m != null && !m.isNull() && !m.isString()) {
            throw ApiException.invalid("model", "model must be a string");
        }
        Conversation conversation = chat ? messages(req) : null;
        JsonNode tools = chat && tools(req) ? req.get("tools") : null;
        String prompt = null;
        String suffix = null;
        if (!chat) {
            JsonNode p = req.get("prompt");
            if (p != null && p.isArray() && p.size() == 1) {
                p = p.get(0);
            }
            if (p == null || !p.isString()) {
                throw ApiException.invalid("prompt", "prompt must be a string");
            }
            prompt = p.asString();
            JsonNode s = req.get("suffix");
            if (s != null && !s.isNull()) {
                if (!s.isString()) {
                    throw ApiException.invalid("suffix", "suffix must be a string");
                }
                suffix = s.asString();
            }
        }
        if (integer(req, "n", 1, 1, Integer.MAX_VALUE) != 1) {
            throw ApiException.invalid("n", "only n = 1 is supported");
        }
        String limitField = req.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        Integer max = req.hasNonNull(limitField) ? integer(req, limitField, 0, 1, Integer.MAX_VALUE) : null;
        float topP = number(req, "top_p", d.topP(), 0, 1);
        if (topP == 0) {
            throw ApiException.invalid("top_p", "top_p must be greater than 0");
        }
        JsonNode seed = req.get("seed");
        // Any 64-bit seed, signed or unsigned (as the APIs allow): unsigned ones past 2^63 wrap to negative longs.
        if (seed != null && !seed.isNull() && (!seed.isIntegralNumber()
                || seed.bigIntegerValue().compareTo(java.math.BigInteger.ONE.shiftLeft(63).negate()) < 0
                || seed.bigIntegerValue().compareTo(java.math.BigInteger.ONE.shiftLeft(64)) >= 0)) {
            throw ApiException.invalid("seed", "seed must be an integer from -2^63 to 2^64 - 1");
        }
        JsonNode parallel = req.get("parallel_tool_calls");
        if (parallel != null && !parallel.isNull() && !parallel.isBoolean()) {
            throw ApiException.invalid("parallel_tool_calls", "parallel_tool_calls must be true or false");
        }
        return new CompletionRequest(m == null || m.isNull() ? null : m.asString(), conversation, tools,
                tools == null ? null : toolChoice(req), parallel == null || parallel.isNull() || parallel.asBoolean(), prompt, suffix,
                limitField, max, number(req, "temperature", d.temperature(), 0, 2), topP,
                integer(req, "top_k", d.topK(), 0, Integer.MAX_VALUE), number(req, "min_p", d.minP(), 0, 1),
                number(req, "presence_penalty", 0, -2, 2), number(req, "frequency_penalty", 0, -2, 2),
                number(req, "repetition_penalty", d.repeatPenalty(), 0.01f, 10), seed == null || seed.isNull() ? null : seed.bigIntegerValue().longValue(),
                logitBias(req, vocabSize), stops(req), topLogprobs(req), responseFormat(req),
                bool(req, "stream", "stream"), bool(req.path("stream_options"), "include_usage", "stream_options.include_usage"));
    }

    static Conversation messages(JsonNode req) {
        JsonNode list = req.get("messages");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array");
        }
        List<Message> out = new ArrayList<>();
        String prefix = "";
        String prefixReasoning = "";
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String param = "messages[" + i + "]";
            if (!m.isObject() || !m.path("role").isString()) {
                throw ApiException.invalid(param, param + " must be an object with a role");
            }
            String role = m.get("role").asString();
            String content = Server.text(m.get("content"), param + ".content");
            switch (role) {
                case "system", "developer" -> out.add(new Message("system", content, null));
                case "user", "tool" -> out.add(new Message(role, content, null));
                case "assistant" -> {
                    // Incoming reasoning_content is accepted and left out, as R1's template does with history.
                    if (bool(m, "prefix", param + ".prefix")) {
                        if (i != list.size() - 1) {
                            throw ApiException.invalid(param + ".prefix", "only the last message can be an assistant prefix");
                        }
                        prefix = content;
                        JsonNode r = m.get("reasoning_content");
                        prefixReasoning = r == null || r.isNull() ? "" : Server.text(r, param + ".reasoning_content");
                    } else {
                        JsonNode calls = m.get("tool_calls");
                        out.add(new Message("assistant", content, calls != null && calls.isArray() && !calls.isEmpty()
                                ? calls : null));
                    }
                }
                default -> throw ApiException.invalid(param + ".role", "unknown role \"" + role
                        + "\" (system, developer, user, assistant or tool)");
            }
        }
        return new Conversation(out, prefix, prefixReasoning, thinking(req));
    }

    /** DeepSeek's switch: {@code thinking: {type}}, else the model alias; null when neither says. */
    private static Boolean thinking(JsonNode req) {
        JsonNode t = req.get("thinking");
        if (t != null && !t.isNull()) {
            return switch (t.path("type").asString("")) {
                case "enabled" -> true;
                case "disabled" -> false;
                default -> throw ApiException.invalid("thinking", "thinking must be {\"type\": \"enabled\"} or {\"type\": \"disabled\"}");
            };
        }
        String model = req.path("model").asString("");
        return switch (model) {
            case "deepseek-reasoner" -> true;
            case "deepseek-chat" -> false;
            default -> null;
        };
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

    /** tool_choice as the record holds it: null auto, "" required, else the function's name. */
    private static String toolChoice(JsonNode req) {
        JsonNode choice = req.get("tool_choice");
        if (choice == null || choice.isNull() || choice.isString() && choice.asString().equals("auto")) {
            return null;
        }
        if (choice.isString()) {
            return "";  // "required" (tools() refused anything else, and "none" leaves no tools)
        }
        return choice.path("function").path("name").asString();
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
        if (lp.isIntegralNumber() && lp.canConvertToInt() && lp.asInt() >= 0 && lp.asInt() <= 20) {
            return lp.asInt(); // the legacy completions form: logprobs = N alternatives
        }
        throw ApiException.invalid("logprobs", "logprobs must be true/false (chat) or an integer from 0 to 20 (completions)");
    }

    /**
     * The answer's grammar: OpenAI's {@code response_format} ({@code json_object}, or {@code json_schema} with its
     * {@code schema}), or llama.cpp's {@code grammar} (GBNF text) or {@code json_schema} field; at most one of them.
     * A schema or grammar the engine cannot enforce is a 400 naming what.
     */
    private static OutputConstraint responseFormat(JsonNode req) {
        List<OutputConstraint> given = new ArrayList<>();
        JsonNode f = req.get("response_format");
        if (f != null && !f.isNull()) {
            String type = f.path("type").asString("");
            switch (type) {
                case "text" -> { }
                case "json_object" -> given.add(jsonObject(req));
                case "json_schema" -> {
                    JsonNode schema = f.path("json_schema").path("schema");
                    if (!schema.isObject() && !schema.isBoolean()) {
                        throw ApiException.invalid("response_format", "response_format json_schema needs json_schema.schema,"
                                + " a JSON schema");
                    }
                    given.add(schema("response_format.json_schema.schema", schema));
                }
                default -> throw ApiException.invalid("response_format", "response_format type must be \"text\", "
                        + "\"json_object\" or \"json_schema\"");
            }
        }
        JsonNode schema = req.get("json_schema");
        if (schema != null && !schema.isNull()) {
            given.add(schema("json_schema", schema));
        }
        JsonNode grammar = req.get("grammar");
        if (grammar != null && !grammar.isNull()) {
            if (!grammar.isString()) {
                throw ApiException.invalid("grammar", "grammar must be a string of GBNF rules");
            }
            try {
                given.add(GrammarConstraint.gbnf(grammar.asString()));
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("grammar", e.getMessage());
            }
        }
        if (given.size() > 1) {
            throw ApiException.invalid("response_format", "give one of response_format, json_schema and grammar");
        }
        return given.isEmpty() ? null : given.getFirst();
    }

    /**
     * What the Vercel AI SDK writes, for providers without structured outputs (its DeepSeek provider among them), as a
     * system message beside {@code json_object}: the schema the answer must follow.
     */
    static final String AI_SDK_SCHEMA_LINE = "Return JSON that conforms to the following schema: ";

    /**
     * {@code json_object}: any JSON object, or, when a system message is the AI SDK's schema line, that schema (the
     * intent is the schema; DeepSeek's API takes only json_object, so the SDK puts it there). A schema the grammar
     * cannot hold falls back to any object, as the request itself asked only for that.
     */
    private static OutputConstraint jsonObject(JsonNode req) {
        for (JsonNode m : req.path("messages")) {
            String content = m.path("content").isString() ? m.get("content").asString() : "";
            if ("system".equals(m.path("role").asString("")) && content.startsWith(AI_SDK_SCHEMA_LINE)) {
                try {
                    return JsonSchemaGrammar.constraint(content.substring(AI_SDK_SCHEMA_LINE.length()).strip());
                } catch (IllegalArgumentException e) {
                    return JsonConstraint.OBJECT;
                }
            }
        }
        return JsonConstraint.OBJECT;
    }

    private static OutputConstraint schema(String field, JsonNode schema) {
        try {
            return JsonSchemaGrammar.constraint(Server.JSON.writeValueAsString(schema));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(field, e.getMessage());
        }
    }

    /** OpenAI's logit_bias: token id (as a string key) → bias from -100 (ban) to 100. */
    private static Map<Integer, Float> logitBias(JsonNode req, int vocabSize) {
        JsonNode b = req.get("logit_bias");
        if (b == null || b.isNull()) {
            return Map.of();
        }
        if (!b.isObject()) {
            throw ApiException.invalid("logit_bias", "logit_bias must be an object of token id → bias");
        }
        Map<Integer, Float> out = new HashMap<>();
        for (var e : b.properties()) {
            // ASCII digits only: Integer.parseInt would also take other scripts' digits.
            if (!e.getKey().matches("[0-9]{1,9}")) {
                throw ApiException.invalid("logit_bias", "logit_bias keys must be token ids, got \""
                        + Server.excerpt(e.getKey()) + "\"");
            }
            int id = Integer.parseInt(e.getKey());
            JsonNode bias = e.getValue();
            if (id >= vocabSize || !bias.isNumber() || bias.decimalValue().abs().compareTo(java.math.BigDecimal.valueOf(100)) > 0) {
                throw ApiException.invalid("logit_bias", "logit_bias[" + e.getKey() + "] must be a bias from -100 to 100 for a token id of this model");
            }
            double v = bias.decimalValue().doubleValue();
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

    /** A boolean field: absent or null is false; anything but true/false is a 400 naming {@code param}. */
    static boolean bool(JsonNode obj, String field, String param) {
        JsonNode v = obj.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(param, param + " must be true or false");
        }
        return v.asBoolean();
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
        // Compared exactly (a 400-digit number does not fit a double, and must be a 400, not a 500).
        if (!v.isNumber() || v.decimalValue().compareTo(new java.math.BigDecimal(Float.toString(min))) < 0
                || v.decimalValue().compareTo(new java.math.BigDecimal(Float.toString(max))) > 0) {
            throw ApiException.invalid(field, field + " must be a number from " + min + " to " + max);
        }
        return v.decimalValue().floatValue();
    }
}
