package io.jseek.engine.tools;

import io.jseek.engine.ChatMessage;
import io.jseek.engine.grammar.JsonSchemaGrammar;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * DeepSeek-V3.2's function calls: DSML markup (docs/deepseek.md §8.6), as DeepSeek's encoder writes and reads
 * it. A reply calls functions with
 * <pre>
 * &lt;｜DSML｜function_calls&gt;
 * &lt;｜DSML｜invoke name="get_weather"&gt;
 * &lt;｜DSML｜parameter name="city" string="true"&gt;Paris&lt;/｜DSML｜parameter&gt;
 * &lt;｜DSML｜parameter name="days" string="false"&gt;3&lt;/｜DSML｜parameter&gt;
 * &lt;/｜DSML｜invoke&gt;
 * &lt;/｜DSML｜function_calls&gt;
 * </pre>
 * ({@code string="true"}: the value is raw text; {@code false}: JSON), and reads results as the V3.2 chat
 * format's tool turns ({@link ChatMessage#tool}). The tools are listed as JSON schemas in the system prompt.
 */
public final class DsmlToolSyntax implements ToolSyntax {
    public static final DsmlToolSyntax INSTANCE = new DsmlToolSyntax();
    public static final String DSML = "｜DSML｜";
    public static final String BLOCK_BEGIN = "<" + DSML + "function_calls>";
    public static final String BLOCK_END = "</" + DSML + "function_calls>";
    static final String INVOKE = "<" + DSML + "invoke name=\"";
    static final String INVOKE_END = "</" + DSML + "invoke>";
    static final String PARAMETER = "<" + DSML + "parameter name=\"";
    static final String PARAMETER_END = "</" + DSML + "parameter>";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private DsmlToolSyntax() {
    }

    /** The system-prompt block: how to call, then each function's JSON schema on a line of its own. */
    @Override
    public String describe(List<ToolSpec> tools) {
        StringBuilder b = new StringBuilder("## Tools\n\nYou can call the functions below by writing a ")
                .append(BLOCK_BEGIN).append(" block in your reply:\n")
                .append(BLOCK_BEGIN).append('\n')
                .append(INVOKE).append("FUNCTION_NAME\">\n")
                .append(PARAMETER).append("PARAMETER_NAME\" string=\"true|false\">VALUE").append(PARAMETER_END).append('\n')
                .append(INVOKE_END).append('\n')
                .append(BLOCK_END).append('\n')
                .append("Write strings and scalars as they are, without quotes or escaping, with string=\"true\" for strings; "
                        + "write numbers, booleans, lists and objects as JSON with string=\"false\".\n\n"
                        + "The functions, as JSON schemas:\n<functions>\n");
        for (ToolSpec f : tools) {
            ObjectNode o = JSON.createObjectNode().put("name", f.name());
            if (f.description() != null) {
                o.put("description", f.description());
            }
            if (f.parameters() != null) {
                o.set("parameters", tree(f.parameters(), "the parameters of tool " + f.name()));
            }
            b.append(JSON.writeValueAsString(o)).append('\n');
        }
        return b.append("</functions>\n").toString();
    }

    /** The calls as the model writes them after its text. */
    @Override
    public String render(List<ToolCall> calls) {
        StringBuilder b = new StringBuilder("\n\n").append(BLOCK_BEGIN).append('\n');
        for (int i = 0; i < calls.size(); i++) {
            ToolCall c = calls.get(i);
            b.append(INVOKE).append(c.name()).append("\">\n");
            JsonNode args = tree(c.arguments(), "tool_calls[" + i + "].function.arguments");
            if (!args.isObject()) {
                throw new IllegalArgumentException("tool_calls[" + i + "].function.arguments must be a JSON object");
            }
            for (Map.Entry<String, JsonNode> e : args.properties()) {
                JsonNode v = e.getValue();
                b.append(PARAMETER).append(e.getKey()).append("\" string=\"").append(v.isString()).append("\">")
                        .append(v.isString() ? v.asString() : JSON.writeValueAsString(v))
                        .append(PARAMETER_END).append('\n');
            }
            b.append(INVOKE_END).append('\n');
        }
        return b.append(BLOCK_END).toString();
    }

    @Override
    public ChatMessage result(String content) {
        return ChatMessage.tool(content);
    }

    @Override
    public String trigger() {
        return BLOCK_BEGIN;
    }

    @Override
    public ToolCallParser parser() {
        return new ToolCallParser(BLOCK_BEGIN, DsmlToolSyntax::parse);
    }

    /**
     * The block's structure and the function names are enforced; parameters are any names with text
     * ({@code string="true"}) or JSON ({@code string="false"}) values (DSML writes arguments one by one, so a schema
     * would need a grammar per parameter type; not done).
     */
    @Override
    public String grammar(List<ToolSpec> tools, String only, boolean parallel) {
        List<String> names = new ArrayList<>();
        for (ToolSpec t : ToolSyntax.callable(tools, only)) {
            names.add(JsonSchemaGrammar.literal(t.name()));
        }
        Map<String, String> rules = new java.util.LinkedHashMap<>();
        rules.put("invoke", JsonSchemaGrammar.literal(INVOKE) + " (" + String.join(" | ", names) + ") \"\\\">\\n\" param* "
                + JsonSchemaGrammar.literal(INVOKE_END + "\n"));
        rules.put("param", JsonSchemaGrammar.literal(PARAMETER) + " [^\"<]+ \"\\\" string=\\\"\" (\"true\\\">\" [^<]* | \"false\\\">\" value) "
                + JsonSchemaGrammar.literal(PARAMETER_END + "\n"));
        return JsonSchemaGrammar.create().gbnf(JsonSchemaGrammar.literal(BLOCK_BEGIN + "\n") + " invoke" + (parallel ? "+" : "")
                + " " + JsonSchemaGrammar.literal(BLOCK_END), rules);
    }

    private static JsonNode tree(String json, String what) {
        try {
            return JSON.readTree(json);
        } catch (JacksonException e) {
            throw new IllegalArgumentException(what + " is not JSON");
        }
    }

    /**
     * The calls of a block starting with {@link #BLOCK_BEGIN}, their arguments as a JSON object text; null
     * when the block is unfinished or malformed (a parameter neither text nor valid JSON, an unclosed tag).
     */
    public static List<ToolCall> parse(String block) {
        int end = block.indexOf(BLOCK_END);
        if (end < 0) {
            return null;
        }
        String body = block.substring(BLOCK_BEGIN.length(), end);
        List<ToolCall> calls = new ArrayList<>();
        int at = 0;
        while (true) {
            int invoke = body.indexOf(INVOKE, at);
            if (invoke < 0) {
                return body.substring(at).isBlank() ? calls : null;
            }
            if (!body.substring(at, invoke).isBlank()) {
                return null;
            }
            int nameEnd = body.indexOf("\">", invoke + INVOKE.length());
            int close = body.indexOf(INVOKE_END, invoke);
            if (nameEnd < 0 || close < 0 || nameEnd > close) {
                return null;
            }
            String name = body.substring(invoke + INVOKE.length(), nameEnd);
            ObjectNode args = arguments(body.substring(nameEnd + 2, close));
            if (name.isEmpty() || args == null) {
                return null;
            }
            calls.add(ToolCall.of(name, JSON.writeValueAsString(args)));
            at = close + INVOKE_END.length();
        }
    }

    /** The parameters between an invoke's tags, or null when they do not parse. */
    private static ObjectNode arguments(String text) {
        ObjectNode args = JSON.createObjectNode();
        int at = 0;
        while (true) {
            int p = text.indexOf(PARAMETER, at);
            if (p < 0) {
                return text.substring(at).isBlank() ? args : null;
            }
            if (!text.substring(at, p).isBlank()) {
                return null;
            }
            int nameEnd = text.indexOf('"', p + PARAMETER.length());
            int close = text.indexOf(PARAMETER_END, p);
            if (nameEnd < 0 || close < 0 || nameEnd > close) {
                return null;
            }
            String key = text.substring(p + PARAMETER.length(), nameEnd);
            int gt = text.indexOf('>', nameEnd);
            if (key.isEmpty() || args.has(key) || gt < 0 || gt > close) {
                return null;
            }
            String attrs = text.substring(nameEnd + 1, gt + 1);
            String value = text.substring(gt + 1, close);
            if (attrs.equals(" string=\"true\">")) {
                args.put(key, value);
            } else if (attrs.equals(" string=\"false\">") && !value.isBlank()) {
                try {
                    args.set(key, JSON.readTree(value));
                } catch (JacksonException e) {
                    return null;
                }
            } else {
                return null;
            }
            at = close + PARAMETER_END.length();
        }
    }
}
