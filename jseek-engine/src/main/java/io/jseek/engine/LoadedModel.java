package io.jseek.engine;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufMetadata;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tokenizer.Tokenizer;
import io.jseek.model.CacheType;
import io.jseek.model.Model;
import io.jseek.model.ModelConfig;
import io.jseek.model.ModelFiles;
import io.jseek.model.ModelStats;
import io.jseek.model.Session;
import java.nio.file.Path;
import java.util.List;

/**
 * jseek's embeddable entry point: a model file opened with its tokenizer, chat format and compute
 * threads.
 *
 * <pre>{@code
 * try (LoadedModel m = LoadedModel.open(Path.of("model.gguf"), 4)) {
 *     ChatSession chat = m.chat(4096);
 *     Generation g = chat.send("Why is the sky blue?", m.defaultOptions(512, 42), listener);
 * }
 * }</pre>
 */
public final class LoadedModel implements AutoCloseable {
    /** The GGUF file or Hugging Face directory, and what holds its mappings open. */
    private final Path path;
    private final ModelFiles files;
    private final WorkerPool pool;
    private final Model model;
    private final Tokenizer tokenizer;
    private ChatFormat format;
    private volatile Speculation speculation = Speculation.NONE;
    private final boolean reasoning;
    /** What the model's files recommend for sampling, read once. */
    private final io.jseek.model.SamplingDefaults sampling;

    private LoadedModel(Path path, ModelFiles files, Model model, GgufMetadata tokenizerKeys, WorkerPool pool) {
        this.path = path;
        this.files = files;
        this.pool = pool;
        this.model = model;
        this.tokenizer = Tokenizer.fromGguf(tokenizerKeys);
        String jinja = tokenizerKeys.string("tokenizer.chat_template", null);
        ChatTemplate builtin = ChatTemplate.detect(jinja);
        // As llama.cpp: known families use the built-in formatter; other templates run as Jinja.
        this.format = builtin != null || jinja == null ? (builtin != null ? builtin : ChatTemplate.DEEPSEEK3)
                : new JinjaChatFormat(path.getFileName() + " tokenizer.chat_template", jinja, bosText(), eosText());
        // R1-style models: the template forces the assistant turn to open with <think>.
        this.reasoning = tokenizer.id("<think>") >= 0 && jinja != null && jinja.contains("<think>");
        this.sampling = files.samplingDefaults();
    }

    /**
     * Opens a model with {@code threads} compute threads: a GGUF file, or a Hugging Face directory (config.json,
     * safetensors, tokenizer.json; {@link ModelFiles}).
     */
    public static LoadedModel open(Path path, int threads) {
        WorkerPool pool = null;
        ModelFiles files = null;
        try {
            pool = new WorkerPool(threads);
            files = ModelFiles.open(path);
            return new LoadedModel(path, files, files.load(pool), files.tokenizerKeys(), pool);
        } catch (RuntimeException e) {
            if (pool != null) {
                pool.close();
            }
            if (files != null) {
                files.close();
            }
            throw e;
        }
    }

    /** The model file or directory. */
    public Path path() {
        return path;
    }

    public ModelConfig config() {
        return model.config();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** How conversations are turned into prompts. */
    public ChatFormat format() {
        return format;
    }

    /** This model with another chat format (e.g. a Jinja template from a file). */
    public void useFormat(ChatFormat other) {
        this.format = other;
    }

    /**
     * Decodes with drafts from now on ({@link Speculation}; {@link Speculation#NONE} turns it off): the same tokens,
     * fewer forward passes when the drafts are good. Applies to {@link #complete}, {@link #chat} conversations and
     * schedulers. A draft model's vocabulary must be this model's; it stays the caller's to close. {@code mtp} needs a
     * model with a multi-token-prediction block ({@code nextn_predict_layers}).
     */
    public void useSpeculation(Speculation s) {
        if (s.kind() == Speculation.Kind.MTP && model.mtp() == null) {
            throw new JseekException(path.getFileName() + (model.config().v4() != null && model.config().nextnLayers() > 0
                    ? "'s multi-token-prediction block is not run by jseek for deepseek4 yet"
                    : " has no multi-token-prediction block (nextn_predict_layers)")
                    + ": it cannot draft for itself; use ngram or a draft model");
        }
        if (s.draft() != null) {
            byte[][] mine = tokenizer.pieces();
            byte[][] theirs = s.draft().tokenizer().pieces();
            int differs = 0;
            while (differs < Math.min(mine.length, theirs.length) && java.util.Arrays.equals(mine[differs], theirs[differs])) {
                differs++;
            }
            if (differs < Math.max(mine.length, theirs.length)) {
                throw new JseekException("the draft model " + s.draft().path().getFileName() + " has another vocabulary than "
                        + path.getFileName() + " (" + theirs.length + " and " + mine.length + " tokens, the first "
                        + "difference at token " + differs + "): drafts must be in the model's own tokens");
            }
        }
        this.speculation = java.util.Objects.requireNonNull(s);
    }

    public Speculation speculation() {
        return speculation;
    }

    /** Text of the BOS token ("" if the model has none), for templates. */
    public String bosText() {
        return tokenizer.bos() >= 0 ? tokenizer.text(tokenizer.bos()) : "";
    }

    /** Text of the EOS token ("" if none), for templates. */
    public String eosText() {
        return tokenizer.eos() >= 0 ? tokenizer.text(tokenizer.eos()) : "";
    }

    /** True for R1-style models that reason inside {@code <think>…</think>} before answering. */
    public boolean isReasoningModel() {
        return reasoning;
    }

    /** Bytes of KV cache one token of context takes with this storage type. */
    public long kvBytesPerToken(CacheType type) {
        return ModelStats.kvBytesPerToken(model.config(), type);
    }

    /**
     * The context and cache type to use. Unset values get defaults: an F32 cache when the model's whole
     * trained context fits in a quarter of the heap that way, else F16; the trained context, capped so the
     * cache (its bytes per token and, for V4, its bounded window and compressor state) takes at most half of the
     * free heap ({@code note} says so when it caps).
     */
    public ContextPlan plan(Integer contextLength, CacheType cacheType, java.util.function.Consumer<String> note) {
        int trained = model.config().contextLength() > 0 ? model.config().contextLength() : 4096;
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        CacheType type = cacheType != null ? cacheType
                : (long) trained * kvBytesPerToken(CacheType.F32) <= rt.maxMemory() / 4 ? CacheType.F32 : CacheType.F16;
        if (contextLength != null) {
            return new ContextPlan(contextLength, type);
        }
        long fit = Math.max(256, (free / 2 - ModelStats.kvBytesPerSequence(model.config(), type))
                / Math.max(1, kvBytesPerToken(type)));
        if (fit < trained) {
            note.accept(String.format("context capped at %d tokens: the model was trained for %d, its %s KV cache "
                    + "takes %d bytes per token, and the heap has room for about %d. Raise the heap "
                    + "(JSEEK_JAVA_OPTS=-Xmx...) or set --ctx", fit, trained, type, kvBytesPerToken(type), fit));
            return new ContextPlan((int) fit, type);
        }
        return new ContextPlan(trained, type);
    }

    /** Sampling options: {@link #samplerDefaults}, {@code maxTokens} at most. */
    public GenerationOptions defaultOptions(int maxTokens, long seed) {
        return new GenerationOptions(maxTokens, samplerDefaults(seed), List.of(), reasoning);
    }

    /**
     * The sampler used where a request or command line does not say: what the model's files recommend
     * (generation_config.json, or a GGUF's general.sampling.* keys), and DeepSeek's recommendation for R1
     * ({@link SamplerConfig#defaults}) for what they do not.
     */
    public SamplerConfig samplerDefaults(long seed) {
        SamplerConfig d = SamplerConfig.defaults(seed);
        var m = sampling;
        return new SamplerConfig(m.temperature() != null ? m.temperature() : d.temperature(),
                m.topK() != null ? m.topK() : d.topK(), m.topP() != null && m.topP() > 0 ? m.topP() : d.topP(),
                m.minP() != null ? m.minP() : d.minP(), m.repeatPenalty() != null && m.repeatPenalty() > 0 ? m.repeatPenalty() : d.repeatPenalty(),
                d.presencePenalty(), d.frequencyPenalty(), d.penaltyLastN(), seed);
    }

    /** A conversation rendered for generation: its text, its tokens, and whether the reply opens inside {@code <think>}. */
    public record ChatPrompt(String text, int[] tokens, boolean startsReasoning) {
    }

    /**
     * Renders {@code messages} ready for the assistant's reply, with R1's {@code <think>\n} opener where the
     * model reasons (built-in formats add it here; Jinja templates write it themselves), then
     * {@code assistantPrefix}, text the reply must continue (prefix completion; "" for none).
     */
    public ChatPrompt chatPrompt(List<ChatMessage> messages, String assistantPrefix) {
        return chatPrompt(messages, assistantPrefix, null);
    }

    /**
     * As {@link #chatPrompt(List, String)}, with reasoning switched ({@code thinking}; null: as the model does). Off on
     * a reasoning model: V3.2's chat mode ({@code </think>} opener), or for R1-style templates an empty reasoning
     * block, {@code <think>\n\n</think>\n\n}, as the distills are run without thinking. On for a model that does
     * not reason: nothing to switch.
     */
    public ChatPrompt chatPrompt(List<ChatMessage> messages, String assistantPrefix, Boolean thinking) {
        boolean think = thinking == null ? reasoning : thinking && reasoning;
        String prompt = format.render(messages, true);
        if (format instanceof ChatTemplate builtin) {
            // V3.2 has a chat mode of its own; R1-style formats open the reasoning, closed empty below.
            prompt += builtin.replyOpener(builtin == ChatTemplate.DEEPSEEK32 ? think : reasoning);
        }
        if (reasoning && !think && prompt.stripTrailing().endsWith("<think>")) {
            prompt = prompt.stripTrailing() + "\n\n</think>\n\n";
        }
        boolean startsReasoning = prompt.stripTrailing().endsWith("<think>");
        int close = assistantPrefix.lastIndexOf("</think>");
        int open = assistantPrefix.lastIndexOf("<think>");
        if (close >= 0 || open >= 0) {
            startsReasoning = open > close;
        }
        prompt += assistantPrefix;
        boolean addBos = !(format.isComplete() && !bosText().isEmpty() && prompt.startsWith(bosText()));
        return new ChatPrompt(prompt, tokenizer.encode(prompt, addBos, true), startsReasoning);
    }

    /** A new conversation. */
    public ChatSession chat(ContextPlan plan) {
        return new ChatSession(this, plan);
    }

    /** A new conversation with room for {@code contextLength} tokens and an F32 cache. */
    public ChatSession chat(int contextLength) {
        return chat(new ContextPlan(contextLength, CacheType.F32));
    }

    /** Completes raw text (no chat format): BOS as the model asks, special-token texts parsed. */
    public Generation complete(String prompt, ContextPlan plan, GenerationOptions options, GenerationListener listener) {
        int[] tokens = tokenizer.encode(prompt, true, true);
        if (tokens.length == 0) {
            throw new JseekException("the prompt is empty");
        }
        Session s = newSession(plan, tokens.length);
        return generator().generate(s, tokens, 0, tokens, options, listener);
    }

    Session newSession(ContextPlan plan, int promptTokens) {
        if (promptTokens >= plan.contextLength()) {
            throw new JseekException("the prompt has " + promptTokens + " tokens but the context holds "
                    + plan.contextLength() + "; use a larger --ctx or a shorter prompt");
        }
        return model.newSession(plan.contextLength(), plan.cacheType());
    }

    /** The forward pass. */
    Model network() {
        return model;
    }

    Generator generator() {
        return new Generator(model, tokenizer, speculation);
    }

    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    /** Unmaps the files and stops the threads; a second call does nothing. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            pool.close();
            files.close();
        }
    }
}
