package io.jseek.langchain4j;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.internal.JsonSchemaElementUtils;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.JsonConstraint;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.OutputConstraint;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.StatelessChat;
import io.jseek.engine.grammar.GrammarConstraint;
import io.jseek.engine.tools.ToolCall;
import io.jseek.engine.tools.ToolCallParser;
import io.jseek.engine.tools.ToolSpec;
import io.jseek.engine.tools.ToolSyntax;
import io.jseek.model.hub.HubClient;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import tools.jackson.databind.json.JsonMapper;

/**
 * One loaded model behind {@link JseekChatModel} and {@link JseekStreamingChatModel}: LangChain4j requests
 * turned into a jseek conversation and {@link GenerationOptions}, and the answer back into a
 * {@link ChatResponse}, through the engine's {@link StatelessChat} (one request at a time, the KV cache kept
 * between them).
 */
final class JseekLanguageModel implements AutoCloseable {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final LoadedModel model;
    private final boolean owned;
    private final String name;
    private final ChatRequestParameters defaults;
    private final StatelessChat chat;

    JseekLanguageModel(Settings s) {
        if ((s.model == null) == (s.modelPath == null)) {
            throw new IllegalArgumentException("give either modelPath(...) or model(LoadedModel)");
        }
        this.owned = s.model == null;
        this.model = owned ? LoadedModel.open(HubClient.localPath(s.modelPath, HubClient.Progress.NONE), s.threads) : s.model;
        this.name = model.path().getFileName().toString();
        SamplerConfig d = model.samplerDefaults(0);
        this.defaults = DefaultChatRequestParameters.builder()
                .modelName(name)
                .temperature(s.temperature != null ? s.temperature : (double) d.temperature())
                .topP(s.topP != null ? s.topP : (double) d.topP())
                .topK(s.topK != null ? s.topK : d.topK())
                .maxOutputTokens(s.maxTokens != null ? s.maxTokens : 1024)
                .build();
        this.chat = new StatelessChat(model, s.contextLength, s.seed);
    }

    ChatRequestParameters defaults() {
        return defaults;
    }

    /**
     * Runs {@code request}, streaming to {@code listener}; the response carries text, thinking, function calls and
     * token usage. With tool specifications the tools are described in the system prompt in the syntax the model
     * was trained on ({@link ToolSyntax}), and calls in the answer come back as tool execution requests (held back
     * from the streamed text, and given to {@code calls} as they are parsed).
     */
    ChatResponse generate(ChatRequest request, GenerationListener listener, Consumer<List<ToolExecutionRequest>> calls) {
        ChatRequestParameters p = defaults.overrideWith(request.parameters());
        List<ToolSpecification> specs = p.toolSpecifications() == null || p.toolChoice() == ToolChoice.NONE
                ? List.of() : p.toolSpecifications();
        ToolSyntax syntax = ToolSyntax.of(model.format());
        boolean required = !specs.isEmpty() && p.toolChoice() == ToolChoice.REQUIRED;
        List<io.jseek.engine.ChatMessage> history = new ArrayList<>();
        List<ChatMessage> messages = request.messages();
        if (messages.isEmpty() || !(messages.getLast() instanceof UserMessage || messages.getLast() instanceof ToolExecutionResultMessage)) {
            throw new IllegalArgumentException("the last message must be the user's or a tool's result");
        }
        for (ChatMessage m : messages) {
            history.add(convert(m, syntax));
        }
        io.jseek.engine.ChatMessage last = history.removeLast();
        if (!specs.isEmpty()) {
            // The tools go into the system prompt (after the request's own system message, if it has one).
            String block = syntax.describe(specs.stream().map(JseekLanguageModel::toolSpec).toList());
            if (!history.isEmpty() && history.getFirst().role().equals("system")) {
                history.set(0, io.jseek.engine.ChatMessage.system(history.getFirst().content() + "\n\n" + block));
            } else {
                history.addFirst(io.jseek.engine.ChatMessage.system(block));
            }
        }
        // A JSON response format: the answer is held to a JSON object (a schema, if given, is not enforced yet).
        boolean json = p.responseFormat() != null && p.responseFormat().type() == ResponseFormatType.JSON;
        // ToolChoice.REQUIRED: the answer is held to the grammar of a call block in the model's syntax.
        OutputConstraint constraint = required
                ? GrammarConstraint.gbnf(syntax.grammar(specs.stream().map(JseekLanguageModel::toolSpec).toList(), null, true))
                : json ? JsonConstraint.OBJECT : null;
        GenerationOptions options = chat.options(p.maxOutputTokens(), chat.sampler(p.temperature(), p.topK(), p.topP(),
                p.presencePenalty(), p.frequencyPenalty()), p.stopSequences(), constraint);
        ToolCallParser parser = specs.isEmpty() ? null : syntax.parser();
        GenerationListener through = parser == null ? listener : new GenerationListener() {
            @Override
            public void onReasoning(String delta) {
                listener.onReasoning(delta);
            }

            @Override
            public void onContent(String delta) {
                String shown = parser.push(delta);
                if (!shown.isEmpty()) {
                    listener.onContent(shown);
                }
            }

            @Override
            public boolean cancelled() {
                return listener.cancelled();
            }
        };
        Generation g = chat.send(history, last, options, through);
        String text = g.content();
        List<ToolExecutionRequest> requests = List.of();
        if (parser != null) {
            List<ToolCall> found = parser.finish();
            if (found == null) {
                if (!parser.rest().isEmpty()) {
                    listener.onContent(parser.rest());
                }
            } else {
                text = ToolCallParser.parse(syntax, g.content()).text();
                requests = found.stream().map(c -> ToolExecutionRequest.builder().id(c.id()).name(c.name())
                        .arguments(c.arguments()).build()).toList();
                calls.accept(requests);
            }
        }
        AiMessage.Builder ai = AiMessage.builder().text(text.isBlank() && !requests.isEmpty() ? null : text);
        if (!requests.isEmpty()) {
            ai.toolExecutionRequests(requests);
        }
        if (!g.reasoning().isEmpty()) {
            ai.thinking(g.reasoning());
        }
        return ChatResponse.builder()
                .aiMessage(ai.build())
                .modelName(name)
                .tokenUsage(new TokenUsage(g.promptTokens(), g.generatedTokens()))
                .finishReason(!requests.isEmpty() ? FinishReason.TOOL_EXECUTION : switch (g.stopReason()) {
                    case END_OF_GENERATION, STOP_STRING -> FinishReason.STOP;
                    case MAX_TOKENS, CONTEXT_FULL -> FinishReason.LENGTH;
                    default -> FinishReason.OTHER;
                })
                .build();
    }

    /** A LangChain4j tool as the engine's: its parameters' JSON schema as compact JSON text. */
    private static ToolSpec toolSpec(ToolSpecification t) {
        return new ToolSpec(t.name(), t.description(),
                t.parameters() == null ? null : JSON.writeValueAsString(JsonSchemaElementUtils.toMap(t.parameters())));
    }

    private static io.jseek.engine.ChatMessage convert(ChatMessage m, ToolSyntax syntax) {
        return switch (m) {
            case SystemMessage s -> io.jseek.engine.ChatMessage.system(s.text());
            case UserMessage u -> io.jseek.engine.ChatMessage.user(u.singleText());
            case AiMessage a -> io.jseek.engine.ChatMessage.assistant((a.text() == null ? "" : a.text())
                    + (a.hasToolExecutionRequests() ? syntax.render(a.toolExecutionRequests().stream()
                            .map(r -> new ToolCall(r.id() == null ? "" : r.id(), r.name(), r.arguments() == null ? "{}" : r.arguments()))
                            .toList()) : ""));
            case ToolExecutionResultMessage r -> syntax.result(r.text());
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
