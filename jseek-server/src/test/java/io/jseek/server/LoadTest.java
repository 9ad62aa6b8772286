package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * 200 requests from 16 concurrent clients on loopback, a quarter of them leaving mid-stream: no 5xx, every
 * finished response well formed, and afterwards no KV block held by a sequence.
 */
class LoadTest {
    @Test
    void twoHundredRequestsFromSixteenClients() throws Exception {
        try (TestServer ts = new TestServer(List.of(), 8, 512, 2048, 256)) {
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger left = new AtomicInteger();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            try (ExecutorService clients = Executors.newFixedThreadPool(16)) {
                List<Future<?>> all = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    int n = i;
                    all.add(clients.submit(() -> {
                        try {
                            one(ts, n, ok, left);
                        } catch (Throwable t) {
                            failures.add("request " + n + ": " + t);
                        }
                    }));
                }
                for (Future<?> f : all) {
                    f.get();
                }
            }
            assertEquals(List.of(), failures);
            assertEquals(150, ok.get());
            assertEquals(50, left.get());
            ts.awaitIdle();
            assertTrue(ts.get("/metrics").body().lines().noneMatch(l -> l.matches("jseek_requests_total\\{.*status=\"5\\d\\d\"} .*")));
        }
    }

    /** One client: plain, streamed, or streamed and gone after the first event (every fourth). */
    private static void one(TestServer ts, int n, AtomicInteger ok, AtomicInteger left) throws Exception {
        boolean stream = n % 2 == 0;
        boolean leave = n % 4 == 0;
        // Some share a system prompt (prefix-cache hits), some do not.
        String system = n % 3 == 0 ? "You are a helpful assistant who answers briefly and precisely. " .repeat(3) : "Be brief.";
        String body = "{\"messages\":[{\"role\":\"system\",\"content\":\"" + system + "\"},{\"role\":\"user\",\"content\":\"Question "
                + n + "\"}],\"max_tokens\":" + (leave ? 200 : 8 + n % 8) + ",\"stream\":" + stream
                + ",\"temperature\":0.8,\"seed\":" + n + ",\"stream_options\":{\"include_usage\":true}}";
        try (Socket s = new Socket("127.0.0.1", ts.server.port())) {
            s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                    + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String status = r.readLine();
            if (!status.startsWith("HTTP/1.1 200")) {
                throw new AssertionError(status);
            }
            String line;
            while (!(line = r.readLine()).isEmpty()) {
                // headers
            }
            if (leave) {
                while (!r.readLine().startsWith("data:")) {
                    // the first event
                }
                left.incrementAndGet();
                return;
            }
            StringBuilder rest = new StringBuilder();
            while ((line = r.readLine()) != null) {
                rest.append(line).append('\n');
            }
            String text = rest.toString();
            if (stream) {
                assertTrue(text.contains("data: [DONE]"), text);
                int usage = 0;
                for (String l : text.split("\n")) {
                    if (l.startsWith("data: {")) {
                        JsonNode c = Server.JSON.readTree(l.substring(6));
                        if (c.get("choices").isEmpty()) {
                            usage = c.at("/usage/completion_tokens").asInt();
                        }
                    }
                }
                assertTrue(usage > 0, text);
            } else {
                // Chunked body: pull the JSON object out of it.
                JsonNode c = Server.JSON.readTree(text.substring(text.indexOf('{'), text.lastIndexOf('}') + 1));
                assertEquals("chat.completion", c.get("object").asString());
                assertTrue(c.at("/usage/completion_tokens").asInt() > 0);
            }
            ok.incrementAndGet();
        }
    }
}
