package io.jseek.core.safetensors;

import io.jseek.core.JseekException;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One {@code .safetensors} file (Hugging Face's format), memory-mapped: an 8-byte little-endian header
 * length N, N bytes of JSON ({@code name → {dtype, shape, data_offsets: [begin, end]}}, plus an optional
 * {@code __metadata__} object of strings), then the data, offsets relative to its start. Everything is
 * checked at open — header size and JSON, every tensor's dtype, its byte length against its shape, its
 * range inside the file, no two ranges overlapping — so a bad file is one clear error naming the file and
 * the tensor, never a crash later. Shapes are as the file writes them, row-major (outermost first).
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The format's own limit on the header (100 MB). */
    static final long MAX_HEADER = 100_000_000L;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** The element types a safetensors file may declare, by their names there. */
    public enum Dtype {
        F64(8), F32(4), F16(2), BF16(2), F8_E4M3(1), F8_E5M2(1), I64(8), I32(4), I16(2), I8(1), U64(8), U32(4),
        U16(2), U8(1), BOOL(1);

        public final int bytes;

        Dtype(int bytes) {
            this.bytes = bytes;
        }
    }

    /** One tensor: its dtype, row-major shape, and where its bytes are ({@link #data}). */
    public record Entry(String name, Dtype dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    private final Path path;
    private final Arena arena;
    private final long byteSize;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, long byteSize, MemorySegment data, Map<String, Entry> entries,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.byteSize = byteSize;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens and checks {@code path}; the mapping lives until {@link #close}. */
    public static SafetensorsFile open(Path path) {
        io.jseek.core.VectorApi.warnIfScalar();
        Arena arena = Arena.ofShared();
        try {
            MemorySegment file;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = ch.size();
                file = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (IOException e) {
                throw new JseekException(path + ": cannot read: " + e.getMessage(), e);
            }
            long size = file.byteSize();
            if (size < 8) {
                throw error(path, "too short for a safetensors file (" + size + " bytes)");
            }
            long n = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (n < 2 || n > MAX_HEADER || n > size - 8) {
                throw error(path, "header length " + n + " does not fit the file (" + size + " bytes; at most "
                        + MAX_HEADER + ")");
            }
            String header = new String(file.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            MemorySegment data = file.asSlice(8 + n);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = parse(path, header, data.byteSize(), metadata);
            return new SafetensorsFile(path, arena, size, data, entries, metadata);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Map<String, Entry> parse(Path path, String header, long dataSize, Map<String, String> metadata) {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JacksonException e) {
            throw error(path, "the header is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw error(path, "the header is not a JSON object");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (var field : root.properties()) {
            String name = field.getKey();
            JsonNode t = field.getValue();
            if (name.equals("__metadata__")) {
                if (!t.isObject()) {
                    throw error(path, "__metadata__ is not an object");
                }
                for (var m : t.properties()) {
                    metadata.put(m.getKey(), m.getValue().isString() ? m.getValue().asString() : m.getValue().toString());
                }
                continue;
            }
            entries.put(name, entry(path, name, t, dataSize));
        }
        List<Entry> byOffset = new ArrayList<>(entries.values());
        byOffset.sort((a, b) -> Long.compare(a.begin(), b.begin()));
        for (int i = 1; i < byOffset.size(); i++) {
            Entry a = byOffset.get(i - 1);
            Entry b = byOffset.get(i);
            if (b.begin() < a.end()) {
                throw error(path, "tensors " + a.name() + " and " + b.name() + " overlap");
            }
        }
        return Collections.unmodifiableMap(entries);
    }

    private static Entry entry(Path path, String name, JsonNode t, long dataSize) {
        String where = "tensor " + name + ": ";
        if (!t.isObject() || !t.path("dtype").isString() || !t.path("shape").isArray()
                || !t.path("data_offsets").isArray() || t.path("data_offsets").size() != 2) {
            throw error(path, where + "needs dtype, shape and data_offsets [begin, end]");
        }
        Dtype dtype;
        try {
            dtype = Dtype.valueOf(t.get("dtype").asString());
        } catch (IllegalArgumentException e) {
            throw error(path, where + "unknown dtype \"" + t.get("dtype").asString() + "\"");
        }
        long[] shape = new long[t.get("shape").size()];
        for (int d = 0; d < shape.length; d++) {
            JsonNode v = t.get("shape").get(d);
            if (!v.isIntegralNumber() || v.asLong() < 0) {
                throw error(path, where + "shape " + t.get("shape") + " is not a list of non-negative integers");
            }
            shape[d] = v.asLong();
        }
        JsonNode offsets = t.get("data_offsets");
        if (!offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw error(path, where + "data_offsets " + offsets + " are not integers");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin || end > dataSize) {
            throw error(path, where + "data_offsets [" + begin + ", " + end + "] are outside the " + dataSize
                    + " data bytes (a truncated file?)");
        }
        Entry e = new Entry(name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(e.elements(), (long) dtype.bytes);
        } catch (ArithmeticException x) {
            throw error(path, where + "shape " + t.get("shape") + " is too large");
        }
        if (end - begin != expected) {
            throw error(path, where + (end - begin) + " bytes, but " + dtype + " " + t.get("shape") + " needs " + expected);
        }
        return e;
    }

    private static JseekException error(Path path, String message) {
        return new JseekException(path + ": " + message);
    }

    public Path path() {
        return path;
    }

    /** The file's size in bytes. */
    public long byteSize() {
        return byteSize;
    }

    /** Every tensor, in header order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** The header's {@code __metadata__} strings. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor's bytes (a view into the mapping). */
    public MemorySegment data(Entry e) {
        return data.asSlice(e.begin(), e.end() - e.begin());
    }

    /**
     * The tensor as a jseek {@link Tensor} for the dtypes jseek computes with directly (F32, F16, BF16), in
     * ggml's dimension order (innermost first, the file's shape reversed). Others are an error naming the dtype.
     */
    public Tensor tensor(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw error(path, "no tensor " + name);
        }
        GgmlType type = switch (e.dtype()) {
            case F32 -> GgmlType.F32;
            case F16 -> GgmlType.F16;
            case BF16 -> GgmlType.BF16;
            default -> throw error(path, "tensor " + name + " is " + e.dtype() + ", which is read only with its scales");
        };
        long[] ne = new long[Math.max(1, e.shape().length)];
        ne[0] = 1;
        for (int d = 0; d < e.shape().length; d++) {
            ne[d] = e.shape()[e.shape().length - 1 - d];
        }
        return new Tensor(name, type, ne, data(e));
    }

    @Override
    public void close() {
        arena.close();
    }
}
