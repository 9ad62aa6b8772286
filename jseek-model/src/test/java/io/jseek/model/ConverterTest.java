package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufTensorInfo;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import io.jseek.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link Converter}: GGUF files written from Hugging Face directories and from other GGUF files. */
class ConverterTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @TempDir
    Path tmp;

    /**
     * A test model written as a Hugging Face directory, converted back to F32 GGUF: the tensors of the original
     * (names, shapes, values bit for bit, MLA's split attn_k_b/attn_v_b), its config and tokenizer — and so
     * llama.cpp's logits within the original's bounds.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ds3-f32", "ds2lite-f32", "ds32-f32", "r1qwen-f32", "r1llama-f32"})
    void aDirectoryConvertsBackToItsGguf(String model) throws IOException {
        Path dir = tmp.resolve(model);
        Path out = tmp.resolve(model + "-converted.gguf");
        try (GgufFile f = GgufFile.open(DATA.resolve(model + ".gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f.metadata());
            java.nio.file.Files.createDirectories(dir);
            HfTokenizerTest.write(f.metadata(), c, dir);
            HfDirectoryTest.write(f, c, dir, 2);
            java.nio.file.Files.writeString(dir.resolve("generation_config.json"),
                    "{\"bos_token_id\": 0, \"do_sample\": true, \"temperature\": 0.6, \"top_p\": 0.95}");
            try (ModelFiles in = ModelFiles.open(dir)) {
                assertEquals(new SamplingDefaults(0.6f, null, 0.95f, null, null), in.samplingDefaults());
                Converter.convert(in, out, QuantMix.F32, (i, n, name, from, to, shape) -> { });
                // The experts went out one matrix at a time: no stack of them was copied together in memory.
                assertTrue(in.directory().madeTensors().stream().noneMatch(n -> n.contains("_exps")), in.directory().madeTensors().toString());
            }
            try (GgufFile g = GgufFile.open(out)) {
                assertEquals(names(f), names(g));
                for (Tensor t : f.tensors()) {
                    Tensor u = g.tensor(t.name());
                    assertArrayEquals(t.shape(), u.shape(), t.name());
                    assertEquals(GgmlType.F32, u.type(), t.name());
                    assertEquals(-1, t.data().mismatch(u.data()), t.name() + ": first differing byte");
                }
                assertEquals(c, ModelConfig.fromGguf(g.metadata()));
                assertEquals(0, g.metadata().u32("general.file_type"));
                assertEquals(new SamplingDefaults(0.6f, null, 0.95f, null, null), SamplingDefaults.fromGguf(g.metadata()));
                Tokenizer a = Tokenizer.fromGguf(f.metadata());
                Tokenizer b = Tokenizer.fromGguf(g.metadata());
                assertEquals(a.vocabSize(), b.vocabSize());
                String text = "<｜User｜>Hello, 世界! 12345 <think>x</think>";
                assertArrayEquals(a.encode(text, true, true), b.encode(text, true, true));
            }
        }
        ReferenceLogitsTest.check(model, out, false, null, 1);
        // --vocab-only: the same metadata and tokenizer, no tensors.
        Path vocab = tmp.resolve(model + "-vocab.gguf");
        Converter.vocabOnly(dir, vocab);
        try (GgufFile v = GgufFile.open(vocab); GgufFile g = GgufFile.open(out)) {
            assertEquals(0, v.tensorInfos().size());
            assertEquals(ModelConfig.fromGguf(g.metadata()), ModelConfig.fromGguf(v.metadata()));
            assertArrayEquals(g.metadata().stringArray("tokenizer.ggml.tokens"), v.metadata().stringArray("tokenizer.ggml.tokens"));
        }
    }

    /**
     * Requantizing an F32 test model to Q8_0 gives the bytes of the Q8_0 test model made from the same values
     * (by an independent quantizer, ggml's reference algorithm), tensor for tensor.
     */
    @Test
    void q8_0RequantizationIsTheReferenceFile() throws IOException {
        Path out = tmp.resolve("ds2lite-q8_0.gguf");
        try (ModelFiles in = ModelFiles.open(DATA.resolve("ds2lite-f32.gguf"))) {
            Converter.convert(in, out, QuantMix.Q8_0, (i, n, name, from, to, shape) -> { });
        }
        try (GgufFile want = GgufFile.open(DATA.resolve("ds2lite-q8_0.gguf")); GgufFile got = GgufFile.open(out)) {
            assertEquals(names(want), names(got));
            int q8 = 0;
            for (Tensor t : want.tensors()) {
                Tensor u = got.tensor(t.name());
                assertEquals(t.type(), u.type(), t.name());
                assertEquals(-1, t.data().mismatch(u.data()), t.name() + ": first differing byte");
                q8 += t.type() == GgmlType.Q8_0 ? 1 : 0;
            }
            assertTrue(q8 > 10, "Q8_0 tensors: " + q8);
            assertEquals(7, got.metadata().u32("general.file_type"));
        }
    }

    /**
     * The Q4_K_M mix chooses each tensor's type as llama-quantize did on the same files
     * (testdata/q4_k_m-types.json, recorded from llama.cpp's llama-quantize): the small test models exercise the
     * row-length fallbacks (Q4_K → Q5_0, Q6_K → Q8_0, → F16) and the output rule. The one rule jseek leaves out
     * (attn_output → Q5_K in 8-expert models) is the only difference allowed.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ds3-f32", "ds2lite-f32", "ds32-f32", "r1qwen-f32", "r1llama-f32"})
    void q4_K_MChoosesLlamaQuantizesTypes(String model) throws IOException {
        var ref = new com.fasterxml.jackson.databind.ObjectMapper().readTree(DATA.resolve("q4_k_m-types.json").toFile()).get("test_models").get(model);
        try (GgufFile f = GgufFile.open(DATA.resolve(model + ".gguf"))) {
            List<String> names = new ArrayList<>();
            List<long[]> shapes = new ArrayList<>();
            for (GgufTensorInfo t : f.tensorInfos()) {
                names.add(t.name());
                shapes.add(t.shape());
            }
            ModelConfig c = ModelConfig.fromGguf(f.metadata());
            int experts = c.moe() == null ? 0 : c.moe().expertCount();
            GgmlType[] plan = QuantMix.Q4_K_M.plan(names, shapes, c.blockCount(), experts);
            int compared = 0;
            for (int i = 0; i < names.size(); i++) {
                String want = ref.get(names.get(i)).asText();
                if (experts == 8 && names.get(i).endsWith("attn_output.weight")) {
                    assertEquals("Q5_1", want); // Q5_K, fallen back
                    continue;
                }
                assertEquals(want, plan[i].name(), model + " " + names.get(i));
                compared++;
            }
            assertEquals(ref.size(), names.size());
            assertTrue(compared > 10);
        }
    }

    /**
     * The same on two 8-layer models whose rows are multiples of 256 (recorded names, shapes and types only):
     * the more-bits layers (0, 3, 6 and 7 of 8) give ffn_down, ffn_down_exps, ffn_down_shexp and attn_v Q6_K,
     * the output matrix Q6_K, everything else Q4_K (MLA's attn_k_b, rows of 128, Q5_0).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"wide-llama", "wide-ds2"})
    void q4_K_MMoreBitsLayersAsLlamaQuantize(String model) throws IOException {
        var ref = new com.fasterxml.jackson.databind.ObjectMapper().readTree(DATA.resolve("q4_k_m-types.json").toFile()).get("wide").get(model);
        List<String> names = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        List<String> want = new ArrayList<>();
        for (var t : ref.get("tensors")) {
            names.add(t.get(0).asText());
            long[] shape = new long[t.get(1).size()];
            for (int d = 0; d < shape.length; d++) {
                shape[d] = t.get(1).get(d).asLong();
            }
            shapes.add(shape);
            want.add(t.get(2).asText());
        }
        GgmlType[] plan = QuantMix.Q4_K_M.plan(names, shapes, ref.get("n_layer").asInt(), ref.get("n_expert").asInt());
        int q6 = 0;
        for (int i = 0; i < names.size(); i++) {
            assertEquals(want.get(i), plan[i].name(), model + " " + names.get(i));
            q6 += plan[i] == GgmlType.Q6_K ? 1 : 0;
        }
        assertTrue(q6 >= 5, "Q6_K tensors: " + q6);
    }

    @Test
    void greedyGenerationConfigMeansTemperatureZero() throws IOException {
        java.nio.file.Files.writeString(tmp.resolve("generation_config.json"), "{\"do_sample\": false, \"top_k\": 20, \"repetition_penalty\": 1.1}");
        assertEquals(new SamplingDefaults(0f, 20, null, null, 1.1f), SamplingDefaults.fromDirectory(tmp));
        assertEquals(SamplingDefaults.NONE, SamplingDefaults.fromDirectory(tmp.resolve("nowhere")));
    }

    private static List<String> names(GgufFile f) {
        List<String> n = new ArrayList<>();
        for (GgufTensorInfo t : f.tensorInfos()) {
            n.add(t.name());
        }
        n.sort(null);
        return n;
    }
}
