package io.jseek.core.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import io.jseek.core.TestData;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import io.jseek.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufFileTest {
    @TempDir
    Path tmp;

    @Test
    void version2FilesReadLikeVersion3() throws IOException {
        byte[] b = Files.readAllBytes(TestData.file("r1qwen-q8_0.gguf"));
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 2);
        Path v2 = tmp.resolve("v2.gguf");
        Files.write(v2, b);
        try (GgufFile f = GgufFile.open(v2); GgufFile ref = GgufFile.open(TestData.file("r1qwen-q8_0.gguf"))) {
            assertEquals(2, f.version());
            assertEquals(ref.metadata().asMap(), f.metadata().asMap());
            assertEquals(ref.tensors().size(), f.tensors().size());
        }
    }

    /** A sparse 3 GiB file: mapping works past 2 GiB and nothing is read or copied at open. */
    @Test
    void mapsFilesLargerThan2GiB() throws IOException {
        long rows = 3L << 20;
        long rowLength = 256;
        byte[] name = "big.weight".getBytes(StandardCharsets.UTF_8);
        ByteBuffer h = ByteBuffer.allocate(4 + 4 + 8 + 8 + 8 + name.length + 4 + 16 + 4 + 8).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0x46554747).putInt(3).putLong(1).putLong(0);
        h.putLong(name.length).put(name).putInt(2).putLong(rowLength).putLong(rows).putInt(GgmlType.F32.id).putLong(0);
        long dataStart = Math.ceilDiv(h.position(), 32) * 32L;
        Path big = tmp.resolve("big.gguf");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.write(h.array(), 0, h.position());
            f.setLength(dataStart + rows * rowLength * 4);
            f.seek(dataStart + (rows - 1) * rowLength * 4);
            f.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).array());
        }
        try (GgufFile f = GgufFile.open(big)) {
            Tensor t = f.tensor("big.weight");
            assertEquals(3L << 30, t.data().byteSize());
            float[] row = new float[(int) rowLength];
            t.dequantizeRow(rows - 1, row);
            assertEquals(1.5f, row[0]);
        }
    }

    @Test
    void unknownPreTokenizerIsALoadError() {
        try (GgufFile f = GgufFile.open(TestData.file("ds3-f32.gguf"))) {
            Map<String, GgufValue> md = new LinkedHashMap<>(f.metadata().asMap());
            md.put("tokenizer.ggml.pre", GgufValue.string("martian"));
            JseekException e = assertThrows(JseekException.class, () -> Tokenizer.fromGguf(new GgufMetadata("x.gguf", md)));
            assertTrue(e.getMessage().startsWith("x.gguf: unknown pre-tokenizer tokenizer.ggml.pre = \"martian\""), e.getMessage());

            md.put("tokenizer.ggml.pre", GgufValue.string("deepseek-v3"));
            md.put("tokenizer.ggml.model", GgufValue.string("llama"));
            JseekException spm = assertThrows(JseekException.class, () -> Tokenizer.fromGguf(new GgufMetadata("x.gguf", md)));
            assertTrue(spm.getMessage().contains("tokenizer model \"llama\" is not supported"), spm.getMessage());
        }
    }
}
