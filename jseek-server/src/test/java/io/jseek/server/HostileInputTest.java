package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Client input the server must answer with a 400 naming the field (never a 500), or accept as the APIs allow. */
class HostileInputTest {
    private static TestServer ts;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(List.of(), 1, 256, 1024, 8);
    }

    @AfterAll
    static void stop() {
        ts.close();
    }

    private static String chat(String extra) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2" + extra + "}";
    }

    @Test
    void outOfRangeAndMistypedFieldsAre400sNamingTheField() throws Exception {
        String big = "1" + "0".repeat(400);
        String[][] cases = {
            {"/v1/chat/completions", chat(",\"logprobs\":true,\"top_logprobs\":4294967296"), "top_logprobs"},
            {"/v1/completions", "{\"prompt\":\"x\",\"logprobs\":2147483648}", "logprobs"},
            {"/v1/chat/completions", chat(",\"temperature\":" + big), "temperature"},
            {"/v1/chat/completions", chat(",\"top_p\":" + big), "top_p"},
            {"/v1/chat/completions", chat(",\"temperature\":1e400"), "temperature"},
            {"/v1/chat/completions", chat(",\"temperature\":-1e400"), "temperature"},
            {"/v1/chat/completions", chat(",\"frequency_penalty\":1e400"), "frequency_penalty"},
            {"/v1/chat/completions", chat(",\"seed\":1e400"), "seed"},
            {"/v1/chat/completions", chat(",\"max_tokens\":1e400"), "max_tokens"},
            {"/v1/chat/completions", chat(",\"logit_bias\":{\"1\":1e400}"), "logit_bias"},
            {"/v1/chat/completions", chat(",\"presence_penalty\":-" + big), "presence_penalty"},
            {"/v1/chat/completions", chat(",\"max_tokens\":" + big), "max_tokens"},
            {"/v1/chat/completions", chat(",\"seed\":" + big), "seed"},
            {"/v1/chat/completions", chat(",\"stream\":\"x\""), "stream"},
            {"/v1/chat/completions", chat(",\"stream_options\":{\"include_usage\":1}"), "stream_options.include_usage"},
            {"/v1/chat/completions", chat(",\"logit_bias\":{\"\uFF11\":5}"), "logit_bias"},
            {"/v1/chat/completions", chat(",\"logit_bias\":{\"1\":" + big + "}"), "logit_bias"},
            {"/detokenize", "{\"tokens\":[4294967296]}", "tokens"},
            {"/detokenize", "{\"tokens\":[1.5]}", "tokens"},
            {"/tokenize", "{\"content\":\"x\",\"add_special\":\"yes\"}", "add_special"},
        };
        List<String> wrong = new ArrayList<>();
        for (String[] c : cases) {
            var r = ts.post(c[0], c[1]);
            JsonNode err = r.statusCode() == 400 ? Server.JSON.readTree(r.body()).get("error") : null;
            if (err == null || !c[2].equals(err.path("param").asString(""))) {
                wrong.add(c[0] + " " + c[1].substring(0, Math.min(120, c[1].length())) + " → " + r.statusCode() + " " + r.body());
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
        // Ollama's API answers errors as Ollama does ({"error": "..."}), still 400.
        var r = ts.post("/api/chat", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"options\":{\"temperature\":1e400}}");
        assertEquals(400, r.statusCode(), r.body());
    }

    @Test
    void unsignedSixtyFourBitSeedsAreAccepted() throws Exception {
        for (String seed : new String[] {"9223372036854775808", "18446744073709551615", "-5"}) {
            var r = ts.post("/v1/chat/completions", chat(",\"seed\":" + seed));
            assertEquals(200, r.statusCode(), seed + " → " + r.body());
        }
        assertEquals(400, ts.post("/v1/chat/completions", chat(",\"seed\":18446744073709551616")).statusCode(), "2^64");
    }
}
