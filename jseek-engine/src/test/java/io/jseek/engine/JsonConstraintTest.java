package io.jseek.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The JSON grammar against Jackson's parser, and constrained generation on a test model. */
class JsonConstraintTest {
    private static final ObjectMapper JACKSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static boolean matches(String s) {
        OutputConstraint.Matcher m = JsonConstraint.OBJECT.start();
        return m.feed(s.getBytes(StandardCharsets.UTF_8)) && m.complete();
    }

    /** True when some continuation could still make s a JSON object: every byte accepted. */
    private static boolean prefix(String s) {
        return JsonConstraint.OBJECT.start().feed(s.getBytes(StandardCharsets.UTF_8));
    }

    private static boolean jacksonObject(String s) {
        try {
            return JACKSON.readTree(s).isObject();
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void agreesWithJacksonOnWholeDocuments() {
        List<String> docs = List.of("{}", " {\"a\":1} ", "{\"a\":[1,2.5,-3e4,0,-0.1E-2,true,false,null]}",
                "{\"k\":{\"n\":{\"m\":[[],{}]}}}", "{\"s\":\"esc \\\" \\\\ \\/ \\n \\u00e9 ünï\"}",
                "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1]", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":tru}",
                "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":[1,]}", "{\"a\":1}}", "{\"a\":-}", "{\"a\":1e}",
                "{\"a\":\"tab\there\"}", "{\"a\":1}{", "{\"a\":[}", "{\"a\":nul}", "{\"x\":1e+5}", "\"s\"",
                "{\"a\":1 }", "{\"a\": [1 , 2 ]}");
        for (String d : docs) {
            assertEquals(jacksonObject(d), matches(d), d);
        }
    }

    @Test
    void everyPrefixOfAValidDocumentIsAcceptedAndIncomplete() {
        String d = "{\"name\": \"jseek\", \"n\": [1, -2.5e3, {\"ok\": true}], \"u\": \"\\u00e9\"}";
        for (int i = 0; i < d.length(); i++) {
            String p = d.substring(0, i);
            assertTrue(prefix(p), p);
            OutputConstraint.Matcher m = JsonConstraint.OBJECT.start();
            m.feed(p.getBytes(StandardCharsets.UTF_8));
            assertFalse(m.complete(), p);
        }
        assertTrue(matches(d));
        assertTrue(prefix("{" + " ".repeat(JsonConstraint.MAX_SPACE)));
        assertFalse(prefix("{" + " ".repeat(JsonConstraint.MAX_SPACE + 1)), "endless whitespace");
        assertTrue(prefix("{\"" + " ".repeat(100)), "spaces inside a string are text");
    }

    @Test
    void constrainedGenerationProducesJson() throws Exception {
        try (LoadedModel m = LoadedModel.open(Path.of(System.getProperty("jseek.testdata", "../testdata"), "r1qwen-f32.gguf"), 1)) {
            // Random weights rarely close a string by chance: favour the closing characters a little.
            java.util.Map<Integer, Float> bias = new java.util.HashMap<>();
            for (String s : List.of("\"", "}", "]")) {
                bias.put(m.tokenizer().encode(s, false, false)[0], 4f);
            }
            int finished = 0;
            for (int seed = 0; seed < 6; seed++) {
                GenerationOptions opt = new GenerationOptions(120, new SamplerConfig(1.0f, 0, 1, 0, 1, 0, 0, 64, seed, bias),
                        List.of(), false, -1, JsonConstraint.OBJECT);
                Generation g = m.complete("Reply in JSON:", new ContextPlan(256, io.jseek.model.CacheType.F32), opt,
                        new GenerationListener() { });
                assertTrue(prefix(g.content()), "not a JSON prefix: " + g.content());
                if (g.stopReason() == Generation.StopReason.END_OF_GENERATION) {
                    assertTrue(jacksonObject(g.content()), g.content());
                    finished++;
                }
            }
            assertTrue(finished >= 3, finished + " of 6 constrained answers finished in 120 tokens");
        }
    }
}
