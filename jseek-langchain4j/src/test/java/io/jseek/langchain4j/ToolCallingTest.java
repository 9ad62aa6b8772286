package io.jseek.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufTensorInfo;
import io.jseek.core.gguf.GgufValue;
import io.jseek.core.gguf.GgufValueType;
import io.jseek.core.gguf.GgufWriter;
import io.jseek.core.tensor.GgmlType;
import io.jseek.engine.tools.DeepSeekToolSyntax;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Function calling through LangChain4j end to end, on a model built here to call a tool: an AI Service asks, the
 * model calls {@code get_time} in DeepSeek's syntax, LangChain4j runs the {@code @Tool} method, the result goes
 * back in DeepSeek's tool-output syntax, and the model answers from it.
 *
 * <p>The model ({@link #write}) is the llama-architecture test model's file (its R1 tokenizer and chat template)
 * with hand-set weights (rope factors kept), so what it says is known: one-hot embeddings, no feed-forward, attention with zero
 * queries and keys (so each position averages the values of all before it), and only the tool-output token
 * {@code <｜tool▁output▁begin｜>} has a value, a "flag" direction. So the next token depends on the last token and
 * on whether a tool result is in the context: after the prompt's {@code \n} (of {@code <think>\n}) comes
 * {@code </think>}; after that, without a result, the call (one vocabulary entry whose text is the whole call block
 * for {@code get_time()}), with one, the answer {@code It is noon.}; after either, end of sentence. Three unused
 * vocabulary entries become those tokens.
 */
class ToolCallingTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final String CALL = DeepSeekToolSyntax.CALLS_BEGIN + DeepSeekToolSyntax.CALL_BEGIN + "function"
            + DeepSeekToolSyntax.SEP + "get_time\n```json\n{}\n```" + DeepSeekToolSyntax.CALL_END + DeepSeekToolSyntax.CALLS_END;
    private static final String ANSWER = "It is noon.";
    /** Token ids in the R1 test vocabulary. */
    private static final int NEWLINE = 10;
    private static final int EOS = 957;
    private static final int THINK_END = 962;
    private static final int OUTPUT_BEGIN = 963;
    private static final int CALL_TOKEN = 964;
    private static final int ANSWER_TOKEN = 965;

    @TempDir
    static Path tmp;
    private static Path model;

    @BeforeAll
    static void build() throws IOException {
        model = tmp.resolve("get-time.gguf");
        write(DATA.resolve("r1llama-f32.gguf"), model);
    }

    /** Rewrites the llama test model as the tool-calling model described above. */
    static void write(Path source, Path out) throws IOException {
        try (GgufFile in = GgufFile.open(source); Arena arena = Arena.ofConfined()) {
            Map<String, GgufValue> meta = new HashMap<>(in.metadata().asMap());
            String[] tokens = in.metadata().stringArray("tokenizer.ggml.tokens").clone();
            int[] types = in.metadata().intArray("tokenizer.ggml.token_type").clone();
            for (int id : new int[] {OUTPUT_BEGIN, CALL_TOKEN, ANSWER_TOKEN}) {
                if (types[id] != 5) {
                    throw new IllegalStateException("token " + id + " is not an unused entry: " + tokens[id]);
                }
            }
            tokens[OUTPUT_BEGIN] = DeepSeekToolSyntax.OUTPUT_BEGIN;
            types[OUTPUT_BEGIN] = 3;  // control
            tokens[CALL_TOKEN] = CALL;
            types[CALL_TOKEN] = 4;  // user-defined: decoded as its text
            tokens[ANSWER_TOKEN] = ANSWER;
            types[ANSWER_TOKEN] = 4;
            meta.put("tokenizer.ggml.tokens", GgufValue.array(GgufValueType.STRING, tokens));
            meta.put("tokenizer.ggml.token_type", GgufValue.array(GgufValueType.INT32, types));
            List<GgufWriter.TensorSpec> specs = new ArrayList<>();
            for (GgufTensorInfo t : in.tensorInfos()) {
                specs.add(new GgufWriter.TensorSpec(t.name(), GgmlType.F32, t.shape()));
            }
            int d = in.metadata().u32("llama.embedding_length");
            // Residual slots: one per token that matters, and the flag.
            int[] slot = new int[tokens.length];
            java.util.Arrays.fill(slot, -1);
            slot[NEWLINE] = 0;
            slot[THINK_END] = 1;
            slot[CALL_TOKEN] = 2;
            slot[ANSWER_TOKEN] = 3;
            slot[OUTPUT_BEGIN] = 4;
            int flag = 5;
            try (GgufWriter w = new GgufWriter(out, meta, specs)) {
                for (GgufWriter.TensorSpec s : specs) {
                    long rows = s.shape().length > 1 ? s.shape()[1] : 1;
                    int cols = (int) s.shape()[0];
                    MemorySegment m = arena.allocate(4L * rows * cols);
                    String n = s.name();
                    if (n.equals("rope_freqs.weight")) {
                        m.copyFrom(in.tensor(n).data());  // Llama 3's rope factors, kept
                    } else if (n.endsWith("norm.weight")) {
                        for (int c = 0; c < cols; c++) {
                            m.setAtIndex(ValueLayout.JAVA_FLOAT, c, 1f);
                        }
                    } else if (n.equals("token_embd.weight")) {
                        for (int t = 0; t < rows; t++) {
                            if (slot[t] >= 0) {
                                m.setAtIndex(ValueLayout.JAVA_FLOAT, (long) t * cols + slot[t], 1f);
                            }
                        }
                    } else if (n.equals("blk.0.attn_v.weight")) {
                        // Key/value head 0, dimension 0: the tool-output token, amplified against the average's dilution.
                        m.setAtIndex(ValueLayout.JAVA_FLOAT, slot[OUTPUT_BEGIN], 250f);
                    } else if (n.equals("blk.0.attn_output.weight")) {
                        // Query head 0 (which reads key/value head 0), dimension 0, into the flag slot.
                        m.setAtIndex(ValueLayout.JAVA_FLOAT, (long) flag * cols, 1f);
                    } else if (n.equals("output.weight")) {
                        set(m, cols, THINK_END, slot[NEWLINE], 10);
                        set(m, cols, CALL_TOKEN, slot[THINK_END], 2);
                        set(m, cols, ANSWER_TOKEN, slot[THINK_END], 1);
                        set(m, cols, ANSWER_TOKEN, flag, 0.5f);
                        set(m, cols, EOS, slot[CALL_TOKEN], 10);
                        set(m, cols, EOS, slot[ANSWER_TOKEN], 10);
                    }
                    w.writeTensor(n, m);
                }
            }
        }
    }

    private static void set(MemorySegment m, int cols, int row, int col, float v) {
        m.setAtIndex(ValueLayout.JAVA_FLOAT, (long) row * cols + col, v);
    }

    /** An AI Service's tool. */
    static final class Clock {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Tool("The current time of day")
        String get_time() {
            calls.add("get_time");
            return "12:00";
        }
    }

    interface Assistant {
        String chat(String message);
    }

    @Test
    void anAiServiceCallsATool() {
        try (JseekChatModel chat = JseekChatModel.builder().modelPath(model.toString()).threads(1).temperature(0).maxTokens(16).build()) {
            Clock clock = new Clock();
            Assistant assistant = AiServices.builder(Assistant.class).chatModel(chat).tools(clock).build();
            assertEquals(ANSWER, assistant.chat("What time is it?").strip());
            assertEquals(List.of("get_time"), clock.calls);
        }
    }

    @Test
    void callsComeBackAsToolExecutionRequestsAndResultsGoBack() throws Exception {
        ToolSpecification getTime = ToolSpecification.builder().name("get_time").description("The current time of day").build();
        try (JseekChatModel chat = JseekChatModel.builder().modelPath(model.toString()).threads(1).temperature(0).maxTokens(16).build()) {
            UserMessage ask = UserMessage.from("What time is it?");
            ChatResponse first = chat.chat(ChatRequest.builder().messages(ask).toolSpecifications(getTime).build());
            assertEquals(FinishReason.TOOL_EXECUTION, first.finishReason());
            AiMessage call = first.aiMessage();
            assertNull(call.text(), "nothing but the call");
            ToolExecutionRequest request = call.toolExecutionRequests().getFirst();
            assertEquals("get_time", request.name());
            assertEquals("{}", request.arguments());
            assertTrue(request.id().startsWith("call_"));
            ChatResponse second = chat.chat(ChatRequest.builder().messages(ask, call,
                    ToolExecutionResultMessage.from(request, "12:00")).toolSpecifications(getTime).build());
            assertEquals(FinishReason.STOP, second.finishReason());
            assertEquals(ANSWER, second.aiMessage().text().strip());
            // ToolChoice.REQUIRED forces a call where the model would answer: after the result, it calls again.
            ChatResponse forced = chat.chat(ChatRequest.builder().messages(ask, call,
                    ToolExecutionResultMessage.from(request, "12:00")).toolSpecifications(getTime)
                    .toolChoice(ToolChoice.REQUIRED).build());
            assertEquals(FinishReason.TOOL_EXECUTION, forced.finishReason(), forced.toString());
            assertEquals("get_time", forced.aiMessage().toolExecutionRequests().getFirst().name());
            // Without tools the same question gets the call's text as plain text (nothing is parsed).
            ChatResponse plain = chat.chat(ChatRequest.builder().messages(ask).build());
            assertEquals(CALL, plain.aiMessage().text().strip());
            assertFalse(plain.aiMessage().hasToolExecutionRequests());
        }
        try (JseekStreamingChatModel stream = JseekStreamingChatModel.builder().modelPath(model.toString()).threads(1)
                .temperature(0).maxTokens(16).build()) {
            List<String> partial = new CopyOnWriteArrayList<>();
            List<CompleteToolCall> calls = new CopyOnWriteArrayList<>();
            CompletableFuture<ChatResponse> done = new CompletableFuture<>();
            stream.chat(ChatRequest.builder().messages(UserMessage.from("What time is it?")).toolSpecifications(getTime).build(),
                    new StreamingChatResponseHandler() {
                        @Override
                        public void onPartialResponse(String s) {
                            partial.add(s);
                        }

                        @Override
                        public void onCompleteToolCall(CompleteToolCall c) {
                            calls.add(c);
                        }

                        @Override
                        public void onCompleteResponse(ChatResponse r) {
                            done.complete(r);
                        }

                        @Override
                        public void onError(Throwable e) {
                            done.completeExceptionally(e);
                        }
                    });
            ChatResponse r = done.get(60, TimeUnit.SECONDS);
            assertEquals(FinishReason.TOOL_EXECUTION, r.finishReason());
            assertEquals(1, calls.size());
            assertEquals("get_time", calls.getFirst().toolExecutionRequest().name());
            assertTrue(String.join("", partial).isBlank(), "the call's text is not streamed: " + partial);
        }
    }
}
