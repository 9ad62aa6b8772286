package io.jseek.core.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.TestData;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class GgufRoundTripTest {
    @TempDir
    Path tmp;

    static Stream<String> files() {
        return Stream.concat(TestData.models().stream().map(m -> m + ".gguf"),
                Stream.of("quants/quant-Q4_K.gguf", "quants/quant-BF16.gguf", "quants/quant-Q5_1.gguf"));
    }

    static void copy(GgufFile in, Path out, Map<String, GgufValue> metadata) throws IOException {
        List<GgufWriter.TensorSpec> specs = new ArrayList<>();
        for (GgufTensorInfo t : in.tensorInfos()) {
            specs.add(new GgufWriter.TensorSpec(t.name(), t.type(), t.shape()));
        }
        try (GgufWriter w = new GgufWriter(out, metadata, specs)) {
            for (Tensor t : in.tensors()) {
                w.writeTensor(t.name(), t.data());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void readWriteReadGivesIdenticalMetadataTensorsAndBytes(String name) throws IOException {
        Path original = TestData.file(name);
        Path copy = tmp.resolve("copy.gguf");
        try (GgufFile a = GgufFile.open(original)) {
            copy(a, copy, a.metadata().asMap());
            try (GgufFile b = GgufFile.open(copy)) {
                assertEquals(a.metadata().asMap(), b.metadata().asMap());
                assertEquals(new ArrayList<>(a.tensorInfos()), new ArrayList<>(b.tensorInfos()));
                for (Tensor t : a.tensors()) {
                    assertEquals(-1, t.data().mismatch(b.tensor(t.name()).data()), t.name());
                }
            }
        }
        // ggml lays files out the same way (header, padding, each tensor padded to the alignment).
        assertArrayEquals(Files.readAllBytes(original), Files.readAllBytes(copy));
    }

    @Test
    void everyValueTypeRoundTrips() throws IOException {
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("u8", new GgufValue(GgufValueType.UINT8, (byte) 0xFF));
        md.put("i8", new GgufValue(GgufValueType.INT8, (byte) -5));
        md.put("u16", new GgufValue(GgufValueType.UINT16, (short) 0xFFFF));
        md.put("i16", new GgufValue(GgufValueType.INT16, (short) -300));
        md.put("u32", GgufValue.u32(-1));
        md.put("i32", GgufValue.i32(-7));
        md.put("u64", GgufValue.u64(-1L));
        md.put("i64", new GgufValue(GgufValueType.INT64, Long.MIN_VALUE));
        md.put("f32", GgufValue.f32(-0.0f));
        md.put("f64", new GgufValue(GgufValueType.FLOAT64, Math.PI));
        md.put("bool", GgufValue.bool(true));
        md.put("string", GgufValue.string("héllo <｜User｜> 😀"));
        md.put("empty", GgufValue.string(""));
        md.put("strings", GgufValue.array(GgufValueType.STRING, new String[] {"a", "", "Ġthe"}));
        md.put("floats", GgufValue.array(GgufValueType.FLOAT32, new float[] {1, Float.NaN, -2.5f}));
        md.put("bools", GgufValue.array(GgufValueType.BOOL, new boolean[] {true, false}));
        md.put("u64s", GgufValue.array(GgufValueType.UINT64, new long[] {1, -1}));
        md.put("nested", GgufValue.array(GgufValueType.ARRAY, new GgufArray[] {
                new GgufArray(GgufValueType.INT32, new int[] {1, 2}),
                new GgufArray(GgufValueType.STRING, new String[] {"x"})}));
        md.put("general.alignment", GgufValue.u32(64));
        Path out = tmp.resolve("types.gguf");
        float[] values = {1, 2, 3, 4};
        try (var arena = java.lang.foreign.Arena.ofConfined();
             GgufWriter w = new GgufWriter(out, md, List.of(new GgufWriter.TensorSpec("t", GgmlType.F32, new long[] {4})))) {
            var seg = arena.allocate(16);
            GgmlType.F32.codec().quantize(values, 0, seg, 0, 4);
            w.writeTensor("t", seg);
        }
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(md, f.metadata().asMap());
            assertEquals(64, f.alignment());
            assertArrayEquals(values, f.tensor("t").dequantize());
            assertEquals(0, Files.size(out) % 64);
        }
    }

    @Test
    void anUnfinishedWriteLeavesNoFile() throws IOException {
        Path out = tmp.resolve("partial.gguf");
        GgufWriter w = new GgufWriter(out, Map.of(), List.of(new GgufWriter.TensorSpec("t", GgmlType.F32, new long[] {4})));
        assertThrows(IllegalStateException.class, w::close);
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(tmp.resolve("partial.gguf.tmp")));
    }

    @Test
    void typedAccessorsNameTheFileAndKey() {
        try (GgufFile f = GgufFile.open(TestData.file("ds2lite-f32.gguf"))) {
            GgufMetadata md = f.metadata();
            assertEquals(64, md.u32("deepseek2.attention.kv_lora_rank"));
            GgufException missing = assertThrows(GgufException.class, () -> md.u32("deepseek2.attention.no_such_key"));
            assertEquals("ds2lite-f32.gguf: key deepseek2.attention.no_such_key is missing", missing.getMessage());
            GgufException wrong = assertThrows(GgufException.class, () -> md.u32("general.architecture"));
            assertEquals("ds2lite-f32.gguf: key general.architecture has type string, expected u32", wrong.getMessage());
            GgufException tensor = assertThrows(GgufException.class, () -> f.tensor("blk.9.attn_q.weight"));
            assertTrue(tensor.getMessage().contains("blk.9.attn_q.weight"));
        }
    }

    @Test
    void splitModelsOpenAsOneFromTheFirstShard() throws IOException {
        try (GgufFile whole = GgufFile.open(TestData.file("r1qwen-q8_0.gguf"))) {
            List<GgufTensorInfo> infos = new ArrayList<>(whole.tensorInfos());
            int half = infos.size() / 2;
            for (int shard = 0; shard < 2; shard++) {
                Map<String, GgufValue> md = new LinkedHashMap<>(shard == 0 ? whole.metadata().asMap() : Map.of());
                md.put("split.no", new GgufValue(GgufValueType.UINT16, (short) shard));
                md.put("split.count", new GgufValue(GgufValueType.UINT16, (short) 2));
                md.put("split.tensors.count", GgufValue.i32(infos.size()));
                List<GgufTensorInfo> part = shard == 0 ? infos.subList(0, half) : infos.subList(half, infos.size());
                List<GgufWriter.TensorSpec> specs = part.stream()
                        .map(t -> new GgufWriter.TensorSpec(t.name(), t.type(), t.shape())).toList();
                try (GgufWriter w = new GgufWriter(tmp.resolve(String.format("m-%05d-of-00002.gguf", shard + 1)), md, specs)) {
                    for (GgufTensorInfo t : part) {
                        w.writeTensor(t.name(), whole.tensor(t.name()).data());
                    }
                }
            }
            try (GgufFile split = GgufFile.open(tmp.resolve("m-00001-of-00002.gguf"))) {
                assertEquals(2, split.shardCount());
                assertEquals(infos.size(), split.tensors().size());
                for (Tensor t : whole.tensors()) {
                    assertEquals(-1, t.data().mismatch(split.tensor(t.name()).data()), t.name());
                }
            }
            GgufException second = assertThrows(GgufException.class, () -> GgufFile.open(tmp.resolve("m-00002-of-00002.gguf")));
            assertTrue(second.getMessage().contains("open the first shard"), second.getMessage());
            Files.delete(tmp.resolve("m-00002-of-00002.gguf"));
            GgufException missing = assertThrows(GgufException.class, () -> GgufFile.open(tmp.resolve("m-00001-of-00002.gguf")));
            assertTrue(missing.getMessage().contains("m-00002-of-00002.gguf"), missing.getMessage());
        }
    }
}
