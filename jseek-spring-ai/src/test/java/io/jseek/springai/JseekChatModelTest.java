package io.jseek.springai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.engine.LoadedModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.function.FunctionToolCallback;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Spring AI's ChatModel and ChatClient, and the Boot auto-configuration, on jseek's embedded addition model
 * (models/jseek-r1-addition.gguf): it works sums out in {@code <think>} and answers {@code <answer>N</answer>}.
 */
class JseekChatModelTest {
    private static final Path MODEL = Path.of(System.getProperty("jseek.models", "../models"), "jseek-r1-addition.gguf");
    private final ApplicationContextRunner boot = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(JseekAutoConfiguration.class));

    @Test
    void springBootMakesAChatModelFromTheProperties() {
        boot.withPropertyValues("jseek.model=" + MODEL, "jseek.threads=2", "jseek.temperature=0", "jseek.max-tokens=64")
                .run(context -> {
                    ChatModel model = context.getBean(ChatModel.class);
                    assertTrue(model instanceof JseekChatModel);
                    assertTrue(model.call("47+38+95=").contains("<answer>180</answer>"));
                    // Through ChatClient, the way Spring AI applications talk to a model.
                    String answer = ChatClient.create(model).prompt().system("Add.").user("47+38+95=").call().content();
                    assertTrue(answer.contains("<answer>180</answer>"), answer);
                });
        boot.run(context -> assertFalse(context.containsBean("jseekChatModel"), "no jseek.model, no bean"));
    }

    @Test
    void answersStreamsAndReportsUsage() {
        try (LoadedModel loaded = LoadedModel.open(MODEL, 2)) {
            JseekChatModel model = new JseekChatModel(loaded, ChatOptions.builder().temperature(0.0).maxTokens(64).build(), null, 1L);
            ChatResponse r = model.call(new Prompt(List.of(new SystemMessage("Add."), new UserMessage("47+38+95="))));
            assertTrue(r.getResult().getOutput().getText().contains("180"), r.toString());
            assertFalse(((String) r.getResult().getOutput().getMetadata().get(JseekChatModel.REASONING)).isEmpty(), "reasoning");
            assertEquals("STOP", r.getResult().getMetadata().getFinishReason());
            assertTrue(r.getMetadata().getUsage().getPromptTokens() > 0 && r.getMetadata().getUsage().getCompletionTokens() > 0);
            assertEquals("jseek-r1-addition.gguf", r.getMetadata().getModel());

            ChatResponse cut = model.call(new Prompt("1+2=", ChatOptions.builder().maxTokens(1).build()));
            assertEquals("LENGTH", cut.getResult().getMetadata().getFinishReason());
            assertEquals(1, cut.getMetadata().getUsage().getCompletionTokens());

            List<ChatResponse> chunks = model.stream(new Prompt("47+38+95=")).collectList().block(Duration.ofSeconds(60));
            StringBuilder text = new StringBuilder();
            chunks.forEach(c -> text.append(c.getResult().getOutput().getText()));
            assertTrue(chunks.size() > 2, "streamed in pieces");
            assertTrue(text.toString().contains("<answer>180</answer>"), text.toString());
            assertEquals("STOP", chunks.getLast().getResult().getMetadata().getFinishReason());

            var withTool = ToolCallingChatOptions.builder().toolCallbacks(FunctionToolCallback
                    .builder("add", (String s) -> "4").inputType(String.class).description("adds").build()).build();
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> model.call(new Prompt("2+2=", withTool)));
            assertTrue(e.getMessage().contains("tools"), e.getMessage());
        }
    }
}
