package io.jseek.engine.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.engine.ChatTemplate;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/**
 * The two function-call syntaxes, DeepSeek-V3's and V3.2's DSML: parsing answers (streamed in pieces), writing
 * earlier calls back, describing tools. (The server's and LangChain4j's tests check the prompts they make.)
 */
class ToolSyntaxTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static final String V3 = DeepSeekToolSyntax.CALLS_BEGIN + DeepSeekToolSyntax.CALL_BEGIN + "function" + DeepSeekToolSyntax.SEP
            + "get_weather\n```json\n{\"city\": \"Paris\"}\n```" + DeepSeekToolSyntax.CALL_END + DeepSeekToolSyntax.CALL_BEGIN + "function"
            + DeepSeekToolSyntax.SEP + "get_time\n```json\n{}\n```" + DeepSeekToolSyntax.CALL_END + DeepSeekToolSyntax.CALLS_END;

    @Test
    void parsesV3AndV31Calls() {
        List<ToolCall> calls = DeepSeekToolSyntax.parse(V3);
        assertEquals(2, calls.size());
        assertEquals("get_weather", calls.get(0).name());
        assertEquals("{\"city\": \"Paris\"}", calls.get(0).arguments());
        assertEquals("get_time", calls.get(1).name());
        assertTrue(calls.get(0).id().startsWith("call_") && !calls.get(0).id().equals(calls.get(1).id()));
        List<ToolCall> v31 = DeepSeekToolSyntax.parse(DeepSeekToolSyntax.CALLS_BEGIN + DeepSeekToolSyntax.CALL_BEGIN + "search" + DeepSeekToolSyntax.SEP
                + "{\"q\":\"x\"}" + DeepSeekToolSyntax.CALL_END + DeepSeekToolSyntax.CALLS_END);
        assertEquals("search", v31.getFirst().name());
        assertEquals("{\"q\":\"x\"}", v31.getFirst().arguments());
        assertNull(DeepSeekToolSyntax.parse(DeepSeekToolSyntax.CALLS_BEGIN + DeepSeekToolSyntax.CALL_BEGIN + "function" + DeepSeekToolSyntax.SEP + "f"), "unfinished");
        assertNull(DeepSeekToolSyntax.parse(DeepSeekToolSyntax.CALLS_BEGIN + DeepSeekToolSyntax.CALL_BEGIN + "no separator" + DeepSeekToolSyntax.CALL_END));
    }

    @Test
    void aStreamedV3AnswerSplitsIntoTextAndCalls() {
        String answer = "Let me check. " + V3;
        // Every way of cutting the answer into two deltas gives the same text and calls.
        for (int cut = 0; cut <= answer.length(); cut++) {
            ToolCallParser p = DeepSeekToolSyntax.INSTANCE.parser();
            String shown = p.push(answer.substring(0, cut)) + p.push(answer.substring(cut));
            List<ToolCall> calls = p.finish();
            assertEquals("Let me check. ", shown, "cut at " + cut);
            assertEquals(2, calls.size(), "cut at " + cut);
        }
        // Text that only looks like the start of a marker is shown in the end.
        ToolCallParser p = DeepSeekToolSyntax.INSTANCE.parser();
        String shown = p.push("a <｜tool") + p.push(" b");
        assertNull(p.finish());
        assertEquals("a <｜tool b", shown + p.rest());
        // A malformed block comes back as text.
        ToolCallParser bad = DeepSeekToolSyntax.INSTANCE.parser();
        bad.push("x" + DeepSeekToolSyntax.CALLS_BEGIN + "garbage");
        assertNull(bad.finish());
        assertEquals(DeepSeekToolSyntax.CALLS_BEGIN + "garbage", bad.rest());
    }

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
    void parsesDsmlCallsWithTextAndJsonParameters() {
        List<ToolCall> calls = DsmlToolSyntax.parse(BLOCK.strip());
        assertEquals(2, calls.size());
        assertEquals("get_weather", calls.get(0).name());
        assertEquals(JSON.readTree("{\"city\":\"Paris \\\"centre\\\"\",\"days\":3,\"units\":{\"t\":\"C\",\"list\":[1,2]}}"),
                JSON.readTree(calls.get(0).arguments()));
        assertEquals("get_time", calls.get(1).name());
        assertEquals("{}", calls.get(1).arguments());
        assertNull(DsmlToolSyntax.parse(BLOCK.strip().replace("</" + D + "function_calls>", "")), "unfinished");
        assertNull(DsmlToolSyntax.parse(BLOCK.strip().replace(">3<", ">three<")), "not JSON where string=\"false\"");
        assertNull(DsmlToolSyntax.parse(BLOCK.strip().replace("string=\"true\"", "kind=\"x\"")), "unknown attribute");
    }

    @Test
    void aStreamedDsmlAnswerSplitsIntoTextAndCalls() {
        String answer = "Let me check." + BLOCK;
        for (int cut = 0; cut <= answer.length(); cut++) {
            ToolCallParser p = DsmlToolSyntax.INSTANCE.parser();
            String shown = p.push(answer.substring(0, cut)) + p.push(answer.substring(cut));
            List<ToolCall> calls = p.finish();
            assertEquals("Let me check.\n\n", shown, "cut at " + cut);
            assertEquals(2, calls.size(), "cut at " + cut);
        }
        ToolCallParser bad = DsmlToolSyntax.INSTANCE.parser();
        bad.push("x<" + D + "function_calls>garbage");
        assertNull(bad.finish());
        assertEquals("<" + D + "function_calls>garbage", bad.rest());
    }

    /** What render writes, parse reads back to the same arguments (the encoder's own round trip). */
    @Test
    void earlierCallsAreWrittenAsTheModelWritesThem() {
        List<ToolCall> calls = List.of(
                new ToolCall("c1", "get_weather", "{\"city\":\"Paris \\\"centre\\\"\",\"days\":3,\"units\":{\"t\":\"C\",\"list\":[1,2]}}"),
                new ToolCall("c2", "get_time", "{}"));
        String written = DsmlToolSyntax.INSTANCE.render(calls);
        assertEquals(BLOCK.replace("{\"t\": \"C\", \"list\": [1, 2]}", "{\"t\":\"C\",\"list\":[1,2]}"), written);
        assertEquals(2, DsmlToolSyntax.parse(written.strip()).size());
    }

    @Test
    void eachFormatGetsItsSyntaxAndToolsAreDescribed() throws Exception {
        assertEquals(DsmlToolSyntax.INSTANCE, ToolSyntax.of(ChatTemplate.DEEPSEEK32));
        assertEquals(DeepSeekToolSyntax.INSTANCE, ToolSyntax.of(ChatTemplate.DEEPSEEK3));
        List<ToolSpec> tools = List.of(new ToolSpec("get_weather", "Current weather",
                "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}"), new ToolSpec("now", null, null));
        String v3 = DeepSeekToolSyntax.INSTANCE.describe(tools);
        assertTrue(v3.contains("### get_weather\nCurrent weather\nParameters: {\"type\":\"object\""), v3);
        assertTrue(v3.contains("### now\n\n"), v3);
        String dsml = DsmlToolSyntax.INSTANCE.describe(tools);
        assertTrue(dsml.contains("<functions>\n{\"name\":\"get_weather\",\"description\":\"Current weather\",\"parameters\":{\"type\""), dsml);
        assertTrue(dsml.contains("\n{\"name\":\"now\"}\n</functions>"), dsml);
        assertEquals("tool", DsmlToolSyntax.INSTANCE.result("18 C").role());
        assertEquals("user", DeepSeekToolSyntax.INSTANCE.result("18 C").role());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DsmlToolSyntax.INSTANCE.render(List.of(new ToolCall("c", "f", "[1]"))));
        assertTrue(e.getMessage().contains("tool_calls[0].function.arguments"), e.getMessage());
    }

    @Test
    void aWholeAnswerParses() {
        ToolCallParser.Parsed none = ToolCallParser.parse(DeepSeekToolSyntax.INSTANCE, "just text");
        assertEquals("just text", none.text());
        assertTrue(none.calls().isEmpty());
        ToolCallParser.Parsed some = ToolCallParser.parse(DeepSeekToolSyntax.INSTANCE, "Let me check. " + V3);
        assertEquals("Let me check. ", some.text());
        assertEquals(2, some.calls().size());
    }

    private static boolean accepts(String grammar, String text) {
        io.jseek.engine.OutputConstraint.Matcher m = io.jseek.engine.grammar.GrammarConstraint.gbnf(grammar).start();
        return m.feed(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) && m.complete();
    }

    /** Forced calls: the grammar takes what render writes, for the named function only, with valid arguments. */
    @Test
    void callGrammarsAcceptRenderedCallsOnly() {
        List<ToolSpec> tools = List.of(
                new ToolSpec("get_weather", "w", "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
                        + "\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7}},\"required\":[\"city\"],"
                        + "\"additionalProperties\":false}"),
                new ToolSpec("now", null, null));
        ToolCall weather = new ToolCall("c1", "get_weather", "{\"city\":\"Paris\",\"days\":3}");
        ToolCall now = new ToolCall("c2", "now", "{}");
        ToolSyntax v3 = DeepSeekToolSyntax.INSTANCE;
        String any = v3.grammar(tools, null, true);
        assertTrue(accepts(any, v3.render(List.of(weather))), any);
        assertTrue(accepts(any, v3.render(List.of(weather, now))));
        assertFalse(accepts(v3.grammar(tools, null, false), v3.render(List.of(weather, now))), "one call unless parallel");
        assertFalse(accepts(v3.grammar(tools, "now", true), v3.render(List.of(weather))), "only the named function");
        assertTrue(accepts(v3.grammar(tools, "now", true), v3.render(List.of(now))));
        assertFalse(accepts(any, v3.render(List.of(new ToolCall("c", "get_weather", "{\"days\":3}")))), "required city");
        assertFalse(accepts(any, v3.render(List.of(new ToolCall("c", "get_weather", "{\"city\":\"P\",\"days\":9}")))), "days ≤ 7");
        assertFalse(accepts(any, "Sure! " + v3.render(List.of(weather))), "nothing before the call");
        assertThrows(IllegalArgumentException.class, () -> v3.grammar(tools, "nope", true));
        ToolSyntax dsml = DsmlToolSyntax.INSTANCE;
        String block = dsml.render(List.of(weather, now)).strip();
        assertTrue(accepts(dsml.grammar(tools, null, true), block), block);
        assertFalse(accepts(dsml.grammar(tools, null, false), block), "one call unless parallel");
        assertFalse(accepts(dsml.grammar(tools, "now", true), dsml.render(List.of(weather)).strip()), "only the named function");
        // What the grammars accept, the parsers read back.
        assertEquals(2, DeepSeekToolSyntax.parse(v3.render(List.of(weather, now))).size());
        assertEquals(2, DsmlToolSyntax.parse(block).size());
    }

    /** tool_choice auto with strict functions: free text, or a call block that keeps to the schemas once it starts. */
    @Test
    void triggeredCallGrammarLeavesTextFreeAndHoldsBlocks() {
        List<ToolSpec> tools = List.of(new ToolSpec("get_weather", null, "{\"type\":\"object\",\"properties\":"
                + "{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"],\"additionalProperties\":false}"));
        ToolSyntax v3 = DeepSeekToolSyntax.INSTANCE;
        var c = new io.jseek.engine.grammar.TriggeredConstraint(v3.trigger(),
                io.jseek.engine.grammar.GrammarConstraint.gbnf(v3.grammar(tools, null, true)));
        java.util.function.Function<String, io.jseek.engine.OutputConstraint.Matcher> fed = text -> {
            var m = c.start();
            assertTrue(m.feed(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)), text);
            return m;
        };
        var free = fed.apply("Just text, <｜tool but not a block.");
        assertTrue(free.complete(), "free text may end");
        assertFalse(free.ended(), "free text does not end by itself");
        String good = "Let me look. " + v3.render(List.of(new ToolCall("c", "get_weather", "{\"city\":\"Paris\"}")));
        var call = fed.apply(good);
        assertTrue(call.complete() && call.ended(), "a whole block ends the answer");
        // Split anywhere, the same; a block that breaks the schema is refused.
        for (int cut = 0; cut < good.length(); cut += 7) {
            var m = c.start();
            assertTrue(m.feed(good.substring(0, cut).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                    && m.feed(good.substring(cut).getBytes(java.nio.charset.StandardCharsets.UTF_8)) && m.ended(), "cut " + cut);
        }
        var bad = c.start();
        assertFalse(bad.feed(v3.render(List.of(new ToolCall("c", "get_weather", "{\"town\":\"Paris\"}")))
                .getBytes(java.nio.charset.StandardCharsets.UTF_8)), "arguments outside the schema");
        var started = fed.apply("ok " + v3.trigger());
        assertFalse(started.complete(), "an unfinished block cannot end the answer");
    }
}
