package io.jseek.engine;

import java.util.Arrays;

/**
 * {@code response_format: json_object}: the answer is one JSON object (RFC 8259 syntax; bytes from 0x80
 * up accepted inside strings without checking their UTF-8). Whitespace between tokens is limited to
 * {@link #MAX_SPACE} bytes in a row, as llama.cpp's JSON grammar limits it, so that a model cannot fill its
 * whole answer with blanks.
 */
public final class JsonConstraint implements OutputConstraint {
    public static final JsonConstraint OBJECT = new JsonConstraint();
    static final int MAX_SPACE = 20;

    private JsonConstraint() {
    }

    @Override
    public Matcher start() {
        return new JsonMatcher();
    }

    // What the matcher expects next.
    private static final int TOP = 0;             // the top-level '{'
    private static final int VALUE = 1;           // any value
    private static final int KEY_OR_CLOSE = 2;    // after '{': a key or '}'
    private static final int KEY = 3;             // after ',' in an object
    private static final int COLON = 4;
    private static final int AFTER_VALUE = 5;     // ',' or the closing bracket
    private static final int VALUE_OR_CLOSE = 6;  // after '[': a value or ']'
    private static final int STRING = 7;
    private static final int NUMBER = 8;
    private static final int LITERAL = 9;
    private static final int DONE = 10;
    private static final int FAILED = 11;

    // Number sub-states.
    private static final int N_MINUS = 0;
    private static final int N_ZERO = 1;
    private static final int N_INT = 2;
    private static final int N_DOT = 3;
    private static final int N_FRAC = 4;
    private static final int N_E = 5;
    private static final int N_E_SIGN = 6;
    private static final int N_EXP = 7;

    private static final byte[][] LITERALS = {"true".getBytes(), "false".getBytes(), "null".getBytes()};

    static final class JsonMatcher implements Matcher {
        /** Open containers, innermost last: '{' or '['. */
        private byte[] stack = new byte[16];
        private int depth;
        private int mode = TOP;
        /** STRING: 0 plain, 1 after '\', 2..5 hex digits left + 1; NUMBER: sub-state; LITERAL: which * 8 + pos. */
        private int sub;
        private boolean key;
        /** Whitespace bytes in a row outside strings. */
        private int spaces;

        @Override
        public boolean feed(byte[] bytes, int from, int to) {
            for (int i = from; i < to; i++) {
                if (!step(bytes[i] & 0xFF)) {
                    mode = FAILED;
                    return false;
                }
            }
            return true;
        }

        @Override
        public boolean complete() {
            return mode == DONE;
        }

        @Override
        public void copyFrom(Matcher other) {
            JsonMatcher o = (JsonMatcher) other;
            if (stack.length < o.stack.length) {
                stack = new byte[o.stack.length];
            }
            System.arraycopy(o.stack, 0, stack, 0, o.depth);
            depth = o.depth;
            mode = o.mode;
            sub = o.sub;
            key = o.key;
            spaces = o.spaces;
        }

        @Override
        public Matcher copy() {
            JsonMatcher m = new JsonMatcher();
            m.stack = Arrays.copyOf(stack, stack.length);
            m.copyFrom(this);
            return m;
        }

        private static boolean space(int c) {
            return c == ' ' || c == '\t' || c == '\n' || c == '\r';
        }

        private void push(byte open) {
            if (depth == stack.length) {
                stack = Arrays.copyOf(stack, 2 * depth);
            }
            stack[depth++] = open;
        }

        /** After a value ends. */
        private void valueDone() {
            mode = depth == 0 ? DONE : AFTER_VALUE;
        }

        private boolean step(int c) {
            if (mode != STRING && space(c)) {
                if (mode == NUMBER) {
                    // The space ends the number; handled below.
                    spaces = 0;
                } else if (++spaces > MAX_SPACE) {
                    return false;
                }
            } else {
                spaces = 0;
            }
            switch (mode) {
                case TOP:
                    if (space(c)) {
                        return true;
                    }
                    if (c == '{') {
                        push((byte) '{');
                        mode = KEY_OR_CLOSE;
                        return true;
                    }
                    return false;
                case VALUE:
                case VALUE_OR_CLOSE:
                    if (space(c)) {
                        return true;
                    }
                    if (c == ']' && mode == VALUE_OR_CLOSE) {
                        depth--;
                        valueDone();
                        return true;
                    }
                    return startValue(c);
                case KEY_OR_CLOSE:
                case KEY:
                    if (space(c)) {
                        return true;
                    }
                    if (c == '}' && mode == KEY_OR_CLOSE) {
                        depth--;
                        valueDone();
                        return true;
                    }
                    if (c == '"') {
                        mode = STRING;
                        sub = 0;
                        key = true;
                        return true;
                    }
                    return false;
                case COLON:
                    if (space(c)) {
                        return true;
                    }
                    if (c == ':') {
                        mode = VALUE;
                        return true;
                    }
                    return false;
                case AFTER_VALUE:
                    if (space(c)) {
                        return true;
                    }
                    byte open = stack[depth - 1];
                    if (c == ',') {
                        mode = open == '{' ? KEY : VALUE;
                        return true;
                    }
                    if ((c == '}' && open == '{') || (c == ']' && open == '[')) {
                        depth--;
                        valueDone();
                        return true;
                    }
                    return false;
                case STRING:
                    return string(c);
                case NUMBER:
                    return number(c);
                case LITERAL: {
                    byte[] lit = LITERALS[sub >> 3];
                    int pos = sub & 7;
                    if (c != lit[pos]) {
                        return false;
                    }
                    if (pos + 1 == lit.length) {
                        valueDone();
                    } else {
                        sub++;
                    }
                    return true;
                }
                case DONE:
                    return space(c);
                default:
                    return false;
            }
        }

        private boolean startValue(int c) {
            switch (c) {
                case '{':
                    push((byte) '{');
                    mode = KEY_OR_CLOSE;
                    return true;
                case '[':
                    push((byte) '[');
                    mode = VALUE_OR_CLOSE;
                    return true;
                case '"':
                    mode = STRING;
                    sub = 0;
                    key = false;
                    return true;
                case '-':
                    mode = NUMBER;
                    sub = N_MINUS;
                    return true;
                case 't', 'f', 'n':
                    mode = LITERAL;
                    sub = (c == 't' ? 0 : c == 'f' ? 1 : 2) * 8 + 1;
                    return true;
                default:
                    if (c >= '0' && c <= '9') {
                        mode = NUMBER;
                        sub = c == '0' ? N_ZERO : N_INT;
                        return true;
                    }
                    return false;
            }
        }

        private boolean string(int c) {
            if (sub == 0) {
                if (c == '"') {
                    if (key) {
                        mode = COLON;
                    } else {
                        valueDone();
                    }
                    return true;
                }
                if (c == '\\') {
                    sub = 1;
                    return true;
                }
                return c >= 0x20;
            }
            if (sub == 1) {
                if (c == 'u') {
                    sub = 5;
                    return true;
                }
                sub = 0;
                return c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't';
            }
            boolean hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            sub = sub == 2 ? 0 : sub - 1;
            return hex;
        }

        private boolean number(int c) {
            boolean digit = c >= '0' && c <= '9';
            switch (sub) {
                case N_MINUS:
                    if (digit) {
                        sub = c == '0' ? N_ZERO : N_INT;
                        return true;
                    }
                    return false;
                case N_ZERO:
                case N_INT:
                    if (digit && sub == N_INT) {
                        return true;
                    }
                    if (c == '.') {
                        sub = N_DOT;
                        return true;
                    }
                    if (c == 'e' || c == 'E') {
                        sub = N_E;
                        return true;
                    }
                    break;
                case N_DOT:
                    if (digit) {
                        sub = N_FRAC;
                        return true;
                    }
                    return false;
                case N_FRAC:
                    if (digit) {
                        return true;
                    }
                    if (c == 'e' || c == 'E') {
                        sub = N_E;
                        return true;
                    }
                    break;
                case N_E:
                    if (c == '+' || c == '-') {
                        sub = N_E_SIGN;
                        return true;
                    }
                    if (digit) {
                        sub = N_EXP;
                        return true;
                    }
                    return false;
                case N_E_SIGN:
                    if (digit) {
                        sub = N_EXP;
                        return true;
                    }
                    return false;
                case N_EXP:
                    if (digit) {
                        return true;
                    }
                    break;
                default:
                    return false;
            }
            // The number ended (it was in a state that may end); this byte belongs to what follows it.
            valueDone();
            return step(c);
        }
    }
}
