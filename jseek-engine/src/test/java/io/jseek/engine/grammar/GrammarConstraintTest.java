package io.jseek.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.engine.OutputConstraint;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** GBNF text and the matcher: what a grammar accepts, as a whole and prefix by prefix, byte by byte. */
class GrammarConstraintTest {
    /** True when {@code text} is a whole answer of the grammar, fed in pieces of {@code piece} bytes. */
    private static boolean accepts(String grammar, String text, int piece) {
        OutputConstraint.Matcher m = GrammarConstraint.gbnf(grammar).start();
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i += piece) {
            if (!m.feed(Arrays.copyOfRange(b, i, Math.min(b.length, i + piece)))) {
                return false;
            }
        }
        return m.complete();
    }

    private static boolean accepts(String grammar, String text) {
        boolean whole = accepts(grammar, text, Integer.MAX_VALUE);
        for (int piece = 1; piece <= 3; piece++) {
            assertEquals(whole, accepts(grammar, text, piece), "split in pieces of " + piece + ": " + text);
        }
        return whole;
    }

    /** True when {@code text} can still be continued into an answer. */
    private static boolean prefix(String grammar, String text) {
        return GrammarConstraint.gbnf(grammar).start().feed(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void literalsClassesAndAlternatives() {
        String g = "root ::= \"yes\" | \"no\" | [0-9] [a-fA-F]\n";
        assertTrue(accepts(g, "yes"));
        assertTrue(accepts(g, "no"));
        assertTrue(accepts(g, "7F"));
        assertFalse(accepts(g, "ye"));
        assertTrue(prefix(g, "ye"));
        assertFalse(prefix(g, "yx"));
        assertFalse(accepts(g, "7g"));
        assertFalse(accepts(g, "yess"));
    }

    @Test
    void repetitionsAndGroups() {
        String g = "root ::= \"a\"{2,3} (\"b\" | \"c\")* \"d\"? [xy]+  # comment\n";
        assertTrue(accepts(g, "aax"));
        assertTrue(accepts(g, "aaabcbcdxyx"));
        assertFalse(accepts(g, "ax"));
        assertFalse(accepts(g, "aaaax"));
        assertFalse(accepts(g, "aad"));
        String exact = "root ::= [0-9]{4} \"-\" [0-9]{2}";
        assertTrue(accepts(exact, "2026-11"));
        assertFalse(accepts(exact, "202-11"));
        assertFalse(prefix(exact, "20261"));
        String atLeast = "root ::= \"x\"{2,}";
        assertFalse(accepts(atLeast, "x"));
        assertTrue(accepts(atLeast, "xxxxx"));
    }

    @Test
    void rulesRecursionAndNegatedClasses() {
        String g = """
                root ::= list
                list ::= "[" (item ("," item)*)? "]"
                item ::= list | str
                str  ::= "\\"" [^"\\\\]* "\\""
                """;
        assertTrue(accepts(g, "[]"));
        assertTrue(accepts(g, "[\"a\",[\"b\",[]],\"\"]"));
        assertFalse(accepts(g, "[\"a\",]"));
        assertFalse(accepts(g, "[\"a\\\"]"));
    }

    @Test
    void unicodeIsMatchedByCodePointEvenWhenATokenSplitsIt() {
        String g = "root ::= [α-ω]+ \"→\" .";
        assertTrue(accepts(g, "λμ→😀"));
        assertFalse(accepts(g, "λA→x"));
        // The first byte of 'λ' (0xCE) is a possible start; the first byte of '😀' is not where α-ω is expected.
        OutputConstraint.Matcher m = GrammarConstraint.gbnf(g).start();
        assertTrue(m.feed(new byte[] {(byte) 0xCE}));
        assertFalse(m.complete());
        assertFalse(GrammarConstraint.gbnf(g).start().feed(new byte[] {(byte) 0xF0}));
        assertFalse(GrammarConstraint.gbnf("root ::= .").start().feed(new byte[] {(byte) 0xC0, (byte) 0x80}), "overlong");
        // A continuation byte is checked too: after EF only BD leads on to '｜' (U+FF5C).
        OutputConstraint.Matcher bar = GrammarConstraint.gbnf("root ::= \"｜\"").start();
        assertTrue(bar.feed(new byte[] {(byte) 0xEF}));
        assertFalse(bar.copy().feed(new byte[] {(byte) 0x80}));
        assertTrue(bar.feed(new byte[] {(byte) 0xBD, (byte) 0x9C}));
        assertTrue(bar.complete());
    }

    @Test
    void copiesAreIndependent() {
        OutputConstraint.Matcher m = GrammarConstraint.gbnf("root ::= \"ab\" | \"ac\"").start();
        m.feed("a".getBytes());
        OutputConstraint.Matcher c = m.copy();
        assertTrue(c.feed("b".getBytes()));
        assertTrue(c.complete());
        assertFalse(m.complete());
        assertTrue(m.feed("c".getBytes()));
        assertTrue(m.complete());
    }

    @Test
    void badGrammarsAreRejectedWithWhereAndWhy() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Gbnf.parse("root ::= \"a\" (b"));
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("expected )"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gbnf.parse("root ::= x\n"));
        assertTrue(e.getMessage().contains("rule x is used but not defined"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gbnf.parse("root ::= root \"a\" | \"b\""));
        assertTrue(e.getMessage().contains("left-recursive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gbnf.parse("start ::= \"a\""));
        assertTrue(e.getMessage().contains("no rule named root"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gbnf.parse("root ::= \"a\"{3,2}"));
        assertTrue(e.getMessage().contains("below the minimum"), e.getMessage());
    }
}
