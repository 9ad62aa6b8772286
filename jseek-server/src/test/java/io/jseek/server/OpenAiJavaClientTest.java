package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK against the server: plain and streamed chat, reasoning, usage, errors. */
class OpenAiJavaClientTest {
    private static TestServer ts;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        ts = new TestServer();
        client = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "v1").apiKey(TestServer.KEY).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        ts.close();
    }

    private ChatCompletionCreateParams.Builder params(String user) {
        return ChatCompletionCreateParams.builder().model("test-model").addUserMessage(user)
                .maxCompletionTokens(12).temperature(0.0).seed(7)
                .putAdditionalBodyProperty("logit_bias", JsonValue.from(Map.of(
                        Integer.toString(ts.model.tokenizer().eos()), -100)));
    }

    private static String extra(Map<String, JsonValue> props, String key) {
        JsonValue v = props.get(key);
        return v == null || v.isNull() ? null : v.convert(String.class);
    }

    @Test
    void chatReturnsReasoningSeparatelyWithUsageAndCacheFields() {
        ChatCompletion c = client.chat().completions().create(params("What is 2+2?").build());
        assertEquals("test-model", c.model());
        var choice = c.choices().getFirst();
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, choice.finishReason());
        String reasoning = extra(choice.message()._additionalProperties(), "reasoning_content");
        assertTrue(reasoning != null && !reasoning.isEmpty(), "R1 replies open inside <think>: " + c);
        var usage = c.usage().orElseThrow();
        assertEquals(12, usage.completionTokens());
        assertEquals(usage.promptTokens() + 12, usage.totalTokens());
        long cached = usage.promptTokensDetails().orElseThrow().cachedTokens().orElseThrow();
        long hit = usage._additionalProperties().get("prompt_cache_hit_tokens").convert(Long.class);
        long miss = usage._additionalProperties().get("prompt_cache_miss_tokens").convert(Long.class);
        assertEquals(cached, hit);
        assertEquals(usage.promptTokens(), hit + miss);
        assertEquals(12, usage.completionTokensDetails().orElseThrow().reasoningTokens().orElseThrow());

        // The same conversation again: its prompt is found in the prefix cache, the answer is the same.
        ChatCompletion again = client.chat().completions().create(params("What is 2+2?").build());
        var u2 = again.usage().orElseThrow();
        assertTrue(u2.promptTokensDetails().orElseThrow().cachedTokens().orElseThrow() > 0 || usage.promptTokens() <= 16,
                "prompt of " + usage.promptTokens() + " tokens not reused");
        assertEquals(reasoning, extra(again.choices().getFirst().message()._additionalProperties(), "reasoning_content"));
    }

    @Test
    void streamedChatSendsReasoningThenContentThenUsage() {
        // An assistant prefix that closes the reasoning: the model reasons no further and answers.
        var p = params("Say hi").addMessage(com.openai.models.chat.completions.ChatCompletionAssistantMessageParam.builder()
                        .content("<think>\nThe user wants a greeting.\n</think>\n\n")
                        .putAdditionalProperty("prefix", JsonValue.from(true)).build())
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
            s.stream().forEach(chunks::add);
        }
        assertTrue(chunks.size() > 3);
        String id = chunks.getFirst().id();
        assertTrue(chunks.stream().allMatch(c -> c.id().equals(id)), "one id for the whole stream");
        assertEquals("assistant", chunks.getFirst().choices().getFirst().delta().role().orElseThrow().toString());
        StringBuilder content = new StringBuilder();
        for (ChatCompletionChunk c : chunks) {
            if (!c.choices().isEmpty()) {
                c.choices().getFirst().delta().content().ifPresent(content::append);
                assertEquals(null, extra(c.choices().getFirst().delta()._additionalProperties(), "reasoning_content"),
                        "no reasoning after a closed think block");
            }
        }
        assertFalse(content.isEmpty(), "the answer streamed as content");
        ChatCompletionChunk last = chunks.getLast();
        assertTrue(last.choices().isEmpty(), "usage chunk has no choices");
        var usage = last.usage().orElseThrow();
        assertEquals(12, usage.completionTokens());
        assertEquals(0, usage.completionTokensDetails().orElseThrow().reasoningTokens().orElseThrow());
        var finish = chunks.get(chunks.size() - 2).choices().getFirst().finishReason().orElseThrow();
        assertEquals(ChatCompletionChunk.Choice.FinishReason.LENGTH, finish);
    }

    @Test
    void tooManyTokensAreClampedToTheContextAndAWrongKeyIsUnauthorized() {
        // As DeepSeek's API and llama-server: what the context leaves is generated, then finish_reason "length".
        ChatCompletion c = client.chat().completions().create(params("hi").maxCompletionTokens(100_000).temperature(1.0)
                .logitBias(ChatCompletionCreateParams.LogitBias.builder().putAdditionalProperty(
                        String.valueOf(ts.model.tokenizer().eos()), JsonValue.from(-100)).build()).build());
        var usage = c.usage().orElseThrow();
        assertEquals(256, usage.promptTokens() + usage.completionTokens(), "the context filled");
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, c.choices().getFirst().finishReason());

        OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(ts.base() + "v1").apiKey("nope").maxRetries(0).build();
        assertThrows(UnauthorizedException.class, () -> wrong.chat().completions().create(params("hi").build()));
    }
}
