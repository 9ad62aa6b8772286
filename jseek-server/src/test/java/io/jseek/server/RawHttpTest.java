package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.engine.Scheduler;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The wire format byte by byte, bad requests, and clients that leave. */
class RawHttpTest {
    private static TestServer ts;

    @BeforeAll
    static void start() {
        ts = new TestServer();
    }

    @AfterAll
    static void stop() {
        ts.close();
    }

    private static JsonNode json(String s) {
        return Server.JSON.readTree(s);
    }

    private static String chat(String extra) {
        return "{\"model\":\"test-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}],"
                + "\"logit_bias\":" + ts.noEos() + extra + "}";
    }

    @Test
    void sseFramingFollowsTheOpenAiStream() throws Exception {
        HttpResponse<String> r = ts.post("/v1/chat/completions", chat(",\"max_tokens\":6,\"stream\":true,\"temperature\":0,"
                + "\"stream_options\":{\"include_usage\":true}"));
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/event-stream"));
        String body = r.body();
        assertTrue(body.endsWith("data: [DONE]\n\n"), body);
        String[] events = body.split("\n\n");
        List<JsonNode> chunks = new ArrayList<>();
        for (String e : events) {
            if (e.startsWith(":")) {
                continue; // keep-alive comment
            }
            assertTrue(e.startsWith("data: ") && !e.substring(6).contains("\n"), "one data line per event: " + e);
            if (!e.equals("data: [DONE]")) {
                chunks.add(json(e.substring(6)));
            }
        }
        String id = chunks.getFirst().get("id").asString();
        for (JsonNode c : chunks) {
            assertEquals(id, c.get("id").asString());
            assertEquals("chat.completion.chunk", c.get("object").asString());
        }
        assertEquals("assistant", chunks.getFirst().at("/choices/0/delta/role").asString());
        // Reasoning deltas (content null) come first; once the answer starts, only content deltas.
        int reasoningDeltas = 0;
        boolean answering = false;
        for (JsonNode c : chunks.subList(1, chunks.size() - 2)) {
            JsonNode d = c.at("/choices/0/delta");
            if (d.path("reasoning_content").isString()) {
                assertTrue(d.get("content").isNull() && !answering, c.toString());
                reasoningDeltas++;
            } else {
                assertTrue(d.get("content").isString(), c.toString());
                answering = true;
            }
            assertTrue(c.get("usage").isNull());
        }
        assertTrue(reasoningDeltas > 0, "R1 replies open inside <think>");
        assertEquals("length", chunks.get(chunks.size() - 2).at("/choices/0/finish_reason").asString());
        JsonNode usage = chunks.getLast();
        assertEquals(0, usage.get("choices").size());
        assertEquals(6, usage.at("/usage/completion_tokens").asInt());
        assertEquals(usage.at("/usage/prompt_tokens").asInt(),
                usage.at("/usage/prompt_cache_hit_tokens").asInt() + usage.at("/usage/prompt_cache_miss_tokens").asInt());
    }

    @Test
    void badRequestsGetOpenAiShapedErrors() throws Exception {
        record Case(String body, int status, String code, String param) {
        }
        List<Case> cases = List.of(
                new Case("{\"messages\": [", 400, "invalid_json", null),
                new Case("[1,2]", 400, "invalid_json", null),
                new Case("{\"messages\": \"hi\"}", 400, "invalid_value", "messages"),
                new Case("{\"messages\": [{\"role\":\"wizard\",\"content\":\"x\"}]}", 400, "invalid_value", "messages[0].role"),
                new Case(chat(",\"temperature\":\"hot\""), 400, "invalid_value", "temperature"),
                new Case(chat(",\"max_tokens\":0"), 400, "invalid_value", "max_tokens"),
                new Case(chat(",\"n\":2"), 400, "invalid_value", "n"),
                new Case(chat(",\"stop\":[1]"), 400, "invalid_value", "stop"),
                new Case("{\"messages\":[{\"role\":\"user\",\"content\":\"" + "word ".repeat(400) + "\"}]}", 400,
                        "context_length_exceeded", "messages"));
        for (Case c : cases) {
            HttpResponse<String> r = ts.post("/v1/chat/completions", c.body);
            assertEquals(c.status, r.statusCode(), c.body + " → " + r.body());
            JsonNode err = json(r.body()).get("error");
            assertEquals(c.code, err.get("code").asString(), r.body());
            assertEquals(c.param, err.get("param").isNull() ? null : err.get("param").asString(), r.body());
            assertTrue(err.get("message").asString().length() > 10);
            assertEquals("invalid_request_error", err.get("type").asString());
        }
        // Over the 64 KiB body limit.
        HttpResponse<String> big = ts.post("/chat/completions", "{\"x\":\"" + "a".repeat(70_000) + "\"}");
        assertEquals(413, big.statusCode());
        assertEquals("request_too_large", json(big.body()).at("/error/code").asString());
        // Unknown path, wrong method, no key.
        assertEquals(404, ts.get("/v1/nothing").statusCode());
        assertEquals(405, ts.get("/v1/chat/completions").statusCode());
        HttpResponse<String> anon = ts.http.send(HttpRequest.newBuilder(URI.create(ts.base() + "v1/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, anon.statusCode());
        assertEquals("authentication_error", json(anon.body()).at("/error/type").asString());
    }

    @Test
    void infoEndpoints() throws Exception {
        assertEquals("ok", json(ts.http.send(HttpRequest.newBuilder(URI.create(ts.base() + "health")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).get("status").asString());
        assertEquals("test-model", json(ts.get("/models").body()).at("/data/0/id").asString());
        JsonNode tok = json(ts.post("/tokenize", "{\"content\":\"Hello world\",\"with_pieces\":true}").body());
        int[] ids = ts.model.tokenizer().encode("Hello world", false, true);
        assertEquals(ids.length, tok.get("tokens").size());
        StringBuilder pieces = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            assertEquals(ids[i], tok.at("/tokens/" + i + "/id").asInt());
            pieces.append(tok.at("/tokens/" + i + "/piece").asString());
        }
        assertEquals("Hello world", pieces.toString());
        assertEquals("Hello world", json(ts.post("/detokenize", "{\"tokens\":" + java.util.Arrays.toString(ids) + "}").body())
                .get("content").asString());
        String prompt = json(ts.post("/apply-template", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}").body())
                .get("prompt").asString();
        assertTrue(prompt.endsWith("<｜Assistant｜><think>\n"), prompt);
        HttpResponse<String> fim = ts.post("/v1/completions", "{\"prompt\":\"def f(\",\"suffix\":\"return x\"}");
        assertEquals(400, fim.statusCode());
        assertEquals("fim_not_supported", json(fim.body()).at("/error/code").asString());
        JsonNode text = json(ts.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"logit_bias\":"
                + ts.noEos() + "}").body());
        assertEquals("text_completion", text.get("object").asString());
        assertEquals(4, text.at("/usage/completion_tokens").asInt());
        String metrics = ts.get("/metrics").body();
        assertTrue(metrics.contains("# TYPE jseek_time_to_first_token_seconds histogram"), metrics);
        assertTrue(metrics.contains("jseek_kv_blocks_free "), metrics);
        // CORS: an allowed origin is echoed, others get nothing.
        HttpResponse<String> pre = ts.http.send(HttpRequest.newBuilder(URI.create(ts.base() + "v1/chat/completions"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", "http://allowed.example").build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals("http://allowed.example", pre.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
        HttpResponse<String> other = ts.http.send(HttpRequest.newBuilder(URI.create(ts.base() + "health"))
                .header("Origin", "http://evil.example").build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(other.headers().firstValue("Access-Control-Allow-Origin").isEmpty());
    }

    /** Sends a raw request and returns the socket once {@code bytes} of the response have arrived. */
    private static Socket open(TestServer t, String body, int bytes) throws Exception {
        Socket s = new Socket("127.0.0.1", t.server.port());
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestServer.KEY
                + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.write(b);
        out.flush();
        InputStream in = s.getInputStream();
        for (int i = 0; i < bytes; i++) {
            if (in.read() < 0) {
                break;
            }
        }
        return s;
    }

    private static long cancelled(TestServer t) throws Exception {
        Matcher m = Pattern.compile("(?m)^jseek_requests_cancelled_total (\\d+)").matcher(t.get("/metrics").body());
        assertTrue(m.find());
        return Long.parseLong(m.group(1));
    }

    @Test
    void aClientThatLeavesStopsItsGenerationAndFreesItsBlocks() throws Exception {
        // A long context, so that a whole answer takes far longer than noticing the client is gone.
        try (TestServer big = new TestServer(List.of(TestServer.KEY), 2, 8192, 8192, 4)) {
            for (boolean stream : new boolean[] {true, false}) {
                long before = cancelled(big);
                Scheduler.Stats s0 = big.server.scheduler().stats();
                String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":8000,"
                        + "\"stream\":" + stream + ",\"logit_bias\":" + big.noEos() + "}";
                Socket s = open(big, body, stream ? 400 : 20);
                s.close();
                big.awaitIdle();
                for (int i = 0; i < 50 && cancelled(big) == before; i++) {
                    Thread.sleep(20);
                }
                assertEquals(before + 1, cancelled(big), "stream=" + stream);
                Scheduler.Stats s1 = big.server.scheduler().stats();
                assertTrue(s1.generatedTokens() - s0.generatedTokens() < 8000, "generation went on: stream=" + stream);
                assertEquals(1, s1.cancelled() - s0.cancelled());
            }
        }
    }

    @Test
    void whileTheModelLoadsHealthAndTheApiAnswer503() throws Exception {
        try (Server loading = Server.start(new Server.Options("127.0.0.1", 0, List.of(), List.of(), null, false, 1024, 300))) {
            var client = java.net.http.HttpClient.newHttpClient();
            HttpResponse<String> health = client.send(HttpRequest.newBuilder(URI.create(loading.url() + "health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, health.statusCode());
            assertEquals("loading", json(health.body()).get("status").asString());
            HttpResponse<String> chat = client.send(HttpRequest.newBuilder(URI.create(loading.url() + "v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, chat.statusCode());
            assertEquals("model_loading", json(chat.body()).at("/error/code").asString());
            assertEquals("1", chat.headers().firstValue("Retry-After").orElse(null));
        }
    }

    @Test
    void aFullQueueAnswers503WithRetryAfter() throws Exception {
        try (TestServer small = new TestServer(List.of(), 1, 256, 512, 0)) {
            Socket busy = null;
            try {
                // One running request fills the only slot; the queue holds none.
                busy = new Socket("127.0.0.1", small.server.port());
                String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":200,\"stream\":true,"
                        + "\"logit_bias\":" + small.noEos() + "}";
                busy.getOutputStream().write(("POST /chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length()
                        + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
                BufferedReader r = new BufferedReader(new InputStreamReader(busy.getInputStream(), StandardCharsets.UTF_8));
                while (!r.readLine().startsWith("data:")) {
                    // until the stream runs
                }
                HttpResponse<String> refused = small.post("/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
                assertEquals(503, refused.statusCode(), refused.body());
                assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
            } finally {
                if (busy != null) {
                    busy.close();
                }
            }
        }
    }
}
