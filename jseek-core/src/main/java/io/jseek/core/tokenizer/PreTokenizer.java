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
            "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
            "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
            "\\s+$",
            "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
            "\\p{N}+"),
    /** DeepSeek-V3, R1, V3.1. */
    DEEPSEEK_V3(false,
            "\\p{N}{1,3}",
            "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"),
    /** deepseek-coder. */
    DEEPSEEK_CODER(false,
            "[\r\n]",
            "\\s?\\p{L}+",
            "\\s?\\p{P}+",
            "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
            "\\p{N}"),
    /** Qwen2 and the R1-Distill-Qwen models. */
    QWEN2(false, new WordSplitter(WordSplitter.Variant.QWEN2)),
    /** Llama 3 and the R1-Distill-Llama models: a word that is itself a token skips BPE. */
    LLAMA3(true, new WordSplitter(WordSplitter.Variant.LLAMA3)),
    /** GPT-2. */
    GPT2(false, new WordSplitter(WordSplitter.Variant.GPT2)),
    /** llama.cpp's fallback when a file names no pre-tokenizer. */
    DEFAULT(false,
            compile("[\\p{P}\\$\\+<=>\\^~\\|]+"),
            new WordSplitter(WordSplitter.Variant.GPT2),
            compile("\\p{N}+"),
            compile("[0-9][0-9][0-9]"));

    /** When true, a word that is already a vocabulary token becomes that token without merging. */
    final boolean ignoreMerges;
    private final List<Splitter> stages;

    PreTokenizer(boolean ignoreMerges, String... regexes) {
        this.ignoreMerges = ignoreMerges;
        this.stages = java.util.Arrays.stream(regexes).map(PreTokenizer::compile).toList();
    }

    PreTokenizer(boolean ignoreMerges, Splitter... stages) {
        this.ignoreMerges = ignoreMerges;
        this.stages = List.of(stages);
    }

    /** The fast evaluator for a simple regex shape, else the general one. */
    private static Splitter compile(String regex) {
        ClassSplitter fast = ClassSplitter.of(regex);
        return fast != null ? fast : new RegexSplitter(regex);
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
