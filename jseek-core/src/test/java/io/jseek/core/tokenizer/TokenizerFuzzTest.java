package io.jseek.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.TestData;
import io.jseek.core.gguf.GgufFile;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A fuzz target for every test model's tokenizer, bounded per build: random text built from a corpus of hard
 * pieces (scripts, emoji and ZWJ sequences, combining marks, lone surrogates, control characters, runs of spaces,
 * digits and newlines, special-token texts and fragments of them, invalid-looking escapes). Each must encode
 * without an exception to ids inside the vocabulary, and — for well-formed text, special tokens not parsed —
 * decode back to itself (a lone surrogate cannot round-trip: it is not text; it must still not throw).
 * {@code -Djseek.fuzz.cases=N} runs more (2,000 per model by default).
 */
class TokenizerFuzzTest {
    static final String[] PIECES = {
        "a", "Hello", " world", "  ", "\t", "\n", "\n\n\n", "\r\n", "0", "12345678901234567890", "3.14", "-", "'s", "'LL",
        "こんにちは", "中文", "한국어", "Ελληνικά", "русский", "עברית", "العربية", "हिन्दी", "ไทย",
        "😀", "👩‍👩‍👧‍👦", "🇫🇷", "e\u0301", "\u0300\u0301\u0302", "\u200b", "\u200d", "\ufeff", "\u00a0",
        "\u0000", "\u0001", "\u001b[31m", "\u007f", "\ud800", "\udfff", "\uffff", "\ud83d", "\\u0041", "%s", "{{", "}}",
        "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<｜begin▁of▁sentence｜>", "<｜User｜>", "<think>", "</think>",
        "<|", "|>", "<｜", "▁", "Ġ", "Ċ", "<s>", "</s>", "[INST]", " ".repeat(50), "x".repeat(300), "ab".repeat(100),
    };

    static List<String> models() {
        return TestData.models();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void randomTextEncodesInsideTheVocabularyAndRoundTrips(String model) {
        Tokenizer tok;
        try (GgufFile f = GgufFile.open(TestData.file(model + ".gguf"))) {
            tok = Tokenizer.fromGguf(f.metadata());
        }
        int cases = Integer.getInteger("jseek.fuzz.cases", 2000);
        SplittableRandom r = new SplittableRandom(model.hashCode());
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < cases && failures.size() < 10; i++) {
            StringBuilder b = new StringBuilder();
            int n = 1 + r.nextInt(12);
            for (int k = 0; k < n; k++) {
                String p = PIECES[r.nextInt(PIECES.length)];
                if (r.nextInt(8) == 0 && p.length() > 1) {
                    p = p.substring(0, 1 + r.nextInt(p.length() - 1)); // a fragment (may split a surrogate pair)
                }
                b.append(p);
            }
            String text = b.toString();
            try {
                for (boolean special : new boolean[] {false, true}) {
                    int[] ids = tok.encode(text, special, special);
                    for (int id : ids) {
                        if (id < 0 || id >= tok.vocabSize()) {
                            failures.add(quote(text) + ": id " + id + " outside the vocabulary");
                        }
                    }
                    tok.decode(ids, special);
                }
                boolean wellFormed = text.codePoints().noneMatch(c -> c >= 0xD800 && c <= 0xDFFF);
                String back = tok.decode(tok.encode(text, false, false), false);
                if (wellFormed && !back.equals(text)) {
                    failures.add(quote(text) + " came back as " + quote(back));
                }
            } catch (RuntimeException | StackOverflowError e) {
                failures.add(quote(text) + ": " + e);
            }
        }
        assertTrue(failures.isEmpty(), model + ": " + failures.size() + " failures:\n" + String.join("\n", failures));
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().limit(120).forEach(c -> {
            if (c < 0x20 || c >= 0x7f) {
                b.append(String.format("\\u{%x}", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append('"').toString();
    }
}
