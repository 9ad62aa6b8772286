package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufMetadata;
import io.jseek.core.gguf.GgufValue;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The configuration read from each test model equals the generator's own configuration of it. */
class ModelConfigTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    static Stream<String> models() throws IOException {
        try (Stream<Path> s = Files.list(DATA)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".gguf"))
                    .map(n -> n.substring(0, n.length() - 5)).sorted().toList().stream();
        }
    }

    /** What an exporter writes ({@link ModelConfig#toGguf}) reads back to the config of every test file. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void writtenMetadataReadsBackEqual(String model) throws IOException {
        try (GgufFile f = GgufFile.open(DATA.resolve(model + ".gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f.metadata());
            assertEquals(c, ModelConfig.fromGguf(new io.jseek.core.gguf.GgufMetadata("written", c.toGguf())));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void matchesTheGeneratorsConfiguration(String model) throws IOException {
        JsonNode cfg = new ObjectMapper().readTree(DATA.resolve(model + ".json").toFile()).get("generator").get("resolved_config");
        ModelConfig c;
        try (GgufFile f = GgufFile.open(DATA.resolve(model + ".gguf"))) {
            c = ModelConfig.fromGguf(f.metadata());
        }
        assertEquals(cfg.get("arch").asText(), c.architecture().ggufName);
        assertEquals(cfg.get("n_layer").asInt(), c.blockCount());
        assertEquals(cfg.get("n_embd").asInt(), c.embeddingLength());
        assertEquals(cfg.get("n_head").asInt(), c.headCount());
        assertEquals(cfg.get("n_ff").asInt(), c.feedForwardLength());
        assertEquals(cfg.get("ctx_len").asInt(), c.contextLength());
        assertEquals((float) cfg.get("rms_eps").asDouble(), c.rmsNormEps());
        assertEquals((float) cfg.get("rope_theta").asDouble(), c.ropeFreqBase());
        if (c.v4() != null) {
            assertV4(cfg, c);
            return;
        }
        if (!c.architecture().latentAttention) {
            assertEquals(cfg.get("n_head_kv").asInt(), c.headCountKv());
            assertEquals(cfg.get("n_embd").asInt() / cfg.get("n_head").asInt(), c.keyLength());
            assertNull(c.mla());
            assertNull(c.moe());
            return;
        }
        ModelConfig.Mla m = c.mla();
        assertEquals(cfg.get("q_lora_rank").asInt(0), m.qLoraRank());
        assertEquals(cfg.get("kv_lora_rank").asInt(), m.kvLoraRank());
        assertEquals(cfg.get("qk_nope").asInt(), m.qkNopeHeadDim());
        assertEquals(cfg.get("qk_rope").asInt(), m.qkRopeHeadDim());
        assertEquals(cfg.get("v_head").asInt(), m.vHeadDim());
        assertEquals(cfg.get("mla_format").asText().equals("split"), m.splitKvB());
        ModelConfig.Moe e = c.moe();
        assertEquals(cfg.get("n_expert").asInt(), e.expertCount());
        assertEquals(cfg.get("n_expert_used").asInt(), e.expertUsedCount());
        assertEquals(cfg.get("n_expert_shared").asInt(), e.expertSharedCount());
        assertEquals(cfg.get("n_ff_exp").asInt(), e.expertFeedForwardLength());
        assertEquals(cfg.get("n_dense_lead").asInt(), e.leadingDenseBlockCount());
        assertEquals(cfg.get("gating").asText(), e.gating().name().toLowerCase());
        assertEquals(cfg.get("expert_weights_norm").asBoolean(), e.weightsNorm());
        assertEquals((float) cfg.get("expert_weights_scale").asDouble(), e.weightsScale());
        assertEquals(cfg.get("n_expert_groups").asInt(), e.groupCount());
        assertEquals(cfg.get("n_group_used").asInt(), e.groupUsedCount());
        if (cfg.has("index_topk")) {
            assertEquals(new ModelConfig.Indexer(cfg.get("index_n_heads").asInt(), cfg.get("index_head_dim").asInt(),
                    cfg.get("index_topk").asInt()), c.indexer());
        } else {
            assertNull(c.indexer());
        }
        JsonNode rope = cfg.get("rope_scaling");
        if (rope != null && !rope.isNull()) {
            assertEquals(ModelConfig.RopeScaling.Type.YARN, c.ropeScaling().type());
            assertEquals((float) rope.get("factor").asDouble(), c.ropeScaling().factor());
        } else {
            assertEquals(ModelConfig.RopeScaling.Type.NONE, c.ropeScaling().type());
        }
    }

    /** A deepseek4 file's V4 fields, its MoE and indexer against the generator's configuration. */
    private static void assertV4(JsonNode cfg, ModelConfig c) {
        ModelConfig.V4 v = c.v4();
        int layers = cfg.get("n_layer").asInt();
        assertEquals(cfg.get("head_dim").asInt(), c.keyLength());
        assertEquals(cfg.get("n_rot").asInt(), c.ropeDimensionCount());
        assertEquals(cfg.get("q_lora_rank").asInt(), v.qLoraRank());
        assertEquals(cfg.get("o_groups").asInt(), v.outputGroups());
        assertEquals(cfg.get("o_lora_rank").asInt(), v.outputLoraRank());
        assertEquals(cfg.get("sliding_window").asInt(), v.window());
        int[] ratios = new int[layers];
        for (int l = 0; l < layers; l++) {
            ratios[l] = cfg.get("compress_ratios").get(l).asInt();
        }
        assertArrayEquals(ratios, v.compressRatios());
        assertEquals((float) cfg.get("compress_rope_theta").asDouble(), v.compressRopeBase());
        assertEquals(cfg.get("hc_mult").asInt(), v.hc());
        assertEquals(cfg.get("hc_sinkhorn_iters").asInt(), v.sinkhornIterations());
        assertEquals((float) cfg.get("hc_eps").asDouble(), v.hcEps());
        assertEquals(cfg.get("hash_layer_count").asInt(), v.hashLayers());
        float clamp = (float) cfg.get("swiglu_clamp_exp").asDouble();
        for (int l = 0; l < layers; l++) {
            assertEquals(clamp, v.clampExperts()[l]);
        }
        ModelConfig.Moe e = c.moe();
        assertEquals(cfg.get("n_expert").asInt(), e.expertCount());
        assertEquals(cfg.get("n_expert_used").asInt(), e.expertUsedCount());
        assertEquals(cfg.get("n_expert_shared").asInt(), e.expertSharedCount());
        assertEquals(cfg.get("n_ff_exp").asInt(), e.expertFeedForwardLength());
        assertEquals(ModelConfig.Moe.Gating.SQRT_SOFTPLUS, e.gating());
        assertEquals(cfg.get("expert_weights_norm").asBoolean(), e.weightsNorm());
        assertEquals((float) cfg.get("expert_weights_scale").asDouble(), e.weightsScale());
        assertEquals(new ModelConfig.Indexer(cfg.get("index_n_heads").asInt(), cfg.get("index_head_dim").asInt(),
                cfg.get("index_topk").asInt()), c.indexer());
    }

    @Test
    void badConfigurationsAreRejectedWithTheKey() {
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("general.architecture", GgufValue.string("mamba"));
        JseekException arch = assertThrows(JseekException.class, () -> ModelConfig.fromGguf(new GgufMetadata("m.gguf", md)));
        assertTrue(arch.getMessage().startsWith("m.gguf: architecture \"mamba\" is not supported"), arch.getMessage());

        md.put("general.architecture", GgufValue.string("deepseek2"));
        md.put("deepseek2.block_count", GgufValue.u32(2));
        md.put("deepseek2.embedding_length", GgufValue.u32(64));
        md.put("deepseek2.attention.head_count", GgufValue.u32(4));
        md.put("deepseek2.context_length", GgufValue.u32(128));
        md.put("deepseek2.attention.layer_norm_rms_epsilon", GgufValue.f32(1e-6f));
        md.put("deepseek2.rope.dimension_count", GgufValue.u32(16));
        JseekException missing = assertThrows(JseekException.class, () -> ModelConfig.fromGguf(new GgufMetadata("m.gguf", md)));
        assertEquals("m.gguf: key deepseek2.attention.kv_lora_rank is missing", missing.getMessage());

        md.put("deepseek2.attention.kv_lora_rank", GgufValue.f32(64));
        JseekException type = assertThrows(JseekException.class, () -> ModelConfig.fromGguf(new GgufMetadata("m.gguf", md)));
        assertEquals("m.gguf: key deepseek2.attention.kv_lora_rank has type f32, expected u32", type.getMessage());
    }
}
