package io.jseek.engine;

import io.jseek.core.JseekException;
import io.jseek.model.Session;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A multi-turn conversation. Each turn renders the whole history with the model's chat format and
 * reuses the KV cache for the part of it that is unchanged, so only the new text is computed. For
 * reasoning models the assistant turn opens inside {@code <think>}, and earlier answers go back into the
 * history without their reasoning (as DeepSeek's R1 template does). Not thread-safe.
 */
public final class ChatSession {
    private final LoadedModel model;
    private final ContextPlan plan;
    private final List<ChatMessage> history = new ArrayList<>();
    private Session session;
    private int[] cached = new int[0];

    ChatSession(LoadedModel model, ContextPlan plan) {
        this.model = model;
        this.plan = plan;
    }

    /** The conversation so far (assistant messages without reasoning). */
    public List<ChatMessage> history() {
        return List.copyOf(history);
    }

    /** Forgets the conversation (the system prompt too). */
    public void reset() {
        history.clear();
        cached = new int[0];
        if (session != null) {
            session.truncate(0);
        }
    }

    /**
     * Replaces the conversation with {@code messages} (a stateless API's full message list, before its last user
     * message): unlike {@link #reset}, the KV cache keeps whatever prefix the next prompt shares with the last one.
     */
    public void replaceHistory(List<ChatMessage> messages) {
        history.clear();
        history.addAll(messages);
    }

    /** Adds a message to the history without generating (e.g. to restore a saved conversation). */
    public void append(ChatMessage message) {
        history.add(message);
    }

    /** Sets the system prompt (replacing any earlier one) for the rest of the conversation. */
    public void system(String text) {
        history.removeIf(m -> m.role().equals("system"));
        history.addFirst(ChatMessage.system(text));
    }

    /** Sends a user message and generates the reply, streaming it to {@code listener}. */
    public Generation send(String user, GenerationOptions options, GenerationListener listener) {
        return send(ChatMessage.user(user), options, listener);
    }

    /**
     * Adds {@code message} (a user message, or a function's result as its tool syntax writes it:
     * {@link io.jseek.engine.tools.ToolSyntax#result}) and generates the reply, streaming it to {@code listener}.
     * The reply goes into the history as the model wrote it (function calls included).
     */
    public Generation send(ChatMessage message, GenerationOptions options, GenerationListener listener) {
        List<ChatMessage> turn = new ArrayList<>(history);
        turn.add(message);
        LoadedModel.ChatPrompt prompt = model.chatPrompt(turn, "");
        int[] tokens = prompt.tokens();
        if (prompt.startsReasoning() != options.startsReasoning()) {
            options = new GenerationOptions(options.maxTokens(), options.sampler(), options.stop(), prompt.startsReasoning(),
                    options.topLogprobs(), options.constraint());
        }
        if (session == null) {
            session = model.newSession(plan, tokens.length);
        } else if (tokens.length >= plan.contextLength()) {
            throw new JseekException("the conversation has " + tokens.length + " tokens but the context holds "
                    + plan.contextLength() + "; use /reset or a larger --ctx");
        }
        // Reuse the cached prefix; always feed at least one token to get fresh logits.
        int common = 0;
        int limit = Math.min(Math.min(cached.length, tokens.length - 1), session.position());
        while (common < limit && cached[common] == tokens[common]) {
            common++;
        }
        common = session.truncate(common);  // 0 where the model's cache no longer holds what the prefix needs
        Generation g = model.generator().generate(session, Arrays.copyOfRange(tokens, common, tokens.length), common,
                tokens, options, listener);
        history.add(message);
        history.add(ChatMessage.assistant(g.content()));
        cached = tokens;
        return g;
    }
}
