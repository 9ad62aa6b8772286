package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** DeepSeek API behaviours on an R1-template model: the thinking switch, model aliases, prefix completion. */
class DeepSeekParityTest {
    private static TestServer ts;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(List.of(TestServer.KEY), 1, 1024, 2048, 8);
    }

    @AfterAll
    static void stop() {
        ts.close();
    }

    private static String prompt(String extra) throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}" + extra + "}";
        var r = ts.post("/apply-template", body);
        assertEquals(200, r.statusCode(), r.body());
        return Server.JSON.readTree(r.body()).get("prompt").asString();
    }

    @Test
    void thinkingSwitchAndModelAliases() throws Exception {
        assertTrue(prompt("]").endsWith("<｜Assistant｜><think>\n"), "an R1 template thinks by default");
        assertTrue(prompt("],\"thinking\":{\"type\":\"disabled\"}").endsWith("<think>\n\n</think>\n\n"),
                "disabled: an empty reasoning block");
        assertTrue(prompt("],\"model\":\"deepseek-chat\"").endsWith("<think>\n\n</think>\n\n"));
        assertTrue(prompt("],\"model\":\"deepseek-reasoner\"").endsWith("<think>\n"));
        assertTrue(prompt("],\"model\":\"deepseek-chat\",\"thinking\":{\"type\":\"enabled\"}").endsWith("<think>\n"),
                "thinking wins over the alias");
        assertEquals(400, ts.post("/apply-template", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"thinking\":{\"type\":\"sometimes\"}}").statusCode());
        // Without thinking the answer is content from the first token.
        JsonNode r = Server.JSON.readTree(ts.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"thinking\":{\"type\":\"disabled\"},\"max_tokens\":6,\"logit_bias\":" + ts.noEos() + "}").body());
        assertTrue(r.at("/choices/0/message/reasoning_content").isMissingNode() || r.at("/choices/0/message/reasoning_content").isNull()
                || r.at("/choices/0/message/reasoning_content").asString().isEmpty(), r.toString());
        assertFalse(r.at("/choices/0/message/content").asString().isEmpty(), r.toString());
    }

    @Test
    void prefixCompletionContinuesTheAnswerOrTheReasoning() throws Exception {
        String answer = prompt(",{\"role\":\"assistant\",\"content\":\"The answer is\",\"prefix\":true}]");
        assertTrue(answer.endsWith("<think>\n\n</think>\n\nThe answer is"), answer);
        String both = prompt(",{\"role\":\"assistant\",\"content\":\"The answer is\",\"reasoning_content\":\"Add them.\","
                + "\"prefix\":true}]");
        assertTrue(both.endsWith("<think>\nAdd them.\n</think>\n\nThe answer is"), both);
        String reasoning = prompt(",{\"role\":\"assistant\",\"content\":\"\",\"reasoning_content\":\"Let me\",\"prefix\":true}]");
        assertTrue(reasoning.endsWith("<think>\nLet me"), reasoning);
        String tagged = prompt(",{\"role\":\"assistant\",\"content\":\"<think>\\nok\\n</think>\\n\\nSo\",\"prefix\":true}]");
        assertTrue(tagged.endsWith("<think>\n<think>\nok\n</think>\n\nSo"), "a prefix with its own tags is kept: " + tagged);
        // The continuation of an answer prefix comes back as content, of a reasoning prefix as reasoning.
        JsonNode a = Server.JSON.readTree(ts.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
                + "{\"role\":\"assistant\",\"content\":\"The answer is\",\"prefix\":true}],\"max_tokens\":5,\"logit_bias\":"
                + ts.noEos() + "}").body());
        assertFalse(a.at("/choices/0/message/content").asString().isEmpty(), a.toString());
        JsonNode t = Server.JSON.readTree(ts.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
                + "{\"role\":\"assistant\",\"content\":\"\",\"reasoning_content\":\"Let me\",\"prefix\":true}],\"max_tokens\":5,"
                + "\"logit_bias\":" + ts.noEos() + "}").body());
        assertFalse(t.at("/choices/0/message/reasoning_content").asString("").isEmpty(), t.toString());
    }

    @Test
    void propsTellTheContextDefaultsAndWhetherTheTemplateHoldsAConversation() throws Exception {
        JsonNode p = Server.JSON.readTree(ts.get("/props").body());
        assertEquals(1024, p.at("/default_generation_settings/n_ctx").asInt(), p.toString());
        assertEquals(1, p.get("total_slots").asInt());
        assertTrue(p.get("reasoning").asBoolean());
        assertTrue(p.get("multi_turn").asBoolean(), "R1's template holds history");
        assertTrue(p.at("/default_generation_settings/params/temperature").isNumber());
        // A template that renders only the last message does not.
        var single = new io.jseek.engine.JinjaChatFormat("single.jinja",
                "{{ messages[-1]['content'] }}", "", "");
        assertFalse(single.holdsConversation());
    }

    /** One INFO line per request, with the completion's id, status, tokens and timing; text or JSON. */
    @Test
    void everyRequestIsLogged() throws Exception {
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("jseek.server");
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                lines.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(h);
        try {
            JsonNode r = Server.JSON.readTree(ts.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                    + "\"max_tokens\":3}").body());
            ts.post("/v1/chat/completions", "{\"messages\":5}");
            String id = r.get("id").asString();
            // A line is written once the exchange is closed, which can be just after the client has its answer.
            for (int i = 0; i < 200 && !(lines.stream().anyMatch(l -> l.contains(id))
                    && lines.stream().anyMatch(l -> l.contains("status=400"))); i++) {
                Thread.sleep(10);
            }
            String ok = lines.stream().filter(l -> l.contains(id)).findFirst().orElseThrow(() -> new AssertionError(lines.toString()));
            assertTrue(ok.contains("status=200") && ok.contains("path=/v1/chat/completions") && ok.contains("prompt_tokens=")
                    && ok.contains("completion_tokens=3") && ok.contains("ms="), ok);
            assertTrue(lines.stream().anyMatch(l -> l.contains("status=400")), "a client's 4xx is logged too: " + lines);
            // Each line has its own request's facts (the JDK's exchange attributes are shared by all requests).
            assertTrue(lines.stream().filter(l -> l.contains("status=400")).noneMatch(l -> l.contains("id=")), lines.toString());
        } finally {
            log.removeHandler(h);
        }
        try (TestServer json = new TestServer(List.of(), 1, 256, 512, 4, "json")) {
            log.addHandler(h);
            lines.clear();
            json.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2}");
            for (int i = 0; i < 200 && lines.isEmpty(); i++) {
                Thread.sleep(10);
            }
            JsonNode line = Server.JSON.readTree(lines.getFirst());
            assertEquals(200, line.get("status").asInt());
            assertEquals(2, line.get("completion_tokens").asInt());
        } finally {
            log.removeHandler(h);
        }
    }
}
