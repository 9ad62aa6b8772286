package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A fuzz target for the request parser, run for a bounded number of seeded cases per build: valid requests (the
 * corpus below: chat with tools, schemas, grammars, logprobs, prefixes; text completions with suffixes) with one to
 * three values replaced by hostile ones (extreme or non-finite numbers, wrong types, lone surrogates, deep nesting,
 * huge strings), fields dropped, or bytes of the encoded body flipped. Each case must parse and prepare (prompt,
 * options) or be refused with a 4xx {@link ApiException}; anything else — another exception, a 5xx — fails the
 * test with the seed that reproduces it. {@code -Djseek.fuzz.cases=N} runs more (5,000 by default).
 */
class RequestFuzzTest {
    private static TestServer ts;

    static final String[] CORPUS = {
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"max_tokens\":8,\"temperature\":0.7,\"top_p\":0.9,\"top_k\":40,\"min_p\":0.05,\"seed\":7,\"stop\":[\"\\n\"],"
                + "\"presence_penalty\":0.1,\"frequency_penalty\":0.2,\"logit_bias\":{\"5\":-100},\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"logprobs\":true,\"top_logprobs\":3}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is the weather?\"}]}],"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\",\"description\":\"Weather\","
                + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\","
                + "\"minimum\":1,\"maximum\":7}},\"required\":[\"city\"]},\"strict\":true}}],\"tool_choice\":\"auto\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},{\"role\":\"assistant\",\"content\":\"\","
                + "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"sunny\"}],\"tool_choice\":{\"type\":\"function\","
                + "\"function\":{\"name\":\"weather\"}},\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\","
                + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"A person\"}],\"response_format\":{\"type\":\"json_schema\","
                + "\"json_schema\":{\"name\":\"p\",\"schema\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\","
                + "\"maxLength\":20},\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":150},\"tags\":{\"type\":\"array\","
                + "\"items\":{\"enum\":[\"a\",\"b\"]},\"maxItems\":3}},\"required\":[\"name\",\"age\"],\"additionalProperties\":false}}}}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"JSON please\"}],\"response_format\":{\"type\":\"json_object\"}}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Count\"}],\"grammar\":\"root ::= [0-9]+ (\\\",\\\" [0-9]+)*\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello\",\"prefix\":true,"
                + "\"reasoning_content\":\"greet\"}],\"thinking\":{\"type\":\"enabled\"}}",
        "{\"prompt\":\"def add(a, b):\",\"suffix\":\"\\n    return c\",\"max_tokens\":4,\"logprobs\":2,\"echo\":false}",
        "{\"prompt\":[\"one\"],\"max_tokens\":3,\"stop\":\"x\",\"seed\":18446744073709551615}",
    };

    static final String[] HOSTILE = {
        "1e400", "-1e400", "1e-400", "18446744073709551616", "-9223372036854775809", "2147483648", "-1", "0", "-0.0",
        "1.5", "null", "true", "\"\"", "\"x\"", "[]", "{}", "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", "\"\\ud800\"",
        "\"\\u0000\"", "\"\\u202e\\u001b[31m\"", "\"😀😀\"", "{\"type\":\"nonsense\"}", "[{\"role\":\"user\"}]",
        "[{\"role\":\"assistant\",\"content\":\"x\",\"prefix\":true}]", "\"" + "a".repeat(100_000) + "\"",
        "[\"" + "b".repeat(40) + "\",1,null]", "{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#\"}}}",
        "{\"type\":\"integer\",\"minimum\":5,\"maximum\":1}", "\"root ::= root\"", "\"root ::= [\"",
    };

    @BeforeAll
    static void start() {
        ts = new TestServer(List.of(), 1, 256, 1024, 8);
    }

    @AfterAll
    static void stop() {
        ts.close();
    }

    @Test
    void mutatedRequestsAreParsedOrRefusedWith4xx() {
        int cases = Integer.getInteger("jseek.fuzz.cases", 5000);
        Completions completions = new Completions(ts.server, ts.model, ts.server.scheduler());
        List<String> failures = new ArrayList<>();
        int refused = 0;
        for (int seed = 0; seed < cases && failures.size() < 10; seed++) {
            Random random = new Random(seed);
            String source = CORPUS[random.nextInt(CORPUS.length)];
            boolean text = source.startsWith("{\"prompt\"");
            byte[] body = mutate(source, random);
            try {
                JsonNode json;
                try {
                    json = Server.JSON.readTree(body);
                } catch (JacksonException e) {
                    refused++; // the server answers 400 invalid_json (Server.body)
                    continue;
                }
                if (json == null || !json.isObject()) {
                    refused++;
                    continue;
                }
                if (text) {
                    completions.prepareText(json);
                } else {
                    completions.prepareChat(json);
                }
            } catch (ApiException e) {
                if (e.status < 400 || e.status >= 500) {
                    failures.add("seed " + seed + ": " + e.status + " " + e.getMessage());
                }
                refused++;
            } catch (RuntimeException | StackOverflowError e) {
                failures.add("seed " + seed + ": " + e + " for " + excerpt(body));
            }
        }
        assertEquals(List.of(), failures);
        assertTrue(refused > cases / 10 && refused < cases, refused + " of " + cases + " refused");
    }

    /** Invalid UTF-8 and code points beyond U+10FFFF in a body are 400s, not text. */
    @Test
    void invalidUtf8IsRefused() throws Exception {
        byte[][] bad = {
            {(byte) 0xC0, (byte) 0x80},                          // overlong NUL
            {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},             // overlong '/'
            {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // U+110000
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80},             // a UTF-16 surrogate, encoded
            {(byte) 0xFF},
        };
        for (byte[] b : bad) {
            byte[] head = "{\"messages\":[{\"role\":\"user\",\"content\":\"a".getBytes(StandardCharsets.UTF_8);
            byte[] tail = "\"}],\"max_tokens\":1}".getBytes(StandardCharsets.UTF_8);
            byte[] body = new byte[head.length + b.length + tail.length];
            System.arraycopy(head, 0, body, 0, head.length);
            System.arraycopy(b, 0, body, head.length, b.length);
            System.arraycopy(tail, 0, body, head.length + b.length, tail.length);
            var r = ts.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(ts.base() + "v1/chat/completions"))
                    .header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(400, r.statusCode(), java.util.HexFormat.of().formatHex(b) + " → " + r.body());
        }
    }

    private static byte[] mutate(String source, Random random) {
        JsonNode tree = Server.JSON.readTree(source);
        int edits = 1 + random.nextInt(3);
        for (int i = 0; i < edits; i++) {
            List<JsonNode> containers = new ArrayList<>();
            collect(tree, containers);
            JsonNode c = containers.get(random.nextInt(containers.size()));
            JsonNode value = Server.JSON.readTree(HOSTILE[random.nextInt(HOSTILE.length)]);
            if (c instanceof ObjectNode o && !o.isEmpty()) {
                List<String> names = new ArrayList<>(o.propertyNames());
                String name = names.get(random.nextInt(names.size()));
                if (random.nextInt(6) == 0) {
                    o.remove(name);
                } else {
                    o.set(name, value);
                }
            } else if (c instanceof ArrayNode a && !a.isEmpty()) {
                a.set(random.nextInt(a.size()), value);
            }
        }
        byte[] bytes = Server.JSON.writeValueAsBytes(tree);
        if (random.nextInt(5) == 0) {
            int flips = 1 + random.nextInt(4);
            for (int i = 0; i < flips; i++) {
                bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
            }
        }
        return bytes;
    }

    private static void collect(JsonNode node, List<JsonNode> out) {
        if (node.isContainer()) {
            out.add(node);
            for (JsonNode child : node) {
                collect(child, out);
            }
        }
    }

    private static String excerpt(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8);
        return s.length() > 300 ? s.substring(0, 300) + "…" : s;
    }
}
