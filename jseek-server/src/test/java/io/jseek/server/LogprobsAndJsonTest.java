package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.ResponseFormatJsonObject;
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
}
