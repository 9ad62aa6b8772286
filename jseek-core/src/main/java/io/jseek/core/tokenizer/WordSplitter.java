package io.jseek.core.tokenizer;

/**
 * The GPT-2 family of word splitters, hand-written because they are the hot path of tokenization and
 * java.util.regex backtracking is slow. Each variant implements one regex exactly as llama.cpp's
 * dedicated splitter for it does (Unicode categories from {@link CodepointFlags}; a match never looks
 * past the end of its piece):
 * <ul>
 * <li>GPT2: {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}</li>
 * <li>LLAMA3: {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+}</li>
 * <li>QWEN2: as LLAMA3 with single digits ({@code \p{N}}).</li>
 * </ul>
 */
final class WordSplitter implements Splitter {
    enum Variant { GPT2, LLAMA3, QWEN2 }

    private final Variant variant;

    WordSplitter(Variant variant) {
        this.variant = variant;
    }

    @Override
    public IntList split(int[] cps, IntList lengths) {
        IntList out = new IntList(lengths.size() * 4);
        int start = 0;
        for (int i = 0; i < lengths.size(); i++) {
            int end = start + lengths.get(i);
            new Piece(cps, start, end, out).run();
            start = end;
        }
        return out;
    }

    /** Splits one piece [start, end) of the text. */
    private final class Piece {
        private final int[] cps;
        private final int start;
        private final int end;
        private final IntList out;
        private int emitted;

        Piece(int[] cps, int start, int end, IntList out) {
            this.cps = cps;
            this.start = start;
            this.end = end;
            this.out = out;
            this.emitted = start;
        }

        private int cp(int pos) {
            return pos >= start && pos < end ? cps[pos] : -1;
        }

        private int flags(int pos) {
            return pos >= start && pos < end ? CodepointFlags.of(cps[pos]) : 0;
        }

        /** Ends the current word at {@code pos}; returns its length. */
        private int emit(int pos) {
            int len = pos - emitted;
            out.addLength(len);
            emitted = pos;
            return len;
        }

        void run() {
            int pos = start;
            while (pos < end) {
                pos = variant == Variant.GPT2 ? gpt2(pos) : llama3(pos);
            }
        }

        /** Length of a contraction ('s, 't, 're, 've, 'm, 'll, 'd) at pos, or 0. */
        private int contraction(int pos, boolean ignoreCase) {
            if (cp(pos) != '\'' || pos + 1 >= end) {
                return 0;
            }
            int a = lower(cp(pos + 1), ignoreCase);
            if (a == 's' || a == 't' || a == 'm' || a == 'd') {
                return 2;
            }
            if (pos + 2 < end) {
                int b = lower(cp(pos + 2), ignoreCase);
                if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
                    return 3;
                }
            }
            return 0;
        }

        private static int lower(int cp, boolean ignoreCase) {
            return ignoreCase && cp >= 0 ? Character.toLowerCase(cp) : cp;
        }

        private static boolean isOther(int f) {
            return (f & (CodepointFlags.WHITESPACE | CodepointFlags.LETTER | CodepointFlags.NUMBER)) == 0;
        }

        private int gpt2(int pos) {
            int c = contraction(pos, false);
            if (c > 0) {
                emit(pos + c);
                return pos + c;
            }
            int cp = cp(pos);
            int f2 = cp == ' ' ? flags(pos + 1) : flags(pos);
            if (CodepointFlags.isLetter(f2) || CodepointFlags.isNumber(f2)) {
                int kind = f2 & (CodepointFlags.LETTER | CodepointFlags.NUMBER);
                pos += cp == ' ' ? 1 : 0;
                while ((flags(pos) & kind) != 0) {
                    pos++;
                }
                emit(pos);
                return pos;
            }
            if (isOther(f2) && f2 != 0) {
                pos += cp == ' ' ? 1 : 0;
                while (isOther(flags(pos)) && flags(pos) != 0) {
                    pos++;
                }
                emit(pos);
                return pos;
            }
            return whitespace(pos, false);
        }

        private int llama3(int pos) {
            int c = contraction(pos, true);
            if (c > 0) {
                emit(pos + c);
                return pos + c;
            }
            int cp = cp(pos);
            int f = flags(pos);
            if (cp != '\r' && cp != '\n' && !CodepointFlags.isNumber(f)
                    && (CodepointFlags.isLetter(f) || CodepointFlags.isLetter(flags(pos + 1)))) {
                pos++;
                while (CodepointFlags.isLetter(flags(pos))) {
                    pos++;
                }
                emit(pos);
                return pos;
            }
            if (CodepointFlags.isNumber(f)) {
                int maxDigits = variant == Variant.LLAMA3 ? 3 : 1;
                int run = pos;
                while (CodepointFlags.isNumber(flags(pos))) {
                    pos++;
                    if (pos - run >= maxDigits) {
                        emit(pos);
                        run = pos;
                    }
                }
                emit(pos);
                return pos;
            }
            int f2 = cp == ' ' ? flags(pos + 1) : f;
            if (isOther(f2) && f != 0) {
                pos += cp == ' ' ? 1 : 0;
                while (isOther(flags(pos)) && flags(pos) != 0) {
                    pos++;
                }
                while (cp(pos) == '\r' || cp(pos) == '\n') {
                    pos++;
                }
                emit(pos);
                return pos;
            }
            return whitespace(pos, true);
        }

        /** {@code \s*[\r\n]+} (LLAMA3/QWEN2 only), then {@code \s+(?!\S)}, then {@code \s+}, else one character. */
        private int whitespace(int pos, boolean newlineRule) {
            int n = 0;
            int afterLastNewline = -1;
            while (CodepointFlags.isSpace(flags(pos + n))) {
                int c = cp(pos + n);
                if (c == '\r' || c == '\n') {
                    afterLastNewline = pos + n + 1;
                }
                n++;
            }
            if (newlineRule && afterLastNewline >= 0) {
                emit(afterLastNewline);
                return afterLastNewline;
            }
            if (n > 1 && cp(pos + n) != -1) {
                emit(pos + n - 1);
                return pos + n - 1;
            }
            if (n > 0) {
                emit(pos + n);
                return pos + n;
            }
            emit(pos + 1);
            return pos + 1;
        }
    }
}
