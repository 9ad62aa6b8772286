package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;

/**
 * config.json → ModelConfig, on DeepSeek's published configs (docs/deepseek.md §1.2), against the values
 * llama.cpp's converter writes into GGUF for them (§9.2).
 */
class HfConfigTest {
    static final String V3 = """
            {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "num_hidden_layers": 61,
             "hidden_size": 7168, "intermediate_size": 18432, "num_attention_heads": 128, "num_key_value_heads": 128,
             "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
             "n_routed_experts": 256, "num_experts_per_tok": 8, "n_shared_experts": 1, "moe_intermediate_size": 2048,
             "first_k_dense_replace": 3, "moe_layer_freq": 1, "n_group": 8, "topk_group": 4, "topk_method": "noaux_tc",
             "scoring_func": "sigmoid", "routed_scaling_factor": 2.5, "norm_topk_prob": true, "rope_theta": 10000,
             "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
                              "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
             "max_position_embeddings": 163840, "vocab_size": 129280, "rms_norm_eps": 1e-6, "tie_word_embeddings": false,
             "bos_token_id": 0, "eos_token_id": 1, "num_nextn_predict_layers": 1}""";

    static final String V2_LITE = """
            {"model_type": "deepseek_v2", "num_hidden_layers": 27, "hidden_size": 2048, "intermediate_size": 10944,
             "num_attention_heads": 16, "num_key_value_heads": 16, "q_lora_rank": null, "kv_lora_rank": 512,
             "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128, "n_routed_experts": 64,
             "num_experts_per_tok": 6, "n_shared_experts": 2, "moe_intermediate_size": 1408, "first_k_dense_replace": 1,
             "n_group": 1, "topk_group": 1, "topk_method": "greedy", "scoring_func": "softmax", "routed_scaling_factor": 1.0,
             "norm_topk_prob": false, "rope_theta": 10000,
             "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "mscale": 0.707,
                              "mscale_all_dim": 0.707},
             "max_position_embeddings": 163840, "vocab_size": 102400, "rms_norm_eps": 1e-6}""";

    private static ModelConfig parse(String json) {
        return HfConfig.fromJson(JsonMapper.builder().build().readTree(json), "config.json", "m");
    }

    @Test
    void deepSeekV3IsTheGgufConversionsConfig() {
        ModelConfig c = parse(V3);
        assertEquals(Architecture.DEEPSEEK2, c.architecture());
        assertEquals(61, c.blockCount());
        assertEquals(163840, c.contextLength());
        assertEquals(7168, c.embeddingLength());
        assertEquals(18432, c.feedForwardLength());
        assertEquals(128, c.headCount());
        assertEquals(1, c.headCountKv(), "MLA-format files: one KV head");
        assertEquals(192, c.keyLength());
        assertEquals(128, c.valueLength());
        assertEquals(64, c.ropeDimensionCount());
        assertEquals(129280, c.vocabSize());
        assertEquals(new ModelConfig.Mla(1536, 512, 128, 64, 128, true), c.mla());
        assertEquals(new ModelConfig.Moe(3, 256, 8, 1, 2048, 8, 4, 2.5f, true, ModelConfig.Moe.Gating.SIGMOID), c.moe());
        assertEquals(new ModelConfig.RopeScaling(ModelConfig.RopeScaling.Type.YARN, 40, 4096, 0.1f), c.ropeScaling());
        assertNull(c.indexer());
        // The cache: 576 values per layer, as for the GGUF.
        assertEquals(576, c.cacheWidths()[0]);
    }

    @Test
    void deepSeekV2LiteAndV32() {
        ModelConfig lite = parse(V2_LITE);
        assertEquals(0, lite.mla().qLoraRank(), "q_lora_rank null: a direct q_proj");
        assertEquals(new ModelConfig.Moe(1, 64, 6, 2, 1408, 1, 1, 1f, false, ModelConfig.Moe.Gating.SOFTMAX), lite.moe());
        assertEquals(0.0707f, lite.ropeScaling().yarnLogMultiplier(), 1e-7);
        ModelConfig v32 = parse(V3.replace("\"deepseek_v3\"", "\"deepseek_v32\"")
                .replace("\"num_nextn_predict_layers\": 1", "\"index_n_heads\": 64, \"index_head_dim\": 128, \"index_topk\": 2048"));
        assertEquals(Architecture.DEEPSEEK32, v32.architecture());
        assertEquals(new ModelConfig.Indexer(64, 128, 2048), v32.indexer());
    }

    @Test
    void denseDistills() {
        ModelConfig q = parse("""
                {"model_type": "qwen2", "num_hidden_layers": 28, "hidden_size": 1536, "intermediate_size": 8960,
                 "num_attention_heads": 12, "num_key_value_heads": 2, "max_position_embeddings": 131072,
                 "rope_theta": 10000, "rms_norm_eps": 1e-6, "vocab_size": 151936}""");
        assertEquals(Architecture.QWEN2, q.architecture());
        assertEquals(128, q.keyLength());
        assertEquals(2, q.headCountKv());
        assertNull(q.mla());
        assertEquals(ModelConfig.RopeScaling.Type.NONE, q.ropeScaling().type());
    }

    @TempDir
    Path dir;

    @Test
    void badConfigsNameTheKey() throws Exception {
        JseekException missing = assertThrows(JseekException.class, () -> parse(V3.replace("\"kv_lora_rank\": 512,", "")));
        assertEquals("config.json: kv_lora_rank is missing", missing.getMessage());
        assertTrue(assertThrows(JseekException.class, () -> parse(V3.replace("\"hidden_size\": 7168", "\"hidden_size\": \"big\"")))
                .getMessage().contains("hidden_size must be an integer"));
        assertTrue(assertThrows(JseekException.class, () -> parse(V3.replace("deepseek_v3", "mamba")))
                .getMessage().contains("model_type \"mamba\" is not supported"));
        // V4 checkpoints: not read yet, and the error says how to run one.
        assertTrue(assertThrows(JseekException.class, () -> parse(V3.replace("deepseek_v3", "deepseek_v4")))
                .getMessage().contains("convert_hf_to_gguf.py"));
        Path file = dir.resolve("config.json");
        Files.writeString(file, "{\"model_type\": ");
        assertTrue(assertThrows(JseekException.class, () -> HfConfig.read(file)).getMessage().startsWith(file + ": not JSON"));
    }
}
