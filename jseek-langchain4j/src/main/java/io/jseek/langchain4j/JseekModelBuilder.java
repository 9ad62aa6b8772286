package io.jseek.langchain4j;

import io.jseek.engine.LoadedModel;
import java.nio.file.Path;

/**
 * The settings {@link JseekChatModel#builder()} and {@link JseekStreamingChatModel#builder()} share. Sampling
 * values given here are the defaults of every request (a request's own parameters win); unset ones come from the
 * model (generation_config.json or general.sampling.*, else DeepSeek's temperature 0.6 / top-p 0.95).
 */
public abstract class JseekModelBuilder<B extends JseekModelBuilder<B>> {
    final JseekLanguageModel.Settings settings = new JseekLanguageModel.Settings();

    JseekModelBuilder() {
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** A GGUF file, a Hugging Face model directory, or {@code hf:OWNER/REPO[:QUANT]} (fetched into the Hugging Face cache). */
    public B modelPath(String path) {
        settings.modelPath = path;
        return self();
    }

    public B modelPath(Path path) {
        return modelPath(path.toString());
    }

    /** An already loaded model, shared (the chat model then does not close it). */
    public B model(LoadedModel model) {
        settings.model = model;
        return self();
    }

    /** Compute threads (default: all processors). */
    public B threads(int threads) {
        settings.threads = threads;
        return self();
    }

    /** Context length (default: the model's, capped by memory). */
    public B contextLength(int tokens) {
        settings.contextLength = tokens;
        return self();
    }

    public B temperature(double temperature) {
        settings.temperature = temperature;
        return self();
    }

    public B topP(double topP) {
        settings.topP = topP;
        return self();
    }

    public B topK(int topK) {
        settings.topK = topK;
        return self();
    }

    /** Tokens an answer may take at most (default 1024). */
    public B maxTokens(int maxTokens) {
        settings.maxTokens = maxTokens;
        return self();
    }

    /** A fixed random seed: the same request gives the same answer (default: a new seed each request). */
    public B seed(long seed) {
        settings.seed = seed;
        return self();
    }
}
