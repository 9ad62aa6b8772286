package io.jseek.cli;

/** The little JSON the CLI reads and writes: string literals and arrays of ints. */
final class Json {
    private Json() {
    }

    /** {@code s} as a JSON string literal (non-ASCII kept as is; control characters escaped). */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || Character.isSurrogate(c) && !validSurrogate(s, i)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static boolean validSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    static String array(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length * 6 + 2).append('[');
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(ids[i]);
        }
        return sb.append(']').toString();
    }

    /** Parses a line holding exactly one JSON string literal (surrounding white space allowed). */
    static String parseString(String line) {
        String s = line.strip();
        if (s.length() < 2 || s.charAt(0) != '"' || s.charAt(s.length() - 1) != '"') {
            throw new IllegalArgumentException("expected a JSON string such as \"text\"");
        }
        StringBuilder sb = new StringBuilder(s.length());
        int i = 1;
        int end = s.length() - 1;
        while (i < end) {
            char c = s.charAt(i++);
            if (c == '"') {
                throw new IllegalArgumentException("unescaped quote at column " + i);
            }
            if (c < 0x20) {
                throw new IllegalArgumentException("unescaped control character at column " + i);
            }
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            if (i >= end) {
                throw new IllegalArgumentException("string ends inside an escape");
            }
            char e = s.charAt(i++);
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (i + 4 > end) {
                        throw new IllegalArgumentException("truncated \\u escape at column " + i);
                    }
                    try {
                        sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                    } catch (NumberFormatException ex) {
                        throw new IllegalArgumentException("bad \\u escape at column " + i);
                    }
                    i += 4;
                }
                default -> throw new IllegalArgumentException("bad escape \\" + e + " at column " + i);
            }
        }
        return sb.toString();
    }
}
