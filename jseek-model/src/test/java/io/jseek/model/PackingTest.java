package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import org.junit.jupiter.api.Test;

/** The packing policy: auto packs what fits well in memory; on and off are obeyed; bad values are named. */
class PackingTest {
    private static final long GIB = 1L << 30;

    @Test
    void autoPacksOnlyFilesThatFitWellInMemory() {
        assertTrue(Packing.AUTO.packs(10 * GIB, 24 * GIB));
        assertFalse(Packing.AUTO.packs(20 * GIB, 24 * GIB), "a 20 GiB file on 24 GiB stays memory-mapped");
        assertFalse(Packing.AUTO.packs(400 * GIB, 64 * GIB));
        assertTrue(Packing.AUTO.packs(400 * GIB, 0), "unknown memory: pack");
        assertTrue(Packing.ON.packs(400 * GIB, 64 * GIB));
        assertFalse(Packing.OFF.packs(GIB, 64 * GIB));
    }

    @Test
    void thePropertyChoosesThePolicy() {
        String old = System.getProperty("jseek.pack");
        try {
            System.clearProperty("jseek.pack");
            assertEquals(Packing.AUTO, Packing.configured());
            System.setProperty("jseek.pack", "Off");
            assertEquals(Packing.OFF, Packing.configured());
            System.setProperty("jseek.pack", "sometimes");
            JseekException e = assertThrows(JseekException.class, Packing::configured);
            assertTrue(e.getMessage().contains("sometimes"), e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty("jseek.pack");
            } else {
                System.setProperty("jseek.pack", old);
            }
        }
        assertTrue(Packing.physicalMemory() > 0, "the JVM reports this machine's memory");
    }
}
