package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Real Node clients against the server (needs node and `npm install` in src/test/js; .ci/run sets
 * JSEEK_REQUIRE_NODE_CLIENTS=1 so that a missing piece fails there): `openai` 7 (strict json_schema, streaming,
 * tool_choice required), `@langchain/deepseek` (withStructuredOutput, jsonSchema and functionCalling) and the AI SDK
 * 6 with `@ai-sdk/deepseek` (generateObject, toolChoice 'required'). The model has random weights: what validates
 * does so because of the grammar.
 */
class NodeClientsTest {
    private static final Path JS = Path.of("src/test/js");

    @Test
    void openAiLangChainAndTheAiSdkGetValidStructuredAnswersAndForcedCalls() throws Exception {
        boolean ready = Files.isDirectory(JS.resolve("node_modules/@ai-sdk/deepseek")) && ChatPageTest.onPath("node");
        if (!ready) {
            String why = "needs node and `npm install` in " + JS.toAbsolutePath();
            if ("1".equals(System.getenv("JSEEK_REQUIRE_NODE_CLIENTS"))) {
                throw new AssertionError(why);
            }
            Assumptions.abort(why);
        }
        JsonNode r;
        try (TestServer ts = new TestServer(List.of(TestServer.KEY), 2, 2048, 8192, 16)) {
            Process p = new ProcessBuilder("node", "node-clients.mjs", ts.base() + "v1", TestServer.KEY).directory(JS.toFile())
                    .redirectErrorStream(true).start();
            boolean finished = p.waitFor(180, TimeUnit.SECONDS);
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!finished) {
                p.destroyForcibly();
            }
            assertTrue(finished && p.exitValue() == 0, out);
            r = Server.JSON.readTree(out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow());
        }
        String all = r.toString();
        // openai: strict json_schema output validates against its schema.
        JsonNode s = r.get("openaiSchema");
        var validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(Server.JSON.writeValueAsString(s.get("schema")));
        assertEquals(List.of(), validator.validate(Server.JSON.readTree(s.get("content").asString())).stream()
                .map(Object::toString).toList(), all);
        assertTrue(r.at("/openaiStream/chunks").asInt() > 2, all);
        assertEquals("get_weather", r.at("/openaiRequired/name").asString(), all);
        assertEquals(List.of(), validator.validate(Server.JSON.readTree(r.at("/openaiRequired/arguments").asString())).stream()
                .map(Object::toString).toList(), all);
        // LangChain and the AI SDK parse with their own zod schema: an object means it validated there.
        for (String k : new String[] {"langchainJsonSchema", "langchainFunctionCalling", "aiGenerateObject"}) {
            JsonNode o = r.path(k);
            assertTrue(o.has("name") && o.has("age") && o.has("role") && !o.has("error"), k + ": " + all);
            assertTrue(o.get("age").asInt() >= 0 && o.get("age").asInt() <= 120, k + ": " + all);
        }
        assertEquals("get_weather", r.at("/aiToolChoiceRequired/calls/0/name").asString(), all);
    }
}
