package io.jseek.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import io.jseek.engine.GenerationListener;

/**
 * A jseek model in this process as LangChain4j's {@link ChatModel}:
 *
 * <pre>{@code
 * try (JseekChatModel model = JseekChatModel.builder().modelPath("DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf").build()) {
 *     ChatResponse r = model.chat(ChatRequest.builder().messages(UserMessage.from("Why is the sky blue?")).build());
 *     r.aiMessage().text();      // the answer
 *     r.aiMessage().thinking();  // an R1-style model's reasoning
 * }
 * }</pre>
 *
 * System, user and assistant messages, temperature, top-p, top-k, penalties, max tokens and stop sequences are
 * honoured; a JSON response format holds the answer to a JSON object (its schema is not enforced yet). Tools
 * (tool specifications, AI Services' {@code @Tool} methods) are described to the model in the syntax it was
 * trained on (DeepSeek's tool-call tokens, DSML for V3.2) and its calls come back as tool execution requests
 * ({@code FinishReason.TOOL_EXECUTION}); their results go back as the model reads them. {@code ToolChoice.REQUIRED}
 * holds the answer to the grammar of a call (arguments to their schemas where the grammar can hold them).
 * Requests run one at a time. Close it to free the model (unless it was given with {@code model(...)}).
 */
public final class JseekChatModel extends JseekModelBase implements ChatModel {
    private JseekChatModel(JseekLanguageModel model) {
        super(model);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        return model.generate(request, new GenerationListener() { }, calls -> { });
    }

    public static final class Builder extends JseekModelBuilder<Builder> {
        private Builder() {
        }

        public JseekChatModel build() {
            return new JseekChatModel(new JseekLanguageModel(settings));
        }
    }
}
