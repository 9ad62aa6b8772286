package io.jseek.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import io.jseek.engine.GenerationListener;

/**
 * A jseek model in this process as LangChain4j's {@link StreamingChatModel}: the answer arrives as
 * {@code onPartialResponse}, an R1-style model's reasoning as {@code onPartialThinking}, function calls as
 * {@code onCompleteToolCall} once parsed (their text is not streamed), then {@code onCompleteResponse} (or
 * {@code onError}). Generation runs on a virtual thread. Otherwise as
 * {@link JseekChatModel}.
 */
public final class JseekStreamingChatModel extends JseekModelBase implements StreamingChatModel {
    private JseekStreamingChatModel(JseekLanguageModel model) {
        super(model);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Thread.ofVirtual().name("jseek-langchain4j").start(() -> {
            try {
                handler.onCompleteResponse(model.generate(request, new GenerationListener() {
                    @Override
                    public void onReasoning(String delta) {
                        handler.onPartialThinking(new PartialThinking(delta));
                    }

                    @Override
                    public void onContent(String delta) {
                        handler.onPartialResponse(delta);
                    }
                }, calls -> {
                    for (int i = 0; i < calls.size(); i++) {
                        handler.onCompleteToolCall(new CompleteToolCall(i, calls.get(i)));
                    }
                }));
            } catch (RuntimeException e) {
                handler.onError(e);
            }
        });
    }

    public static final class Builder extends JseekModelBuilder<Builder> {
        private Builder() {
        }

        public JseekStreamingChatModel build() {
            return new JseekStreamingChatModel(new JseekLanguageModel(settings));
        }
    }
}
