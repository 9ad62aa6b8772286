package io.jseek.core;

/**
 * Text from outside (a file's names and strings, a client's input) as an error message may quote it: control
 * characters (terminal escapes among them) escaped as {@code \xHH}, cut to a length with an ellipsis.
 */
public final class Excerpt {
    private Excerpt() {
    }

    /** {@code s}, escaped and cut to {@code limit} code points. */
    public static String of(String s, int limit) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(limit).forEach(c -> {
            if (c < 0x20 || c == 0x7F || c >= 0x80 && c < 0xA0) {
                b.append(String.format("\\x%02x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return s.codePointCount(0, s.length()) > limit ? b + "…" : b.toString();
    }
}
