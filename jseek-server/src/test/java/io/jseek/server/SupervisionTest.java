package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * A scheduler that stopped on a fault makes the server say so (/health 503 with the reason, requests 503), and
 * with restart-on-fault the server reopens the model and serves again.
 */
class SupervisionTest {
    private static final String CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}";

    @Test
    void aStoppedEngineIsUnhealthyNotSilent() throws Exception {
        try (TestServer ts = new TestServer(List.of(), 1, 256, 1024, 8)) {
            assertEquals(200, ts.get("/health").statusCode());
            fault(ts);
            var health = ts.get("/health");
            assertEquals(503, health.statusCode(), health.body());
            JsonNode h = Server.JSON.readTree(health.body());
            assertEquals("error", h.get("status").asString());
            assertTrue(h.get("reason").asString().contains("simulated engine fault"), health.body());
            var r = ts.post("/v1/chat/completions", CHAT);
            assertEquals(503, r.statusCode(), r.body());
            assertEquals("server_unavailable", Server.JSON.readTree(r.body()).at("/error/code").asString(), r.body());
        }
    }

    @Test
    void restartOnFaultReopensTheModelAndServesAgain() throws Exception {
        try (TestServer ts = new TestServer(List.of(), 1, 256, 1024, 8)) {
            ts.server.restartOnFault(() -> LoadedModel.open(TestServer.DATA.resolve(TestServer.MODEL), 2));
            var before = ts.server.scheduler();
            fault(ts);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (ts.server.restarts() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(1, ts.server.restarts());
            assertNotSame(before, ts.server.scheduler());
            assertEquals(200, ts.get("/health").statusCode());
            var r = ts.post("/v1/chat/completions", CHAT);
            assertEquals(200, r.statusCode(), r.body());
        }
    }

    /** Makes the scheduler's loop fail with an Error (thrown by a listener) and waits for that request to end. */
    private static void fault(TestServer ts) {
        var dies = ts.server.scheduler().submit(ts.model.tokenizer().encode("Hi", true, false),
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
    }
}
