package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import io.jseek.engine.ChatTemplate;
import io.jseek.engine.tools.DeepSeekToolSyntax;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Function calls through the server: the tools, earlier calls and results in the prompt (the syntaxes: ToolSyntaxTest). */
class ToolCallsTest {
    /** A request with a tool, an earlier call of it and its result (the server writes all three into the prompt). */
    static final String TOOL_TURN = "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
            + "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
            + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
            + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18 C\"}],"
            + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]}";

    @Test
    void toolsAndEarlierCallsAreWrittenIntoThePrompt() throws Exception {
        try (TestServer ts = new TestServer(List.of(TestServer.KEY), 2, 1024, 2048, 8)) {
            String body = TOOL_TURN;
            String prompt = Server.JSON.readTree(ts.post("/apply-template", body).body()).get("prompt").asString();
            assertTrue(prompt.contains("### get_weather\nCurrent weather\nParameters: {\"type\":\"object\""), prompt);
            assertTrue(prompt.contains(DeepSeekToolSyntax.CALL_BEGIN + "function" + DeepSeekToolSyntax.SEP + "get_weather\n```json\n{\"city\":\"Paris\"}\n```"), prompt);
            assertTrue(prompt.contains(DeepSeekToolSyntax.OUTPUT_BEGIN + "18 C" + DeepSeekToolSyntax.OUTPUT_END), prompt);
            assertEquals(400, ts.post("/v1/chat/completions", body.replace("\"tools\":[", "\"tool_choice\":\"sometimes\",\"tools\":[")).statusCode());

            // Through the SDK: tools are accepted and the answer is well formed (random weights call nothing).
            var client = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "v1").apiKey(TestServer.KEY).maxRetries(0).build();
            ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("m")
                    .addUserMessage("Weather in Paris?").maxCompletionTokens(6)
                    .addTool(ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder().name("get_weather")
                            .parameters(FunctionParameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                                    .putAdditionalProperty("properties", JsonValue.from(Map.of())).build()).build()).build())
                    .build());
            assertTrue(c.choices().getFirst().finishReason() != null);
        }
    }

    /** A V3.2 model's prompt: the DSML tool block in the system prompt, earlier calls in DSML, results as tool turns. */
    @Test
    void theServerWritesV32PromptsInDsml() throws Exception {
        try (TestServer ts = new TestServer(List.of(TestServer.KEY), 2, 1024, 2048, 8)) {
            ts.model.useFormat(ChatTemplate.DEEPSEEK32);
            String body = TOOL_TURN;
            String prompt = Server.JSON.readTree(ts.post("/apply-template", body).body()).get("prompt").asString();
            assertTrue(prompt.contains("<functions>\n{\"name\":\"get_weather\",\"description\":\"Current weather\""), prompt);
            assertTrue(prompt.contains("<｜DSML｜invoke name=\"get_weather\">\n<｜DSML｜"
                    + "parameter name=\"city\" string=\"true\">Paris</｜DSML｜parameter>"), prompt);
            assertTrue(prompt.contains("<function_results>\n<result>18 C</result>\n</function_results>\n\n"), prompt);
        }
    }

    /**
     * tool_choice required and a named function are enforced: a random-weight model, which never calls anything on
     * its own, answers with a call whose arguments validate against the function's schema.
     */
    @Test
    void requiredAndNamedToolChoiceAreEnforced() throws Exception {
        String params = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":10},"
                + "\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7}},\"required\":[\"city\",\"days\"],"
                + "\"additionalProperties\":false}";
        String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":" + params + "}},"
                + "{\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"parameters\":{\"type\":\"object\","
                + "\"properties\":{},\"additionalProperties\":false}}}]";
        var validator = com.networknt.schema.SchemaRegistry.withDefaultDialect(
                com.networknt.schema.SpecificationVersion.DRAFT_2020_12).getSchema(params);
        try (TestServer ts = new TestServer(List.of(TestServer.KEY), 2, 1024, 2048, 8)) {
            for (String choice : new String[] {"\"required\"", "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}"}) {
                for (int seed = 0; seed < 3; seed++) {
                    String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"},{\"role\":\"assistant\","
                            + "\"content\":\"<think>\\nok\\n</think>\\n\\n\",\"prefix\":true}],\"tools\":" + tools
                            + ",\"tool_choice\":" + choice + ",\"parallel_tool_calls\":false,\"temperature\":1,\"seed\":" + seed
                            + ",\"max_tokens\":200}";
                    JsonNode r = Server.JSON.readTree(ts.post("/v1/chat/completions", body).body());
                    assertEquals("tool_calls", r.at("/choices/0/finish_reason").asString(), r.toString());
                    JsonNode calls = r.at("/choices/0/message/tool_calls");
                    assertEquals(1, calls.size(), r.toString());
                    String name = calls.get(0).at("/function/name").asString();
                    JsonNode args = Server.JSON.readTree(calls.get(0).at("/function/arguments").asString());
                    if (choice.startsWith("{") || name.equals("get_weather")) {
                        assertEquals("get_weather", name, r.toString());
                        assertEquals(List.of(), validator.validate(args).stream().map(Object::toString).toList(), args.toString());
                    } else {
                        assertEquals("get_time", name);
                        assertTrue(args.isObject() && args.isEmpty(), args.toString());
                    }
                }
            }
            // A named function is called once even with parallel calls allowed (a random model would otherwise
            // repeat the call, as the grammar let it, until the context was full).
            for (int seed = 0; seed < 6; seed++) {
                JsonNode r = Server.JSON.readTree(ts.post("/v1/chat/completions", "{\"model\":\"deepseek-chat\","
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}],\"tools\":" + tools
                        + ",\"tool_choice\":{\"type\":\"function\","
                        + "\"function\":{\"name\":\"get_weather\"}},\"temperature\":1,\"seed\":" + seed + "}").body());
                assertEquals("tool_calls", r.at("/choices/0/finish_reason").asString(), r.toString());
                assertEquals(1, r.at("/choices/0/message/tool_calls").size(), r.toString());
            }
            // tool_choice auto with a strict function: the answer may be text; a call, if any, keeps to the schema.
            String strictTools = tools.replaceFirst("\"name\":\"get_weather\",", "\"name\":\"get_weather\",\"strict\":true,");
            for (int seed = 0; seed < 3; seed++) {
                JsonNode r = Server.JSON.readTree(ts.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\","
                        + "\"content\":\"Weather?\"}],\"tools\":" + strictTools + ",\"max_tokens\":40,\"seed\":" + seed + "}").body());
                assertTrue(r.has("choices"), r.toString());
                JsonNode calls = r.at("/choices/0/message/tool_calls");
                for (JsonNode call : calls) {
                    if (call.at("/function/name").asString().equals("get_weather")) {
                        JsonNode args = Server.JSON.readTree(call.at("/function/arguments").asString());
                        assertEquals(List.of(), validator.validate(args).stream().map(Object::toString).toList(), args.toString());
                    }
                }
            }
            var unknown = ts.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":"
                    + tools + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}}");
            assertEquals(400, unknown.statusCode());
            assertTrue(unknown.body().contains("nope"), unknown.body());
        }
    }
}
