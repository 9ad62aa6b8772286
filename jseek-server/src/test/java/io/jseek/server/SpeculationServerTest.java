package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.engine.Speculation;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * A server that speculates (serve --spec): each response counts its drafts in usage (OpenAI's predicted-output
 * fields), /metrics sums them, and streamed and whole answers agree. Token identity with plain decoding is
 * SpeculationTest's.
 */
class SpeculationServerTest {
    @Test
    void reportsDraftsInUsageAndMetrics() throws Exception {
        try (TestServer ts = new TestServer()) {
            ts.model.useSpeculation(Speculation.ngram(5));
            String body = "{\"model\":\"m\",\"prompt\":\"the cat the cat the cat the cat the\",\"max_tokens\":40,"
                    + "\"temperature\":0,\"logit_bias\":" + ts.noEos() + "}";
            var r = ts.post("/v1/completions", body);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode u = Server.JSON.readTree(r.body()).get("usage");
            assertEquals(40, u.get("completion_tokens").asInt(), r.body());
            JsonNode d = u.get("completion_tokens_details");
            int kept = d.path("accepted_prediction_tokens").asInt(-1);
            int refused = d.path("rejected_prediction_tokens").asInt(-1);
            assertTrue(kept > 0 && refused >= 0, "drafts kept on a repeating prompt: " + r.body());
            String text = Server.JSON.readTree(r.body()).at("/choices/0/text").asString();

            var s = ts.post("/v1/completions", body.replace("{\"model\"", "{\"stream\":true,\"model\""));
            StringBuilder streamed = new StringBuilder();
            for (String line : s.body().split("\n")) {
                if (line.startsWith("data: {")) {
                    streamed.append(Server.JSON.readTree(line.substring(6)).at("/choices/0/text").asString(""));
                }
            }
            assertEquals(text, streamed.toString());

            String metrics = ts.get("/metrics").body();
            // Both requests counted (the streamed one's drafts are not in a usage here: at least the first's).
            assertTrue(counter(metrics, "jseek_spec_decode_num_draft_tokens_total") > kept + refused, metrics);
            assertTrue(counter(metrics, "jseek_spec_decode_num_accepted_tokens_total") > kept, metrics);
        }
    }

    private static double counter(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " ([0-9.eE+]+)$").matcher(metrics);
        assertTrue(m.find(), name + " in " + metrics);
        return Double.parseDouble(m.group(1));
    }
}
