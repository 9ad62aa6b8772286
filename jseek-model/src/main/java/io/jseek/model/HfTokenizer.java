package io.jseek.model;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufMetadata;
import io.jseek.core.gguf.GgufValue;
import io.jseek.core.gguf.GgufValueType;
import io.jseek.core.tokenizer.TokenType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A Hugging Face directory's tokenizer ({@code tokenizer.json}, {@code tokenizer_config.json}) as the GGUF
 * tokenizer metadata llama.cpp's converter writes for it, so that {@code Tokenizer.fromGguf} gives the same
 * ids as the GGUF conversion: the vocabulary by id, ids the vocabulary lacks up to the model's size as
 * {@code [PADn]} (unused), added tokens as control tokens when special and user-defined otherwise, the
 * merges, the pre-tokenizer by model family, BOS/EOS/padding and whether BOS is added, the chat template.
 */
public final class HfTokenizer {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private HfTokenizer() {
    }

    /**
     * The tokenizer keys ({@code tokenizer.ggml.*}, {@code tokenizer.chat_template}) for the model in {@code dir}:
     * its tokenizer files and, from config.json, {@code model_type} and {@code vocab_size} (a directory with
     * only these, no weights, is enough).
     */
    public static GgufMetadata metadata(Path dir) {
        JsonNode tok = json(dir.resolve("tokenizer.json"), true);
        JsonNode cfg = json(dir.resolve("tokenizer_config.json"), false);
        JsonNode modelConfig = json(dir.resolve("config.json"), true);
        String src = dir.resolve("tokenizer.json").toString();
        JsonNode model = tok.path("model");
        if (!"BPE".equals(model.path("type").asString(""))) {
            throw new JseekException(src + ": model.type \"" + model.path("type").asString("") + "\" is not supported (BPE)");
        }
        Map<Integer, String> byId = new HashMap<>();
        int size = modelConfig.path("vocab_size").asInt(0);
        for (var e : model.path("vocab").properties()) {
            byId.put(e.getValue().asInt(), e.getKey());
            size = Math.max(size, e.getValue().asInt() + 1);
        }
        Map<Integer, Boolean> added = new HashMap<>();
        for (JsonNode a : tok.path("added_tokens")) {
            int id = a.path("id").asInt();
            byId.put(id, a.path("content").asString());
            added.put(id, a.path("special").asBoolean(false));
            size = Math.max(size, id + 1);
        }
        String[] tokens = new String[size];
        int[] types = new int[size];
        for (int i = 0; i < size; i++) {
            String t = byId.get(i);
            if (t == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = TokenType.UNUSED.id;
            } else {
                tokens[i] = t;
                Boolean special = added.get(i);
                types[i] = special == null ? TokenType.NORMAL.id : special ? TokenType.CONTROL.id : TokenType.USER_DEFINED.id;
            }
        }
        JsonNode mergeList = model.path("merges");
        String[] merges = new String[mergeList.size()];
        for (int i = 0; i < merges.length; i++) {
            JsonNode m = mergeList.get(i);
            merges[i] = m.isArray() ? m.get(0).asString() + " " + m.get(1).asString() : m.asString();
        }
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        md.put("tokenizer.ggml.pre", GgufValue.string(switch (modelConfig.path("model_type").asString("")) {
            case "deepseek_v3", "deepseek_v32" -> "deepseek-v3";
            case "deepseek_v2" -> "deepseek-llm";
            case "qwen2" -> "deepseek-r1-qwen";
            case "llama" -> "llama-bpe";
            default -> "default";
        }));
        md.put("tokenizer.ggml.tokens", GgufValue.array(GgufValueType.STRING, tokens));
        md.put("tokenizer.ggml.token_type", GgufValue.array(GgufValueType.INT32, types));
        md.put("tokenizer.ggml.merges", GgufValue.array(GgufValueType.STRING, merges));
        putId(md, "tokenizer.ggml.bos_token_id", special(cfg, "bos_token"), tokens);
        putId(md, "tokenizer.ggml.eos_token_id", special(cfg, "eos_token"), tokens);
        putId(md, "tokenizer.ggml.padding_token_id", special(cfg, "pad_token"), tokens);
        md.put("tokenizer.ggml.add_bos_token", GgufValue.bool(cfg.path("add_bos_token").asBoolean(true)));
        md.put("tokenizer.ggml.add_eos_token", GgufValue.bool(cfg.path("add_eos_token").asBoolean(false)));
        if (cfg.path("chat_template").isString()) {
            md.put("tokenizer.chat_template", GgufValue.string(cfg.get("chat_template").asString()));
        }
        return new GgufMetadata(src, md);
    }

    /** A special token's text from tokenizer_config.json: a string, or an object with its content. */
    private static String special(JsonNode cfg, String key) {
        JsonNode v = cfg.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        return v.isString() ? v.asString() : v.path("content").asString(null);
    }

    private static void putId(Map<String, GgufValue> md, String key, String text, String[] tokens) {
        if (text == null) {
            return;
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i].equals(text)) {
                md.put(key, GgufValue.u32(i));
                return;
            }
        }
    }

    private static JsonNode json(Path p, boolean required) {
        if (!Files.isRegularFile(p)) {
            if (required) {
                throw new JseekException(p + " is missing");
            }
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(Files.readString(p));
        } catch (IOException | JacksonException e) {
            throw new JseekException(p + ": cannot read: " + e.getMessage(), e);
        }
    }
}
