package io.jseek.core.tokenizer;

import java.util.List;

/**
 * How text is cut into words before BPE, selected by the GGUF key {@code tokenizer.ggml.pre}. Each stage
 * further splits every piece the previous stages produced. The regexes are those of the reference
 * tokenizers (as llama.cpp b10573 spells them); see {@link RegexSplitter} for how they are evaluated.
 */
public enum PreTokenizer {
    /** DeepSeek-V2, V2-Lite, V2.5 and deepseek-llm. */
    DEEPSEEK_LLM(false,
            "[\r\n]",
            "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
            "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
            "\\s+$",
            "[一-龥ࠀ-一가-퟿]+",
            "\\p{N}+"),
    /** DeepSeek-V3, R1, V3.1. */
    DEEPSEEK_V3(false,
            "\\p{N}{1,3}",
            "[一-龥぀-ゟ゠-ヿ]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"),
    /** deepseek-coder. */
    DEEPSEEK_CODER(false,
            "[\r\n]",
            "\\s?\\p{L}+",
            "\\s?\\p{P}+",
            "[一-龥ࠀ-一가-퟿]+",
            "\\p{N}"),
    /** Qwen2 and the R1-Distill-Qwen models. */
    QWEN2(false, new WordSplitter(WordSplitter.Variant.QWEN2)),
    /** Llama 3 and the R1-Distill-Llama models: a word that is itself a token skips BPE. */
    LLAMA3(true, new WordSplitter(WordSplitter.Variant.LLAMA3)),
    /** GPT-2. */
    GPT2(false, new WordSplitter(WordSplitter.Variant.GPT2)),
    /** llama.cpp's fallback when a file names no pre-tokenizer. */
    DEFAULT(false,
            new RegexSplitter("[\\p{P}\\$\\+<=>\\^~\\|]+"),
            new WordSplitter(WordSplitter.Variant.GPT2),
            new RegexSplitter("\\p{N}+"),
            new RegexSplitter("[0-9][0-9][0-9]"));

    /** When true, a word that is already a vocabulary token becomes that token without merging. */
    final boolean ignoreMerges;
    private final List<Splitter> stages;

    PreTokenizer(boolean ignoreMerges, String... regexes) {
        this.ignoreMerges = ignoreMerges;
        this.stages = java.util.Arrays.stream(regexes).<Splitter>map(RegexSplitter::new).toList();
    }

    PreTokenizer(boolean ignoreMerges, Splitter... stages) {
        this.ignoreMerges = ignoreMerges;
        this.stages = List.of(stages);
    }

    /** The pre-tokenizer for a {@code tokenizer.ggml.pre} value, or null for a name jseek does not know. */
    public static PreTokenizer byGgufName(String name) {
        return switch (name) {
            case "deepseek-llm" -> DEEPSEEK_LLM;
            case "deepseek-v3" -> DEEPSEEK_V3;
            case "deepseek-coder" -> DEEPSEEK_CODER;
            case "deepseek-r1-qwen", "qwen2" -> QWEN2;
            case "llama-bpe", "llama3", "llama-v3" -> LLAMA3;
            case "gpt2" -> GPT2;
            case "default" -> DEFAULT;
            default -> null;
        };
    }

    /** The names {@link #byGgufName} accepts, for error messages. */
    public static String knownNames() {
        return "deepseek-llm, deepseek-v3, deepseek-coder, deepseek-r1-qwen, qwen2, llama-bpe, llama3, gpt2, default";
    }

    /** Splits {@code cps} into words; returns their lengths in code points. */
    int[] split(int[] cps) {
        IntList lengths = new IntList(1);
        lengths.addLength(cps.length);
        for (Splitter s : stages) {
            lengths = s.split(cps, lengths);
        }
        return lengths.toArray();
    }
}
