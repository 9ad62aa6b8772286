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

    /** The embedded model served with --spec mtp: its own MTP block drafts, nearly all kept, the answer unchanged. */
    @Test
    void theEmbeddedModelServesWithItsMtpBlock() throws Exception {
        try (TestServer ts = TestServer.embedded()) {
            String body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"47+38+95=\"}],\"temperature\":0}";
            var plain = ts.post("/v1/chat/completions", body);
            assertEquals(200, plain.statusCode(), plain.body());
            ts.model.useSpeculation(Speculation.mtp(1));
            var r = ts.post("/v1/chat/completions", body);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode j = Server.JSON.readTree(r.body());
            assertEquals(Server.JSON.readTree(plain.body()).at("/choices/0/message"), j.at("/choices/0/message"));
            assertTrue(j.at("/choices/0/message/content").asString().contains("180"), r.body());
            JsonNode d = j.at("/usage/completion_tokens_details");
            int kept = d.path("accepted_prediction_tokens").asInt(-1);
            int refused = d.path("rejected_prediction_tokens").asInt(-1);
            assertTrue(kept > 5 && kept > 4 * refused, r.body());
        }
    }

    private static double counter(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " ([0-9.eE+]+)$").matcher(metrics);
        assertTrue(m.find(), name + " in " + metrics);
        return Double.parseDouble(m.group(1));
    }
}
