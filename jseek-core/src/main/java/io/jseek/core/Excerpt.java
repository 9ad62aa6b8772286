package io.jseek.core;

/**
 * Text from outside (a file's names and strings, a client's input) as an error message may quote it: control
 * characters (terminal escapes among them) escaped as {@code \xHH}, cut to a length with an ellipsis.
 */
public final class Excerpt {
    private Excerpt() {
    }

    /** {@code s}, escaped, cut so that the result has at most {@code limit} characters before the ellipsis. */
    public static String of(String s, int limit) {
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (i < s.length()) {
            int c = s.codePointAt(i);
            String piece = c < 0x20 || c == 0x7F || c >= 0x80 && c < 0xA0 ? String.format("\\x%02x", c)
                    : new String(Character.toChars(c));
            if (b.length() + piece.length() > limit) {
                return b + "…";
            }
            b.append(piece);
            i += Character.charCount(c);
        }
        return b.toString();
    }
}
