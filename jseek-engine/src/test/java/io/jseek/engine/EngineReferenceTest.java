package io.jseek.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jseek.model.Session;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Chat formatting and greedy generation against llama.cpp's reference outputs. */
class EngineReferenceTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    static Stream<String> models() throws IOException {
        try (Stream<Path> s = Files.list(DATA)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".logits.f32"))
                    .map(n -> n.substring(0, n.length() - ".logits.f32".length())).sorted().toList().stream();
        }
    }

    static JsonNode json(String model) throws IOException {
        return new ObjectMapper().readTree(DATA.resolve(model + ".json").toFile());
    }

    static int[] ids(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).asInt();
        }
        return r;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void chatFormattingMatchesLlamaCpp(String model) throws IOException {
        try (LoadedModel m = LoadedModel.open(DATA.resolve(model + ".gguf"), 1)) {
            for (JsonNode chat : json(model).get("chat")) {
                List<ChatMessage> messages = new ArrayList<>();
                chat.get("messages").forEach(x -> messages.add(new ChatMessage(x.get("role").asText(), x.get("content").asText())));
                String text = m.format().render(messages, chat.get("add_assistant").asBoolean());
                assertEquals(chat.get("formatted").asText(), text);
                assertArrayEquals(ids(chat.get("ids_add_special_parse_special")), m.tokenizer().encode(text, true, true));
            }
        }
    }

    /**
     * The models' Jinja template (run by jinjava) renders what llama.cpp's built-in formatter does, plus what
     * the template adds itself: the BOS text in front and R1's forced {@code <think>\n} opener.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void theJinjaTemplateAgreesWithTheBuiltInFormat(String model) throws IOException {
        try (LoadedModel m = LoadedModel.open(DATA.resolve(model + ".gguf"), 1);
             io.jseek.core.gguf.GgufFile f = io.jseek.core.gguf.GgufFile.open(DATA.resolve(model + ".gguf"))) {
            JinjaChatFormat jinja = new JinjaChatFormat("test", f.metadata().string("tokenizer.chat_template"),
                    m.bosText(), m.eosText());
            for (JsonNode chat : json(model).get("chat")) {
                List<ChatMessage> messages = new ArrayList<>();
                chat.get("messages").forEach(x -> messages.add(new ChatMessage(x.get("role").asText(), x.get("content").asText())));
                boolean add = chat.get("add_assistant").asBoolean();
                String expected = m.bosText() + chat.get("formatted").asText() + (add ? "<think>\n" : "");
                String text = jinja.render(messages, add);
                assertEquals(expected, text);
                int[] ids = m.tokenizer().encode(text, false, true);
                int[] reference = ids(chat.get("ids_add_special_parse_special"));
                assertArrayEquals(reference, java.util.Arrays.copyOf(ids, reference.length));
            }
        }
    }

    @Test
    void aBrokenJinjaTemplateIsAClearError() {
        JinjaChatFormat bad = new JinjaChatFormat("bad.jinja", "{% for m in messages %}{{ m.content ", "<s>", "</s>");
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.jseek.core.JseekException.class,
                () -> bad.render(List.of(ChatMessage.user("hi")), true));
        assertTrue(e.getMessage().startsWith("bad.jinja: chat template error"), e.getMessage());
    }

    static Stream<String> floatModels() throws IOException {
        return models().filter(m -> m.endsWith("-f32"));
    }

    /** Greedy decoding reproduces llama.cpp's 16-token continuation of every sequence. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("floatModels")
    void greedyGenerationMatchesLlamaCpp(String model) throws IOException {
        try (LoadedModel m = LoadedModel.open(DATA.resolve(model + ".gguf"), 2)) {
            for (JsonNode seq : json(model).get("sequences")) {
                int[] prompt = ids(seq.get("tokens"));
                int[] expected = ids(seq.get("greedy").get("tokens"));
                Session s = m.newSession(new ContextPlan(256, io.jseek.model.CacheType.F32), prompt.length);
                GenerationOptions opt = new GenerationOptions(expected.length, SamplerConfig.greedy(), List.of(), false);
                Generation g = m.generator().generate(s, prompt, 0, prompt, opt, new GenerationListener() { });
                int n = g.tokens().length;
                assertArrayEquals(java.util.Arrays.copyOf(expected, n), g.tokens(), model + "/" + seq.get("name").asText());
                assertTrue(n == expected.length || m.tokenizer().isEndOfGeneration(g.tokens()[n - 1]));
            }
        }
    }

    /** A second turn reuses the cached first turn and answers exactly as a fresh session given the whole history. */
    @Test
    void chatTurnsReuseTheCacheWithoutChangingTheAnswer() {
        try (LoadedModel m = LoadedModel.open(DATA.resolve("ds3-f32.gguf"), 2)) {
            GenerationOptions opt = new GenerationOptions(12, SamplerConfig.greedy(), List.of(), true);
            ChatSession chat = m.chat(512);
            chat.send("Hi", opt, new GenerationListener() { });
            Generation second = chat.send("Tell me a joke.", opt, new GenerationListener() { });
            assertTrue(second.reusedTokens() > 0, "nothing reused");

            // The same history in a new session, computed from scratch.
            ChatSession replay = m.chat(512);
            chat.history().subList(0, 2).forEach(replay::append);
            Generation again = replay.send("Tell me a joke.", opt, new GenerationListener() { });
            assertEquals(0, again.reusedTokens());
            assertArrayEquals(second.tokens(), again.tokens());
            assertEquals(second.content(), again.content());
        }
    }

    @Test
    void aPromptLongerThanTheContextIsAnError() {
        try (LoadedModel m = LoadedModel.open(DATA.resolve("r1qwen-f32.gguf"), 1)) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(io.jseek.core.JseekException.class,
                    () -> m.complete("word ".repeat(100), new ContextPlan(32, io.jseek.model.CacheType.F32), m.defaultOptions(4, 1), new GenerationListener() { }));
            assertTrue(e.getMessage().contains("context holds 32"), e.getMessage());
        }
    }
}
