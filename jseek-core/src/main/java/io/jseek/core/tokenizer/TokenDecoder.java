package io.jseek.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of token ids into text without ever emitting half a UTF-8 character: bytes of an
 * incomplete character are held until the tokens that complete it arrive. Bytes that can never form a
 * character come out as U+FFFD. Not thread-safe; one per generation stream.
 */
public final class TokenDecoder {
    private final Tokenizer tokenizer;
    private final boolean special;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    TokenDecoder(Tokenizer tokenizer, boolean special) {
        this.tokenizer = tokenizer;
        this.special = special;
    }

    /** Adds one token; returns the text that is now complete (possibly empty). */
    public String push(int id) {
        pending.writeBytes(tokenizer.piece(id, special));
        byte[] b = pending.toByteArray();
        int complete = completePrefix(b);
        pending.reset();
        pending.write(b, complete, b.length - complete);
        return new String(b, 0, complete, StandardCharsets.UTF_8);
    }

    /** Ends the stream: returns whatever is held, with incomplete characters as U+FFFD. */
    public String flush() {
        String s = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return s;
    }

    /**
     * Length of the longest prefix that does not end inside a character that may still be completed: a
     * trailing lead byte followed by fewer continuation bytes than it announces is held back.
     */
    static int completePrefix(byte[] b) {
        int n = b.length;
        // A UTF-8 character is at most 4 bytes: look at the last 3 for an unfinished lead byte.
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte: keep looking for its lead
            }
            int need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
