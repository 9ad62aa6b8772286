package io.jseek.core.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pre-tokenizer regex evaluated the way llama.cpp evaluates the ones it has no hand-written splitter for,
 * including that evaluation's quirks (the reference outputs depend on them):
 * <ul>
 * <li>A regex that uses Unicode categories ({@code \p{L}}, {@code \p{N}}, {@code \p{P}}, {@code \p{S}},
 * {@code \p{M}}) runs over a <em>collapsed</em> text: ASCII stays as it is, every other code point becomes
 * one stand-in character for its category (non-ASCII white space becomes U+000B), and each
 * {@code \p{X}} becomes "the stand-in or the ASCII members of X". So {@code \s} matches all white space,
 * {@code \p{L}} all letters, but a literal non-ASCII character cannot appear in such a regex.</li>
 * <li>Any other regex runs over the real code points, with non-ASCII white space replaced by
 * U+000B (so {@code \s} matches it, but a range that names U+3000 no longer does).</li>
 * <li>{@code \s} is the ASCII set {@code [ \t\n\x0B\f\r]}, {@code $} means the end of the piece, and a
 * lookahead cannot see past the piece.</li>
 * </ul>
 */
final class RegexSplitter implements Splitter {
    private static final char OTHER = 0xD0;
    private static final char NUMBER = 0xD1;
    private static final char LETTER = 0xD2;
    private static final char PUNCTUATION = 0xD3;
    private static final char MARK = 0xD4;
    private static final char SYMBOL = 0xD5;
    private static final char SPACE = 0x0B;

    private final Pattern pattern;
    private final boolean collapsed;

    /** @param regex the regex in llama.cpp's (ECMAScript) spelling */
    RegexSplitter(String regex) {
        this.collapsed = usesCategories(regex);
        this.pattern = Pattern.compile(toJava(regex, collapsed));
    }

    /**
     * Translates to java.util.regex: {@code $} outside a class becomes {@code \z} (Java's {@code $} would
     * also match before a final line break), and with {@code collapse} each {@code \p{X}} becomes its
     * stand-in character plus the ASCII members of X (as llama.cpp spells them: its symbol set lacks '~').
     */
    private static String toJava(String regex, boolean collapse) {
        StringBuilder sb = new StringBuilder();
        boolean inClass = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            boolean escaped = i > 0 && regex.charAt(i - 1) == '\\';
            if (collapse && c > 0x7F) {
                throw new IllegalArgumentException("a regex with Unicode categories must be ASCII: " + regex);
            }
            if (c == '[' && !escaped) {
                inClass = true;
            } else if (c == ']' && inClass && !escaped) {
                inClass = false;
            } else if (c == '$' && !inClass && !escaped) {
                sb.append("\\z");
                continue;
            } else if (collapse && c == '\\' && regex.startsWith("\\p{", i) && i + 4 < regex.length()
                    && regex.charAt(i + 4) == '}') {
                String members = categoryMembers(regex.charAt(i + 3));
                if (members == null) {
                    throw new IllegalArgumentException("unknown category in " + regex);
                }
                sb.append(inClass ? members : "[" + members + "]");
                i += 4;
                continue;
            }
            sb.append(c);
        }
        return sb.toString();
    }

    /** True if the regex uses a Unicode category, so llama.cpp runs it over the collapsed text. */
    static boolean usesCategories(String regex) {
        return regex.matches("(?s).*\\\\p\\{[LNPSM]}.*");
    }

    /**
     * The class body standing for {@code \p{category}} over the collapsed text: the stand-in character plus
     * the ASCII members, as llama.cpp spells them (its symbol set lacks '~'); null for another category.
     */
    static String categoryMembers(char category) {
        return switch (category) {
            case 'N' -> hex(NUMBER) + "0-9";
            case 'L' -> hex(LETTER) + "A-Za-z";
            case 'P' -> hex(PUNCTUATION) + "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}";
            case 'S' -> hex(SYMBOL) + "\\$\\+<->\\^`\\|";
            case 'M' -> hex(MARK);
            default -> null;
        };
    }

    private static String hex(char c) {
        return String.format("\\x{%X}", (int) c);
    }

    @Override
    public IntList split(int[] cps, IntList lengths) {
        String text;
        int[] cpAt;
        if (collapsed) {
            char[] chars = new char[cps.length];
            for (int i = 0; i < cps.length; i++) {
                chars[i] = collapse(cps[i]);
            }
            text = new String(chars);
            cpAt = null;
        } else {
            StringBuilder sb = new StringBuilder(cps.length);
            cpAt = new int[cps.length + 1];
            for (int i = 0; i < cps.length; i++) {
                cpAt[i] = sb.length();
                int cp = cps[i];
                sb.appendCodePoint(replaceSpace(cp));
            }
            cpAt[cps.length] = sb.length();
            text = sb.toString();
        }

        IntList out = new IntList(lengths.size() * 2);
        Matcher m = pattern.matcher(text);
        int startCp = 0;
        for (int i = 0; i < lengths.size(); i++) {
            int endCp = startCp + lengths.get(i);
            int from = cpAt == null ? startCp : cpAt[startCp];
            int to = cpAt == null ? endCp : cpAt[endCp];
            m.region(from, to);
            int last = from;
            while (m.find()) {
                if (m.end() == m.start()) {
                    continue;
                }
                out.addLength(codepoints(text, last, m.start(), cpAt));
                out.addLength(codepoints(text, m.start(), m.end(), cpAt));
                last = m.end();
            }
            out.addLength(codepoints(text, last, to, cpAt));
            startCp = endCp;
        }
        return out;
    }

    private static int codepoints(String text, int from, int to, int[] cpAt) {
        return cpAt == null ? to - from : text.codePointCount(from, to);
    }

    /** A code point as the non-category regexes see it: non-ASCII white space becomes U+000B. */
    static int replaceSpace(int cp) {
        return cp > 0x7F && CodepointFlags.isWhitespace(cp) ? SPACE : cp;
    }

    /** A code point as the category regexes see it: ASCII as is, anything else its category's stand-in. */
    static char collapse(int cp) {
        if (cp < 0x80) {
            return (char) cp;
        }
        int f = CodepointFlags.of(cp);
        if ((f & CodepointFlags.WHITESPACE) != 0) {
            return SPACE;
        }
        return switch (f) {
            case CodepointFlags.NUMBER -> NUMBER;
            case CodepointFlags.LETTER -> LETTER;
            case CodepointFlags.PUNCTUATION -> PUNCTUATION;
            case CodepointFlags.MARK -> MARK;
            case CodepointFlags.SYMBOL -> SYMBOL;
            default -> OTHER;
        };
    }
}
