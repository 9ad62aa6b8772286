package io.jseek.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.jseek.engine.ChatSession;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.JsonConstraint;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import io.jseek.model.CacheType;
import io.jseek.model.hub.HubClient;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One loaded model behind {@link JseekChatModel} and {@link JseekStreamingChatModel}: LangChain4j requests
 * turned into a jseek conversation and {@link GenerationOptions}, and the answer back into a
 * {@link ChatResponse}. Requests run one at a time (a model's compute threads serve one forward pass); the
 * conversation's KV cache is kept between requests, so a follow-up that repeats the earlier messages
 * recomputes only what is new.
 */
final class JseekLanguageModel implements AutoCloseable {
    private final LoadedModel model;
    private final boolean owned;
    private final String name;
    private final ChatRequestParameters defaults;
    private final Long seed;
    private final ReentrantLock lock = new ReentrantLock();
    private final ChatSession chat;

    JseekLanguageModel(Settings s) {
        if ((s.model == null) == (s.modelPath == null)) {
            throw new IllegalArgumentException("give either modelPath(...) or model(LoadedModel)");
        }
        this.owned = s.model == null;
        this.model = owned ? LoadedModel.open(HubClient.localPath(s.modelPath, HubClient.Progress.NONE), s.threads) : s.model;
        this.name = model.path().getFileName().toString();
        this.seed = s.seed;
        SamplerConfig d = model.samplerDefaults(0);
        this.defaults = DefaultChatRequestParameters.builder()
                .modelName(name)
                .temperature(s.temperature != null ? s.temperature : (double) d.temperature())
                .topP(s.topP != null ? s.topP : (double) d.topP())
                .topK(s.topK != null ? s.topK : d.topK())
                .maxOutputTokens(s.maxTokens != null ? s.maxTokens : 1024)
                .build();
        this.chat = model.chat(model.plan(s.contextLength, CacheType.F16, note -> { }));
    }

    ChatRequestParameters defaults() {
        return defaults;
    }

    /** Runs {@code request}, streaming to {@code listener}; the response carries text, thinking and token usage. */
    ChatResponse generate(ChatRequest request, GenerationListener listener) {
        ChatRequestParameters p = defaults.overrideWith(request.parameters());
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("jseek-langchain4j does not run tools yet");
        }
        List<io.jseek.engine.ChatMessage> history = new ArrayList<>();
        List<ChatMessage> messages = request.messages();
        for (int i = 0; i < messages.size() - 1; i++) {
            history.add(convert(messages.get(i)));
        }
        if (messages.isEmpty() || !(messages.getLast() instanceof UserMessage last)) {
            throw new IllegalArgumentException("the last message must be the user's");
        }
        // What LangChain4j's parameters do not cover (min-p, repetition penalty) as the model recommends.
        SamplerConfig d = model.samplerDefaults(seed != null ? seed : ThreadLocalRandom.current().nextLong());
        SamplerConfig sampler = new SamplerConfig(p.temperature().floatValue(), p.topK(), p.topP().floatValue(),
                d.minP(), d.repeatPenalty(), p.presencePenalty() == null ? 0 : p.presencePenalty().floatValue(),
                p.frequencyPenalty() == null ? 0 : p.frequencyPenalty().floatValue(), d.penaltyLastN(), d.seed());
        // A JSON response format: the answer is held to a JSON object (a schema, if given, is not enforced yet).
        boolean json = p.responseFormat() != null && p.responseFormat().type() == ResponseFormatType.JSON;
        GenerationOptions options = new GenerationOptions(p.maxOutputTokens(), sampler,
                p.stopSequences() == null ? List.of() : p.stopSequences(), model.isReasoningModel(), -1,
                json ? JsonConstraint.OBJECT : null);
        lock.lock();
        Generation g;
        try {
            chat.replaceHistory(history);
            g = chat.send(last.singleText(), options, listener);
        } finally {
            lock.unlock();
        }
        AiMessage.Builder ai = AiMessage.builder().text(g.content());
        if (!g.reasoning().isEmpty()) {
            ai.thinking(g.reasoning());
        }
        return ChatResponse.builder()
                .aiMessage(ai.build())
                .modelName(name)
                .tokenUsage(new TokenUsage(g.promptTokens(), g.generatedTokens()))
                .finishReason(switch (g.stopReason()) {
                    case END_OF_GENERATION, STOP_STRING -> FinishReason.STOP;
                    case MAX_TOKENS, CONTEXT_FULL -> FinishReason.LENGTH;
                    default -> FinishReason.OTHER;
                })
                .build();
    }

    private static io.jseek.engine.ChatMessage convert(ChatMessage m) {
        return switch (m) {
            case SystemMessage s -> io.jseek.engine.ChatMessage.system(s.text());
            case UserMessage u -> io.jseek.engine.ChatMessage.user(u.singleText());
            case AiMessage a -> io.jseek.engine.ChatMessage.assistant(a.text() == null ? "" : a.text());
            default -> throw new UnsupportedFeatureException("jseek-langchain4j does not take " + m.type() + " messages yet");
        };
    }

    @Override
    public void close() {
        if (owned) {
            model.close();
        }
    }

    /** What the builders collect. */
    static final class Settings {
        String modelPath;
        LoadedModel model;
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        Integer contextLength;
        Double temperature;
        Double topP;
        Integer topK;
        Integer maxTokens;
        Long seed;
    }
}
