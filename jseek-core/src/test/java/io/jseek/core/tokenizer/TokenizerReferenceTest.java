package io.jseek.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.jseek.core.TestData;
import io.jseek.core.gguf.GgufFile;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Tokenization and detokenization match llama.cpp's dumps for every test model, id for id and byte for byte. */
class TokenizerReferenceTest {

    static List<String> models() {
        return TestData.models();
    }

    private static Tokenizer load(String model) {
        try (GgufFile f = GgufFile.open(TestData.file(model + ".gguf"))) {
            return Tokenizer.fromGguf(f.metadata());
        }
    }

    private static int[] ids(JsonNode array) {
        int[] a = new int[array.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = array.get(i).asInt();
        }
        return a;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void tokenizesLikeLlamaCppInAllFourModes(String model) {
        Tokenizer tok = load(model);
        JsonNode json = TestData.json(model + ".json");
        List<String> failures = new ArrayList<>();
        int cases = 0;
        for (JsonNode c : json.get("tokenization")) {
            String text = c.get("text").asText();
            for (int addSpecial = 0; addSpecial <= 1; addSpecial++) {
                for (int parseSpecial = 0; parseSpecial <= 1; parseSpecial++) {
                    int[] expected = ids(c.get("ids").get("add_special=" + addSpecial + ",parse_special=" + parseSpecial));
                    int[] got = tok.encode(text, addSpecial == 1, parseSpecial == 1);
                    cases++;
                    if (!java.util.Arrays.equals(expected, got)) {
                        failures.add(String.format("%s add=%d parse=%d %s%n  expected %s%n  got      %s", model, addSpecial,
                                parseSpecial, quote(text), java.util.Arrays.toString(expected), java.util.Arrays.toString(got)));
                    }
                }
            }
        }
        assertTrue(cases >= 80, "too few cases: " + cases);
        assertTrue(failures.isEmpty(), failures.size() + " of " + cases + " cases differ:\n" + String.join("\n", failures));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void chatPromptsTokenizeLikeLlamaCpp(String model) {
        Tokenizer tok = load(model);
        for (JsonNode chat : TestData.json(model + ".json").get("chat")) {
            assertArrayEquals(ids(chat.get("ids_add_special_parse_special")),
                    tok.encode(chat.get("formatted").asText(), true, true), chat.get("formatted").asText());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void everyVocabularyPieceMatches(String model) {
        Tokenizer tok = load(model);
        JsonNode json = TestData.json(model + ".json");
        JsonNode vocab = json.get("vocab");
        assertEquals(json.get("n_vocab").asInt(), tok.vocabSize());
        assertEquals(vocab.size(), tok.vocabSize());
        assertEquals(json.get("bos_token_id").asInt(), tok.bos());
        assertEquals(json.get("eos_token_id").asInt(), tok.eos());
        HexFormat hex = HexFormat.of();
        for (JsonNode v : vocab) {
            int id = v.get("id").asInt();
            String where = model + " token " + id;
            assertEquals(v.get("attr").asInt(), tok.type(id).attr, where + " attr");
            assertEquals(v.get("eog").asInt() == 1, tok.isEndOfGeneration(id), where + " eog");
            assertEquals(v.get("text_hex").asText(), hex.formatHex(tok.text(id).getBytes(StandardCharsets.UTF_8)), where + " text");
            assertEquals(v.get("piece_hex").asText(), hex.formatHex(tok.piece(id, true)), where + " piece");
            assertEquals(v.get("piece_nospecial_hex").asText(), hex.formatHex(tok.piece(id, false)), where + " piece (no special)");
        }
        json.get("special_tokens").properties().forEach(e -> assertEquals(e.getValue().asInt(), tok.id(e.getKey())));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void decodingTheTokensGivesBackTheText(String model) {
        Tokenizer tok = load(model);
        for (JsonNode c : TestData.json(model + ".json").get("tokenization")) {
            String text = c.get("text").asText();
            int[] ids = tok.encode(text, false, true);
            assertEquals(text, tok.decode(ids, true), quote(text));
            // Streaming, one token at a time, gives the same text and never half a character.
            TokenDecoder d = tok.streamingDecoder(true);
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                String part = d.push(id);
                assertTrue(part.indexOf('\uFFFD') < 0 || text.indexOf('\uFFFD') >= 0, "half a character in " + quote(text));
                sb.append(part);
            }
            sb.append(d.flush());
            assertEquals(text, sb.toString());
        }
    }

    private static String quote(String s) {
        return '"' + s.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"';
    }

    /**
     * llama.cpp makes a token whose text is on its end-of-generation list CONTROL at load even when the file says
     * NORMAL (Qwen's vocabularies have an ordinary {@code </s>}): then {@code </s>} in a text is that one token
     * when special tokens are parsed, and it ends generation. (On Qwen2.5's real 151,936-id vocabulary llama.cpp's
     * llama-tokenize gives {@code [14990, 220, 128247, 1879]} for "hello </s> world" with parse_special, which
     * jseek now matches; docs/benchmarks.md.) Here: r1qwen-f32's vocabulary with one ordinary token renamed {@code </s>}.
     */
    @org.junit.jupiter.api.Test
    void anOrdinaryEndOfGenerationTextBecomesAControlToken() {
        try (GgufFile f = GgufFile.open(TestData.file("r1qwen-f32.gguf"))) {
            java.util.Map<String, io.jseek.core.gguf.GgufValue> keys = new java.util.LinkedHashMap<>(f.metadata().asMap());
            String[] tokens = f.metadata().stringArray("tokenizer.ggml.tokens").clone();
            int[] types = f.metadata().intArray("tokenizer.ggml.token_type");
            int victim = 300;
            assertEquals(TokenType.NORMAL.id, types[victim]);
            tokens[victim] = "</s>";
            keys.put("tokenizer.ggml.tokens", io.jseek.core.gguf.GgufValue.array(io.jseek.core.gguf.GgufValueType.STRING, tokens));
            Tokenizer t = Tokenizer.fromGguf(new io.jseek.core.gguf.GgufMetadata("test", keys));
            int[] ids = t.encode("a</s>b", false, true);
            assertTrue(java.util.Arrays.stream(ids).anyMatch(id -> id == victim), java.util.Arrays.toString(ids));
            assertTrue(t.isEndOfGeneration(victim));
            assertTrue(java.util.Arrays.stream(t.encode("a</s>b", false, false)).noneMatch(id -> id == victim));
        }
    }
}
