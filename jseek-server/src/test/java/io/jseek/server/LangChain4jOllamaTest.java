package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.json.JsonIntegerSchema;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.ollama.OllamaChatModel;
import dev.langchain4j.model.ollama.OllamaStreamingChatModel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** LangChain4j's Ollama module (an independent Ollama client) against the server's Ollama API. */
class LangChain4jOllamaTest {
    @Test
    void chatStreamAndStructuredOutput() throws Exception {
        try (TestServer ts = new TestServer(List.of(), 2, 1024, 2048, 8)) {
            String base = ts.base().replaceAll("/$", "");
            OllamaChatModel chat = OllamaChatModel.builder().baseUrl(base).modelName("test-model").temperature(0.0)
                    .numPredict(8).think(false).build();
            ChatResponse r = chat.chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build());
            assertFalse(r.aiMessage().text().isEmpty(), r.toString());
            assertEquals(8, r.tokenUsage().outputTokenCount(), r.toString());

            OllamaStreamingChatModel stream = OllamaStreamingChatModel.builder().baseUrl(base).modelName("test-model")
                    .numPredict(10).build();
            StringBuilder parts = new StringBuilder();
            CompletableFuture<ChatResponse> done = new CompletableFuture<>();
            stream.chat("Hi", new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String s) {
                    parts.append(s);
                }

                @Override
                public void onCompleteResponse(ChatResponse response) {
                    done.complete(response);
                }

                @Override
                public void onError(Throwable e) {
                    done.completeExceptionally(e);
                }
            });
            ChatResponse streamed = done.get(60, TimeUnit.SECONDS);
            assertEquals(10, streamed.tokenUsage().outputTokenCount(), streamed.toString());

            // A JSON schema response format goes to Ollama's 'format' and comes back valid.
            JsonSchema schema = JsonSchema.builder().name("age").rootElement(JsonObjectSchema.builder()
                    .addProperty("age", JsonIntegerSchema.builder().build()).required("age").build()).build();
            OllamaChatModel structured = OllamaChatModel.builder().baseUrl(base).modelName("test-model").temperature(1.0)
                    .numPredict(60).think(false).build();
            ChatResponse s = structured.chat(ChatRequest.builder().messages(UserMessage.from("How old?"))
                    .responseFormat(ResponseFormat.builder().type(dev.langchain4j.model.chat.request.ResponseFormatType.JSON)
                            .jsonSchema(schema).build()).build());
            assertTrue(Server.JSON.readTree(s.aiMessage().text()).get("age").isIntegralNumber(), s.aiMessage().text());
        }
    }
}
