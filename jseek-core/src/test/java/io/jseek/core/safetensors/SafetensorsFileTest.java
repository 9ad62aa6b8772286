package io.jseek.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors reader: tensors and metadata as written, and every malformed header a clear error. */
class SafetensorsFileTest {
    @TempDir
    Path dir;

    /** A file of {@code header} (JSON) and {@code data}, laid out as the format says. */
    private Path write(String name, String header, byte[] data) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.write(h);
        out.write(data);
        Path p = dir.resolve(name);
        Files.write(p, out.toByteArray());
        return p;
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    @Test
    void readsTensorsInGgmlOrderAndTheMetadata() throws Exception {
        byte[] w = floats(1, 2, 3, 4, 5, 6);
        // BF16 of 1.5 and -2: the top halves of their float bits.
        byte[] bf = {(byte) 0xC0, 0x3F, 0x00, (byte) 0xC0};
        byte[] data = new byte[w.length + bf.length];
        System.arraycopy(w, 0, data, 0, w.length);
        System.arraycopy(bf, 0, data, w.length, bf.length);
        Path p = write("m.safetensors", "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[24,28]}}", data);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals("pt", f.metadata().get("format"));
            assertEquals(2, f.entries().size());
            Tensor t = f.tensor("w");
            assertEquals(GgmlType.F32, t.type());
            assertArrayEquals(new long[] {3, 2}, t.shape(), "ggml order: the row length first");
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.dequantize());
            assertArrayEquals(new float[] {1.5f, -2f}, f.tensor("b").dequantize());
        }
    }

    @Test
    void malformedFilesAreClearErrors() throws Exception {
        String ok = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        byte[] data = floats(1, 2);
        String[][] cases = {
            {"{" + ok.replace("[0,8]", "[0,16]") + "}", "outside the 8 data bytes"},
            {"{" + ok.replace("F32", "F7") + "}", "unknown dtype \"F7\""},
            {"{" + ok.replace("[2]", "[3]") + "}", "8 bytes, but F32 [3] needs 12"},
            {"{" + ok + ",\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "overlap"},
            {"{" + ok.replace("[2]", "[-2]") + "}", "not a list of non-negative integers"},
            {"{" + ok.replace(",\"data_offsets\":[0,8]", "") + "}", "needs dtype, shape and data_offsets"},
            {"{\"w\": [1, 2", "the header is not JSON"},
            {"[1, 2]", "the header is not a JSON object"},
        };
        for (String[] c : cases) {
            Path p = write("bad.safetensors", c[0], data);
            JseekException e = assertThrows(JseekException.class, () -> SafetensorsFile.open(p).close(), c[0]);
            assertTrue(e.getMessage().startsWith(p.toString()) && e.getMessage().contains(c[1]), e.getMessage());
        }
        Path shortFile = dir.resolve("short.safetensors");
        Files.write(shortFile, new byte[] {1, 2, 3});
        assertTrue(assertThrows(JseekException.class, () -> SafetensorsFile.open(shortFile)).getMessage().contains("too short"));
        Path hugeHeader = dir.resolve("huge.safetensors");
        Files.write(hugeHeader, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        assertTrue(assertThrows(JseekException.class, () -> SafetensorsFile.open(hugeHeader)).getMessage()
                .contains("header length"));
        try (SafetensorsFile f = SafetensorsFile.open(write("fp8.safetensors",
                "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[0,8]}}", data))) {
            assertTrue(assertThrows(JseekException.class, () -> f.tensor("q")).getMessage().contains("F8_E4M3"));
            assertTrue(assertThrows(JseekException.class, () -> f.tensor("nope")).getMessage().contains("no tensor nope"));
        }
    }
}
