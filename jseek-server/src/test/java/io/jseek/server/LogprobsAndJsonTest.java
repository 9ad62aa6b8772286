package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionAssistantMessageParam;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import io.jseek.engine.ChatMessage;
import io.jseek.model.Model;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Log-probabilities (checked against the model's own logits) and JSON mode, through the OpenAI SDK. */
class LogprobsAndJsonTest {
    private static TestServer ts;
    private static OpenAIClient client;
    private static final String CLOSED_THINK = "<think>\nok\n</think>\n\n";

    @BeforeAll
    static void start() {
        ts = new TestServer();
        client = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "v1").apiKey(TestServer.KEY).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        ts.close();
    }

    @Test
    void greedyLogprobsAreTheModelsLogSoftmax() throws Exception {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("m")
                .addUserMessage("Hello").addMessage(ChatCompletionAssistantMessageParam.builder().content(CLOSED_THINK)
                        .putAdditionalProperty("prefix", JsonValue.from(true)).build())
                .maxCompletionTokens(4).temperature(0.0).logprobs(true).topLogprobs(3)
                .putAdditionalBodyProperty("logit_bias", JsonValue.from(Map.of(Integer.toString(ts.model.tokenizer().eos()), -100)))
                .build());
        List<ChatCompletionTokenLogprob> lp = c.choices().getFirst().logprobs().orElseThrow().content().orElseThrow();
        assertEquals(4, lp.size());
        // The first token's distribution, computed here from the model's logits for the same prompt.
        var prompt = ts.model.chatPrompt(List.of(ChatMessage.user("Hello")), CLOSED_THINK);
        float[] logits;
        try (var file = io.jseek.core.gguf.GgufFile.open(TestServer.DATA.resolve(TestServer.MODEL));
             var pool = new io.jseek.core.kernel.WorkerPool(1)) {
            Model net = Model.load(file, pool);
            logits = net.forward(net.newSession(256), prompt.tokens(), false)[0].clone();
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        double want = logits[best] - max - Math.log(sum);
        ChatCompletionTokenLogprob first = lp.getFirst();
        assertEquals(want, first.logprob(), 1e-3);
        assertEquals(3, first.topLogprobs().size());
        assertEquals(first.token(), first.topLogprobs().getFirst().token(), "greedy picks the most likely token");
        for (var t : lp) {
            assertTrue(t.logprob() <= 0);
            for (int i = 1; i < t.topLogprobs().size(); i++) {
                assertTrue(t.topLogprobs().get(i).logprob() <= t.topLogprobs().get(i - 1).logprob());
            }
        }
    }

    @Test
    void jsonModeAnswersParse() throws Exception {
        int eos = ts.model.tokenizer().eos();
        int quote = ts.model.tokenizer().encode("\"", false, false)[0];
        int close = ts.model.tokenizer().encode("}", false, false)[0];
        int finished = 0;
        for (int seed = 0; seed < 4; seed++) {
            String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Answer in JSON\"},"
                    + "{\"role\":\"assistant\",\"content\":\"<think>\\nok\\n</think>\\n\\n\",\"prefix\":true}],"
                    + "\"response_format\":{\"type\":\"json_object\"},\"max_tokens\":150,\"temperature\":1,\"seed\":" + seed
                    + ",\"logit_bias\":{\"" + quote + "\":4,\"" + close + "\":4,\"" + eos + "\":0}}";
            JsonNode r = Server.JSON.readTree(ts.post("/v1/chat/completions", body).body());
            String content = r.at("/choices/0/message/content").asString();
            assertTrue(content.stripLeading().startsWith("{"), content);
            if (r.at("/choices/0/finish_reason").asString().equals("stop")) {
                assertTrue(Server.JSON.readTree(content).isObject(), content);
                finished++;
            }
        }
        assertTrue(finished >= 2, finished + " of 4 JSON answers finished");
        var bad = ts.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"response_format\":{\"type\":\"json_schema\"}}");
        assertEquals(400, bad.statusCode());
        // The typed SDK path sends the same field.
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("m")
                .addUserMessage("JSON please").maxCompletionTokens(5)
                .responseFormat(ResponseFormatJsonObject.builder().build()).build());
        assertTrue(c.choices().getFirst().message().content().isPresent());
    }

    private static final String PERSON = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":12},"
            + "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":120},\"tags\":{\"type\":\"array\",\"maxItems\":3,"
            + "\"items\":{\"enum\":[\"admin\",\"user\"]}},\"born\":{\"type\":\"string\",\"format\":\"date\"}},"
            + "\"required\":[\"name\",\"age\",\"tags\"],\"additionalProperties\":false}";

    /** A random-weight model's answers held to a JSON schema validate against it (an independent validator). */
    @Test
    void jsonSchemaAnswersValidate() throws Exception {
        Schema validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(PERSON);
        for (int seed = 0; seed < 4; seed++) {
            String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"A person?\"},"
                    + "{\"role\":\"assistant\",\"content\":\"<think>\\nok\\n</think>\\n\\n\",\"prefix\":true}],"
                    + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"person\",\"strict\":true,"
                    + "\"schema\":" + PERSON + "}},\"max_tokens\":200,\"temperature\":1,\"seed\":" + seed + "}";
            JsonNode r = Server.JSON.readTree(ts.post("/v1/chat/completions", body).body());
            String content = r.at("/choices/0/message/content").asString();
            assertEquals("stop", r.at("/choices/0/finish_reason").asString(), r.toString());
            assertEquals(List.of(), validator.validate(Server.JSON.readTree(content)).stream().map(Object::toString).toList(), content);
        }
        // llama.cpp's fields: a GBNF grammar, a bare json_schema.
        String grammar = "{\"prompt\":\"Yes or no?\",\"grammar\":\"root ::= \\\"yes\\\" | \\\"no\\\"\",\"max_tokens\":8}";
        String answer = Server.JSON.readTree(ts.post("/v1/completions", grammar).body()).at("/choices/0/text").asString();
        assertTrue(answer.equals("yes") || answer.equals("no"), answer);
        String bare = "{\"prompt\":\"Age?\",\"json_schema\":{\"type\":\"integer\",\"minimum\":18,\"maximum\":20},\"max_tokens\":8}";
        String age = Server.JSON.readTree(ts.post("/v1/completions", bare).body()).at("/choices/0/text").asString();
        assertTrue(List.of("18", "19", "20").contains(age), age);
        // What cannot be enforced is refused, naming it.
        var bad = ts.post("/v1/completions", "{\"prompt\":\"x\",\"json_schema\":{\"type\":\"string\",\"pattern\":\"a+\"}}");
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("pattern"), bad.body());
        var badGrammar = ts.post("/v1/completions", "{\"prompt\":\"x\",\"grammar\":\"root ::= (\"}");
        assertEquals(400, badGrammar.statusCode());
        assertTrue(badGrammar.body().contains("grammar line 1"), badGrammar.body());
        // The typed SDK path: strict json_schema.
        Map<String, JsonValue> schema = new com.fasterxml.jackson.databind.ObjectMapper().readValue(PERSON,
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() { }).entrySet().stream()
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> JsonValue.from(e.getValue())));
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("m")
                .addUserMessage("A person?")
                .addMessage(ChatCompletionAssistantMessageParam.builder().content("<think>\nok\n</think>\n\n")
                        .putAdditionalProperty("prefix", JsonValue.from(true)).build())
                .maxCompletionTokens(200).temperature(1.0).seed(7)
                .responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                        .name("person").strict(true).schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                .additionalProperties(schema).build()).build()).build()).build());
        String sdk = c.choices().getFirst().message().content().orElseThrow();
        assertEquals(List.of(), validator.validate(Server.JSON.readTree(sdk)).stream().map(Object::toString).toList(), sdk);
    }
}
