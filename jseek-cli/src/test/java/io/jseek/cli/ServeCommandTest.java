package io.jseek.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** serve's default KV pool: a context per parallel request, within a third of the free heap, at least one context. */
class ServeCommandTest {
    @Test
    void thePoolHoldsAContextPerRequestWithinTheHeap() {
        long gib = 1L << 30;
        assertEquals(128 * 8, ServeCommand.defaultKvTokens(128, 8, 4 * gib, 1024), "not millions for a 128-token model");
        assertEquals(4096 * 4, ServeCommand.defaultKvTokens(4096, 4, 8 * gib, 70_000));
        assertEquals(64 * gib / 3 / 1_000_000, ServeCommand.defaultKvTokens(4096, 8, 64 * gib, 1_000_000), "the heap caps it");
        assertEquals(4096, ServeCommand.defaultKvTokens(4096, 8, 1L << 20, 1_000_000), "at least one context");
    }
}
