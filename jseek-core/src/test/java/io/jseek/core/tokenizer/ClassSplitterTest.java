package io.jseek.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The fast class splitter agrees with java.util.regex evaluating the same regex, on random mixed-script text. */
class ClassSplitterTest {
    /** Characters chosen to sit on and around every class boundary the pre-tokenizer regexes use. */
    private static final int[] ALPHABET = {
        'a', 'Z', 'q', '0', '7', ' ', ' ', '\t', '\n', '\r', 0x0B, '!', '/', ':', '~', '-', '[', ']', '\\', '^', '$',
        '+', '<', '=', '|', '`', '_', '{', '}', '@', '\'', '"', 0xB5, 0xC0, 0xD7, 0xE9, 0xF7, 0x1BB, 0x3A9, 0x2126,
        0x212A, 0x212B, 0x212D, 0x1FBE, 0x1FD3, 0x0416, 0x05D0, 0x0627, 0x0915, 0x0301, 0x00A0, 0x3000, 0x3001,
        0x3002, 0x3003, 0x2018, 0x201F, 0x2020, 0xFF01, 0xFF10, 0xFF21, 0xFF5E, 0x4E00, 0x4E01, 0x9FA5, 0x9FA6,
        0x0800, 0x3042, 0x30A2, 0xAC00, 0xD7A3, 0x00BD, 0x00B2, 0x2160, 0x0660, 0x1F600, 0x1F3FD, 0x200D, 0x1E900,
        0x10400, 0x20AC, 0x2028, 0x0085, 0xFFFD,
    };

    static List<String> regexes() {
        return List.of("[\r\n]", "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
                "\\s+$", "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}+", "\\p{N}{1,3}", "\\p{N}",
                "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+", "\\s?\\p{L}+", "\\s?\\p{P}+",
                "[\\p{P}\\$\\+<=>\\^~\\|]+", "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{1FBE}\\x{2126}\\x{212A}-\\x{212D}\\x{1E900}-\\x{1E943}]+");
    }

    @ParameterizedTest
    @MethodSource("regexes")
    void agreesWithTheRegexEngine(String regex) {
        ClassSplitter fast = ClassSplitter.of(regex);
        assertNotNull(fast, regex);
        RegexSplitter slow = new RegexSplitter(regex);
        Random rnd = new Random(regex.hashCode());
        for (int trial = 0; trial < 2000; trial++) {
            int[] cps = new int[rnd.nextInt(24)];
            for (int i = 0; i < cps.length; i++) {
                cps[i] = ALPHABET[rnd.nextInt(ALPHABET.length)];
            }
            IntList pieces = new IntList(4);
            int left = cps.length;
            while (left > 0) {
                int n = 1 + rnd.nextInt(left);
                pieces.add(n);
                left -= n;
            }
            assertArrayEquals(slow.split(cps, pieces).toArray(), fast.split(cps, pieces).toArray(),
                    () -> regex + " on " + new String(cps, 0, cps.length).replace("\n", "\\n").replace("\r", "\\r"));
        }
    }

    @Test
    void otherShapesAreLeftToTheRegexEngine() {
        assertNull(ClassSplitter.of("[0-9][0-9][0-9]"));
        assertNull(ClassSplitter.of("\\s+(?!\\S)"));
        assertNull(ClassSplitter.of("[^\\r\\n\\p{L}]?\\p{L}+"));
    }
}
