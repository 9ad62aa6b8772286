package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LangChain4j's OpenAI module against the server: reasoning as thinking, streaming callbacks, usage. */
class LangChain4jClientTest {
    private static TestServer ts;

    @BeforeAll
    static void start() {
        ts = new TestServer();
    }

    @AfterAll
    static void stop() {
        ts.close();
    }

    private static Map<String, Integer> noEos() {
        return Map.of(Integer.toString(ts.model.tokenizer().eos()), -100);
    }

    @Test
    void chatReturnsThinkingAndUsage() {
        OpenAiChatModel model = OpenAiChatModel.builder().baseUrl(ts.base() + "v1").apiKey(TestServer.KEY)
                .modelName("test-model").maxTokens(10).temperature(0.0).seed(3).logitBias(noEos()).returnThinking(true)
                .maxRetries(0).build();
        ChatResponse r = model.chat(ChatRequest.builder().messages(UserMessage.from("Why is the sky blue?")).build());
        assertTrue(r.aiMessage().thinking() != null && !r.aiMessage().thinking().isEmpty(), "thinking: " + r);
        assertEquals(10, r.tokenUsage().outputTokenCount());
        assertEquals(r.tokenUsage().inputTokenCount() + 10, r.tokenUsage().totalTokenCount());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals("test-model", r.modelName());
    }

    @Test
    void streamingDeliversThinkingPiecesThenTheCompleteResponse() throws Exception {
        OpenAiStreamingChatModel model = OpenAiStreamingChatModel.builder().baseUrl(ts.base() + "v1")
                .apiKey(TestServer.KEY).modelName("test-model").maxTokens(10).temperature(0.0).seed(3)
                .logitBias(noEos()).returnThinking(true).build();
        StringBuilder thinking = new StringBuilder();
        StringBuilder text = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        model.chat(ChatRequest.builder().messages(UserMessage.from("Why is the sky blue?")).build(),
                new StreamingChatResponseHandler() {
                    @Override
                    public void onPartialThinking(PartialThinking t) {
                        thinking.append(t.text());
                    }

                    @Override
                    public void onPartialResponse(String partial) {
                        text.append(partial);
                    }

                    @Override
                    public void onCompleteResponse(ChatResponse response) {
                        done.complete(response);
                    }

                    @Override
                    public void onError(Throwable error) {
                        done.completeExceptionally(error);
                    }
                });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        assertFalse(thinking.isEmpty());
        assertEquals(thinking.toString(), r.aiMessage().thinking());
        assertEquals(text.toString(), r.aiMessage().text() == null ? "" : r.aiMessage().text());
        assertEquals(10, r.tokenUsage().outputTokenCount());
        assertEquals(FinishReason.LENGTH, r.finishReason());
    }
}
