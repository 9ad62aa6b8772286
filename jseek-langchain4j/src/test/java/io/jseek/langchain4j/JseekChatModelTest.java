package io.jseek.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import io.jseek.engine.LoadedModel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The in-process LangChain4j models on jseek's embedded addition model (models/jseek-r1-addition.gguf): it works
 * sums out in {@code <think>} and answers {@code <answer>N</answer>}, which makes answers checkable.
 */
class JseekChatModelTest {
    private static final Path MODEL = Path.of(System.getProperty("jseek.models", "../models"), "jseek-r1-addition.gguf");
    private static LoadedModel loaded;

    @BeforeAll
    static void load() {
        loaded = LoadedModel.open(MODEL, 2);
    }

    @AfterAll
    static void close() {
        loaded.close();
    }

    private static ChatRequest sum() {
        return ChatRequest.builder().messages(UserMessage.from("47+38+95=")).temperature(0.0).maxOutputTokens(64).build();
    }

    @Test
    void answersWithThinkingUsageAndFinishReason() {
        try (JseekChatModel model = JseekChatModel.builder().model(loaded).build()) {
            ChatResponse r = model.chat(sum());
            assertTrue(r.aiMessage().text().contains("180"), r.aiMessage().text());
            assertTrue(r.aiMessage().thinking() != null && !r.aiMessage().thinking().isEmpty(), "thinking");
            assertEquals(FinishReason.STOP, r.finishReason());
            assertTrue(r.tokenUsage().inputTokenCount() > 0 && r.tokenUsage().outputTokenCount() > 0);
            assertEquals("jseek-r1-addition.gguf", r.modelName());
            // Limits and the message list are honoured: a system message and one output token.
            ChatResponse cut = model.chat(ChatRequest.builder()
                    .messages(SystemMessage.from("Add."), UserMessage.from("1+2=")).maxOutputTokens(1).build());
            assertEquals(FinishReason.LENGTH, cut.finishReason());
            assertEquals(1, cut.tokenUsage().outputTokenCount());
        }
    }

    @Test
    void streamsThinkingThenTheAnswer() throws Exception {
        try (JseekStreamingChatModel model = JseekStreamingChatModel.builder().model(loaded).build()) {
            StringBuilder text = new StringBuilder();
            StringBuilder thinking = new StringBuilder();
            CompletableFuture<ChatResponse> done = new CompletableFuture<>();
            model.chat(sum(), new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String partial) {
                    text.append(partial);
                }

                @Override
                public void onPartialThinking(PartialThinking partial) {
                    thinking.append(partial.text());
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
            assertEquals(r.aiMessage().text(), text.toString());
            assertEquals(r.aiMessage().thinking(), thinking.toString());
            assertTrue(text.toString().contains("180"), text.toString());
        }
    }

    interface Adder {
        String add(String sum);
    }

    @Test
    void anAiServiceRunsOnIt() {
        try (JseekChatModel model = JseekChatModel.builder().model(loaded).temperature(0).maxTokens(64).build()) {
            Adder adder = AiServices.create(Adder.class, model);
            assertTrue(adder.add("47+38+95=").contains("180"));
        }
    }

    @Test
    void aJsonResponseFormatGivesAJsonObject() throws Exception {
        try (JseekChatModel model = JseekChatModel.builder().model(loaded).build()) {
            ChatResponse r = model.chat(ChatRequest.builder().messages(UserMessage.from("47+38+95="))
                    .responseFormat(dev.langchain4j.model.chat.request.ResponseFormat.JSON).temperature(0.0).maxOutputTokens(256).build());
            String text = r.aiMessage().text().strip();
            // The addition model answers <answer>…</answer> unconstrained; held to JSON it opens an object (and,
            // knowing no JSON, rambles inside a string until the token limit: valid JSON only if it stops).
            assertTrue(model.chat(sum()).aiMessage().text().startsWith("<answer>"));
            assertTrue(text.startsWith("{"), text);
            if (r.finishReason() == FinishReason.STOP) {
                assertTrue(new com.fasterxml.jackson.databind.ObjectMapper().readTree(text).isObject(), text);
            }
        }
    }

    @Test
    void aModelPathOrAModelIsNeeded() {
        assertThrows(IllegalArgumentException.class, () -> JseekChatModel.builder().build());
    }

    @Test
    void loadsByPathAndClosesWhatItLoaded() {
        try (JseekChatModel model = JseekChatModel.builder().modelPath(MODEL).threads(1).temperature(0).maxTokens(64).build()) {
            assertTrue(model.chat("47+38+95=").contains("180"));
        }
    }
}
