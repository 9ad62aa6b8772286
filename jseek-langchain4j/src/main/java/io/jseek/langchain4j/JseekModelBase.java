package io.jseek.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;

/** What {@link JseekChatModel} and {@link JseekStreamingChatModel} share: the model, its defaults, closing. */
abstract class JseekModelBase implements AutoCloseable {
    final JseekLanguageModel model;

    JseekModelBase(JseekLanguageModel model) {
        this.model = model;
    }

    /** The request parameters a request's own override: the builder's, else the model's recommendation. */
    public ChatRequestParameters defaultRequestParameters() {
        return model.defaults();
    }

    /** Frees the model, unless it was given with {@code model(...)}. */
    @Override
    public void close() {
        model.close();
    }
}
