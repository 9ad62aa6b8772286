package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufMetadata;
import io.jseek.core.tokenizer.TokenType;
import io.jseek.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * tokenizer.json → the GGUF tokenizer: a Hugging Face tokenizer written from each test model's vocabulary
 * (added tokens special or not, the [PADn] fillers left out, merges, BOS/EOS by text) tokenizes every
 * reference case, in all four modes, into llama.cpp's ids.
 */
class HfTokenizerTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("io.jseek.model.ReferenceLogitsTest#models")
    void theTokenizerJsonPathGivesLlamaCppsIds(String model) throws IOException {
        Path dir = tmp.resolve(model);
        Files.createDirectories(dir);
        ModelConfig c;
        Tokenizer gguf;
        try (GgufFile f = GgufFile.open(DATA.resolve(model + ".gguf"))) {
            c = ModelConfig.fromGguf(f.metadata());
            gguf = Tokenizer.fromGguf(f.metadata());
            write(f.metadata(), c, dir);
        }
        GgufMetadata md = HfTokenizer.metadata(dir);
        Tokenizer hf = Tokenizer.fromGguf(md);
        assertEquals(gguf.vocabSize(), hf.vocabSize());
        assertEquals(gguf.bos(), hf.bos());
        assertEquals(gguf.eos(), hf.eos());
        JsonNode ref = new ObjectMapper().readTree(DATA.resolve(model + ".json").toFile());
        int cases = 0;
        for (JsonNode t : ref.get("tokenization")) {
            String text = t.get("text").asText();
            for (boolean addSpecial : new boolean[] {false, true}) {
                for (boolean parseSpecial : new boolean[] {false, true}) {
                    JsonNode want = t.get("ids").get("add_special=" + (addSpecial ? 1 : 0) + ",parse_special=" + (parseSpecial ? 1 : 0));
                    int[] ids = new int[want.size()];
                    for (int i = 0; i < ids.length; i++) {
                        ids[i] = want.get(i).asInt();
                    }
                    assertArrayEquals(ids, hf.encode(text, addSpecial, parseSpecial), model + ": " + text);
                    cases++;
                }
            }
        }
        assertEquals(true, cases > 10, "cases: " + cases);
    }

    /** tokenizer.json, tokenizer_config.json and a config.json as Hugging Face ships them, from GGUF metadata. */
    static void write(GgufMetadata md, ModelConfig c, Path dir) throws IOException {
        String[] tokens = md.stringArray("tokenizer.ggml.tokens");
        int[] types = md.intArray("tokenizer.ggml.token_type");
        ObjectNode tok = JSON.createObjectNode();
        ObjectNode model = tok.putObject("model").put("type", "BPE");
        ObjectNode vocab = model.putObject("vocab");
        var added = tok.putArray("added_tokens");
        for (int i = 0; i < tokens.length; i++) {
            if (types[i] == TokenType.CONTROL.id || types[i] == TokenType.USER_DEFINED.id) {
                added.addObject().put("id", i).put("content", tokens[i]).put("special", types[i] == TokenType.CONTROL.id);
            } else if (types[i] != TokenType.UNUSED.id) {
                vocab.put(tokens[i], i);
            }
        }
        var merges = model.putArray("merges");
        for (String m : md.stringArray("tokenizer.ggml.merges")) {
            merges.add(m);
        }
        Files.writeString(dir.resolve("tokenizer.json"), JSON.writeValueAsString(tok));
        ObjectNode cfg = JSON.createObjectNode();
        if (md.has("tokenizer.ggml.bos_token_id")) {
            cfg.putObject("bos_token").put("content", tokens[md.u32("tokenizer.ggml.bos_token_id")]);
        }
        if (md.has("tokenizer.ggml.eos_token_id")) {
            cfg.put("eos_token", tokens[md.u32("tokenizer.ggml.eos_token_id")]);
        }
        cfg.put("add_bos_token", md.bool("tokenizer.ggml.add_bos_token", false));
        Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(cfg));
        String type = switch (md.string("tokenizer.ggml.pre")) {
            case "deepseek-v3" -> "deepseek_v3";
            case "deepseek-llm" -> "deepseek_v2";
            case "deepseek-r1-qwen" -> "qwen2";
            default -> "llama";
        };
        if (!Files.exists(dir.resolve("config.json"))) {
            Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"" + type + "\", \"vocab_size\": " + c.vocabSize() + "}");
        }
    }
}
