package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.engine.ChatTemplate;
import java.util.List;
import org.junit.jupiter.api.Test;

/** V3.2's DSML function calls: parsing answers (streamed in pieces), writing them back, and the prompt. */
class DsmlToolCallsTest {
    private static final String D = "｜DSML｜";
    private static final String BLOCK = "\n\n<" + D + "function_calls>\n"
            + "<" + D + "invoke name=\"get_weather\">\n"
            + "<" + D + "parameter name=\"city\" string=\"true\">Paris \"centre\"</" + D + "parameter>\n"
            + "<" + D + "parameter name=\"days\" string=\"false\">3</" + D + "parameter>\n"
            + "<" + D + "parameter name=\"units\" string=\"false\">{\"t\": \"C\", \"list\": [1, 2]}</" + D + "parameter>\n"
            + "</" + D + "invoke>\n"
            + "<" + D + "invoke name=\"get_time\">\n"
            + "</" + D + "invoke>\n"
            + "</" + D + "function_calls>";

    @Test
    void parsesCallsWithTextAndJsonParameters() {
        List<ToolCalls.Call> calls = DsmlToolCalls.parse(BLOCK.strip());
        assertEquals(2, calls.size());
        assertEquals("get_weather", calls.get(0).name());
        assertEquals(Server.JSON.readTree("{\"city\":\"Paris \\\"centre\\\"\",\"days\":3,\"units\":{\"t\":\"C\",\"list\":[1,2]}}"),
                Server.JSON.readTree(calls.get(0).arguments()));
        assertEquals("get_time", calls.get(1).name());
        assertEquals("{}", calls.get(1).arguments());
        assertNull(DsmlToolCalls.parse(BLOCK.strip().replace("</" + D + "function_calls>", "")), "unfinished");
        assertNull(DsmlToolCalls.parse(BLOCK.strip().replace(">3<", ">three<")), "not JSON where string=\"false\"");
        assertNull(DsmlToolCalls.parse(BLOCK.strip().replace("string=\"true\"", "kind=\"x\"")), "unknown attribute");
    }

    @Test
    void aStreamedAnswerSplitsIntoTextAndCalls() {
        String answer = "Let me check." + BLOCK;
        for (int cut = 0; cut <= answer.length(); cut++) {
            ToolCalls.Parser p = DsmlToolCalls.SYNTAX.parser().get();
            String shown = p.push(answer.substring(0, cut)) + p.push(answer.substring(cut));
            List<ToolCalls.Call> calls = p.finish();
            assertEquals("Let me check.\n\n", shown, "cut at " + cut);
            assertEquals(2, calls.size(), "cut at " + cut);
        }
        ToolCalls.Parser bad = DsmlToolCalls.SYNTAX.parser().get();
        bad.push("x<" + D + "function_calls>garbage");
        assertNull(bad.finish());
        assertEquals("<" + D + "function_calls>garbage", bad.rest());
    }

    /** What render writes, parse reads back to the same arguments (the encoder's own round trip). */
    @Test
    void earlierCallsAreWrittenAsTheModelWritesThem() {
        String calls = "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                + "\"arguments\":\"{\\\"city\\\":\\\"Paris \\\\\\\"centre\\\\\\\"\\\",\\\"days\\\":3,\\\"units\\\":{\\\"t\\\":\\\"C\\\",\\\"list\\\":[1,2]}}\"}},"
                + "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]";
        String written = DsmlToolCalls.render(Server.JSON.readTree(calls));
        assertEquals(BLOCK.replace("{\"t\": \"C\", \"list\": [1, 2]}", "{\"t\":\"C\",\"list\":[1,2]}"), written);
        assertEquals(2, DsmlToolCalls.parse(written.strip()).size());
    }

    /** A V3.2 model's prompt: the DSML tool block in the system prompt, earlier calls in DSML, results as tool turns. */
    @Test
    void theServerWritesV32Prompts() throws Exception {
        try (TestServer ts = new TestServer(List.of(TestServer.KEY), 2, 1024, 2048, 8)) {
            ts.model.useFormat(ChatTemplate.DEEPSEEK32);
            String body = ToolCallsTest.TOOL_TURN;
            String prompt = Server.JSON.readTree(ts.post("/apply-template", body).body()).get("prompt").asString();
            assertTrue(prompt.contains("<functions>\n{\"name\":\"get_weather\",\"description\":\"Current weather\""), prompt);
            assertTrue(prompt.contains("<" + D + "invoke name=\"get_weather\">\n<" + D
                    + "parameter name=\"city\" string=\"true\">Paris</" + D + "parameter>"), prompt);
            assertTrue(prompt.contains("<function_results>\n<result>18 C</result>\n</function_results>\n\n"), prompt);
        }
    }
}
