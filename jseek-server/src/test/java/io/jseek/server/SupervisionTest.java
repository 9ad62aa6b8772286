package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.SamplerConfig;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** A scheduler that stopped on a fault makes the server say so: /health 503 with the reason, requests 503. */
class SupervisionTest {
    @Test
    void aStoppedEngineIsUnhealthyNotSilent() throws Exception {
        try (TestServer ts = new TestServer(List.of(), 1, 256, 1024, 8)) {
            assertEquals(200, ts.get("/health").statusCode());
            var s = ts.server.scheduler();
            var dies = s.submit(ts.model.tokenizer().encode("Hi", true, false),
                    new GenerationOptions(4, SamplerConfig.greedy(), List.of(), false), new GenerationListener() {
                        @Override
                        public void onReasoning(String d) {
                            throw new AssertionError("simulated engine fault");
                        }

                        @Override
                        public void onContent(String d) {
                            throw new AssertionError("simulated engine fault");
                        }
                    });
            try {
                dies.result().get(30, TimeUnit.SECONDS);
            } catch (Exception expected) {
                // the faulting request fails
            }
            var health = ts.get("/health");
            assertEquals(503, health.statusCode(), health.body());
            JsonNode h = Server.JSON.readTree(health.body());
            assertEquals("error", h.get("status").asString());
            assertTrue(h.get("reason").asString().contains("simulated engine fault"), health.body());
            var r = ts.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}");
            assertEquals(503, r.statusCode(), r.body());
            assertEquals("server_unavailable", Server.JSON.readTree(r.body()).at("/error/code").asString(), r.body());
        }
    }
}
