package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** DeepSeek's function-call syntax: parsing answers (both forms, streamed in pieces) and writing prompts. */
class ToolCallsTest {
    /** A request with a tool, an earlier call of it and its result (the server writes all three into the prompt). */
    static final String TOOL_TURN = "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
            + "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
            + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
            + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18 C\"}],"
            + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]}";

    private static final String V3 = ToolCalls.CALLS_BEGIN + ToolCalls.CALL_BEGIN + "function" + ToolCalls.SEP
            + "get_weather\n```json\n{\"city\": \"Paris\"}\n```" + ToolCalls.CALL_END + ToolCalls.CALL_BEGIN + "function"
            + ToolCalls.SEP + "get_time\n```json\n{}\n```" + ToolCalls.CALL_END + ToolCalls.CALLS_END;

    @Test
    void parsesV3AndV31Calls() {
        List<ToolCalls.Call> calls = ToolCalls.parse(V3);
        assertEquals(2, calls.size());
        assertEquals("get_weather", calls.get(0).name());
        assertEquals("{\"city\": \"Paris\"}", calls.get(0).arguments());
        assertEquals("get_time", calls.get(1).name());
        assertTrue(calls.get(0).id().startsWith("call_") && !calls.get(0).id().equals(calls.get(1).id()));
        List<ToolCalls.Call> v31 = ToolCalls.parse(ToolCalls.CALLS_BEGIN + ToolCalls.CALL_BEGIN + "search" + ToolCalls.SEP
                + "{\"q\":\"x\"}" + ToolCalls.CALL_END + ToolCalls.CALLS_END);
        assertEquals("search", v31.getFirst().name());
        assertEquals("{\"q\":\"x\"}", v31.getFirst().arguments());
        assertNull(ToolCalls.parse(ToolCalls.CALLS_BEGIN + ToolCalls.CALL_BEGIN + "function" + ToolCalls.SEP + "f"), "unfinished");
        assertNull(ToolCalls.parse(ToolCalls.CALLS_BEGIN + ToolCalls.CALL_BEGIN + "no separator" + ToolCalls.CALL_END));
    }

    @Test
    void aStreamedAnswerSplitsIntoTextAndCalls() {
        String answer = "Let me check. " + V3;
        // Every way of cutting the answer into two deltas gives the same text and calls.
        for (int cut = 0; cut <= answer.length(); cut++) {
            ToolCalls.Parser p = new ToolCalls.Parser();
            String shown = p.push(answer.substring(0, cut)) + p.push(answer.substring(cut));
            List<ToolCalls.Call> calls = p.finish();
            assertEquals("Let me check. ", shown, "cut at " + cut);
            assertEquals(2, calls.size(), "cut at " + cut);
        }
        // Text that only looks like the start of a marker is shown in the end.
        ToolCalls.Parser p = new ToolCalls.Parser();
        String shown = p.push("a <｜tool") + p.push(" b");
        assertNull(p.finish());
        assertEquals("a <｜tool b", shown + p.rest());
        // A malformed block comes back as text.
        ToolCalls.Parser bad = new ToolCalls.Parser();
        bad.push("x" + ToolCalls.CALLS_BEGIN + "garbage");
        assertNull(bad.finish());
        assertEquals(ToolCalls.CALLS_BEGIN + "garbage", bad.rest());
    }

    @Test
    void toolsAndEarlierCallsAreWrittenIntoThePrompt() throws Exception {
        try (TestServer ts = new TestServer(List.of(TestServer.KEY), 2, 1024, 2048, 8)) {
            String body = TOOL_TURN;
            String prompt = Server.JSON.readTree(ts.post("/apply-template", body).body()).get("prompt").asString();
            assertTrue(prompt.contains("### get_weather\nCurrent weather\nParameters: {\"type\":\"object\""), prompt);
            assertTrue(prompt.contains(ToolCalls.CALL_BEGIN + "function" + ToolCalls.SEP + "get_weather\n```json\n{\"city\":\"Paris\"}\n```"), prompt);
            assertTrue(prompt.contains(ToolCalls.OUTPUT_BEGIN + "18 C" + ToolCalls.OUTPUT_END), prompt);
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
}
