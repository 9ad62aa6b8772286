package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Ollama's API: the wire format by hand (NDJSON streams, the final line's counts, errors), then Ollama's own npm
 * client (needs node and `npm install` in src/test/js, as the chat page test; .ci/run sets JSEEK_REQUIRE_NODE_CLIENTS=1
 * so that a missing piece fails there instead of skipping).
 */
class OllamaApiTest {
    private static final Path JS = Path.of("src/test/js");
    private static TestServer ts;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(List.of(), 1, 512, 1024, 8);
    }

    @AfterAll
    static void stop() {
        ts.close();
    }

    @Test
    void chatStreamsNdjsonAndEndsWithCounts() throws Exception {
        var r = ts.post("/api/chat", "{\"model\":\"test-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"options\":{\"num_predict\":10,\"seed\":1}}");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/x-ndjson"));
        List<String> lines = r.body().lines().filter(l -> !l.isBlank()).toList();
        assertTrue(lines.size() >= 2, r.body());
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            JsonNode l = Server.JSON.readTree(lines.get(i));
            assertEquals("assistant", l.at("/message/role").asString());
            assertEquals(i == lines.size() - 1, l.get("done").asBoolean(), lines.get(i));
            text.append(l.at("/message/content").asString()).append(l.at("/message/thinking").asString(""));
        }
        JsonNode last = Server.JSON.readTree(lines.getLast());
        assertEquals(10, last.get("eval_count").asInt(), last.toString());
        assertTrue(last.get("prompt_eval_count").asInt() > 0);
        assertEquals("length", last.get("done_reason").asString());
        assertFalse(text.isEmpty());
    }

    @Test
    void notStreamingGenerateTagsShowVersionAndErrors() throws Exception {
        JsonNode g = Server.JSON.readTree(ts.post("/api/generate", "{\"model\":\"test-model\",\"prompt\":\"Hi\",\"stream\":false,"
                + "\"think\":false,\"options\":{\"num_predict\":4}}").body());
        assertTrue(g.get("done").asBoolean(), g.toString());
        assertEquals(4, g.get("eval_count").asInt());
        assertFalse(g.get("response").asString().isEmpty());
        JsonNode raw = Server.JSON.readTree(ts.post("/api/generate", "{\"prompt\":\"Hi\",\"raw\":true,\"stream\":false,"
                + "\"options\":{\"num_predict\":3}}").body());
        assertEquals(3, raw.get("eval_count").asInt(), raw.toString());
        JsonNode tags = Server.JSON.readTree(ts.get("/api/tags").body());
        assertEquals("test-model", tags.at("/models/0/name").asString(), tags.toString());
        assertEquals("qwen2", tags.at("/models/0/details/family").asString());
        JsonNode show = Server.JSON.readTree(ts.post("/api/show", "{\"model\":\"test-model\"}").body());
        assertTrue(show.get("capabilities").toString().contains("thinking"), show.toString());
        assertTrue(Server.JSON.readTree(ts.get("/api/version").body()).get("version").isString());
        var bad = ts.post("/api/chat", "{\"model\":\"test-model\"}");
        assertEquals(400, bad.statusCode());
        assertTrue(Server.JSON.readTree(bad.body()).get("error").isString(), "Ollama's error shape: " + bad.body());
    }

    @Test
    void ollamasNpmClientWorks() throws Exception {
        boolean ready = Files.isDirectory(JS.resolve("node_modules/ollama")) && ChatPageTest.onPath("node");
        if (!ready) {
            String why = "needs node and `npm install` in " + JS.toAbsolutePath();
            if ("1".equals(System.getenv("JSEEK_REQUIRE_NODE_CLIENTS"))) {
                throw new AssertionError(why);
            }
            Assumptions.abort(why);
        }
        Process p = new ProcessBuilder("node", "ollama-client.mjs", ts.base()).directory(JS.toFile())
                .redirectErrorStream(true).start();
        boolean finished = p.waitFor(90, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!finished) {
            p.destroyForcibly();
        }
        assertTrue(finished && p.exitValue() == 0, out);
        JsonNode r = Server.JSON.readTree(out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow());
        assertEquals("test-model", r.at("/tags/0").asString(), out);
        assertTrue(r.at("/chat/done").asBoolean(), out);
        assertEquals(8, r.at("/chat/eval_count").asInt(), out);
        assertTrue(r.at("/stream/parts").asInt() > 2, out);
        assertTrue(r.at("/stream/done").asBoolean(), out);
        assertTrue(r.at("/generate/done").asBoolean(), out);
        int age = Server.JSON.readTree(r.get("structured").asString()).get("age").asInt();
        assertTrue(age >= 18 && age <= 20, out);
    }
}
