package io.jseek.springai;

import io.jseek.engine.ChatMessage;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.StatelessChat;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

/**
 * A jseek model in this process as Spring AI's {@link ChatModel} (so {@code ChatClient.create(model)} works):
 *
 * <pre>{@code
 * try (JseekChatModel model = JseekChatModel.open(Path.of("DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf"), 4)) {
 *     String answer = model.call("Why is the sky blue?");
 * }
 * }</pre>
 *
 * With Spring Boot, {@code jseek.model=…} in the application's properties is enough ({@link JseekAutoConfiguration}).
 * System, user and assistant messages and the portable options (temperature, top-p, top-k, max tokens, stop
 * sequences, penalties) are honoured; what they leave out is the model's recommendation. An R1-style model's
 * reasoning is the assistant message's {@code reasoningContent} metadata (as Spring AI's DeepSeek model has it),
 * and {@link #stream} streams the answer (reasoning chunks carry only that metadata). Usage and the finish reason
 * ({@code STOP}, {@code LENGTH}) are set. Tool callbacks are refused with {@link UnsupportedOperationException}:
 * Spring AI's tool loop is not wired to jseek's tool syntax yet (jseek-langchain4j and the HTTP server have it).
 * Requests run one at a time; the KV cache is kept between them ({@link StatelessChat}).
 */
public final class JseekChatModel implements ChatModel, AutoCloseable {
    /** The assistant message's metadata key for the reasoning (Spring AI's DeepSeek model uses the same). */
    public static final String REASONING = "reasoningContent";

    private final StatelessChat chat;
    private final boolean owned;
    private final String name;
    private final ChatOptions defaults;

    /**
     * A chat model on {@code model}, which the caller keeps and closes; {@code defaults} are the options of requests
     * that give none (null or unset fields: the model's recommendation, 1024 tokens).
     */
    public JseekChatModel(LoadedModel model, ChatOptions defaults, Integer contextLength, Long seed) {
        this(model, false, defaults, contextLength, seed);
    }

    private JseekChatModel(LoadedModel model, boolean owned, ChatOptions defaults, Integer contextLength, Long seed) {
        this.chat = new StatelessChat(model, contextLength, seed);
        this.owned = owned;
        this.name = model.path().getFileName().toString();
        SamplerConfig d = model.samplerDefaults(0);
        ChatOptions given = defaults != null ? defaults : ChatOptions.builder().build();
        this.defaults = ChatOptions.builder()
                .model(name)
                .temperature(given.getTemperature() != null ? given.getTemperature() : (double) d.temperature())
                .topP(given.getTopP() != null ? given.getTopP() : (double) d.topP())
                .topK(given.getTopK() != null ? given.getTopK() : d.topK())
                .maxTokens(given.getMaxTokens() != null ? given.getMaxTokens() : 1024)
                .stopSequences(given.getStopSequences())
                .presencePenalty(given.getPresencePenalty())
                .frequencyPenalty(given.getFrequencyPenalty())
                .build();
    }

    /** Loads the model at {@code path} (a GGUF file, a Hugging Face directory or {@code hf:…}); {@link #close} frees it. */
    public static JseekChatModel open(java.nio.file.Path path, int threads) {
        return new JseekChatModel(LoadedModel.open(path, threads), true, null, null, null);
    }

    /** As {@link #open(java.nio.file.Path, int)}, with default options, a context length and a seed (each may be null). */
    static JseekChatModel open(java.nio.file.Path path, int threads, ChatOptions defaults, Integer contextLength, Long seed) {
        return new JseekChatModel(LoadedModel.open(path, threads), true, defaults, contextLength, seed);
    }

    @Override
    public ChatOptions getDefaultOptions() {
        return defaults;
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        return run(prompt, new GenerationListener() { });
    }

    /** The answer as it is generated: one response per piece of text, then one with usage and the finish reason. */
    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.create(sink -> Thread.ofVirtual().name("jseek-spring-ai").start(() -> {
            try {
                sink.next(run(prompt, new GenerationListener() {
                    @Override
                    public void onReasoning(String delta) {
                        sink.next(chunk(AssistantMessage.builder().content("").properties(Map.of(REASONING, delta)).build()));
                    }

                    @Override
                    public void onContent(String delta) {
                        sink.next(chunk(new AssistantMessage(delta)));
                    }

                    @Override
                    public boolean cancelled() {
                        return sink.isCancelled();
                    }
                }, true));
                sink.complete();
            } catch (RuntimeException e) {
                sink.error(e);
            }
        }), FluxSink.OverflowStrategy.BUFFER);
    }

    private ChatResponse chunk(AssistantMessage m) {
        return new ChatResponse(List.of(new org.springframework.ai.chat.model.Generation(m)),
                ChatResponseMetadata.builder().model(name).build());
    }

    private ChatResponse run(Prompt prompt, GenerationListener listener) {
        return run(prompt, listener, false);
    }

    /** Runs {@code prompt}; {@code last}: the closing response of a stream (empty text, usage and finish reason). */
    private ChatResponse run(Prompt prompt, GenerationListener listener, boolean last) {
        ChatOptions o = prompt.getOptions() != null ? prompt.getOptions() : defaults;
        if (o instanceof ToolCallingChatOptions t && t.getToolCallbacks() != null && !t.getToolCallbacks().isEmpty()) {
            throw new UnsupportedOperationException("jseek-spring-ai does not run tools yet (jseek-langchain4j and the"
                    + " jseek HTTP server do)");
        }
        List<ChatMessage> history = new ArrayList<>();
        List<Message> messages = prompt.getInstructions();
        for (Message m : messages) {
            history.add(switch (m.getMessageType()) {
                case SYSTEM -> ChatMessage.system(m.getText());
                case USER -> ChatMessage.user(m.getText());
                case ASSISTANT -> ChatMessage.assistant(m.getText() == null ? "" : m.getText());
                case TOOL -> throw new UnsupportedOperationException("jseek-spring-ai does not run tools yet");
            });
        }
        if (history.isEmpty() || !history.getLast().role().equals("user")) {
            throw new IllegalArgumentException("the last message must be the user's");
        }
        ChatMessage user = history.removeLast();
        SamplerConfig sampler = chat.sampler(or(o.getTemperature(), defaults.getTemperature()), or(o.getTopK(), defaults.getTopK()),
                or(o.getTopP(), defaults.getTopP()), or(o.getPresencePenalty(), defaults.getPresencePenalty()),
                or(o.getFrequencyPenalty(), defaults.getFrequencyPenalty()));
        GenerationOptions options = chat.options(or(o.getMaxTokens(), defaults.getMaxTokens()), sampler,
                or(o.getStopSequences(), defaults.getStopSequences()), null);
        Generation g = chat.send(history, user, options, listener);
        String finish = switch (g.stopReason()) {
            case END_OF_GENERATION, STOP_STRING -> "STOP";
            case MAX_TOKENS, CONTEXT_FULL -> "LENGTH";
            default -> "OTHER";
        };
        AssistantMessage answer = AssistantMessage.builder().content(last ? "" : g.content())
                .properties(g.reasoning().isEmpty() || last ? Map.of() : Map.of(REASONING, g.reasoning())).build();
        return new ChatResponse(List.of(new org.springframework.ai.chat.model.Generation(answer,
                ChatGenerationMetadata.builder().finishReason(finish).build())),
                ChatResponseMetadata.builder().model(name).usage(new DefaultUsage(g.promptTokens(), g.generatedTokens())).build());
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }

    /** Frees the model if this chat model loaded it ({@link #open}); Spring calls it when the context closes. */
    @Override
    public void close() {
        if (owned) {
            chat.model().close();
        }
    }
}
